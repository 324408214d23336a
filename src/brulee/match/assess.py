"""Combine the assessments of several sources for one port into one."""

from __future__ import annotations

from collections.abc import Sequence

from brulee.core.scan import Port
from brulee.core.vulnerability import Assessment, Status, merge_vulnerabilities
from brulee.match.interface import Judge, VulnerabilitySource

_UNVERSIONED = "no version was detected, so no source can tell which vulnerabilities apply"


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
        nvd_names=tuple(dict.fromkeys(n for a in assessments for n in a.nvd_names)),
    )


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
