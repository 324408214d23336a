"""Group ports by the service running on them; one group lists every location and CVE."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from brulee.distro import DistroEvidence
from brulee.model import Host, Port, Service
from brulee.spool import Location, OpenPort, Spool
from brulee.vulns.interface import (
    SEVERITIES,
    SEVERITY_RANK,
    Assessment,
    Severity,
    Status,
    Vulnerability,
)
from brulee.vulns.merge import merge_vulnerabilities

_STATUS_ORDER: dict[Status, int] = {
    "vulnerable": 0, "unknown": 1, "unchecked": 2, "unversioned": 3, "clean": 4,
}  # fmt: skip
if TYPE_CHECKING:  # the history builds on findings: only the type flows back
    from brulee.history.store import TrackedFinding

_NO_SERVICE = Service()
_PARTIAL_DATA = (
    "vulnerability data came from only some locations of this service; the vulnerabilities "
    "listed apply to the same software at all of them"
)


@dataclass(frozen=True, slots=True)
class ServiceGroup:
    """One distinct service (same software identity) and everything known about it."""

    key: str
    service: Service
    protocol: str
    status: Status
    notes: tuple[str, ...]
    vulnerabilities: tuple[Vulnerability, ...]
    references: tuple[str, ...]
    location_count: int
    distribution: DistroEvidence | None = None
    fixed: tuple[Vulnerability, ...] = ()
    """CVEs upstream matching found that the distribution's package revision fixed."""

    @property
    def unverified(self) -> int:
        """Findings kept because no data could decide a possible backported fix."""
        return sum(1 for v in self.vulnerabilities if v.confidence == "unverified-backport")

    @property
    def max_severity(self) -> Severity | None:
        """The highest severity (vulnerabilities are ordered by KEV and EPSS, not severity)."""
        if not self.vulnerabilities:
            return None
        return min((v.severity for v in self.vulnerabilities), key=SEVERITY_RANK.__getitem__)

    def severity_counts(self) -> dict[Severity, int]:
        counts = Counter(v.severity for v in self.vulnerabilities)
        return {name: counts.get(name, 0) for name in SEVERITIES}


FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "kev")


@dataclass(frozen=True, slots=True)
class FailOn:
    """The CI gate: a finding at or above ``threshold`` (a severity, or ``kev`` for known
    exploited) fails the run. Unverified backports count only with ``strict_backports``;
    findings fixed by the distribution never count."""

    threshold: str
    strict_backports: bool = False

    def _fails(self, severity: Severity, kev: bool, confidence: str) -> bool:
        if confidence == "unverified-backport" and not self.strict_backports:
            return False
        if self.threshold == "kev":
            return kev
        return severity != "unscored" and (
            SEVERITY_RANK[severity] <= SEVERITY_RANK[cast(Severity, self.threshold)]
        )

    def matches(self, vuln: Vulnerability) -> bool:
        return self._fails(vuln.severity, vuln.kev is not None, vuln.confidence)

    def failing_new(self, new: Iterable[TrackedFinding]) -> tuple[str, ...]:
        """The distinct ids of the new findings (``--fail-on-new``) that fail the gate."""
        return tuple(
            dict.fromkeys(f.id for f in new if self._fails(f.severity, f.kev, f.confidence))
        )

    def failing(self, groups: Iterable[ServiceGroup]) -> tuple[str, ...]:
        """The distinct vulnerability ids that fail the gate."""
        return tuple(
            dict.fromkeys(v.id for g in groups for v in g.vulnerabilities if self.matches(v))
        )


def group_key(service: Service, protocol: str) -> str:
    """Stable short id of a service identity (used in file names, anchors and diffs)."""
    raw = "\x1f".join((protocol, *service.key))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def group_order(group: ServiceGroup) -> tuple[int, int, int, str, str]:
    """Vulnerable first, most severe first, most CVEs first, then by name."""
    severity = group.max_severity
    return (
        _STATUS_ORDER[group.status],
        SEVERITY_RANK[severity] if severity else len(SEVERITIES),
        -len(group.vulnerabilities),
        group.service.label.lower(),
        group.key,
    )


