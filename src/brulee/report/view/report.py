"""The report as every human-readable format lays it out, derived once from a Report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brulee.core.findings import HostRecord, Location
from brulee.core.report import Report
from brulee.core.vulnerability import SEVERITIES
from brulee.report.view.changes import ChangesView, changes_view
from brulee.report.view.fleet import FleetView, fleet_incomplete_text, fleet_view
from brulee.report.view.services import (
    LEGEND,
    STATUSES,
    KevFinding,
    ServiceView,
    Tally,
    kev_findings,
    service_view,
)
from brulee.report.view.suppressions import SuppressionsView, suppressions_view
from brulee.report.view.trend import TrendView, trend_view
from brulee.util.text import count_text

TITLE = "Vulnerability report"

INCOMPLETE = (
    "INCOMPLETE scan: Nmap did not finish. Hosts, ports and services may be missing, "
    "and the absence of a finding proves nothing."
)
"""The banner of a report whose Nmap run did not finish."""
FAILED = (
    "INCOMPLETE scan: Nmap failed (see the errors). Hosts, ports and services may be missing, "
    "and the absence of a finding proves nothing."
)


def _timed_out_text(count: int) -> str:
    return (
        f"INCOMPLETE scan: Nmap gave up on {count_text(count, 'host')} (--host-timeout): "
        "their ports and services are partly unknown, and there the absence of a finding "
        "proves nothing."
    )


@dataclass(frozen=True, slots=True)
class Count:
    """One bar of a summary chart."""

    name: str
    count: int
    share: float
    """``count`` relative to the largest count of its chart, 0..1."""


def _counts(counts: dict[Any, int], names: tuple[str, ...], top: int = 0) -> tuple[Count, ...]:
    """One bar per name, scaled to ``top`` (to the largest count when 0)."""
    top = top or max((counts.get(n, 0) for n in names), default=0) or 1
    return tuple(Count(n, counts.get(n, 0), counts.get(n, 0) / top) for n in names)


@dataclass(frozen=True, slots=True)
class ReportView:
    """The report as every human-readable format lays it out."""

    report: Report
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    incomplete: bool
    incomplete_text: str
    """The banner of an incomplete report: ``INCOMPLETE``, or what a merged one misses."""
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    totals: tuple[tuple[str, int], ...]
    """Headline counts, the known exploited vulnerabilities first."""
    backports: tuple[Tally, ...]
    """Distinct CVEs kept as unverified backports (among the vulnerabilities), and set aside as
    fixed by the distribution (not among them)."""
    severities: tuple[Count, ...]
    """Established (certain) vulnerabilities per severity: the headline chart."""
    possible_severities: tuple[Count, ...]
    """Possible vulnerabilities per severity, counted apart (scaled with ``severities``)."""
    statuses: tuple[Count, ...]
    services: tuple[ServiceView, ...]
    kev: tuple[KevFinding, ...]
    """Known exploited and established somewhere: fix these first."""
    kev_lead: str
    """The sentence above the KEV list, or saying why it is empty."""
    kev_possible: tuple[KevFinding, ...]
    """In KEV, but possible wherever found: shown apart, never in "fix first"."""
    kev_possible_lead: str
    legend: tuple[tuple[str, str], ...]
    fleet: FleetView | None = None
    """Coverage per site and part; None unless the report was merged from parts."""
    changes: ChangesView | None = None
    """Changes since the previous scan of the same scope; None without one."""
    trend: TrendView | None = None
    """Open, new and fixed findings over the last scans of the scope; None without an earlier."""
    suppressed: SuppressionsView | None = None
    """The suppressions appendix; None when no suppressions were applied."""

    def locations(self, service: ServiceView) -> Iterator[Location]:
        """Every location of a service, streamed from the spool."""
        return self.report.locations(service.group)

    def hosts(self) -> Iterator[HostRecord]:
        """Every host, streamed from the spool."""
        return self.report.hosts()


def targets_text(targets: tuple[str, ...], limit: int = 3) -> str:
    """The first few targets, and how many more."""
    shown = ", ".join(targets[:limit])
    more = len(targets) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def build_view(report: Report) -> ReportView:
    """Derive what the reports show; locations and hosts are left in the spool."""
    scan = report.scan
    run = scan.run
    facts = [
        ("Targets", " ".join(scan.targets) or "not recorded"),
        ("Site", scan.site),
        ("Shard", f"{scan.shard} (this report covers only that slice)" if scan.shard else ""),
        ("Nmap command", run.args or "not recorded"),
        ("Nmap version", run.scanner_version or "unknown"),
        ("Started", run.started or "unknown"),
        ("Finished", run.finished or ("not finished" if run.incomplete else "unknown")),
        ("Hosts up", str(run.hosts_up)),
        ("Hosts down", str(run.hosts_down)),
        ("Nmap XML", " ".join(scan.inputs)),
        ("Vulnerability data", scan.database),
        ("Report generated", f"{scan.generated} by brulee {scan.tool_version}"),
    ]
    services = tuple(service_view(n, g) for n, g in enumerate(report.services, 1))
    every_kev = kev_findings(services)
    kev = tuple(k for k in every_kev if k.established)
    kev_possible = tuple(k for k in every_kev if not k.established)
    severities = report.severity_counts()
    possible = report.severity_counts(possible=True)
    totals = (
        ("known exploited (KEV)", len(kev)),
        ("services", len(report.services)),
        ("vulnerabilities", sum(severities.values())),
        ("possible vulnerabilities", sum(possible.values())),
        ("locations", sum(g.location_count for g in report.services)),
        ("hosts up", run.hosts_up),
        ("hosts down", run.hosts_down),
        *((("targets not resolved", len(scan.unresolved)),) if scan.unresolved else ()),
    )
    # One scale for both, so that a certain bar and its possible one, side by side, fit.
    top = max(severities[name] + possible[name] for name in SEVERITIES)
    unverified = {v.id for g in report.services for v in g.vulnerabilities
                  if v.confidence == "unverified-backport"}  # fmt: skip
    fixed = {v.id for g in report.services for v in g.fixed}
    backports = (
        Tally(len(unverified), "unverified backports (kept, among the possible)", "unverified"),
        Tally(len(fixed), "fixed by the distribution (set aside, not counted)", "fixed"),
    )
    if kev:
        kev_lead = "CISA lists these as exploited in the wild: fix them first."
    elif kev_possible:
        kev_lead = "None of the certain findings is in CISA's KEV catalog."
    elif scan.database:
        kev_lead = "None of the vulnerabilities found is in CISA's KEV catalog."
    else:
        kev_lead = "No KEV data: no vulnerability database was used."
    inputs = tuple(Path(name).name for name in scan.inputs)
    fleet = fleet_view(scan.parts, scan.missing_shards) if scan.parts else None
    applied = report.suppressed
    # A merged report that misses a shard is incomplete, whatever its run says.
    incomplete = not run.complete or bool(fleet and not fleet.complete)
    banner = {"failed": FAILED, "partial": _timed_out_text(run.timed_out)}.get(
        run.outcome, INCOMPLETE
    )
    return ReportView(
        report=report,
        title=TITLE,
        subtitle=targets_text(scan.targets)
        or targets_text(inputs)
        or (f"merged from {count_text(fleet.parts, 'part')}" if fleet else ""),
        facts=tuple((k, v) for k, v in facts if v),
        incomplete=incomplete,
        incomplete_text=fleet_incomplete_text(fleet) if fleet and not fleet.complete else banner,
        errors=run.errors,
        warnings=scan.warnings,
        totals=totals,
        backports=backports,
        severities=_counts(dict(severities), SEVERITIES, top),
        possible_severities=_counts(dict(possible), SEVERITIES, top),
        statuses=_counts(dict(report.status_counts()), STATUSES),
        services=services,
        kev=kev,
        kev_lead=kev_lead,
        kev_possible=kev_possible,
        kev_possible_lead=(
            "In CISA's KEV catalog, but possible findings here (not certain: see each "
            "confidence): verify them on the host; not in the fix-first list or the counts."
        ),
        legend=LEGEND,
        fleet=fleet,
        changes=changes_view(report.changes) if report.changes is not None else None,
        trend=trend_view(report.trend) if report.trend is not None else None,
        suppressed=suppressions_view(applied)
        if applied is not None and (applied.suppressed or applied.expired or applied.stale)
        else None,
    )
