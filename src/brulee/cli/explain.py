"""``brulee explain``: how brulee reads one service and why each CVE applies to it or not."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any

from brulee.core.cpe import ANY, NA, CpeError, parse_cpe
from brulee.core.distro import DistroEvidence
from brulee.core.scan import Service
from brulee.core.vulnerability import Status, Vulnerability, established, findings_status
from brulee.errors import EXIT_OK, UsageError
from brulee.match.configurations import EntryVerdict
from brulee.match.explain import CveExplanation, Explanation, explain
from brulee.match.legacy import RULES
from brulee.match.products import nmap_product_name
from brulee.match.sources import describe, open_db
from brulee.match.versions import NmapVersion
from brulee.report.view.text import printable

ArgsAdder = Callable[[argparse.ArgumentParser], None]
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.I)
_LONGEST = 1024


def add_explain_parser(
    commands: Any, parser_class: type[argparse.ArgumentParser], db_arg: ArgsAdder
) -> None:
    """Add ``brulee explain`` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "explain",
        help="how brulee reads a service as Nmap reported it, and why each CVE applies or not",
    )
    parser.add_argument("--cpe", action="append", default=[], metavar="CPE",
                        help="a CPE Nmap reported for the service (repeatable)")  # fmt: skip
    parser.add_argument("--product", metavar="P", help="Nmap's product name (OpenSSH)")
    parser.add_argument("--version", metavar="V", help="Nmap's version (7.2p2 Debian 4)")
    parser.add_argument("--extrainfo", default="", metavar="E", help="Nmap's extra info")
    parser.add_argument("--cve", metavar="CVE", help="explain only this CVE, applying or not")
    parser.add_argument("--json", action="store_true", help="JSON on stdout instead of text")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    db_arg(parser)


def _checked(option: str, value: str) -> str:
    if len(value) > _LONGEST or printable(value) != value or "\n" in value:
        raise UsageError(
            f"{option}: give the text as Nmap reported it (at most {_LONGEST} characters, "
            "no control or direction-override characters)"
        )
    return value


def service_from(args: argparse.Namespace) -> tuple[Service, list[str]]:
    """The service a scan would build from what Nmap reported, and what was assumed for it."""
    if not args.cpe and not args.product:
        raise UsageError("give --cpe and/or --product, as Nmap reported the service")
    cpes = []
    for text in args.cpe:
        try:
            cpe = parse_cpe(_checked("--cpe", text))
        except CpeError as exc:
            raise UsageError(f"--cpe: {exc}") from exc
        if {ANY, NA} & set(cpe.vendor_product):
            raise UsageError(f"--cpe: a CPE without vendor and product names nothing: {text!r}")
        cpes.append(cpe)
    applications = [cpe for cpe in cpes if cpe.part == "a"]
    assumed = []
    product = _checked("--product", args.product) if args.product is not None else ""
    if args.product is None and applications:
        product = nmap_product_name(applications[0].vendor_product)
        if product:
            assumed.append(f"product {product!r}: Nmap's name for {applications[0].to_uri()}")
    version = _checked("--version", args.version) if args.version is not None else ""
    if args.version is None and applications and applications[0].version not in ("*", "-"):
        version = applications[0].version
        assumed.append(f"version {version!r}: from the CPE (Nmap reports it on its own)")
    service = Service(
        product=product,
        version=version,
        extrainfo=_checked("--extrainfo", args.extrainfo),
        cpes=tuple(args.cpe),
    )
    return service, assumed


def run_explain(args: argparse.Namespace) -> int:
    """Explain the service the arguments describe, as text or JSON on stdout."""
    service, assumed = service_from(args)
    cve = args.cve.upper() if args.cve else None
    if args.cve is not None and not _CVE.fullmatch(args.cve):
        raise UsageError(f"--cve: expected an id such as CVE-2016-3115, not {args.cve[:40]!r}")
    with open_db(args.db) as db:
        database = describe(db.info())[0]
        found = explain(service, db, cve)
    if args.json:
        print(json.dumps(explanation_json(found, assumed, database, cve), indent=2,
                         ensure_ascii=False))  # fmt: skip
    else:
        print(
            "\n".join(printable(line) for line in explanation_text(found, assumed, database, cve))
        )
    return EXIT_OK


# -- JSON ------------------------------------------------------------------------------------


def _rules_named(found: Explanation) -> list[str]:
    """The legacy-encoding rules the explanation's entries rest on, in ``RULES`` order."""
    named = {rule for item in found.cves for entry in item.entries for rule in entry.rules}
    return [name for name in RULES if name in named]


def _reading(version: NmapVersion) -> dict[str, Any]:
    return {
        "version": version.version or None,
        "update": version.update or None,
        "suffix": version.suffix or None,
        "range": [version.low or None, version.high or None] if version.is_range else None,
        "fingerprint": version.fingerprint or None,
    }


def _entry(entry: EntryVerdict) -> dict[str, Any]:
    return {"criterion": entry.criterion, "rules": list(entry.rules),
            "reading": entry.reading or None, "verdict": entry.verdict}  # fmt: skip


def _finding(vuln: Vulnerability) -> dict[str, Any]:
    return {
        "confidence": vuln.confidence,
        "severity": vuln.severity,
        "cvss": vuln.cvss.score if vuln.cvss else None,
        "kev": vuln.kev is not None,
        "reason": vuln.reason,
        "advisory": vuln.advisory or None,
        "remediation": vuln.remediation or None,
    }


