"""Secrets out of every message.

Known secrets (the URLs brulee was given): webhook URLs carry their secret in the path or query
(Slack's ``/services/T/B/XXXX``, Teams' ``sig=``): :func:`redact_url` keeps only
``scheme://host[:port]``; database URLs carry a password: :func:`hide_password` keeps the rest;
:func:`scrub` removes a URL's secret-bearing parts from any text (an error from a library may quote
them), and :class:`ScrubSecrets` does so for log records.

Secrets brulee was not given (the SDKs' own): :func:`redact` removes credentials, signatures,
tokens and URL userinfo from free text; :class:`CleanRecords`, installed on the handlers that
print log records (the CLI does it), applies it to every record at every level (botocore logs
SigV4 ``Signature:`` lines and request headers at DEBUG) and makes each record one line of
printable text (:func:`brulee.util.text.terminal_text`).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Iterable

from brulee.util.text import terminal_text

REDACTED = "<redacted>"


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
    return f"{parts.scheme}://{netloc}/{REDACTED}"


def hide_password(url: str) -> str:
    """The URL with its password as ``***`` and without its query (which may hold one too);
    anything that is no URL with a password is returned as it is."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None and not parts.query:
        return url
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=""))


def secret_parts(url: str) -> set[str]:
    """The substrings of ``url`` that may carry a secret: the URL itself, its userinfo, path,
    query and fragment, and their longer segments and values."""
    try:
        parts = urllib.parse.urlsplit(url)
        found = {url, parts.path, parts.query, parts.fragment, parts.username, parts.password}
    except ValueError:
        return {url}
    found.update(segment for segment in parts.path.split("/") if len(segment) >= 6)
    found.update(value for _, value in urllib.parse.parse_qsl(parts.query) if len(value) >= 6)
    return {s for s in found if s and len(s) > 1}


def url_secrets(url: str, *, whole: bool) -> set[str]:
    """What to scrub from every message for ``url``. ``whole`` (a webhook, whose URL is the
    secret): the URL, its credentials, path, query and fragment, and the segments and values that
    look like tokens (a digit in them, or 20 characters), not words such as ``services``.
    Otherwise (a database URL): its password and query values, and the URL when it holds them."""
    parts = secret_parts(url)
    if whole:
        return {p for p in parts if len(p) >= 20 or (len(p) >= 6 and not p.isalpha())}
    try:
        split = urllib.parse.urlsplit(url)
        found = {split.password or "", *(v for _, v in urllib.parse.parse_qsl(split.query))}
    except ValueError:
        return {url}
    found = {s for s in found if len(s) > 1}
    return found | {url} if found else set()


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` (longest first) replaced by ``<redacted>``."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class ScrubSecrets(logging.Filter):
    """Rewrites log records so that none of the given secrets appears in them."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message, self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:  # --debug tracebacks
            traceback = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(traceback, self.secrets)
        return True


# Headers in a dict repr ('Authorization': b'AWS4-HMAC-SHA256 Credential=...').
_QUOTED_HEADER = re.compile(
    r"""(?i)(['"](?:authorization|proxy-authorization|cookie|x-amz-security-token|"""
    r"""x-goog-api-key)['"]:\s*b?)(['"]).*?\2"""
)
# Header lines, signature fields and SigV4 debug lines (``Signature:\n<hex>``).
_FIELD = re.compile(
    r"(?i)\b(x-amz-security-token|x-amz-credential|x-amz-signature|x-goog-signature|"
    r"x-goog-credential|credential|signature)([:=])\s*[^\s&,'\"]+"
)
# Query parameters that carry a secret (Teams' sig=, OAuth tokens, API keys).
_PARAMETER = re.compile(
    r"(?i)([?&;](?:sig|signature|token|access_token|id_token|api_key|apikey|key|password|"
    r"secret|client_secret|code)=)[^&#\s'\"]+"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# scheme://user:password@host: the userinfo (a URL's credentials).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")


def redact(text: str) -> str:
    """``text`` without credentials, signatures, tokens and URL userinfo, each replaced by
    ``<redacted>``."""
    text = _QUOTED_HEADER.sub(rf"\1\2{REDACTED}\2", text)
    text = _FIELD.sub(rf"\1\2{REDACTED}", text)
    text = _PARAMETER.sub(rf"\1{REDACTED}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    return _USERINFO.sub(rf"\1{REDACTED}@", text)


class CleanRecords(logging.Filter):
    """Rewrites each log record as one line of printable text without secrets (its traceback,
    shown with ``--debug``, redacted too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = terminal_text(redact(record.getMessage())), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def clean_handlers(logger: logging.Logger | None = None) -> None:
    """Install :class:`CleanRecords` on the handlers of ``logger`` (the root by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, CleanRecords) for f in handler.filters):
            handler.addFilter(CleanRecords())
