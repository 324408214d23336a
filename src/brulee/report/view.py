"""What the human-readable reports show, derived once from a Report, and how templates stream.

HTML, Markdown and LaTeX render the same ``ReportView``; each escapes it for its own format.
Per-host data stays a stream from the spool.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import jinja2

from brulee.core.findings import HostRecord, Location, OpenPort, ServiceGroup
from brulee.core.report import MissingShard, PartSummary, Report
from brulee.core.scan import Shard
from brulee.core.vulnerability import (
    SEVERITIES,
    Severity,
    Status,
    Vulnerability,
    vulnerability_order,
)
from brulee.errors import ReportError

if TYPE_CHECKING:  # history builds on reports: only the types flow back
    from brulee.core.history import Changes, ScanRef, ServiceChange, TrackedFinding, TrackedPort
    from brulee.core.suppression import Applied, Suppressed, Suppression

TITLE = "Vulnerability report"

STATUSES: tuple[Status, ...] = ("vulnerable", "unknown", "unchecked", "unversioned", "clean")
"""Display order: most urgent first, ``clean`` last."""

STATUS_MEANING: dict[Status, str] = {
    "vulnerable": "known vulnerabilities apply to this version",
    "clean": "checked: no known CVE applies to this version",
    "unknown": "NOT CHECKED: the product is not in the vulnerability database",
    "unchecked": "NOT CHECKED: no vulnerability data was available for this service",
    "unversioned": "NOT CHECKED: no version was detected, so no vulnerability can be matched",
}

PALETTE: dict[str, tuple[str, str]] = {
    "critical": ("8E1B1B", "FFFFFF"),
    "high": ("D9480F", "FFFFFF"),
    "medium": ("E6A100", "1F2328"),
    "low": ("2F6DB5", "FFFFFF"),
    "unscored": ("6B7280", "FFFFFF"),
    "vulnerable": ("B42318", "FFFFFF"),
    "unknown": ("B54708", "FFFFFF"),
    "unchecked": ("B54708", "FFFFFF"),
    "unversioned": ("B54708", "FFFFFF"),
    "clean": ("2B7A3D", "FFFFFF"),
    "kev": ("6A1B9A", "FFFFFF"),
    "ransomware": ("1F2328", "FFFFFF"),
    "conditional": ("FCE7B2", "7A3E00"),
    "unverified-backport": ("E0E4FF", "3B2FA0"),
}
"""Severity, status and marker colours (fill, text) as RGB hex, shared by every format."""

LEGEND: tuple[tuple[str, str], ...] = (
    (
        "KEV",
        "in CISA's Known Exploited Vulnerabilities catalog (with the date it was added): "
        "exploited in the wild, to be fixed first; RANSOMWARE: known to be used in "
        "ransomware campaigns.",
    ),
    (
        "EPSS",
        "FIRST's estimated probability that the CVE is exploited in the next 30 days; "
        "pNN: its percentile among all scored CVEs.",
    ),
    (
        "Confidence",
        "certain: NVD's applicability rules hold for what the scan saw. CONDITIONAL: they hold "
        "only if the platform condition named in the reason holds too, which the scan cannot "
        "see. reported: listed by a third-party source, not verified by brulee. UNVERIFIED "
        "BACKPORT: kept but uncertain: the upstream version matches, but the service is a "
        "distribution's package, which may carry a backported fix that no data here can "
        "confirm or rule out (the reason says why). fixed by distribution: the distribution's "
        "advisory fixed it at or below the running package revision; listed apart under the "
        "service, never counted as a finding.",
    ),
    (
        "Distribution",
        "the distribution and package revision recognised in the service's banner, and how "
        "many CVEs matching its upstream version the distribution fixed, are still open, or "
        "are unverified backports.",
    ),
    ("Order", "known exploited first, then by EPSS, then by CVSS score."),
)
"""What the vulnerability tables' columns and markers mean, shown with the summary."""

INCOMPLETE = (
    "INCOMPLETE scan: Nmap did not finish. Hosts, ports and services may be missing, "
    "and the absence of a finding proves nothing."
)

# C0/C1 controls (but tab and newline) and bidirectional overrides: shown as U+FFFD, so a
# banner can neither corrupt the output nor visually reorder the text around it.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_URL_KEEP = "-._~:/?#[]@!$&*+,;=%"


class Raw(str):
    """Text already in the output format: a template's escaping passes it through unchanged."""

    __slots__ = ()


