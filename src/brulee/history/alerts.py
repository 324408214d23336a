"""Alerts: post a scan's new findings to a webhook (generic JSON, Slack or Microsoft Teams).

``notify`` sends one request with the findings the caller says are new (most urgent first), and
nothing at all when there are none. Connection errors, timeouts, HTTP 408/425/429/5xx are retried
with exponential backoff (``Retry-After`` honoured, capped at ``Delivery.max_wait``); redirects are
not followed (a POST body must not be replayed elsewhere). A failure never raises: it comes back in
``NotifyResult.error`` for the caller to report as a warning, the scan's results being safe already.

Webhook URLs carry their secret in the path or query (Slack's ``/services/T/B/XXXX``, Teams'
``sig=``), so every message and log line shows the URL as ``scheme://host[:port]/<redacted>``.

Payloads (``build_payload``):

``generic``
    ``{"source": "brulee", "version", "kind": "new_findings", "scan": {...}, "total", "omitted",
    "new_findings": [{"cve", "severity", "cvss", "kev", "epss", "service", "address", "hostname",
    "port", "protocol", "location", "first_seen"}]}``, at most ``max_findings`` items.
``slack``
    Incoming-webhook message: ``text`` (the notification line) and ``blocks``: a header, a context
    line for the scan, one mrkdwn section per finding, and "and N more" when the 50-block limit
    leaves some out. Text from the scan (service banners) is escaped (``&``, ``<``, ``>``).
``teams``
    ``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null, "content": <AdaptiveCard 1.4>}]}``, as the Teams Workflows "when a Teams
    webhook request is received" trigger and the older connectors accept it. Untrusted text goes in
    ``TextRun`` elements, which Teams does not read as Markdown; the card stays under Teams' 28 KB.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any, Literal, Protocol

from brulee import __version__
from brulee.core.scan import address_order
from brulee.core.vulnerability import SEVERITY_RANK, Severity
from brulee.errors import UsageError
from brulee.util.retry import GaveUp, Retryable, RetryPolicy, retry_after
from brulee.util.text import one_line

log = logging.getLogger(__name__)

Kind = Literal["generic", "slack", "teams"]
KINDS: tuple[Kind, ...] = ("generic", "slack", "teams")

USER_AGENT = f"brulee/{__version__}"
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_SLACK_BLOCKS = 50
_SLACK_TEXT = 3000
_SLACK_HEADER = 150
_TEAMS_FINDINGS = 25
_TEAMS_BYTES = 26_000
"""Teams refuses messages over about 28 KB; the card is trimmed to stay below this."""
_FIELD_CHARS = 300
_NVD = "https://nvd.nist.gov/vuln/detail/"


class FindingLike(Protocol):
    """The fields ``NewFinding.of`` reads (those of the history store's ``TrackedFinding``)."""

    @property
    def id(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def cvss(self) -> float | None: ...
    @property
    def kev(self) -> bool: ...
    @property
    def service(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def hostname(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def first_seen(self) -> str: ...


@dataclass(frozen=True, slots=True)
class NewFinding:
    """One vulnerability newly found at one location."""

    cve: str
    severity: Severity
    service: str
    """The service's label (``Apache httpd 2.4.49``)."""
    address: str
    port: int
    protocol: str
    hostname: str = ""
    cvss: float | None = None
    kev: bool = False
    """Listed in CISA's Known Exploited Vulnerabilities catalog."""
    epss: float | None = None
    """Probability of exploitation in the next 30 days, 0 to 1."""
    first_seen: str = ""
    """ISO 8601."""

    @classmethod
    def of(cls, finding: FindingLike) -> NewFinding:
        """From the history's record of a finding (``brulee.history.store.TrackedFinding``, or
        anything with the same fields; ``epss`` is read when it has one)."""
        epss = getattr(finding, "epss", None)
        return cls(
            cve=finding.id,
            severity=finding.severity,
            service=finding.service,
            address=finding.address,
            port=finding.port,
            protocol=finding.protocol,
            hostname=finding.hostname,
            cvss=finding.cvss,
            kev=finding.kev,
            epss=epss if isinstance(epss, float) else None,
            first_seen=finding.first_seen,
        )

    @property
    def location(self) -> str:
        """``10.0.0.5:443/tcp``, ``[2001:db8::1]:443/tcp``."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class Delivery(RetryPolicy):
    """How alerts are sent: the retry policy (``sleep`` injectable so that tests need not wait)
    and the socket timeout."""

    timeout: float = 15.0
    """Socket timeout of one request, seconds."""


@dataclass(frozen=True, slots=True)
class NotifyResult:
    """What became of one notification. ``error`` is '' on success (or when nothing was new)."""

    target: str
    """The webhook URL, redacted."""
    kind: Kind
    total: int
    """New findings given."""
    listed: int
    """Findings itemised in the payload (the rest are counted as "and N more")."""
    attempts: int
    """Requests made: 0 when nothing was new or the URL is unusable."""
    status: int | None = None
    """The last HTTP status received, if any."""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def sent(self) -> bool:
        return self.ok and self.attempts > 0


# -- URLs -----------------------------------------------------------------------------------------


def detect_kind(url: str) -> Kind:
    """``slack`` for hooks.slack.com, ``teams`` for Teams connectors (``*.webhook.office.com``,
    ``outlook.office.com``) and Workflows (``*.logic.azure.com``, ``*.powerplatform.com``),
    ``generic`` otherwise."""
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host in ("hooks.slack.com", "hooks.slack-gov.com"):
        return "slack"
    if host in ("outlook.office.com", "outlook.office365.com") or host.endswith(
        (".webhook.office.com", ".logic.azure.com", ".powerplatform.com")
    ):
        return "teams"
    return "generic"


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/<redacted>``: scheme, host and port only."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<redacted URL>"
    if not host:
        return "<redacted URL>"
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}/<redacted>"


def check_webhook_url(url: str) -> str:
    """The URL if brulee can post to it (``http(s)://host...``); UsageError (redacted) if not.
    Meant for argument parsing, so that a typo fails before the scan rather than after."""
    problem = _url_problem(url)
    if problem:
        raise UsageError(f"--notify {redact_url(url)}: {problem}")
    return url


def _url_problem(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when the port is not a number
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http:// and https:// webhook URLs work"
    if not parts.hostname:
        return "the URL names no host"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "the URL contains spaces or control characters"
    return ""


def _scrub(text: str, url: str) -> str:
    """Remove the URL and its secret-bearing parts from a message."""
    parts = urllib.parse.urlsplit(url)
    secrets = {url, parts.path, parts.query, parts.fragment, parts.username, parts.password}
    secrets.update(segment for segment in parts.path.split("/") if len(segment) >= 6)
    secrets.update(value for _, value in urllib.parse.parse_qsl(parts.query) if len(value) >= 6)
    for secret in sorted((s for s in secrets if s and len(s) > 1), key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return text


# -- payloads -------------------------------------------------------------------------------------


def _urgency(f: NewFinding) -> tuple[bool, int, float, float, bytes, int, str]:
    return (
        not f.kev,
        SEVERITY_RANK.get(f.severity, len(SEVERITY_RANK)),
        -(f.cvss if f.cvss is not None else -1.0),
        -(f.epss if f.epss is not None else -1.0),
        address_order(f.address),
        f.port,
        f.cve,
    )


def build_payload(
    kind: Kind,
    findings: Sequence[NewFinding],
    scan: Mapping[str, Any],
    *,
    max_findings: int = 10_000,
) -> tuple[dict[str, Any], int]:
    """The JSON body for ``kind`` and how many findings it itemises (most urgent first)."""
    ordered = sorted(findings, key=_urgency)
    if kind == "slack":
        return _slack(ordered, scan)
    if kind == "teams":
        return _teams(ordered, scan)
    listed = ordered[:max_findings]
    payload = {
        "source": "brulee",
        "version": __version__,
        "kind": "new_findings",
        "scan": dict(scan),
        "total": len(ordered),
        "omitted": len(ordered) - len(listed),
        "new_findings": [_finding_json(f) for f in listed],
    }
    return payload, len(listed)


def _finding_json(f: NewFinding) -> dict[str, Any]:
    return {
        "cve": f.cve,
        "severity": f.severity,
        "cvss": f.cvss,
        "kev": f.kev,
        "epss": f.epss,
        "service": f.service,
        "address": f.address,
        "hostname": f.hostname,
        "port": f.port,
        "protocol": f.protocol,
        "location": f.location,
        "first_seen": f.first_seen,
    }


def _title(count: int) -> str:
    return f"brulee: {count:,} new finding{'s' if count != 1 else ''}"


def _summary(findings: Sequence[NewFinding]) -> str:
    """``2 critical, 1 high; 1 known exploited``."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    text = ", ".join(f"{counts[s]} {s}" for s in SEVERITY_RANK if s in counts)
    kev = sum(1 for f in findings if f.kev)
    return f"{text}; {kev} known exploited" if kev else text


def _scan_line(scan: Mapping[str, Any]) -> str:
    """``scan 42 · site dc1 · targets 10.0.0.0/24, db1 · finished 2026-03-01T12:00:00Z``."""
    words = []
    for key in ("id", "site", "targets", "finished"):
        value = scan.get(key)
        if isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value[:5])
            value = shown + (f" and {len(value) - 5} more" if len(value) > 5 else "")
        if value not in (None, ""):
            words.append(f"{'scan' if key == 'id' else key} {value}")
    return _clip(" · ".join(words), _FIELD_CHARS)


def _facts(f: NewFinding) -> str:
    """``critical · CVSS 9.8 · known exploited (KEV) · EPSS 97.5%``."""
    words: list[str] = [f.severity]
    if f.cvss is not None:
        words.append(f"CVSS {f.cvss:.1f}")
    if f.kev:
        words.append("known exploited (KEV)")
    if f.epss is not None:
        words.append(f"EPSS {f.epss:.1%}")
    return " · ".join(words)


def _where(f: NewFinding) -> str:
    """``Apache httpd 2.4.49 on 10.0.0.5:80/tcp (web1) · first seen 2026-03-01``."""
    text = f"{f.service or 'unknown service'} on {f.location}"
    text += f" ({f.hostname})" if f.hostname else ""
    text += f" · first seen {f.first_seen}" if f.first_seen else ""
    return _clip(text, _FIELD_CHARS)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_cve(cve: str) -> str:
    safe = cve.upper()
    if safe.startswith("CVE-") and all(c.isdigit() or c == "-" for c in safe[4:]):
        return f"*<{_NVD}{safe}|{safe}>*"
    return f"*{_slack_escape(cve)}*"


def _slack(findings: Sequence[NewFinding], scan: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    title = _title(len(findings))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _SLACK_HEADER)}}
    ]
    line = _scan_line(scan)
    if line:
        blocks.append(_slack_context(_slack_escape(line)))
    room = _SLACK_BLOCKS - len(blocks)
    listed = findings if len(findings) <= room else findings[: room - 1]
    for f in listed:
        text = f"{_slack_cve(f.cve)} · {_facts(f)}\n{_slack_escape(_where(f))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:_SLACK_TEXT]}})
    if len(listed) < len(findings):
        blocks.append(_slack_context(f"and {len(findings) - len(listed):,} more"))
    summary = _summary(findings)
    return {"text": f"{title} ({summary})" if summary else title, "blocks": blocks}, len(listed)


def _slack_context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:_SLACK_TEXT]}]}


