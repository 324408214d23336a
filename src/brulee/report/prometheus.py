"""Prometheus text exposition format (``report.prom``) for node_exporter's textfile collector or
a Pushgateway: what the scan found, as gauges.

Every sample carries ``site`` and ``shard`` labels (empty when the scan had none), so that the
files of several scans can sit side by side. No sample has a timestamp (the textfile collector
refuses them): times are values (``*_timestamp_seconds``). A finding is a vulnerability at one
location (address, port, protocol), as in the scan history; ``state`` says whether it is open,
suppressed (suppression file, history store or VEX) or set aside as fixed by the distribution.
Every combination of labels is written, zeros included, so that an alert sees 0, not nothing.
The file is written beside its final name and then renamed over it: a collector never reads
half of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from brulee.core.report import Report, SourceDate
from brulee.core.vulnerability import (
    CONFIDENCE_RANK,
    SEVERITIES,
    Confidence,
    Severity,
    established,
)
from brulee.report.interface import Renderer, report_file
from brulee.report.view.services import STATUSES
from brulee.report.view.text import printable

PREFIX = "brulee_"
_OPEN_CONFIDENCES: tuple[Confidence, ...] = tuple(
    c for c in CONFIDENCE_RANK if c != "fixed-by-distribution"
)
_STATES = ("open", "suppressed")

Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, float]


def label_value(value: object) -> str:
    """A label value as the exposition format quotes it: ``\\``, ``"`` and line breaks
    escaped (control characters made visible first)."""
    text = printable(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _family(name: str, help_text: str, samples: Iterable[Sample], common: Labels) -> str:
    lines = [f"# HELP {PREFIX}{name} {help_text}", f"# TYPE {PREFIX}{name} gauge"]
    for labels, value in samples:
        pairs = ",".join(f'{key}="{label_value(text)}"' for key, text in (*common, *labels))
        lines.append(f"{PREFIX}{name}{{{pairs}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _instant(text: str) -> datetime | None:
    """An ISO 8601 time (UTC when it has no offset); None when there is none."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def findings(report: Report) -> Counter[tuple[Severity, Confidence, str]]:
    """Findings (a vulnerability at one location) by severity, confidence and state."""
    counts: Counter[tuple[Severity, Confidence, str]] = Counter()
    applied = report.suppressed
    for group in report.services:
        found = applied.for_group(group.key) if applied is not None else None
        partial: dict[str, int] = {}
        for item in found.suppressed if found else ():
            vuln = item.vulnerability
            taken = group.location_count if item.complete else len(item.locations)
            counts[(vuln.severity, vuln.confidence, "suppressed")] += taken
            partial[vuln.id] = 0 if item.complete else taken
        for vuln in group.vulnerabilities:
            left = group.location_count - partial.get(vuln.id, 0)
            counts[(vuln.severity, vuln.confidence, "open")] += left
        for vuln in group.fixed:
            counts[(vuln.severity, vuln.confidence, "fixed_by_distribution")] += (
                group.location_count
            )
    return counts


def kev_findings(report: Report) -> tuple[int, int]:
    """(open established findings, distinct established vulnerabilities) in CISA's KEV
    catalog: the KEV box's "fix first"."""
    ids: set[str] = set()
    located = 0
    for group in report.services:
        for vuln in group.established:
            if vuln.kev is not None:
                ids.add(vuln.id)
                located += group.location_count
    applied = report.suppressed
    for item in applied.suppressed if applied else ():
        for s in item.partial:
            if s.vulnerability.kev and established(s.vulnerability):
                located -= len(s.locations)
    return located, len(ids)


def database_sources(report: Report) -> tuple[SourceDate, ...]:
    """The report's own; for a merged report, the oldest date of each source among its parts."""
    if report.scan.database_sources or not report.scan.parts:
        return report.scan.database_sources
    oldest: dict[str, tuple[datetime, str]] = {}
    for part in report.scan.parts:
        for item in part.database_sources:
            when = _instant(item.date)
            if when is not None and (item.source not in oldest or when < oldest[item.source][0]):
                oldest[item.source] = (when, item.date)
    return tuple(SourceDate(name, date) for name, (_, date) in sorted(oldest.items()))


