"""Alerts: post a scan's new findings to a webhook (generic JSON, Slack or Microsoft Teams).

``notify`` sends one request with the findings the caller says are new (most urgent first), and
nothing at all when there are none. Connection errors, timeouts, HTTP 408/425/429/5xx are retried
with exponential backoff (``Retry-After`` honoured, capped at ``Delivery.max_wait``); redirects are
not followed (a POST body must not be replayed elsewhere). A failure never raises: it comes back in
``NotifyResult.error`` for the caller to report as a warning, the scan's results being safe already.

Webhook URLs carry their secret in the path or query (Slack's ``/services/T/B/XXXX``, Teams'
``sig=``), so every message and log line shows the URL as ``scheme://host[:port]/<redacted>``.

The payloads (generic JSON, Slack, Teams) are built by :mod:`brulee.history.payloads`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any

from brulee.errors import UsageError
from brulee.history.payloads import (
    MAX_LISTED,
    Kind,
    NewFinding,
    NewFindings,
    build_payload,
    clip,
)
from brulee.util.redact import redact_url, scrub, secret_parts
from brulee.util.retry import (
    RETRY_STATUSES,
    USER_AGENT,
    GaveUp,
    Retryable,
    RetryPolicy,
    retry_after,
)
from brulee.util.text import one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery(RetryPolicy):
    """How alerts are sent: the retry policy (``sleep`` injectable so that tests need not wait)
    and the socket timeout."""

    timeout: float = 15.0
    """Socket timeout of one request, seconds."""
    deadline: float | None = 120.0
    """Seconds one alert may take, every try, wait and byte of the answers included."""


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


def check_webhook_url(url: str) -> str:
    """The URL if brulee can post to it (``http(s)://host...``); UsageError (redacted) if not.
    Meant for argument parsing, so that a typo fails before the scan rather than after."""
    problem = _url_problem(url)
    if problem:
        raise UsageError(f"--notify {redact_url(url)}: {problem}")
    return url


def target_key(url: str) -> str:
    """What names a webhook in the history store: the sha256 of its URL (never the URL, which
    holds its secret)."""
    return hashlib.sha256(url.encode()).hexdigest()


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
    new_findings: NewFindings | Sequence[NewFinding],
    *,
    scan: Mapping[str, Any],
    kind: Kind | None = None,
    delivery: Delivery | None = None,
    max_findings: int = MAX_LISTED,
) -> NotifyResult:
    """Post ``new_findings`` to the webhook at ``url`` (``kind`` detected from it unless given);
    no request when there are none. Given as :class:`NewFindings`, only the findings it lists
    are itemised and its totals are told. Never raises for delivery problems (see ``NotifyResult``).
    ``scan`` (JSON-able: ``id``, ``site``, ``targets``, ``finished``... as the caller has them) is
    sent as is in generic payloads and summarised in Slack and Teams ones."""
    found = new_findings if isinstance(new_findings, NewFindings) else NewFindings.of(new_findings)
    chosen: Kind = kind or detect_kind(url)
    if not found.total:
        return NotifyResult(redact_url(url), chosen, total=0, listed=0, attempts=0)
    body, listed = alert_body(url, found, scan=scan, kind=chosen, max_findings=max_findings)
    return deliver(url, body, total=found.total, listed=listed, kind=chosen, delivery=delivery)


def alert_body(
    url: str,
    found: NewFindings,
    *,
    scan: Mapping[str, Any],
    kind: Kind | None = None,
    max_findings: int = MAX_LISTED,
) -> tuple[bytes, int]:
    """The payload :func:`notify` posts to ``url`` (JSON), and the findings it lists."""
    chosen = kind or detect_kind(url)
    payload, listed = build_payload(chosen, found, scan, max_findings=max_findings)
    return json.dumps(payload, default=str, ensure_ascii=False).encode(), listed


def deliver(
    url: str,
    body: bytes,
    *,
    total: int,
    listed: int = 0,
    kind: Kind | None = None,
    delivery: Delivery | None = None,
) -> NotifyResult:
    """Post a payload (telling of ``total`` new findings) to the webhook at ``url``, with
    retries, all of it within ``delivery.deadline`` seconds however slowly the server answers.
    Never raises for delivery problems (see ``NotifyResult``)."""
    delivery = delivery or Delivery()
    chosen: Kind = kind or detect_kind(url)
    target = redact_url(url)
    result = NotifyResult(target, chosen, total=total, listed=0, attempts=0)
    problem = _url_problem(url)
    if problem:
        return _failed(result, f"cannot notify {target}: {problem}")
    tries: list[int | None] = []  # the status of each try (None: no answer)
    end = time.monotonic() + (math.inf if delivery.deadline is None else delivery.deadline)

    def post() -> int:
        try:
            status = _post(url, body, delivery.timeout, end - time.monotonic())
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
    log.info("notified %s (%s) of %d new findings", target, chosen, total)
    return replace(result, attempts=len(tries), listed=listed, status=_last(tries))


def _last(statuses: Sequence[int | None]) -> int | None:
    """The last HTTP status received."""
    return next((status for status in reversed(statuses) if status is not None), None)


def _notice(url: str, target: str, reason: str) -> str:
    """``webhook https://host/<redacted>: reason``, the reason scrubbed of the URL's secrets."""
    return f"webhook {target}: {scrub(reason, secret_parts(url))}"


def _failed(
    result: NotifyResult,
    error: str,
    attempts: int = 0,
    listed: int = 0,
    status: int | None = None,
) -> NotifyResult:
    return replace(result, error=error, attempts=attempts, listed=listed, status=status)


class _Watchdog:
    """Shuts the sockets of one request down when its time is up: a server that trickles its
    answer (a byte every few seconds, each within the socket timeout) cannot hold brulee."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
        if self.expired:
            self._expire()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        if self._timer.interval < math.inf:
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _watched_opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """An opener whose connections are watched by ``watchdog``; redirects are not followed."""

    class Http(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    class HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Http, req)

    class HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(Https, req)

    return urllib.request.build_opener(_NoRedirects, HttpHandler, HttpsHandler)


def _post(url: str, body: bytes, timeout: float, remaining: float) -> int:
    """One POST, over within ``remaining`` seconds; the 2xx status, or Retryable / _Failed."""
    if remaining <= 0:
        raise _Failed("the delivery deadline has passed")
    request = urllib.request.Request(  # noqa: S310 - http(s) only (_url_problem)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    with _Watchdog(remaining) as watchdog:
        try:
            return _send(_watched_opener(watchdog), request, min(timeout, remaining))
        except Retryable as exc:
            if watchdog.expired:
                raise _Failed(f"no complete answer within the {remaining:.0f} s left") from exc
            raise


def _send(opener: urllib.request.OpenerDirector, request: urllib.request.Request,
          timeout: float) -> int:  # fmt: skip
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
        if exc.code in RETRY_STATUSES:
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
    return clip(text, 200)
