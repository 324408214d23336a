"""The "Changes since the previous scan" section: what to know first, a headline, then tables
grouped like the rest of the report (per service and CVE, per service for ports), each group
with its first locations and the rest counted. Its size follows what changed in kind, not in
number: a fleet's thousands of new hosts are a few rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brulee.core.history import (
    ChangedLocation,
    Changes,
    FindingChange,
    FindingGroup,
    HostGroup,
    PortChange,
    PortGroup,
    ScanRef,
)
from brulee.core.vulnerability import ESTABLISHED
from brulee.report.view.text import age_text, date_text, time_text, where_text
from brulee.util.text import plural_text


def _days_between(start: str, end: str) -> int | None:
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        return max(0, (last - first).days)
    except (TypeError, ValueError):  # unparsable, or one naive and one aware
        return None


def _more(count: int, listed: int) -> str:
    return f"and {count - listed:,} more" if count > listed else ""


def _changed(changes: Changes, change: FindingChange) -> str:
    """``12 new``, or ``12 new (3 possible)`` when some rest on no established finding."""
    text = f"{changes.count(change):,} {change}"
    if possible := changes.possible_count(change):
        text += f" ({possible:,} possible)"
    return text


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One vulnerability of one service that changed at ``count`` locations."""

    id: str
    severity: str
    kev: bool
    possible: str
    """The confidence of a finding no headline rests on (``version-range``), shown beside its
    id; '' for an established one."""
    service: str
    count: str
    """``8,000``."""
    where: tuple[str, ...]
    """The first locations: ``10.0.0.5 (web1) 80/tcp``, with for a reappeared or fixed finding
    how long it had been known there: ``(first seen 2024-04-01, 30 days)``."""
    more: str
    """``and 7,995 more``, or ''."""


@dataclass(frozen=True, slots=True)
class FindingTable:
    """One table of the changes section."""

    name: FindingChange
    title: str
    lead: str
    count: int
    rows: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class PortRow:
    service: str
    """The service, or ``before -> now`` for a changed version."""
    count: str
    where: tuple[str, ...]
    more: str


@dataclass(frozen=True, slots=True)
class PortTable:
    name: PortChange
    title: str
    count: int
    rows: tuple[PortRow, ...]


@dataclass(frozen=True, slots=True)
class HostList:
    name: str
    """``missing`` or ``timed-out``: an id fragment."""
    title: str
    text: str
    addresses: tuple[str, ...]
    more: str


def scan_ref_text(ref: ScanRef) -> str:
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    return f"{ref.name} of {time_text(ref.scanned_at)}"


_FINDING_TABLES: tuple[tuple[FindingChange, str, str], ...] = (
    ("new", "New findings", "Never seen before at this site."),
    ("reappeared", "Reappeared findings",
     "Absent from the previous scan but seen by an earlier one: a fix that did not last, a host "
     "back from being unreachable, or first found by another scope."),
    ("fixed", "Fixed findings",
     "In the previous scan, gone from this one where it looked (the port scanned again on a "
     "host it completed)."),
)  # fmt: skip
_PORT_TABLES: tuple[tuple[PortChange, str], ...] = (
    ("new", "New ports"), ("closed", "Closed ports"), ("changed", "Changed service versions"),
)  # fmt: skip
_HOST_TEXT = {
    "missing": ("Not found up again",
                "Up in the previous scan, not found up by this one: their ports and findings are "
                "unknown, not closed or fixed."),
    "timed_out": ("Given up on",
                  "Up in both scans, but this one gave up on them (--host-timeout) or scanned no "
                  "ports there: their findings are unknown, not fixed."),
}  # fmt: skip


def _where(loc: ChangedLocation, change: FindingChange | None = None, as_of: str = "") -> str:
    text = where_text(loc.address, loc.hostname, loc.port, loc.protocol)
    if change in ("reappeared", "fixed") and loc.first_seen:
        days = _days_between(loc.first_seen, as_of)
        text += f" (first seen {date_text(loc.first_seen)}, {age_text(days)})"
    return text


def _finding_row(g: FindingGroup, current: ScanRef) -> FindingRow:
    return FindingRow(
        id=g.id,
        severity=g.severity,
        kev=g.kev,
        possible="" if g.confidence in ESTABLISHED else g.confidence,
        service=g.service,
        count=f"{g.count:,}",
        where=tuple(_where(loc, g.change, current.scanned_at) for loc in g.locations),
        more=_more(g.count, len(g.locations)),
    )


def _port_row(p: PortGroup) -> PortRow:
    return PortRow(
        service=f"{p.previous} -> {p.service}" if p.change == "changed" else p.service,
        count=f"{p.count:,}",
        where=tuple(_where(loc) for loc in p.locations),
        more=_more(p.count, len(p.locations)),
    )


def _host_list(h: HostGroup) -> HostList:
    title, text = _HOST_TEXT[h.change]
    name = "missing" if h.change == "missing" else "timed-out"
    return HostList(name, f"{title}: {plural_text(h.count, 'host', 'hosts')}", text, h.addresses,
                    _more(h.count, len(h.addresses)))  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChangesView:
    """The "Changes since the previous scan" section."""

    changes: Changes
    previous: str
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    current: str
    notes: tuple[str, ...]
    """What to know first (a baseline that failed, scans skipped, OLD newer than NEW)."""
    headline: str
    """``2 new, 0 reappeared, 1 fixed, 5 still open; 1 new port, 1 closed port; 1 changed
    version``."""
    findings: tuple[FindingTable, ...]
    """New, reappeared and fixed, each only when it has rows."""
    ports: tuple[PortTable, ...]
    hosts: tuple[HostList, ...]
    empty: bool
    alert: bool
    """Established findings appeared (new or reappeared): show the section open and
    highlighted. Possible ones alone do not raise it, as they raise no other headline."""


def changes_view(changes: Changes) -> ChangesView:
    """What every format shows about ``changes``."""
    c = changes
    headline = (
        f"{_changed(c, 'new')}, {_changed(c, 'reappeared')}, {_changed(c, 'fixed')}, "
        f"{c.still_open:,} still open; "
        f"{plural_text(c.port_count('new'), 'new port', 'new ports')}, "
        f"{plural_text(c.port_count('closed'), 'closed port', 'closed ports')}; "
        + plural_text(c.port_count("changed"), "changed version", "changed versions")
    )
    if missing := c.host_count("missing") + c.host_count("timed_out"):
        headline += f"; {plural_text(missing, 'host', 'hosts')} not looked at again"
    if c.unknown:
        headline += f"; {plural_text(c.unknown, 'finding', 'findings')} unknown"
    findings = tuple(
        FindingTable(name, title, lead, c.count(name),
                     tuple(_finding_row(g, c.current) for g in c.groups(name)))
        for name, title, lead in _FINDING_TABLES
        if c.groups(name)
    )  # fmt: skip
    ports = tuple(
        PortTable(name, title, c.port_count(name),
                  tuple(_port_row(p) for p in c.ports if p.change == name))
        for name, title in _PORT_TABLES
        if c.port_count(name)
    )  # fmt: skip
    return ChangesView(
        changes=c,
        previous=scan_ref_text(c.previous),
        current=scan_ref_text(c.current),
        notes=c.notes,
        headline=headline,
        findings=findings,
        ports=ports,
        hosts=tuple(_host_list(h) for h in c.hosts),
        empty=c.empty,
        alert=any(c.count(n) > c.possible_count(n) for n in ("new", "reappeared")),
    )
