"""Ubuntu findings decided with Canonical's CVE OVAL, per release, source package and revision.

Each release the service may come from (:mod:`brulee.match.ubuntu_release`) and each source
package of the product in it gives a verdict on a finding:

- Canonical fixed it there at V (``released``, ``not-affected`` from V on, ``pending``) and the
  running package is V or later (dpkg's ordering): **fixed**;
- fixed at V above the running package: **open**, with the version to upgrade to (a fix only in
  Ubuntu Pro when V is an ``+esm`` build: a host on a regular package stays open);
- Canonical marks it affected with no fix (``needed``, ``needs-triage``, ``deferred``,
  ``ignored``): **open**, with Canonical's status;
- a banner without a package revision decides only what the release alone decides: Canonical's
  open statuses, and a fix whose upstream version is newer than the running one;
- anything else is **undecided**: no data for the release, the CVE not tracked (or newer than the
  data), no status for the package, a fix without a version, a FIPS build.

A finding is set aside (fixed) or kept open with Canonical's data only when every verdict agrees;
otherwise it stays ``unverified-backport``, its reason says why and which data was checked, and its
remediation how to confirm on the host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from brulee.core.distro import DistroEvidence
from brulee.core.scan import Service
from brulee.core.vulnerability import Vulnerability
from brulee.match.debversion import DebianVersion, DebianVersionError
from brulee.match.decisions import confirm_on_host, set_aside, unverified
from brulee.match.distro import same_upstream
from brulee.match.nvd import service_products
from brulee.match.ubuntu_release import (
    UbuntuRevision,
    find_releases,
    package_versions,
    release_label,
    running_version,
    shipped_upstream,
)
from brulee.vulndb.store import UbuntuStatus, VulnDb

Kind = Literal["fixed", "open", "undecided"]

_AFFECTED = {
    "needed": "is affected and needs fixing",
    "needs-triage": "is affected and may need fixing (not yet triaged)",
    "deferred": "is affected; Canonical deferred the fix",
    "ignored": "is affected; Canonical decided not to fix it",
    "pending": "is affected; a fix is pending publication",
}


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One (release, source package) the service may be, and the package version it runs."""

    release: str
    package: str
    generated: str
    """When Canonical generated the release's data; '' when the database has none."""
    running: str
    """The running package's version; '' when the banner has no revision or it cannot be told."""
    epochs: frozenset[int] = frozenset()
    """The epochs of the package's versions in Canonical's data for the release."""
    beyond: bool = False
    """The host runs a later package than any Canonical's data for the release names (a later
    upstream version, without a revision): a fix published after the data cannot be ruled out."""
    blocked: str = ""
    """Why nothing at all can be decided with this candidate."""

    @property
    def data(self) -> str:
        return f"Canonical's {self.release} data of {self.generated[:10]}"


@dataclass(frozen=True, slots=True)
class _Verdict:
    kind: Kind
    text: str
    usns: tuple[str, ...] = ()
    remediation: str = ""
    fix: str = ""
    """A fixed version Canonical gives, for the remediation of an undecided finding."""


