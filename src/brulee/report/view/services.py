"""Services as every format shows them: statuses, colours, vulnerabilities, and the KEV list."""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.findings import ServiceGroup
from brulee.core.vulnerability import (
    Severity,
    Status,
    Vulnerability,
    established,
    vulnerability_order,
)
from brulee.report.view.text import cvss_text, epss_text, fixed_text, kev_text, vex_text
from brulee.util.text import count_text

STATUSES: tuple[Status, ...] = (
    "vulnerable", "possibly-vulnerable", "unknown", "unchecked", "unversioned", "clean",
)  # fmt: skip
"""Display order: most urgent first, ``clean`` last."""

STATUS_MEANING: dict[Status, str] = {
    "vulnerable": "known vulnerabilities apply to this version",
    "possibly-vulnerable": "known vulnerabilities may apply: none is certain (each is "
    "conditional, on a version range, unbounded, reported or an unverified backport)",
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
    "possibly-vulnerable": ("F4D3CF", "8A1C12"),
    "unknown": ("B54708", "FFFFFF"),
    "unchecked": ("B54708", "FFFFFF"),
    "unversioned": ("B54708", "FFFFFF"),
    "clean": ("2B7A3D", "FFFFFF"),
    "kev": ("6A1B9A", "FFFFFF"),
    "ransomware": ("1F2328", "FFFFFF"),
    "conditional": ("FCE7B2", "7A3E00"),
    "unverified-backport": ("E0E4FF", "3B2FA0"),
    "possible": ("ECEEF1", "3F4754"),
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
        "only if the platform condition named in the reason holds too, which the scan cannot see."
        " REPORTED: listed by a third-party source, not verified by brulee. VERSION-RANGE: the "
        "version is a label of Nmap's fingerprint that stands for a range, and the CVE applies to"
        " only part of it. UNBOUNDED: NVD lists every version of the product, with no bounds. "
        "UNVERIFIED BACKPORT: kept but uncertain: the upstream version matches, but the service "
        "is a distribution's package, which may carry a backported fix that no data here can "
        "confirm or rule out (the reason says why). Only certain findings make a service "
        "vulnerable and count in the headlines (status, severity counts, KEV fix-first list, "
        "--fail-on); the others are possible: shown and counted apart, and a service with only "
        "possible findings is possibly-vulnerable. fixed by distribution: the distribution's "
        "advisory fixed it at or below the running package revision; listed apart under the "
        "service, never counted as a finding.",
    ),
    (
        "Distribution",
        "the distribution and package revision recognised in the service's banner, and how "
        "many CVEs matching its upstream version the distribution fixed, are still open, or "
        "are unverified backports.",
    ),
    (
        "Order",
        "services: certain known exploited first, then by status, certain severity, then "
        "possible severity; vulnerabilities: known exploited first, then by EPSS, then by CVSS "
        "score.",
    ),
)
"""What the vulnerability tables' columns and markers mean, shown with the summary."""


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
    vex: tuple[str, ...] = ()
    """The OpenVEX statements that keep it, in words (``vex_text``)."""

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

    @property
    def possible(self) -> bool:
        """Not established: shown, never in the headlines (``ESTABLISHED``)."""
        return not established(self.vuln)


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
        vex=tuple(vex_text(note) for note in vuln.vex),
    )


@dataclass(frozen=True, slots=True)
class FixedView:
    """A CVE the distribution's package fixed: set aside, shown apart, never counted."""

    vuln: Vulnerability
    detail: str
    """Advisory and reason: ``DSA-4280-1 (2018-08-22): fixed in ...; this host runs ...``."""


