"""A large upload to a real S3 server on loopback (SeaweedFS, from the dev extra).

Usage: ``python bench/bench_upload.py [--mib 256] [--repeat 3]``

Uploads one large file of random bytes (a raw Nmap XML of a big scan), as brulee sends it now
(boto3's managed transfer: 8 MiB parts, 4 in parallel, each retried by botocore) and as it did
before (one ``put_object``, its retries left to a loop that sends the whole file again), each
into a fresh server; then both through a proxy that fails the first try of a whole-object upload
and of one part in ten, to count the bytes each sent to get the file stored. Times are medians
of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.outputs.faults import fault_proxy  # noqa: E402
from tests.outputs.servers import (  # noqa: E402
    ADMIN_KEY,
    ADMIN_SECRET,
    s3_admin,
    seaweedfs,
    weed_binary,
)

from brulee.outputs.s3 import S3Sink  # noqa: E402
from brulee.util.retry import Retryable, RetryPolicy  # noqa: E402

BUCKET = "brulee-bench"
Upload = Callable[[str, Path], None]
"""Stores ``directory/scan-001.xml`` through the S3 endpoint given."""


def managed(endpoint: str, directory: Path) -> None:
    S3Sink(f"s3://{BUCKET}/run", endpoint_url=endpoint).publish(directory)


def single_request(endpoint: str, directory: Path) -> None:
    """brulee before: botocore's retries off, one put_object, the whole file tried again."""
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=60)
    client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)

    def put() -> None:
        with (directory / "scan-001.xml").open("rb") as body:
            try:
                client.put_object(Bucket=BUCKET, Key="run/scan-001.xml", Body=body)
            except client.exceptions.ClientError as exc:
                raise Retryable(str(exc)) from exc

    RetryPolicy(attempts=5, backoff=0.5).run(put)


def fault(method: str, path: str, earlier: int) -> int | None:
    """The first try of a whole-object PUT fails, and of one part in ten (1, 11, 21...)."""
    if earlier or method != "PUT":
        return None
    if "partNumber=" not in path:
        return 503
    (part,) = parse_qs(urlsplit(path).query)["partNumber"]
    return 503 if int(part) % 10 == 1 else None


def once(upload: Upload, directory: Path, size: int, faults: bool = False) -> tuple[float, int]:
    """Seconds to store the file on a fresh server, and the bytes sent (through a proxy that
    injects ``fault``, if ``faults``)."""
    binary = weed_binary()
    assert binary is not None
    with (
        tempfile.TemporaryDirectory(prefix="brulee-bench-weed-") as work,
        seaweedfs(binary, Path(work)) as server,
    ):
        s3_admin(server.endpoint).create_bucket(Bucket=BUCKET)
        if not faults:
            started = time.monotonic()
            upload(server.endpoint, directory)
            return time.monotonic() - started, size

        with fault_proxy(server.endpoint, fault) as proxy:
            started = time.monotonic()
            upload(proxy.url, directory)
            seconds = time.monotonic() - started
        stored = s3_admin(server.endpoint).head_object(Bucket=BUCKET, Key="run/scan-001.xml")
        assert stored["ContentLength"] == size
        return seconds, sum(s.size for s in proxy.seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if weed_binary() is None:
        print("bench_upload: skipped: needs SeaweedFS's weed (make .venv/.dev)", file=sys.stderr)
        return 0
    os.environ.update(
        AWS_ACCESS_KEY_ID=ADMIN_KEY, AWS_SECRET_ACCESS_KEY=ADMIN_SECRET,
        AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )  # fmt: skip
    size = args.mib << 20
    variants: dict[str, Upload] = {
        "managed transfer (now)": managed,
        "one put_object (before)": single_request,
    }
    with tempfile.TemporaryDirectory(prefix="brulee-bench-upload-") as work:
        directory = Path(work)
        with (directory / "scan-001.xml").open("wb") as out:
            for _ in range(args.mib):
                out.write(os.urandom(1 << 20))
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.repeat):
            for name in variants if round_ % 2 == 0 else reversed(variants):
                times[name].append(once(variants[name], directory, size)[0])
                print(f"  {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
        faulty = {
            name: once(upload, directory, size, faults=True) for name, upload in variants.items()
        }
    print(f"\n{args.mib} MiB to SeaweedFS on loopback, median of {args.repeat} runs\n")
    print("| upload | time | MiB/s | with failures: time | with failures: MiB sent |")
    print("|---|---:|---:|---:|---:|")
    for name in variants:
        seconds = statistics.median(times[name])
        failing, sent = faulty[name]
        print(f"| {name} | {seconds:.1f} s | {args.mib / seconds:.0f} | {failing:.1f} s "
              f"| {sent / (1 << 20):.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