def printable(value: object) -> str:
    """``value`` as text with control and bidi-override characters made visible (U+FFFD)."""
    text = "" if value is None else str(value)
    return _UNPRINTABLE.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def safe_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL, percent-encoded to be inert anywhere; else ''."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return quote(parts.geturl(), safe=_URL_KEEP)


def cvss_text(vuln: Vulnerability) -> str:
    """``9.8 (v3.1)``, ``9.8``, or '' when unscored."""
    if vuln.cvss is None:
        return ""
    version = f" (v{vuln.cvss.version})" if vuln.cvss.version else ""
    return f"{vuln.cvss.score:.1f}{version}"


def percent_text(fraction: float, decimals: int) -> str:
    """``0.99992`` -> ``99.9%`` with one decimal: truncated, so that it never reads as 100%."""
    step = Decimal(1).scaleb(-decimals)
    value = (Decimal(repr(fraction)) * 100).quantize(step, rounding=ROUND_DOWN)
    return f"{value}%"


def epss_text(vuln: Vulnerability) -> str:
    """``94.4% (p99)``: the EPSS probability and its percentile; '' without EPSS data."""
    if vuln.epss is None:
        return ""
    score = vuln.epss.score
    decimals = 1 if score >= 0.01 else 2 if score >= 0.001 else 3
    percentile = int(Decimal(repr(vuln.epss.percentile)) * 100)
    return f"{percent_text(score, decimals)} (p{percentile})"


def kev_text(vuln: Vulnerability) -> str:
    """The CVE's CISA KEV entry in a sentence or two; '' when it is not in KEV."""
    kev = vuln.kev
    if kev is None:
        return ""
    text = "CISA KEV: added " + (kev.date_added or "on an unrecorded date")
    if kev.due_date:
        text += f", remediation due {kev.due_date}"
    if kev.known_ransomware == "Known":
        text += "; known to be used in ransomware campaigns"
    return text + (f". Required action: {kev.required_action}" if kev.required_action else ".")


def count_text(count: int, noun: str) -> str:
    """``1 location``, ``3 vulnerabilities``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def port_text(port: int, protocol: str) -> str:
    return f"{port}/{protocol}"


def open_port_text(port: OpenPort) -> str:
    """``80/tcp Apache httpd 2.4.49`` (state added unless plainly open)."""
    state = "" if port.state == "open" else f" [{port.state}]"
    return f"{port_text(port.port, port.protocol)} {port.service}{state}"


def host_status(host: HostRecord) -> str:
    return host.status + (" (timed out)" if host.timed_out else "")


@dataclass(frozen=True, slots=True)
class Count:
    """One bar of a summary chart."""

    name: str
    count: int
    share: float
    """``count`` relative to the largest count of its chart, 0..1."""


def _counts(counts: dict[Any, int], names: tuple[str, ...]) -> tuple[Count, ...]:
    top = max((counts.get(n, 0) for n in names), default=0) or 1
    return tuple(Count(n, counts.get(n, 0), counts.get(n, 0) / top) for n in names)


@dataclass(frozen=True, slots=True)
class VulnView:
    """A vulnerability with the text every format shows for it."""

    vuln: Vulnerability
    cvss: str
    """``9.8 (v3.1)`` or ``n/a``."""
    epss: str
    """``94.4% (p99)`` or ``n/a``."""
    kev_added: str
    """When CISA added it to KEV; '' when it is not in KEV (or the date is unrecorded)."""
    kev_detail: str
    """The KEV entry in words (see ``kev_text``); '' when not in KEV."""
    ransomware: bool
    published: str
    """The publication date, without its time."""

    @property
    def kev(self) -> bool:
        return self.vuln.kev is not None

    @property
    def conditional(self) -> bool:
        """It applies only if a platform condition the scan could not see holds."""
        return self.vuln.confidence == "conditional"

    @property
    def unverified(self) -> bool:
        """Kept, but the distribution's package may carry a fix no data here decides."""
        return self.vuln.confidence == "unverified-backport"


def vuln_view(vuln: Vulnerability) -> VulnView:
    """What every format shows about ``vuln``."""
    return VulnView(
        vuln=vuln,
        cvss=cvss_text(vuln) or "n/a",
        epss=epss_text(vuln) or "n/a",
        kev_added=vuln.kev.date_added if vuln.kev else "",
        kev_detail=kev_text(vuln),
        ransomware=vuln.kev is not None and vuln.kev.known_ransomware == "Known",
        published=vuln.published.partition("T")[0],
    )