class UbuntuBackports:
    """Decides the findings on Ubuntu services with Canonical's data in the database."""

    def __init__(self, db: VulnDb) -> None:
        self._db = db

    def decide(
        self, service: Service, evidence: DistroEvidence, vulns: Sequence[Vulnerability]
    ) -> tuple[DistroEvidence, tuple[Vulnerability, ...]]:
        """The evidence with the release found (and how), and each finding decided."""
        products = service_products(service)
        packages = frozenset().union(*(self._db.ubuntu_packages(*pair) for pair in products))
        openssh = service.product.lower() == "openssh"
        found = find_releases(evidence, openssh, packages, self._db)
        revision = UbuntuRevision.parse(evidence.revision) if evidence.revision else None
        build = ""
        if revision and revision.esm:
            build = "; an Ubuntu Pro (ESM) build"
        if revision and revision.fips:
            build = "; a FIPS build"
        release = found.names[0] if len(found.names) == 1 else evidence.release
        evidence = replace(
            evidence, release=release, evidence=f"{evidence.evidence}; {found.how}{build}"
        )
        confirm = confirm_on_host(evidence, products)
        if not found.names:
            why = f"{evidence.label}: {found.how}, so nothing is decided"
            shipping = shipped_upstream(evidence, packages, self._db)
            return evidence, tuple(
                unverified(v, why, _with(confirm, self._hint(v, shipping, evidence))) for v in vulns
            )
        if revision and revision.fips:
            why = f"{evidence.label}: a FIPS build, which Canonical's CVE data does not describe"
            return evidence, tuple(unverified(v, why, confirm) for v in vulns)
        candidates = [
            candidate
            for name in found.names
            for candidate in self._candidates(name, packages, evidence)
        ]
        return evidence, tuple(self._decide(v, candidates, evidence, confirm) for v in vulns)

    def _candidates(
        self, release: str, packages: frozenset[str], evidence: DistroEvidence
    ) -> list[_Candidate]:
        generated = self._db.ubuntu_releases().get(release, "")
        if not generated:
            why = f"this database has no Canonical data for {release_label(release)}"
            return [_Candidate(release, "", "", "", blocked=f"{why} (brulee db update fetches it)")]
        present = sorted(p for p in packages if self._db.ubuntu_statuses(p, release))
        if not present:
            why = f"Canonical's {release} data names no source package of this service"
            return [_Candidate(release, "", generated, "", blocked=why)]
        candidates = []
        for package in present:
            running, why = "", ""
            if evidence.revision:
                running, why = running_version(evidence, release, package, self._db)
            known = package_versions(self._db, package, release)
            candidates.append(
                _Candidate(
                    release,
                    package,
                    generated,
                    running,
                    epochs=frozenset(v.epoch for v in known),
                    beyond=_beyond(evidence, running, known),
                    blocked=why,
                )
            )
        return candidates

    def _decide(
        self,
        vuln: Vulnerability,
        candidates: Sequence[_Candidate],
        evidence: DistroEvidence,
        confirm: str,
    ) -> Vulnerability:
        verdicts = [self._verdict(vuln, c, evidence) for c in candidates]
        kinds = {v.kind for v in verdicts}
        usns = ", ".join(dict.fromkeys(u for v in verdicts for u in v.usns))
        texts = "; ".join(dict.fromkeys(v.text for v in verdicts))
        if kinds == {"fixed"}:
            return set_aside(vuln, usns, f"{usns}: {texts}" if usns else texts)
        if kinds == {"open"}:
            remedy = "; ".join(dict.fromkeys(v.remediation for v in verdicts))
            return replace(
                vuln, advisory=usns, reason=f"{vuln.reason}; {texts}", remediation=remedy
            )
        fixes = ", ".join(dict.fromkeys(v.fix for v in verdicts if v.fix))
        remedy = _with(confirm, f"Canonical's fix: {fixes}" if fixes else "")
        return unverified(vuln, f"{evidence.label}: {texts}", remedy)

    def _hint(
        self, vuln: Vulnerability, shipping: Sequence[tuple[str, str]], evidence: DistroEvidence
    ) -> str:
        """What Canonical's data says of ``vuln`` in the releases whose package has the banner's
        upstream version, to compare with the host's package (the release is not known)."""
        said = []
        for release, package in shipping:
            status = self._db.ubuntu_statuses(package, release).get(vuln.id)
            if status is None:
                continue
            fixed = status.fixed_version
            said.append(
                f"{release} fixed in {fixed}{_listed(_usns(status))}"
                if fixed
                else f"{release} {status.status}"
            )
        if not said:
            return ""
        return f"Canonical's data for the releases with {evidence.upstream}: {'; '.join(said)}"

    def _verdict(
        self, vuln: Vulnerability, candidate: _Candidate, evidence: DistroEvidence
    ) -> _Verdict:
        if candidate.blocked:
            return _Verdict("undecided", candidate.blocked)
        status = self._db.ubuntu_statuses(candidate.package, candidate.release).get(vuln.id)
        if status is None:
            return _Verdict("undecided", self._untracked(vuln, candidate))
        if status.status == "conflicting":
            why = f"{candidate.data} states two different statuses for {candidate.package}"
            return _Verdict("undecided", why)
        if status.fixed_version is None:
            return _unfixed(vuln, candidate, status)
        try:
            fixed = DebianVersion.parse(status.fixed_version)
        except DebianVersionError:
            why = f"{candidate.data} gives {status.fixed_version!r}, not a package version"
            return _Verdict("undecided", why)
        if candidate.running:
            return _compared(candidate, status, fixed)
        return _without_revision(candidate, status, fixed, evidence)

    def _untracked(self, vuln: Vulnerability, candidate: _Candidate) -> str:
        if vuln.id in self._db.ubuntu_tracked(candidate.release):
            return f"{candidate.data} tracks it but gives no status for {candidate.package}"
        published = vuln.published[:10]
        if published and published > candidate.generated[:10]:
            return f"{candidate.data} predates the CVE (published {published})"
        return f"it is not tracked in {candidate.data}"


def _with(confirm: str, hint: str) -> str:
    """A remediation: how to confirm on the host, then what Canonical's data says."""
    return f"{confirm}; {hint}" if confirm and hint else confirm or hint


