"""Distribution backports: decide findings that a distribution's package revision already fixed.

Banner matching sees the upstream version (``OpenSSH_7.4p1``); Debian patches its packages
without changing it (``Debian-10+deb9u7``). Where the banner carries a Debian revision, the
Debian security tracker's advisories (DSA/DLA: which release fixed which CVE at which package
version) decide each finding exactly, by dpkg's version ordering:

- fixed at a version <= the running one: ``fixed-by-distribution``, set aside with the advisory;
- fixed at a higher version: kept, with the advisory and the version to upgrade to;
- a distribution is known but nothing decides (no revision in the banner, no advisory for the
  CVE in that release, or a distribution without data here: Red Hat...): ``unverified-backport``,
  kept and marked, with how to confirm it on the host;
- no distribution marker: the finding is left as upstream matching made it.

Ubuntu services are decided with Canonical's data (:mod:`brulee.match.ubuntu_backports`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from brulee.core.distro import DistroEvidence
from brulee.core.scan import Service
from brulee.core.vulnerability import Assessment, Vulnerability
from brulee.match.debversion import DebianVersion
from brulee.match.decisions import confirm_on_host, set_aside, unverified
from brulee.match.distro import detect_distro, package_version_as
from brulee.match.nvd import service_products
from brulee.match.ubuntu_backports import UbuntuBackports
from brulee.vulndb.store import DebianFix, VulnDb

_DEBIAN_DATA = frozenset({"debian", "raspbian"})
log = logging.getLogger(__name__)


class BackportJudge:
    """Applies the distribution evidence of a service to the findings about it."""

    def __init__(self, db: VulnDb) -> None:
        self._db = db
        self._ubuntu = UbuntuBackports(db)
        self._warnings: dict[str, None] = {}

    def warnings(self) -> tuple[str, ...]:
        """What the scan should warn about the distribution data: a release it ran that the
        data has no entries for (each once, in the order met)."""
        return tuple(self._warnings)

    def _warn(self, text: str) -> None:
        if text not in self._warnings:
            self._warnings[text] = None
            log.warning(text)

    def judge(self, service: Service | None, assessment: Assessment) -> Assessment:
        """The assessment with each finding decided by the distribution's data, where it can be."""
        evidence = detect_distro(service) if service is not None else None
        if service is None or evidence is None:
            return assessment
        if not assessment.vulnerabilities:
            return replace(assessment, distribution=evidence)
        if evidence.distro == "ubuntu":
            evidence, ubuntu = self._ubuntu.decide(service, evidence, assessment.vulnerabilities)
            decided = list(ubuntu)
        else:
            confirm = confirm_on_host(evidence, service_products(service))
            releases, dated = self._db.debian_data()
            data = f"the Debian data here (advisories to {dated or 'no date'})"
            missing = bool(releases and evidence.release and evidence.release not in releases)
            if evidence.distro in _DEBIAN_DATA and missing:
                why = (
                    f"{data} has no entries for {evidence.release} (it predates the release or "
                    "does not track it): nothing is decided for it"
                )
                self._warn(
                    f"{data} has no entries for Debian {evidence.release}, which this scan "
                    "found: nothing is decided for it, and findings on its packages stay "
                    "unverified backports; update the database (brulee db update)"
                )
                decided = [unverified(v, why, confirm) for v in assessment.vulnerabilities]
            elif evidence.distro in _DEBIAN_DATA and evidence.revision and evidence.release:
                decided = [
                    self._debian(service, evidence, v, confirm) for v in assessment.vulnerabilities
                ]
            else:
                why = _no_data(evidence)
                decided = [unverified(v, why, confirm) for v in assessment.vulnerabilities]
        fixed = tuple(v for v in decided if v.confidence == "fixed-by-distribution")
        still = tuple(v for v in decided if v.confidence != "fixed-by-distribution")
        note = assessment.note
        if fixed and not still:
            note = (
                f"every CVE that upstream matching found ({len(fixed)}) is fixed by the "
                f"{evidence.label} package"
            )
        return replace(
            assessment,
            status="vulnerable" if still else "clean",
            vulnerabilities=still,
            fixed=fixed,
            distribution=evidence,
            note=note,
        )

    def _packages(self, service: Service) -> frozenset[str]:
        return frozenset().union(
            *(self._db.debian_packages(*pair) for pair in service_products(service))
        )

    def _debian(
        self, service: Service, evidence: DistroEvidence, vuln: Vulnerability, confirm: str
    ) -> Vulnerability:
        fixes = [
            fix
            for package in sorted(self._packages(service))
            for fix in self._db.debian_fixes(package, evidence.release).get(vuln.id, ())
        ]
        if not fixes:
            return unverified(
                vuln,
                f"no Debian advisory names it for {evidence.release} in the Debian data here "
                f"(advisories to {self._db.debian_data()[1] or 'no date'}), so whether the "
                f"{evidence.revision} package carries a fix cannot be decided here",
                confirm,
            )
        comparable: list[tuple[DebianVersion, DebianFix, str, DebianVersion]] = []
        for fix in fixes:
            if fix.fixed_version is None:
                if fix.status == "not-affected":
                    return _set_aside(vuln, fix, f"Debian marks {evidence.release} not affected")
                continue
            try:
                version = DebianVersion.parse(fix.fixed_version)
                running = package_version_as(evidence, fix.fixed_version)
                comparable.append((version, fix, running, DebianVersion.parse(running)))
            except ValueError:  # DebianVersionError included: junk in the tracker data
                continue
        if not comparable:
            return unverified(
                vuln,
                f"Debian's advisories for {evidence.release} give no comparable version",
                confirm,
            )
        # The first fix is the one that counts; later advisories (regressions) come after it.
        version, fix, running, running_version = min(comparable, key=lambda item: item[0])
        if version <= running_version:
            return _set_aside(vuln, fix, f"fixed in {fix.fixed_version}; this host runs {running}")
        return replace(
            vuln,
            advisory=fix.advisory,
            remediation=(
                f"upgrade the Debian {evidence.release} package to {fix.fixed_version} or "
                f"later ({fix.advisory}); this host runs {running}"
            ),
        )


def _set_aside(vuln: Vulnerability, fix: DebianFix, detail: str) -> Vulnerability:
    return set_aside(vuln, fix.advisory, f"{fix.advisory} ({fix.date}): {detail}")


def _no_data(evidence: DistroEvidence) -> str:
    if evidence.distro in _DEBIAN_DATA and not evidence.revision:
        return (
            f"{evidence.label}: the banner shows no package revision, so a backported fix "
            "cannot be ruled in or out"
        )
    if evidence.distro in _DEBIAN_DATA:
        return f"{evidence.label}: no Debian release could be derived from the revision"
    shown = "" if evidence.revision else ", and the banner shows no package release"
    return (
        f"{evidence.label}: distributions patch without changing the upstream version{shown}; "
        f"brulee has no {evidence.distribution} security data to decide it"
    )