@dataclass(frozen=True, slots=True)
class FixedView:
    """A CVE the distribution's package fixed: set aside, shown apart, never counted."""

    vuln: Vulnerability
    detail: str
    """Advisory and reason: ``DSA-4280-1 (2018-08-22): fixed in ...; this host runs ...``."""


def fixed_view(vuln: Vulnerability) -> FixedView:
    """The reason names the advisory; when it does not, the advisory is put first."""
    reason = vuln.reason
    if vuln.advisory and not reason.startswith(vuln.advisory):
        reason = f"{vuln.advisory}: {reason}" if reason else vuln.advisory
    return FixedView(vuln, reason)


@dataclass(frozen=True, slots=True)
class Tally:
    """One count with its words, and a name for how to show it."""

    count: int
    text: str
    kind: str


def backport_tallies(group: ServiceGroup) -> tuple[Tally, ...]:
    """``N fixed by the distribution``, ``N still open``, ``N unverified backport``."""
    unverified = group.unverified
    return (
        Tally(len(group.fixed), "fixed by the distribution", "fixed"),
        Tally(len(group.vulnerabilities) - unverified, "still open", "open"),
        Tally(unverified, "unverified backport", "unverified"),
    )


@dataclass(frozen=True, slots=True)
class ServiceView:
    """A service group with the values every format shows about it."""

    number: int
    group: ServiceGroup
    label: str
    facts: tuple[tuple[str, str], ...]
    meaning: str
    checked: bool
    """False for every status that means "could not be checked"; such a service is never clean."""
    vulns: tuple[VulnView, ...]
    """Known exploited first, then by EPSS, then by CVSS (``vulnerability_order``)."""
    kev_count: int
    max_severity: Severity | None
    max_score: float
    severities: dict[Severity, int]
    summary: str
    """``3 vulnerabilities (1 known exploited) · 2 locations``; never a vulnerability count for
    an unchecked one."""
    distribution: str
    """``Debian stretch, package revision 10+deb9u7``; '' when no distribution was recognised."""
    distribution_evidence: str
    """What the scan reported that shows it: ``version "7.4p1 Debian 10+deb9u7"``."""
    backports: tuple[Tally, ...]
    """Fixed by the distribution, still open, unverified; () unless checked with a distribution."""
    fixed: tuple[FixedView, ...]
    """Set aside: not findings, not in any count but their own."""

    @property
    def key(self) -> str:
        return self.group.key

    @property
    def status(self) -> Status:
        return self.group.status


def service_view(number: int, group: ServiceGroup) -> ServiceView:
    service = group.service
    facts = [
        ("Service", service.name or "unknown"),
        ("Protocol", group.protocol),
        ("Product", service.product or "not identified"),
        ("Version", service.version or "not detected"),
        ("Extra info", service.extrainfo),
        ("Tunnel", service.tunnel),
        ("OS type", service.ostype),
        ("CPE", " ".join(service.cpes) or "none"),
    ]
    checked = group.status in ("vulnerable", "clean")
    vulns = tuple(vuln_view(v) for v in group.vulnerabilities)
    kev_count = sum(x.kev for x in vulns)
    found = count_text(len(vulns), "vulnerability") if checked else "not checked"
    if kev_count:
        found += f" ({kev_count} known exploited)"
    distro = group.distribution
    return ServiceView(
        number=number,
        group=group,
        label=service.label,
        facts=tuple((k, v) for k, v in facts if v),
        meaning=STATUS_MEANING[group.status],
        checked=checked,
        vulns=vulns,
        kev_count=kev_count,
        max_severity=group.max_severity,
        max_score=max((v.score for v in group.vulnerabilities), default=-1.0),
        severities=group.severity_counts(),
        summary=f"{found} \u00b7 {count_text(group.location_count, 'location')}",
        distribution=distro.label if distro else "",
        distribution_evidence=distro.evidence if distro else "",
        backports=backport_tallies(group) if distro and checked else (),
        fixed=tuple(fixed_view(v) for v in group.fixed),
    )


@dataclass(frozen=True, slots=True)
class KevFinding:
    """A known exploited vulnerability and the services it was found on."""

    vuln: VulnView
    where: tuple[tuple[ServiceView, VulnView], ...]
    """Each service, with the vulnerability as found there (its confidence may differ)."""


