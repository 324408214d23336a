"""Distribution backports decided with the real Debian tracker data of the starter database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.scan import Port, Service
from brulee.core.vulnerability import Assessment
from brulee.match.assess import Assessor
from brulee.match.backports import BackportJudge
from brulee.match.nvd import NvdSource
from brulee.vulndb.store import VulnDb


@pytest.fixture(scope="module")
def assessor(starter_db: Path) -> Iterator[Assessor]:
    with VulnDb.open(starter_db) as db:
        yield Assessor([NvdSource(db)], BackportJudge(db).judge)


def ssh(version: str, extrainfo: str = "protocol 2.0") -> Port:
    upstream = version.split(maxsplit=1)[0]
    service = Service("ssh", "OpenSSH", version, extrainfo,
                      cpes=(f"cpe:/a:openbsd:openssh:{upstream}",))  # fmt: skip
    return Port("tcp", 22, "open", service=service)


def decided(result: Assessment) -> tuple[dict[str, str], dict[str, str]]:
    """(open finding -> confidence, fixed finding -> advisory)."""
    return (
        {v.id: v.confidence for v in result.vulnerabilities},
        {v.id: v.advisory for v in result.fixed},
    )


def test_stretch_revision_sets_aside_what_its_advisories_fixed(assessor: Assessor) -> None:
    result = assessor(ssh("7.4p1 Debian 10+deb9u7"))
    still, fixed = decided(result)
    assert fixed == {
        "CVE-2018-15473": "DSA-4280-1", "CVE-2019-6111": "DSA-4387-1",
        "CVE-2019-6109": "DSA-4387-1",
    }  # fmt: skip
    assert "CVE-2018-15473" not in still
    # No stretch advisory names these: kept, but marked as a possible backport.
    assert still["CVE-2023-38408"] == "unverified-backport"
    assert still["CVE-2017-15906"] == "unverified-backport"
    (aside,) = [v for v in result.fixed if v.id == "CVE-2018-15473"]
    assert "fixed in 1:7.4p1-10+deb9u4; this host runs 1:7.4p1-10+deb9u7" in aside.reason
    assert result.distribution is not None and result.distribution.release == "stretch"


def test_an_older_revision_keeps_the_finding_with_the_upgrade_to_make(assessor: Assessor) -> None:
    result = assessor(ssh("7.4p1 Debian 10+deb9u3"))
    (enum,) = [v for v in result.vulnerabilities if v.id == "CVE-2018-15473"]
    assert enum.confidence == "certain" and enum.advisory == "DSA-4280-1"
    assert enum.remediation.startswith("upgrade the Debian stretch package to 1:7.4p1-10+deb9u4")
    assert "this host runs 1:7.4p1-10+deb9u3" in enum.remediation


def test_jessie_mixes_fixed_and_pending_by_revision(assessor: Assessor) -> None:
    result = assessor(ssh("6.7p1 Debian 5+deb8u4"))
    still, fixed = decided(result)
    # CVE-2015-8325 ("OpenSSH through 7.2p2", NVD: openssh *:p2 up to 7.2) reaches 6.7p1 by
    # the update-in-range rule, and Debian agrees: DSA-3550-1 fixed it in jessie.
    assert fixed == {
        "CVE-2016-0777": "DSA-3446-1", "CVE-2016-0778": "DSA-3446-1",  # in u1
        "CVE-2015-8325": "DSA-3550-1",  # in u2
    }  # fmt: skip
    assert still["CVE-2018-15473"] == "certain"  # fixed later, in u5
    pending = {v.id: v.remediation for v in result.vulnerabilities}
    assert "1:6.7p1-5+deb8u5 or later (DLA-1474-1)" in pending["CVE-2018-15473"]
    assert "1:6.7p1-5+deb8u8 or later (DLA-1728-1)" in pending["CVE-2019-6111"]
    assert still["CVE-2023-38408"] == "unverified-backport"  # no jessie advisory names it


def test_ubuntu_packages_are_decided_with_canonicals_data(assessor: Assessor) -> None:
    result = assessor(ssh("7.6p1 Ubuntu 4ubuntu0.3", "Ubuntu Linux; protocol 2.0"))
    assert result.distribution is not None and result.distribution.release == "bionic"
    assert {"CVE-2018-15473", "CVE-2019-6111"} <= {v.id for v in result.fixed}
    assert all(v.advisory.startswith("USN-") for v in result.fixed)


@pytest.mark.parametrize(
    ("extrainfo", "command", "name"),
    [
        ("(Red Hat Enterprise Linux)", "rpm -q httpd", "Red Hat Enterprise Linux"),
        ("(CentOS)", "rpm -q httpd", "CentOS"),
        ("(AlmaLinux) OpenSSL/1.1.1k", "rpm -q httpd", "AlmaLinux"),
        ("(Rocky Linux)", "rpm -q httpd", "Rocky Linux"),
    ],
)
def test_rpm_distributions_say_how_to_confirm_on_the_host(
    assessor: Assessor, extrainfo: str, command: str, name: str
) -> None:
    service = Service("http", "Apache httpd", "2.4.37", extrainfo,
                      cpes=("cpe:/a:apache:http_server:2.4.37",))  # fmt: skip
    result = assessor(Port("tcp", 80, "open", service=service))
    assert result.vulnerabilities and result.fixed == ()
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}
    first = result.vulnerabilities[0]
    assert first.remediation == (
        f"confirm on the host with {command}, and compare the version with {name}'s security "
        "advisory for this CVE"
    )
    assert first.reason.endswith(
        f"{name}: distributions patch without changing the upstream version, and the banner "
        f"shows no package release; brulee has no {name} security data to decide it"
    )


def test_distro_marker_without_revision_is_unverified(assessor: Assessor) -> None:
    service = Service("http", "Apache httpd", "2.4.38", "(Debian)",
                      cpes=("cpe:/a:apache:http_server:2.4.38",))  # fmt: skip
    result = assessor(Port("tcp", 80, "open", service=service))
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}
    assert "no package revision" in result.vulnerabilities[0].reason
    assert result.vulnerabilities[0].remediation == (
        "confirm on the host with dpkg -l apache2, which shows the installed version"
    )


def test_no_marker_leaves_upstream_matching_alone(assessor: Assessor) -> None:
    result = assessor(ssh("7.4p1"))
    assert result.distribution is None
    assert "CVE-2018-15473" in {v.id for v in result.vulnerabilities if v.confidence == "certain"}


def test_bind_buster_package_is_decided_despite_debian_respelling(assessor: Assessor) -> None:
    service = Service("domain", "ISC BIND", "9.11.5-P4-5.1+deb10u5", "Debian Linux",
                      cpes=("cpe:/a:isc:bind:9.11.5-p4-5.1%2Bdeb10u5",))  # fmt: skip
    result = assessor(Port("udp", 53, "open", service=service))
    _, fixed = decided(result)
    assert fixed.get("CVE-2021-25215") == "DSA-4909-1"


def test_a_release_the_debian_data_has_no_entries_for_is_said_and_warned(
    starter_db: Path,
) -> None:
    # The bundled tracker data (advisories to 2023-04-02) has no bookworm entries at all.
    with VulnDb.open(starter_db) as db:
        releases, dated = db.debian_data()
        assert "bookworm" not in releases and "stretch" in releases
        judge = BackportJudge(db)
        result = Assessor([NvdSource(db)], judge.judge)(ssh("9.2p1 Debian 2+deb12u3"))
    assert result.vulnerabilities
    assert {v.confidence for v in result.vulnerabilities} == {"unverified-backport"}
    assert all(
        f"the Debian data here (advisories to {dated}) has no entries for bookworm" in v.reason
        for v in result.vulnerabilities
    )
    (warning,) = judge.warnings()
    assert warning == (
        f"the Debian data here (advisories to {dated}) has no entries for Debian bookworm, "
        "which this scan found: nothing is decided for it, and findings on its packages stay "
        "unverified backports; update the database (brulee db update)"
    )
    assert judge.warnings() == (warning,)  # once, however many services


def test_a_finding_no_advisory_names_says_which_data_was_checked(assessor: Assessor) -> None:
    result = assessor(ssh("7.4p1 Debian 10+deb9u7"))
    reasons = [v.reason for v in result.vulnerabilities if v.confidence == "unverified-backport"]
    assert reasons and all("in the Debian data here (advisories to 20" in r for r in reasons)
