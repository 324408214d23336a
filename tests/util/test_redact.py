"""Redaction: URLs without their credentials, and text and log records scrubbed of them."""

from __future__ import annotations

import logging

import pytest

from brulee.util.redact import (
    CleanRecords,
    ScrubSecrets,
    hide_password,
    redact,
    redact_url,
    scrub,
    url_secrets,
)

SLACK = "https://hooks.slack.com/services/T0001/B0001/Zq8SecretToken42"


def test_hide_password() -> None:
    assert (
        hide_password("postgresql://u:pw@db:5432/x?sslpassword=s") == "postgresql://u:***@db:5432/x"
    )
    assert hide_password("postgresql://u@db/x") == "postgresql://u@db/x"
    assert hide_password("/var/lib/history.sqlite") == "/var/lib/history.sqlite"


def test_redact_url_keeps_scheme_host_and_port() -> None:
    assert redact_url(SLACK) == "https://hooks.slack.com/<redacted>"
    assert redact_url("nonsense") == "<redacted URL>"


def test_url_secrets_are_tokens_not_words() -> None:
    webhook = url_secrets(SLACK, whole=True)
    assert {SLACK, "Zq8SecretToken42", "/services/T0001/B0001/Zq8SecretToken42"} <= webhook
    assert "services" not in webhook  # a word that messages use
    assert url_secrets("postgresql://brulee:pw9@db/brulee", whole=False) == {
        "pw9", "postgresql://brulee:pw9@db/brulee"
    }  # fmt: skip
    assert url_secrets("postgresql://brulee@db/brulee", whole=False) == set()


def test_scrub_and_log_filter(caplog: pytest.LogCaptureFixture) -> None:
    secrets = url_secrets(SLACK, whole=True)
    assert scrub(f"posting to {SLACK} failed", secrets) == "posting to <redacted> failed"
    logger = logging.getLogger("test_redact")
    logger.addFilter(ScrubSecrets(secrets))
    try:
        with caplog.at_level(logging.WARNING):
            logger.warning("token %s in 2 services", "Zq8SecretToken42")
    finally:
        logger.filters.clear()
    assert caplog.messages == ["token <redacted> in 2 services"]


HEX = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Signature:\n{HEX}", "Signature:<redacted>"),  # botocore.auth at DEBUG
        (f"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/s3/"
         f"aws4_request, SignedHeaders=host, Signature={HEX}",
         "Authorization: AWS4-HMAC-SHA256 Credential=<redacted>, SignedHeaders=host, "
         "Signature=<redacted>"),
        ("{'Authorization': b'Bearer abc', 'Host': 'x'}", "{'Authorization': b'<redacted>', "
         "'Host': 'x'}"),
        ("x-amz-security-token:FwoGZXIvYXdzEXAMPLE\n", "x-amz-security-token:<redacted>\n"),
        ("Making request to https://AKID:s3cr3t@minio.local:9000/bucket?x=1",
         "Making request to https://<redacted>@minio.local:9000/bucket?x=1"),
        ("postgresql://brulee:hunter2@db/history", "postgresql://<redacted>@db/history"),
        ("GET /invoke?api-version=1&sig=AbCdEf123456&sv=1", "GET /invoke?api-version=1"
         "&sig=<redacted>&sv=1"),
        ("header Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "header Bearer <redacted>"),
        ("no secret in 10.0.0.1:22 user@example.com", "no secret in 10.0.0.1:22 user@example.com"),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_clean_records_at_every_level(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("brulee.test.clean")
    handler = logging.StreamHandler()
    handler.addFilter(CleanRecords())
    logger.addHandler(handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="brulee.test.clean"):
            caplog.handler.addFilter(CleanRecords())
            logger.debug("Signature:\n%s", HEX)
            logger.warning("endpoint %s said %s", "http://u:pw@h/", "\x1b]0;owned\x07\nbye")
            try:
                raise ValueError(f"token at https://k:{HEX}@h/")
            except ValueError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "Signature:<redacted>",
        "endpoint http://<redacted>@h/ said \\x1b]0;owned\\x07 bye",
        "failed",
    ]
    assert HEX not in caplog.text and "pw" not in caplog.text
    assert "https://<redacted>@h/" in caplog.text  # the traceback, redacted
