"""Around each report: suppressions, the scan history and its changes, and alerts on what is new.

Reports come first. A history store that cannot be opened, migrated or written costs the
changes and the suppressions kept in it, never a report: :func:`tracked` then gives the report
with the suppression file's entries only and the problem among its warnings, and the caller
writes every report before it fails (exit 3). A scan is recorded in one transaction: a failure
mid-record leaves the store as it was.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from brulee.core.history import Changes, FindingGroup, ScanKind
from brulee.core.report import Report
from brulee.core.suppression import Applied
from brulee.core.vulnerability import ESTABLISHED
from brulee.errors import HistoryError
from brulee.history.alerts import alert_body, deliver, target_key
from brulee.history.payloads import MAX_LISTED, NewFinding, NewFindings
from brulee.history.store import HistoryStore, open_store
from brulee.history.suppressions import Suppressions
from brulee.util.redact import redact_url

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
    location: str = ""
    """Where the reports go, as recorded in the history when it is not their directory (one file,
    or standard output); '' for the directory."""


NO_TRACKING = Tracking(record=False)


@dataclass(frozen=True, slots=True)
class Tracked:
    """A report ready to render, and what happened around it."""

    report: Report
    problem: str = ""
    """Why the history store could not be used ('' when it was, or is not asked for)."""
    alerts: NewFindings | None = None
    """What to tell the webhooks: the new findings (None when there are none to tell)."""
    store: HistoryStore | None = None
    """The store that recorded the report, open for the ``with`` block of :func:`tracked`."""


def unavailable(exc: HistoryError) -> str:
    """The warning for a history store that could not be used."""
    return (
        f"the history store could not be used: {exc}; changes since the previous scan and "
        "suppressions kept in the store are not applied"
    )


def without_history(report: Report, tracking: Tracking, problem: str, now: datetime) -> Tracked:
    """``report`` with the suppression file's entries only, and ``problem`` among its warnings."""
    log.warning(problem)
    scan = replace(report.scan, warnings=(problem, *report.scan.warnings))
    ready = _suppressed(replace(report, scan=scan), tracking.suppressions, None, now)
    return Tracked(ready, problem)


@contextmanager
def tracked(
    report: Report, tracking: Tracking, *, kind: ScanKind, location: str, now: datetime
) -> Iterator[Tracked]:
    """Record the scan, attach the changes since its baseline and apply the suppressions, for
    the ``with`` block, during which the changes stream from the open store. HistoryError from
    the store, here or in the block, is for the caller to handle with :func:`without_history`."""
    if not tracking.record:
        yield Tracked(_suppressed(report, tracking.suppressions, None, now))
        return
    try:
        store = open_store(tracking.history)
    except HistoryError as exc:
        yield without_history(report, tracking, unavailable(exc), now)
        return
    with store:
        try:
            where = tracking.location or location
            ready = _track(store, report, tracking, kind=kind, location=where, now=now)
        except HistoryError as exc:
            ready = without_history(report, tracking, unavailable(exc), now)
        yield ready


def _track(
    store: HistoryStore,
    report: Report,
    tracking: Tracking,
    *,
    kind: ScanKind,
    location: str,
    now: datetime,
) -> Tracked:
    scan_id = store.record(report, kind=kind, location=location, now=now, pending=True)
    current = store.get(scan_id)
    base = store.baseline(current)
    changes = store.compare(base.scan, current, base.notes) if base.scan else None
    kept = Suppressions.from_entries(entry for _, entry in store.suppressions())
    suppressions = kept + tracking.suppressions if tracking.suppressions else kept
    report = replace(report, history_id=scan_id, trend=store.trend(current))
    if base.scan is None and base.notes:  # why there is nothing to compare with
        report = replace(report, scan=replace(report.scan, warnings=(
            *base.notes, *report.scan.warnings)))  # fmt: skip
    report = _suppressed(report, suppressions, changes, now)
    alerts = _alerts(report.changes) if tracking.notify and report.changes else None
    return Tracked(report, alerts=alerts, store=store)


def _suppressed(
    report: Report, suppressions: Suppressions | None, changes: Changes | None, now: datetime
) -> Report:
    """The report with its suppressions applied and ``changes`` attached, less the new or
    reappeared findings suppressed on every location of their service (they are in the
    appendix, and alerts never repeat them)."""
    if suppressions is None or not len(suppressions):
        return replace(report, changes=changes)
    applied = suppressions.apply(report.services, report.locations, now)
    return replace(
        report,
        services=applied.groups,
        suppressed=applied,
        changes=_without_suppressed(changes, applied) if changes else None,
    )


def _without_suppressed(changes: Changes, applied: Applied) -> Changes:
    accepted = {
        (s.vulnerability.id, item.group.service.label)
        for item in applied.suppressed
        for s in item.complete
    }
    kept = tuple(
        g for g in changes.findings
        if g.change == "fixed" or (g.id, g.service) not in accepted
    )  # fmt: skip
    return replace(changes, findings=kept)


