"""GitHub-flavoured Markdown: every data string escaped so that it renders as literal text."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2

from brulee.core.report import Report
from brulee.report.interface import Renderer
from brulee.report.view.report import build_view
from brulee.report.view.templates import environment, stream
from brulee.report.view.text import Raw, printable, safe_url

# Markup wherever it stands: escapes, code spans, emphasis, links, HTML and autolinks, table
# cells, strikethrough, math; an entity reference; '_' unless inside a word (no emphasis there).
_INLINE = re.compile(r"[\\`*\[\]<|~$]|&(?=#?\w+;)|(?<![^\W_])_|_(?![^\W_])")
# Markup at the start of a line: heading, quote, list item, thematic break, setext underline.
_LEADING = re.compile(r"^(?:#{1,6}(?=\s|$)|[>=]|-(?=[\s-]|$)|\+(?=\s|$))")
_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
# The closing '#'s of a heading.
_CLOSING = re.compile(r"(?:^|(?<=\s))#+(?=\s*$)")


def md_escape(value: object) -> str:
    """Literal text for anywhere in a GFM document, table cells included.

    Backslash-escapes only what would change the rendering where it stands: inline markup
    anywhere, block markers at the start and a heading's closing ``#`` at the end. So CVE ids,
    addresses and versions read as they are in the raw file (``CVE-2011-2523``, ``10.0.0.3``).
    Line breaks become ``<br>`` so that text never leaves its table cell, list item or heading.
    """
    if isinstance(value, Raw):
        return value
    text = printable(value).replace("\t", " ").strip()
    text = _INLINE.sub(lambda m: "\\" + m[0], text)
    text = _LEADING.sub(lambda m: "\\" + m[0], text, count=1)
    text = _ORDERED.sub(r"\1\\\2", text, count=1)
    text = _CLOSING.sub(lambda m: "\\" + m[0], text, count=1)
    return text.replace("\n", "<br>")


def md_link(text: str, url: str) -> Raw:
    """``[text](url)`` when ``url`` is http(s), else the escaped text alone."""
    target = safe_url(url)
    return Raw(f"[{md_escape(text)}]({target})" if target else md_escape(text))


@cache
def template(name: str = "report.md.j2") -> jinja2.Template:
    """A Markdown template (the report, or ``brulee diff``'s page), escaping with md_escape."""
    env = environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, finalize=md_escape)
    env.globals["md_link"] = md_link
    return env.get_template(name)


class MarkdownRenderer(Renderer):
    """One GFM document; locations and hosts stream from the spool."""

    extension = "md"

    def render(self, report: Report, path: Path) -> None:
        stream(template(), path, v=build_view(report))
