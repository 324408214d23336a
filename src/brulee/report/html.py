"""One self-contained HTML file: inline CSS, JS and SVG, locked down by a Content-Security-Policy.

Every piece of content is in the markup; the script only adds filtering and sorting. The CSP
forbids every network load and admits exactly the report's own style and script, by hash.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2
from markupsafe import Markup

from brulee.report.interface import Renderer, Report
from brulee.report.view import INCOMPLETE, PALETTE, build_view, environment, printable, stream
from brulee.vulns.interface import SEVERITIES


def _asset(name: str) -> str:
    return (files("brulee.report") / "templates" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def _assets() -> tuple[str, str, str]:
    """(css, js, csp): the inline style and script, and the policy admitting only them."""
    colours = "".join(f"--{name}:#{fill};" for name, (fill, _) in PALETTE.items())
    classes = "".join(f".c-{n}{{background:#{f};color:#{i}}}" for n, (f, i) in PALETTE.items())
    css = f":root{{{colours}}}\n{classes}\n{_asset('report.css')}"
    js = _asset("report.js")
    if "</" in js:
        raise ValueError("report.js must not contain '</'")
    csp = (
        f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return css, js, csp


def _finalize(value: object) -> object:
    """Before autoescaping: make control and bidi characters visible (markup passes through)."""
    return value if isinstance(value, Markup | int | float) else printable(value)


@cache
def _template() -> jinja2.Template:
    env = environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=_finalize)
    return env.get_template("report.html.j2")


class HtmlRenderer(Renderer):
    """Single-file HTML report, readable with JavaScript off; filtering and sorting with it on."""

    extension = "html"

    def render(self, report: Report, path: Path) -> None:
        css, js, csp = _assets()
        stream(
            _template(),
            path,
            v=build_view(report),
            css=Markup(css),  # noqa: S704 - package file, admitted by its CSP hash
            js=Markup(js),  # noqa: S704 - package file, admitted by its CSP hash
            csp=csp,
            incomplete=INCOMPLETE,
            palette=PALETTE,
            severities=SEVERITIES,
        )
