"""The canonical JSON report (schema: ``schema/report.schema.json``), written as a stream."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring as _string
from pathlib import Path
from typing import IO, Any

from brulee.core.distro import DistroEvidence
from brulee.core.findings import HostRecord, Location, ServiceGroup
from brulee.core.history import ChangedLocation, Changes, ScanRef, Trend
from brulee.core.report import SCHEMA_VERSION, PartSummary, Report, SourceDate
from brulee.core.scan import Shard
from brulee.core.suppression import Applied, Suppression
from brulee.core.vulnerability import VexNote, Vulnerability
from brulee.report.interface import Renderer
from brulee.report.jsontext import dump


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
    found = {"address": loc.address, "hostname": loc.hostname, "port": loc.port,
             "protocol": loc.protocol}  # fmt: skip
    return {**found, "extrainfo": loc.extrainfo} if loc.extrainfo else found


def location_json(loc: Location) -> str:
    """One location as JSON text; ``encode_basestring`` is json.dumps' own (C) string encoder,
    called directly because a fleet report holds hundreds of thousands of locations."""
    extrainfo = f', "extrainfo": {_string(loc.extrainfo)}' if loc.extrainfo else ""
    return (
        f'{{"address": {_string(loc.address)}, "hostname": {_string(loc.hostname)}, '
        f'"port": {int(loc.port)}, "protocol": {_string(loc.protocol)}{extrainfo}}}'
    )


def host_dict(host: HostRecord, port_sets: dict[str, int]) -> dict[str, Any]:
    """A host; ``port_sets`` numbers the scan's ``port_sets`` by their text."""
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
        "port_set": port_sets[host.scanned.text] if host.scanned else None,
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
        "incomplete": part.outcome != "complete",
        "outcome": part.outcome,
        "hosts_up": part.hosts_up,
        "hosts_down": part.hosts_down,
        "timed_out": part.timed_out,
        "ports": part.ports.text,
        "history_id": part.history_id,
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


def scan_dict(report: Report, port_sets: Iterable[str] = ()) -> dict[str, Any]:
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
        "incomplete": not run.complete,
        "outcome": run.outcome,
        "timed_out": run.timed_out,
        "ports": run.ports.text,
        "port_sets": list(port_sets),
        "history_id": report.history_id,
        "errors": list(run.errors),
        "warnings": list(scan.warnings),
        "shard": shard_dict(scan.shard),
        "site": scan.site or None,
        "database": scan.database or None,
        "database_date": scan.database_date or None,
        "database_sources": sources_dict(scan.database_sources),
        "generated": scan.generated,
    }
    if scan.unresolved:  # target names that resolved to no address: not scanned
        data["unresolved"] = list(scan.unresolved)
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
        "by_severity_possible": report.severity_counts(possible=True),
        "known_exploited": dict(zip(("established", "possible"), report.kev_counts(), strict=True)),
    }


def _scan_json(ref: ScanRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "name": ref.name,
        "kind": ref.kind,
        "scanned_at": ref.scanned_at,
        "recorded_at": ref.recorded_at,
        "site": ref.site or None,
        "shard": ref.shard or None,
        "outcome": ref.outcome,
        "incomplete": ref.incomplete,
        "ports": ref.scanned.text,
        "options": ref.options,
        "location": ref.location or None,
    }


def changes_head(changes: Changes) -> dict[str, Any]:
    """The ``changes`` section less its groups: the scans, the notes, the counts."""
    c = changes
    return {
        "previous": _scan_json(c.previous),
        "current": _scan_json(c.current),
        "notes": list(c.notes),
        "counts": {
            "new": c.count("new"),
            "reappeared": c.count("reappeared"),
            "fixed": c.count("fixed"),
            "still_open": c.still_open,
            "unknown": c.unknown,
            "new_ports": c.port_count("new"),
            "closed_ports": c.port_count("closed"),
            "changed_services": c.port_count("changed"),
            "missing_hosts": c.host_count("missing"),
            "timed_out_hosts": c.host_count("timed_out"),
        },
    }


def _finding_where(locations: Iterable[ChangedLocation]) -> Iterator[str]:
    """Where a finding changed, as JSON text (a fleet's change has millions)."""
    return (
        f'{{"address": {_string(w.address)}, "hostname": {_string(w.hostname)}, '
        f'"protocol": {_string(w.protocol)}, "port": {int(w.port)}, '
        f'"first_seen": {_string(w.first_seen)}}}'
        for w in locations
    )


def _port_where(locations: Iterable[ChangedLocation]) -> Iterator[str]:
    return (
        f'{{"address": {_string(w.address)}, "hostname": {_string(w.hostname)}, '
        f'"protocol": {_string(w.protocol)}, "port": {int(w.port)}}}'
        for w in locations
    )


