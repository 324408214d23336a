"""Vulnerabilities from the ``vulners`` NSE script's structured output in the Nmap XML."""

from __future__ import annotations

import re

from brulee.core.scan import Port, ScriptTable
from brulee.core.vulnerability import Assessment, Cvss, Vulnerability, severity_of
from brulee.match.interface import VulnerabilitySource

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_NO_OUTPUT = (
    "no vulners output for this port (the script was not run, or could not reach vulners.com, "
    "or knows no CPE for the service)"
)


def _score(text: str | None) -> float | None:
    """A CVSS score from 0 to 10; None (unscored) for anything else: junk, NaN, infinities."""
    try:
        score = float(text) if text and len(text) <= 16 else None
    except ValueError:
        return None
    return score if score is not None and 0.0 <= score <= 10.0 else None


class VulnersSource(VulnerabilitySource):
    """Reads ``<script id="vulners">``: one ``<table>`` per CPE, one entry per advisory.

    CVE entries become vulnerabilities; exploit and bulletin entries are attached to the CVE
    their id names, or kept as service-level references when they name none.
    """

    name = "vulners"

    def assess(self, port: Port) -> Assessment:
        script = port.script("vulners")
        cpe_tables = script.tables if script else ()
        if not cpe_tables:
            return Assessment("unchecked", note=_NO_OUTPUT)
        cves: dict[str, tuple[ScriptTable, str]] = {}
        others: list[tuple[ScriptTable, str]] = []
        for cpe_table in cpe_tables:
            for entry in cpe_table.tables:
                ident = (entry.get("id") or "").strip()
                if not ident:
                    continue
                if _CVE.fullmatch(ident) or (
                    entry.get("type") == "cve" and ident.startswith("CVE-")
                ):
                    cves.setdefault(ident, (entry, cpe_table.key or ""))
                else:
                    others.append((entry, ident))
        exploits: dict[str, list[str]] = {}
        unattributed: list[str] = []
        for _entry, ident in others:
            named = [c for c in _CVE.findall(ident) if c in cves]
            for cve in named:
                exploits.setdefault(cve, []).append(ident)
            if not named:
                unattributed.append(ident)
        vulnerabilities = tuple(
            self._vulnerability(ident, entry, cpe, tuple(exploits.get(ident, ())))
            for ident, (entry, cpe) in cves.items()
        )
        return Assessment(
            "vulnerable",
            vulnerabilities=vulnerabilities,
            references=tuple(dict.fromkeys(unattributed)),
            note="" if vulnerabilities else "vulners listed exploit or bulletin ids but no CVE",
        )

    def _vulnerability(
        self, ident: str, entry: ScriptTable, cpe: str, exploits: tuple[str, ...]
    ) -> Vulnerability:
        score = _score(entry.get("cvss"))
        return Vulnerability(
            id=ident,
            severity=severity_of(score),
            cvss=Cvss(score) if score is not None else None,
            url=f"https://nvd.nist.gov/vuln/detail/{ident}",
            confidence="reported",
            reason=f"listed by the vulners NSE script for {cpe}" if cpe else "listed by vulners",
            sources=(self.name,),
            exploits=exploits,
        )
