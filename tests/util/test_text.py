"""One-line error text."""

from __future__ import annotations

import urllib.error

from brulee.util.text import one_line


def test_one_line_joins_lines_and_bounds_length() -> None:
    assert one_line(ValueError("bad\n  value\tthere")) == "bad value there"
    assert one_line(ValueError("x" * 500), 20) == "x" * 17 + "..."
    assert one_line(ValueError("")) == "ValueError"


def test_one_line_prefers_the_reason_of_a_network_error() -> None:
    error = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    assert one_line(error) == "[Errno 111] Connection refused"
    # A decoding error's reason alone would lose where it happened.
    decoding = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    assert "position 0" in one_line(decoding)
