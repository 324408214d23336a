"""The appendix of suppressed findings, and the line near the top that points to it."""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.suppression import Applied, Suppressed, Suppression
from brulee.report.view.services import VulnView, vuln_view
from brulee.report.view.text import where_text
from brulee.util.text import count_text, plural_text


@dataclass(frozen=True, slots=True)
class EntryView:
    """A suppression entry in words."""

    cve: str
    reason: str
    author: str
    expires: str
    """``2026-06-30``, or ``never``."""
    scope: str
    """``product OpenSSH, host 10.0.0.5, port 22/tcp``, or ``everywhere``."""
    origin: str
    """``suppressions.yaml:12``."""


def entry_view(entry: Suppression) -> EntryView:
    return EntryView(
        cve=entry.cve,
        reason=entry.reason,
        author=entry.author,
        expires=entry.expires.isoformat() if entry.expires else "never",
        scope=", ".join(entry.scope) or "everywhere",
        origin=entry.origin,
    )


@dataclass(frozen=True, slots=True)
class SuppressedItem:
    """One suppressed vulnerability of one service."""

    vuln: VulnView
    complete: bool
    extent: str
    """``all 3 locations``, or ``2 of 5 locations``: what the entries cover."""
    entries: tuple[EntryView, ...]
    locations: tuple[tuple[str, str], ...]
    """Partial only: (location, the entry's origin) where it is suppressed."""


@dataclass(frozen=True, slots=True)
class SuppressedService:
    label: str
    protocol: str
    items: tuple[SuppressedItem, ...]


def _suppressed_item(s: Suppressed, locations: int) -> SuppressedItem:
    if s.complete:
        extent = f"all {count_text(locations, 'location')}" if locations != 1 else "its location"
    else:
        extent = f"{len(s.locations)} of {count_text(s.location_count or locations, 'location')}"
    return SuppressedItem(
        vuln=vuln_view(s.vulnerability),
        complete=s.complete,
        extent=extent,
        entries=tuple(entry_view(e) for e in s.entries),
        locations=tuple(
            (
                where_text(
                    a.location.address, a.location.hostname, a.location.port, a.location.protocol
                ),
                a.entry.origin or a.entry.cve,
            )
            for a in s.locations
        ),
    )


@dataclass(frozen=True, slots=True)
class SuppressionsView:
    """The appendix of suppressed findings, and the line near the top that points to it."""

    services: tuple[SuppressedService, ...]
    expired: tuple[EntryView, ...]
    stale: tuple[EntryView, ...]
    complete: int
    """Findings (vulnerabilities of a service) removed from the main sections."""
    partial: int
    """Findings suppressed at some of their locations only (still in the main sections)."""
    headline: str
    """``3 findings suppressed (see appendix); 1 partially; 1 suppression expired``."""


def suppressions_view(applied: Applied) -> SuppressionsView:
    services = tuple(
        SuppressedService(
            label=s.group.service.label,
            protocol=s.group.protocol,
            items=tuple(_suppressed_item(x, s.group.location_count) for x in s.suppressed),
        )
        for s in applied.suppressed
        if s.suppressed
    )
    complete = applied.count
    partial = sum(len(s.partial) for s in applied.suppressed)
    words = [
        f"{plural_text(complete, 'finding', 'findings')} suppressed"
        + (f", {partial} more at some locations only" if partial else "")
        + " (see appendix)"
    ]
    if applied.expired:
        words.append(f"{plural_text(len(applied.expired), 'suppression', 'suppressions')} EXPIRED")
    if applied.stale:
        words.append(f"{len(applied.stale)} matched nothing")
    return SuppressionsView(
        services=services,
        expired=tuple(entry_view(e) for e in applied.expired),
        stale=tuple(entry_view(e) for e in applied.stale),
        complete=complete,
        partial=partial,
        headline="; ".join(words),
    )