def fixed_view(vuln: Vulnerability) -> FixedView:
    """The reason names the advisory; when it does not, the advisory is put first."""
    return FixedView(vuln, fixed_text(vuln))


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
    """Established findings in CISA KEV."""
    max_severity: Severity | None
    """The highest established severity: the service's badge."""
    max_score: float
    """The highest CVSS score of the established findings (-1 for none): the "highest CVSS"
    sort, which ranks by it first and by ``possible_score`` only after it."""
    severities: dict[Severity, int]
    """Established findings per severity."""
    summary: str
    """``3 vulnerabilities (1 known exploited) · 2 possible · 2 locations``; never a
    vulnerability count for an unchecked one."""
    distribution: str
    """``Debian stretch, package revision 10+deb9u7``; '' when no distribution was recognised."""
    distribution_evidence: str
    """What the scan reported that shows it: ``version "7.4p1 Debian 10+deb9u7"``."""
    backports: tuple[Tally, ...]
    """Fixed by the distribution, still open, unverified; () unless checked with a distribution."""
    fixed: tuple[FixedView, ...]
    """Set aside: not findings, not in any count but their own."""
    possible_severity: Severity | None = None
    """The highest severity of the possible findings: a ``possibly <severity>`` badge."""
    possible_severities: dict[Severity, int] | None = None
    """Possible findings per severity; None for none."""
    possible_kev: int = 0
    """Possible findings in CISA KEV."""
    possible_score: float = -1.0
    """The highest CVSS score of the possible findings (-1 for none)."""

    @property
    def key(self) -> str:
        return self.group.key

    @property
    def status(self) -> Status:
        return self.group.status


def lookup_text(group: ServiceGroup) -> str:
    """The NVD names the service was looked up under, and for an unknown service that none is
    in the database; '' when the report does not say (or nothing was looked up and the service
    was checked otherwise)."""
    names = ", ".join(group.nvd_names or ())
    if group.status != "unknown" or group.nvd_names is None:
        return names
    if not names:
        return "no NVD name is known for this product"
    return f"{names}: not in the vulnerability database"


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
        ("Looked up as", lookup_text(group)),
    ]
    checked = group.status in ("vulnerable", "possibly-vulnerable", "clean")
    vulns = tuple(vuln_view(v) for v in group.vulnerabilities)
    kev_count = sum(x.kev for x in vulns if not x.possible)
    possible_kev = sum(x.kev for x in vulns if x.possible)
    possible = len(group.vulnerabilities) - len(group.established)
    found = count_text(len(vulns) - possible, "vulnerability") if checked else "not checked"
    if kev_count:
        found += f" ({kev_count} known exploited)"
    if possible:
        found += f" \u00b7 {possible} possible"
        found += f" ({possible_kev} in KEV)" if possible_kev else ""
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
        max_score=max((v.score for v in group.established), default=-1.0),
        severities=group.severity_counts(),
        summary=f"{found} \u00b7 {count_text(group.location_count, 'location')}",
        distribution=distro.label if distro else "",
        distribution_evidence=distro.evidence if distro else "",
        backports=backport_tallies(group) if distro and checked else (),
        fixed=tuple(fixed_view(v) for v in group.fixed),
        possible_severity=group.possible_severity,
        possible_severities=group.severity_counts(possible=True) if possible else None,
        possible_kev=possible_kev,
        possible_score=max((v.score for v in group.possible), default=-1.0),
    )


@dataclass(frozen=True, slots=True)
class KevFinding:
    """A known exploited vulnerability and the services it was found on."""

    vuln: VulnView
    where: tuple[tuple[ServiceView, VulnView], ...]
    """Each service, with the vulnerability as found there (its confidence may differ)."""

    @property
    def established(self) -> bool:
        """Established on at least one service: to be fixed first."""
        return any(not x.possible for _, x in self.where)


def kev_findings(services: tuple[ServiceView, ...]) -> tuple[KevFinding, ...]:
    """Every distinct KEV vulnerability, most likely exploited first; ``vuln`` is its
    best-founded record (established where it is established)."""
    found: dict[str, list[tuple[ServiceView, VulnView]]] = {}
    for service in services:
        for x in service.vulns:
            if x.kev:
                found.setdefault(x.vuln.id, []).append((service, x))
    findings = (
        KevFinding(min((x for _, x in where), key=lambda x: x.possible), tuple(where))
        for where in found.values()
    )
    return tuple(sorted(findings, key=lambda k: vulnerability_order(k.vuln.vuln)))
