"""The one clock: the current time in UTC (pass ``now`` or a clock function where tests need to
fix it)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