def kev_findings(services: tuple[ServiceView, ...]) -> tuple[KevFinding, ...]:
    """Every distinct KEV vulnerability, most likely exploited first."""
    found: dict[str, list[tuple[ServiceView, VulnView]]] = {}
    for service in services:
        for x in service.vulns:
            if x.kev:
                found.setdefault(x.vuln.id, []).append((service, x))
    findings = (KevFinding(where[0][1], tuple(where)) for where in found.values())
    return tuple(sorted(findings, key=lambda k: vulnerability_order(k.vuln.vuln)))


# -- fleet coverage (merged reports) ---------------------------------------------------------

NO_SITE = "(no site)"
"""How parts merged without a ``--site`` label are named in the coverage tables."""


def ranges_text(numbers: Iterable[int]) -> str:
    """``3, 7-9, 12``: every number, runs shortened."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def time_text(value: str) -> str:
    """``2024-05-01 10:00:00Z`` for an ISO 8601 time with an offset (in UTC), the same without
    the ``Z`` for one without; anything else as it is."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def part_label(site: str, shard: Shard | None, source: str = "") -> str:
    """``site dc1, shard 3/16`` (as ``PartSummary.label``); ``source`` with neither."""
    words = [f"site {site}"] if site else []
    words += [f"shard {shard}"] if shard else []
    return ", ".join(words) or source


def source_root(sources: Iterable[str]) -> str:
    """The longest ``/``-ended prefix every source shares ('' when none): shown once, so that
    each row shows only what tells it apart."""
    names = list(sources)
    if not names:
        return ""
    first, last = min(names), max(names)
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    return first[: first.rfind("/", 0, common) + 1]


@dataclass(frozen=True, slots=True)
class SiteCoverage:
    """How much of one site the merged report covers."""

    site: str
    """The site label; '' for parts merged without one."""
    name: str
    """The site, or ``NO_SITE``."""
    parts: int
    """Reports read for it."""
    expected: int
    """Shards it was cut into (N of ``--shard I/N``); 0 when none of its parts is a shard."""
    present: int
    """Distinct shards of those N read."""
    missing: tuple[int, ...]
    """Shard numbers no report covers."""
    interrupted: tuple[str, ...]
    """Parts whose Nmap run was cut off: their shard (``3/16``), or label when unsharded."""
    with_errors: int
    """Parts that reported scan errors."""

    @property
    def missing_text(self) -> str:
        return ranges_text(self.missing)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.interrupted

    @property
    def shards_text(self) -> str:
        """``3 / 4``, or ``not sharded``."""
        return f"{self.present} / {self.expected}" if self.expected else "not sharded"


@dataclass(frozen=True, slots=True)
class PartRow:
    """One row of the parts table: a part read, or a shard no report covers."""

    label: str
    started: str
    finished: str
    hosts_up: str
    hosts_down: str
    status: str
    """``complete``, ``INCOMPLETE (interrupted)``, ``2 errors``, both, or ``MISSING``."""
    kind: str
    """``complete``, ``errors``, ``incomplete`` or ``missing`` (the worst first): for styling."""
    source: str
    """Where the part was read from, without the section's ``source_root``; '' when missing."""


@dataclass(frozen=True, slots=True)
class MissingRange:
    """The shards of one site that no report covers, runs shortened."""

    site: str
    """``site dc-1``, or ``NO_SITE``."""
    shards: str
    """``4, 7-9``."""
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class FleetView:
    """What a merged report (``brulee merge``) covers: per site, then per part."""

    sites: tuple[SiteCoverage, ...]
    rows: tuple[PartRow, ...]
    """Every part and every missing shard, by site, then shard."""
    missing: tuple[MissingRange, ...]
    """The missing shards, per site; () when none is missing."""
    interrupted: tuple[tuple[str, str], ...]
    """(``site dc-1`` or ``NO_SITE``, its interrupted parts) for every site that has any."""
    source_root: str
    """The prefix the sources share, shown once; each row shows the rest."""
    parts: int
    expected: int
    present: int
    missing_count: int
    interrupted_count: int
    error_count: int
    headline: str
    """``3 parts, 1 site: 3 of 4 shards present, 1 MISSING, 0 interrupted``."""

    @property
    def complete(self) -> bool:
        return not self.missing_count and not self.interrupted_count


def _part_row(part: PartSummary, root: str) -> PartRow:
    states = ["INCOMPLETE (interrupted)"] if part.incomplete else []
    states += [count_text(len(part.errors), "error")] if part.errors else []
    kind = "incomplete" if part.incomplete else "errors" if part.errors else "complete"
    finished = part.finished or ("not finished" if part.incomplete else "unknown")
    return PartRow(
        label=part.label,
        started=time_text(part.started) or "unknown",
        finished=time_text(finished),
        hosts_up=str(part.hosts_up),
        hosts_down=str(part.hosts_down),
        status=", ".join(states) or "complete",
        kind=kind,
        source=part.source[len(root) :] or part.source,
    )


