"""The one retry policy, for everything brulee asks of a network: feed downloads and their
verification, webhook alerts, uploads to buckets.

A failure worth another try raises :class:`Retryable` (with the wait the server asked for, if
it did); :meth:`RetryPolicy.run` waits and tries again until the attempts or the overall
deadline are spent, then raises :class:`GaveUp`. Waits double from ``backoff``, are capped at
``max_wait``, may be jittered, and honour ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.message import Message
from typing import TypeVar

from brulee import __version__
from brulee.util.clock import utc_now

T = TypeVar("T")

USER_AGENT = f"brulee/{__version__}"
"""What brulee calls itself in HTTP requests."""
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses worth another try (timeouts, rate limits, server errors)."""


class Retryable(Exception):
    """A failure worth another try. ``wait``: seconds the server asked for (``Retry-After``),
    None for the policy's backoff; ``status``: the HTTP status received, if any."""

    def __init__(self, reason: str, *, wait: float | None = None, status: int | None = None):
        super().__init__(reason)
        self.wait = wait
        self.status = status


class GaveUp(Exception):
    """The tries are spent: ``last`` is the final failure, ``attempts`` the tries made. Its
    text is the failure's, with ``(gave up after N attempts)``."""

    def __init__(self, last: Retryable, attempts: int, *, deadline: bool = False) -> None:
        why = f"gave up after {attempts} attempts" + (", past the deadline" if deadline else "")
        super().__init__(f"{last} ({why})")
        self.last = last
        self.attempts = attempts


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to try again. ``sleep`` and ``clock`` are injectable so that tests
    need not wait."""

    attempts: int = 4
    """Tries, the first included."""
    backoff: float = 2.0
    """Wait before the first retry, doubled for each further one (unless ``Retry-After`` says)."""
    max_wait: float = 60.0
    """Longest single wait, ``Retry-After`` included."""
    jitter: float = 0.0
    """Up to this fraction of each backoff wait is taken off at random (0.5: between half and
    all of it), so that many clients failing together do not retry in step. A server's
    ``Retry-After`` is never jittered."""
    deadline: float | None = None
    """Seconds all tries together may take, waits included (None: no limit): no retry is
    started that would wait past it."""
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try ``attempt`` (1-based): ``retry_after`` when the
        server gave one, else the backoff; never below 0 nor above ``max_wait``."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_wait))
        nominal = max(0.0, min(self.backoff * 2.0 ** (attempt - 1), self.max_wait))
        return nominal * (1.0 - self.jitter * random.random())  # noqa: S311 - jitter, not crypto

    def run(
        self,
        operation: Callable[[], T],
        *,
        on_retry: Callable[[Retryable, int, float], None] | None = None,
    ) -> T:
        """``operation()``, tried again after each :class:`Retryable` until it succeeds; then
        GaveUp. ``on_retry(failure, attempt, wait)`` is told before each wait."""
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation()
            except Retryable as exc:
                if attempt >= max(1, self.attempts):
                    raise GaveUp(exc, attempt) from exc
                wait = self.wait(attempt, exc.wait)
                if self.deadline is not None and self.clock() + wait - start > self.deadline:
                    raise GaveUp(exc, attempt, deadline=True) from exc
                if on_retry is not None:
                    on_retry(exc, attempt, wait)
                if wait > 0:
                    self.sleep(wait)


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
