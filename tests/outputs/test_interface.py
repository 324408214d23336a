"""The shared Sink machinery without servers: URLs, content types, retries, redaction, extras."""

from __future__ import annotations

import builtins
import logging
import sys
from pathlib import Path

import pytest

from brulee.errors import OutputError, UsageError
from brulee.outputs import LocalSink, Retry, content_type, sink_from_url, source_from_url
from brulee.outputs.interface import BucketSink, Failure, RawStream
from brulee.util.redact import CleanRecords


class Flaky(ConnectionError):
    pass


class Broken(Exception):
    pass


class MemorySink(BucketSink[dict[str, bytes]]):
    """An in-memory bucket whose first ``failures`` uploads fail with ``error``."""

    scheme = "mem"

    def __init__(
        self, url: str, retry: Retry, failures: int = 0, error: Exception | None = None
    ) -> None:
        super().__init__(url, retry=retry)
        self.failures, self.error, self.calls = failures, error or Flaky(), 0

    def _connect(self) -> dict[str, bytes]:
        return {}

    def _upload(self, path: Path, key: str, content_type: str) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.client[key] = path.read_bytes()

    def _list_page(self, token: str | None) -> tuple[builtins.list[str], str | None]:
        keys = sorted(self.client, reverse=True)  # out of order, and in pages of one
        start = int(token or 0)
        return keys[start : start + 1], str(start + 1) if start + 1 < len(keys) else None

    def _open(self, key: str) -> RawStream:
        return Chunks(self.client[key])

    def _classify(self, exc: Exception) -> Failure | None:
        if isinstance(exc, Flaky):
            return Failure("flaky network", retryable=True)
        if isinstance(exc, PermissionError):
            return Failure("access denied; check credentials")
        return None


class Chunks:
    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self.data, self.fail_after, self.closed = data, fail_after, False

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and len(self.data) <= self.fail_after:
            raise Flaky
        chunk, self.data = self.data[:3], self.data[3:]  # short reads, as a network gives
        return chunk

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.json", "application/json"),
        ("report.HTML", "text/html; charset=utf-8"),
        ("report.md", "text/markdown; charset=utf-8"),
        ("report.tex", "application/x-tex"),
        ("report.pdf", "application/pdf"),
        ("nmap/scan-1.xml", "application/xml"),
        ("nmap/scan-1.txt", "text/plain; charset=utf-8"),
        ("core", "application/octet-stream"),
    ],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize(
    ("url", "bucket", "prefix", "normal"),
    [
        ("mem://bucket", "bucket", "", "mem://bucket"),
        ("mem://bucket/", "bucket", "", "mem://bucket"),
        ("MEM://bucket/a/b/", "bucket", "a/b/", "mem://bucket/a/b"),
        ("mem://my.bucket_1//fleet", "my.bucket_1", "fleet/", "mem://my.bucket_1/fleet"),
    ],
)
def test_bucket_urls(url: str, bucket: str, prefix: str, normal: str) -> None:
    sink = MemorySink(url, Retry())
    assert (sink.bucket, sink.prefix, sink.url) == (bucket, prefix, normal)


@pytest.mark.parametrize("url", ["mem://", "mem:///p", "mem://b", "mem://AKID:s3cr3t@bucket/p"])
def test_bad_bucket_urls_are_usage_errors_that_do_not_echo_the_url(url: str) -> None:
    with pytest.raises(UsageError, match=r"^invalid mem:// output: expected mem://BUCKET/PREFIX$"):
        MemorySink(url, Retry())


