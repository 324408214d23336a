"""SARIF 2.1.0 for code-scanning dashboards: one rule per vulnerability, one result per finding
per location, written as a stream (locations come from the spool, never all in memory).

Where a finding is: a network service has no source file, but GitHub code scanning refuses a
result without a physical location, a location URI with a scheme (``tcp://...``: "SARIF URI
scheme did not match the checkout URI scheme") and a relative URI whose first segment holds a
colon (``10.0.0.1:22``: "first path segment in URL cannot contain colon"). So the artifact URI is
the relative reference ``tcp/10.0.0.1:22`` (protocol, then host:port; IPv6 as
``tcp/%5B2001:db8::5%5D:22``), valid per RFC 3986, stable across scans, and readable in an alert
list; the region is line 1, which code scanning requires. A logical location repeats the
endpoint (``10.0.0.1:22``, kind ``resource``) for SARIF viewers.

Rules carry NVD's CWE ids as ``external/cwe/cwe-N`` tags (the convention code scanning shows) and
as a ``cwes`` property; results carry the OpenVEX statements that kept the finding (``vex``).

CVEs the distribution's package fixed are results with an ``external`` suppression whose
justification is the advisory. SARIF viewers hide them; GitHub code scanning is reported to
ingest suppressed results as open alerts unless told otherwise, hence ``suppressed=False``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _string
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from brulee.core.findings import Location, ServiceGroup
from brulee.core.report import Report
from brulee.core.vulnerability import Severity, Status, Vulnerability, cwe_numbers, established
from brulee.report.interface import Renderer, report_file
from brulee.report.json import scan_dict, summary_dict, vex_note_dict, vulnerability_dict
from brulee.report.jsontext import dump
from brulee.report.view.report import INCOMPLETE
from brulee.report.view.text import (
    cvss_text,
    epss_text,
    fixed_text,
    kev_text,
    printable,
    safe_url,
    vex_text,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/brulee-scanner/brulee"
FINGERPRINT = "bruleeFinding/v1"
"""The partial fingerprint: CVE, address, protocol, port and product (not the version, so that an
upgrade that leaves the CVE open keeps its alert; not the hostname, which DNS may change). Also
written as GitHub's ``primaryLocationLineHash``, so that upload-sarif does not try to hash lines of
a file that does not exist."""

LEVELS: dict[Severity, str] = {
    "critical": "error", "high": "error", "medium": "warning", "low": "note", "unscored": "note",
}  # fmt: skip
_UNCHECKED: tuple[Status, ...] = ("unknown", "unchecked", "unversioned")


def message_text(value: object) -> str:
    """Literal text for a SARIF message: ``{``/``}`` doubled (placeholder syntax) and ``\\``,
    ``[``, ``]`` backslash-escaped (embedded-link syntax), so that a banner can neither
    inject a placeholder nor a link; control characters made visible."""
    text = printable(value).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return text.replace("{", "{{").replace("}", "}}")


def level_of(vuln: Vulnerability) -> str:
    """``error`` for critical/high, ``warning`` for medium, ``note`` below, and ``note`` for
    a possible finding (not ``ESTABLISHED``: conditional, version-range, unbounded, reported,
    unverified backport) or a CVE the distribution fixed, whatever its severity."""
    if not established(vuln):
        return "note"
    return LEVELS[vuln.severity]


def security_severity(vuln: Vulnerability) -> str | None:
    """GitHub's ``security-severity``: the CVSS base score as a string; None when unscored."""
    if vuln.cvss is None or vuln.cvss.score <= 0:
        return None
    return f"{vuln.cvss.score:.1f}"


def endpoint(loc: Location) -> str:
    """``10.0.0.1:22``, ``[2001:db8::5]:22``."""
    host = f"[{loc.address}]" if ":" in loc.address else loc.address
    return f"{host}:{loc.port}"


def artifact_uri(loc: Location) -> str:
    """``tcp/10.0.0.1:22``: a relative URI reference whose first segment has no colon."""
    protocol = quote(loc.protocol, safe="") or "unknown"
    return f"{protocol}/{quote(endpoint(loc), safe=':')}"


def fingerprint(vuln_id: str, loc: Location, product: str) -> str:
    """Stable identity of one finding across scans (see ``FINGERPRINT``)."""
    raw = "\x1f".join((vuln_id, loc.address, loc.protocol, str(loc.port), product))
    return hashlib.sha256(raw.encode()).hexdigest()


