"""S3 outputs against a real S3 server (SeaweedFS) through the real boto3 client."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pytest

from brulee.errors import OutputError
from brulee.outputs import Retry, sink_from_url
from brulee.outputs.s3 import S3Sink

from .conftest import REPORT_TREE, big_file
from .faults import fault_proxy
from .servers import (
    ADMIN_KEY,
    ADMIN_SECRET,
    READER_KEY,
    READER_SECRET,
    S3Server,
    free_ports,
    s3_admin,
)


def s3_sink(server: S3Server, url: str, retry: Retry) -> S3Sink:
    sink = sink_from_url(url, endpoint_url=server.endpoint, retry=retry)
    assert isinstance(sink, S3Sink)
    return sink


def test_publish_stores_every_file_with_its_content_type(
    s3_server: S3Server, s3_bucket: str, report_dir: Path, retry: Retry
) -> None:
    sink = s3_sink(s3_server, f"s3://{s3_bucket}/fleet/site-a/", retry)
    assert sink.url == f"s3://{s3_bucket}/fleet/site-a"

    urls = sink.publish(report_dir)

    assert urls == [f"s3://{s3_bucket}/fleet/site-a/{rel}" for rel in sorted(REPORT_TREE)]
    admin = s3_admin(s3_server.endpoint)
    for rel, (ctype, data) in REPORT_TREE.items():
        stored = admin.get_object(Bucket=s3_bucket, Key=f"fleet/site-a/{rel}")
        assert (stored["ContentType"], stored["Body"].read()) == (ctype, data), rel


def test_list_and_read_shards_under_a_prefix(
    s3_server: S3Server, s3_bucket: str, report_dir: Path, retry: Retry
) -> None:
    for shard in ("shard-1", "shard-0"):
        s3_sink(s3_server, f"s3://{s3_bucket}/fleet/{shard}", retry).publish(report_dir)
    s3_sink(s3_server, f"s3://{s3_bucket}/fleet-old/shard-0", retry).publish(report_dir)

    fleet = s3_sink(s3_server, f"s3://{s3_bucket}/fleet", retry)
    fleet.page_size = 2  # several listing pages, through continuation tokens

    assert list(fleet.list()) == ["shard-0/report.json", "shard-1/report.json"]
    xml = ["shard-0/nmap/scan-0001.xml", "shard-1/nmap/scan-0001.xml"]
    assert list(fleet.list(suffix=".xml")) == xml
    assert len(list(fleet.list(suffix=""))) == 2 * len(REPORT_TREE)
    assert fleet.read("shard-1/report.json") == REPORT_TREE["report.json"][1]
    with fleet.open("shard-0/report.pdf") as stream:
        assert stream.read(4) == b"%PDF"
        assert stream.read() == REPORT_TREE["report.pdf"][1][4:]
    whole_bucket = s3_sink(s3_server, f"s3://{s3_bucket}", retry)
    assert list(whole_bucket.list("report.json")) == [  # byte order: "-" sorts before "/"
        "fleet-old/shard-0/report.json",
        "fleet/shard-0/report.json",
        "fleet/shard-1/report.json",
    ]


def test_endpoint_from_the_standard_environment_variable(
    s3_server: S3Server, s3_bucket: str, report_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    sink = sink_from_url(f"s3://{s3_bucket}/env")
    assert sink is not None
    sink.publish(report_dir)
    assert sink.read("report.md") == REPORT_TREE["report.md"][1]


def test_wrong_secret_is_a_clear_error_without_secrets(
    s3_server: S3Server,
    s3_bucket: str,
    report_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = Retry()
    wrong = "brulee-wrong-secret-9876543210"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "brulee-fake-session-token-5555")
    caplog.set_level(logging.DEBUG)  # botocore's wire logs included

    with (
        fault_proxy(s3_server.endpoint, lambda *request: None) as proxy,
        pytest.raises(OutputError) as caught,
    ):
        s3_sink(S3Server(proxy.url), f"s3://{s3_bucket}/x", retry).publish(report_dir)

    message = str(caught.value)
    assert message.startswith(f"uploading nmap/scan-0001.txt to s3://{s3_bucket}/x: ")
    assert "credentials rejected" in message and "check credentials" in message
    assert "\n" not in message
    assert [s.status for s in proxy.seen] == [403]  # refused credentials are not retried
    logged = caplog.text
    assert "botocore" in logged  # the wire logs were captured, and redacted:
    for secret in (wrong, ADMIN_SECRET, ADMIN_KEY, "brulee-fake-session-token-5555"):
        assert secret not in message
        assert secret not in logged


def test_identity_without_write_permission_is_access_denied(
    s3_server: S3Server,
    s3_bucket: str,
    report_dir: Path,
    retry: Retry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", READER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", READER_SECRET)
    sink = s3_sink(s3_server, f"s3://{s3_bucket}/x", retry)

    with pytest.raises(OutputError, match=r"access denied \(AccessDenied, HTTP 403\); check cred"):
        sink.publish(report_dir)
    assert list(sink.list()) == []  # it may still read


def test_no_credentials_at_all(
    s3_server: S3Server, s3_bucket: str, retry: Retry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(OutputError, match="no AWS credentials found; check credentials"):
        list(s3_sink(s3_server, f"s3://{s3_bucket}", retry).list())


def test_missing_bucket_and_missing_object(
    s3_server: S3Server, s3_bucket: str, report_dir: Path, retry: Retry
) -> None:
    missing = s3_sink(s3_server, "s3://brulee-no-such-bucket/p", retry)
    with pytest.raises(OutputError, match="bucket 'brulee-no-such-bucket' does not exist"):
        missing.publish(report_dir)
    with pytest.raises(OutputError, match="listing s3://brulee-no-such-bucket/p: bucket"):
        list(missing.list())
    with pytest.raises(OutputError, match=rf"reading a/report.json from s3://{s3_bucket}: object"):
        s3_sink(s3_server, f"s3://{s3_bucket}", retry).read("a/report.json")


def test_endpoint_down_retries_then_fails_fast(report_dir: Path, retry: Retry) -> None:
    (closed,) = free_ports(1)
    endpoint = f"http://127.0.0.1:{closed}"
    sink = sink_from_url("s3://brulee-results/p", endpoint_url=endpoint, retry=retry)
    assert sink is not None
    started = time.monotonic()

    with pytest.raises(OutputError) as caught:
        sink.publish(report_dir)

    assert time.monotonic() - started < 10  # botocore's backoff: under 1 + 2 s for 3 attempts
    assert str(caught.value) == (
        "uploading nmap/scan-0001.txt to s3://brulee-results/p: cannot reach "
        f"http://127.0.0.1:{closed} (EndpointConnectionError) (gave up after 3 attempts)"
    )


PART = 5 << 20  # S3's smallest part


def test_a_large_file_goes_up_in_parts_and_a_failed_part_is_sent_again_alone(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, retry: Retry
) -> None:
    data = big_file(tmp_path / "out", 3 * PART + 4321)

    def fault(method: str, path: str, earlier: int) -> int | None:
        """The first try of part 2 and of the completion fail, as a busy server's would."""
        first = earlier == 0
        if method == "PUT" and "partNumber=2&" in path + "&" and first:
            return 503
        return 503 if method == "POST" and "uploadId=" in path and first else None

    with fault_proxy(s3_server.endpoint, fault) as proxy:
        sink = s3_sink(S3Server(proxy.url), f"s3://{s3_bucket}/run", retry)
        sink.part_size = PART
        assert sink.publish(tmp_path / "out") == [f"s3://{s3_bucket}/run/scan-001.xml"]

    stored = s3_admin(s3_server.endpoint).get_object(Bucket=s3_bucket, Key="run/scan-001.xml")
    assert stored["ContentType"] == "application/xml"
    assert hashlib.sha256(stored["Body"].read()).digest() == hashlib.sha256(data).digest()
    parts = [s for s in proxy.seen if s.method == "PUT" and "partNumber=" in s.path]
    assert sorted(int(s.path.split("partNumber=")[1].split("&")[0]) for s in parts) == [
        1, 2, 2, 3, 4,
    ]  # fmt: skip
    assert sum(s.size for s in parts if not s.injected) == len(data)  # nothing sent twice
    assert [s.status for s in proxy.injected] == [503, 503]
    assert sum(1 for s in proxy.seen if s.method == "POST" and s.path.endswith("?uploads")) == 1


def test_a_part_that_keeps_failing_fails_the_upload_after_the_retries(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, retry: Retry
) -> None:
    big_file(tmp_path / "out", PART + 10)

    def fault(method: str, path: str, earlier: int) -> int | None:
        return 500 if method == "PUT" and "partNumber=2&" in path + "&" else None

    with fault_proxy(s3_server.endpoint, fault) as proxy:
        sink = s3_sink(S3Server(proxy.url), f"s3://{s3_bucket}/run", retry)
        sink.part_size = PART
        with pytest.raises(OutputError) as caught:
            sink.publish(tmp_path / "out")
    assert str(caught.value) == (
        f"uploading scan-001.xml to s3://{s3_bucket}/run: server error "
        "(ServiceUnavailable, HTTP 500) (gave up after 3 attempts)"
    )
    assert len([s for s in proxy.injected if "partNumber=2" in s.path]) == 3