def _unite(known: dict[str, Vulnerability], vulns: Iterable[Vulnerability]) -> None:
    for vuln in vulns:
        seen = known.setdefault(vuln.id, vuln)
        if seen != vuln:
            known[vuln.id] = merge_vulnerabilities((seen, vuln))[0]


@dataclass(slots=True)
class GroupBuilder:
    """What is known so far about one service identity, from any number of findings: the
    assessments of its ports (``ServiceGrouper``) or the service sections of reports
    (``brulee.merge``). ``finish`` applies the same rules to both."""

    service: Service
    protocol: str
    statuses: set[Status] = field(default_factory=set)
    notes: dict[str, None] = field(default_factory=dict)
    vulns: dict[str, Vulnerability] = field(default_factory=dict)
    references: dict[str, None] = field(default_factory=dict)
    fixed: dict[str, Vulnerability] = field(default_factory=dict)
    distribution: DistroEvidence | None = None

    def add(
        self,
        status: Status,
        vulnerabilities: Iterable[Vulnerability] = (),
        *,
        notes: Iterable[str] = (),
        references: Iterable[str] = (),
        fixed: Iterable[Vulnerability] = (),
        distribution: DistroEvidence | None = None,
    ) -> None:
        """Unite one finding: vulnerabilities (found, and fixed by the distribution) by id, the
        best-founded record kept with every source; the rest as sets in first-seen order; the
        first distribution recognised stays."""
        self.statuses.add(status)
        self.notes.update(dict.fromkeys(n for n in notes if n))
        _unite(self.vulns, vulnerabilities)
        self.references.update(dict.fromkeys(references))
        _unite(self.fixed, fixed)
        self.distribution = self.distribution or distribution

    def finish(self, key: str, locations: int) -> ServiceGroup:
        vulns = merge_vulnerabilities(self.vulns.values())
        # The most cautious status wins: one location with data makes the software vulnerable.
        status = "vulnerable" if vulns else min(self.statuses, key=_STATUS_ORDER.__getitem__)
        notes = tuple(self.notes)
        if status == "vulnerable" and len(self.statuses) > 1:
            notes = (_PARTIAL_DATA,)
        return ServiceGroup(
            key=key,
            service=self.service,
            protocol=self.protocol,
            status=status,
            notes=notes,
            vulnerabilities=vulns,
            references=tuple(self.references),
            location_count=locations,
            distribution=self.distribution,
            fixed=merge_vulnerabilities(self.fixed.values()),
        )


class ServiceGrouper:
    """Collects (host, port, assessment) triples; locations go to the spool as they arrive."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._groups: dict[str, GroupBuilder] = {}
        # Sources return the same object for the same evidence: merge each one once per group.
        # The objects are kept so that their ids stay theirs.
        self._seen: dict[tuple[str, int], Assessment] = {}

    def add_host(self, host: Host, assessed: list[tuple[Port, Assessment]]) -> None:
        """Record one host: its summary, and each open port under its service group."""
        rows: list[tuple[str, Location]] = []
        open_ports: list[OpenPort] = []
        for port, assessment in assessed:
            service = port.service or _NO_SERVICE
            open_ports.append(OpenPort(port.protocol, port.portid, port.state, service.label))
            key = group_key(service, port.protocol)
            builder = self._groups.get(key)
            if builder is None:
                builder = self._groups[key] = GroupBuilder(service, port.protocol)
            if (key, id(assessment)) not in self._seen:
                self._seen[key, id(assessment)] = assessment
                builder.add(
                    assessment.status,
                    assessment.vulnerabilities,
                    notes=(assessment.note,),
                    references=assessment.references,
                    fixed=assessment.fixed,
                    distribution=assessment.distribution,
                )
            rows.append((key, Location(host.address, host.hostname, port.portid, port.protocol)))
        self._spool.add_host(host, open_ports)
        self._spool.add_locations(rows)

    def groups(self) -> tuple[ServiceGroup, ...]:
        """The service groups, most urgent first."""
        counts = self._spool.location_counts()
        return tuple(
            sorted(
                (builder.finish(key, counts[key]) for key, builder in self._groups.items()),
                key=group_order,
            )
        )
