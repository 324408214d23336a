"""Alerts against a real HTTP server on 127.0.0.1: payloads, retries, failures and redaction."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from brulee import __version__
from brulee.core.history import ChangedLocation, FindingGroup
from brulee.errors import UsageError
from brulee.history.alerts import Delivery, check_webhook_url, detect_kind, notify
from brulee.history.payloads import NewFinding, NewFindings, build_payload
from brulee.util.redact import redact_url

SCAN = {"id": 42, "site": "dc1", "targets": ["10.0.0.0/24"], "finished": "2026-03-01T12:00:00Z"}
SECRET = "T0AAAAAAA/B0BBBBBBB/XXXXsecretXXXXXXXXXXXX"  # noqa: S105 - a fake webhook token


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    """Close the connection without answering."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class Webhook:
    """A loopback HTTP server answering POSTs from a script of replies (then 200 ok)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.received: list[Received] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                hook.received.append(Received(self.path, dict(self.headers), json.loads(raw)))
                reply = hook.replies.pop(0) if hook.replies else Reply()
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = f"/services/{SECRET}") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def finding(n: int = 0, **fields: Any) -> NewFinding:
    values: dict[str, Any] = {
        "cve": f"CVE-2021-{41773 + n}",
        "severity": "high",
        "service": "Apache httpd 2.4.49",
        "address": f"10.0.{n >> 8}.{n & 255}",
        "port": 80,
        "protocol": "tcp",
        "cvss": 7.5,
        "first_seen": "2026-03-01T12:00:00Z",
    }
    values.update(fields)
    return NewFinding(**values)


FINDINGS = [
    finding(1, severity="medium", cvss=5.3, epss=0.01),
    finding(0, severity="critical", cvss=9.8, kev=True, epss=0.975, hostname="web1"),
    finding(2, severity="high", cvss=7.5, address="2001:db8::5", port=443),
]


# -- kinds and URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://hooks.slack.com/services/T0/B0/xyz", "slack"),
        ("https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi", "teams"),
        ("https://outlook.office.com/webhook/abc", "teams"),
        ("https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/"
         "invoke?api-version=2016-06-01&sig=xyz", "teams"),
        ("https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/"
         "direct/workflows/abc/triggers/manual/paths/invoke?sig=xyz", "teams"),
        ("https://hooks.example.com/slack", "generic"),
        ("https://evil.com/hooks.slack.com", "generic"),
        ("https://hooks.slack.com.evil.com/x", "generic"),
    ],
)  # fmt: skip
def test_detect_kind(url: str, kind: str) -> None:
    assert detect_kind(url) == kind


def test_redact_url() -> None:
    assert redact_url(f"https://hooks.slack.com/services/{SECRET}") == (
        "https://hooks.slack.com/<redacted>"
    )
    assert redact_url("http://user:pw@[::1]:8080/x?sig=abc#frag") == "http://[::1]:8080/<redacted>"
    assert redact_url("nonsense") == "<redacted URL>"


@pytest.mark.parametrize(
    "url", ["ftp://host/hook", "https:///no-host", "hooks.slack.com/x", "http://h:port/x",
            "http://host/a b"]
)  # fmt: skip
def test_check_webhook_url_refuses_unusable_urls(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_webhook_url(url)
    assert "/x" not in str(caught.value) and "a b" not in str(caught.value)


def test_check_webhook_url_accepts_http_and_https() -> None:
    assert check_webhook_url("https://hooks.slack.com/services/x") == (
        "https://hooks.slack.com/services/x"
    )


# -- payloads -----------------------------------------------------------------------------------


def test_generic_payload(hook: Webhook) -> None:
    result = notify(hook.url("/hook?token=abc"), FINDINGS, scan=SCAN)
    assert result.ok and result.sent and result.attempts == 1 and result.status == 200
    assert (result.kind, result.total, result.listed) == ("generic", 3, 3)
    (request,) = hook.received
    assert request.path == "/hook?token=abc"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"] == f"brulee/{__version__}"
    body = request.body
    assert {k: body[k] for k in ("source", "version", "kind", "scan", "total", "omitted")} == {
        "source": "brulee", "version": __version__, "kind": "new_findings", "scan": SCAN,
        "total": 3, "omitted": 0,
    }  # fmt: skip
    # Most urgent first: known exploited, then severity.
    assert [f["cve"] for f in body["new_findings"]] == [
        "CVE-2021-41773", "CVE-2021-41775", "CVE-2021-41774"
    ]  # fmt: skip
    assert body["new_findings"][0] == {
        "cve": "CVE-2021-41773", "severity": "critical", "cvss": 9.8, "kev": True, "epss": 0.975,
        "confidence": "certain", "possible": False, "service": "Apache httpd 2.4.49",
        "address": "10.0.0.0", "hostname": "web1", "port": 80,
        "protocol": "tcp", "location": "10.0.0.0:80/tcp", "first_seen": "2026-03-01T12:00:00Z",
    }  # fmt: skip
    assert body["new_findings"][1]["location"] == "[2001:db8::5]:443/tcp"


def test_generic_payload_is_bounded(hook: Webhook) -> None:
    many = [finding(i) for i in range(30)]
    result = notify(hook.url(), many, scan=SCAN, max_findings=10)
    body = hook.received[0].body
    assert (body["total"], body["omitted"], len(body["new_findings"])) == (30, 20, 10)
    assert result.listed == 10


def test_slack_payload(hook: Webhook) -> None:
    hostile = finding(9, severity="low", cvss=2.0, service="<!channel> <https://evil|click> & co")
    result = notify(hook.url(), [*FINDINGS, hostile], scan=SCAN, kind="slack")
    assert result.ok and result.kind == "slack" and result.listed == 4
    body = hook.received[0].body
    assert set(body) == {"text", "blocks"}
    assert body["text"] == (
        "brulee: 4 new findings (1 critical, 1 high, 1 medium, 1 low; 1 known exploited)"
    )
    header, context, *sections = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text",
                                                   "text": "brulee: 4 new findings"}}  # fmt: skip
    assert context == {"type": "context", "elements": [{
        "type": "mrkdwn",
        "text": "scan 42 · site dc1 · targets 10.0.0.0/24 · finished 2026-03-01T12:00:00Z",
    }]}  # fmt: skip
    assert [s["type"] for s in sections] == ["section"] * 4
    assert sections[0]["text"] == {
        "type": "mrkdwn",
        "text": "*<https://nvd.nist.gov/vuln/detail/CVE-2021-41773|CVE-2021-41773>* · critical · "
        "CVSS 9.8 · known exploited (KEV) · EPSS 97.5%\nApache httpd 2.4.49 on 10.0.0.0:80/tcp "
        "(web1) · first seen 2026-03-01T12:00:00Z",
    }
    last = sections[3]["text"]["text"]
    assert "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; co" in last
    assert "<!channel>" not in json.dumps(body)


def test_possible_findings_are_no_headline_of_an_alert() -> None:
    """SambaCry on Nmap's "Samba 4.6.2" label is in KEV but only possible: the alert counts it
    apart, marks it, and lists the established findings first."""
    sambacry = finding(5, cve="CVE-2017-7494", severity="critical", cvss=9.8, kev=True,
                       service="Samba smbd 4.6.2", confidence="version-range")  # fmt: skip
    established = finding(1, severity="medium", cvss=5.3)
    body, listed = build_payload("slack", [sambacry, established], SCAN)
    assert listed == 2
    assert body["text"] == "brulee: 2 new findings (1 medium; 1 possible (not established))"
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert "CVE-2021-41774" in sections[0] and "CVE-2017-7494" in sections[1]
    assert "known exploited (KEV) · possible (version-range)" in sections[1]
    generic, _ = build_payload("generic", [sambacry], SCAN)
    (item,) = generic["new_findings"]
    assert (item["kev"], item["confidence"], item["possible"]) == (True, "version-range", True)


def test_slack_payload_keeps_to_the_block_limits(hook: Webhook) -> None:
    many = [finding(i, service="x" * 5000) for i in range(120)]
    result = notify(hook.url(), many, scan=SCAN, kind="slack")
    blocks = hook.received[0].body["blocks"]
    assert len(blocks) == 50 and result.listed == 47
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn",
                                                          "text": "and 73 more"}]}  # fmt: skip
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert len(blocks[0]["text"]["text"]) <= 150


def test_slack_payload_fits_exactly_without_more(hook: Webhook) -> None:
    notify(hook.url(), [finding(i) for i in range(48)], scan=SCAN, kind="slack")
    blocks = hook.received[0].body["blocks"]
    assert len(blocks) == 50 and blocks[-1]["type"] == "section"


def test_teams_payload(hook: Webhook) -> None:
    hostile = finding(9, severity="low", service="[click](https://evil) **bold**")
    result = notify(hook.url(), [*FINDINGS, hostile], scan=SCAN, kind="teams")
    assert result.ok and result.kind == "teams" and result.listed == 4
    body = hook.received[0].body
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, summary, scan, *findings = card["body"]
    assert title["type"] == "TextBlock" and title["text"] == "brulee: 4 new findings"
    assert summary["inlines"][0]["text"] == "1 critical, 1 high, 1 medium, 1 low; 1 known exploited"
    assert scan["inlines"][0]["text"].startswith("scan 42 · site dc1")
    assert [f["type"] for f in findings] == ["Container"] * 4
    first = findings[0]["items"]
    assert first[0] == {
        "type": "RichTextBlock",
        "inlines": [
            {"type": "TextRun", "text": "CVE-2021-41773", "weight": "Bolder", "color": "Attention"},
            {"type": "TextRun", "text": " · critical · CVSS 9.8 · known exploited (KEV) · "
             "EPSS 97.5%", "color": "Attention"},
        ],
    }  # fmt: skip
    assert first[1]["inlines"][0]["text"] == (
        "Apache httpd 2.4.49 on 10.0.0.0:80/tcp (web1) · first seen 2026-03-01T12:00:00Z"
    )
    # Untrusted text only ever sits in TextRuns, which Teams does not read as Markdown.
    hostile_runs = findings[3]["items"][1]["inlines"]
    assert (
        hostile_runs[0]["type"] == "TextRun" and "[click](https://evil)" in hostile_runs[0]["text"]
    )


def test_teams_payload_stays_small(hook: Webhook) -> None:
    many = [finding(i, service="y" * 2000, hostname="h" * 300) for i in range(200)]
    result = notify(hook.url(), many, scan=SCAN, kind="teams")
    body = hook.received[0].body
    assert len(json.dumps(body).encode()) <= 26_000
    card = body["attachments"][0]["content"]
    assert 0 < result.listed < 25
    assert card["body"][-1]["text"] == f"and {200 - result.listed} more"


# -- delivery -----------------------------------------------------------------------------------


def test_nothing_new_sends_nothing(hook: Webhook) -> None:
    result = notify(hook.url(), [], scan=SCAN)
    assert result.ok and not result.sent and result.attempts == 0
    assert hook.received == []


def test_503_then_success(hook: Webhook) -> None:
    hook.replies = [Reply(503, b"busy")]
    sleeps = Sleeps()
    result = notify(hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(backoff=1.5, sleep=sleeps))
    assert result.ok and result.attempts == 2 and result.status == 200
    assert sleeps == [1.5]
    assert len(hook.received) == 2 and hook.received[0].body == hook.received[1].body


def test_dropped_connection_is_retried(hook: Webhook) -> None:
    hook.replies = [Reply(drop=True), Reply(drop=True)]
    sleeps = Sleeps()
    result = notify(hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(backoff=1, sleep=sleeps))
    assert result.ok and result.attempts == 3
    assert sleeps == [1, 2]


@pytest.mark.parametrize(
    ("retry_after", "waited"), [("7", 7.0), ("600", 60.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]
)
def test_retry_after_is_honoured(hook: Webhook, retry_after: str, waited: float) -> None:
    hook.replies = [Reply(429, b"slow down", {"Retry-After": retry_after})]
    sleeps = Sleeps()
    result = notify(hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(sleep=sleeps))
    assert result.ok and result.attempts == 2
    assert sleeps == ([waited] if waited else [])


def test_permanent_failure_returns_an_error(hook: Webhook) -> None:
    hook.replies = [Reply(400, b"invalid_payload")]
    sleeps = Sleeps()
    result = notify(hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(sleep=sleeps))
    assert not result.ok and result.attempts == 1 and result.status == 400
    assert "HTTP 400 Bad Request: invalid_payload" in result.error
    assert sleeps == []


def test_persistent_5xx_gives_up(hook: Webhook) -> None:
    hook.replies = [Reply(500, b"oops")] * 3
    sleeps = Sleeps()
    result = notify(
        hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(attempts=3, backoff=1, sleep=sleeps)
    )
    assert not result.ok and result.attempts == 3 and result.status == 500
    assert "gave up after 3 attempts" in result.error
    assert sleeps == [1, 2] and len(hook.received) == 3


def test_redirects_are_not_followed(hook: Webhook) -> None:
    hook.replies = [Reply(307, b"", {"Location": hook.url("/elsewhere")})]
    result = notify(hook.url(), FINDINGS, scan=SCAN, delivery=Delivery(sleep=Sleeps()))
    assert not result.ok and "redirects are not followed" in result.error
    assert len(hook.received) == 1


def test_unreachable_webhook_returns_an_error(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: connections are refused
    url = f"http://127.0.0.1:{port}/services/{SECRET}?sig=sigsecret123"
    sleeps = Sleeps()
    with caplog.at_level(logging.INFO, logger="brulee.history.alerts"):
        result = notify(
            url, FINDINGS, scan=SCAN, delivery=Delivery(attempts=2, backoff=0.5, sleep=sleeps)
        )
    assert not result.ok and result.attempts == 2 and result.status is None
    assert result.target == f"http://127.0.0.1:{port}/<redacted>"
    assert result.error.startswith(f"webhook http://127.0.0.1:{port}/<redacted>: ")
    assert "refused" in result.error.lower()
    assert sleeps == [0.5]
    messages = [r.getMessage() for r in caplog.records]
    assert messages and all("<redacted>" in m for m in messages)
    for text in (result.error, *messages):
        assert "secret" not in text and "services" not in text


def test_secrets_never_appear_in_messages(hook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    url = hook.url(f"/services/{SECRET}?sig=sigsecret123&sv=1.0")
    # A server that echoes the URL back in its error page.
    hook.replies = [
        Reply(503, f"retry {url}".encode()),
        Reply(404, f"no_service for /services/{SECRET}?sig=sigsecret123".encode()),
    ]
    with caplog.at_level(logging.INFO, logger="brulee.history.alerts"):
        result = notify(url, FINDINGS, scan=SCAN, delivery=Delivery(sleep=Sleeps()))
    assert not result.ok and result.status == 404
    texts = [result.error, result.target, *(r.getMessage() for r in caplog.records)]
    assert len(texts) == 3
    for text in texts:
        assert "secret" not in text and "T0AAAAAAA" not in text, text
    assert "no_service for <redacted>" in result.error


def test_bad_url_is_an_error_without_a_request() -> None:
    result = notify("ftp://files.example.com/drop/secret-token", FINDINGS, scan=SCAN)
    assert not result.ok and result.attempts == 0
    assert "secret-token" not in result.error and "only http://" in result.error


def test_new_finding_of_a_change() -> None:
    group = FindingGroup("new", "CVE-2021-41773", "critical", 9.8, True, "certain",
                         "Apache httpd 2.4.49", 2, ())  # fmt: skip
    where = ChangedLocation("10.0.0.5", "web1", "tcp", 80, "2026-03-01T12:00:00Z")
    assert NewFinding.at(group, where) == NewFinding(
        cve="CVE-2021-41773", severity="critical", service="Apache httpd 2.4.49",
        address="10.0.0.5", port=80, protocol="tcp", hostname="web1", cvss=9.8, kev=True,
        first_seen="2026-03-01T12:00:00Z",
    )  # fmt: skip


def test_a_batch_tells_its_totals_and_lists_what_it_holds(hook: Webhook) -> None:
    """A scan with more new findings than a payload lists: only the most urgent are read (from
    the history store), the totals are those of all."""
    batch = NewFindings((FINDINGS[1], FINDINGS[0]), 250_000, {"critical": 1, "medium": 249_999}, 1)
    result = notify(hook.url(), batch, scan=SCAN)
    body = hook.received[0].body
    assert (result.total, result.listed, body["total"], body["omitted"]) == (250_000, 2, 250_000,
                                                                              249_998)  # fmt: skip
    assert [f["cve"] for f in body["new_findings"]] == [FINDINGS[1].cve, FINDINGS[0].cve]
    slack, listed = build_payload("slack", batch, SCAN)
    assert listed == 2 and "250,000 new findings" in slack["text"]
    assert "249,999 medium" in slack["text"] and "and 249,998 more" in json.dumps(slack)


@pytest.fixture
def trickler() -> Iterator[str]:
    """A server that answers one byte every half second (each read is quick: only a total
    deadline stops it)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(1 << 16)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 1000:
                    if done.wait(0.5):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/services/{SECRET}"
    done.set()
    server.close()
    thread.join(5)


def test_a_trickling_server_cannot_hold_an_alert_past_its_deadline(trickler: str) -> None:
    # Before: the socket timeout is per read, and a byte every 5 s held brulee forever.
    sleeps = Sleeps()
    started = time.monotonic()
    result = notify(trickler, FINDINGS, scan=SCAN, delivery=Delivery(deadline=2, sleep=sleeps))
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 5, elapsed
    assert not result.ok and result.attempts == 1
    assert "no complete answer within the 2 s left" in result.error
    assert SECRET not in result.error
