"""Text for humans: counts in words; an exception as one line of bounded length; any text as
one line safe to print on a terminal; other programs' messages made safe to print."""

from __future__ import annotations

import re


def plural_text(count: int, noun: str, plural: str) -> str:
    """``1 new port``, ``32,000 new ports``: ``noun`` for one, ``plural`` for any other count."""
    return f"{count:,} {noun if count == 1 else plural}"


def count_text(count: int, noun: str) -> str:
    """``1 location``, ``3 vulnerabilities``, ``7 days``."""
    consonant_y = noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u")
    return plural_text(count, noun, f"{noun[:-1]}ies" if consonant_y else f"{noun}s")


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one line of at most ``limit`` characters; for an OSError that carries a
    ``reason`` (urllib's URLError), the reason."""
    reason = getattr(exc, "reason", None) if isinstance(exc, OSError) else None
    text = " ".join(str(reason if reason is not None else exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Control characters (C0 but tab and line breaks, DEL, C1) and bidirectional overrides: a
# terminal acts on them (ESC and OSC sequences recolour, retitle, hide text or write links).
_CONTROL = re.compile(
    "[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    """``text`` as one line safe to print: control characters and bidi overrides shown escaped
    (``\\x1b``, ``\\u202e``), each run of line breaks as one space."""
    return _CONTROL.sub(_visible, _BREAKS.sub(" ", text))


def first_lines(text: str, count: int = 3, limit: int = 200) -> tuple[str, ...]:
    """The first ``count`` non-blank lines of ``text`` (another program's messages), each made
    safe to print (:func:`terminal_text`) and cut to ``limit`` characters."""
    lines = (line.strip() for line in text.splitlines())
    kept = [terminal_text(line) for line in lines if line][:count]
    return tuple(line if len(line) <= limit else line[: limit - 3] + "..." for line in kept)
