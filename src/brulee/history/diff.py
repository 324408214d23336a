"""What changed between two scans: new, reappeared and fixed findings, opened and closed ports,
changed services and hosts no longer seen; from the history store, or from two JSON reports.

The comparison runs in SQL (``HistoryStore.findings_delta`` and the like), so only the changes
are ever in memory. Absence is read with care: a port or finding missing from the new scan is
closed or fixed only if the new scan found its host up; a host it did not find is listed in
``missing_hosts`` and its findings count as neither fixed nor open.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from brulee.history.store import (
    HISTORY_FILE,
    HistoryStore,
    ScanRef,
    ServiceChange,
    TrackedFinding,
    TrackedPort,
    open_store,
)
from brulee.report.interface import Report
from brulee.spool import Spool


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


def diff_scans(store: HistoryStore, old_id: int, new_id: int) -> Changes:
    """The changes from scan ``old_id`` to scan ``new_id`` of the store (UsageError when either
    is not there)."""
    old, new = store.get(old_id), store.get(new_id)
    appeared, fixed, kept = store.findings_delta(old, new)
    opened, closed, changed = store.ports_delta(old, new)

    def seen_before(finding: TrackedFinding) -> bool:
        return bool(finding.first_seen) and finding.first_seen < new.scanned_at

    return Changes(
        previous=old,
        current=new,
        new_findings=tuple(f for f in appeared if not seen_before(f)),
        reappeared_findings=tuple(f for f in appeared if seen_before(f)),
        fixed_findings=tuple(fixed),
        still_open=kept,
        new_ports=tuple(opened),
        closed_ports=tuple(closed),
        changed_services=tuple(changed),
        missing_hosts=tuple(store.missing_hosts(old, new)),
    )


@contextmanager
def read_report(path: Path) -> Iterator[Report]:
    """A brulee JSON report (or every ``report.json`` under a directory, united as ``brulee
    merge`` would) read back as a Report, streamed by ``brulee.merge``'s reader into a spool.
    UsageError when there is no such file, ParseError when it is not a brulee report."""
    # Imported here: brulee.merge imports the pipeline, which records into the history.
    from brulee.merge import DirectorySource, _Merger  # noqa: PLC0415
    from brulee.pipeline import utc_now  # noqa: PLC0415

    with Spool() as spool:
        merger = _Merger(spool)
        for name, opener in DirectorySource(path):  # a file: that one report
            merger.read(name, opener)
        report, _ = merger.report(None, utc_now())
        if len(report.scan.parts) == 1:  # one scan: its own shard and completeness, not a merge's
            part = report.scan.parts[0]
            run = replace(report.scan.run, finished=part.finished, incomplete=part.incomplete)
            report = replace(report, scan=replace(report.scan, run=run, shard=part.shard))
        yield report


def diff_reports(old_json: Path, new_json: Path) -> Changes:
    """The changes between two JSON reports (or directories of them, see ``read_report``),
    through a throwaway store: first-seen dates are those of the two reports only, so a finding
    absent from the old one is new, never reappeared."""
    with (
        tempfile.TemporaryDirectory(prefix="brulee-diff-") as tmp,
        open_store(Path(tmp) / HISTORY_FILE) as store,
    ):
        ids = []
        for path in (old_json, new_json):
            with read_report(path) as report:
                ids.append(store.record(report, kind="report", location=str(path)))
        return diff_scans(store, *ids)


def _scan_json(ref: ScanRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "kind": ref.kind,
        "scanned_at": ref.scanned_at,
        "recorded_at": ref.recorded_at,
        "site": ref.site or None,
        "shard": ref.shard or None,
        "incomplete": ref.incomplete,
        "location": ref.location or None,
    }


def changes_json(changes: Changes) -> dict[str, Any]:
    """The ``changes`` section of the JSON report (``schema/report.schema.json``)."""
    findings = {
        name: [asdict(f) for f in getattr(changes, name)]
        for name in ("new_findings", "reappeared_findings", "fixed_findings")
    }
    return {
        "previous": _scan_json(changes.previous),
        "current": _scan_json(changes.current),
        **findings,
        "still_open": changes.still_open,
        "new_ports": [asdict(p) for p in changes.new_ports],
        "closed_ports": [asdict(p) for p in changes.closed_ports],
        "changed_services": [asdict(c) for c in changes.changed_services],
        "missing_hosts": list(changes.missing_hosts),
    }