def _distribution(distro: DistroEvidence | None) -> dict[str, Any] | None:
    if distro is None:
        return None
    return {
        "label": distro.label,
        "release": distro.release or None,
        "revision": distro.revision or None,
        "evidence": distro.evidence,
    }


def _pairs(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"{vendor}:{product}" for vendor, product in pairs]


def explanation_json(
    found: Explanation, assumed: list[str], database: str, cve: str | None
) -> dict[str, Any]:
    """The explanation as a JSON object (the CLI's ``--json``)."""
    service = found.service
    return {
        "service": {
            "product": service.product,
            "version": service.version,
            "extrainfo": service.extrainfo,
            "cpe": list(service.cpes),
        },
        "assumed": assumed,
        "reading": _reading(found.reading),
        "distribution": _distribution(found.distribution),
        "database": database,
        "nvd_names": _pairs(found.lookup.names),
        "in_database": _pairs(found.lookup.known),
        "respelled": _pairs(found.lookup.respelled),
        "by_product_name": found.lookup.by_name,
        "status": _status(found),
        "note": found.assessment.note,
        "candidates": found.candidates,
        "cve": cve,
        "rules": {name: RULES[name] for name in _rules_named(found)},
        "cves": [
            {
                "id": item.id,
                "applies": item.finding is not None,
                "finding": _finding(item.finding) if item.finding else None,
                "why_not": item.why_not or None,
                "entries": [_entry(entry) for entry in item.entries],
            }
            for item in found.cves
        ],
    }


# -- text ------------------------------------------------------------------------------------


def _reading_text(version: NmapVersion) -> str:
    if version.is_range:
        span = f"a range, {version.low or 'any'} to {version.high or 'any'}"
        return f"{span} ({version.fingerprint})" if version.fingerprint else span
    if not version.version:
        return "no version"
    words = [f"version {version.version}"]
    words += [f"update {version.update}"] if version.update else []
    words += [f"packaging {version.suffix!r} (not compared)"] if version.suffix else []
    return ", ".join(words)


def _lookup_text(found: Explanation) -> str:
    names = found.lookup
    if not names.names:
        return "no NVD name is known for this product"
    how = "Nmap's product name (no CPE)" if names.by_name else "Nmap's CPE"
    text = f"{', '.join(_pairs(names.names))} (from {how}, through the alias table"
    if names.respelled:
        text += f"; {', '.join(_pairs(names.respelled))}: another spelling of the vendor"
    return text + ")"


def _cve_lines(item: CveExplanation, detailed: bool) -> list[str]:
    vuln = item.finding
    if vuln is None:
        lines = [f"{item.id}  does not apply: {item.why_not}"]
    else:
        cvss = f" {vuln.cvss.score} (CVSS {vuln.cvss.version})" if vuln.cvss else ""
        kev = ", known exploited (KEV)" if vuln.kev else ""
        lines = [f"{item.id}  applies: {vuln.confidence}, {vuln.severity}{cvss}{kev}",
                 f"  reason       {vuln.reason}"]  # fmt: skip
        lines += [f"  remediation  {vuln.remediation}"] if vuln.remediation else []
    for entry in item.entries if detailed else ():
        read = f": read as {entry.reading}" if entry.reading else ""
        rule = f" [rule {', '.join(entry.rules)}{read}]" if entry.rules else ""
        lines.append(f"  entry        {entry.criterion}: {entry.verdict}{rule}")
    return lines


def _status(found: Explanation) -> Status:
    """The service's status as the reports say it: with findings, ``vulnerable`` only when one
    is established (certain), else ``possibly-vulnerable``."""
    vulns = found.assessment.vulnerabilities
    return findings_status(vulns) if vulns else found.assessment.status


def _status_text(found: Explanation) -> str:
    assessment = found.assessment
    status = _status(found)
    if not assessment.vulnerabilities:
        return f"{status}: {assessment.note}" if assessment.note else status
    vulns = assessment.vulnerabilities
    certain = sum(map(established, vulns))
    words = [f"{len(vulns)} CVEs apply ({certain} certain, {len(vulns) - certain} possible)"]
    words += [f"{len(assessment.fixed)} fixed by the distribution"] if assessment.fixed else []
    return f"{status}: {', '.join(words)}"


def explanation_text(
    found: Explanation, assumed: list[str], database: str, cve: str | None
) -> list[str]:
    """The explanation as lines of text (the CLI's default)."""
    service, distro = found.service, found.distribution
    lines = [
        f"product       {service.product or '(none given)'}",
        f"version       {service.version or '(none detected)'}: {_reading_text(found.reading)}",
    ]
    lines += [f"extrainfo     {service.extrainfo}"] if service.extrainfo else []
    lines += [f"CPE           {cpe}" for cpe in service.cpes]
    lines += [f"assumed       {text}" for text in assumed]
    lines.append(
        f"distribution  {distro.label} (seen in {distro.evidence})" if distro else
        "distribution  none recognised: upstream matching only"
    )  # fmt: skip
    lines += [
        f"looked up as  {_lookup_text(found)}",
        f"database      {database}",
        f"status        {_status_text(found)}",
        f"candidates    {found.candidates} CVEs recorded for "
        f"{', '.join(_pairs(found.lookup.known)) or 'none of these names'}",
        "",
    ]
    if cve is not None and not found.cves:
        lines.append(f"{cve}  is not in the vulnerability database")
    for item in found.cves:
        lines += _cve_lines(item, detailed=cve is not None)
    if cve is not None and _rules_named(found):
        lines += ["", "rules (NVD's legacy encodings, read as the CVEs' descriptions say):"]
        lines += [f"  {name}: {RULES[name]}" for name in _rules_named(found)]
    return lines
