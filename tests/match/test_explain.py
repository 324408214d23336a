"""brulee explain's engine on the real starter database: the same conclusions as a scan, and the
reason for every CVE that does not apply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.scan import Port, Service
from brulee.match.assess import Assessor
from brulee.match.backports import BackportJudge
from brulee.match.explain import explain
from brulee.match.legacy import UPDATE_IN_RANGE
from brulee.match.nvd import NvdSource
from brulee.vulndb.store import VulnDb

OPENSSH_72P2 = Service(product="OpenSSH", version="7.2p2 Ubuntu 4ubuntu2.10",
                       extrainfo="Ubuntu Linux; protocol 2.0",
                       cpes=("cpe:/a:openbsd:openssh:7.2p2",))  # fmt: skip


@pytest.fixture(scope="module")
def db(starter_db: Path) -> Iterator[VulnDb]:
    with VulnDb.open(starter_db) as opened:
        yield opened


@pytest.mark.parametrize(
    "service",
    [
        OPENSSH_72P2,
        Service(product="OpenSSH", version="7.4p1 Debian 10+deb9u7",
                cpes=("cpe:/a:openbsd:openssh:7.4p1",)),
        Service(product="MySQL", version="5.0.51a-3ubuntu5", cpes=("cpe:/a:mysql:mysql:5.0.51a",)),
        Service(product="ISC BIND", version="9.4.2", cpes=("cpe:/a:isc:bind:9.4.2",)),
    ],
)  # fmt: skip
def test_explain_concludes_what_a_scan_concludes(service: Service, db: VulnDb) -> None:
    scan = Assessor([NvdSource(db)], BackportJudge(db).judge)(
        Port("tcp", 1, "open", service=service)
    )
    found = explain(service, db)
    assert found.assessment == scan
    applying = {c.id: c.finding for c in found.cves if c.finding is not None}
    assert applying == {v.id: v for v in (*scan.vulnerabilities, *scan.fixed)}
    assert found.candidates == len(found.cves)
    assert all(c.why_not for c in found.cves if c.finding is None)


def test_a_cve_that_does_not_apply_says_which_entry_and_how_it_was_read(db: VulnDb) -> None:
    (item,) = explain(OPENSSH_72P2, db, "CVE-2016-3115").cves
    assert item.finding is None
    assert (
        item.why_not == "no entry of it for this product matches 7.2p2 Ubuntu 4ubuntu2.10 (1 read)"
    )
    (entry,) = item.entries
    assert entry.criterion == "cpe:2.3:a:openbsd:openssh:*:p1:*:*:*:*:*:* versionEndIncluding 7.2"
    assert (entry.rules, entry.reading, entry.verdict) == (
        (UPDATE_IN_RANGE,), "versionEndIncluding 7.2p1", "does not match",
    )  # fmt: skip


def test_a_cve_that_applies_carries_the_finding_and_its_backport_decision(db: VulnDb) -> None:
    (item,) = explain(OPENSSH_72P2, db, "CVE-2015-8325").cves
    assert item.finding is not None
    # Upstream matching finds it (through the update-in-range rule); Canonical's xenial data
    # then decides it: the package was never affected.
    assert item.finding.confidence == "fixed-by-distribution"
    assert item.finding.reason == (
        "Canonical's xenial data of 2021-08-31: openssh not affected from 1:7.2p2-3 on (fixed "
        "before the release); this host runs 1:7.2p2-4ubuntu2.10"
    )
    assert [(e.verdict, e.rules) for e in item.entries] == [("matches", (UPDATE_IN_RANGE,))]


def test_a_cve_of_another_product_says_what_it_names(db: VulnDb) -> None:
    (item,) = explain(OPENSSH_72P2, db, "CVE-2010-3762").cves
    assert (item.finding, item.entries) == (None, ())
    assert item.why_not == "it names isc:bind, none of the names this service was looked up as"


def test_a_cve_not_in_the_database_gives_nothing_to_explain(db: VulnDb) -> None:
    assert explain(OPENSSH_72P2, db, "CVE-2099-0001").cves == ()


def test_an_unknown_or_unversioned_service_is_said_so(db: VulnDb) -> None:
    unknown = explain(Service(product="Jetty", version="9.4.5",
                              cpes=("cpe:/a:mortbay:jetty:9.4.5",)), db)  # fmt: skip
    assert unknown.assessment.status == "unknown" and unknown.cves == ()
    assert ("eclipse", "jetty") in unknown.lookup.names
    bare = explain(
        Service(product="OpenSSH", cpes=("cpe:/a:openbsd:openssh",)), db, "CVE-2016-3115"
    )
    assert bare.assessment.status == "unversioned"
    (item,) = bare.cves
    assert item.why_not == "no version was detected, so no CVE can be matched"


def test_a_platform_the_banner_contradicts_is_named(db: VulnDb) -> None:
    """OpenSSH 9.2p1 on Debian 12, as Nmap 7.93 reports it: CVE-2008-3844 needs Red Hat."""
    debian = Service(
        name="ssh", product="OpenSSH", version="9.2p1 Debian 2+deb12u3",
        extrainfo="protocol 2.0", ostype="Linux",
        cpes=("cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"),
    )  # fmt: skip
    (item,) = explain(debian, db, "CVE-2008-3844").cves
    assert item.finding is None
    assert item.why_not.startswith(
        "an entry matches, but its configuration needs "
        "cpe:2.3:o:redhat:enterprise_linux:4.5.z:*:as:*:*:*:*:* or "
    )
    assert item.why_not.endswith(
        ", which the scan contradicts: it shows cpe:/o:linux:linux_kernel; "
        'cpe:/o:debian:debian_linux:12 (version "9.2p1 Debian 2+deb12u3"); '
        'cpe:/o:linux:linux_kernel (ostype "Linux")'
    )


def test_a_label_is_read_as_the_range_it_stands_for(db: VulnDb) -> None:
    found = explain(Service(product="Samba smbd", version="4.6.2",
                            cpes=("cpe:/a:samba:samba:4.6.2",)), db, "CVE-2017-7494")  # fmt: skip
    assert (found.reading.low, found.reading.high) == ("4.6.2", "")
    assert found.reading.fingerprint.startswith("Nmap's fingerprint says 4.6.2")
    (item,) = found.cves
    assert item.finding is not None and item.finding.confidence == "version-range"
