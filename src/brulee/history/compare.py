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

from brulee.core.history import (
    LISTED,
    ChangedLocation,
    Changes,
    FindingChange,
    FindingGroup,
    HostChange,
    HostGroup,
    PortChange,
    PortGroup,
    ScanRef,
)
from brulee.core.vulnerability import ESTABLISHED, SEVERITY_RANK, Confidence, Severity
from brulee.history import queries
from brulee.history.interface import Backend, Row

Errors = Callable[[], AbstractContextManager[None]]
"""What turns a backend's errors into HistoryError."""
_CHANGES: tuple[FindingChange, ...] = ("new", "reappeared", "fixed")
_PORT_CHANGES: tuple[PortChange, ...] = ("new", "closed", "changed")
_MISSING: HostChange = "missing"
_GIVEN_UP: HostChange = "timed_out"
Labels = dict[int, str]
"""A scan's services by number: their labels."""
Facts = dict[int, dict[str, "_Fact"]]
"""A scan's services by number: their vulnerabilities."""


@dataclass(frozen=True, slots=True)
class _Fact:
    """A vulnerability as a scan recorded it for one of its services."""

    severity: Severity
    cvss: float | None
    kev: bool
    confidence: Confidence


Part = tuple[int, int, int]
"""One class of ports in a group: (service now, service before, ports)."""


@dataclass(frozen=True, slots=True)
class _Group:
    parts: tuple[Part, ...]
    cve: str = ""


def _facts(rows: Sequence[Row]) -> dict[int, dict[str, _Fact]]:
    found: dict[int, dict[str, _Fact]] = {}
    for n, cve, severity, cvss, kev, confidence in rows:
        found.setdefault(n, {})[cve] = _Fact(severity, cvss, bool(kev), confidence)
    return found


def _urgency(group: FindingGroup) -> tuple[int, bool, bool, int, float, str, str]:
    """Within each change: established findings before possible ones, then KEV, severity."""
    possible = group.confidence not in ESTABLISHED
    return (_CHANGES.index(group.change), possible, not group.kev, SEVERITY_RANK[group.severity],
            -(group.cvss or 0.0), group.id, group.service)  # fmt: skip


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
    """Sorts the classes of ports of one comparison into changes, and numbers the groups of
    changes in the store."""

    def __init__(self, db: Backend, detail: StoreDetail, k: int) -> None:
        self.db, self.detail, self.k = db, detail, k
        self.appeared: dict[tuple[str, str], list[Part]] = {}
        """(label now, CVE): the classes where it is absent from the old scan."""
        self.gone: dict[tuple[str, str], list[Part]] = {}
        """(label before, CVE): the classes where it is absent from the new scan, looked at."""
        self.ports: dict[tuple[PortChange, str, str], list[Part]] = {}
        self.fresh: set[tuple[int, int]] = set()
        """Classes of ports all first seen by the new scan."""
        self.still_open = self.unknown = 0

    def add(self, parts: Iterable[Part], cve: str = "") -> int:
        key = len(self.detail.groups)
        self.detail.groups[key] = group = _Group(tuple(parts), cve)
        rows = [(self.k, key, n, m, cve) for n, m, _ in group.parts]
        self.db.executemany(queries.INSERT_GROUP, rows)
        return key

    def sort(self, row: Row, now: Labels, before: Labels, found: tuple[Facts, Facts]) -> None:
        """Sort one class of ports (n, m, ports, looked at, first seen now) into changes."""
        n, m, count, looked, first_seen_now = row
        mine, theirs = found[0].get(n, {}), found[1].get(m, {})
        seen = int(looked or 0)  # an absence counts only where the new scan looked
        if n >= 0 and first_seen_now == count:
            self.fresh.add((n, m))
        if n >= 0 and m >= 0:
            self.still_open += count * len(mine.keys() & theirs.keys())
        gone = theirs.keys() - mine.keys()
        self.unknown += (count - seen) * len(gone)
        for cve in mine.keys() - theirs.keys():
            self.appeared.setdefault((now[n], cve), []).append((n, m, count))
        for cve in gone if seen else ():
            self.gone.setdefault((before[m], cve), []).append((n, m, seen))
        if m < 0:
            self.ports.setdefault(("new", now[n], ""), []).append((n, m, count))
        elif n < 0 and seen:
            self.ports.setdefault(("closed", before[m], ""), []).append((n, m, seen))
        elif n >= 0 and seen and now[n] != before[m]:
            self.ports.setdefault(("changed", now[n], before[m]), []).append((n, m, seen))

    def findings(
        self, params: dict[str, object], facts: dict[tuple[str, str], _Fact]
    ) -> list[FindingGroup]:
        """The groups of findings, most urgent first, each with its first locations. Findings
        that appeared at ports some earlier scan saw are counted new or reappeared in SQL; at
        ports all first seen now they are all new, and listed alike for every vulnerability."""
        detail = self.detail

        def all_fresh(item: tuple[tuple[str, str], list[Part]]) -> bool:
            return all((n, m) in self.fresh for n, m, _ in item[1])

        first = len(detail.groups)
        mixed = [item for item in sorted(self.appeared.items()) if not all_fresh(item)]
        keys = {name: self.add(parts, name[1]) for name, parts in mixed}
        counted = {g: (new, total) for g, new, total in self.db.execute(
            queries.APPEARED_COUNTS, {**params, "first": first, "end": len(detail.groups)}
        )}  # fmt: skip
        shares: dict[tuple[Part, ...], int] = {}
        for name, parts in sorted(item for item in self.appeared.items() if all_fresh(item)):
            number = keys[name] = self.add(parts, name[1])
            counted[number] = (sum(p[2] for p in parts),) * 2
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
            f = facts[label, cve]
            groups.append(FindingGroup(change, cve, f.severity, f.cvss, f.kev, f.confidence,
                                       label, count, where, key, share))  # fmt: skip

        for (label, cve), number in sorted(keys.items()):
            new, total = counted.get(number, (0, 0))
            if new:
                group("new", label, cve, new, number)
            if total - new:
                group("reappeared", label, cve, total - new, number)
        for (label, cve), parts in sorted(self.gone.items()):
            group("fixed", label, cve, sum(p[2] for p in parts), self.add(parts, cve))
        return sorted(groups, key=_urgency)

    def port_groups(self) -> list[PortGroup]:
        """New ports, closed ones, changed versions; each per service, its first listed."""
        found = []
        for (change, label, previous), parts in sorted(
            self.ports.items(), key=lambda item: (_PORT_CHANGES.index(item[0][0]), *item[0][1:])
        ):
            key = self.add(parts)
            where = tuple(self.detail.ports_of(key, LISTED))
            found.append(PortGroup(change, label, previous, sum(p[2] for p in parts), where, key))
        return found


