"""CSV for spreadsheets: one row per (vulnerability, location), every cell guarded against
formula injection. Locations stream from the spool, one service group at a time."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from brulee.core.findings import Location, ServiceGroup
from brulee.core.report import Report
from brulee.core.vulnerability import Vulnerability, established
from brulee.errors import ReportError
from brulee.report.interface import Renderer
from brulee.report.view.text import printable, safe_url, vex_text

COLUMNS: tuple[str, ...] = (
    "service", "product", "version", "extrainfo", "protocol", "port", "address", "hostname",
    "status", "cve", "severity", "cvss", "cvss_version", "epss", "epss_percentile", "kev",
    "confidence", "advisory", "remediation", "reason", "description", "url", "cwe", "vex",
    "certainty",
)  # fmt: skip
"""The header row. ``status`` is the service's; the vulnerability columns are empty on the one
row of a location where no vulnerability applies (``reason`` then holds the service's notes).
``cwe`` (NVD's weakness ids, ``;``-separated), ``vex`` (the OpenVEX statements that keep the
finding, ``;``-separated) and ``certainty`` (``certain``: counted in the headlines; ``possible``:
shown apart; '' for a CVE the distribution fixed) come last, so that earlier columns keep their
places."""

_CVE, _REASON = COLUMNS.index("cve"), COLUMNS.index("reason")
_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
"""OWASP's formula triggers (and LF, which ``printable`` makes of CR), with their full-width
forms, which some spreadsheets fold to ASCII."""


def guard_cell(value: object) -> str:
    """``value`` as spreadsheet-inert text.

    Control and bidi-override characters are made visible (``printable``); a cell that starts
    with ``= + - @``, TAB or CR, also after leading whitespace, is prefixed with ``'`` so that
    no spreadsheet evaluates it as a formula (OWASP CSV injection).
    """
    text = printable(value)
    if text[:1] in _FORMULA_START or text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text


def _kev(vuln: Vulnerability) -> str:
    """``yes (2021-11-03)`` with the date CISA added it, or ``no``."""
    if vuln.kev is None:
        return "no"
    return f"yes ({vuln.kev.date_added})" if vuln.kev.date_added else "yes"


def _decimal(fraction: float) -> str:
    """``0.94432``, never ``4e-05``: spreadsheets and humans read plain decimals."""
    return f"{Decimal(repr(fraction)):f}"


def _certainty(vuln: Vulnerability) -> str:
    if vuln.confidence == "fixed-by-distribution":
        return ""
    return "certain" if established(vuln) else "possible"


def vulnerability_cells(vuln: Vulnerability) -> list[str]:
    """The cells from ``cve`` to ``certainty``, guarded."""
    cvss, epss = vuln.cvss, vuln.epss
    cells = (
        vuln.id,
        vuln.severity,
        f"{cvss.score:.1f}" if cvss else "",
        (cvss.version or "") if cvss else "",
        _decimal(epss.score) if epss else "",
        _decimal(epss.percentile) if epss else "",
        _kev(vuln),
        vuln.confidence,
        vuln.advisory,
        vuln.remediation,
        vuln.reason,
        vuln.description,
        safe_url(vuln.url),
        "; ".join(vuln.cwes),
        "; ".join(vex_text(note) for note in vuln.vex),
        _certainty(vuln),
    )
    return [guard_cell(c) for c in cells]


def _service_cells(group: ServiceGroup) -> tuple[list[str], list[str]]:
    """(the cells before the location, the status cell), guarded."""
    service = group.service
    head = [service.name, service.product, service.version, service.extrainfo]
    return [guard_cell(c) for c in head], [guard_cell(group.status)]


def _location_cells(loc: Location) -> list[str]:
    return [guard_cell(c) for c in (loc.protocol, loc.port, loc.address, loc.hostname)]


def group_rows(group: ServiceGroup, locations: Iterator[Location]) -> Iterator[list[str]]:
    """Every row of one service group: per location, one row per open vulnerability (or one
    row with empty vulnerability columns when none applies), then one per CVE the distribution
    fixed (``confidence`` = ``fixed-by-distribution``), so filtering those out hides no host."""
    head, status = _service_cells(group)
    open_rows = [vulnerability_cells(v) for v in group.vulnerabilities]
    if not open_rows:
        none = [""] * (len(COLUMNS) - _CVE)
        none[_REASON - _CVE] = guard_cell("; ".join(group.notes))
        open_rows = [none]
    rows = open_rows + [vulnerability_cells(v) for v in group.fixed]
    for loc in locations:
        prefix = head + _location_cells(loc) + status
        for cells in rows:
            yield prefix + cells


def report_rows(report: Report) -> Iterator[list[str]]:
    """The header, then every service group's rows, most urgent group first."""
    yield list(COLUMNS)
    for group in report.services:
        yield from group_rows(group, report.locations(group))


class CsvRenderer(Renderer):
    """RFC 4180 CSV in UTF-8 with a byte order mark (so that Excel reads it as UTF-8)."""

    extension = "csv"

    def render(self, report: Report, path: Path) -> None:
        try:
            with path.open("w", encoding="utf-8-sig", errors="replace", newline="") as out:
                csv.writer(out).writerows(report_rows(report))
        except OSError as exc:
            raise ReportError(f"cannot write report {path}: {exc.strerror or exc}") from exc
