"""Combine the assessments of several sources for one port into one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from brulee.model import Port, Service
from brulee.vulns.interface import (
    CONFIDENCE_RANK,
    SEVERITY_RANK,
    Assessment,
    Status,
    Vulnerability,
    VulnerabilitySource,
)

_UNVERSIONED = "no version was detected, so no source can tell which vulnerabilities apply"


def vulnerability_order(vuln: Vulnerability) -> tuple[bool, float, float, int, str]:
    """Known exploited (KEV) first, then likeliest exploited (EPSS), then CVSS, then id."""
    epss = vuln.epss.score if vuln.epss else -1.0
    return (vuln.kev is None, -epss, -vuln.score, SEVERITY_RANK[vuln.severity], vuln.id)


def _evidence_rank(vuln: Vulnerability) -> tuple[int, bool]:
    return (CONFIDENCE_RANK[vuln.confidence], vuln.cvss is None)


def merge_vulnerabilities(vulns: Iterable[Vulnerability]) -> tuple[Vulnerability, ...]:
    """De-duplicate by id, uniting sources and exploits; sorted by ``vulnerability_order``."""
    merged: dict[str, Vulnerability] = {}
    for vuln in vulns:
        seen = merged.get(vuln.id)
        if seen is None:
            merged[vuln.id] = vuln
        elif seen != vuln:
            # Keep the best-founded record (NVD's over a third party's), uniting the rest.
            best = min(seen, vuln, key=_evidence_rank)
            merged[vuln.id] = replace(
                best,
                sources=tuple(dict.fromkeys(seen.sources + vuln.sources)),
                exploits=tuple(dict.fromkeys(seen.exploits + vuln.exploits)),
            )
    return tuple(sorted(merged.values(), key=vulnerability_order))


def _status(port: Port, assessments: Sequence[Assessment], vulnerable: bool) -> Status:
    statuses = {a.status for a in assessments}
    if vulnerable or "vulnerable" in statuses:
        return "vulnerable"
    if "clean" in statuses:
        return "clean"
    if port.service is None or not port.service.version:
        return "unversioned"
    return "unknown" if "unknown" in statuses else "unchecked"


def assess(port: Port, sources: Sequence[VulnerabilitySource]) -> Assessment:
    """Ask every source about the port and merge their answers."""
    assessments = [source.assess(port) for source in sources]
    vulns = merge_vulnerabilities(v for a in assessments for v in a.vulnerabilities)
    status = _status(port, assessments, bool(vulns))
    # Only the notes that explain the final status (a CVE list needs no "vulners was silent").
    notes = [a.note for a in assessments if a.note and a.status == status]
    if status == "unversioned":
        notes = [_UNVERSIONED]
    elif not sources:
        notes = ["no vulnerability source was enabled"]
    return Assessment(
        status,
        vulnerabilities=vulns,
        note="; ".join(dict.fromkeys(notes)),
        references=tuple(dict.fromkeys(r for a in assessments for r in a.references)),
    )


Judge = Callable[[Service | None, Assessment], Assessment]
"""Decides merged findings with further evidence (distribution backports)."""


class Assessor:
    """``assess`` with a memo: a fleet runs the same service with the same script output on
    thousands of ports, and the parser hands over the very same objects for them."""

    _LIMIT = 4096

    def __init__(self, sources: Sequence[VulnerabilitySource], judge: Judge | None = None) -> None:
        self.sources = tuple(sources)
        self._judge = judge
        self._memo: dict[tuple[int, ...], tuple[Port, Assessment]] = {}

    def __call__(self, port: Port) -> Assessment:
        key = (id(port.service), *map(id, port.scripts))
        hit = self._memo.get(key)
        # The memo holds the port it saw, so the ids in the key stay those objects' ids.
        if hit and hit[0].service is port.service and hit[0].scripts == port.scripts:
            return hit[1]
        if len(self._memo) >= self._LIMIT:
            self._memo.clear()
        result = assess(port, self.sources)
        if self._judge is not None:
            result = self._judge(port.service, result)
        self._memo[key] = (port, result)
        return result
