"""What the human-readable reports show, derived once from a Report, and how templates stream.

HTML, Markdown and LaTeX render the same ``ReportView``; each escapes it for its own format.
Per-host data stays a stream from the spool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from brulee.errors import ReportError
from brulee.findings import ServiceGroup
from brulee.report.interface import Report
from brulee.spool import HostRecord, Location, OpenPort
from brulee.vulns.interface import SEVERITIES, Severity, Status, Vulnerability

TITLE = "Vulnerability report"

STATUSES: tuple[Status, ...] = ("vulnerable", "unknown", "unchecked", "unversioned", "clean")
"""Display order: most urgent first, ``clean`` last."""

STATUS_MEANING: dict[Status, str] = {
    "vulnerable": "known vulnerabilities apply to this version",
    "clean": "checked: no known vulnerability applies to this version",
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
}
"""Severity and status colours (fill, text) as RGB hex, shared by every format."""

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
class ServiceView:
    """A service group with the values every format shows about it."""

    number: int
    group: ServiceGroup
    label: str
    facts: tuple[tuple[str, str], ...]
    meaning: str
    checked: bool
    """False for every status that means "could not be checked"; such a service is never clean."""
    max_severity: Severity | None
    max_score: float
    severities: dict[Severity, int]
    summary: str
    """``3 vulnerabilities · 2 locations``; never a vulnerability count for an unchecked one."""

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
    found = count_text(len(group.vulnerabilities), "vulnerability") if checked else "not checked"
    return ServiceView(
        number=number,
        group=group,
        label=service.label,
        facts=tuple((k, v) for k, v in facts if v),
        meaning=STATUS_MEANING[group.status],
        checked=checked,
        max_severity=group.max_severity,
        max_score=max((v.score for v in group.vulnerabilities), default=-1.0),
        severities=group.severity_counts(),
        summary=f"{found} \u00b7 {count_text(group.location_count, 'location')}",
    )


@dataclass(frozen=True, slots=True)
class ReportView:
    """The report as every human-readable format lays it out."""

    report: Report
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    incomplete: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    totals: tuple[tuple[str, int], ...]
    severities: tuple[Count, ...]
    statuses: tuple[Count, ...]
    services: tuple[ServiceView, ...]

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
        ("Nmap command", run.args or "not recorded"),
        ("Nmap version", run.scanner_version or "unknown"),
        ("Started", run.started or "unknown"),
        ("Finished", run.finished or ("not finished" if run.incomplete else "unknown")),
        ("Hosts up", str(run.hosts_up)),
        ("Hosts down", str(run.hosts_down)),
        ("Nmap XML", " ".join(scan.inputs)),
        ("Report generated", f"{scan.generated} by brulee {scan.tool_version}"),
    ]
    severities = report.severity_counts()
    totals = (
        ("services", len(report.services)),
        ("vulnerabilities", sum(severities.values())),
        ("locations", sum(g.location_count for g in report.services)),
        ("hosts up", run.hosts_up),
        ("hosts down", run.hosts_down),
    )
    return ReportView(
        report=report,
        title=TITLE,
        subtitle=targets_text(scan.targets),
        facts=tuple((k, v) for k, v in facts if v),
        incomplete=run.incomplete,
        errors=run.errors,
        warnings=scan.warnings,
        totals=totals,
        severities=_counts(dict(severities), SEVERITIES),
        statuses=_counts(dict(report.status_counts()), STATUSES),
        services=tuple(service_view(n, g) for n, g in enumerate(report.services, 1)),
    )


TEMPLATE_HELPERS: dict[str, Callable[..., Any]] = {
    "safe_url": safe_url,
    "cvss_text": cvss_text,
    "count_text": count_text,
    "port_text": port_text,
    "open_port_text": open_port_text,
    "host_status": host_status,
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
