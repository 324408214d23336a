"""The history's values: recorded scans, findings and ports as tracked over time, and the
changes between two scans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from brulee.core.vulnerability import Confidence, Severity

ScanKind = Literal["scan", "report", "merge"]
"""What recorded a scan: ``brulee scan``, ``brulee report`` or ``brulee merge``."""


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
    targets: tuple[str, ...]
    started: str
    finished: str
    incomplete: bool
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


@dataclass(frozen=True, slots=True)
class TrackedFinding:
    """A vulnerability at one location, as the history knows it."""

    id: str
    """The vulnerability: a CVE, or the advisory id its source gave."""
    severity: Severity
    cvss: float | None
    kev: bool
    confidence: Confidence
    service: str
    """The label (product and version) of the service exposing it."""
    address: str
    hostname: str
    protocol: str
    port: int
    first_seen: str
    age_days: int | None
    """Whole days from ``first_seen`` to the scan it is open in; None for a fixed finding."""


@dataclass(frozen=True, slots=True)
class TrackedPort:
    """An open port and the label of its service."""

    address: str
    hostname: str
    protocol: str
    port: int
    service: str


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A port open in both scans whose service label (product, version) differs."""

    address: str
    hostname: str
    protocol: str
    port: int
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Changes:
    """Changes since the previous scan of the same scope (or between any two scans)."""

    previous: ScanRef
    current: ScanRef
    new_findings: tuple[TrackedFinding, ...]
    """Absent from the previous scan and never seen before at the site (age 0)."""
    reappeared_findings: tuple[TrackedFinding, ...]
    """Absent from the previous scan but first seen by an earlier scan of the site: a fix that
    did not last, a host back from being unreachable, or first found by another scope."""
    fixed_findings: tuple[TrackedFinding, ...]
    """In the previous scan, gone from this one on a host it found up (``age_days`` None)."""
    still_open: int
    """Findings of this scan that the previous one had too."""
    new_ports: tuple[TrackedPort, ...]
    closed_ports: tuple[TrackedPort, ...]
    """Open in the previous scan, not in this one, on a host it found up."""
    changed_services: tuple[ServiceChange, ...]
    missing_hosts: tuple[str, ...]
    """Up in the previous scan, not found up by this one: their ports and findings are
    unknown, not closed or fixed."""

    @property
    def empty(self) -> bool:
        """Nothing changed."""
        return not (
            self.new_findings or self.reappeared_findings or self.fixed_findings
            or self.new_ports or self.closed_ports or self.changed_services or self.missing_hosts
        )  # fmt: skip
