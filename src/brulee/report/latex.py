"""A standalone LaTeX document (pdfLaTeX, T1, lmodern, longtable, hyperref), written as a stream.

Every data string goes through ``tex_escape``: TeX never sees a character that could run a
command, open a file or break the document, whatever Nmap or a source reported.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

from brulee.core.report import Report
from brulee.report.interface import Renderer
from brulee.report.view.report import build_view
from brulee.report.view.services import PALETTE
from brulee.report.view.templates import environment, stream
from brulee.report.view.text import Raw, printable, safe_url

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
    # After a row break (``\\``) or an ``\item``, TeX would read ``[`` as an argument.
    "[": "{[}",
    "]": "{]}",
    "\t": " ",
    "\n": " ",
}
# Non-ASCII characters that T1 + utf8 inputenc typeset (checked against TeX Live 2022); any
# other one is shown as its code point.
_SAFE = frozenset(
    {chr(c) for c in range(0xA0, 0x180)}
    - set("\u0126\u0127\u0138\u013f\u0140\u0149\u0166\u0167\u017f")
    | set("\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030")
    | set("\u2039\u203a\u20ac\u2122\u2190\u2192")
)
_LIGATURE_PAIRS = frozenset({"--", ",,"})
_BREAK_AFTER = frozenset("/:_=&?;@|")
_PIECES = re.compile(
    r"(?P<long>[A-Za-z0-9]{25,})|(?P<plain>(?:[A-Za-z0-9]{1,24}(?![A-Za-z0-9])| )+)|.", re.DOTALL
)
_BREAK = r"\bk{}"  # a discouraged line-break point, defined in the preamble


def _piece(match: re.Match[str]) -> str:
    """One character, run of plain words or long alphanumeric run, for ``tex_escape``."""
    piece = match.group()
    if match.lastgroup == "plain":  # words and spaces: as they are
        return piece
    if match.lastgroup == "long":  # a hash or other long run: may break every 8 characters
        return _BREAK.join(piece[i : i + 8] for i in range(0, len(piece), 8))
    following = match.string[match.end() : match.end() + 1]
    if piece in _SPECIAL:
        out = _SPECIAL[piece]
    elif piece.isascii() or piece in _SAFE:
        out = piece
    else:
        out = rf"\unichar{{{ord(piece):04X}}}"
    if piece + following in _LIGATURE_PAIRS:
        out += "{}"
    breaks = piece in _BREAK_AFTER and following and not following.isspace()
    if breaks or (piece == "." and following.isalpha()):  # not inside 2.4.49 or 10.0.0.1
        out += _BREAK
    return out


def tex_escape(value: object) -> str:
    """Literal text for any place in the document's body, long tokens allowed to break.

    Handles ``\\ { } $ & # ^ _ % ~ < > | " ' `` ` ``, ``[ ]`` and a leading ``*`` (which a row
    break would read as its own arguments), ligature-forming pairs, control characters
    and any non-ASCII character T1 cannot typeset (shown as ``[U+XXXX]``).
    """
    if isinstance(value, Raw):
        return value
    if isinstance(value, int | float):
        return str(value)
    text = _PIECES.sub(_piece, printable(value))
    return "{}" + text if text.startswith("*") else text


def tex_url(url: str) -> Raw:
    """The http(s) URL for ``\\href``, or '' (no link) for any other scheme."""
    return Raw(safe_url(url).replace("%", r"\%").replace("#", r"\#"))


def tex_name(key: str) -> Raw:
    """An identifier for ``\\hypertarget`` and bookmarks: letters and digits only."""
    return Raw(re.sub(r"[^0-9A-Za-z]", "", key))


@cache
def _template() -> jinja2.Template:
    env = environment(
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=tex_escape,
    )
    env.globals.update(tex_url=tex_url, tex_name=tex_name)
    return env.get_template("report.tex.j2")


class LatexRenderer(Renderer):
    """The report as a complete ``.tex`` file for pdfLaTeX."""

    extension = "tex"

    def render(self, report: Report, path: Path) -> None:
        stream(_template(), path, v=build_view(report), palette=PALETTE)