def _missing_row(gap: MissingShard) -> PartRow:
    label = part_label(gap.site, Shard(gap.index, gap.count))
    return PartRow(label, "", "", "", "", "MISSING", "missing", "")


def _row_order(site: str, shard: Shard | None, source: str) -> tuple[str, int, int, str]:
    """By site, then shard count and number (unsharded first), as ``brulee merge`` orders."""
    return (site, shard.count if shard else 0, shard.index if shard else 0, source)


def _site_coverage(site: str, parts: list[PartSummary], gaps: list[MissingShard]) -> SiteCoverage:
    shards = [p.shard for p in parts if p.shard]
    counts = Counter(s.count for s in shards)
    # N: what the merge checked against (its missing shards say), else what most parts carry.
    expected = gaps[0].count if gaps else max(counts, key=lambda n: (counts[n], n), default=0)
    return SiteCoverage(
        site=site,
        name=site or NO_SITE,
        parts=len(parts),
        expected=expected,
        present=len({s.index for s in shards if s.count == expected}),
        missing=tuple(sorted({g.index for g in gaps})),
        interrupted=tuple(str(p.shard) if p.shard else p.label for p in parts if p.incomplete),
        with_errors=sum(1 for p in parts if p.errors),
    )


def fleet_view(parts: tuple[PartSummary, ...], missing: tuple[MissingShard, ...]) -> FleetView:
    """The coverage section of a merged report, derived from its parts and missing shards."""
    by_site: dict[str, tuple[list[PartSummary], list[MissingShard]]] = {}
    for part in parts:
        by_site.setdefault(part.site, ([], []))[0].append(part)
    for gap in missing:
        by_site.setdefault(gap.site, ([], []))[1].append(gap)
    sites = tuple(_site_coverage(s, *by_site[s]) for s in sorted(by_site))
    root = source_root(p.source for p in parts)
    ordered = sorted(
        [(_row_order(p.site, p.shard, p.source), _part_row(p, root)) for p in parts]
        + [(_row_order(g.site, Shard(g.index, g.count), ""), _missing_row(g)) for g in missing],
        key=lambda pair: pair[0],
    )
    gaps = tuple(
        MissingRange(
            part_label(s.site, None) or NO_SITE, s.missing_text, len(s.missing), s.expected
        )
        for s in sites
        if s.missing
    )
    expected = sum(s.expected for s in sites)
    present = sum(s.present for s in sites)
    missing_count = sum(len(s.missing) for s in sites)
    interrupted = sum(len(s.interrupted) for s in sites)
    coverage = (
        f"{present} of {expected} shards present, {missing_count} MISSING"
        if expected
        else "not sharded"
    )
    headline = (
        f"{count_text(len(parts), 'part')}, {count_text(len(sites), 'site')}: {coverage}, "
        + (f"{interrupted} INTERRUPTED" if interrupted else "0 interrupted")
    )
    return FleetView(
        sites=sites,
        rows=tuple(row for _, row in ordered),
        missing=gaps,
        interrupted=tuple(
            (part_label(s.site, None) or NO_SITE, ", ".join(s.interrupted))
            for s in sites
            if s.interrupted
        ),
        source_root=root,
        parts=len(parts),
        expected=expected,
        present=present,
        missing_count=missing_count,
        interrupted_count=interrupted,
        error_count=sum(s.with_errors for s in sites),
        headline=headline,
    )


def fleet_incomplete_text(fleet: FleetView) -> str:
    """The banner of an incomplete merged report: what is missing, in counts."""
    gaps = []
    if fleet.missing_count:
        verb = "is" if fleet.missing_count == 1 else "are"
        gaps.append(
            f"{fleet.missing_count} of {fleet.expected} shards {verb} MISSING "
            f"(at {count_text(len(fleet.missing), 'site')})"
        )
    if fleet.interrupted_count:
        verb = "was" if fleet.interrupted_count == 1 else "were"
        gaps.append(f"{count_text(fleet.interrupted_count, 'part')} {verb} interrupted")
    return (
        f"INCOMPLETE fleet report: {' and '.join(gaps) or 'some scans did not finish'}. The "
        "hosts of those slices are not (all) in this report, and the absence of a finding there "
        "proves nothing: see Fleet coverage."
    )


