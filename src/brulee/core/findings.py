"""Findings: one distinct service with everything known about it, where it runs, and the
hosts as a report lists them."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from brulee.core.distro import DistroEvidence
from brulee.core.ports import NO_PORTS, PortSet
from brulee.core.scan import Service
from brulee.core.vulnerability import SEVERITIES, SEVERITY_RANK, Severity, Status, Vulnerability

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
    def max_severity(self) -> Severity | None:
        """The highest severity (vulnerabilities are ordered by KEV and EPSS, not severity)."""
        if not self.vulnerabilities:
            return None
        return min((v.severity for v in self.vulnerabilities), key=SEVERITY_RANK.__getitem__)

    def severity_counts(self) -> dict[Severity, int]:
        counts = Counter(v.severity for v in self.vulnerabilities)
        return {name: counts.get(name, 0) for name in SEVERITIES}


def group_key(service: Service, protocol: str) -> str:
    """Stable short id of a service identity (used in file names, anchors and diffs)."""
    raw = "\x1f".join((protocol, *service.key))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def group_order(group: ServiceGroup) -> tuple[int, int, int, str, str]:
    """Vulnerable first, most severe first, most CVEs first, then by name."""
    severity = group.max_severity
    return (
        STATUS_ORDER[group.status],
        SEVERITY_RANK[severity] if severity else len(SEVERITIES),
        -len(group.vulnerabilities),
        group.service.label.lower(),
        group.key,
    )
