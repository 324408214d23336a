"""One-line error text; other programs' messages made safe to print."""

from __future__ import annotations

import urllib.error

from brulee.util.text import escaped, first_lines, one_line


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


def test_escaped_makes_control_and_bidi_characters_visible() -> None:
    assert escaped("red \x1b[31mX\x07 \u202eevil") == "red \\x1b[31mX\\x07 \\u202eevil"
    assert escaped("plain: 'quoted' caf\u00e9") == "plain: 'quoted' caf\u00e9"


def test_first_lines_are_few_escaped_and_bounded() -> None:
    text = (
        "\n  nmap: unrecognized option '--x\x1b]0;t\x07'\r\n\nSee nmap -h\n" + "y" * 500 + "\nmore"
    )
    assert first_lines(text, 2) == ("nmap: unrecognized option '--x\\x1b]0;t\\x07'", "See nmap -h")
    assert first_lines(text)[2] == "y" * 197 + "..."
    assert first_lines("") == ()