# -- changes since the previous scan (history) -------------------------------------------------


def where_text(address: str, hostname: str, port: int | None = None, protocol: str = "") -> str:
    """``10.0.0.5 (www.example.com) 80/tcp``: a location in one cell."""
    text = f"{address} ({hostname})" if hostname and hostname != address else address
    return f"{text} {port_text(port, protocol)}" if port is not None else text


def date_text(value: str) -> str:
    """The date of an ISO 8601 time (in UTC when it has an offset); anything else as it is."""
    return time_text(value).partition(" ")[0]


def age_text(days: int | None) -> str:
    """``today``, ``1 day``, ``12 days``; '' when unknown (a fixed finding)."""
    if days is None:
        return ""
    return "today" if days <= 0 else _plural(days, "day", "days")


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A tracked finding as the change tables show it."""

    id: str
    severity: str
    kev: bool
    service: str
    where: str
    first_seen: str
    """The date it was first seen."""
    age: str
    """``12 days``: open so far, or (fixed) until the scan that found it gone; '' unknown."""


@dataclass(frozen=True, slots=True)
class PortRow:
    where: str
    service: str


@dataclass(frozen=True, slots=True)
class ChangeRow:
    where: str
    old: str
    new: str


def _days_between(start: str, end: str) -> int | None:
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        return (last - first).days
    except (TypeError, ValueError):  # unparsable, or one naive and one aware
        return None


def _finding_row(f: TrackedFinding, fixed_at: str = "") -> FindingRow:
    """``fixed_at``: when a fixed finding was found gone (its age is then counted up to it)."""
    age = f.age_days if not fixed_at else _days_between(f.first_seen, fixed_at)
    return FindingRow(
        id=f.id,
        severity=f.severity,
        kev=f.kev,
        service=f.service,
        where=where_text(f.address, f.hostname, f.port, f.protocol),
        first_seen=date_text(f.first_seen),
        age=age_text(age),
    )


def _port_row(p: TrackedPort) -> PortRow:
    return PortRow(where_text(p.address, p.hostname, p.port, p.protocol), p.service)


def _change_row(c: ServiceChange) -> ChangeRow:
    return ChangeRow(where_text(c.address, c.hostname, c.port, c.protocol), c.old, c.new)


def scan_ref_text(ref: ScanRef) -> str:
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    return f"scan {ref.id} of {time_text(ref.scanned_at)}"


@dataclass(frozen=True, slots=True)
class FindingTable:
    """One table of the changes section."""

    name: str
    """An id fragment: ``new``, ``reappeared``, ``fixed``."""
    title: str
    lead: str
    rows: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class ChangesView:
    """The "Changes since the previous scan" section: a headline, then compact tables."""

    changes: Changes
    previous: str
    """``scan 12 of 2024-05-01 10:00:00Z``."""
    current: str
    headline: str
    """``2 new, 0 reappeared, 1 fixed, 5 still open; 1 new port, 1 closed; 1 changed version``."""
    findings: tuple[FindingTable, ...]
    """New, reappeared and fixed, each only when it has rows."""
    new_ports: tuple[PortRow, ...]
    closed_ports: tuple[PortRow, ...]
    changed: tuple[ChangeRow, ...]
    missing_hosts: tuple[str, ...]
    missing_text: str
    """Why the missing hosts' findings count as neither fixed nor open."""
    empty: bool
    alert: bool
    """New findings appeared: show the section open and highlighted."""


def _plural(count: int, noun: str, plural: str) -> str:
    return f"{count} {noun if count == 1 else plural}"


