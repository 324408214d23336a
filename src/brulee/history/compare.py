"""Comparing two recorded scans in the history store's SQL, grouped as people read the changes.

Every port of either scan is paired with the same port in the other (per-connection tables,
``migrations.STAGING``); the pairs fall into a few classes (the service there now, the one
before), whose findings are compared once per class here, in Python. A change is a group: a
vulnerability of a service (new, reappeared or fixed at so many ports), or ports of a service
(new, closed, changed version). Each group is counted in SQL and only its first locations are
read; :class:`StoreDetail` streams every location of a group on demand, in address order.

Absence is read with care: a port or finding of the old scan is closed or fixed only where the
new one looked (its host completed, the port among those it scanned there). Elsewhere it is
``unknown``, and the hosts it could not see are listed apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

from brulee.core.history import (
    LISTED,
    ChangedLocation,
    Changes,
    FindingChange,
    FindingGroup,
    HostGroup,
    PortChange,
    PortGroup,
    ScanRef,
)
from brulee.core.vulnerability import SEVERITY_RANK
from brulee.history import queries
from brulee.history.interface import Backend, Row

Errors = Callable[[], AbstractContextManager[None]]
"""What turns a backend's errors into HistoryError."""
_CHANGES: tuple[FindingChange, ...] = ("new", "reappeared", "fixed")
_PORT_CHANGES: tuple[PortChange, ...] = ("new", "closed", "changed")


class _Fact(NamedTuple):
    """A vulnerability as a scan recorded it for one of its services."""

    severity: Any
    cvss: float | None
    kev: bool
    confidence: Any


Part = tuple[int, int, int]
"""One class of ports in a group: (service now, service before, ports)."""


@dataclass(slots=True)
class _Group:
    parts: list[Part]
    cve: str = ""


def _facts(rows: Sequence[Row]) -> dict[int, dict[str, _Fact]]:
    found: dict[int, dict[str, _Fact]] = {}
    for n, cve, severity, cvss, kev, confidence in rows:
        found.setdefault(n, {})[cve] = _Fact(severity, cvss, bool(kev), confidence)
    return found


def _urgency(group: FindingGroup) -> tuple[bool, int, float, str, str]:
    return (not group.kev, SEVERITY_RANK[group.severity], -(group.cvss or 0.0), group.id,
            group.service)  # fmt: skip


class StoreDetail:
    """Every location of the groups of one comparison, read from the store (while it is open).
    The groups' numbers (``key``) are this comparison's."""

    def __init__(self, db: Backend, errors: Errors, params: dict[str, object]) -> None:
        self._db = db
        self._errors = errors
        self._params = params
        self.groups: dict[int, _Group] = {}
        self.shared: dict[int, int] = {}
        """Groups (by key) that list the same locations: the same number for each."""

    def _rows(self, key: int, queries_: tuple[str, str], limit: int | None) -> Iterator[Row]:
        """The rows of group ``key``: of its one class (index order), or of all (sorted)."""
        group = self.groups[key]
        single, whole = queries_
        if len(group.parts) == 1:
            (n, m, _), query = group.parts[0], single
            params = {**self._params, "n": n, "m": m, "cve": group.cve}
        else:
            query, params = whole, {**self._params, "g": key}
        with self._errors():
            if limit is not None:
                yield from self._db.execute(query + " LIMIT :limit", {**params, "limit": limit})
            else:
                yield from self._db.stream(query, params)

    def findings_of(
        self, change: FindingChange, key: int, limit: int | None = None
    ) -> Iterator[ChangedLocation]:
        chosen = {
            "new": (queries.NEW_IN_PART, queries.NEW_IN_GROUP),
            "reappeared": (queries.REAPPEARED_IN_PART, queries.REAPPEARED_IN_GROUP),
            "fixed": (queries.FIXED_IN_PART, queries.FIXED_IN_GROUP),
        }[change]
        return itertools.starmap(ChangedLocation, self._rows(key, chosen, limit))

    def ports_of(self, key: int, limit: int | None = None) -> Iterator[ChangedLocation]:
        chosen = (queries.PORTS_IN_PART, queries.PORTS_IN_GROUP)
        return itertools.starmap(ChangedLocation, self._rows(key, chosen, limit))

    def hosts_of(self, missing: bool, limit: int | None = None) -> Iterator[str]:
        query = queries.MISSING_HOSTS if missing else queries.GIVEN_UP_HOSTS
        with self._errors():
            rows: Iterable[Row] = (
                self._db.stream(query, self._params)
                if limit is None
                else self._db.execute(query + " LIMIT :limit", {**self._params, "limit": limit})
            )
            for (address,) in rows:
                yield address

    def finding_locations(self, group: FindingGroup) -> Iterator[ChangedLocation]:
        return self.findings_of(group.change, group.key)

    def port_locations(self, group: PortGroup) -> Iterator[ChangedLocation]:
        return self.ports_of(group.key)

    def host_addresses(self, group: HostGroup) -> Iterator[str]:
        return self.hosts_of(group.change == "missing")


class _Builder:
    """Groups the classes of one comparison into changes, numbering the groups in the store."""

    def __init__(self, db: Backend, detail: StoreDetail, k: int) -> None:
        self.db, self.detail, self.k = db, detail, k

    def add(self, parts: list[Part], cve: str = "") -> int:
        key = len(self.detail.groups)
        self.detail.groups[key] = _Group(parts, cve)
        self.db.executemany(queries.INSERT_GROUP, [(self.k, key, n, m, cve) for n, m, _ in parts])
        return key