def families(report: Report) -> Iterator[str]:
    """Each metric family, as text."""
    scan, run = report.scan, report.scan.run
    common: Labels = (("site", scan.site), ("shard", str(scan.shard) if scan.shard else ""))
    counts = findings(report)
    finding_samples: list[Sample] = [
        ((("severity", sev), ("confidence", conf), ("state", state)), counts[(sev, conf, state)])
        for state in _STATES
        for sev in SEVERITIES
        for conf in _OPEN_CONFIDENCES
    ]
    fixed: Labels = (("confidence", "fixed-by-distribution"), ("state", "fixed_by_distribution"))
    finding_samples += [
        ((("severity", sev), *fixed), counts[(sev, "fixed-by-distribution", fixed[1][1])])
        for sev in SEVERITIES
    ]
    yield _family(
        "findings",
        "Findings (a vulnerability at one address, port and protocol) by severity, confidence "
        "and state (open, suppressed, fixed_by_distribution).",
        finding_samples,
        common,
    )
    severities = report.severity_counts()
    yield _family(
        "vulnerabilities",
        "Distinct open certain vulnerabilities by severity (the report's summary).",
        [((("severity", sev),), severities[sev]) for sev in SEVERITIES],
        common,
    )
    possible = report.severity_counts(possible=True)
    yield _family(
        "possible_vulnerabilities",
        "Distinct open vulnerabilities certain on no service (conditional, version-range, "
        "unbounded, reported, unverified backport), by severity; not in the headlines.",
        [((("severity", sev),), possible[sev]) for sev in SEVERITIES],
        common,
    )
    located, distinct = kev_findings(report)
    yield _family(
        "kev_findings",
        "Open certain findings in CISA's Known Exploited Vulnerabilities catalog.",
        [((), located)],
        common,
    )
    yield _family(
        "kev_vulnerabilities",
        "Distinct open certain vulnerabilities in CISA's KEV catalog (fix first).",
        [((), distinct)],
        common,
    )
    yield _family(
        "possible_kev_vulnerabilities",
        "Distinct open vulnerabilities in CISA's KEV catalog that are certain on no service.",
        [((), report.kev_counts()[1])],
        common,
    )
    statuses = report.status_counts()
    yield _family(
        "services",
        "Distinct services by status; only clean means checked and clean.",
        [((("status", status),), statuses.get(status, 0)) for status in STATUSES],
        common,
    )
    yield _family(
        "hosts",
        "Hosts by state.",
        [((("state", "up"),), run.hosts_up), ((("state", "down"),), run.hosts_down)],
        common,
    )
    yield _family(
        "scan_incomplete",
        "1 when Nmap did not finish (or a shard of a merged report "
        "is missing or interrupted): the absence of a finding proves nothing.",
        [((), int(run.incomplete))],
        common,
    )
    yield from _times(report, common)


def _times(report: Report, common: Labels) -> Iterator[str]:
    run = report.scan.run
    start, end = _instant(run.started), _instant(run.finished)
    generated = _instant(report.scan.generated)
    if start is not None:
        yield _family(
            "scan_start_timestamp_seconds",
            "When the scan started (Unix time).",
            [((), start.timestamp())],
            common,
        )
    if end is not None:
        yield _family(
            "scan_end_timestamp_seconds",
            "When the scan ended (Unix time).",
            [((), end.timestamp())],
            common,
        )
    if start is not None and end is not None:
        yield _family(
            "scan_duration_seconds",
            "How long the scan took.",
            [((), (end - start).total_seconds())],
            common,
        )
    if generated is not None:
        yield _family(
            "report_generated_timestamp_seconds",
            "When this report was written (Unix time).",
            [((), generated.timestamp())],
            common,
        )
    dated = [(s.source, when) for s in database_sources(report) if (when := _instant(s.date))]
    if dated:
        yield _family(
            "database_updated_timestamp_seconds",
            "How current each source of the "
            "vulnerability database is (Unix time of its newest data).",
            [((("source", name),), when.timestamp()) for name, when in dated],
            common,
        )
    if dated and generated is not None:
        yield _family(
            "database_age_seconds",
            "Age of each source of the vulnerability database when the report was written.",
            [((("source", name),), (generated - when).total_seconds()) for name, when in dated],
            common,
        )


class PrometheusRenderer(Renderer):
    """One exposition-format file, replaced atomically."""

    extension = "prom"

    def render(self, report: Report, path: Path) -> None:
        with report_file(path) as out:
            out.writelines(families(report))
