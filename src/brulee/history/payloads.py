"""Alert payloads: a scan's new findings as the JSON body of a webhook request (generic JSON,
Slack or Microsoft Teams), most urgent first and within each service's limits.

``generic``
    ``{"source": "brulee", "version", "kind": "new_findings", "scan": {...}, "total", "omitted",
    "new_findings": [{"cve", "severity", "cvss", "kev", "epss", "confidence", "possible",
    "service", "address", "hostname", "port", "protocol", "location", "first_seen"}]}``, at most
    ``max_findings`` items.

Headline counts (severities, "known exploited") are those of established findings; possible ones
(an Nmap version label, an unbounded NVD entry, an undecided backport...) are counted apart and
marked as such, as in the reports.
``slack``
    Incoming-webhook message: ``text`` (the notification line) and ``blocks``: a header, a context
    line for the scan, one mrkdwn section per finding, and "and N more" when the 50-block limit
    leaves some out. Text from the scan (service banners) is escaped (``&``, ``<``, ``>``).
``teams``
    ``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
    "contentUrl": null, "content": <AdaptiveCard 1.4>}]}``, as the Teams Workflows "when a Teams
    webhook request is received" trigger and the older connectors accept it. Untrusted text goes in
    ``TextRun`` elements, which Teams does not read as Markdown; the card stays under Teams' 28 KB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from brulee import __version__
from brulee.core.history import ChangedLocation, FindingGroup
from brulee.core.scan import address_order
from brulee.core.vulnerability import ESTABLISHED, SEVERITY_RANK, Confidence, Severity
from brulee.util.text import count_text

Kind = Literal["generic", "slack", "teams"]

_SLACK_BLOCKS = 50
_SLACK_TEXT = 3000
_SLACK_HEADER = 150
_TEAMS_FINDINGS = 25
_TEAMS_BYTES = 26_000
"""Teams refuses messages over about 28 KB; the card is trimmed to stay below this."""
_FIELD_CHARS = 300
MAX_LISTED = 10_000
"""Findings a generic payload lists at most (the rest are counted)."""
_NVD = "https://nvd.nist.gov/vuln/detail/"


@dataclass(frozen=True, slots=True)
class NewFinding:
    """One vulnerability newly found at one location."""

    cve: str
    severity: Severity
    service: str
    """The service's label (``Apache httpd 2.4.49``)."""
    address: str
    port: int
    protocol: str
    hostname: str = ""
    cvss: float | None = None
    kev: bool = False
    """Listed in CISA's Known Exploited Vulnerabilities catalog."""
    epss: float | None = None
    """Probability of exploitation in the next 30 days, 0 to 1."""
    first_seen: str = ""
    """ISO 8601."""
    confidence: Confidence = "certain"

    @property
    def possible(self) -> bool:
        """Not established: no headline count rests on it."""
        return self.confidence not in ESTABLISHED

    @classmethod
    def at(cls, group: FindingGroup, where: ChangedLocation) -> NewFinding:
        """A new finding of the history's changes (a group's vulnerability at one location)."""
        return cls(
            cve=group.id,
            severity=group.severity,
            service=group.service,
            address=where.address,
            port=where.port,
            protocol=where.protocol,
            hostname=where.hostname,
            cvss=group.cvss,
            kev=group.kev,
            first_seen=where.first_seen,
            confidence=group.confidence,
        )

    @property
    def location(self) -> str:
        """``10.0.0.5:443/tcp``, ``[2001:db8::1]:443/tcp``."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}/{self.protocol}"


def _urgency(f: NewFinding) -> tuple[bool, bool, int, float, float, bytes, int, str]:
    return (
        not f.kev or f.possible,
        f.possible,
        SEVERITY_RANK.get(f.severity, len(SEVERITY_RANK)),
        -(f.cvss if f.cvss is not None else -1.0),
        -(f.epss if f.epss is not None else -1.0),
        address_order(f.address),
        f.port,
        f.cve,
    )


@dataclass(frozen=True, slots=True)
class NewFindings:
    """What an alert says: the most urgent new findings (all of them, or as many as a payload can
    list), and the totals of all."""

    listed: tuple[NewFinding, ...]
    """Most urgent first."""
    total: int
    by_severity: Mapping[str, int]
    """Established findings per severity."""
    kev: int
    """Established findings in CISA KEV."""
    possible: int = 0
    """Findings not established, counted apart."""

    @classmethod
    def of(cls, findings: Sequence[NewFinding]) -> NewFindings:
        """Every new finding, listed."""
        counts: dict[str, int] = {}
        for f in findings:
            if not f.possible:
                counts[f.severity] = counts.get(f.severity, 0) + 1
        return cls(tuple(sorted(findings, key=_urgency)), len(findings), counts,
                   sum(1 for f in findings if f.kev and not f.possible),
                   sum(1 for f in findings if f.possible))  # fmt: skip

    @property
    def omitted(self) -> int:
        return self.total - len(self.listed)


def build_payload(
    kind: Kind,
    findings: NewFindings | Sequence[NewFinding],
    scan: Mapping[str, Any],
    *,
    max_findings: int = MAX_LISTED,
) -> tuple[dict[str, Any], int]:
    """The JSON body for ``kind`` and how many findings it itemises (most urgent first)."""
    found = findings if isinstance(findings, NewFindings) else NewFindings.of(findings)
    if kind == "slack":
        return _slack(found, scan)
    if kind == "teams":
        return _teams(found, scan)
    listed = found.listed[:max_findings]
    payload = {
        "source": "brulee",
        "version": __version__,
        "kind": "new_findings",
        "scan": dict(scan),
        "total": found.total,
        "omitted": found.total - len(listed),
        "new_findings": [_finding_json(f) for f in listed],
    }
    return payload, len(listed)


def _finding_json(f: NewFinding) -> dict[str, Any]:
    return {
        "cve": f.cve,
        "severity": f.severity,
        "cvss": f.cvss,
        "kev": f.kev,
        "epss": f.epss,
        "confidence": f.confidence,
        "possible": f.possible,
        "service": f.service,
        "address": f.address,
        "hostname": f.hostname,
        "port": f.port,
        "protocol": f.protocol,
        "location": f.location,
        "first_seen": f.first_seen,
    }


def _title(count: int) -> str:
    return f"brulee: {count_text(count, 'new finding')}"


def _summary(findings: NewFindings) -> str:
    """``2 critical, 1 high; 1 known exploited; 3 possible``: the established findings, then
    how many are only possible."""
    counts = findings.by_severity
    text = ", ".join(f"{counts[s]:,} {s}" for s in SEVERITY_RANK if counts.get(s))
    parts = [text] if text else []
    if findings.kev:
        parts.append(f"{findings.kev:,} known exploited")
    if findings.possible:
        parts.append(f"{findings.possible:,} possible (not established)")
    return "; ".join(parts)


def _scan_line(scan: Mapping[str, Any]) -> str:
    """``scan 42 · site dc1 · targets 10.0.0.0/24, db1 · finished 2026-03-01T12:00:00Z``."""
    words = []
    for key in ("id", "site", "targets", "finished"):
        value = scan.get(key)
        if isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value[:5])
            value = shown + (f" and {len(value) - 5} more" if len(value) > 5 else "")
        if value not in (None, ""):
            words.append(f"{'scan' if key == 'id' else key} {value}")
    return clip(" · ".join(words), _FIELD_CHARS)


def _facts(f: NewFinding) -> str:
    """``critical · CVSS 9.8 · known exploited (KEV) · EPSS 97.5%``."""
    words: list[str] = [f.severity]
    if f.cvss is not None:
        words.append(f"CVSS {f.cvss:.1f}")
    if f.kev:
        words.append("known exploited (KEV)")
    if f.epss is not None:
        words.append(f"EPSS {f.epss:.1%}")
    if f.possible:
        words.append(f"possible ({f.confidence})")
    return " · ".join(words)


def _where(f: NewFinding) -> str:
    """``Apache httpd 2.4.49 on 10.0.0.5:80/tcp (web1) · first seen 2026-03-01``."""
    text = f"{f.service or 'unknown service'} on {f.location}"
    text += f" ({f.hostname})" if f.hostname else ""
    text += f" · first seen {f.first_seen}" if f.first_seen else ""
    return clip(text, _FIELD_CHARS)


def clip(text: str, limit: int) -> str:
    """The text on one line (runs of white space as one space), cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_cve(cve: str) -> str:
    safe = cve.upper()
    if safe.startswith("CVE-") and all(c.isdigit() or c == "-" for c in safe[4:]):
        return f"*<{_NVD}{safe}|{safe}>*"
    return f"*{_slack_escape(cve)}*"


