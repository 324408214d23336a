"""DefectDojo's Generic Findings Import (JSON): one finding per vulnerability per service, its
locations as endpoints, written as a stream.

The fields are those DefectDojo's parser (``dojo/tools/generic/json_parser.py``) accepts; it
refuses a file with any other. Each finding carries the CVE (``vulnerability_ids``), CWE ids
(``cwe``, ``cwes``), severity and CVSS (v3 and v4 vectors and scores; v2 only in the severity
justification, which is where DefectDojo has room for it), EPSS, CISA KEV (``known_exploited``,
``kev_date``, ``ransomware_used``), the remediation line (``mitigation``, ``fix_available``), a
stable ``unique_id_from_tool`` (the service identity and the CVE) and brulee's confidence
(``scanner_confidence``, a tag, and with its reason in the description).

Findings suppressed at every location (suppression file, history store or VEX) are imported
risk-accepted and inactive, with the reason; one suppressed at some locations becomes two
findings, open where it applies and risk-accepted where it is suppressed. CVEs the distribution
fixed are left out, listed in the description of the service's other findings. A service brulee
could not check (``unknown``, ``unversioned``, ``unchecked``) is one ``Info`` finding that says
so, so that it never looks clean. The description holds no per-scan figures (EPSS, location
counts, dates ride in their own fields), so DefectDojo's default hash-code deduplication (title,
CWE, description) keeps a finding the same from one import to the next.

DefectDojo renders descriptions, mitigations and references as Markdown: every value there is
escaped (:func:`brulee.report.markdown.md_escape`), so a banner shows as literal text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from brulee.core.findings import Location, ServiceGroup
from brulee.core.report import Report
from brulee.core.suppression import Suppressed, Suppression, ip_address_of
from brulee.core.vulnerability import Confidence, Severity, Vulnerability, cwe_numbers, established
from brulee.report.interface import Renderer, report_file
from brulee.report.jsontext import dump
from brulee.report.markdown import md_escape, md_link
from brulee.report.view.report import INCOMPLETE
from brulee.report.view.services import STATUS_MEANING
from brulee.report.view.text import (
    cvss_text,
    date_text,
    fixed_text,
    kev_text,
    printable,
    safe_url,
    vex_text,
)

TEST_TYPE = "brulee Scan"
"""The test type DefectDojo files the findings under (the document's ``type``)."""
SEVERITIES: dict[Severity, str] = {
    "critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "unscored": "Info",
}  # fmt: skip
SCANNER_CONFIDENCE: dict[Confidence, int] = {
    "certain": 1, "conditional": 6, "reported": 7, "version-range": 6, "unbounded": 7,
    "unverified-backport": 7, "fixed-by-distribution": 1,
}  # fmt: skip
"""DefectDojo reads 1-2 as Certain, 3-5 as Firm, 6 and above as Tentative: every possible
finding (not ``ESTABLISHED``) is Tentative."""
_CVSS3 = re.compile(r"CVSS:3\.[01](/[A-Z]{1,3}:[A-Z])+")
_CVSS4 = re.compile(r"CVSS:4\.0(/[A-Z]{1,3}:[A-Z])+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HOST = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]+")
"""A host DefectDojo's Endpoint accepts (or an IP address)."""
_PROTOCOL = re.compile(r"[A-Za-z][A-Za-z0-9.+-]{1,19}")
_LIMITS = {"title": 511, "service": 200, "component_name": 500, "component_version": 100}


def _clip(name: str, text: str) -> str:
    return printable(text)[: _LIMITS[name]]


def _date(text: str) -> str | None:
    day = date_text(text)
    return day if _DATE.fullmatch(day) else None


def endpoint(loc: Location) -> dict[str, Any] | None:
    """The location as a DefectDojo endpoint; None when DefectDojo would refuse its host."""
    host = loc.address
    if ip_address_of(host) is None and not _HOST.fullmatch(host):
        return None
    data: dict[str, Any] = {"host": host, "port": int(loc.port)}
    return data | ({"protocol": loc.protocol} if _PROTOCOL.fullmatch(loc.protocol) else {})


def _cvss_fields(vuln: Vulnerability) -> dict[str, Any]:
    """``cvssv3``/``cvssv4`` and their scores (DefectDojo has no field for CVSS v2)."""
    cvss = vuln.cvss
    if cvss is None or cvss.score <= 0:
        return {}
    vector = cvss.vector or ""
    for major, pattern in (("3", _CVSS3), ("4", _CVSS4)):
        if (cvss.version or "").startswith(major):
            name = f"cvssv{major}"
            return {f"{name}_score": cvss.score} | (
                {name: vector} if pattern.fullmatch(vector) else {}
            )
    return {}


def _justification(vuln: Vulnerability) -> str:
    if vuln.cvss is None or vuln.cvss.score <= 0:
        return md_escape("Unscored: NVD's data has no CVSS score for it yet; imported as Info.")
    text = f"{SEVERITIES[vuln.severity]}: CVSS {cvss_text(vuln)}"
    return md_escape(text + (f", {vuln.cvss.vector}" if vuln.cvss.vector else "") + ".")


def _lines(group: ServiceGroup, vuln: Vulnerability) -> list[str]:
    """The description of one vulnerability on one service, escaped for Markdown."""
    service = group.service
    lines = [
        f"**{md_escape(vuln.id)}** in **{md_escape(_software(group))}** "
        f"({md_escape(service.name or 'unknown')}/{md_escape(group.protocol)}), found by brulee.",
        "",
        md_escape(vuln.description) or "No description.",
        "",
        f"**Confidence:** {md_escape(vuln.confidence)}"
        + (f" \u2014 {md_escape(vuln.reason)}" if vuln.reason else ""),
    ]
    if vuln.kev:
        lines.append(f"**Known exploited:** {md_escape(kev_text(vuln))}")
    if group.distribution:
        lines.append(f"**Distribution:** {md_escape(group.distribution.label)}")
    if vuln.advisory:
        lines.append(f"**Advisory:** {md_escape(vuln.advisory)}")
    if vuln.cwes:
        lines.append(f"**Weakness:** {md_escape(', '.join(vuln.cwes))}")
    lines += [f"**{md_escape(vex_text(note))}**" for note in vuln.vex]
    lines.append(f"**Sources:** {md_escape(', '.join(vuln.sources) or 'unknown')}")
    if vuln.exploits:
        lines.append(f"**Exploits:** {md_escape(', '.join(vuln.exploits))}")
    if group.fixed:
        fixed = "; ".join(f"{v.id} ({fixed_text(v)})" for v in group.fixed)
        lines.append(f"**Fixed by the distribution on this service, not imported:** "
                     f"{md_escape(fixed)}")  # fmt: skip
    return lines


def _software(group: ServiceGroup) -> str:
    """``Apache httpd 2.4.49 (Unix)``: the label and Nmap's extra information, which tells apart
    services of one product and version."""
    service = group.service
    return f"{service.label} {service.extrainfo}" if service.extrainfo else service.label


def _accepted_lines(suppressed: Suppressed) -> list[str]:
    return [f"**Suppressed** ({md_escape(_where(suppressed))}) by {_entry(e)}"
            for e in suppressed.entries]  # fmt: skip


def _where(suppressed: Suppressed) -> str:
    return "every location" if suppressed.complete else "some locations"


def _entry(entry: Suppression) -> str:
    scope = ", ".join(entry.scope) or "everywhere"
    until = f", until {entry.expires}" if entry.expires else ""
    return md_escape(f"{entry.author}: {entry.reason} ({entry.origin}; {scope}{until})")


class DefectDojoRenderer(Renderer):
    """One Generic Findings Import document; endpoints stream from the spool."""

    extension = "defectdojo.json"

    def render(self, report: Report, path: Path) -> None:
        with report_file(path) as out:
            self._write(report, out)

    def _write(self, report: Report, out: IO[str]) -> None:
        out.write(dump(_head(report))[:-1] + ', "findings": [')
        first = True
        for head, locations in _findings(report):
            out.write(("\n  " if first else ",\n  ") + dump(head)[:-1] + ', "endpoints": [')
            out.write(", ".join(dump(e) for e in map(endpoint, locations) if e) + "]}")
            first = False
        out.write("]}\n" if first else "\n]}\n")


def _head(report: Report) -> dict[str, Any]:
    scan = report.scan
    lines = [
        f"brulee {md_escape(scan.tool_version)} network scan: Nmap "
        f"{md_escape(scan.run.scanner_version)} service detection, offline CVE matching."
    ]
    if scan.run.incomplete:
        lines.append(f"**{md_escape(INCOMPLETE)}**")
    lines += [f"**Targets:** {md_escape(' '.join(scan.targets) or 'see the Nmap XML')}"]
    lines += [f"**Site:** {md_escape(scan.site)}"] if scan.site else []
    lines += [f"**Shard:** {md_escape(str(scan.shard))}"] if scan.shard else []
    lines += [f"**Database:** {md_escape(scan.database)}"] if scan.database else []
    lines += [f"**Warning:** {md_escape(w)}" for w in (*scan.run.errors, *scan.warnings)]
    return {
        "name": "brulee",
        "type": TEST_TYPE,
        "version": scan.tool_version,
        "description": "\n\n".join(lines),
        "dynamic_tool": True,
        "static_tool": False,
    }


def _findings(report: Report) -> Iterator[tuple[dict[str, Any], Iterator[Location]]]:
    """Each finding without its endpoints, and the locations that are its endpoints."""
    applied = report.suppressed
    day = _date(report.scan.run.finished or report.scan.run.started or report.scan.generated)
    for group in report.services:
        if group.status in ("unknown", "unversioned", "unchecked"):
            yield _not_checked(group, day), report.locations(group)
            continue
        partial = {}
        if applied is not None and (found := applied.for_group(group.key)) is not None:
            for item in found.suppressed:
                if item.complete:  # gone from the group: imported as accepted
                    yield _finding(group, item.vulnerability, day, item), report.locations(group)
                else:
                    partial[item.vulnerability.id] = item
        for vuln in group.vulnerabilities:
            some = partial.get(vuln.id)
            if some is None:
                yield _finding(group, vuln, day), report.locations(group)
                continue
            where = {at.location for at in some.locations}
            open_at = (loc for loc in report.locations(group) if loc not in where)
            yield _finding(group, vuln, day), open_at
            yield _finding(group, vuln, day, some), iter(sorted(where, key=_order))


def _order(loc: Location) -> tuple[str, int, str]:
    return (loc.address, loc.port, loc.protocol)


def _finding(
    group: ServiceGroup, vuln: Vulnerability, day: str | None, accepted: Suppressed | None = None
) -> dict[str, Any]:
    service = group.service
    lines = _lines(group, vuln) + (_accepted_lines(accepted) if accepted else [])
    tags = ["brulee", vuln.confidence] + ([] if established(vuln) else ["possible"])
    tags += ["kev"] if vuln.kev else []
    numbers = cwe_numbers(vuln)
    data: dict[str, Any] = {
        "title": _clip("title", f"{vuln.id} in {service.label}"),
        "severity": SEVERITIES[vuln.severity],
        "description": "\n\n".join(lines),
        "severity_justification": _justification(vuln),
        "vulnerability_ids": [vuln.id],
        **({"cwe": numbers[0], "cwes": list(numbers)} if numbers else {}),
        **_cvss_fields(vuln),
        "unique_id_from_tool": f"brulee:{group.key}:{vuln.id}" + (":accepted" if accepted else ""),
        "vuln_id_from_tool": vuln.id,
        "scanner_confidence": SCANNER_CONFIDENCE[vuln.confidence],
        "service": _clip("service", f"{_software(group)} ({group.protocol})"),
        "component_name": _clip("component_name", service.product or service.name),
        "component_version": _clip("component_version", service.version),
        "dynamic_finding": True,
        "static_finding": False,
        "active": accepted is None,
        "risk_accepted": accepted is not None,
        "under_review": any(note.status == "under_investigation" for note in vuln.vex),
        "known_exploited": vuln.kev is not None,
        "tags": tags + (["suppressed"] if accepted else []),
    }
    if url := safe_url(vuln.url):
        data["references"] = md_link(vuln.id, url)
    if vuln.remediation:
        data["mitigation"] = md_escape(vuln.remediation)
        data["fix_available"] = True
    if vuln.epss:
        data["epss_score"], data["epss_percentile"] = vuln.epss.score, vuln.epss.percentile
    if vuln.kev:
        data["ransomware_used"] = vuln.kev.known_ransomware == "Known"
        if kev_day := _date(vuln.kev.date_added):
            data["kev_date"] = kev_day
    if published := _date(vuln.published):
        data["publish_date"] = published
    if day:
        data["date"] = day
    return data


def _not_checked(group: ServiceGroup, day: str | None) -> dict[str, Any]:
    service = group.service
    lines = [
        f"**{md_escape(_software(group))}** ({md_escape(service.name or 'unknown')}/"
        f"{md_escape(group.protocol)}): **{md_escape(group.status)}** \u2014 "
        f"{md_escape(STATUS_MEANING[group.status])}. This service is not known to be safe.",
        *(md_escape(note) for note in group.notes),
    ]
    data: dict[str, Any] = {
        "title": _clip("title", f"Not checked: {service.label} ({group.status})"),
        "severity": "Info",
        "description": "\n\n".join(lines),
        "unique_id_from_tool": f"brulee:{group.key}:not-checked",
        "service": _clip("service", f"{_software(group)} ({group.protocol})"),
        "component_name": _clip("component_name", service.product or service.name),
        "component_version": _clip("component_version", service.version),
        "dynamic_finding": True,
        "static_finding": False,
        "tags": ["brulee", "not-checked", group.status],
    }
    return data | ({"date": day} if day else {})
