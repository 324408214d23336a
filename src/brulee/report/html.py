"""One self-contained HTML file: inline CSS, JS and SVG, locked down by a Content-Security-Policy.

Every piece of content is in the markup; the script only adds filtering and sorting. The CSP
forbids every network load and admits exactly the report's own style and script, by hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.resources import files
from itertools import islice
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from brulee.core.findings import HostRecord, Location
from brulee.core.report import Report
from brulee.core.vulnerability import SEVERITIES
from brulee.report.interface import Renderer
from brulee.report.view.changes import FindingRow, PortRow
from brulee.report.view.fleet import PartRow
from brulee.report.view.report import build_view
from brulee.report.view.services import PALETTE
from brulee.report.view.templates import environment, stream
from brulee.report.view.text import host_status, open_port_text, port_text, printable


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


def _text(value: object) -> str:
    return str(escape(printable(value)))


def _batched(rows: Iterable[str], size: int = 512) -> Iterator[Markup]:
    """Join escaped rows into large chunks: a fleet report has hundreds of thousands of rows,
    and per-row template calls would dominate its rendering time."""
    rows = iter(rows)
    while batch := "".join(islice(rows, size)):
        yield Markup(batch)  # noqa: S704 - every value escaped by _text


def location_rows(locations: Iterable[Location]) -> Iterator[Markup]:
    return _batched(
        f"<tr><td>{_text(loc.address)}</td><td>{_text(loc.hostname)}</td>"
        f"<td>{_text(port_text(loc.port, loc.protocol))}</td></tr>\n"
        for loc in locations
    )


def host_rows(hosts: Iterable[HostRecord]) -> Iterator[Markup]:
    return _batched(
        f"<tr><td>{_text(h.address)}</td><td>{_text(', '.join(h.hostnames))}</td>"
        f"<td>{_text(host_status(h))}"
        + (f' <span class="muted">({_text(h.reason)})</span>' if h.reason else "")
        + "</td><td>"
        + "<br>".join(_text(open_port_text(p)) for p in h.open_ports)
        + f'</td><td class="n">{h.closed_ports}</td><td class="n">{h.filtered_ports}</td></tr>\n'
        for h in hosts
    )


_PART_BADGE = {"errors": "c-medium", "incomplete": "c-unknown", "missing": "c-vulnerable"}
"""The badge of a part's status; a complete part gets none (a thousand green badges hide the
one that matters)."""


def _part_status(row: PartRow) -> str:
    badge = _PART_BADGE.get(row.kind)
    if badge is None:
        return f'<span class="muted">{_text(row.status)}</span>'
    return f'<span class="badge {badge}">{_text(row.status)}</span>'


def part_rows(rows: Iterable[PartRow]) -> Iterator[Markup]:
    """The fleet coverage table: every part read and every shard missing."""
    return _batched(
        f'<tr class="{row.kind}"><td>{_text(row.label)}</td>'
        f'<td class="date">{_text(row.started)}</td><td class="date">{_text(row.finished)}</td>'
        f'<td class="n">{_text(row.hosts_up)}</td><td class="n">{_text(row.hosts_down)}</td>'
        f'<td>{_part_status(row)}</td><td class="src">{_text(row.source)}</td></tr>\n'
        for row in rows
    )


_KEV = '<span class="badge c-kev">KEV</span>'


def _where_cell(where: Iterable[str], more: str) -> str:
    items = [_text(w) for w in where] + (
        [f'<span class="muted">{_text(more)}</span>'] if more else []
    )
    return "<br>".join(items)


def _possible(confidence: str) -> str:
    return f' <span class="badge c-possible">{_text(confidence)}</span>' if confidence else ""


def finding_rows(rows: Iterable[FindingRow]) -> Iterator[Markup]:
    """A table of new, reappeared or fixed findings (the changes section)."""
    return _batched(
        f'<tr><td class="tight">{_text(r.id)}{_possible(r.possible)}</td>'
        f'<td class="tight"><span class="badge c-{_text(r.severity)}">{_text(r.severity)}</span>'
        f'</td><td class="tight">{_KEV if r.kev else ""}</td>'
        f'<td>{_text(r.service)}</td><td class="n">{_text(r.count)}</td>'
        f"<td>{_where_cell(r.where, r.more)}</td></tr>\n"
        for r in rows
    )


def port_rows(rows: Iterable[PortRow]) -> Iterator[Markup]:
    """A table of new or closed ports, or changed versions (the changes section)."""
    return _batched(
        f'<tr><td>{_text(r.service)}</td><td class="n">{_text(r.count)}</td>'
        f"<td>{_where_cell(r.where, r.more)}</td></tr>\n"
        for r in rows
    )


ROW_HELPERS = {
    "location_rows": location_rows,
    "host_rows": host_rows,
    "part_rows": part_rows,
    "finding_rows": finding_rows,
    "port_rows": port_rows,
}
"""The batched row writers the templates (report and changes page) call."""


def environment_html() -> jinja2.Environment:
    return environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=_finalize)


@cache
def page_assets() -> tuple[str, str]:
    """(css, csp) of a page without script (``brulee diff``): the report's style, by hash."""
    css = _assets()[0]
    csp = (
        f"default-src 'none'; style-src {_sha256(css)}; script-src 'none'; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return css, csp


@cache
def _template() -> jinja2.Template:
    return environment_html().get_template("report.html.j2")


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
            palette=PALETTE,
            severities=SEVERITIES,
            **ROW_HELPERS,
        )