def compare(
    db: Backend, errors: Errors, k: int, old: ScanRef, new: ScanRef, *, notes: Sequence[str] = ()
) -> Changes:
    """The changes from ``old`` to ``new`` (comparison number ``k`` of this connection)."""
    params: dict[str, object] = {
        "k": k, "scan": new.id, "other": old.id, "site": new.site, "now": new.scanned_at,
    }  # fmt: skip
    db.execute(queries.PAIRS_NOW, params)
    db.execute(queries.PAIRS_BEFORE, params)
    now: Labels = dict(db.execute(queries.SERVICES, (new.id,)))
    before: Labels = dict(db.execute(queries.SERVICES, (old.id,)))
    found = (_facts(db.execute(queries.FINDINGS, (new.id,))),
             _facts(db.execute(queries.FINDINGS, (old.id,))))  # fmt: skip
    detail = StoreDetail(db, errors, params)
    build = _Builder(db, detail, k)
    for row in db.execute(queries.CLASSES, {"k": k}):
        build.sort(row, now, before, found)
    facts = {(labels[n], cve): fact
             for labels, facts_of in ((before, found[1]), (now, found[0]))
             for n, by_cve in facts_of.items() for cve, fact in by_cve.items()}  # fmt: skip
    ((missing, given_up),) = db.execute(queries.HOSTS_COUNT, params)
    hosts = [
        HostGroup(change, count, tuple(detail.hosts_of(change == "missing", LISTED)))
        for change, count in ((_MISSING, missing), (_GIVEN_UP, given_up))
        if count
    ]
    return Changes(
        previous=old,
        current=new,
        notes=tuple(notes),
        findings=tuple(build.findings(params, facts)),
        still_open=build.still_open,
        unknown=build.unknown,
        ports=tuple(build.port_groups()),
        hosts=tuple(hosts),
        detail=detail,
    )
