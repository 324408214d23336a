"""Around each report: suppressions, the scan history and its diff, and alerts on what is new."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from brulee.core.history import Changes, ScanKind, TrackedFinding
from brulee.core.report import Report
from brulee.core.suppression import Applied
from brulee.history.alerts import notify
from brulee.history.diff import diff_scans
from brulee.history.payloads import NewFinding
from brulee.history.store import open_store, report_scope
from brulee.history.suppressions import Suppressions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tracking:
    """What happens around a report besides rendering it."""

    record: bool = True
    """Record the scan in the history store, and report changes since the previous one."""
    history: str | None = None
    """The store: a path, ``sqlite:///PATH`` or ``postgresql://...``; None: the default."""
    suppressions: Suppressions | None = None
    notify: tuple[str, ...] = ()
    """Webhooks told about new findings (generic JSON, Slack, Teams)."""


NO_TRACKING = Tracking(record=False)


def prepare(
    report: Report, tracking: Tracking, *, kind: ScanKind, location: str, now: datetime
) -> Report:
    """Apply the suppressions, record the scan and attach the changes since the previous scan
    of the same scope."""
    changes, scan_id, suppressions = None, None, tracking.suppressions
    if tracking.record:  # the history keeps what was found, suppressed or not
        with open_store(tracking.history) as store:
            scan_id = store.record(report, kind=kind, location=location, now=now)
            previous = store.previous(report_scope(report), scan_id)
            changes = diff_scans(store, previous.id, scan_id) if previous else None
            kept = Suppressions.from_entries(entry for _, entry in store.suppressions())
        suppressions = kept + suppressions if suppressions else (kept if len(kept) else None)
    if suppressions is not None:
        applied = suppressions.apply(report.services, report.locations, now)
        report = replace(report, services=applied.groups, suppressed=applied)
        changes = _without_suppressed(changes, applied)
    return replace(report, changes=changes, history_id=scan_id)


def _without_suppressed(changes: Changes | None, applied: Applied) -> Changes | None:
    """Changes minus the new or reappeared findings suppressed on every location of their
    service (they are in the appendix, and alerts never repeat them)."""
    if changes is None:
        return None
    accepted = {
        (s.vulnerability.id, item.group.service.label)
        for item in applied.suppressed
        for s in item.complete
    }

    def kept(findings: tuple[TrackedFinding, ...]) -> tuple[TrackedFinding, ...]:
        return tuple(f for f in findings if (f.id, f.service) not in accepted)

    return replace(
        changes,
        new_findings=kept(changes.new_findings),
        reappeared_findings=kept(changes.reappeared_findings),
    )


def alert(report: Report, tracking: Tracking) -> list[str]:
    """Tell each webhook about the new findings; the problems, as warnings (never fatal)."""
    changes = report.changes
    if changes is None or not tracking.notify:
        return []
    new = [NewFinding.of(f) for f in changes.new_findings]
    scan = {
        "id": report.history_id,
        "site": report.scan.site,
        "targets": list(report.scan.targets[:20]),
        "finished": report.scan.run.finished,
    }
    problems = []
    for url in tracking.notify:
        result = notify(url, new, scan=scan)
        if result.error:
            problems.append(f"alert to {result.target} failed: {result.error}")
            log.warning(problems[-1])
    return problems


def new_findings(changes: Changes | None) -> tuple[TrackedFinding, ...]:
    """Findings first seen in this scan (for --fail-on-new)."""
    return changes.new_findings if changes else ()
