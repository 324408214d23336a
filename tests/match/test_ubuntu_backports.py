"""Ubuntu findings decided with Canonical's real CVE OVAL (the starter database's, of 2021-08-31):
per release, package revision and Canonical's status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment, Vulnerability
from brulee.match.assess import Assessor
from brulee.match.backports import BackportJudge
from brulee.match.distro import detect_distro
from brulee.match.nvd import NvdSource
from brulee.match.ubuntu_backports import UbuntuBackports
from brulee.vulndb.store import VulnDb

XENIAL, BIONIC, FOCAL = (
    "7.2p2 Ubuntu 4ubuntu2.8",
    "7.6p1 Ubuntu 4ubuntu0.3",
    "8.2p1 Ubuntu 4ubuntu0.1",
)


@pytest.fixture(scope="module")
def db(starter_db: Path) -> Iterator[VulnDb]:
    with VulnDb.open(starter_db) as opened:
        yield opened


@pytest.fixture(scope="module")
def assessor(db: VulnDb) -> Assessor:
    return Assessor([NvdSource(db)], BackportJudge(db).judge)


def ssh(version: str) -> Service:
    upstream = version.split(maxsplit=1)[0]
    cpes = (f"cpe:/a:openbsd:openssh:{upstream}", "cpe:/o:canonical:ubuntu_linux")
    return Service("ssh", "OpenSSH", version, "Ubuntu Linux; protocol 2.0", cpes=cpes)


def scan(assessor: Assessor, service: Service) -> Assessment:
    return assessor(Port("tcp", 22, "open", service=service))


def decide(db: VulnDb, service: Service, *cves: str) -> dict[str, Vulnerability]:
    """Canonical's decision on each CVE as a certain finding of ``service``."""
    evidence = detect_distro(service)
    assert evidence is not None
    vulns = [Vulnerability(cve, "medium", confidence="certain", reason="matched") for cve in cves]
    _, decided = UbuntuBackports(db).decide(service, evidence, vulns)
    return {v.id: v for v in decided}


def test_cve_2019_6111_is_fixed_in_xenial_and_bionic_revisions(assessor: Assessor) -> None:
    for version, fixed, usns in (
        (XENIAL, "1:7.2p2-4ubuntu2.8", "USN-3885-1, USN-3885-2"),
        (BIONIC, "1:7.6p1-4ubuntu0.3", "USN-3885-1, USN-3885-2"),
    ):
        result = scan(assessor, ssh(version))
        aside = {v.id: v for v in result.fixed}
        assert aside["CVE-2019-6111"].confidence == "fixed-by-distribution"
        assert aside["CVE-2019-6111"].advisory == usns
        release = "xenial" if version == XENIAL else "bionic"
        assert aside["CVE-2019-6111"].reason == (
            f"{usns}: Canonical's {release} data of 2021-08-31: openssh fixed in {fixed}; "
            f"this host runs {fixed}"
        )
        assert "CVE-2019-6111" not in {v.id for v in result.vulnerabilities}


def test_cve_2021_28041_is_open_on_focal_4ubuntu0_1_with_the_upgrade_to_make(
    assessor: Assessor,
) -> None:
    result = scan(assessor, ssh(FOCAL))
    (agent,) = [v for v in result.vulnerabilities if v.id == "CVE-2021-28041"]
    assert agent.confidence == "certain" and agent.advisory == "USN-4762-1"
    assert agent.remediation == (
        "upgrade the Ubuntu focal package openssh to 1:8.2p1-4ubuntu0.2 or later (USN-4762-1); "
        "this host runs 1:8.2p1-4ubuntu0.1"
    )
    assert agent.reason.endswith(
        "Canonical's focal data of 2021-08-31: openssh fixed in 1:8.2p1-4ubuntu0.2 "
        "(USN-4762-1), above this host's 1:8.2p1-4ubuntu0.1"
    )
    assert result.distribution is not None and result.distribution.release == "focal"
    assert result.distribution.evidence == (
        'version "8.2p1 Ubuntu 4ubuntu0.1"; release focal: OpenSSH 8.2p1 on Debian\'s revision 4 '
        "is what Ubuntu 20.04 (focal) shipped"
    )
    # the same host once upgraded: set aside
    upgraded = scan(assessor, ssh("8.2p1 Ubuntu 4ubuntu0.2"))
    assert "CVE-2021-28041" in {v.id for v in upgraded.fixed}


