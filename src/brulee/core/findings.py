"""Findings: one distinct service with everything known about it, where it runs, and the
hosts as a report lists them."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from brulee.core.distro import DistroEvidence
from brulee.core.ports import NO_PORTS, PortSet
from brulee.core.scan import Service
from brulee.core.vulnerability import (
    SEVERITIES,
    SEVERITY_RANK,
    Severity,
    Status,
    Vulnerability,
    established,
)

STATUS_ORDER: dict[Status, int] = {
    "vulnerable": 0, "possibly-vulnerable": 1, "unknown": 2, "unchecked": 3, "unversioned": 4,
    "clean": 5,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Location:
    """Where a service runs."""

    address: str
    hostname: str
    port: int
    protocol: str
    extrainfo: str = ""
    """Nmap's extrainfo here when it holds volatile items (``uptime 11 seconds``) that the
    service's identity leaves out (:func:`brulee.core.scan.stable_extrainfo`); "" otherwise."""


@dataclass(frozen=True, slots=True)
class OpenPort:
    protocol: str
    port: int
    state: str
    service: str


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A host as the report lists it."""

    address: str
    hostnames: tuple[str, ...]
    status: str
    reason: str
    timed_out: bool
    open_ports: tuple[OpenPort, ...]
    closed_ports: int
    filtered_ports: int
    scanned: PortSet = NO_PORTS
    """The ports looked at on it: empty when it was down, given up on, or it is not known."""


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
    nvd_names: tuple[str, ...] | None = None
    """The NVD vendor:product names it was looked up under, possibly none; None when the report
    it was read from predates them (schema 1.0)."""

    @property
    def unverified(self) -> int:
        """Findings kept because no data could decide a possible backported fix."""
        return sum(1 for v in self.vulnerabilities if v.confidence == "unverified-backport")

    @property
    def established(self) -> tuple[Vulnerability, ...]:
        """The findings headlines rest on (``brulee.core.vulnerability.ESTABLISHED``)."""
        return tuple(filter(established, self.vulnerabilities))

    @property
    def possible(self) -> tuple[Vulnerability, ...]:
        """The findings shown as possible: kept, never in the headlines."""
        return tuple(v for v in self.vulnerabilities if not established(v))

    @property
    def max_severity(self) -> Severity | None:
        """The highest severity of the established findings (vulnerabilities are ordered by KEV
        and EPSS, not severity); None without one."""
        return _highest(self.established)

    @property
    def possible_severity(self) -> Severity | None:
        """The highest severity of the possible findings; None without one."""
        return _highest(self.possible)

    @property
    def kev_established(self) -> bool:
        """An established finding is in CISA's KEV catalog."""
        return any(v.kev is not None for v in self.established)

    def severity_counts(self, *, possible: bool = False) -> dict[Severity, int]:
        """Established findings per severity; with ``possible``, the possible ones."""
        counts = Counter(v.severity for v in (self.possible if possible else self.established))
        return {name: counts.get(name, 0) for name in SEVERITIES}


def _highest(vulns: tuple[Vulnerability, ...]) -> Severity | None:
    return min((v.severity for v in vulns), key=SEVERITY_RANK.__getitem__, default=None)


def group_key(service: Service, protocol: str) -> str:
    """Stable short id of a service identity (used in file names, anchors and diffs)."""
    raw = "\x1f".join((protocol, *service.key))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def group_order(group: ServiceGroup) -> tuple[bool, int, int, int, int, int, str, str]:
    """Established known exploited first; then by status (vulnerable, possibly vulnerable, not
    checked, clean); then by established severity and count; then the rest by possible severity
    and count; then by name."""
    none = len(SEVERITIES)
    severity, possible = group.max_severity, group.possible_severity
    return (
        not group.kev_established,
        STATUS_ORDER[group.status],
        SEVERITY_RANK[severity] if severity else none,
        -len(group.established),
        SEVERITY_RANK[possible] if possible else none,
        -len(group.vulnerabilities),
        group.service.label.lower(),
        group.key,
    )