class _Spill:
    """Lists of locations that several groups share (``FindingGroup.shared``): each written
    once to a file, then copied, so that memory stays flat and a fleet's new hosts cost one
    pass each."""

    def __init__(self, directory: str) -> None:
        self._directory = Path(directory)

    def write(self, out: IO[str], shared: int | None, rows: Iterable[str], indent: str) -> None:
        if shared is None:
            _write_array(out, rows, indent)
            return
        path = self._directory / f"{shared}.json"
        if not path.exists():
            with path.open("w", encoding="utf-8") as copy:
                _write_array(copy, rows, indent)
        with path.open(encoding="utf-8") as copy:
            shutil.copyfileobj(copy, out, 1 << 20)


def _head(out: IO[str], first: bool, item: dict[str, Any], key: str, indent: str) -> None:
    """A group's fields, up to its list of ``key``."""
    out.write(("\n" if first else ",\n") + indent + dump(item)[:-1] + f', "{key}": [')


def trend_dict(trend: Trend | None) -> dict[str, Any] | None:
    """The ``trend`` section: each scan of the trend, oldest first, the current one last."""
    if trend is None:
        return None
    return {"scans": [
        {"id": p.scan_id, "scanned_at": p.scanned_at, "open": dict(p.open), "total": p.total,
         "new": p.new, "fixed": p.fixed}
        for p in trend.points
    ]}  # fmt: skip


def write_changes(out: IO[str], changes: Changes, indent: str = "  ") -> None:
    """The ``changes`` section (``schema/report.schema.json``): every changed finding, port
    and host, each group's locations streamed from the history store as they are written."""
    detail, rows = changes.detail, indent + "    "
    head = dump(changes_head(changes))
    out.write(head[:-1] + ', "findings": [')
    with tempfile.TemporaryDirectory(prefix="brulee-changes-") as directory:
        spill = _Spill(directory)
        for n, g in enumerate(changes.findings):
            item = {
                "change": g.change, "id": g.id, "severity": g.severity, "cvss": g.cvss,
                "kev": g.kev, "confidence": g.confidence, "service": g.service, "count": g.count,
            }  # fmt: skip
            _head(out, not n, item, "locations", indent)
            spill.write(out, g.shared, _finding_where(detail.finding_locations(g)), rows)
            out.write("}")
    out.write(("\n" + indent if changes.findings else "") + '], "ports": [')
    for n, p in enumerate(changes.ports):
        item = {"change": p.change, "service": p.service, "previous": p.previous or None,
                "count": p.count}  # fmt: skip
        _head(out, not n, item, "locations", indent)
        _write_array(out, _port_where(detail.port_locations(p)), rows)
        out.write("}")
    out.write(("\n" + indent if changes.ports else "") + '], "hosts": [')
    for n, h in enumerate(changes.hosts):
        _head(out, not n, {"change": h.change, "count": h.count}, "addresses", indent)
        _write_array(out, (_string(a) for a in detail.host_addresses(h)), rows)
        out.write("}")
    out.write(("\n" + indent if changes.hosts else "") + "]}")


def _write_array(out: IO[str], items: Iterable[str], indent: str) -> None:
    """The items of a JSON array, one per line, and its closing bracket; written in chunks."""
    items = iter(items)
    first = next(items, None)
    if first is None:
        out.write("]")
        return
    out.write("\n" + indent + first)
    sep = ",\n" + indent
    while chunk := list(itertools.islice(items, 1024)):
        out.write(sep + sep.join(chunk))
    out.write("\n" + indent[:-2] + "]")


class JsonRenderer(Renderer):
    """One JSON document; locations and hosts stream from the spool, never all in memory."""

    extension = "json"

    def render(self, report: Report, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            out.write("{\n")
            out.write(f'  "schema_version": {dump(SCHEMA_VERSION)},\n')
            out.write(
                '  "generator": '
                + dump({"name": "brulee", "version": report.scan.tool_version})
                + ",\n"
            )
            port_sets = {ports.text: n for n, ports in enumerate(report.spool.port_sets())}
            out.write(f'  "scan": {dump(scan_dict(report, port_sets))},\n')
            out.write(f'  "summary": {dump(summary_dict(report))},\n')
            out.write('  "services": [')
            first = True
            for group in report.services:
                out.write("\n    " if first else ",\n    ")
                first = False
                head = dump(service_dict(group))
                out.write(head[:-1] + ', "locations": [')
                _write_array(out, (location_json(loc) for loc in report.locations(group)), "      ")
                out.write("}")
            out.write("\n  ],\n" if not first else "],\n")
            out.write('  "changes": ')
            if report.changes:
                write_changes(out, report.changes, "    ")
            else:
                out.write("null")
            out.write(",\n")
            out.write(f'  "trend": {dump(trend_dict(report.trend))},\n')
            suppressed = suppressed_dict(report.suppressed) if report.suppressed else None
            out.write(f'  "suppressed": {dump(suppressed)},\n')
            out.write('  "hosts": [')
            hosts = (dump(host_dict(h, port_sets)) for h in report.hosts())
            _write_array(out, hosts, "    ")
            out.write("\n}\n")