def test_sink_from_url_dispatch() -> None:
    assert sink_from_url("results/run-1") is None
    assert sink_from_url("/var/lib/brulee") is None
    assert isinstance(source_from_url("results"), LocalSink)
    with pytest.raises(UsageError, match="unsupported output URL ftp://"):
        sink_from_url("ftp://host/dir")
    with pytest.raises(UsageError, match="--endpoint-url applies to s3:// outputs only"):
        sink_from_url("gs://bucket/p", endpoint_url="http://127.0.0.1:9000")


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [("s3://b1b/p", "boto3", "s3"), ("gs://b1b/p", "google.cloud.storage", "gcs")],
)
def test_missing_extra_names_the_pip_install(
    url: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.delitem(sys.modules, f"brulee.outputs.{extra}", raising=False)
    with pytest.raises(OutputError) as caught:
        sink_from_url(url)
    assert f"need the {extra} extra: pip install 'brulee[{extra}]'" in str(caught.value)


def test_a_transient_failure_says_the_sdk_gave_up(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_bytes(b"{}")
    sink = MemorySink("mem://bucket/p", Retry(attempts=3), failures=1)
    with pytest.raises(OutputError) as caught:
        sink.publish(tmp_path)
    assert str(caught.value) == (
        "uploading report.json to mem://bucket/p: flaky network (gave up after 3 attempts)"
    )
    assert isinstance(caught.value.__cause__, Flaky)
    assert sink.calls == 1  # retrying is the SDK's job, per request: never a whole file again


def test_a_permanent_failure_tells_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_bytes(b"{}")
    sink = MemorySink("mem://b1b", Retry(), failures=1, error=PermissionError())
    with pytest.raises(OutputError) as caught:
        sink.publish(tmp_path)
    assert str(caught.value) == (
        "uploading report.json to mem://b1b: access denied; check credentials"
    )


def test_unknown_exceptions_are_bugs_and_propagate(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_bytes(b"{}")
    sink = MemorySink("mem://b1b", Retry(), failures=1, error=Broken())
    with pytest.raises(Broken):
        sink.publish(tmp_path)


def test_publish_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"nothing to publish: .* is not a directory"):
        MemorySink("mem://b1b", Retry()).publish(tmp_path / "missing")


def test_list_is_sorted_relative_and_filtered(tmp_path: Path) -> None:
    sink = MemorySink("mem://b1b/fleet", Retry())
    sink.client.update(
        {
            "fleet/site-b/report.json": b"b",
            "fleet/site-a/report.json": b"a",
            "fleet/site-a/nmap/x.xml": b"",
            "fleet/": b"",  # a "directory" marker
            "fleet-old/report.json": b"",  # outside the prefix
        }
    )
    assert list(sink.list()) == ["site-a/report.json", "site-b/report.json"]
    assert list(sink.list(".xml")) == ["site-a/nmap/x.xml"]
    assert sink.read("site-b/report.json") == b"b"


def test_interrupted_download_is_an_output_error() -> None:
    sink = MemorySink("mem://b1b/p", Retry())
    stream = Chunks(b"0123456789", fail_after=4)
    sink._open = lambda key: stream  # type: ignore[method-assign]
    with sink.open("report.json") as reader, pytest.raises(OutputError) as caught:
        reader.read()
    assert str(caught.value) == "reading report.json from mem://b1b/p: download interrupted (Flaky)"
    assert stream.closed


def test_redaction_of_sdk_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("brulee.test.sdk")
    logger.addFilter(CleanRecords())
    with caplog.at_level(logging.DEBUG, logger="brulee.test.sdk"):
        logger.debug(
            "Sending http request: %s",
            "<AWSPreparedRequest headers={'X-Amz-Security-Token': b'FwoGZXIvYXdzEXAMPLE', "
            "'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/"
            "aws4_request, SignedHeaders=host, Signature=deadbeef'}>",
        )
        logger.debug("CanonicalRequest:\nPUT\n/b/k\n\nx-amz-security-token:FwoGZXIvYXdzEXAMPLE\n")
        logger.debug(
            "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=ab"
        )
    for secret in ("FwoGZXIvYXdzEXAMPLE", "AKIDEXAMPLE", "deadbeef"):
        assert secret not in caplog.text
    assert "'Authorization': b'<redacted>'" in caplog.text
