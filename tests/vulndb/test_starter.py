"""The starter database built from the data shipped in the package."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources
from pathlib import Path

from brulee.vulndb.meta import format_info
from brulee.vulndb.store import VulnDb
from tests.vulndb.conftest import rows

KEV_STARTER_CVES = [
    "CVE-2010-4344", "CVE-2010-4345", "CVE-2014-0160", "CVE-2017-12615", "CVE-2017-12617",
    "CVE-2017-7494", "CVE-2019-0211", "CVE-2019-10149", "CVE-2019-16928", "CVE-2021-40438",
    "CVE-2021-41773", "CVE-2021-42013",
]  # fmt: skip


def test_counts_match_the_data_readme(starter: VulnDb) -> None:
    info = starter.info()
    assert (info.cves, info.rejected, info.kev_entries, info.epss_scores) == (2299, 0, 1404, 2299)
    assert len(info.sources) == 37  # 27 NVD files, KEV, EPSS, 4 Debian tracker, 4 Ubuntu OVAL
    assert info.kev_catalog_version == "2025.08.25"
    assert info.epss_score_date == "2026-08-16T00:00:00+0000"
    assert info.coverage is not None
    assert len(info.coverage) == 44


def test_every_cve_has_an_epss_score_and_twelve_are_in_kev(starter_path: Path) -> None:
    sql = "SELECT count(*) FROM cve JOIN epss ON epss.cve_id = cve.id"
    assert rows(starter_path, sql) == [(2299,)]
    kev = "SELECT cve.id FROM cve JOIN kev ON kev.cve_id = cve.id ORDER BY cve.id"
    assert [r[0] for r in rows(starter_path, kev)] == KEV_STARTER_CVES


def test_sample_lookups(starter: VulnDb) -> None:
    openssh = {c.id: c for c in starter.candidates("openbsd", "openssh")}
    assert len(openssh) == 98  # data README: records naming openbsd:openssh
    assert {"CVE-2024-6387", "CVE-2023-38408", "CVE-2018-15473"} <= openssh.keys()
    assert len(starter.candidates("isc", "bind")) == 122
    httpd = {c.id: c for c in starter.candidates("apache", "http_server")}
    kev = httpd["CVE-2021-41773"].kev
    assert kev is not None
    assert (kev.date_added, kev.due_date, kev.known_ransomware) == (
        "2021-11-03", "2021-11-17", "Known",
    )  # fmt: skip
    assert "CVE-2011-2523" in {c.id for c in starter.candidates("vsftpd_project", "vsftpd")}
    assert "CVE-2019-10149" in {c.id for c in starter.candidates("exim", "exim")}


def test_only_the_covered_products_are_known(starter: VulnDb) -> None:
    assert starter.is_known("openbsd", "openssh")
    assert starter.is_known("mysql", "mysql_enterprise_server")
    assert starter.candidates("nodejs", "node.js")  # named incidentally...
    assert not starter.is_known("nodejs", "node.js")  # ...but not covered: `unknown`
    assert not starter.is_known("debian", "debian_linux")
    assert ("f5", "nginx") in starter.known_products()


def test_status_lines(starter: VulnDb) -> None:
    text = "\n".join(format_info(starter.info()))
    assert "(NVD files dated 2023-11-07 to 2026-10-08)" in text
    assert "CVEs:      2,299 (0 rejected ids removed)" in text
    assert "coverage:  complete only for 44 vendor:product pairs" in text
    assert "KEV:       1,404 entries, catalog 2025.08.25" in text
    assert "nvd  nvdcve-2.0-2024.json.gz: 1 records, dated 2024-07-09T06:15:03.513" in text
    assert (
        "Debian:    5,406 DSAs to 2023-03-29, 3,534 DLAs to 2023-04-01: 10,523 release entries"
        " for 2,109 source packages" in text
    )
    assert "CPE map: 2,351 package entries, 369 alias groups" in text
    assert "debian-dla debian-DLA-list.gz: 3,534 records, dated 2023-04-01" in text
    assert (  # PROVENANCE.md: the CVE definitions kept for the starter's source packages
        "Ubuntu:    bionic data of 2021-08-31: 840 CVEs, 1,012 package statuses" in text
    )
    assert "focal data of 2021-08-31: 460 CVEs, 491 package statuses" in text
    assert "trusty data of 2021-08-31: 934 CVEs, 977 package statuses" in text
    assert "xenial data of 2021-08-31: 1,075 CVEs, 1,396 package statuses" in text


def test_shipped_kev_file_is_the_documented_one() -> None:
    kev = resources.files("brulee") / "data" / "starter" / "known_exploited_vulnerabilities.json"
    assert hashlib.sha256(kev.read_bytes()).hexdigest() == (
        "901b1f227941a3879a3e39fcb857bb6f7252bf9d71b63ef08d50a836d5ab1bd2"
    )


DEBIAN_SHA256 = {  # PROVENANCE.md: of the tracker files, decompressed
    "debian-DSA-list.gz": "157fca80633aaa43348fe24ab460f6e6e058386d77f07732b1abcb2975ea0848",
    "debian-DLA-list.gz": "242747de6837fcc193b7f5da1abfb11306323da1367fbab4f41b59b676be8d24",
    "debian-CPE-list.gz": "2e9aec5e753325694eabd6455753b5a121283db55ffdb652574e0f8ac6d97aab",
    "debian-CPE-aliases.gz": "d1688a3137a0ce48bcc9b78619a89555506a132c28b6b60ff9f2e2b0c9b0dcff",
}


def test_shipped_debian_files_are_the_documented_ones(starter_path: Path) -> None:
    folder = resources.files("brulee") / "data" / "starter"
    for name, digest in DEBIAN_SHA256.items():
        content = gzip.decompress((folder / name).read_bytes())
        assert hashlib.sha256(content).hexdigest() == digest, name
    sql = "SELECT name, content_sha256 FROM source WHERE kind LIKE 'debian-%'"
    assert {str(name): digest for name, digest in rows(starter_path, sql)} == DEBIAN_SHA256


def test_debian_data(starter: VulnDb, starter_path: Path) -> None:
    info = starter.info()
    assert (info.debian_dsas, info.debian_dlas) == (5406, 3534)
    assert (info.debian_dsa_date, info.debian_dla_date) == ("2023-03-29", "2023-04-01")
    assert starter.debian_packages("openbsd", "openssh") == {"openssh"}
    assert {"apache2", "apache"} == starter.debian_packages("apache", "http_server")
    assert {"bind9", "bind"} == starter.debian_packages("isc", "bind")
    assert starter.debian_packages("nginx", "nginx") == {"nginx"}
    # the 2023 tracker data predates NVD's f5:nginx: the caller has to try the older name
    assert starter.debian_packages("f5", "nginx") == frozenset()
    (fix,) = starter.debian_fixes("openssh", "stretch")["CVE-2018-15473"]
    assert (fix.advisory, fix.fixed_version) == ("DSA-4280-1", "1:7.4p1-10+deb9u4")
    (lts,) = starter.debian_fixes("openssh", "jessie")["CVE-2018-15473"]
    assert (lts.advisory, lts.fixed_version) == ("DLA-1474-1", "1:6.7p1-5+deb8u5")
    # every release status of the real lists
    statuses = "SELECT status, count(*) FROM debian_fix GROUP BY status ORDER BY status"
    assert rows(starter_path, statuses) == [
        ("end-of-life", 5), ("fixed", 10460), ("not-affected", 55), ("unfixed", 3),
    ]  # fmt: skip
