"""The history's values: recorded scans, and the changes between two of them, grouped as people
read them (per service and CVE, per service for ports) with every location streamed from the
history store on demand, so that no change is ever held once per location in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from brulee.core.ports import PortSet
from brulee.core.scan import Outcome
from brulee.core.vulnerability import ESTABLISHED, Confidence, Severity

ScanKind = Literal["scan", "report", "merge"]
"""What recorded a scan: ``brulee scan``, ``brulee report`` or ``brulee merge``."""
FindingChange = Literal["new", "reappeared", "fixed"]
PortChange = Literal["new", "closed", "changed"]
HostChange = Literal["missing", "timed_out"]

LISTED = 5
"""Locations (or hosts) the human formats list per group before counting the rest."""


@dataclass(frozen=True, slots=True)
class ScanRef:
    """One recorded scan, report or merge."""

    id: int
    recorded_at: str
    scanned_at: str
    """When the scan ran (its start, UTC ISO 8601); when it was recorded if that is unknown.
    First-seen dates and ages are counted in these."""
    kind: ScanKind
    scope: str
    """Its targets, site and shard (:func:`brulee.history.store.scope_key`)."""
    targets: tuple[str, ...]
    started: str
    finished: str
    outcome: Outcome
    hosts_up: int
    hosts_down: int
    site: str
    shard: str
    """``I/N``, or ''."""
    location: str
    """Where its reports were written (a directory, a path or an object URL)."""
    ports: int
    """Open ports (locations) recorded."""
    findings: int
    """Findings recorded: vulnerabilities times the locations they are exposed at."""
    scanned: PortSet
    """The ports its Nmap was told to scan; empty when not known (recorded before brulee kept
    them)."""
    options: str
    """The Nmap options that change what a scan sees (scripts, version intensity)."""
    label: str = ""
    """How to name it when not by its id (``brulee diff`` of two report files)."""
    reported: bool = True
    """Whether its run wrote its reports: an unreported scan (the run failed after recording
    it) is never a baseline."""

    @property
    def name(self) -> str:
        """``scan 12``, or its label."""
        return self.label or f"scan {self.id}"

    @property
    def incomplete(self) -> bool:
        return self.outcome != "complete"


@dataclass(frozen=True, slots=True)
class ChangedLocation:
    """Where a finding or a port changed."""

    address: str
    hostname: str
    protocol: str
    port: int
    first_seen: str = ""
    """For a finding: when it was first seen there (UTC ISO 8601)."""


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """One vulnerability of one service (by label) that is new, reappeared or fixed at
    ``count`` locations, the first of them listed."""

    change: FindingChange
    id: str
    severity: Severity
    cvss: float | None
    kev: bool
    confidence: Confidence
    service: str
    """The label (product and version) of the service: now, or (fixed) before."""
    count: int
    locations: tuple[ChangedLocation, ...]
    """The first ``LISTED``, by address."""
    key: int = field(default=0, compare=False)
    """The group for :class:`ChangeDetail`."""
    shared: int | None = field(default=None, compare=False)
    """Groups of one comparison with the same number list the very same locations (ports the
    new scan was the first to find open, where every vulnerability of a service is new): a
    renderer may write that list once and repeat it. None: a list of its own."""


@dataclass(frozen=True, slots=True)
class PortGroup:
    """Ports of one service (by label) that opened, closed, or changed version."""

    change: PortChange
    service: str
    """The label of the service: now (new, changed), or before (closed)."""
    previous: str
    """changed: the label before; '' otherwise."""
    count: int
    locations: tuple[ChangedLocation, ...]
    key: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class HostGroup:
    """Hosts up in the previous scan that this one did not find up (``missing``) or gave up on
    (``timed_out``): what runs there now is unknown, not closed or fixed."""

    change: HostChange
    count: int
    addresses: tuple[str, ...]
    """The first ``LISTED``, by address."""


class ChangeDetail(Protocol):
    """Every location of a group, streamed (from the history store) in address order."""

    def finding_locations(self, group: FindingGroup) -> Iterator[ChangedLocation]: ...

    def port_locations(self, group: PortGroup) -> Iterator[ChangedLocation]: ...

    def host_addresses(self, group: HostGroup) -> Iterator[str]: ...


@dataclass(frozen=True, slots=True)
class Changes:
    """Changes since the previous scan of the same scope (or between any two scans)."""

    previous: ScanRef
    current: ScanRef
    notes: tuple[str, ...]
    """What to know first about the comparison (a baseline that failed, scans skipped, scans
    compared in reverse or that looked at other ports)."""
    findings: tuple[FindingGroup, ...]
    """New (never seen before at the site), reappeared (seen by an earlier scan: a fix that did
    not last, a host back, or first found by another scope) and fixed (in the previous scan, gone
    where this one looked), in that order, most urgent first."""
    still_open: int
    """Findings of this scan that the previous one had too."""
    unknown: int
    """Findings of the previous scan where this one did not look (hosts missing or given up on,
    ports it did not scan): neither open nor fixed."""
    ports: tuple[PortGroup, ...]
    """New, closed (where this scan looked) and changed versions, in that order."""
    hosts: tuple[HostGroup, ...]
    """Missing, then given up on; only those with hosts."""
    detail: ChangeDetail = field(compare=False, repr=False)

    def count(self, change: FindingChange) -> int:
        return sum(g.count for g in self.findings if g.change == change)

    def possible_count(self, change: FindingChange) -> int:
        """Of ``count(change)``, the findings no headline rests on (see ``ESTABLISHED``)."""
        return sum(
            g.count for g in self.findings if g.change == change and g.confidence not in ESTABLISHED
        )

    def port_count(self, change: PortChange) -> int:
        return sum(g.count for g in self.ports if g.change == change)

    def host_count(self, change: HostChange) -> int:
        return sum(g.count for g in self.hosts if g.change == change)

    def groups(self, change: FindingChange) -> tuple[FindingGroup, ...]:
        return tuple(g for g in self.findings if g.change == change)

    @property
    def empty(self) -> bool:
        """Nothing changed."""
        return not (self.findings or self.ports or self.hosts)


TREND_SCANS = 10
"""Scans a trend covers at most: the current one and the latest earlier ones of its scope."""


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One scan of a trend: its open findings (vulnerability x location) per severity, and
    what changed since the scan before it in the trend."""

    scan_id: int
    scanned_at: str
    open: tuple[tuple[Severity, int], ...]
    """Open findings per severity, every severity in ``SEVERITIES`` order (zeros included)."""
    new: int | None
    """Findings at a location where the scan before had none of that CVE; None for the first."""
    fixed: int | None
    """Findings of the scan before gone from a host this one found up; None for the first."""

    @property
    def total(self) -> int:
        return sum(count for _, count in self.open)


@dataclass(frozen=True, slots=True)
class Trend:
    """How a scope's findings went over its last scans (at most ``TREND_SCANS``), oldest first,
    the current scan last; counted from the history store as recorded (suppressions aside)."""

    points: tuple[TrendPoint, ...]
