"""Text for humans: an exception as one line of bounded length."""

from __future__ import annotations


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one line of at most ``limit`` characters; for an OSError that carries a
    ``reason`` (urllib's URLError), the reason."""
    reason = getattr(exc, "reason", None) if isinstance(exc, OSError) else None
    text = " ".join(str(reason if reason is not None else exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