@pytest.mark.parametrize("version", [XENIAL, BIONIC, FOCAL])
def test_cve_2020_14145_is_open_in_all_three_with_canonicals_status(
    db: VulnDb, version: str
) -> None:
    (found,) = decide(db, ssh(version), "CVE-2020-14145").values()
    release = {XENIAL: "xenial", BIONIC: "bionic", FOCAL: "focal"}[version]
    assert found.confidence == "certain"
    assert found.reason == (
        f"matched; Canonical's {release} data of 2021-08-31: openssh is affected and needs "
        "fixing (needed)"
    )
    assert found.remediation.startswith(f"no fixed Ubuntu {release} package in Canonical's ")


def test_a_package_newer_than_the_data_is_not_called_open_on_old_data(db: VulnDb) -> None:
    """4ubuntu0.5 is later than any focal openssh Canonical's 2021 data names: a fix published
    after it cannot be ruled out, so 'needs fixing' no longer decides."""
    found = decide(db, ssh("8.2p1 Ubuntu 4ubuntu0.5"), "CVE-2020-14145", "CVE-2021-28041")
    assert found["CVE-2020-14145"].confidence == "unverified-backport"
    assert "this host runs a later openssh than any that data names" in (
        found["CVE-2020-14145"].reason
    )
    assert found["CVE-2021-28041"].confidence == "fixed-by-distribution"


def test_fixed_before_the_release_is_set_aside(db: VulnDb) -> None:
    found = decide(db, ssh(XENIAL), "CVE-2015-8325")["CVE-2015-8325"]
    assert found.confidence == "fixed-by-distribution" and found.advisory == ""
    assert found.reason == (
        "Canonical's xenial data of 2021-08-31: openssh not affected from 1:7.2p2-3 on (fixed "
        "before the release); this host runs 1:7.2p2-4ubuntu2.8"
    )


def test_trusty_packages_spell_their_upstream_6_6p1(assessor: Assessor) -> None:
    result = scan(assessor, ssh("6.6.1p1 Ubuntu 2ubuntu2.3"))
    assert {"CVE-2015-5600", "CVE-2015-6563"} <= {v.id for v in result.fixed}
    (enum,) = [v for v in result.vulnerabilities if v.id == "CVE-2018-15473"]
    assert enum.remediation == (
        "upgrade the Ubuntu trusty package openssh to 1:6.6p1-2ubuntu2.11 or later "
        "(USN-3809-1); this host runs 1:6.6p1-2ubuntu2.3"
    )


def test_untracked_and_newer_cves_stay_unverified_and_say_which_data_was_checked(
    assessor: Assessor,
) -> None:
    result = scan(assessor, ssh(BIONIC))
    found = {v.id: v for v in result.vulnerabilities}
    assert found["CVE-2007-2768"].confidence == "unverified-backport"
    assert found["CVE-2007-2768"].reason.endswith(
        "Ubuntu bionic, package revision 4ubuntu0.3: it is not tracked in Canonical's bionic "
        "data of 2021-08-31"
    )
    assert found["CVE-2023-38408"].reason.endswith(
        "Canonical's bionic data of 2021-08-31 predates the CVE (published 2023-07-20)"
    )
    assert found["CVE-2023-38408"].remediation == (
        "confirm on the host with dpkg -l openssh-server, which shows the installed version"
    )


def test_a_release_without_data_decides_nothing(assessor: Assessor) -> None:
    result = scan(assessor, ssh("8.9p1 Ubuntu 3ubuntu0.1"))
    assert result.fixed == ()
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}
    assert result.distribution is not None and result.distribution.release == "jammy"
    assert "this database has no Canonical data for Ubuntu 22.04 (jammy) (brulee db update " in (
        result.vulnerabilities[0].reason
    )


def test_two_possible_releases_must_agree(assessor: Assessor) -> None:
    result = scan(assessor, ssh("9.0p1 Ubuntu 1ubuntu7.3"))
    assert result.distribution is not None and result.distribution.release == ""
    assert "release kinetic or lunar" in result.distribution.evidence
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}


