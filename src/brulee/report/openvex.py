"""OpenVEX 0.2.0: brulee's own decisions as VEX statements, written as a stream.

Each statement names one vulnerability of one service, at the locations it holds for. A product
is the service at one location: its ``@id`` is the location (``tcp://10.0.0.5:22``,
``udp://[fd00::5]:161``) and its ``identifiers`` the service's CPE (2.3 and 2.2; Nmap's, else the
NVD name its product maps to), the form ``--vex`` reads back. Statements are made per location
because brulee's decisions are about what runs there: a Debian package revision fixed a CVE, not
the upstream version every other OpenSSH 7.4p1 shares.

- CVEs the distribution's package fixed: ``fixed``, the advisory in ``status_notes`` and among
  the vulnerability's aliases;
- suppressed findings: ``not_affected`` with the entry's reason, author and origin as the impact
  statement; findings a VEX statement took out keep its status, justification and statement;
- open findings: ``affected`` when established (``ESTABLISHED``: certain; the remediation, when
  known, as the action statement), ``under_investigation`` when possible (a platform condition it
  cannot see, a third party's report, a version range, an unbounded NVD entry, an unverified
  distribution backport), its confidence and reason in
  ``status_notes``; a VEX statement that kept the finding decides instead.

A report with no finding at all gives a document with no statements: OpenVEX's JSON schema asks
for at least one, and there is nothing true to state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from brulee.core.cpe import Cpe, CpeError, parse_cpe
from brulee.core.findings import Location, ServiceGroup
from brulee.core.report import Report
from brulee.core.suppression import Suppressed, Suppression, ip_address_of
from brulee.core.vulnerability import VexStatus, Vulnerability, established
from brulee.match.nvd import service_products
from brulee.report.interface import Renderer, report_file
from brulee.report.jsontext import dump
from brulee.report.view.text import fixed_text, printable, safe_url

CONTEXT = "https://openvex.dev/ns/v0.2.0"
AUTHOR = "brulee"
ROLE = "automated network vulnerability scanner"
_PROTOCOLS = frozenset({"tcp", "udp", "sctp"})
_NAMESPACE = uuid.UUID("2f0c5b4e-8d0a-4f5e-9b1e-6e6f70656e76")


def location_iri(loc: Location) -> str | None:
    """``tcp://10.0.0.5:22``, ``udp://[fd00::5]:161``; None for a protocol OpenVEX products
    here cannot name."""
    if loc.protocol not in _PROTOCOLS:
        return None
    address = ip_address_of(loc.address)
    if address is not None:
        host = f"[{address}]" if address.version == 6 else str(address)
    else:
        host = quote(loc.address.lower(), safe=".-_~")
    return f"{loc.protocol}://{host}:{int(loc.port)}"


def software_cpe(group: ServiceGroup) -> Cpe | None:
    """The service's software as a CPE: its first application CPE Nmap gave, else the NVD
    name its product maps to (with Nmap's version)."""
    for text in group.service.cpes:
        try:
            cpe = parse_cpe(text)
        except CpeError:
            continue
        if cpe.part == "a":
            return cpe
    names = sorted(service_products(group.service))
    if not names:
        return None
    version = group.service.version.split()[:1]
    return Cpe("a", *names[0], *version)


def _identifiers(group: ServiceGroup) -> dict[str, str] | None:
    cpe = software_cpe(group)
    return {"cpe23": cpe.to_fs(), "cpe22": cpe.to_uri()} if cpe else None


def _vulnerability(vuln: Vulnerability) -> dict[str, Any]:
    data: dict[str, Any] = {"name": vuln.id}
    if url := safe_url(vuln.url):
        data["@id"] = url
    if vuln.description:
        data["description"] = printable(vuln.description)
    if aliases := [a for a in vuln.advisories if a != vuln.id]:
        data["aliases"] = aliases
    return data


def _open(group: ServiceGroup, vuln: Vulnerability) -> dict[str, Any]:
    """brulee's decision on a finding it keeps."""
    notes = [f"brulee: confidence {vuln.confidence}" + (f"; {vuln.reason}" if vuln.reason else "")]
    status: VexStatus = "affected" if established(vuln) else "under_investigation"
    action = ""
    for note in vuln.vex:  # a VEX statement that kept it decides (the latest applied)
        status = note.status
        action = note.statement if note.status == "affected" else action
        notes.append(f"VEX {note.status} by {note.author} ({note.origin})" +
                     (f": {note.statement}" if note.statement else ""))  # fmt: skip
    data: dict[str, Any] = {"status": status, "status_notes": printable(". ".join(notes))}
    if status == "affected":
        data["action_statement"] = printable(
            action
            or vuln.remediation
            or f"Update {group.service.label} to a release that fixes {vuln.id} (brulee's data "
            "records no fixed version)."
        )
    return data


def _suppressed(entry: Suppression) -> dict[str, Any]:
    """The decision of the entry that took a finding out."""
    claim = entry.vex
    if claim is not None and claim.status in ("not_affected", "fixed"):
        data: dict[str, Any] = {"status": claim.status}
        if claim.justification:
            data["justification"] = claim.justification
        if claim.statement:
            key = "impact_statement" if claim.status == "not_affected" else "status_notes"
            data[key] = printable(claim.statement)
        return data
    until = f", until {entry.expires}" if entry.expires else ""
    return {
        "status": "not_affected",
        "impact_statement": printable(
            f"Accepted by {entry.author}: {entry.reason} ({entry.origin}{until})"
        ),
    }


def _fixed(vuln: Vulnerability) -> dict[str, Any]:
    return {
        "status": "fixed",
        "status_notes": printable(f"Fixed by the distribution: {fixed_text(vuln)}"),
    }


Statement = tuple[Vulnerability, dict[str, Any], Iterable[Location]]


def statements(report: Report) -> Iterator[tuple[ServiceGroup, Statement]]:
    """Every statement: the vulnerability, its decision, and the locations it holds for."""
    applied = report.suppressed
    for group in report.services:
        found = applied.for_group(group.key) if applied is not None else None
        partial: dict[str, Suppressed] = {}
        for item in found.suppressed if found else ():
            if item.complete:
                yield group, (item.vulnerability, _suppressed(item.entries[0]),
                              report.locations(group))  # fmt: skip
            else:
                partial[item.vulnerability.id] = item
        for vuln in group.vulnerabilities:
            some = partial.get(vuln.id)
            taken = {at.location for at in some.locations} if some else set()
            kept = (loc for loc in report.locations(group) if loc not in taken)
            yield group, (vuln, _open(group, vuln), kept)
            by_entry: dict[int, tuple[Suppression, list[Location]]] = {}
            for at in some.locations if some else ():
                by_entry.setdefault(id(at.entry), (at.entry, []))[1].append(at.location)
            for entry, where in by_entry.values():
                yield group, (vuln, _suppressed(entry), where)
        for vuln in group.fixed:
            yield group, (vuln, _fixed(vuln), report.locations(group))


def document_head(report: Report) -> dict[str, Any]:
    scan = report.scan
    identity = "\x1f".join((scan.generated, scan.site, str(scan.shard or ""), *scan.targets))
    tooling = f"brulee {scan.tool_version}: Nmap {scan.run.scanner_version} service detection"
    if scan.database:
        tooling += f", offline matching against {scan.database}"
    return {
        "@context": CONTEXT,
        "@id": f"urn:uuid:{uuid.uuid5(_NAMESPACE, identity)}",
        "author": AUTHOR,
        "role": ROLE,
        "timestamp": scan.generated,
        "version": 1,
        "tooling": printable(tooling),
    }


class OpenVexRenderer(Renderer):
    """One OpenVEX document; products stream from the spool."""

    extension = "openvex.json"

    def render(self, report: Report, path: Path) -> None:
        with report_file(path) as out:
            self._write(report, out)

    def _write(self, report: Report, out: IO[str]) -> None:
        out.write(dump(document_head(report))[:-1] + ', "statements": [')
        first = True
        identifiers: dict[str, dict[str, str] | None] = {}
        for group, (vuln, decision, where) in statements(report):
            if group.key not in identifiers:
                identifiers[group.key] = _identifiers(group)
            products = _products(where, identifiers[group.key])
            one = next(products, None)
            if one is None:  # no location OpenVEX can name: no statement
                continue
            head = {"vulnerability": _vulnerability(vuln), **decision}
            out.write(("\n  " if first else ",\n  ") + dump(head)[:-1] + ', "products": [')
            out.write(one)
            for product in products:
                out.write(", " + product)
            out.write("]}")
            first = False
        out.write("]}\n" if first else "\n]}\n")


def _products(where: Iterable[Location], identifiers: dict[str, str] | None) -> Iterator[str]:
    for loc in where:
        iri = location_iri(loc)
        if iri is None:
            continue
        product: dict[str, Any] = {"@id": iri}
        if identifiers:
            product["identifiers"] = identifiers
        yield dump(product)
