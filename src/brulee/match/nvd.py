"""Vulnerabilities from the local NVD database, with NVD's applicability rules applied exactly.

For each service: its NVD vendor:product names (:func:`lookup`: from Nmap's CPEs, else its
product name, through the one alias table in :mod:`brulee.match.products`, and other spellings
of their vendors that the database's own index shows), a few indexed lookups of the CVEs
naming those products, and each CVE's configurations evaluated against the service's version
and the platform CPEs Nmap reported. No network is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.cpe import ANY, NA, Cpe, CpeError, VendorProduct, parse_cpe
from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment, Cvss, Severity, Vulnerability, severity_of
from brulee.match.configurations import Applicability, CompiledConfigurations, Evidence
from brulee.match.distro import platform_facts
from brulee.match.interface import VulnerabilitySource
from brulee.match.nmap_labels import LabelTable, nmap_labels
from brulee.match.products import nvd_products, nvd_products_for_name, vendor_spelling
from brulee.match.versions import NmapVersion
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


def _applications(service: Service) -> list[Cpe]:
    """The service's application CPEs that name a vendor and a product (``cpe:/a:acme`` names
    nothing)."""
    return [c for c in _cpes(service) if c.part == "a" and not {ANY, NA} & set(c.vendor_product)]


def service_products(service: Service) -> frozenset[VendorProduct]:
    """The NVD vendor:product names of the service's software (its application CPEs first)."""
    found: frozenset[VendorProduct] = frozenset()
    for cpe in _applications(service):
        found |= nvd_products(cpe)
    return found or (nvd_products_for_name(service.product) if service.product else found)


@dataclass(frozen=True, slots=True)
class Lookup:
    """How a service was looked up in NVD's names.

    ``names``: every vendor:product checked (the report's ``nvd_names``); ``known``: those the
    database covers, the ones matched; ``by_name``: found through Nmap's product name, as Nmap
    gave no application CPE; ``respelled``: names the database's index adds, the same product
    under another spelling of the same vendor (``trend_micro`` / ``trendmicro``).
    """

    names: tuple[VendorProduct, ...]
    known: tuple[VendorProduct, ...]
    by_name: bool = False
    respelled: tuple[VendorProduct, ...] = ()


def lookup(service: Service, db: VulnDb) -> Lookup:
    """The NVD names to match ``service`` under: the alias table's names for its application
    CPEs, else for its product name; plus, from the database's own index, the same products
    under other spellings of their vendors (``vendor_spelling``), where those hold CVEs."""
    by_name = not _applications(service)
    table = service_products(service)
    respelled = {
        (other, product)
        for vendor, product in table
        for other in db.vendors_of(product)
        if other != vendor and vendor_spelling(other) == vendor_spelling(vendor)
    } - table
    names = sorted(table | respelled)
    known = tuple(pair for pair in names if db.is_known(*pair))
    return Lookup(tuple(names), known, by_name, tuple(sorted(respelled)))


def _range_text(version: NmapVersion) -> str:
    """What a version reading that is a range stands for; '' for a single version."""
    if not version.is_range:
        return ""
    return version.fingerprint or f"Nmap reports a range, {version.label}"


def _unknown_note(service: Service, found: Lookup) -> str:
    """Why ``service`` could not be checked."""
    if found.names:
        return (
            f"{service.label} is not in the vulnerability database under any of the NVD names "
            "it was looked up as"
        )
    return (
        f"{service.label}: Nmap gave no CPE, and no NVD name is known for the product name "
        f"{service.product!r}"
    )


def severity(record: CveRecord) -> Severity:
    """The chosen metric's own rating (CVSS v2 has no ``critical``); else from its score."""
    metric = record.cvss
    if metric is None or metric.score <= 0.0:
        return "unscored"
    return _NVD_SEVERITIES.get((metric.severity or "").upper()) or severity_of(metric.score)


def _vulnerability(
    record: CveRecord, applies: Applicability, found: Lookup, service: Service
) -> Vulnerability:
    """The finding for ``record``, as ``applies`` says; its reason says when the service was
    looked up by Nmap's product name rather than a CPE."""
    metric = record.cvss
    reason = applies.reason
    if found.by_name:
        reason += f" (looked up by Nmap's product name {service.product!r}; Nmap gave no CPE)"
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

    def __init__(self, db: VulnDb, labels: LabelTable | None = None) -> None:
        self._db = db
        self._labels = labels or nmap_labels()
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
        found = lookup(service, self._db)
        names = tuple(f"{vendor}:{product}" for vendor, product in found.names)
        if not found.known:
            return Assessment("unknown", note=_unknown_note(service, found), nvd_names=names)
        if not service.version:
            return Assessment("unversioned", nvd_names=names)
        evidence = self.evidence(service, found)
        records = self.candidates(found)
        vulns = []
        for record in records.values():
            applies = self.compiled(record).evaluate(evidence)
            if applies is not None:
                vulns.append(_vulnerability(record, applies, found, service))
        span = _range_text(evidence.version)
        if vulns:
            note = (
                f"{span}: the running version is not known, so a CVE that applies to only "
                "part of that range is possible, not certain"
                if span
                else ""
            )
            return Assessment("vulnerable", vulnerabilities=tuple(vulns), note=note,
                              nvd_names=names)  # fmt: skip
        known = ", ".join(f"{vendor}:{product}" for vendor, product in found.known)
        scope = f"any version of that range ({span})" if span else f"version {service.version}"
        return Assessment(
            "clean",
            note=f"none of the {len(records)} CVEs recorded for {known} applies to {scope}",
            nvd_names=names,
        )

    def reading(self, service: Service) -> NmapVersion:
        """The service's version as Nmap's labels say (:mod:`brulee.match.nmap_labels`)."""
        return self._labels.reading(service.product, service.version, service.extrainfo)

    def evidence(self, service: Service, found: Lookup) -> Evidence:
        """What the scan knows about ``service``, to judge CVEs against: its version as Nmap's
        labels say (:mod:`brulee.match.nmap_labels`), its OS and hardware CPEs and the OS that
        its distribution marks and ostype imply (:func:`platform_facts`)."""
        derived = platform_facts(service)
        return Evidence(
            products=frozenset(found.known),
            version=self.reading(service),
            platform=(*(c for c in _cpes(service) if c.part != "a"), *(c for c, _ in derived)),
            origins=(*("" for c in _cpes(service) if c.part != "a"), *(o for _, o in derived)),
        )

    def candidates(self, found: Lookup) -> dict[str, CveRecord]:
        """CVE id -> record, for every CVE naming one of the known names, in id order."""
        records = {r.id: r for pair in found.known for r in self._db.candidates(*pair)}
        return dict(sorted(records.items()))

    def compiled(self, record: CveRecord) -> CompiledConfigurations:
        """``record``'s configurations compiled (once per CVE)."""
        compiled = self._compiled.get(record.id)
        if compiled is None:
            compiled = CompiledConfigurations.compile(list(record.configurations))
            self._compiled[record.id] = compiled
        return compiled
