"""Which distribution packaged a service, and its exact package revision when the banner says.

:func:`detect_distro` reads what Nmap reported for a service (version, extrainfo, ostype, CPEs)
and returns :class:`DistroEvidence`, or None when nothing names a distribution. Sources, most
specific first; the first one that names a distribution decides it, later ones that agree
(Raspbian counts as Debian, CentOS as Red Hat for this) only fill in a missing release:

1. **The version string**, split by :func:`brulee.versions.split_suffix` into upstream version
   and packaging suffix. The suffix is read as:

   * ``Debian|Ubuntu|Raspbian <revision>`` (OpenSSH: ``7.4p1 Debian 10+deb9u7``,
     ``8.2p1 Ubuntu 4ubuntu0.5``, ``7.9p1 Raspbian 10+deb10u2``); a revision with ``ubuntu``
     in it is Ubuntu whatever word precedes it (``5.3p1 Debian 3ubuntu7``);
   * a bare ``<revision>[-Debian|-Ubuntu|-Raspbian]`` (BIND ``9.11.5-P4-5.1+deb10u5``, MySQL
     ``5.7.33-0ubuntu0.16.04.1``, MariaDB ``5.5.5-10.3.34-MariaDB-0+deb10u1``); it counts only
     when it carries a distribution mark (``+debNuM``, ``~bpoN``, ``ubuntuN``, an old code name
     such as ``etch``, or the ``-Debian`` word), or for ISC BIND, whose Debian/Ubuntu/Raspbian
     rules in Nmap keep exactly the text before ``-Debian`` when extrainfo names the
     distribution (``9.11.5-P4-5.1`` + ``Debian Linux``);
   * the word alone (``9.10.3-P4-Debian``);
   * Red Hat's BIND ``RedHat-<version>-<release>`` (``9.11.4-P2-RedHat-9.11.4-26.P2.el7``) and
     any RPM release ``<N>.elN...`` or ``<N>.fcN``: distribution ``rhel`` (``centos`` when the
     release says ``.centos``) or ``fedora``, release the major number.

   A suffix with anything else in it (spaces, control characters, unknown words) is ignored
   as a whole: a revision is never guessed or partly taken.
2. **extrainfo**, split at ``;``: an item that *is* a distribution name, or starts with one in
   parentheses: ``(Ubuntu)``, ``(Debian) OpenSSL/1.1.1n``, ``(CentOS)``, ``(AlmaLinux)``,
   ``(Rocky Linux)``, ``(Red Hat)``,
   ``(Red Hat Enterprise Linux)``, ``Ubuntu``, ``Ubuntu Linux``, ``Debian Linux 8.0 (Jessie)``,
   ``RedHat Enterprise Linux 7``, ``Fedora Core 30``, ``FreeBSD 20180909``. A name inside other
   words or sentences does not count (``Debianized``, ``runs on Debian``).
3. **CPEs** of operating systems: ``cpe:/o:debian:debian_linux[:9]``,
   ``cpe:/o:canonical:ubuntu_linux[:18.04]``, ``cpe:/o:redhat:enterprise_linux:7``,
   ``cpe:/o:centos:centos``, ``cpe:/o:fedoraproject:fedora[_core]``, SUSE, Alpine, FreeBSD.
4. **ostype**, when it is a distribution name itself (``FreeBSD``; never just ``Linux``).

Release: Debian and Raspbian code names from ``+debNuM``/``~debNuM`` (``deb9u`` -> stretch ...
``deb12u`` -> bookworm), ``~bpoN`` (``bullseye-backports``: not covered by security advisories),
old names in revisions (``9etch2``, ``+squeeze5``), ``Debian Linux 8.0 (Jessie)`` or a CPE
version. Ubuntu code names only from an explicit Ubuntu release number: revisions
``0ubuntu0.16.04.5`` or ``...~18.04.1``, or a CPE version; a revision such as ``4ubuntu0.5``
does not name its release (the same text may exist in several releases), so release is ""
(:mod:`brulee.match.ubuntu_release` finds it from the package version where it can).
Red Hat, CentOS, AlmaLinux, Rocky Linux and Fedora: the major version (``7``). Otherwise "".

Upstream (what the banner says the packaged software is) versus the package's own version, as
the Debian security tracker writes them:

* OpenSSH ``7.4p1 Debian 10+deb9u7`` -> ``openssh 1:7.4p1-10+deb9u7``: upstream identical, the
  epoch (``1:``) is not in the banner.
* Apache ``2.4.38 (Debian)`` -> ``apache2 2.4.38-3+deb10u9``; nginx, Exim, Postfix, Squid,
  ProFTPD, Dovecot (``1:2.3.4.1-5+deb10u7``) likewise keep the upstream as is, but their
  banners carry a marker only, no revision.
* MariaDB ``5.5.5-10.3.34-MariaDB-0+deb10u1`` -> ``mariadb-10.3 1:10.3.34-0+deb10u1``;
  MySQL ``5.5.62-0+deb8u1`` -> ``mysql-5.5 5.5.62-0+deb8u1``.
* ISC BIND ``9.11.5-P4-5.1+deb10u5`` -> ``bind9 1:9.11.5.P4+dfsg-5.1+deb10u5``: Debian
  respells the upstream per release (``9.9.5.dfsg``, ``9.10.3.dfsg.P4``, ``9.11.5.P4+dfsg``,
  ``9.16.37``), which the banner cannot tell; :func:`package_version_as` takes
  the spelling (and the epoch) from the advisory's version when both name the same upstream
  release up to repack tags (``dfsg``, ``ds``, ``repack``) and separators.
* Red Hat BIND ``9.11.4-P2-RedHat-9.11.4-26.P2.el7``: upstream ``9.11.4``, revision
  ``26.P2.el7`` (the RPM version and release, which compare by RPM's rules, not dpkg's).
"""