def _beyond(evidence: DistroEvidence, running: str, known: Sequence[DebianVersion]) -> bool:
    """Whether the host runs a later package than all of ``known`` (without a revision: a later
    upstream version than theirs)."""
    if not known:
        return False
    if running:
        return DebianVersion.parse(running) > max(known)
    if any(same_upstream(evidence.upstream, v.upstream) for v in known):
        return False
    return DebianVersion(0, evidence.upstream) > max(DebianVersion(0, v.upstream) for v in known)


def _unfixed(vuln: Vulnerability, candidate: _Candidate, status: UbuntuStatus) -> _Verdict:
    """Canonical marks the package affected (or fixed, without saying in which version)."""
    if status.status not in _AFFECTED:
        why = f"{candidate.data} says {candidate.package} was fixed but gives no version"
        return _Verdict("undecided", why)
    note = f": {status.note}" if status.note else ""
    what = f"{candidate.package} {_AFFECTED[status.status]} ({status.status}{note})"
    if candidate.beyond:
        why = (
            f"{candidate.data}: {what}, but this host runs a later {candidate.package} than any "
            "that data names, which may carry a later fix"
        )
        return _Verdict("undecided", why)
    remedy = (
        f"no fixed Ubuntu {candidate.release} package in {candidate.data} ({status.status}): "
        f"mitigate, or follow https://ubuntu.com/security/{vuln.id}"
    )
    return _Verdict("open", f"{candidate.data}: {what}", remediation=remedy)


def _compared(candidate: _Candidate, status: UbuntuStatus, fixed: DebianVersion) -> _Verdict:
    """The running package against Canonical's fixed version, by dpkg's ordering."""
    fix = status.fixed_version
    usns = _usns(status)
    if DebianVersion.parse(candidate.running) >= fixed:
        if status.status == "not-affected":
            done = f"not affected from {fix} on (fixed before the release)"
        elif status.status == "pending":
            done = f"fixed in {fix} (pending publication at that date)"
        else:
            done = f"fixed in {fix}"
        text = f"{candidate.data}: {candidate.package} {done}; this host runs {candidate.running}"
        return _Verdict("fixed", text, usns)
    text = (
        f"{candidate.data}: {candidate.package} fixed in {fix}{_listed(usns)}, above this "
        f"host's {candidate.running}"
    )
    return _Verdict("open", text, usns, _upgrade(candidate, status, fixed, candidate.running))


def _usns(status: UbuntuStatus) -> tuple[str, ...]:
    """The USNs of the CVE that count for this status: those of a release's own fix."""
    return status.usns if status.status == "released" else ()


def _listed(usns: Sequence[str]) -> str:
    return f" ({', '.join(usns)})" if usns else ""


def _upgrade(
    candidate: _Candidate, status: UbuntuStatus, fixed: DebianVersion, running: str
) -> str:
    """``upgrade the Ubuntu focal package openssh to V or later (USN-...); this host runs R``,
    saying when the fix is only in Ubuntu Pro or was not yet published."""
    usns = _usns(status)
    revision = UbuntuRevision.parse(fixed.revision)
    pro = ", available only with Ubuntu Pro (ESM)" if revision and revision.esm else ""
    pending = "; its fix was pending publication then" if status.status == "pending" else ""
    return (
        f"upgrade the Ubuntu {candidate.release} package {candidate.package} to "
        f"{status.fixed_version} or later{pro}{_listed(usns)}; this host runs {running}{pending}"
    )


def _without_revision(
    candidate: _Candidate, status: UbuntuStatus, fixed: DebianVersion, evidence: DistroEvidence
) -> _Verdict:
    """No revision in the banner: only a fix of a newer upstream version decides (open), when
    the release's versions of the package share the fix's epoch."""
    fix = status.fixed_version
    usns = _usns(status)
    newer = (
        candidate.epochs == {fixed.epoch}
        and not same_upstream(evidence.upstream, fixed.upstream)
        and DebianVersion(0, fixed.upstream) > DebianVersion(0, evidence.upstream)
    )
    if newer:
        text = (
            f"{candidate.data}: {candidate.package} fixed in {fix}{_listed(usns)}, a newer "
            f"upstream version than this host's {evidence.upstream}"
        )
        remedy = _upgrade(candidate, status, fixed, evidence.upstream)
        return _Verdict("open", text, usns, remedy)
    text = (
        f"{candidate.data}: {candidate.package} fixed in {fix}, and the banner shows no package "
        "revision to compare with it"
    )
    return _Verdict("undecided", text, fix=f"{candidate.release} at {fix}{_listed(usns)}")
