"""The CI gate (``--fail-on``, ``--fail-on-new``): which findings fail a run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from brulee.core.findings import ServiceGroup
from brulee.core.history import FindingGroup
from brulee.core.vulnerability import (
    ESTABLISHED,
    SEVERITY_RANK,
    Confidence,
    Severity,
    Vulnerability,
)

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "kev")


@dataclass(frozen=True, slots=True)
class FailOn:
    """The CI gate: a finding at or above ``threshold`` (a severity, or ``kev`` for known
    exploited) fails the run. Only established findings (``ESTABLISHED``) count, unless
    ``strict``: then every possible one counts too (unverified backports, conditional,
    version-range, unbounded, reported). Findings fixed by the distribution never count."""

    threshold: str
    strict: bool = False

    def _fails(self, severity: Severity, kev: bool, confidence: str) -> bool:
        if confidence == "fixed-by-distribution":
            return False
        if not self.strict and cast(Confidence, confidence) not in ESTABLISHED:
            return False
        if self.threshold == "kev":
            return kev
        return severity != "unscored" and (
            SEVERITY_RANK[severity] <= SEVERITY_RANK[cast(Severity, self.threshold)]
        )

    def matches(self, vuln: Vulnerability) -> bool:
        return self._fails(vuln.severity, vuln.kev is not None, vuln.confidence)

    def failing_new(self, new: Iterable[FindingGroup]) -> tuple[str, ...]:
        """The distinct ids of the new findings (``--fail-on-new``, grouped by vulnerability
        and service) that fail the gate."""
        return tuple(
            dict.fromkeys(f.id for f in new if self._fails(f.severity, f.kev, f.confidence))
        )

    def failing(self, groups: Iterable[ServiceGroup]) -> tuple[str, ...]:
        """The distinct vulnerability ids that fail the gate."""
        return tuple(
            dict.fromkeys(v.id for g in groups for v in g.vulnerabilities if self.matches(v))
        )