from __future__ import annotations

import re

from brulee.core.cpe import ANY, Cpe
from brulee.core.distro import DISTRO_NAMES, DistroEvidence
from brulee.core.scan import Service
from brulee.match.debversion import DebianVersion
from brulee.match.versions import split_suffix

DEBIAN_RELEASES: dict[int, str] = {
    3: "sarge",
    4: "etch",
    5: "lenny",
    6: "squeeze",
    7: "wheezy",
    8: "jessie",
    9: "stretch",
    10: "buster",
    11: "bullseye",
    12: "bookworm",
    13: "trixie",
}
"""Debian major release numbers (as in ``+debNuM``) and their code names."""

UBUNTU_RELEASES: dict[str, str] = {
    "4.10": "warty",
    "5.04": "hoary",
    "5.10": "breezy",
    "6.06": "dapper",
    "6.10": "edgy",
    "7.04": "feisty",
    "7.10": "gutsy",
    "8.04": "hardy",
    "8.10": "intrepid",
    "9.04": "jaunty",
    "9.10": "karmic",
    "10.04": "lucid",
    "10.10": "maverick",
    "11.04": "natty",
    "11.10": "oneiric",
    "12.04": "precise",
    "12.10": "quantal",
    "13.04": "raring",
    "13.10": "saucy",
    "14.04": "trusty",
    "14.10": "utopic",
    "15.04": "vivid",
    "15.10": "wily",
    "16.04": "xenial",
    "16.10": "yakkety",
    "17.04": "zesty",
    "17.10": "artful",
    "18.04": "bionic",
    "18.10": "cosmic",
    "19.04": "disco",
    "19.10": "eoan",
    "20.04": "focal",
    "20.10": "groovy",
    "21.04": "hirsute",
    "21.10": "impish",
    "22.04": "jammy",
    "22.10": "kinetic",
    "23.04": "lunar",
    "23.10": "mantic",
    "24.04": "noble",
    "24.10": "oracular",
    "25.04": "plucky",
}
"""Ubuntu release numbers and their code names."""

