"""Counts in words; one-line error text; other programs' messages made safe to print."""

from __future__ import annotations

import urllib.error

from brulee.util.text import count_text, first_lines, one_line, plural_text, terminal_text


def test_counts_in_words_with_thousands_separated() -> None:
    assert [count_text(n, "host") for n in (0, 1, 2, 1024)] == [
        "0 hosts", "1 host", "2 hosts", "1,024 hosts"
    ]  # fmt: skip
    assert count_text(1, "vulnerability") == "1 vulnerability"
    assert count_text(0, "vulnerability") == "0 vulnerabilities"
    assert count_text(7, "day") == "7 days" and count_text(1, "day") == "1 day"
    assert plural_text(32000, "new port", "new ports") == "32,000 new ports"
    assert plural_text(1, "host is", "hosts are") == "1 host is"


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


def test_terminal_text_escapes_controls_and_keeps_one_line() -> None:
    hostile = "  a\x1b]8;;http://x\x07link\x1b]8;;\x07\r\nb\u202eE\x85c\x9b\x00\td"
    assert terminal_text(hostile) == (
        "  a\\x1b]8;;http://x\\x07link\\x1b]8;;\\x07 b\\u202eE c\\x9b\\x00\td"
    )
    assert terminal_text("plain: 10.0.0.1:22 ünïcode") == "plain: 10.0.0.1:22 ünïcode"


def test_first_lines_are_few_escaped_and_bounded() -> None:
    text = (
        "\n  nmap: unrecognized option '--x\x1b]0;t\x07'\r\n\nSee nmap -h\n" + "y" * 500 + "\nmore"
    )
    assert first_lines(text, 2) == ("nmap: unrecognized option '--x\\x1b]0;t\\x07'", "See nmap -h")
    assert first_lines(text)[2] == "y" * 197 + "..."
    assert first_lines("") == ()
