"""GCS outputs against fake-gcs-server through the real google-cloud-storage client."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from google.cloud.storage import Client

from brulee.errors import OutputError
from brulee.outputs import Retry, sink_from_url
from brulee.outputs.gcs import GcsSink

from .conftest import REPORT_TREE, big_file
from .faults import fault_proxy
from .servers import free_ports


def gcs_sink(url: str, retry: Retry) -> GcsSink:
    sink = sink_from_url(url, retry=retry)
    assert isinstance(sink, GcsSink)
    return sink


def test_publish_stores_every_file_with_its_content_type(
    gcs_bucket: str, report_dir: Path, retry: Retry
) -> None:
    sink = gcs_sink(f"gs://{gcs_bucket}/fleet/site-a", retry)

    urls = sink.publish(report_dir)

    assert urls == [f"gs://{gcs_bucket}/fleet/site-a/{rel}" for rel in sorted(REPORT_TREE)]
    bucket = Client(project="test").bucket(gcs_bucket)
    for rel, (ctype, data) in REPORT_TREE.items():
        blob = bucket.get_blob(f"fleet/site-a/{rel}")
        assert (blob.content_type, blob.download_as_bytes()) == (ctype, data), rel


def test_list_and_read_shards_under_a_prefix(
    gcs_bucket: str, report_dir: Path, retry: Retry
) -> None:
    for shard in ("shard-1", "shard-0"):
        gcs_sink(f"gs://{gcs_bucket}/fleet/{shard}", retry).publish(report_dir)
    gcs_sink(f"gs://{gcs_bucket}/fleet-old/shard-0", retry).publish(report_dir)

    fleet = gcs_sink(f"gs://{gcs_bucket}/fleet/", retry)
    fleet.page_size = 2  # several listing pages, through page tokens

    assert list(fleet.list()) == ["shard-0/report.json", "shard-1/report.json"]
    assert len(list(fleet.list(suffix=""))) == 2 * len(REPORT_TREE)
    assert fleet.read("shard-1/nmap/scan-0001.xml") == REPORT_TREE["nmap/scan-0001.xml"][1]
    with fleet.open("shard-0/report.pdf") as stream:
        assert stream.read(4) == b"%PDF"
        assert stream.read() == REPORT_TREE["report.pdf"][1][4:]


def test_missing_bucket_and_missing_object(gcs_bucket: str, report_dir: Path, retry: Retry) -> None:
    missing = gcs_sink("gs://brulee-no-such-bucket/p", retry)
    with pytest.raises(OutputError, match="bucket 'brulee-no-such-bucket' does not exist"):
        missing.publish(report_dir)
    with pytest.raises(OutputError, match="listing gs://brulee-no-such-bucket/p: bucket"):
        list(missing.list())
    with pytest.raises(OutputError, match=rf"reading a.json from gs://{gcs_bucket}: object not"):
        gcs_sink(f"gs://{gcs_bucket}", retry).read("a.json")


def test_endpoint_down_retries_then_fails_fast(
    report_dir: Path, retry: Retry, monkeypatch: pytest.MonkeyPatch
) -> None:
    (closed,) = free_ports(1)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{closed}")
    started = time.monotonic()

    with pytest.raises(OutputError, match=r"cannot reach .*\(gave up after retrying for 3 s\)$"):
        gcs_sink("gs://brulee-results/p", retry).publish(report_dir)

    assert 2.5 < time.monotonic() - started < 10  # the library retried until the deadline


def test_no_credentials_is_a_clear_error(
    tmp_path: Path, retry: Retry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the emulator, Application Default Credentials are looked up (and not found)."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(OutputError, match="no Google Cloud credentials found; check credentials"):
        list(gcs_sink("gs://brulee-results/p", retry).list())


CHUNK = 1 << 20  # a multiple of 256 KiB, as GCS requires


def test_a_large_file_goes_up_in_resumable_chunks_and_failed_requests_are_retried(
    gcs_bucket: str, tmp_path: Path, retry: Retry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the library's 8 MiB, uploads are resumable: the start and chunks are retried."""
    data = big_file(tmp_path / "out", 9 * CHUNK + 777)
    emulator = os.environ["STORAGE_EMULATOR_HOST"]
    chunks: list[int] = []

    def fault(method: str, path: str, earlier: int) -> int | None:
        if method == "POST" and "uploadType=resumable" in path and earlier == 0:
            return 503  # starting the upload
        if method == "PUT" and "upload_id=" in path:
            chunks.append(earlier)
            return 503 if len(chunks) == 3 else None  # the third chunk, once
        return None

    with fault_proxy(emulator, fault) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        sink = gcs_sink(f"gs://{gcs_bucket}/run", retry)
        sink.part_size = CHUNK
        assert sink.publish(tmp_path / "out") == [f"gs://{gcs_bucket}/run/scan-001.xml"]

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator)
    blob = Client(project="test").bucket(gcs_bucket).get_blob("run/scan-001.xml")
    assert blob is not None and blob.content_type == "application/xml"
    assert hashlib.sha256(blob.download_as_bytes()).digest() == hashlib.sha256(data).digest()
    puts = [s for s in proxy.seen if s.method == "PUT"]
    assert len(puts) == 11  # ten chunks, the third one twice
    assert sum(s.size for s in puts if not s.injected) == len(data)
    assert len(proxy.injected) == 2
