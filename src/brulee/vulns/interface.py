"""Vulnerability sources: the abstract source and the values every source returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from brulee.distro import DistroEvidence
from brulee.errors import BruleeError
from brulee.model import Port
from brulee.vulndb.store import EpssScore, KevEntry

Severity = Literal["critical", "high", "medium", "low", "unscored"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "unscored")
SEVERITY_RANK: dict[Severity, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

Status = Literal["vulnerable", "clean", "unversioned", "unknown", "unchecked"]
"""``unchecked``: no source had data for the service; never to be read as ``clean``."""

Confidence = Literal[
    "certain", "conditional", "reported", "unverified-backport", "fixed-by-distribution"
]
"""``certain``: NVD's applicability rules hold for what the scan saw. ``conditional``: they hold
if a platform condition the scan cannot see holds too (named in the reason). ``reported``: a
third-party source listed it; brulee did not verify the match itself. ``unverified-backport``:
upstream matching says it applies, but the service is a distribution's package that may carry a
backported fix no data here decides. ``fixed-by-distribution``: the distribution's advisory fixed it
at or below the running package revision (set aside, not a finding)."""
CONFIDENCE_RANK: dict[Confidence, int] = {
    "certain": 0, "conditional": 1, "reported": 2, "unverified-backport": 3,
    "fixed-by-distribution": 4,
}  # fmt: skip


class SourceError(BruleeError):
    """A vulnerability source is unusable."""


@dataclass(frozen=True, slots=True)
class Cvss:
    score: float
    version: str | None = None
    vector: str | None = None


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One CVE (or other advisory) that applies to a service."""

    id: str
    severity: Severity
    cvss: Cvss | None = None
    description: str = ""
    url: str = ""
    published: str = ""
    confidence: Confidence = "reported"
    reason: str = ""
    sources: tuple[str, ...] = ()
    exploits: tuple[str, ...] = ()
    """Exploit or bulletin ids that name this vulnerability."""
    kev: KevEntry | None = None
    epss: EpssScore | None = None
    advisory: str = ""
    """The distribution advisory that decides it (``DSA-4280-1``)."""
    remediation: str = ""
    """What to do, when the data says (the package version that fixes it)."""

    @property
    def score(self) -> float:
        return self.cvss.score if self.cvss else -1.0


@dataclass(frozen=True, slots=True)
class Assessment:
    """What one source concluded about one port's service."""

    status: Status
    vulnerabilities: tuple[Vulnerability, ...] = ()
    note: str = ""
    references: tuple[str, ...] = ()
    """Exploit or bulletin ids the source listed that name no particular vulnerability."""
    fixed: tuple[Vulnerability, ...] = ()
    """Set aside: fixed by the distribution's package revision (see ``distribution``)."""
    distribution: DistroEvidence | None = None


def severity_of(score: float | None) -> Severity:
    """Qualitative CVSS rating; a missing or 0.0 score is ``unscored``, not ``low``."""
    if score is None or score <= 0.0:
        return "unscored"
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


class VulnerabilitySource(ABC):
    """Something that can say which vulnerabilities apply to the service on a port."""

    name: str

    @abstractmethod
    def assess(self, port: Port) -> Assessment:
        """Assess the port's service; ``unchecked`` when the source has nothing to say."""
