"""Redaction: URLs without their credentials, and text and log records scrubbed of them."""

from __future__ import annotations

import logging

import pytest

from brulee.util.redact import ScrubSecrets, hide_password, redact_url, scrub, url_secrets

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
