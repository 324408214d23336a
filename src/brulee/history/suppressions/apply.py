"""Applying suppressions to a report's services: which vulnerabilities leave the main sections
(suppressed at every location), which stay with the locations where they are suppressed; and
the OpenVEX statements that keep a finding (``affected``, ``under_investigation``), noted on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from brulee.core.cpe import VendorProduct
from brulee.core.findings import Location, ServiceGroup, group_order
from brulee.core.suppression import (
    Applied,
    ServiceSuppressions,
    Suppressed,
    SuppressedAt,
    Suppression,
    ip_address_of,
)
from brulee.core.vulnerability import VexNote, VexStatus, findings_status
from brulee.match.nvd import service_products

LocationsOf = Callable[[ServiceGroup], Iterable[Location]]
_NOTED: frozenset[VexStatus] = frozenset({"affected", "under_investigation"})


@dataclass(frozen=True, slots=True)
class Suppressions:
    """A set of entries, in file order."""

    entries: tuple[Suppression, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[Suppression]) -> Suppressions:
        return cls(tuple(entries))

    def __len__(self) -> int:
        return len(self.entries)

    def __add__(self, other: Suppressions) -> Suppressions:
        return Suppressions(self.entries + other.entries)

    def apply(
        self, groups: Iterable[ServiceGroup], locations_of: LocationsOf, now: datetime | date
    ) -> Applied:
        """Suppress what the entries cover. ``now`` decides expiry (a naive datetime is taken as
        UTC). Locations are streamed, twice at most and only for services that a scoped entry
        could cover; memory holds the partially suppressed locations only."""
        today = _utc_date(now)
        active = [e for e in self.entries if not e.expired(today)]
        noting = [e for e in active if e.vex is not None and e.vex.status in _NOTED]
        by_cve = _by_cve(e for e in active if not (e.vex and e.vex.status in _NOTED))
        notes_by_cve = _by_cve(noting)
        used: set[int] = set()
        kept: list[ServiceGroup] = []
        suppressed: list[ServiceSuppressions] = []
        for found in groups:
            group, result = found, _apply_group(found, by_cve, locations_of, used)
            if result is not None:
                suppressed.append(result)
                gone = {s.vulnerability.id for s in result.suppressed if s.complete}
                remaining = tuple(v for v in found.vulnerabilities if v.id not in gone)
                if remaining:
                    status = findings_status(remaining)
                else:
                    status = "clean" if found.vulnerabilities else found.status
                group = replace(found, vulnerabilities=remaining, status=status)
            kept.append(_noted(group, notes_by_cve, locations_of) if notes_by_cve else group)
        order = {g.key: i for i, g in enumerate(sorted(kept, key=group_order))}
        suppressed.sort(key=lambda s: order[s.group.key])
        return Applied(
            groups=tuple(sorted(kept, key=group_order)),
            suppressed=tuple(suppressed),
            expired=tuple(e for e in self.entries if e.expired(today)),
            # A VEX document speaks of many products: a statement this scan does not concern
            # is not stale.
            stale=tuple(e for e in active if id(e) not in used and e.vex is None),
        )


def _by_cve(entries: Iterable[Suppression]) -> dict[str, list[Suppression]]:
    by_cve: dict[str, list[Suppression]] = {}
    for entry in entries:
        by_cve.setdefault(entry.cve, []).append(entry)
    return by_cve


def _noted(
    group: ServiceGroup, by_cve: Mapping[str, list[Suppression]], locations_of: LocationsOf
) -> ServiceGroup:
    """The group with each VEX statement that covers a vulnerability (somewhere) noted on it."""
    result = _apply_group(group, by_cve, locations_of, set())
    if result is None:
        return group
    notes = {
        s.vulnerability.id: [
            VexNote(e.vex.status, e.vex.statement, e.author, e.origin, e.scope)
            for e in s.entries
            if e.vex  # every entry here is a VEX statement
        ]
        for s in result.suppressed
    }
    vulns = tuple(
        replace(v, vex=v.vex + tuple(n for n in notes[v.id] if n not in v.vex))
        if v.id in notes
        else v
        for v in group.vulnerabilities
    )
    return replace(group, vulnerabilities=vulns)


def _utc_date(now: datetime | date) -> date:
    if isinstance(now, datetime):
        return (now.astimezone(UTC) if now.tzinfo else now).date()
    return now


def _apply_group(
    group: ServiceGroup,
    by_cve: Mapping[str, list[Suppression]],
    locations_of: LocationsOf,
    used: set[int],
) -> ServiceSuppressions | None:
    # Per vulnerability: the entries whose CVE, product, version and software match this service.
    names: frozenset[VendorProduct] = frozenset()
    if any(e.software for vuln in group.vulnerabilities for e in by_cve.get(vuln.id.upper(), ())):
        names = service_products(group.service)
    candidates: dict[str, tuple[Suppression, ...]] = {}
    for vuln in group.vulnerabilities:
        found = tuple(e for e in by_cve.get(vuln.id.upper(), ()) if e.matches_service(group, names))
        if found:
            candidates[vuln.id] = found
    if not candidates:
        return None
    # Scoped entries by identity (two equal entries in a file are two entries).
    scoped = list({id(e): e for found in candidates.values() for e in found if e.scoped}.values())
    matched: dict[int, int] = {}  # id(entry) -> locations matched
    covered: dict[tuple[int, ...], int] = {}  # scoped candidate set -> locations any of it covers
    position = {id(e): i for i, e in enumerate(scoped)}
    sets = {
        vid: tuple(sorted(position[id(e)] for e in found))
        for vid, found in candidates.items()
        if all(e.scoped for e in found)
    }
    total = 0
    index = _ByLocation(scoped)
    if scoped:
        wanted = {s: frozenset(s) for s in set(sets.values())}
        for location in locations_of(group):
            total += 1
            hits = index.hits(location)
            for i in hits:
                matched[id(scoped[i])] = matched.get(id(scoped[i]), 0) + 1
            for wanted_set, members in wanted.items():
                if not hits.isdisjoint(members):
                    covered[wanted_set] = covered.get(wanted_set, 0) + 1
    partial_sets = {s for s in set(sets.values()) if 0 < covered.get(s, 0) < total}
    listed = _list_partial(group, index, partial_sets, locations_of) if partial_sets else {}
    results: list[Suppressed] = []
    for vuln in group.vulnerabilities:
        found = candidates.get(vuln.id, ())
        entries = tuple(e for e in found if not e.scoped or matched.get(id(e)))
        if not entries:
            continue
        used.update(id(e) for e in entries)
        indexes = sets.get(vuln.id)
        # None: an entry without a location scope covers it everywhere.
        if indexes is None or covered.get(indexes, 0) == total:
            results.append(Suppressed(vuln, entries, complete=True, location_count=total))
        else:
            results.append(
                Suppressed(vuln, entries, False, listed.get(indexes, ()), location_count=total)
            )
    return ServiceSuppressions(group, tuple(results)) if results else None


def _list_partial(
    group: ServiceGroup,
    index: _ByLocation,
    sets: set[tuple[int, ...]],
    locations_of: LocationsOf,
) -> dict[tuple[int, ...], tuple[SuppressedAt, ...]]:
    """Second pass, for partially suppressed vulnerabilities only: where, and by which entry."""
    rows: dict[tuple[int, ...], list[SuppressedAt]] = {s: [] for s in sets}
    members = {s: frozenset(s) for s in sets}
    for location in locations_of(group):
        hits = sorted(index.hits(location))  # the first entry in file order is credited
        if not hits:
            continue
        for indexes, found in rows.items():
            first = next((i for i in hits if i in members[indexes]), None)
            if first is not None:
                found.append(SuppressedAt(location, index.entries[first]))
    return {s: tuple(found) for s, found in rows.items()}


class _ByLocation:
    """Scoped entries indexed by what narrows them (host; network, by prefix length; else
    port), so that each location is matched against the few entries that may cover it, never
    against every entry: 5,001 entries against 5,000 hosts were 25 million matches."""

    def __init__(self, entries: Sequence[Suppression]) -> None:
        self.entries = entries
        self._hosts: dict[str, list[int]] = {}
        self._networks: dict[tuple[int, int], dict[int, list[int]]] = {}
        """(IP version, prefix length) -> network address >> host bits -> entries."""
        self._others: list[int] = []
        for i, entry in enumerate(entries):
            if entry.host is not None:
                self._hosts.setdefault(entry.host, []).append(i)
            elif entry.cidr is not None:
                net = entry.cidr
                by_prefix = self._networks.setdefault((net.version, net.prefixlen), {})
                key = int(net.network_address) >> (net.max_prefixlen - net.prefixlen)
                by_prefix.setdefault(key, []).append(i)
            else:
                self._others.append(i)

    def hits(self, location: Location) -> set[int]:
        """The entries (by index) that cover ``location``."""
        candidates = set(self._others)
        if location.hostname:
            candidates.update(self._hosts.get(location.hostname.rstrip(".").lower(), ()))
        address = ip_address_of(location.address)
        if address is not None:
            candidates.update(self._hosts.get(str(address), ()))
            number, bits = int(address), address.max_prefixlen
            for (version, prefix), networks in self._networks.items():
                if version == address.version:
                    candidates.update(networks.get(number >> (bits - prefix), ()))
        return {i for i in candidates if self.entries[i].matches_location(location)}