_TEAMS_COLOURS: dict[str, str] = {"critical": "Attention", "high": "Attention", "medium": "Warning"}


def _run(text: str, **style: Any) -> dict[str, Any]:
    """A TextRun: shown as is, never read as Markdown (banners are untrusted)."""
    return {"type": "TextRun", "text": text, **style}


def _teams_finding(f: NewFinding) -> dict[str, Any]:
    colour = _TEAMS_COLOURS.get(f.severity, "Default")
    return {
        "type": "Container",
        "separator": True,
        "items": [
            {
                "type": "RichTextBlock",
                "inlines": [
                    _run(_clip(f.cve, 40), weight="Bolder", color=colour),
                    _run(f" · {_facts(f)}", color=colour),
                ],
            },
            {"type": "RichTextBlock", "inlines": [_run(_where(f), isSubtle=True)]},
        ],
    }


def _teams(findings: Sequence[NewFinding], scan: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    listed = len(findings) if len(findings) <= _TEAMS_FINDINGS else _TEAMS_FINDINGS - 1
    while True:
        payload = _teams_card(findings, listed, scan)
        if listed == 0 or len(json.dumps(payload).encode()) <= _TEAMS_BYTES:
            return payload, listed
        listed = max(0, listed - max(1, listed // 4))


def _teams_card(
    findings: Sequence[NewFinding], listed: int, scan: Mapping[str, Any]
) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _title(len(findings)),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    summary, line = _summary(findings), _scan_line(scan)
    for text in (summary, line):
        if text:
            body.append({"type": "RichTextBlock", "inlines": [_run(text, isSubtle=True)]})
    body.extend(_teams_finding(f) for f in findings[:listed])
    if listed < len(findings):
        more = f"and {len(findings) - listed:,} more"
        body.append({"type": "TextBlock", "text": more, "isSubtle": True, "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


# -- delivery -------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """3xx answers come back as HTTPError: the POST is not replayed (or turned into a GET)."""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


def notify(
    url: str,
    new_findings: Sequence[NewFinding],
    *,
    scan: Mapping[str, Any],
    kind: Kind | None = None,
    delivery: Delivery | None = None,
    max_findings: int = 10_000,
) -> NotifyResult:
    """Post ``new_findings`` to the webhook at ``url`` (``kind`` detected from it unless given);
    no request when there are none. Never raises for delivery problems (see ``NotifyResult``).
    ``scan`` (JSON-able: ``id``, ``site``, ``targets``, ``finished``... as the caller has them) is
    sent as is in generic payloads and summarised in Slack and Teams ones."""
    delivery = delivery or Delivery()
    chosen: Kind = kind or detect_kind(url)
    target = redact_url(url)
    result = NotifyResult(target, chosen, total=len(new_findings), listed=0, attempts=0)
    if not new_findings:
        return result
    problem = _url_problem(url)
    if problem:
        return _failed(result, f"cannot notify {target}: {problem}")
    payload, listed = build_payload(chosen, new_findings, scan, max_findings=max_findings)
    body = json.dumps(payload, default=str, ensure_ascii=False).encode()
    tries: list[int | None] = []  # the status of each try (None: no answer)

    def post() -> int:
        try:
            status = _post(url, body, delivery.timeout)
        except (Retryable, _Failed) as exc:
            tries.append(exc.status)
            raise
        tries.append(status)
        return status

    def retrying(exc: Retryable, attempt: int, wait: float) -> None:
        why = f"{exc}; retrying in {wait:.1f} s (attempt {attempt} of {delivery.attempts})"
        log.warning("%s", _notice(url, target, why))

    try:
        delivery.run(post, on_retry=retrying)
    except GaveUp as exc:
        return _failed(result, _notice(url, target, str(exc)), len(tries), listed, _last(tries))
    except _Failed as exc:
        return _failed(result, _notice(url, target, str(exc)), len(tries), listed, _last(tries))
    log.info("notified %s (%s) of %d new findings", target, chosen, len(new_findings))
    return replace(result, attempts=len(tries), listed=listed, status=_last(tries))


def _last(statuses: Sequence[int | None]) -> int | None:
    """The last HTTP status received."""
    return next((status for status in reversed(statuses) if status is not None), None)


def _notice(url: str, target: str, reason: str) -> str:
    """``webhook https://host/<redacted>: reason``, the reason scrubbed of the URL's secrets."""
    return f"webhook {target}: {_scrub(reason, url)}"


def _failed(
    result: NotifyResult,
    error: str,
    attempts: int = 0,
    listed: int = 0,
    status: int | None = None,
) -> NotifyResult:
    return replace(result, error=error, attempts=attempts, listed=listed, status=status)


def _post(url: str, body: bytes, timeout: float) -> int:
    """One POST; the 2xx status, or Retryable / _Failed."""
    request = urllib.request.Request(  # noqa: S310 - http(s) only (_url_problem)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(1 << 16)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        try:
            detail = _body_excerpt(exc)
        finally:
            exc.close()
        reason = f"HTTP {exc.code} {exc.reason}".rstrip() + (f": {detail}" if detail else "")
        if exc.code in _RETRY_STATUSES:
            raise Retryable(reason, wait=retry_after(exc.headers), status=exc.code) from exc
        if 300 <= exc.code < 400:
            reason += " (redirects are not followed)"
        raise _Failed(reason, exc.code) from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        raise Retryable(one_line(exc, 200)) from exc
    except ValueError as exc:  # a URL urllib cannot use (bad IDNA host...)
        raise _Failed(one_line(exc, 200)) from exc


def _body_excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(512).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        return ""
    return _clip(text, 200)