def _help(vuln: Vulnerability) -> str:
    severity = vuln.severity + (f", CVSS {cvss_text(vuln)}" if vuln.cvss else "")
    lines = [printable(vuln.description) or vuln.id, "", f"Severity: {severity}."]
    if vuln.cvss and vuln.cvss.vector:
        lines.append(f"CVSS vector: {printable(vuln.cvss.vector)}")
    if vuln.kev:
        lines.append(printable(kev_text(vuln)))
    if vuln.epss:
        lines.append(f"EPSS: {epss_text(vuln)} probability of exploitation in 30 days.")
    if vuln.published:
        lines.append(f"Published: {vuln.published.partition('T')[0]}.")
    if url := safe_url(vuln.url):
        lines.append(f"Details: {url}")
    return "\n".join(lines)


def rule_dict(vuln: Vulnerability) -> dict[str, Any]:
    """The reportingDescriptor of one vulnerability id."""
    data = vulnerability_dict(vuln)
    tags = ["security", "vulnerability", vuln.severity] + (["kev"] if vuln.kev else [])
    tags += [f"external/cwe/cwe-{number}" for number in cwe_numbers(vuln)]
    properties: dict[str, Any] = {"tags": tags}
    if score := security_severity(vuln):
        properties["security-severity"] = score
    for key in ("severity", "cvss", "epss", "kev", "published", "sources", "exploits", "cwes"):
        properties[key] = data[key]
    rule: dict[str, Any] = {
        "id": vuln.id,
        "shortDescription": {"text": vuln.id},
        "fullDescription": {"text": printable(vuln.description) or vuln.id},
        "help": {"text": _help(vuln)},
        "defaultConfiguration": {"level": LEVELS[vuln.severity]},
        "properties": properties,
    }
    if url := safe_url(vuln.url):
        rule["helpUri"] = url
    return rule


def reported(group: ServiceGroup, suppressed: bool) -> tuple[Vulnerability, ...]:
    """The vulnerabilities written as results: the open ones, and the fixed ones if
    ``suppressed`` (as suppressed results)."""
    return group.vulnerabilities + (group.fixed if suppressed else ())


def collect_rules(report: Report, suppressed: bool) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every distinct vulnerability id with a result -> (rule index, rule), first seen first."""
    rules: dict[str, tuple[int, dict[str, Any]]] = {}
    for group in report.services:
        for vuln in reported(group, suppressed):
            if vuln.id not in rules:
                rules[vuln.id] = (len(rules), rule_dict(vuln))
    return rules


def _utc(stamp: str) -> str | None:
    """``2024-05-01T10:00:00Z`` (SARIF wants UTC), or None when ``stamp`` has no zone."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invocation_dict(report: Report) -> dict[str, Any]:
    """The scan as a SARIF invocation: success unless Nmap did not finish; errors, warnings
    and the services that could not be checked as notifications."""
    run = report.scan.run
    notes: list[tuple[str, str]] = [("error", e) for e in run.errors]
    if run.incomplete:
        notes.append(("error", INCOMPLETE))
    notes += [("warning", w) for w in report.scan.warnings]
    counts = report.status_counts()
    if unchecked := {s: counts[s] for s in _UNCHECKED if counts.get(s)}:
        detail = ", ".join(f"{status}: {n}" for status, n in unchecked.items())
        notes.append((
            "warning",
            f"{sum(unchecked.values())} of {len(report.services)} services could not be "
            f"checked for vulnerabilities ({detail}); no result for them proves nothing.",
        ))  # fmt: skip
    invocation: dict[str, Any] = {
        "executionSuccessful": not run.incomplete,
        "toolExecutionNotifications": [
            {"level": level, "message": {"text": message_text(text)}} for level, text in notes
        ],
    }
    for key, stamp in (("startTimeUtc", run.started), ("endTimeUtc", run.finished)):
        if utc := _utc(stamp):
            invocation[key] = utc
    return invocation