_FAMILY = {"raspbian": "debian", "centos": "rhel", "alma": "rhel", "rocky": "rhel"}
_OLD_DEBIAN = ("woody", "sarge", "etch", "lenny", "squeeze", "wheezy")

_REVISION = re.compile(r"[0-9][A-Za-z0-9.+~]{0,63}")
_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~-]{0,63}")
_RPM_REVISION = re.compile(r"[0-9][A-Za-z0-9._+~]{0,63}")
_WORD = r"(?P<word>Debian|Ubuntu|Raspbian)"
_MARKED = re.compile(rf"{_WORD}[ -](?P<revision>\S+)")
_BARE = re.compile(rf"(?P<revision>[^\s-]+)(?:-{_WORD})?(?:-log)?")
"""A revision alone, as BIND and MySQL append it (MySQL adds ``-log`` with logging on)."""
_WORD_ONLY = re.compile(_WORD)
_REDHAT_BIND = re.compile(r"RedHat-(?P<upstream>[0-9][\w.+~]*)-(?P<revision>[0-9][\w.+~]*)")
_RPM_RELEASE = re.compile(r"(?<![A-Za-z0-9])(?P<kind>el|fc)(?P<major>[0-9]{1,2})(?![0-9])")

_DEB_MARK = re.compile(r"(?<![A-Za-z])deb(?P<major>[0-9]{1,2})u[0-9]+")
_BPO_MARK = re.compile(r"~bpo(?P<major>[0-9]{1,2})")
_OLD_MARK = re.compile(rf"(?<![A-Za-z])(?P<name>{'|'.join(_OLD_DEBIAN)})(?![A-Za-z])")
_UBUNTU_MARK = re.compile(r"ubuntu[0-9]|(?<=[0-9])build[0-9]")
"""Ubuntu's own revisions (``4ubuntu0.5``) and its rebuilds of Debian's (``+deb10u1build1``)."""
_UBUNTU_NUMBER = re.compile(
    r"(?:ubuntu[0-9]+\.|build[0-9]+\.|~)(?P<number>[0-9]{1,2}\.[0-9]{2})(?:\.[0-9]+)*$"
)

_RELEASE_TAIL = r"(?: (?P<number>[0-9]{1,2}(?:\.[0-9]+)*))?(?: \((?P<code>[A-Za-z]+)(?: based)?\))?"
_EXTRAINFO_NAMES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ubuntu", re.compile(rf"Ubuntu(?: Linux)?{_RELEASE_TAIL}")),
    ("debian", re.compile(rf"Debian(?: GNU/Linux| Linux)?{_RELEASE_TAIL}")),
    ("raspbian", re.compile(rf"Raspbian(?: GNU/Linux| Linux)?{_RELEASE_TAIL}")),
    ("centos", re.compile(rf"CentOS(?: Linux)?{_RELEASE_TAIL}")),
    ("alma", re.compile(rf"AlmaLinux{_RELEASE_TAIL}")),
    ("rocky", re.compile(rf"Rocky(?: Linux)?{_RELEASE_TAIL}")),
    ("rhel", re.compile(rf"(?:Red ?Hat Enterprise Linux|RHEL){_RELEASE_TAIL}")),
    ("rhel", re.compile(r"Red ?Hat(?: Linux)?(?: [0-9.]+)?")),  # a number here may be pre-RHEL
    ("fedora", re.compile(rf"Fedora(?: Core| Linux)?{_RELEASE_TAIL}")),
    ("suse", re.compile(r"(?:Linux/)?(?:open)?SUSE(?: Linux)?")),
    ("alpine", re.compile(r"Alpine(?: Linux)?")),
    ("freebsd", re.compile(r"FreeBSD(?: (?P<number>[0-9]+(?:\.[0-9]+)*))?")),
    ("gentoo", re.compile(r"Gentoo(?: Linux)?")),
)
_PARENTHESISED = re.compile(r"\((?P<inner>[^()]*)\)(?:\s|$)")

