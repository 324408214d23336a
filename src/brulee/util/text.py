"""Text for humans: an exception as one line of bounded length; other programs' messages made
safe to print."""

from __future__ import annotations

import re


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one line of at most ``limit`` characters; for an OSError that carries a
    ``reason`` (urllib's URLError), the reason."""
    reason = getattr(exc, "reason", None) if isinstance(exc, OSError) else None
    text = " ".join(str(reason if reason is not None else exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# C0/C1 controls and bidirectional overrides, which could rewrite or reorder a terminal line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escaped(text: str) -> str:
    """``text`` with control and bidi-override characters written as escapes (``\\x1b``)."""
    return _CONTROL.sub(lambda m: ascii(m[0])[1:-1], text)


def first_lines(text: str, count: int = 3, limit: int = 200) -> tuple[str, ...]:
    """The first ``count`` non-blank lines of ``text`` (another program's messages), each
    escaped and cut to ``limit`` characters."""
    lines = (line.strip() for line in text.splitlines())
    kept = [escaped(line) for line in lines if line][:count]
    return tuple(line if len(line) <= limit else line[: limit - 3] + "..." for line in kept)