def run_dict(report: Report, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The run without its results."""
    return {
        "tool": {
            "driver": {
                "name": "brulee",
                "version": report.scan.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [invocation_dict(report)],
        "properties": {"scan": scan_dict(report), "summary": summary_dict(report)},
    }


@dataclass(frozen=True, slots=True)
class _Finding:
    """The parts of a result that one vulnerability on one service group fixes, as JSON text,
    so that each location adds only its own few strings."""

    vuln_id: str
    product: str
    head: str
    """``{"ruleId": ..., "level": ...``"""
    message: tuple[str, str]
    """The message text before and after the endpoint (already message-escaped)."""
    properties: str
    """The group's and vulnerability's result properties, without braces."""
    tail: str
    """``, "suppressions": [...]`` for a CVE the distribution fixed, else ''."""


def _detail(vuln: Vulnerability) -> str:
    """What follows the first sentence: confidence and why, advisory, remediation."""
    if vuln.confidence == "fixed-by-distribution":
        return f"Fixed by the distribution: {_justification(vuln)}."
    detail = f"Confidence: {vuln.confidence}"
    if vuln.confidence == "unverified-backport":
        detail = "UNVERIFIED BACKPORT: the distribution's package may carry a fix"
    if vuln.reason:
        detail += f" ({vuln.reason})"
    if vuln.advisory and vuln.advisory not in vuln.remediation:
        detail += f". Advisory: {vuln.advisory}"
    if vuln.remediation:
        detail += f". Remediation: {vuln.remediation}"
    for note in vuln.vex:
        detail += f". {vex_text(note)}"
    return detail + "."


def _justification(vuln: Vulnerability) -> str:
    """The advisory and why it applies: ``DSA-4280-1 (2018-08-22): fixed in ...``."""
    return fixed_text(vuln) or "fixed by the distribution's package"


def _finding(group: ServiceGroup, vuln: Vulnerability, index: int) -> _Finding:
    service = group.service
    severity = vuln.severity + (f", CVSS {vuln.cvss.score:.1f}" if vuln.cvss else "")
    if vuln.kev:
        severity += ", known exploited (CISA KEV)"
    before = f"{vuln.id} ({severity}) in {service.label} on "
    properties = {
        "confidence": vuln.confidence,
        "possible": vuln.confidence != "fixed-by-distribution" and not established(vuln),
        "unverified-backport": vuln.confidence == "unverified-backport",
        "fixed-by-distribution": vuln.confidence == "fixed-by-distribution",
        "reason": vuln.reason,
        "advisory": vuln.advisory,
        "remediation": vuln.remediation,
        "vex": [vex_note_dict(note) for note in vuln.vex],
        "service": {
            "id": group.key,
            "name": service.name,
            "product": service.product,
            "version": service.version,
            "extrainfo": service.extrainfo,
        },
    }
    tail = ""
    if vuln.confidence == "fixed-by-distribution":
        suppression = {
            "kind": "external",
            "status": "accepted",
            "justification": printable(_justification(vuln)),
        }
        tail = ', "suppressions": ' + dump([suppression])
    head = {"ruleId": vuln.id, "ruleIndex": index, "level": level_of(vuln)}
    return _Finding(
        vuln_id=vuln.id,
        product=service.product or service.name,
        head=dump(head)[:-1],
        message=(message_text(before), message_text(f". {_detail(vuln)}")),
        properties=dump(properties)[1:-1],
        tail=tail,
    )


def result_json(finding: _Finding, loc: Location) -> str:
    """One result: the finding at one location."""
    address = message_text(loc.address)
    where = f"[{address}]" if ":" in address else address  # literal brackets: not a link
    where += f":{int(loc.port)}/{message_text(loc.protocol)}"
    if loc.hostname:
        where += f" ({message_text(loc.hostname)})"
    text = finding.message[0] + where + finding.message[1]
    name = endpoint(loc)
    uri = artifact_uri(loc)
    digest = fingerprint(finding.vuln_id, loc, finding.product)
    return (
        f'{finding.head}, "message": {{"text": {_string(text)}}}, '
        f'"locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": {_string(uri)}}}, '
        f'"region": {{"startLine": 1}}}}, "logicalLocations": [{{"name": {_string(name)}, '
        f'"fullyQualifiedName": {_string(loc.protocol + "/" + name)}, "kind": "resource"}}]}}], '
        f'"partialFingerprints": {{"{FINGERPRINT}": "{digest}", '
        f'"primaryLocationLineHash": "{digest}"}}, '
        f'"properties": {{{finding.properties}, "address": {_string(loc.address)}, '
        f'"hostname": {_string(loc.hostname)}, "port": {int(loc.port)}, '
        f'"protocol": {_string(loc.protocol)}}}{finding.tail}}}'
    )


class SarifRenderer(Renderer):
    """One SARIF 2.1.0 log with one run. ``suppressed=False`` leaves out the CVEs the
    distribution fixed instead of writing them as suppressed results."""

    extension = "sarif"

    def __init__(self, *, suppressed: bool = True) -> None:
        self.suppressed = suppressed

    def render(self, report: Report, path: Path) -> None:
        with report_file(path) as out:
            self._write(report, out)

    def _write(self, report: Report, out: IO[str]) -> None:
        rules = collect_rules(report, self.suppressed)
        head = dump(run_dict(report, [rule for _, rule in rules.values()]))
        out.write(f'{{\n  "$schema": {dump(SARIF_SCHEMA)},\n  "version": "{SARIF_VERSION}",\n')
        out.write('  "runs": [\n    ' + head[:-1] + ', "results": [')
        first = True
        for group in report.services:
            vulns = reported(group, self.suppressed)
            if not vulns:
                continue
            findings = [_finding(group, v, rules[v.id][0]) for v in vulns]
            for loc in report.locations(group):
                for finding in findings:
                    out.write(("\n      " if first else ",\n      ") + result_json(finding, loc))
                    first = False
        out.write("]}\n  ]\n}\n" if first else "\n    ]}\n  ]\n}\n")
