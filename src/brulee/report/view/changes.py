"""The "Changes since the previous scan" section: a headline, then compact tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from brulee.core.history import Changes, ScanRef, ServiceChange, TrackedFinding, TrackedPort
from brulee.report.view.text import age_text, date_text, plural_text, time_text, where_text


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A tracked finding as the change tables show it."""

    id: str
    severity: str
    kev: bool
    service: str
    where: str
    first_seen: str
    """The date it was first seen."""
    age: str
    """``12 days``: open so far, or (fixed) until the scan that found it gone; '' unknown."""


@dataclass(frozen=True, slots=True)
class PortRow:
    where: str
    service: str


@dataclass(frozen=True, slots=True)
class ChangeRow:
    where: str
    old: str
    new: str


def _days_between(start: str, end: str) -> int | None:
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        return (last - first).days
    except (TypeError, ValueError):  # unparsable, or one naive and one aware
        return None


def _finding_row(f: TrackedFinding, fixed_at: str = "") -> FindingRow:
    """``fixed_at``: when a fixed finding was found gone (its age is then counted up to it)."""
    age = f.age_days if not fixed_at else _days_between(f.first_seen, fixed_at)
    return FindingRow(
        id=f.id,
        severity=f.severity,
        kev=f.kev,
        service=f.service,
        where=where_text(f.address, f.hostname, f.port, f.protocol),
        first_seen=date_text(f.first_seen),
        age=age_text(age),
    )


def _port_row(p: TrackedPort) -> PortRow:
    return PortRow(where_text(p.address, p.hostname, p.port, p.protocol), p.service)


def _change_row(c: ServiceChange) -> ChangeRow:
    return ChangeRow(where_text(c.address, c.hostname, c.port, c.protocol), c.old, c.new)


def scan_ref_text(ref: ScanRef) -> str:
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    return f"scan {ref.id} of {time_text(ref.scanned_at)}"


@dataclass(frozen=True, slots=True)
class FindingTable:
    """One table of the changes section."""

    name: str
    """An id fragment: ``new``, ``reappeared``, ``fixed``."""
    title: str
    lead: str
    rows: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class ChangesView:
    """The "Changes since the previous scan" section: a headline, then compact tables."""

    changes: Changes
    previous: str
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    current: str
    headline: str
    """``2 new, 0 reappeared, 1 fixed, 5 still open; 1 new port, 1 closed; 1 changed version``."""
    findings: tuple[FindingTable, ...]
    """New, reappeared and fixed, each only when it has rows."""
    new_ports: tuple[PortRow, ...]
    closed_ports: tuple[PortRow, ...]
    changed: tuple[ChangeRow, ...]
    missing_hosts: tuple[str, ...]
    missing_text: str
    """Why the missing hosts' findings count as neither fixed nor open."""
    empty: bool
    alert: bool
    """New findings appeared: show the section open and highlighted."""


def changes_view(changes: Changes) -> ChangesView:
    """What every format shows about ``changes``."""
    c = changes
    headline = (
        f"{len(c.new_findings)} new, {len(c.reappeared_findings)} reappeared, "
        f"{len(c.fixed_findings)} fixed, {c.still_open} still open; "
        f"{plural_text(len(c.new_ports), 'new port', 'new ports')}, "
        f"{plural_text(len(c.closed_ports), 'closed port', 'closed ports')}; "
        + plural_text(len(c.changed_services), "changed version", "changed versions")
        + (f"; {plural_text(len(c.missing_hosts), 'host', 'hosts')} not found up"
           if c.missing_hosts else "")
    )  # fmt: skip
    tables = (
        FindingTable(
            "new", "New findings", "Never seen before at this site.",
            tuple(_finding_row(f) for f in c.new_findings),
        ),
        FindingTable(
            "reappeared", "Reappeared findings",
            "Absent from the previous scan but seen by an earlier one: a fix that did not last, "
            "a host back from being unreachable, or first found by another scope.",
            tuple(_finding_row(f) for f in c.reappeared_findings),
        ),
        FindingTable(
            "fixed", "Fixed findings",
            "In the previous scan, gone from this one on a host it found up.",
            tuple(_finding_row(f, c.current.scanned_at) for f in c.fixed_findings),
        ),
    )  # fmt: skip
    return ChangesView(
        changes=c,
        previous=scan_ref_text(c.previous),
        current=scan_ref_text(c.current),
        headline=headline,
        findings=tuple(t for t in tables if t.rows),
        new_ports=tuple(_port_row(p) for p in c.new_ports),
        closed_ports=tuple(_port_row(p) for p in c.closed_ports),
        changed=tuple(_change_row(x) for x in c.changed_services),
        missing_hosts=c.missing_hosts,
        missing_text=(
            "Up in the previous scan, not found up by this one: their ports and findings are "
            "unknown, not closed or fixed."
        ),
        empty=c.empty,
        alert=bool(c.new_findings or c.reappeared_findings),
    )
