"""The canonical JSON report (schema: ``schema/report.schema.json``), written as a stream."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from json.encoder import encode_basestring as _string
from pathlib import Path
from typing import IO, Any

from brulee.core.distro import DistroEvidence
from brulee.core.findings import HostRecord, Location, ServiceGroup
from brulee.core.history import Changes, ScanRef
from brulee.core.report import SCHEMA_VERSION, PartSummary, Report, SourceDate
from brulee.core.scan import Shard
from brulee.core.suppression import Applied, Suppression
from brulee.core.vulnerability import VexNote, Vulnerability
from brulee.report.interface import Renderer


def vulnerability_dict(vuln: Vulnerability) -> dict[str, Any]:
    cvss = vuln.cvss
    return {
        "id": vuln.id,
        "severity": vuln.severity,
        "cvss": {"score": cvss.score, "version": cvss.version, "vector": cvss.vector}
        if cvss
        else None,
        "epss": {"score": vuln.epss.score, "percentile": vuln.epss.percentile}
        if vuln.epss
        else None,
        "kev": {
            "date_added": vuln.kev.date_added,
            "due_date": vuln.kev.due_date,
            "known_ransomware": vuln.kev.known_ransomware,
            "required_action": vuln.kev.required_action,
        }
        if vuln.kev
        else None,
        "description": vuln.description,
        "url": vuln.url,
        "published": vuln.published or None,
        "confidence": vuln.confidence,
        "reason": vuln.reason,
        "sources": list(vuln.sources),
        "exploits": list(vuln.exploits),
        "advisory": vuln.advisory or None,
        "remediation": vuln.remediation or None,
        "cwes": list(vuln.cwes),
        "vex": [vex_note_dict(note) for note in vuln.vex],
    }


def vex_note_dict(note: VexNote) -> dict[str, Any]:
    return {"status": note.status, "statement": note.statement, "author": note.author,
            "origin": note.origin, "scope": list(note.scope)}  # fmt: skip


def distribution_dict(found: DistroEvidence | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "distro": found.distro,
        "release": found.release or None,
        "revision": found.revision or None,
        "upstream": found.upstream or None,
        "evidence": found.evidence,
    }


def service_dict(group: ServiceGroup) -> dict[str, Any]:
    """A service group without its locations (those are streamed separately)."""
    service = group.service
    return {
        "id": group.key,
        "name": service.name,
        "product": service.product,
        "version": service.version,
        "extrainfo": service.extrainfo,
        "ostype": service.ostype,
        "tunnel": service.tunnel,
        "cpe": list(service.cpes),
        "protocol": group.protocol,
        "status": group.status,
        "notes": list(group.notes),
        "location_count": group.location_count,
        "vulnerabilities": [vulnerability_dict(v) for v in group.vulnerabilities],
        "distribution": distribution_dict(group.distribution),
        "fixed_by_distribution": [vulnerability_dict(v) for v in group.fixed],
        "nvd_names": None if group.nvd_names is None else list(group.nvd_names),
        "backports": {
            "fixed": len(group.fixed),
            "open": len(group.vulnerabilities) - group.unverified,
            "unverified": group.unverified,
        },
        "references": list(group.references),
    }


def location_dict(loc: Location) -> dict[str, Any]:
    return {"address": loc.address, "hostname": loc.hostname, "port": loc.port,
            "protocol": loc.protocol}  # fmt: skip


def location_json(loc: Location) -> str:
    """One location as JSON text; ``encode_basestring`` is json.dumps' own (C) string encoder,
    called directly because a fleet report holds hundreds of thousands of locations."""
    return (
        f'{{"address": {_string(loc.address)}, "hostname": {_string(loc.hostname)}, '
        f'"port": {int(loc.port)}, "protocol": {_string(loc.protocol)}}}'
    )


def host_dict(host: HostRecord) -> dict[str, Any]:
    return {
        "address": host.address,
        "hostnames": list(host.hostnames),
        "status": host.status,
        "reason": host.reason,
        "timed_out": host.timed_out,
        "open_ports": [
            {"protocol": p.protocol, "port": p.port, "state": p.state, "service": p.service}
            for p in host.open_ports
        ],
        "closed_ports": host.closed_ports,
        "filtered_ports": host.filtered_ports,
    }


def shard_dict(shard: Shard | None) -> dict[str, Any] | None:
    return {"index": shard.index, "count": shard.count} if shard else None


def part_dict(part: PartSummary) -> dict[str, Any]:
    return {
        "source": part.source,
        "site": part.site or None,
        "shard": shard_dict(part.shard),
        "started": part.started or None,
        "finished": part.finished or None,
        "incomplete": part.incomplete,
        "hosts_up": part.hosts_up,
        "hosts_down": part.hosts_down,
        "errors": list(part.errors),
        "warnings": list(part.warnings),
        "nmap_version": part.nmap_version,
        "database": part.database or None,
        "database_date": part.database_date or None,
        "generated": part.generated,
        "generator_version": part.tool_version,
        "database_sources": sources_dict(part.database_sources),
    }


def sources_dict(sources: tuple[SourceDate, ...]) -> dict[str, str]:
    """``{"nvd": "2026-10-08T22:17:25+00:00", "kev": ...}``."""
    return {s.source: s.date for s in sources}


def suppression_dict(entry: Suppression) -> dict[str, Any]:
    return {
        "cve": entry.cve,
        "reason": entry.reason,
        "author": entry.author,
        "expires": entry.expires.isoformat() if entry.expires else None,
        "scope": {
            **({"cpe": entry.software.cpe} if entry.software else {}),
            **{
                name: str(value)
                for name in ("product", "version", "host", "port", "protocol", "cidr")
                if (value := getattr(entry, name)) is not None
            },
        },
        "origin": entry.origin,
        "vex": {"status": entry.vex.status, "justification": entry.vex.justification}
        if entry.vex
        else None,
    }


def suppressed_dict(applied: Applied) -> dict[str, Any]:
    """The appendix: what the suppression file took out, why, and its expired or stale entries."""
    return {
        "services": [
            {
                "id": item.group.key,
                "service": item.group.service.label,
                "vulnerabilities": [
                    {
                        "id": s.vulnerability.id,
                        "severity": s.vulnerability.severity,
                        "complete": s.complete,
                        "entries": [suppression_dict(e) for e in s.entries],
                        "locations": [location_dict(at.location) for at in s.locations],
                    }
                    for s in item.suppressed
                ],
            }
            for item in applied.suppressed
        ],
        "expired": [suppression_dict(e) for e in applied.expired],
        "stale": [suppression_dict(e) for e in applied.stale],
    }


def scan_dict(report: Report) -> dict[str, Any]:
    scan = report.scan
    run = scan.run
    data: dict[str, Any] = {
        "started": run.started or None,
        "finished": run.finished or None,
        "nmap_command": run.args,
        "nmap_version": run.scanner_version,
        "targets": list(scan.targets),
        "inputs": list(scan.inputs),
        "hosts_up": run.hosts_up,
        "hosts_down": run.hosts_down,
        "incomplete": run.incomplete,
        "errors": list(run.errors),
        "warnings": list(scan.warnings),
        "shard": shard_dict(scan.shard),
        "site": scan.site or None,
        "database": scan.database or None,
        "database_date": scan.database_date or None,
        "database_sources": sources_dict(scan.database_sources),
        "generated": scan.generated,
    }
    if scan.parts:  # a merged report (brulee merge); a single scan's report stays as it was
        data["parts"] = [part_dict(p) for p in scan.parts]
        data["missing_shards"] = [
            {"site": m.site or None, "index": m.index, "count": m.count}
            for m in scan.missing_shards
        ]
    return data


def summary_dict(report: Report) -> dict[str, Any]:
    return {
        "services": len(report.services),
        "by_status": report.status_counts(),
        "by_severity": report.severity_counts(),
    }


def _scan_json(ref: ScanRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "kind": ref.kind,
        "scanned_at": ref.scanned_at,
        "recorded_at": ref.recorded_at,
        "site": ref.site or None,
        "shard": ref.shard or None,
        "incomplete": ref.incomplete,
        "location": ref.location or None,
    }


def changes_json(changes: Changes) -> dict[str, Any]:
    """The ``changes`` section of the JSON report (``schema/report.schema.json``)."""
    findings = {
        name: [asdict(f) for f in getattr(changes, name)]
        for name in ("new_findings", "reappeared_findings", "fixed_findings")
    }
    return {
        "previous": _scan_json(changes.previous),
        "current": _scan_json(changes.current),
        **findings,
        "still_open": changes.still_open,
        "new_ports": [asdict(p) for p in changes.new_ports],
        "closed_ports": [asdict(p) for p in changes.closed_ports],
        "changed_services": [asdict(c) for c in changes.changed_services],
        "missing_hosts": list(changes.missing_hosts),
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_array(out: IO[str], items: Iterable[str], indent: str) -> None:
    first = True
    for item in items:
        out.write(("\n" if first else ",\n") + indent + item)
        first = False
    out.write("\n" + indent[:-2] + "]" if not first else "]")


class JsonRenderer(Renderer):
    """One JSON document; locations and hosts stream from the spool, never all in memory."""

    extension = "json"

    def render(self, report: Report, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            out.write("{\n")
            out.write(f'  "schema_version": {_dump(SCHEMA_VERSION)},\n')
            out.write(
                '  "generator": '
                + _dump({"name": "brulee", "version": report.scan.tool_version})
                + ",\n"
            )
            out.write(f'  "scan": {_dump(scan_dict(report))},\n')
            out.write(f'  "summary": {_dump(summary_dict(report))},\n')
            out.write('  "services": [')
            first = True
            for group in report.services:
                out.write("\n    " if first else ",\n    ")
                first = False
                head = _dump(service_dict(group))
                out.write(head[:-1] + ', "locations": [')
                _write_array(out, (location_json(loc) for loc in report.locations(group)), "      ")
                out.write("}")
            out.write("\n  ],\n" if not first else "],\n")
            changes = changes_json(report.changes) if report.changes else None
            out.write(f'  "changes": {_dump(changes)},\n')
            suppressed = suppressed_dict(report.suppressed) if report.suppressed else None
            out.write(f'  "suppressed": {_dump(suppressed)},\n')
            out.write('  "hosts": [')
            _write_array(out, (_dump(host_dict(h)) for h in report.hosts()), "    ")
            out.write("\n}\n")