@pytest.mark.parametrize(
    ("version", "decided"),
    [
        # a regular package below the fix that only Ubuntu Pro (ESM) has: open
        ("9.9.5-3ubuntu0.19-Ubuntu", "certain"),
        # an ESM build at the fix: fixed
        ("9.9.5-3ubuntu0.19+esm1-Ubuntu", "fixed-by-distribution"),
    ],
)
def test_a_fix_only_in_ubuntu_pro(db: VulnDb, version: str, decided: str) -> None:
    service = Service("domain", "ISC BIND", version, "Ubuntu Linux", cpes=("cpe:/a:isc:bind",))
    found = decide(db, service, "CVE-2018-5743")["CVE-2018-5743"]
    assert found.confidence == decided
    if decided == "certain":
        assert found.remediation == (
            "upgrade the Ubuntu trusty package bind9 to 1:9.9.5.dfsg-3ubuntu0.19+esm1 or later, "
            "available only with Ubuntu Pro (ESM) (USN-3956-1, USN-3956-2); this host runs "
            "1:9.9.5.dfsg-3ubuntu0.19"
        )


def test_malformed_revision_is_unverified_with_how_to_confirm(assessor: Assessor) -> None:
    result = scan(assessor, ssh("6.6.1p1 Ubuntu 2unbuntu2"))
    assert result.fixed == ()
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}
    assert result.vulnerabilities[0].reason.endswith(
        "Ubuntu, package revision 2unbuntu2: release unknown: the revision 2unbuntu2 is not in a "
        "form Ubuntu uses, so nothing is decided"
    )


def test_banner_without_revision_or_release_says_how_to_confirm(assessor: Assessor) -> None:
    service = Service("http", "Apache httpd", "2.4.29", "(Ubuntu)",
                      cpes=("cpe:/a:apache:http_server:2.4.29",))  # fmt: skip
    result = assessor(Port("tcp", 80, "open", service=service))
    found = {v.id: v for v in result.vulnerabilities}
    assert {v.confidence for v in found.values()} == {"unverified-backport"}
    assert found["CVE-2019-0211"].remediation == (
        "confirm on the host with dpkg -l apache2, which shows the installed version; Canonical's "
        "data for the releases with 2.4.29: bionic fixed in 2.4.29-1ubuntu4.6 (USN-3937-1)"
    )


def test_release_named_without_revision_decides_what_the_release_alone_decides(
    db: VulnDb,
) -> None:
    """xenial shipped nginx 1.10.0, then 1.10.3: on 1.10.0 a fix of 1.10.3 is certainly missing;
    a fix of 1.10.0 itself cannot be told from the banner; an open status is open."""
    service = Service("http", "nginx", "1.10.0", "Ubuntu 16.04",
                      cpes=("cpe:/a:igor_sysoev:nginx:1.10.0",))  # fmt: skip
    cves = ("CVE-2019-20372", "CVE-2021-23017", "CVE-2016-1247", "CVE-2020-11724")
    found = decide(db, service, *cves)
    assert found["CVE-2019-20372"].confidence == "certain"
    assert found["CVE-2019-20372"].remediation == (
        "upgrade the Ubuntu xenial package nginx to 1.10.3-0ubuntu0.16.04.5 or later "
        "(USN-4235-1, USN-4235-2); this host runs 1.10.0"
    )
    assert found["CVE-2021-23017"].remediation.startswith(
        "upgrade the Ubuntu xenial package nginx to 1.10.3-0ubuntu0.16.04.5+esm1 or later, "
        "available only with Ubuntu Pro (ESM) ("
    )
    same = found["CVE-2016-1247"]
    assert same.confidence == "unverified-backport"
    assert same.remediation == (
        "confirm on the host with dpkg -l nginx, which shows the installed version; Canonical's "
        "fix: xenial at 1.10.0-0ubuntu0.16.04.3 (USN-3114-1)"
    )
    assert found["CVE-2020-11724"].confidence == "certain"
    assert "nginx is affected and needs fixing (needed)" in found["CVE-2020-11724"].reason