def compare(
    db: Backend, errors: Errors, k: int, old: ScanRef, new: ScanRef, *, notes: Sequence[str] = ()
) -> Changes:
    """The changes from ``old`` to ``new`` (comparison number ``k`` of this connection)."""
    params: dict[str, object] = {
        "k": k, "scan": new.id, "other": old.id, "site": new.site, "now": new.scanned_at,
    }  # fmt: skip
    db.execute(queries.PAIRS_NOW, params)
    db.execute(queries.PAIRS_BEFORE, params)
    classes = db.execute(queries.CLASSES, {"k": k})
    now: dict[int, str] = dict(db.execute(queries.SERVICES, (new.id,)))
    before: dict[int, str] = dict(db.execute(queries.SERVICES, (old.id,)))
    found_now, found_before = (_facts(db.execute(queries.FINDINGS, (s.id,))) for s in (new, old))
    detail = StoreDetail(db, errors, params)
    build = _Builder(db, detail, k)

    appeared: dict[tuple[str, str], list[Part]] = {}
    gone: dict[tuple[str, str], list[Part]] = {}
    ports: dict[tuple[PortChange, str, str], list[Part]] = {}
    still_open = unknown = 0
    fresh: set[tuple[int, int]] = set()  # classes of ports all first seen by the new scan
    for n, m, count, looked, first_seen_now in classes:
        if n >= 0 and first_seen_now == count:
            fresh.add((n, m))
        mine, theirs = found_now.get(n, {}), found_before.get(m, {})
        seen = int(looked or 0)  # an absence counts only where the new scan looked
        if n >= 0 and m >= 0:
            still_open += count * len(mine.keys() & theirs.keys())
        gone_here = theirs.keys() - mine.keys()
        unknown += (count - seen) * len(gone_here)
        for cve in mine.keys() - theirs.keys():
            appeared.setdefault((now[n], cve), []).append((n, m, count))
        for cve in gone_here:
            if seen:
                gone.setdefault((before[m], cve), []).append((n, m, seen))
        if m < 0:
            ports.setdefault(("new", now[n], ""), []).append((n, m, count))
        elif n < 0 and seen:
            ports.setdefault(("closed", before[m], ""), []).append((n, m, seen))
        elif n >= 0 and seen and now[n] != before[m]:
            ports.setdefault(("changed", now[n], before[m]), []).append((n, m, seen))

    facts = {**{(before[m], c): f for m, fs in found_before.items() for c, f in fs.items()},
             **{(now[n], c): f for n, fs in found_now.items() for c, f in fs.items()}}  # fmt: skip

    # Appeared findings at ports some earlier scan saw are counted new or reappeared in SQL;
    # at ports all first seen now they are all new, listed alike for every vulnerability.
    def all_fresh(item: tuple[tuple[str, str], list[Part]]) -> bool:
        return all((n, m) in fresh for n, m, _ in item[1])

    mixed = sorted(item for item in appeared.items() if not all_fresh(item))
    first = len(detail.groups)
    keys = {name: build.add(parts, name[1]) for name, parts in mixed}
    counted = {g: (new_count, total) for g, new_count, total in db.execute(
        queries.APPEARED_COUNTS, {**params, "first": first, "end": len(detail.groups)}
    )}  # fmt: skip
    shares: dict[tuple[Part, ...], int] = {}
    for name, parts in sorted(item for item in appeared.items() if all_fresh(item)):
        number = keys[name] = build.add(parts, name[1])
        total = sum(p[2] for p in parts)
        counted[number] = (total, total)
        detail.shared[number] = shares.setdefault(tuple(sorted(parts)), len(shares))
    groups: list[FindingGroup] = []
    listed: dict[int, tuple[ChangedLocation, ...]] = {}

    def group(change: FindingChange, label: str, cve: str, count: int, key: int) -> None:
        share = detail.shared.get(key)
        where = listed.get(share) if share is not None else None
        if where is None:
            where = tuple(detail.findings_of(change, key, LISTED))
            if share is not None:
                listed[share] = where
        fact = facts[label, cve]
        groups.append(FindingGroup(change, cve, fact.severity, fact.cvss, fact.kev,
                                   fact.confidence, label, count, where, key, share))  # fmt: skip

    for (label, cve), number in sorted(keys.items()):
        new_count, total = counted.get(number, (0, 0))
        if new_count:
            group("new", label, cve, new_count, number)
        if total - new_count:
            group("reappeared", label, cve, total - new_count, number)
    for (label, cve), parts in sorted(gone.items()):
        group("fixed", label, cve, sum(p[2] for p in parts), build.add(parts, cve))
    groups.sort(key=lambda g: (_CHANGES.index(g.change), *_urgency(g)))

    port_groups = []
    for (change, label, previous), parts in sorted(
        ports.items(), key=lambda item: (_PORT_CHANGES.index(item[0][0]), *item[0][1:])
    ):
        number = build.add(parts)
        where = tuple(detail.ports_of(number, LISTED))
        port_groups.append(
            PortGroup(change, label, previous, sum(p[2] for p in parts), where, number)
        )

    ((missing, given_up),) = db.execute(queries.HOSTS_COUNT, params)
    hosts = []
    if missing:
        hosts.append(HostGroup("missing", missing, tuple(detail.hosts_of(True, LISTED))))
    if given_up:
        hosts.append(HostGroup("timed_out", given_up, tuple(detail.hosts_of(False, LISTED))))
    return Changes(
        previous=old,
        current=new,
        notes=tuple(notes),
        findings=tuple(groups),
        still_open=still_open,
        unknown=unknown,
        ports=tuple(port_groups),
        hosts=tuple(hosts),
        detail=detail,
    )