def changes_view(changes: Changes) -> ChangesView:
    """What every format shows about ``changes``."""
    c = changes
    headline = (
        f"{len(c.new_findings)} new, {len(c.reappeared_findings)} reappeared, "
        f"{len(c.fixed_findings)} fixed, {c.still_open} still open; "
        f"{_plural(len(c.new_ports), 'new port', 'new ports')}, "
        f"{_plural(len(c.closed_ports), 'closed port', 'closed ports')}; "
        + _plural(len(c.changed_services), "changed version", "changed versions")
        + (f"; {_plural(len(c.missing_hosts), 'host', 'hosts')} not found up"
           if c.missing_hosts else "")
    )  # fmt: skip
    tables = (
        FindingTable(
            "new", "New findings", "Never seen before at this site.",
            tuple(_finding_row(f) for f in c.new_findings),
        ),
        FindingTable(
            "reappeared", "Reappeared findings",
            "Absent from the previous scan but seen by an earlier one: a fix that did not last, "
            "a host back from being unreachable, or first found by another scope.",
            tuple(_finding_row(f) for f in c.reappeared_findings),
        ),
        FindingTable(
            "fixed", "Fixed findings",
            "In the previous scan, gone from this one on a host it found up.",
            tuple(_finding_row(f, c.current.scanned_at) for f in c.fixed_findings),
        ),
    )  # fmt: skip
    return ChangesView(
        changes=c,
        previous=scan_ref_text(c.previous),
        current=scan_ref_text(c.current),
        headline=headline,
        findings=tuple(t for t in tables if t.rows),
        new_ports=tuple(_port_row(p) for p in c.new_ports),
        closed_ports=tuple(_port_row(p) for p in c.closed_ports),
        changed=tuple(_change_row(x) for x in c.changed_services),
        missing_hosts=c.missing_hosts,
        missing_text=(
            "Up in the previous scan, not found up by this one: their ports and findings are "
            "unknown, not closed or fixed."
        ),
        empty=c.empty,
        alert=bool(c.new_findings or c.reappeared_findings),
    )


# -- suppressions (appendix) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryView:
    """A suppression entry in words."""

    cve: str
    reason: str
    author: str
    expires: str
    """``2026-06-30``, or ``never``."""
    scope: str
    """``product OpenSSH, host 10.0.0.5, port 22/tcp``, or ``everywhere``."""
    origin: str
    """``suppressions.yaml:12``."""


def entry_view(entry: Suppression) -> EntryView:
    port = f"{entry.port}/{entry.protocol}" if entry.port and entry.protocol else entry.port
    scope = [
        f"{name} {value}"
        for name, value in (
            ("product", entry.product),
            ("version", entry.version),
            ("host", entry.host),
            ("port", port),
            ("cidr", entry.cidr),
        )
        if value is not None
    ]
    return EntryView(
        cve=entry.cve,
        reason=entry.reason,
        author=entry.author,
        expires=entry.expires.isoformat() if entry.expires else "never",
        scope=", ".join(scope) or "everywhere",
        origin=entry.origin,
    )


@dataclass(frozen=True, slots=True)
class SuppressedItem:
    """One suppressed vulnerability of one service."""

    vuln: VulnView
    complete: bool
    extent: str
    """``all 3 locations``, or ``2 of 5 locations``: what the entries cover."""
    entries: tuple[EntryView, ...]
    locations: tuple[tuple[str, str], ...]
    """Partial only: (location, the entry's origin) where it is suppressed."""


@dataclass(frozen=True, slots=True)
class SuppressedService:
    label: str
    protocol: str
    items: tuple[SuppressedItem, ...]


def _suppressed_item(s: Suppressed, locations: int) -> SuppressedItem:
    if s.complete:
        extent = f"all {count_text(locations, 'location')}" if locations != 1 else "its location"
    else:
        extent = f"{len(s.locations)} of {count_text(s.location_count or locations, 'location')}"
    return SuppressedItem(
        vuln=vuln_view(s.vulnerability),
        complete=s.complete,
        extent=extent,
        entries=tuple(entry_view(e) for e in s.entries),
        locations=tuple(
            (
                where_text(
                    a.location.address, a.location.hostname, a.location.port, a.location.protocol
                ),
                a.entry.origin or a.entry.cve,
            )
            for a in s.locations
        ),
    )


@dataclass(frozen=True, slots=True)
class SuppressionsView:
    """The appendix of suppressed findings, and the line near the top that points to it."""

    services: tuple[SuppressedService, ...]
    expired: tuple[EntryView, ...]
    stale: tuple[EntryView, ...]
    complete: int
    """Findings (vulnerabilities of a service) removed from the main sections."""
    partial: int
    """Findings suppressed at some of their locations only (still in the main sections)."""
    headline: str
    """``3 findings suppressed (see appendix); 1 partially; 1 suppression expired``."""


