"""Secrets out of every log line: credentials, signatures, tokens and URL userinfo.

:func:`redact` is the one redaction of free text; :class:`CleanRecords`, installed on the
handlers that print log records (the CLI does it), applies it to every record at every level
(the SDKs' DEBUG logs included: botocore logs SigV4 ``Signature:`` lines and request headers)
and makes each record one line of printable text (:func:`brulee.util.text.terminal_text`).
"""

from __future__ import annotations

import logging
import re

from brulee.util.text import terminal_text

REDACTED = "<redacted>"

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
