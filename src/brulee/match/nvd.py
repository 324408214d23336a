"""Vulnerabilities from the local NVD database, with NVD's applicability rules applied exactly.

For each service: its NVD vendor:product names (from Nmap's CPEs, else its product name,
through the one alias table in :mod:`brulee.cpe`), a few indexed lookups of the CVEs naming
those products, and each CVE's configurations evaluated against the service's version and the
platform CPEs Nmap reported. No network is used.
"""

from __future__ import annotations

from brulee.core.cpe import Cpe, CpeError, VendorProduct, parse_cpe
from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment, Cvss, Severity, Vulnerability, severity_of
from brulee.match.configurations import Applicability, CompiledConfigurations, Evidence
from brulee.match.interface import VulnerabilitySource
from brulee.match.products import nvd_products, nvd_products_for_name
from brulee.match.versions import parse_nmap_version
from brulee.vulndb.store import CveRecord, VulnDb

_NVD_SEVERITIES: dict[str, Severity] = {
    "CRITICAL": "critical", "HIGH": "high", "MEDIUM": "medium", "LOW": "low",
}  # fmt: skip


def _cpes(service: Service) -> list[Cpe]:
    parsed = []
    for text in service.cpes:
        try:
            parsed.append(parse_cpe(text))
        except CpeError:
            continue  # a CPE Nmap mangled is no evidence either way
    return parsed


def service_products(service: Service) -> frozenset[VendorProduct]:
    """The NVD vendor:product names of the service's software (its application CPEs first)."""
    found: frozenset[VendorProduct] = frozenset()
    for cpe in _cpes(service):
        if cpe.part == "a":
            found |= nvd_products(cpe)
    return found or (nvd_products_for_name(service.product) if service.product else found)


def severity(record: CveRecord) -> Severity:
    """The chosen metric's own rating (CVSS v2 has no ``critical``); else from its score."""
    metric = record.cvss
    if metric is None or metric.score <= 0.0:
        return "unscored"
    return _NVD_SEVERITIES.get((metric.severity or "").upper()) or severity_of(metric.score)


def _vulnerability(record: CveRecord, applies: Applicability) -> Vulnerability:
    metric = record.cvss
    reason = applies.reason
    if applies.unverified:
        reason += "; only if " + " and ".join(applies.unverified) + " (not visible to the scan)"
    return Vulnerability(
        id=record.id,
        severity=severity(record),
        cvss=Cvss(metric.score, metric.version, metric.vector) if metric else None,
        description=record.description,
        url=f"https://nvd.nist.gov/vuln/detail/{record.id}",
        published=record.published,
        confidence=applies.confidence,
        reason=reason,
        sources=("nvd",),
        kev=record.kev,
        epss=record.epss,
        cwes=record.cwes,
    )


class NvdSource(VulnerabilitySource):
    """Matches services against the offline database built from NVD, KEV and EPSS data."""

    name = "nvd"

    def __init__(self, db: VulnDb) -> None:
        self._db = db
        self._compiled: dict[str, CompiledConfigurations] = {}
        self._assessed: dict[Service, Assessment] = {}

    def assess(self, port: Port) -> Assessment:
        """The assessment of the port's service, computed once per distinct service."""
        service = port.service
        if service is None:
            return self._assess(None)
        found = self._assessed.get(service)
        if found is None:
            found = self._assessed[service] = self._assess(service)
        return found

    def _assess(self, service: Service | None) -> Assessment:
        if service is None or not (service.product or service.cpes):
            return Assessment("unknown", note="Nmap did not identify the software on this port")
        products = sorted(p for p in service_products(service) if self._db.is_known(*p))
        if not products:
            return Assessment(
                "unknown",
                note=f"{service.label} is not a product the vulnerability database covers",
            )
        if not service.version:
            return Assessment("unversioned")
        evidence = Evidence(
            products=frozenset(products),
            version=parse_nmap_version(service.product, service.version),
            platform=tuple(c for c in _cpes(service) if c.part != "a"),
        )
        records = {r.id: r for pair in products for r in self._db.candidates(*pair)}
        found = []
        for record in records.values():
            applies = self._compile(record).evaluate(evidence)
            if applies is not None:
                found.append(_vulnerability(record, applies))
        names = ", ".join(f"{v}:{p}" for v, p in products)
        if not found:
            return Assessment(
                "clean",
                note=f"none of the {len(records)} CVEs recorded for {names} applies to "
                f"version {service.version}",
            )
        return Assessment("vulnerable", vulnerabilities=tuple(found))

    def _compile(self, record: CveRecord) -> CompiledConfigurations:
        compiled = self._compiled.get(record.id)
        if compiled is None:
            compiled = CompiledConfigurations.compile(list(record.configurations))
            self._compiled[record.id] = compiled
        return compiled
