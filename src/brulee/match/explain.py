"""``brulee explain``: how brulee reads one service and why each CVE applies to it or not.

Everything here is computed by the engine a scan uses, on the service a scan would build: the
names looked up (:func:`brulee.match.nvd.lookup`), the assessment of :class:`NvdSource` decided
by :class:`BackportJudge` (through :class:`Assessor`, as ``brulee scan`` and ``brulee report``
do), and for each candidate CVE the verdict on each of its entries
(:meth:`CompiledConfigurations.trace`). Nothing is matched twice in two ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.distro import DistroEvidence
from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment, Vulnerability
from brulee.match.assess import Assessor
from brulee.match.backports import BackportJudge
from brulee.match.configurations import EntryVerdict
from brulee.match.distro import detect_distro
from brulee.match.nvd import Lookup, NvdSource, lookup
from brulee.match.versions import NmapVersion
from brulee.vulndb.store import CveRecord, VulnDb


@dataclass(frozen=True, slots=True)
class CveExplanation:
    """One CVE: whether it applies to the service and why, entry by entry.

    ``finding`` is the finding as a report shows it (its confidence decided by the
    distribution's data, ``fixed-by-distribution`` when set aside), None when the CVE does not
    apply; ``why_not`` then says why.
    """

    id: str
    finding: Vulnerability | None
    why_not: str
    entries: tuple[EntryVerdict, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """How brulee reads one service, and what it concludes about it."""

    service: Service
    reading: NmapVersion
    distribution: DistroEvidence | None
    lookup: Lookup
    assessment: Assessment
    candidates: int
    """CVEs recorded for the names the database covers."""
    cves: tuple[CveExplanation, ...]


def explain(service: Service, db: VulnDb, cve: str | None = None) -> Explanation:
    """Explain ``service`` against ``db``: every candidate CVE, or only ``cve`` (which need not
    be a candidate: then it says which products it names instead)."""
    nvd = NvdSource(db)
    assessment = Assessor([nvd], BackportJudge(db).judge)(Port("tcp", 0, "open", service=service))
    found = lookup(service, db)
    records = nvd.candidates(found) if found.known else {}
    findings = {v.id: v for v in (*assessment.vulnerabilities, *assessment.fixed)}
    if cve is not None:
        record = records.get(cve) or db.record(cve)
        chosen = [record] if record is not None else []
    else:
        chosen = sorted(records.values(), key=lambda r: (r.id not in findings, r.id))
    return Explanation(
        service=service,
        reading=nvd.reading(service),
        distribution=detect_distro(service),
        lookup=found,
        assessment=assessment,
        candidates=len(records),
        cves=tuple(_cve(nvd, service, found, r, findings.get(r.id)) for r in chosen),
    )


def _cve(
    nvd: NvdSource,
    service: Service,
    found: Lookup,
    record: CveRecord,
    finding: Vulnerability | None,
) -> CveExplanation:
    compiled = nvd.compiled(record)
    if not found.known or not service.version:
        why = (
            "no version was detected, so no CVE can be matched"
            if found.known
            else "the service's names are not in the vulnerability database"
        )
        return CveExplanation(record.id, None, why, ())
    evidence = nvd.evidence(service, found)
    entries = compiled.trace(evidence)
    if finding is not None:
        return CveExplanation(record.id, finding, "", entries)
    names = ", ".join(f"{vendor}:{product}" for vendor, product in sorted(compiled.products))
    if not entries:
        why = f"it names {names or 'no product'}, none of the names this service was looked up as"
    elif all(entry.verdict == "does not match" for entry in entries):
        why = f"no entry of it for this product matches {service.version} ({len(entries)} read)"
    elif contradicted := compiled.contradicted(evidence):
        why = "an entry matches, but its configuration needs " + "; or ".join(contradicted)
    else:
        why = (
            "an entry matches, but its configuration's other conditions do not hold for what "
            "the scan saw"
        )
    return CveExplanation(record.id, None, why, entries)
