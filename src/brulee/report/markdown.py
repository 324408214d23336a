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

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$&])")


def md_escape(value: object) -> str:
    """Literal text for anywhere in a GFM document, table cells included.

    Backslash-escapes every character Markdown, GFM or embedded HTML give a meaning to; line
    breaks become ``<br>`` so that text never leaves its table cell, list item or heading.
    """
    if isinstance(value, Raw):
        return value
    text = _SPECIAL.sub(r"\\\1", printable(value))
    return text.replace("\t", " ").replace("\n", "<br>")


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
