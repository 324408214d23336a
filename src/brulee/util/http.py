"""Small HTTP helpers shared by the feed downloads and the webhook alerts."""

from __future__ import annotations

import email.utils
from datetime import UTC
from email.message import Message

from brulee.util.clock import utc_now


def retry_after(headers: Message) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None if absent or bad."""
    value = (headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utc_now()).total_seconds())


def backoff_wait(
    attempt: int, backoff: float, max_wait: float, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed try ``attempt`` (1-based): ``Retry-After`` when the server
    gave one, else ``backoff`` doubled per further try; never below 0 nor above ``max_wait``."""
    wait = backoff * 2 ** (attempt - 1) if retry_after is None else retry_after
    return max(0.0, min(wait, max_wait))