_CPE = re.compile(r"cpe:/o:(?P<vendor>[^:]+):(?P<product>[^:]+)(?::(?P<version>[^:]*))?(?::.*)?")
_CPE_DISTROS = {
    ("debian", "debian_linux"): "debian",
    ("canonical", "ubuntu_linux"): "ubuntu",
    ("redhat", "enterprise_linux"): "rhel",
    ("centos", "centos"): "centos",
    ("fedoraproject", "fedora"): "fedora",
    ("fedoraproject", "fedora_core"): "fedora",
    ("suse", "linux_enterprise_server"): "suse",
    ("suse", "suse_linux"): "suse",
    ("novell", "suse_linux"): "suse",
    ("opensuse", "opensuse"): "suse",
    ("opensuse", "leap"): "suse",
    ("alpinelinux", "alpine_linux"): "alpine",
    ("freebsd", "freebsd"): "freebsd",
    ("gentoo", "linux"): "gentoo",
}
_REPACK = re.compile(r"[.+~](?:dfsg|ds|repack)[0-9]*(?![a-z])", re.I)
_EVIDENCE_LIMIT = 120


def package_version_as(evidence: DistroEvidence, fixed: str) -> str:
    """The running package's version, written like the distribution's version ``fixed``.

    The epoch comes from ``fixed``, and so does the upstream spelling when both name the
    same upstream release (BIND ``9.11.5-P4`` is ``9.11.5.P4+dfsg`` in Debian buster);
    the result compares with ``fixed`` by :func:`brulee.match.debversion.compare`. Raises
    ValueError when the revision is unknown or the distribution is not dpkg-based, and
    :class:`brulee.match.debversion.DebianVersionError` when ``fixed`` is not a version.
    """
    if not evidence.dpkg:
        raise ValueError(f"{evidence.label} does not use Debian package versions")
    target = DebianVersion.parse(fixed)
    same = same_upstream(evidence.upstream, target.upstream)
    return evidence.package_version(target.epoch, target.upstream if same else "")


def detect_distro(service: Service) -> DistroEvidence | None:
    """The distribution that packaged ``service``, from what Nmap reported; None if unnamed."""
    upstream = split_suffix(service.version.strip())[0]
    found = [
        *_from_version(service),
        *_from_extrainfo(service.extrainfo, upstream),
        *_from_cpes(service.cpes, upstream),
        *_from_ostype(service.ostype, upstream),
    ]
    if not found:
        return None
    primary = found[0]
    if primary.release:
        return primary
    family = _FAMILY.get(primary.distro, primary.distro)
    for other in found[1:]:
        if other.release and _FAMILY.get(other.distro, other.distro) == family:
            return DistroEvidence(
                primary.distro,
                other.release,
                primary.revision,
                primary.upstream,
                f"{primary.evidence}; {other.evidence}",
            )
    return primary


_DISTRO_PLATFORMS = {
    "debian": ("debian", "debian_linux"),
    "ubuntu": ("canonical", "ubuntu_linux"),
    "rhel": ("redhat", "enterprise_linux"),
    "fedora": ("fedoraproject", "fedora"),
    "alpine": ("alpinelinux", "alpine_linux"),
    "freebsd": ("freebsd", "freebsd"),
}
"""The OS CPE NVD uses for a distribution, where one name is unambiguous (CentOS, AlmaLinux,
Rocky Linux, Raspbian and SUSE are not: their CVEs may name RHEL, Debian or one of several
SUSE products)."""
_OSTYPE_PLATFORMS = {"linux": ("linux", "linux_kernel"), "windows": ("microsoft", "windows")}
_DEBIAN_NUMBERS = {name: str(number) for number, name in DEBIAN_RELEASES.items()}
_UBUNTU_NUMBERS = {name: number for number, name in UBUNTU_RELEASES.items()}


def platform_facts(service: Service) -> tuple[tuple[Cpe, str], ...]:
    """The OS CPEs that what Nmap reported implies, each with what showed it: the distribution
    the version, extrainfo, CPEs or ostype name (:func:`detect_distro`), with its release where
    known (``cpe:/o:debian:debian_linux:12`` for ``9.2p1 Debian 2+deb12u3``), and a bare
    ``Linux`` or ``Windows`` ostype. A CVE's platform condition is judged against them."""
    facts: list[tuple[Cpe, str]] = []
    evidence = detect_distro(service)
    if evidence is not None and evidence.distro in _DISTRO_PLATFORMS:
        vendor, product = _DISTRO_PLATFORMS[evidence.distro]
        numbers = {"debian": _DEBIAN_NUMBERS, "ubuntu": _UBUNTU_NUMBERS}.get(evidence.distro)
        release = numbers.get(evidence.release, "") if numbers is not None else evidence.release
        facts.append((Cpe("o", vendor, product, release or ANY), evidence.evidence))
    ostype = _OSTYPE_PLATFORMS.get(service.ostype.strip().lower())
    if ostype is not None:
        facts.append((Cpe("o", *ostype), _quote("ostype", service.ostype)))
    return tuple(facts)


def debian_release(revision: str) -> str:
    """Debian code name that a package revision names (``10+deb9u7`` -> ``stretch``), or ""."""
    marks = list(_DEB_MARK.finditer(revision))
    if marks:
        return DEBIAN_RELEASES.get(int(marks[-1]["major"]), "")
    if old := _OLD_MARK.search(revision):
        return old["name"]
    if backport := _BPO_MARK.search(revision):
        major = int(backport["major"])
        if major >= 50 and major % 10 == 0:  # squeeze-backports was ~bpo60, wheezy ~bpo70
            major //= 10
        name = DEBIAN_RELEASES.get(major, "")
        return f"{name}-backports" if name else ""
    return ""


def ubuntu_release(revision: str) -> str:
    """Ubuntu code name a package revision names (``0ubuntu0.16.04.5`` -> ``xenial``), or ""."""
    match = _UBUNTU_NUMBER.search(revision)
    return UBUNTU_RELEASES.get(match["number"], "") if match else ""


def same_upstream(banner: str, package: str) -> bool:
    """Whether two spellings name one upstream release: ``9.11.5-P4`` and ``9.11.5.P4+dfsg``.

    Case, separators and Debian repack tags (``dfsg``, ``ds``, ``repack``) do not count;
    letters and numbers must match run for run, numbers as written (``1.02`` is not ``1.2``).
    """

    def runs(text: str) -> list[str]:
        return re.findall(r"[0-9]+|[a-z]+", _REPACK.sub("", text).lower())

    return bool(banner) and runs(banner) == runs(package)


# -- sources -----------------------------------------------------------------------------------


def _from_version(service: Service) -> list[DistroEvidence]:
    upstream, suffix = split_suffix(service.version.strip())
    if not suffix or not upstream:
        return []
    evidence = _quote("version", service.version)
    if match := _REDHAT_BIND.fullmatch(suffix):
        return _rpm(match["upstream"], match["revision"], evidence)
    if match := _MARKED.fullmatch(suffix):
        return _dpkg(match["word"], upstream, match["revision"], evidence)
    if match := _WORD_ONLY.fullmatch(suffix):
        return [DistroEvidence(match["word"].lower(), upstream=upstream, evidence=evidence)]
    if (match := _BARE.fullmatch(suffix)) is None:
        return []
    revision, word = match["revision"], match["word"]
    if _RPM_RELEASE.search(revision):
        return _rpm(upstream, revision, evidence)
    if word or _has_distro_mark(revision):
        return _dpkg(word or "", upstream, revision, evidence)
    if "bind" in service.product.lower():
        marker = next(iter(_from_extrainfo(service.extrainfo, upstream)), None)
        if marker is not None and marker.dpkg:
            evidence = f"{evidence}; {marker.evidence}"
            return _dpkg(DISTRO_NAMES[marker.distro], upstream, revision, evidence, marker.release)
    return []


def _has_distro_mark(revision: str) -> bool:
    return bool(_UBUNTU_MARK.search(revision) or debian_release(revision))


def _dpkg(
    word: str, upstream: str, revision: str, evidence: str, release: str = ""
) -> list[DistroEvidence]:
    """Evidence from a Debian-style revision; nothing if the revision or upstream is malformed."""
    if not _REVISION.fullmatch(revision) or not _UPSTREAM.fullmatch(upstream):
        return []
    if _UBUNTU_MARK.search(revision) or word == "Ubuntu":
        distro = "ubuntu"
        release = ubuntu_release(revision) or release
    else:
        distro = "raspbian" if word == "Raspbian" else "debian"
        release = debian_release(revision) or release
    return [DistroEvidence(distro, release, revision, upstream, evidence)]


def _rpm(upstream: str, revision: str, evidence: str) -> list[DistroEvidence]:
    """Evidence from an RPM version and release (``9.11.4`` + ``26.P2.el7``)."""
    if not _RPM_REVISION.fullmatch(revision) or not _UPSTREAM.fullmatch(upstream):
        return []
    match = _RPM_RELEASE.search(revision)
    if match is None:
        return [DistroEvidence("rhel", "", revision, upstream, evidence)]
    distro = "centos" if ".centos" in revision else "rhel"
    if match["kind"] == "fc":
        distro = "fedora"
    return [DistroEvidence(distro, match["major"], revision, upstream, evidence)]


def _from_extrainfo(extrainfo: str, upstream: str) -> list[DistroEvidence]:
    found = []
    for item in extrainfo.split(";"):
        text = item.strip()
        parenthesised = _PARENTHESISED.match(text)
        named = _name(parenthesised["inner"] if parenthesised else text)
        if named is not None:
            distro, release = named
            found.append(DistroEvidence(distro, release, "", upstream, _quote("extrainfo", text)))
    return found


def _from_ostype(ostype: str, upstream: str) -> list[DistroEvidence]:
    named = _name(ostype.strip())
    if named is None:
        return []
    distro, release = named
    return [DistroEvidence(distro, release, "", upstream, _quote("ostype", ostype))]


def _name(text: str) -> tuple[str, str] | None:
    """(distro, release) if ``text`` is exactly a distribution's name, with an optional release."""
    for distro, pattern in _EXTRAINFO_NAMES:
        match = pattern.fullmatch(text)
        if match:
            groups = match.groupdict()
            return distro, _release(distro, groups.get("number") or "", groups.get("code") or "")
    return None


def _release(distro: str, number: str, code: str) -> str:
    """Code name (Debian family, Ubuntu) or major number (others) of a named release."""
    if distro in ("debian", "raspbian"):
        if code.lower() in DEBIAN_RELEASES.values():
            return code.lower()
        major = number.partition(".")[0]
        return DEBIAN_RELEASES.get(int(major), "") if major.isdecimal() else ""
    if distro == "ubuntu":
        if code.lower() in UBUNTU_RELEASES.values():
            return code.lower()
        return UBUNTU_RELEASES.get(number, "")
    if distro == "freebsd":  # OpenSSH reports a patch date (FreeBSD 20180909), not a release
        return number if re.fullmatch(r"[0-9]{1,2}(?:\.[0-9]+)?", number) else ""
    major = number.partition(".")[0]
    return major if major.isdecimal() and len(major) <= 2 else ""


def _from_cpes(cpes: tuple[str, ...], upstream: str) -> list[DistroEvidence]:
    found = []
    for cpe in cpes:
        match = _CPE.fullmatch(cpe.strip().lower())
        if match is None:
            continue
        distro = _CPE_DISTROS.get((match["vendor"], match["product"]))
        if distro is not None:
            release = _release(distro, match["version"] or "", "")
            found.append(DistroEvidence(distro, release, "", upstream, _quote("cpe", cpe)))
    return found


def _quote(field: str, value: str) -> str:
    """``field "value"``, printable and bounded: the value came from the network."""
    text = "".join(ch if ch.isprintable() else "?" for ch in value.strip())
    if len(text) > _EVIDENCE_LIMIT:
        text = text[: _EVIDENCE_LIMIT - 3] + "..."
    return f'{field} "{text}"'