def suppressions_view(applied: Applied) -> SuppressionsView:
    services = tuple(
        SuppressedService(
            label=s.group.service.label,
            protocol=s.group.protocol,
            items=tuple(_suppressed_item(x, s.group.location_count) for x in s.suppressed),
        )
        for s in applied.suppressed
        if s.suppressed
    )
    complete = applied.count
    partial = sum(len(s.partial) for s in applied.suppressed)
    words = [
        f"{_plural(complete, 'finding', 'findings')} suppressed"
        + (f", {partial} more at some locations only" if partial else "")
        + " (see appendix)"
    ]
    if applied.expired:
        words.append(f"{_plural(len(applied.expired), 'suppression', 'suppressions')} EXPIRED")
    if applied.stale:
        words.append(f"{len(applied.stale)} matched nothing")
    return SuppressionsView(
        services=services,
        expired=tuple(entry_view(e) for e in applied.expired),
        stale=tuple(entry_view(e) for e in applied.stale),
        complete=complete,
        partial=partial,
        headline="; ".join(words),
    )


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
    statuses: tuple[Count, ...]
    services: tuple[ServiceView, ...]
    kev: tuple[KevFinding, ...]
    kev_lead: str
    """The sentence above the KEV list, or saying why it is empty."""
    legend: tuple[tuple[str, str], ...]
    fleet: FleetView | None = None
    """Coverage per site and part; None unless the report was merged from parts."""
    changes: ChangesView | None = None
    """Changes since the previous scan of the same scope; None without one."""
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
    kev = kev_findings(services)
    severities = report.severity_counts()
    totals = (
        ("known exploited (KEV)", len(kev)),
        ("services", len(report.services)),
        ("vulnerabilities", sum(severities.values())),
        ("locations", sum(g.location_count for g in report.services)),
        ("hosts up", run.hosts_up),
        ("hosts down", run.hosts_down),
    )
    unverified = {v.id for g in report.services for v in g.vulnerabilities
                  if v.confidence == "unverified-backport"}  # fmt: skip
    fixed = {v.id for g in report.services for v in g.fixed}
    backports = (
        Tally(len(unverified), "unverified backports (kept, counted above)", "unverified"),
        Tally(len(fixed), "fixed by the distribution (set aside, not counted)", "fixed"),
    )
    if kev:
        kev_lead = "CISA lists these as exploited in the wild: fix them first."
    elif scan.database:
        kev_lead = "None of the vulnerabilities found is in CISA's KEV catalog."
    else:
        kev_lead = "No KEV data: no vulnerability database was used."
    inputs = tuple(Path(name).name for name in scan.inputs)
    fleet = fleet_view(scan.parts, scan.missing_shards) if scan.parts else None
    applied = report.suppressed
    # A merged report that misses a shard is incomplete, whatever its run says.
    incomplete = run.incomplete or bool(fleet and not fleet.complete)
    return ReportView(
        report=report,
        title=TITLE,
        subtitle=targets_text(scan.targets)
        or targets_text(inputs)
        or (f"merged from {count_text(fleet.parts, 'part')}" if fleet else ""),
        facts=tuple((k, v) for k, v in facts if v),
        incomplete=incomplete,
        incomplete_text=fleet_incomplete_text(fleet)
        if fleet and not fleet.complete
        else INCOMPLETE,
        errors=run.errors,
        warnings=scan.warnings,
        totals=totals,
        backports=backports,
        severities=_counts(dict(severities), SEVERITIES),
        statuses=_counts(dict(report.status_counts()), STATUSES),
        services=services,
        kev=kev,
        kev_lead=kev_lead,
        legend=LEGEND,
        fleet=fleet,
        changes=changes_view(report.changes) if report.changes is not None else None,
        suppressed=suppressions_view(applied)
        if applied is not None and (applied.suppressed or applied.expired or applied.stale)
        else None,
    )


TEMPLATE_HELPERS: dict[str, Callable[..., Any]] = {
    "safe_url": safe_url,
    "count_text": count_text,
    "port_text": port_text,
    "open_port_text": open_port_text,
    "host_status": host_status,
    "age_text": age_text,
}


def environment(*, autoescape: bool, **options: Any) -> jinja2.Environment:
    """A Jinja environment over ``brulee/report/templates`` with the shared helpers.

    ``autoescape`` is HTML escaping; other formats escape with their own ``finalize``.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brulee.report", "templates"),
        autoescape=autoescape,  # noqa: S701 - Markdown and LaTeX escape in their finalize
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        **options,
    )
    env.globals.update(TEMPLATE_HELPERS)
    return env


def stream(template: jinja2.Template, path: Path, **context: Any) -> None:
    """Render ``template`` chunk by chunk into ``path`` (never the whole document in memory)."""
    try:
        with path.open("w", encoding="utf-8", errors="replace", newline="\n") as out:
            for chunk in template.generate(**context):
                out.write(chunk)
    except OSError as exc:
        raise ReportError(f"cannot write report {path}: {exc.strerror or exc}") from exc
