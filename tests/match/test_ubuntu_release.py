"""Which Ubuntu release a service comes from: every default OpenSSH banner of the Ubuntu releases
as real Nmap reports it, hostile and malformed revisions, and releases found in Canonical's data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.distro import DistroEvidence
from brulee.core.scan import Service
from brulee.match.distro import detect_distro
from brulee.match.ubuntu_release import (
    UbuntuRevision,
    find_releases,
    release_label,
    running_version,
)
from brulee.scan.nmapxml import NmapXmlReader
from brulee.vulndb.build import import_files
from brulee.vulndb.store import VulnDb
from tests.lab.ubuntu_hosts import BANNER_PORT, default_banners

ASSETS = Path(__file__).resolve().parents[1] / "assets"
BANNERS_XML = ASSETS / "nmap" / "ubuntu-ssh-banners.xml"
OPENSSH = frozenset({"openssh"})

NOT_UBUNTU_REVISIONS = {
    "14.04": "2unbuntu2",  # the table's typing errors: not revisions Ubuntu ever used
    "13.10": "6unbuntu0.4",
}
NOT_UBUNTU_BANNERS = {"13.04", "10.10"}  # "Debian-4" and "Debian-4ubuntu": no Ubuntu mark at all
SHARED = {"kinetic": ("kinetic", "lunar"), "lunar": ("kinetic", "lunar")}  # both 9.0p1-1


@pytest.fixture(scope="module")
def db(starter_db: Path) -> Iterator[VulnDb]:
    with VulnDb.open(starter_db) as opened:
        yield opened


def _services() -> dict[int, Service]:
    reader = NmapXmlReader(BANNERS_XML)
    (host,) = reader.hosts()
    return {port.portid: port.service for port in host.ports if port.service is not None}


@pytest.mark.parametrize(
    ("index", "number", "name", "banner"),
    [(i, *row) for i, row in enumerate(default_banners())],
    ids=[f"{row[0]}-{row[1]}" for row in default_banners()],
)
def test_every_default_banner_names_its_release(
    db: VulnDb, index: int, number: str, name: str, banner: str
) -> None:
    service = _services()[BANNER_PORT + index]
    assert service.version.split()[0] in banner  # the port serves this row's banner
    evidence = detect_distro(service)
    assert evidence is not None
    if number in NOT_UBUNTU_BANNERS:
        assert evidence.distro == "debian" and evidence.release == ""
        return
    assert evidence.distro == "ubuntu"
    found = find_releases(evidence, True, OPENSSH, db)
    if number in NOT_UBUNTU_REVISIONS:
        assert found.names == ()
        assert found.how == (
            f"release unknown: the revision {NOT_UBUNTU_REVISIONS[number]} is not in a form "
            "Ubuntu uses"
        )
        return
    assert found.names == SHARED.get(name, (name,))
    assert f"OpenSSH {evidence.upstream} on Debian's revision " in found.how
    assert release_label(name) in found.how and f"Ubuntu {number} ({name})" in found.how


def test_focal_is_told_by_its_openssh_and_every_step_is_said(db: VulnDb) -> None:
    evidence = DistroEvidence(
        "ubuntu", "", "4ubuntu0.5", "8.2p1", 'version "8.2p1 Ubuntu 4ubuntu0.5"'
    )
    found = find_releases(evidence, True, OPENSSH, db)
    assert found.names == ("focal",)
    assert found.how == (
        "release focal: OpenSSH 8.2p1 on Debian's revision 4 is what Ubuntu 20.04 (focal) shipped"
    )
    # the same revision on another upstream version is no release's
    other = DistroEvidence("ubuntu", "", "4ubuntu0.5", "9.9p1")
    assert find_releases(other, True, OPENSSH, db).names == ()


def test_a_release_the_banner_names_is_taken_as_named(db: VulnDb) -> None:
    service = Service("mysql", "MySQL", "5.7.33-0ubuntu0.16.04.1", cpes=("cpe:/a:mysql:mysql",))
    evidence = detect_distro(service)
    assert evidence is not None and evidence.release == "xenial"
    found = find_releases(evidence, False, frozenset({"mysql-5.7"}), db)
    assert found == found.__class__(("xenial",), "release xenial: named by the banner")


@pytest.mark.parametrize(
    ("version", "release", "how"),
    [
        # the exact package version is in Canonical's data for bionic only
        ("9.11.3-1ubuntu1.15-Ubuntu", "bionic", "the package revision 1ubuntu1.15 of 9.11.3"),
        # a revision the data does not list: the upstream version on Debian's revision 1
        ("9.11.3-1ubuntu1.99-Ubuntu", "bionic", "9.11.3 on Debian's revision 1"),
    ],
)
def test_other_packages_are_placed_by_canonicals_data(
    db: VulnDb, version: str, release: str, how: str
) -> None:
    service = Service("domain", "ISC BIND", version, "Ubuntu Linux", cpes=("cpe:/a:isc:bind",))
    evidence = detect_distro(service)
    assert evidence is not None and evidence.distro == "ubuntu" and evidence.release == ""
    found = find_releases(evidence, False, frozenset({"bind9"}), db)
    assert found.names == (release,)
    assert found.how == f"release {release}: Canonical's data lists {how} in {release} only"


def test_an_upstream_version_no_release_has_is_no_release(db: VulnDb) -> None:
    evidence = DistroEvidence("ubuntu", "", "1ubuntu1.1", "9.99.9")
    found = find_releases(evidence, False, frozenset({"bind9"}), db)
    assert found.names == ()
    assert (
        found.how == "release unknown: no Ubuntu release's data has 9.99.9 on Debian's revision 1"
    )


@pytest.mark.parametrize(
    ("text", "base", "esm", "fips"),
    [
        ("4ubuntu0.5", "4", False, False),
        ("3", "3", False, False),
        ("6build1", "6", False, False),
        ("0ubuntu0.18.04.1", "0", False, False),
        ("0.2ubuntu0.16.04.1", "0.2", False, False),
        ("10+deb10u1build0.20.04.1", "10", False, False),
        ("1ubuntu0.1~18.04.1", "1", False, False),
        ("2ubuntu2.13+esm1", "2", True, False),
        ("1ubuntu0.1~esm2", "1", True, False),
        ("4ubuntu0.2.fips.3.1", "4", False, True),
    ],
)
def test_revisions_ubuntu_uses(text: str, base: str, esm: bool, fips: bool) -> None:
    assert UbuntuRevision.parse(text) == UbuntuRevision(text, base, esm, fips)


@pytest.mark.parametrize(
    "text",
    [
        "2unbuntu2",
        "6unbuntu0.4",
        "4ubuntu",
        "4ubuntu0.5~~",
        "4ubuntu0.5;id",
        "4ubuntu0.5 ",
        "\u0664ubuntu0.5",  # an Arabic-Indic digit
        "ubuntu0.5",
        "4ubuntu0.5+esm",
        "",
    ],
)
def test_hostile_or_malformed_revisions_decide_nothing(db: VulnDb, text: str) -> None:
    assert UbuntuRevision.parse(text) is None
    evidence = DistroEvidence("ubuntu", "", text, "8.2p1")
    found = find_releases(evidence, True, OPENSSH, db)
    assert found.names == ()
    assert found.how.startswith("release unknown: ")


@pytest.mark.parametrize(
    "version",
    [
        "8.2p1 Ubuntu 4ubuntu0.5<script>",
        "8.2p1 Ubuntu 4ubuntu0.5 `id`",
        "8.2p1 Ubuntu " + "4" * 70 + "ubuntu0.5",
        "8.2p1 Ubuntu 4ubuntu0.5\x00",
    ],
)
def test_hostile_banners_name_no_release(db: VulnDb, version: str) -> None:
    service = Service("ssh", "OpenSSH", version, "Ubuntu Linux; protocol 2.0")
    evidence = detect_distro(service)
    assert evidence is not None and evidence.distro == "ubuntu" and evidence.revision == ""
    found = find_releases(evidence, True, OPENSSH, db)
    assert found.names == ()
    assert found.how == (
        "release unknown: the banner names neither the release nor the package revision"
    )


@pytest.mark.parametrize(
    ("release", "package", "banner", "running"),
    [
        ("focal", "openssh", "8.2p1 4ubuntu0.1", "1:8.2p1-4ubuntu0.1"),
        # trusty's packages are 1:6.6p1 (with 6.6.1's fix) and report OpenSSH_6.6.1p1
        ("trusty", "openssh", "6.6.1p1 2ubuntu2.3", "1:6.6p1-2ubuntu2.3"),
        ("bionic", "bind9", "9.11.3 1ubuntu1.15", "1:9.11.3+dfsg-1ubuntu1.15"),
        ("xenial", "mysql-5.7", "5.7.33 0ubuntu0.16.04.1", "5.7.33-0ubuntu0.16.04.1"),
    ],
)
def test_running_version_takes_epoch_and_spelling_from_canonicals_data(
    db: VulnDb, release: str, package: str, banner: str, running: str
) -> None:
    upstream, revision = banner.split()
    evidence = DistroEvidence("ubuntu", "", revision, upstream)
    assert running_version(evidence, release, package, db) == (running, "")


def test_derived_kinetic_data_tells_kinetic_from_lunar(tmp_path: Path) -> None:
    """Canonical's data for one of two releases that shipped the same OpenSSH: a package version
    it lists names that release; any other version leaves both, and lunar has no data.

    *Derived* data: the real focal file with ``focal`` renamed ``kinetic`` and its fixed version
    1:8.2p1-4ubuntu0.2 renamed 1:9.0p1-1ubuntu7.3 (no kinetic file of Canonical's is at hand).
    """
    text = (ASSETS / "ubuntu" / "com.ubuntu.focal.cve.oval.trimmed.xml").read_text("utf-8")
    derived = tmp_path / "kinetic.xml"
    derived.write_text(
        text.replace("focal", "kinetic").replace("8.2p1-4ubuntu0.2", "9.0p1-1ubuntu7.3"), "utf-8"
    )
    db_path = tmp_path / "vulndb.sqlite"
    import_files(db_path, [derived])
    with VulnDb.open(db_path) as db:
        listed = DistroEvidence("ubuntu", "", "1ubuntu7.3", "9.0p1")
        found = find_releases(listed, True, OPENSSH, db)
        assert found.names == ("kinetic",)
        assert "Canonical's data lists the package revision 1ubuntu7.3 of 9.0p1 in kinetic" in (
            found.how
        )
        other = DistroEvidence("ubuntu", "", "1ubuntu8", "9.0p1")
        assert find_releases(other, True, OPENSSH, db).names == ("kinetic", "lunar")


def test_a_named_release_with_a_malformed_revision_decides_nothing(db: VulnDb) -> None:
    service = Service("ssh", "OpenSSH", "8.2p1 Ubuntu 2unbuntu2", "Ubuntu 20.04")
    evidence = detect_distro(service)
    assert evidence is not None and (evidence.release, evidence.revision) == ("focal", "2unbuntu2")
    found = find_releases(evidence, True, OPENSSH, db)
    assert found.names == ()
    assert (
        found.how == "release focal named, but the revision 2unbuntu2 is not in a form Ubuntu uses"
    )