def _slack(findings: NewFindings, scan: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    title = _title(findings.total)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, _SLACK_HEADER)}}
    ]
    line = _scan_line(scan)
    if line:
        blocks.append(_slack_context(_slack_escape(line)))
    room = _SLACK_BLOCKS - len(blocks)
    listed = findings.listed if findings.total <= room else findings.listed[: room - 1]
    for f in listed:
        text = f"{_slack_cve(f.cve)} · {_facts(f)}\n{_slack_escape(_where(f))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:_SLACK_TEXT]}})
    if len(listed) < findings.total:
        blocks.append(_slack_context(f"and {findings.total - len(listed):,} more"))
    summary = _summary(findings)
    return {"text": f"{title} ({summary})" if summary else title, "blocks": blocks}, len(listed)


def _slack_context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:_SLACK_TEXT]}]}


_TEAMS_COLOURS: dict[str, str] = {"critical": "Attention", "high": "Attention", "medium": "Warning"}


def _run(text: str, **style: Any) -> dict[str, Any]:
    """A TextRun: shown as is, never read as Markdown (banners are untrusted)."""
    return {"type": "TextRun", "text": text, **style}


def _teams_finding(f: NewFinding) -> dict[str, Any]:
    colour = _TEAMS_COLOURS.get(f.severity, "Default")
    return {
        "type": "Container",
        "separator": True,
        "items": [
            {
                "type": "RichTextBlock",
                "inlines": [
                    _run(clip(f.cve, 40), weight="Bolder", color=colour),
                    _run(f" · {_facts(f)}", color=colour),
                ],
            },
            {"type": "RichTextBlock", "inlines": [_run(_where(f), isSubtle=True)]},
        ],
    }


def _teams(findings: NewFindings, scan: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    fits = findings.total <= _TEAMS_FINDINGS and len(findings.listed) == findings.total
    listed = findings.total if fits else min(len(findings.listed), _TEAMS_FINDINGS - 1)
    while True:
        payload = _teams_card(findings, listed, scan)
        if listed == 0 or len(json.dumps(payload).encode()) <= _TEAMS_BYTES:
            return payload, listed
        listed = max(0, listed - max(1, listed // 4))


def _teams_card(findings: NewFindings, listed: int, scan: Mapping[str, Any]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _title(findings.total),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    summary, line = _summary(findings), _scan_line(scan)
    for text in (summary, line):
        if text:
            body.append({"type": "RichTextBlock", "inlines": [_run(text, isSubtle=True)]})
    body.extend(_teams_finding(f) for f in findings.listed[:listed])
    if listed < findings.total:
        more = f"and {findings.total - listed:,} more"
        body.append({"type": "TextBlock", "text": more, "isSubtle": True, "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }
