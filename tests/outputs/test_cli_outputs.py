"""`-o s3://...` and `-o gs://...` end to end through the CLI, against the real loopback servers."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from brulee.cli.main import main
from tests.conftest import NMAP_XML
from tests.outputs.servers import ADMIN_SECRET, S3Server, s3_admin

XML = str(NMAP_XML / "same-service-two-hosts.xml")


def test_report_to_s3_uploads_every_file_with_its_type(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"s3://{s3_bucket}/site-a/run-1"
    argv = ["report", XML, "-o", url, "--endpoint-url", s3_server.endpoint, "-f", "json,html,md"]
    assert main(argv) == 0
    client = s3_admin(s3_server.endpoint)
    listed = client.list_objects_v2(Bucket=s3_bucket, Prefix="site-a/run-1/")
    keys = sorted(item["Key"] for item in listed["Contents"])
    assert keys == [f"site-a/run-1/report.{ext}" for ext in ("html", "json", "md")]
    head = client.head_object(Bucket=s3_bucket, Key="site-a/run-1/report.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    (local,) = (tmp_path / "reports").iterdir()  # the local copy stays
    assert (local / "report.json").is_file()


def test_report_to_gcs(gcs_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.cloud.storage import Client

    monkeypatch.chdir(tmp_path)
    assert main(["report", XML, "-o", f"gs://{gcs_bucket}/fleet", "-f", "json"]) == 0
    blob = Client(project="test").bucket(gcs_bucket).get_blob("fleet/report.json")
    assert blob is not None and blob.content_type == "application/json"


def test_unreachable_bucket_keeps_everything_locally_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["report", XML, "-o", "s3://nowhere/run", "--endpoint-url", "http://127.0.0.1:9"]
    assert main([*argv, "-f", "json"]) == 3
    (local,) = (tmp_path / "reports").iterdir()
    err = capsys.readouterr().err
    assert f"every result is kept in {local.relative_to(tmp_path)}" in err
    assert (local / "report.json").is_file()


def test_debug_logs_show_no_signature_credential_or_endpoint_userinfo(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # Before: --debug printed botocore's "Signature:\n<hex>" lines and the endpoint's userinfo.
    monkeypatch.chdir(tmp_path)
    endpoint = s3_server.endpoint.replace("://", "://proxyuser:proxy-pass-123@")
    argv = ["report", XML, "-o", f"s3://{s3_bucket}/run", "--endpoint-url", endpoint, "--debug"]
    try:
        main([*argv, "-f", "json"])
    finally:  # later tests' SDK threads must not log at DEBUG into this test's closed stderr
        logging.getLogger().setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "Signature:<redacted>" in err  # botocore signed the requests, at DEBUG level
    assert "proxyuser" not in err and "//<redacted>@127.0.0.1" in err  # the endpoint, logged
    assert "proxy-pass-123" not in err and ADMIN_SECRET not in err
    assert not re.search(r"(?i)signature[:=]\s*[0-9a-f]{64}", err)
    assert "\x1b" not in err