def _alerts(changes: Changes) -> NewFindings | None:
    """The new findings, the most urgent first (at most what a payload lists), streamed from
    the store, and the totals of all."""
    groups = changes.groups("new")
    if not groups:
        return None
    by_severity: dict[str, int] = {}
    established = [g for g in groups if g.confidence in ESTABLISHED]
    for g in established:
        by_severity[g.severity] = by_severity.get(g.severity, 0) + g.count
    listed: list[NewFinding] = []
    for g in groups:
        room = MAX_LISTED - len(listed)
        if room <= 0:
            break
        where = itertools.islice(changes.detail.finding_locations(g), room)
        listed.extend(NewFinding.at(g, w) for w in where)
    total, kev = sum(g.count for g in groups), sum(g.count for g in established if g.kev)
    return NewFindings(tuple(listed), total, by_severity, kev, total - sum(by_severity.values()))


def concluded(tracked: Tracked, tracking: Tracking, now: datetime) -> list[str]:
    """Every report of ``tracked`` is written: its scan becomes a baseline (see
    ``HistoryStore.record``), its new findings are owed to each webhook, and every alert owed to
    them, this one and those earlier runs could not deliver, is sent, oldest first; the problems,
    as warnings (an alert not delivered is kept for the next run: at least once delivery).
    HistoryError when the store fails."""
    store, scan_id = tracked.store, tracked.report.history_id
    if store is None or scan_id is None:
        return []
    urls = tuple(dict.fromkeys(tracking.notify))
    owed = []
    if tracked.alerts is not None:
        report = tracked.report
        scan = {
            "id": scan_id,
            "site": report.scan.site,
            "targets": list(report.scan.targets[:20]),
            "finished": report.scan.run.finished,
        }
        for url in urls:
            body, _ = alert_body(url, tracked.alerts, scan=scan)
            owed.append((target_key(url), tracked.alerts.total, body.decode()))
    store.reported(scan_id, owed, now)
    problems = drop_stale(store, now)
    for url in urls:
        problems += send_owed(store, url)
    for problem in problems:
        log.warning(problem)
    return problems


OWED_DAYS = 30
"""Days an alert is owed at most, whatever its webhook: one owed to a URL no longer notified (a
rotated secret) is never sent, and goes then."""
OWED_KEPT = 30
"""Alerts kept for one webhook at most; beyond, the oldest are dropped: a webhook gone for good
(or a URL no longer notified, whose secret changed) must not grow the store without end."""
OWED_RUNS = 10
"""Runs an owed alert is tried at, at most: one the webhook refuses for good (a payload it
rejects) must not hold back every alert after it."""


def _scans_text(scans: Iterable[int]) -> str:
    """``3, 7, 12, 15, 20, ...``: the first five distinct scan ids, in order."""
    distinct = sorted(set(scans))
    return ", ".join(map(str, distinct[:5])) + (", ..." if distinct[5:] else "")


def drop_stale(store: HistoryStore, now: datetime) -> list[str]:
    """Forget the alerts owed for more than ``OWED_DAYS``; a warning saying so, if any."""
    scans = store.drop_stale_alerts(now - timedelta(days=OWED_DAYS))
    if not scans:
        return []
    return [
        f"{len(scans)} alert(s) owed for more than {OWED_DAYS} days dropped (scans "
        f"{_scans_text(scans)}); "
        "their findings stay in the history and in the reports"
    ]


def send_owed(store: HistoryStore, url: str) -> list[str]:
    """Send the alerts owed to the webhook at ``url``, oldest first, until one fails; the
    problems, and what was given up on, as warnings."""
    owed = store.owed_alerts(target_key(url))
    problems = []
    if dropped := owed[:-OWED_KEPT]:
        store.forget_alerts([a.id for a in dropped])
        problems.append(
            f"{len(dropped)} alert(s) owed to {redact_url(url)} dropped, the oldest (scans "
            f"{_scans_text(a.scan_id for a in dropped)}): at most {OWED_KEPT} are kept per "
            "webhook; their findings stay in the history and in the reports"
        )
    for alert in owed[-OWED_KEPT:]:
        result = deliver(url, alert.body.encode(), total=alert.total)
        if result.ok:
            store.forget_alerts([alert.id])
        elif alert.attempts + 1 >= OWED_RUNS:  # given up on: the next ones may go through
            store.forget_alerts([alert.id])
            problems.append(
                f"alert of scan {alert.scan_id} to {result.target} failed: {result.error} "
                f"(dropped: it failed at {OWED_RUNS} runs; its findings stay in the history "
                "and in the reports)"
            )
        else:  # the webhook is down: the next run tries its alerts again
            store.alert_failed(alert.id)
            problems.append(
                f"alert to {result.target} failed: {result.error} (kept: the next run that "
                "notifies it sends it again)"
            )
            break
    return problems


def new_findings(changes: Changes | None) -> tuple[FindingGroup, ...]:
    """Findings first seen in this scan (for --fail-on-new), by vulnerability and service."""
    return changes.groups("new") if changes else ()
