"""Which Ubuntu release packaged a service, and the exact version of the package it runs.

Found strictly, never guessed, in this order:

1. **Named**: a release number in the revision (``0ubuntu0.18.04.1``, ``~18.04.1``) or in what
   Nmap reported (extrainfo ``Ubuntu 18.04``, CPE ``ubuntu_linux:18.04``): see ``detect_distro``.
2. **OpenSSH's banner**: its upstream version and the Debian revision the Ubuntu revision is based
   on (``8.2p1`` + ``4ubuntu0.5``: Debian's ``4``) match Ubuntu's OpenSSH of one release, or of two
   (``9.0p1`` on ``1`` is kinetic's and lunar's): :data:`OPENSSH_RELEASES`, from the default
   banner of every release.
3. **Canonical's data**, for other packages (and to choose between the releases of rule 2): the
   releases whose data lists this exact package version; failing that, those listing the same
   upstream version on the same Debian revision.

When several releases remain, each is evaluated and a CVE is decided only when all agree. The
banner carries no epoch, and OpenSSH's may spell the upstream version differently from its package
(trusty's ``1:6.6p1`` packages report ``6.6.1p1``): the running package's version takes them from
Canonical's data for the release (:func:`running_version`). A revision that is not in a form
Ubuntu uses (``2unbuntu2``) decides nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from brulee.core.distro import DistroEvidence
from brulee.match.debversion import DebianVersion, DebianVersionError
from brulee.match.distro import UBUNTU_RELEASES, same_upstream
from brulee.vulndb.store import VulnDb

OPENSSH_RELEASES: tuple[tuple[str, str, str], ...] = (
    ("warty", "3.8.1p1", "11"), ("hoary", "3.9p1", "1"), ("breezy", "4.1p1", "7"),
    ("dapper", "4.2p1", "7"), ("edgy", "4.3p2", "5"), ("feisty", "4.3p2", "8"),
    ("gutsy", "4.6p1", "5"), ("hardy", "4.7p1", "8"), ("intrepid", "5.1p1", "3"),
    ("jaunty", "5.1p1", "5"), ("karmic", "5.1p1", "6"), ("lucid", "5.3p1", "3"),
    ("maverick", "5.5p1", "4"), ("natty", "5.8p1", "1"), ("oneiric", "5.8p1", "7"),
    ("precise", "5.9p1", "5"), ("quantal", "6.0p1", "3"), ("raring", "6.1p1", "4"),
    ("saucy", "6.2p2", "6"), ("trusty", "6.6.1p1", "2"), ("utopic", "6.6.1p1", "8"),
    ("vivid", "6.7p1", "5"), ("wily", "6.9p1", "2"), ("xenial", "7.2p2", "4"),
    ("yakkety", "7.3p1", "1"), ("zesty", "7.4p1", "10"), ("artful", "7.5p1", "10"),
    ("bionic", "7.6p1", "4"), ("cosmic", "7.7p1", "4"), ("disco", "7.9p1", "10"),
    ("eoan", "8.0p1", "6"), ("focal", "8.2p1", "4"), ("groovy", "8.3p1", "1"),
    ("hirsute", "8.4p1", "5"), ("impish", "8.4p1", "6"), ("jammy", "8.9p1", "3"),
    ("kinetic", "9.0p1", "1"), ("lunar", "9.0p1", "1"), ("mantic", "9.3p1", "1"),
    ("noble", "9.6p1", "3"), ("oracular", "9.7p1", "7"), ("plucky", "9.9p1", "3"),
)  # fmt: skip
"""Ubuntu's OpenSSH per release: (code name, upstream version as the banner shows it, Debian
revision the Ubuntu package is based on), from the default banner of each release
(richlamdev/ssh-default-banners, MIT)."""

OPENSSH_SPELLING = {"trusty": "6.6p1"}
"""Releases whose OpenSSH package spells its upstream version unlike its banner (Canonical's data:
trusty's ``1:6.6p1-2ubuntu2.N`` packages, patched to 6.6.1, report ``OpenSSH_6.6.1p1``)."""

_AGE = {name: age for age, name in enumerate(UBUNTU_RELEASES.values())}
"""Release code name -> its rank, oldest first."""
_REVISION = re.compile(
    r"(?P<base>[0-9]+(?:\.[0-9]+)*)"  # Debian's revision it is based on: 4, 0.2
    r"(?:\+deb[0-9]+u[0-9]+)?"  # a Debian stable update it was taken from
    r"(?:(?:ubuntu|build)[0-9]+(?:\.[0-9]+)*)*"  # Ubuntu's changes: ubuntu0.5, build1
    r"(?:~[0-9]{2}\.[0-9]{2}(?:\.[0-9]+)*)?"  # a backport to a release: ~18.04.1
    r"(?P<esm>[+~]esm[0-9]+)?"  # an Ubuntu Pro (ESM) build
    r"(?P<fips>\.fips(?:\.[0-9]+)*)?"  # a FIPS build
)


@dataclass(frozen=True, slots=True)
class UbuntuRevision:
    """An Ubuntu package revision read by its parts: ``4ubuntu0.5`` is based on Debian's ``4``."""

    text: str
    base: str
    esm: bool
    """``+esmN`` / ``~esmN``: built for Ubuntu Pro (Expanded Security Maintenance)."""
    fips: bool
    """``.fips``: a FIPS 140 build, outside Canonical's CVE data."""

    @classmethod
    def parse(cls, text: str) -> UbuntuRevision | None:
        """The revision, or None if it is not in a form Ubuntu uses (``2unbuntu2``)."""
        found = _REVISION.fullmatch(text)
        if found is None:
            return None
        return cls(text, found["base"], bool(found["esm"]), bool(found["fips"]))


@dataclass(frozen=True, slots=True)
class Releases:
    """The Ubuntu releases a service may come from, and how they were found."""

    names: tuple[str, ...]
    """Code names; () when the release cannot be told."""
    how: str
    """For the evidence line: ``release focal: OpenSSH 8.2p1 on Debian's revision 4 is Ubuntu
    20.04's``; or why no release could be found."""


def release_label(release: str) -> str:
    """``Ubuntu 20.04 (focal)``; ``Ubuntu focal`` for a name not in the table."""
    number = next((n for n, name in UBUNTU_RELEASES.items() if name == release), "")
    return f"Ubuntu {number} ({release})" if number else f"Ubuntu {release}"


def find_releases(
    evidence: DistroEvidence, openssh: bool, packages: frozenset[str], db: VulnDb
) -> Releases:
    """The releases ``evidence`` (an Ubuntu service, of source ``packages``) may come from; none
    when its revision is not one Ubuntu uses, as nothing can be compared with it."""
    revision = UbuntuRevision.parse(evidence.revision) if evidence.revision else None
    if evidence.revision and revision is None:
        named = f"release {evidence.release} named, but" if evidence.release else "release unknown:"
        return Releases(
            (), f"{named} the revision {evidence.revision} is not in a form Ubuntu uses"
        )
    if evidence.release:
        return Releases((evidence.release,), f"release {evidence.release}: named by the banner")
    if revision is None:
        why = "the banner names neither the release nor the package revision"
        return Releases((), f"release unknown: {why}")
    shipped = _openssh(evidence.upstream, revision.base) if openssh else ()
    exact = _in_data(evidence, revision, packages, db, exact=True)
    if shipped:
        found = tuple(r for r in shipped if r in exact)
        if len(shipped) > 1 and len(found) == 1:
            return Releases(found, _data_how(evidence, revision, found, exact=True))
        return Releases(shipped, _openssh_how(evidence.upstream, revision.base, shipped))
    if exact:
        return Releases(exact, _data_how(evidence, revision, exact, exact=True))
    based = _in_data(evidence, revision, packages, db, exact=False)
    if based:
        return Releases(based, _data_how(evidence, revision, based, exact=False))
    return Releases(
        (),
        f"release unknown: no Ubuntu release's {'OpenSSH' if openssh else 'data'} has "
        f"{evidence.upstream} on Debian's revision {revision.base}",
    )


def running_version(
    evidence: DistroEvidence, release: str, package: str, db: VulnDb
) -> tuple[str, str]:
    """(the package version this host runs in ``release``, '') or ('', why it cannot be told).

    The epoch and the upstream spelling come from Canonical's versions of ``package`` in
    ``release`` that name the banner's upstream version (or, with none, its only epoch).
    """
    spellings = {evidence.upstream, OPENSSH_SPELLING.get(release, evidence.upstream)}
    known = package_versions(db, package, release)
    same = {
        (v.epoch, v.upstream) for v in known if any(same_upstream(s, v.upstream) for s in spellings)
    }
    if len(same) == 1:
        epoch, upstream = next(iter(same))
    elif not same and len(epochs := {v.epoch for v in known}) == 1:
        epoch, upstream = next(iter(epochs)), OPENSSH_SPELLING.get(release, evidence.upstream)
    else:
        return "", (
            f"Canonical's data for {release} does not tell the epoch and spelling of {package} "
            f"{evidence.upstream}"
        )
    running = (
        f"{epoch}:{upstream}-{evidence.revision}" if epoch else f"{upstream}-{evidence.revision}"
    )
    try:
        DebianVersion.parse(running)
    except DebianVersionError:
        return "", f"{running} is not a package version"
    return running, ""


def shipped_upstream(
    evidence: DistroEvidence, packages: frozenset[str], db: VulnDb
) -> list[tuple[str, str]]:
    """(release, package) pairs whose Canonical data names a version of the banner's upstream
    version: where to look when the banner does not tell the release (never a decision: other
    releases, outside the data, may ship it too)."""
    return _listing(evidence, packages, db, lambda version: True)


def _openssh(upstream: str, base: str) -> tuple[str, ...]:
    return tuple(r for r, shown, on in OPENSSH_RELEASES if shown == upstream and on == base)


def _openssh_how(upstream: str, base: str, releases: tuple[str, ...]) -> str:
    shipped = " and ".join(release_label(r) for r in releases)
    return (
        f"release {' or '.join(releases)}: OpenSSH {upstream} on Debian's revision {base} is "
        f"what {shipped} shipped"
    )


def _data_how(
    evidence: DistroEvidence, revision: UbuntuRevision, releases: tuple[str, ...], *, exact: bool
) -> str:
    what = (
        f"the package revision {revision.text} of {evidence.upstream}"
        if exact
        else f"{evidence.upstream} on Debian's revision {revision.base}"
    )
    names = " or ".join(releases)
    return f"release {names}: Canonical's data lists {what} in {names} only"


def _in_data(
    evidence: DistroEvidence,
    revision: UbuntuRevision,
    packages: frozenset[str],
    db: VulnDb,
    *,
    exact: bool,
) -> tuple[str, ...]:
    """Releases whose data has a version of ``packages`` naming the banner's upstream version
    with its exact revision (``exact``) or on its Debian revision."""

    def matches(version: DebianVersion) -> bool:
        if exact:
            return version.revision == revision.text
        other = UbuntuRevision.parse(version.revision)
        return other is not None and other.base == revision.base

    listed = _listing(evidence, packages, db, matches)
    return tuple(dict.fromkeys(release for release, _ in listed))


def _listing(
    evidence: DistroEvidence,
    packages: frozenset[str],
    db: VulnDb,
    matches: Callable[[DebianVersion], bool],
) -> list[tuple[str, str]]:
    """(release, package) pairs, oldest release first, whose Canonical data has a version of the
    package that names the banner's upstream version and ``matches``."""
    return sorted(
        (
            (release, package)
            for package in sorted(packages)
            for release in db.ubuntu_versions(package)
            if any(
                matches(v) and same_upstream(evidence.upstream, v.upstream)
                for v in package_versions(db, package, release)
            )
        ),
        key=lambda pair: _AGE.get(pair[0], len(_AGE)),
    )


def package_versions(db: VulnDb, package: str, release: str) -> list[DebianVersion]:
    """The versions Canonical's data gives for ``package`` in ``release`` (unreadable ones left
    out)."""
    parsed = []
    for text in db.ubuntu_versions(package).get(release, ()):
        try:
            parsed.append(DebianVersion.parse(text))
        except DebianVersionError:
            continue
    return parsed
