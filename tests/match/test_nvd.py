"""The offline NVD source on the real starter database (and on small databases of real
records): statuses, reasons, the names looked up, aliases, merging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.scan import Port, ScriptElem, ScriptResult, ScriptTable, Service
from brulee.match.assess import assess
from brulee.match.nvd import NvdSource, lookup, service_products
from brulee.match.vulners import VulnersSource
from brulee.vulndb.build import import_files
from brulee.vulndb.store import VulnDb

NVD = Path(__file__).parents[1] / "assets" / "nvd"


@pytest.fixture(scope="module")
def source(starter_db: Path) -> Iterator[NvdSource]:
    with VulnDb.open(starter_db) as db:
        yield NvdSource(db)


def port(product: str, version: str, *cpes: str, name: str = "") -> Port:
    return Port("tcp", 1, "open", service=Service(name=name, product=product, version=version,
                                                   cpes=cpes))  # fmt: skip


def ids(source: NvdSource, p: Port) -> set[str]:
    return {v.id for v in source.assess(p).vulnerabilities}


def test_cpe_and_version_give_certain_findings_with_reasons(source: NvdSource) -> None:
    result = source.assess(port("vsftpd", "2.3.4", "cpe:/a:vsftpd:vsftpd:2.3.4"))
    assert result.status == "vulnerable"
    (backdoor,) = [v for v in result.vulnerabilities if v.id == "CVE-2011-2523"]
    assert backdoor.confidence == "certain"
    assert "vsftpd" in backdoor.reason
    assert backdoor.cvss is not None and backdoor.cvss.version
    assert backdoor.severity == "critical"
    assert backdoor.description.startswith("vsftpd 2.3.4")
    assert backdoor.cwes == ("CWE-78",)  # NVD's weakness, from the database


def test_fixed_versions_do_not_match(source: NvdSource) -> None:
    assert "CVE-2011-2523" not in ids(source, port("vsftpd", "3.0.3", "cpe:/a:vsftpd:vsftpd:3.0.3"))
    openssh = ids(source, port("OpenSSH", "9.8p1", "cpe:/a:openbsd:openssh:9.8p1"))
    assert "CVE-2024-6387" not in openssh  # fixed in 9.8p1
    assert "CVE-2024-6387" in ids(source, port("OpenSSH", "9.7p1", "cpe:/a:openbsd:openssh:9.7p1"))


def test_a_version_nothing_applies_to_is_clean_and_says_what_was_checked(
    source: NvdSource,
) -> None:
    result = source.assess(port("vsftpd", "3.0.5", "cpe:/a:vsftpd:vsftpd:3.0.5"))
    assert result.status == "clean"
    assert "CVEs recorded for" in result.note and "3.0.5" in result.note


def test_product_name_without_cpe_goes_through_the_alias_table(source: NvdSource) -> None:
    result = source.assess(port("Exim smtpd", "4.89"))
    (wizard,) = [v for v in result.vulnerabilities if v.id == "CVE-2019-10149"]
    assert wizard.reason.endswith(
        "(looked up by Nmap's product name 'Exim smtpd'; Nmap gave no CPE)"
    )
    assert result.nvd_names == ("exim:exim", "university_of_cambridge:exim")
    assert service_products(Service(product="Exim smtpd")) >= {("exim", "exim")}
    with_cpe = source.assess(port("Exim smtpd", "4.89", "cpe:/a:exim:exim:4.89"))
    assert "product name" not in with_cpe.vulnerabilities[0].reason


def test_old_nmap_vendor_names_reach_current_nvd_names(source: NvdSource) -> None:
    found = ids(source, port("nginx", "1.14.0", "cpe:/a:igor_sysoev:nginx:1.14.0"))
    assert {"CVE-2018-16845", "CVE-2021-23017"} <= found


def test_unknown_and_unversioned_are_never_clean(source: NvdSource) -> None:
    unknown = source.assess(port("SimpleHTTPServer", "0.6", "cpe:/a:python:simplehttpserver:0.6"))
    assert unknown.status == "unknown"
    assert unknown.note == (
        "SimpleHTTPServer 0.6 is not in the vulnerability database under any of the NVD names "
        "it was looked up as"
    )
    assert unknown.nvd_names == ("python:simplehttpserver",)
    nameless = source.assess(port("Acme widget httpd", "1.0"))
    assert (nameless.status, nameless.nvd_names) == ("unknown", ())
    assert "no NVD name is known for the product name 'Acme widget httpd'" in nameless.note
    assert source.assess(port("OpenSSH", "", "cpe:/a:openbsd:openssh")).status == "unversioned"
    assert source.assess(Port("tcp", 9, "open")).status == "unknown"


def test_platform_conditions_make_findings_conditional(source: NvdSource) -> None:
    result = source.assess(port("OpenSSH", "4.3p2", "cpe:/a:openbsd:openssh:4.3p2"))
    (redhat,) = [v for v in result.vulnerabilities if v.id == "CVE-2008-3844"]
    assert redhat.confidence == "conditional"
    assert "not visible to the scan" in redhat.reason


def test_kev_and_epss_come_with_the_finding(source: NvdSource) -> None:
    result = source.assess(port("Apache httpd", "2.4.49", "cpe:/a:apache:http_server:2.4.49"))
    by_id = {v.id: v for v in result.vulnerabilities}
    kev = by_id["CVE-2021-41773"].kev
    assert kev is not None and kev.date_added == "2021-11-03"
    assert by_id["CVE-2021-41773"].epss is not None


def test_repeated_services_are_assessed_once(source: NvdSource) -> None:
    one = port("ProFTPD", "1.3.5", "cpe:/a:proftpd:proftpd:1.3.5")
    two = port("ProFTPD", "1.3.5", "cpe:/a:proftpd:proftpd:1.3.5")
    assert source.assess(one) is source.assess(two)


def test_nvd_and_vulners_merge_per_cve(source: NvdSource) -> None:
    table = ScriptTable("cpe:/a:vsftpd:vsftpd:2.3.4", (
        ScriptTable(None, (ScriptElem("id", "CVE-2011-2523"), ScriptElem("cvss", "10.0"),
                           ScriptElem("type", "cve"))),
        ScriptTable(None, (ScriptElem("id", "CVE-2099-0001"), ScriptElem("cvss", "5.0"),
                           ScriptElem("type", "cve"))),
    ))  # fmt: skip
    p = Port("tcp", 21, "open", service=Service(product="vsftpd", version="2.3.4",
             cpes=("cpe:/a:vsftpd:vsftpd:2.3.4",)),
             scripts=(ScriptResult("vulners", "", (table,)),))  # fmt: skip
    merged = {v.id: v for v in assess(p, [source, VulnersSource()]).vulnerabilities}
    assert merged["CVE-2011-2523"].sources == ("nvd", "vulners")
    assert merged["CVE-2011-2523"].confidence == "certain"
    assert merged["CVE-2099-0001"].sources == ("vulners",)
    assert merged["CVE-2099-0001"].confidence == "reported"


# -- names NVD files the product under ----------------------------------------------------


@pytest.fixture(scope="module")
def renamed_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnDb]:
    """A database of two real records: CVE-2017-9735 (eclipse:jetty, "Jetty through 9.4.x")
    and CVE-2017-11393 (trendmicro:officescan)."""
    folder = tmp_path_factory.mktemp("renamed")
    records = []
    for cve in ("CVE-2017-9735", "CVE-2017-11393"):
        record = folder / f"{cve}.json"
        record.write_text(json.dumps({"cve": json.loads((NVD / f"{cve}.json").read_text())}))
        records.append(record)
    import_files(folder / "vulndb.sqlite", records)
    with VulnDb.open(folder / "vulndb.sqlite") as db:
        yield db


def test_nmaps_old_name_finds_the_cves_filed_under_the_new_owner(renamed_db: VulnDb) -> None:
    """Nmap names Jetty mortbay:jetty; NVD files its CVEs under eclipse:jetty (the table)."""
    result = NvdSource(renamed_db).assess(
        port("Jetty", "9.4.5.v20170502", "cpe:/a:mortbay:jetty:9.4.5.v20170502")
    )
    assert result.status == "vulnerable"
    (timing,) = result.vulnerabilities
    assert (timing.id, timing.confidence) == ("CVE-2017-9735", "certain")
    assert "eclipse:jetty:*:20170531" in timing.reason
    assert set(result.nvd_names) == {
        "eclipse:jetty", "jetty:jetty", "mortbay:jetty", "mortbay_jetty:jetty",
    }  # fmt: skip
    fixed = NvdSource(renamed_db).assess(port("Jetty", "9.4.7", "cpe:/a:mortbay:jetty:9.4.7"))
    assert fixed.status == "clean"


def test_another_spelling_of_the_vendor_comes_from_the_database(renamed_db: VulnDb) -> None:
    """Nmap writes trend_micro:officescan, NVD's record trendmicro:officescan: not in the
    table, found in the database's own index."""
    service = Service(product="Trend Micro OfficeScan", version="12.0",
                      cpes=("cpe:/a:trend_micro:officescan",))  # fmt: skip
    found = lookup(service, renamed_db)
    assert found.respelled == (("trendmicro", "officescan"),)
    assert found.known == (("trendmicro", "officescan"),)
    result = NvdSource(renamed_db).assess(Port("tcp", 4343, "open", service=service))
    assert [v.id for v in result.vulnerabilities] == ["CVE-2017-11393"]
    assert result.nvd_names == ("trend_micro:officescan", "trendmicro:officescan")


def test_another_vendor_of_the_same_product_name_is_not_this_software(
    renamed_db: VulnDb,
) -> None:
    """Measured on Nmap's own CPEs, a product name shared by another vendor is a different
    product about half the time (Progress Database / Oracle Database, Heimdal / MIT Kerberos):
    only spellings of the same vendor are looked up."""
    service = Service(product="Foo OfficeScan", version="12.0", cpes=("cpe:/a:foo:officescan",))
    found = lookup(service, renamed_db)
    assert (found.known, found.respelled) == ((), ())
    result = NvdSource(renamed_db).assess(Port("tcp", 4343, "open", service=service))
    assert result.status == "unknown"
    assert result.nvd_names == ("foo:officescan",)


def test_a_cpe_without_a_product_names_nothing(source: NvdSource) -> None:
    """Nmap XML can carry ``cpe:/a:acme`` (hostile or substituted badly): no names, no crash."""
    result = source.assess(port("Acme httpd", "1.0", "cpe:/a:acme", "cpe:/a::"))
    assert (result.status, result.nvd_names) == ("unknown", ())
    by_name = source.assess(port("Exim smtpd", "4.89", "cpe:/a:exim"))
    (wizard,) = [v for v in by_name.vulnerabilities if v.id == "CVE-2019-10149"]
    assert "(looked up by Nmap's product name 'Exim smtpd'; Nmap gave no CPE)" in wizard.reason


# -- issue 12: Nmap's labels, unbounded entries, contradicted platforms ----------------------


def test_nmaps_samba_label_gives_version_range_findings(source: NvdSource) -> None:
    """Samba 4.17 on Debian 12, as Nmap 7.93 reports it: its fixed label ``4.6.2``."""
    label = port("Samba smbd", "4.6.2", "cpe:/a:samba:samba:4.6.2", name="netbios-ssn")
    (sambacry,) = [v for v in source.assess(label).vulnerabilities if v.id == "CVE-2017-7494"]
    assert sambacry.confidence == "version-range"
    assert "Nmap's fingerprint says 4.6.2 for every Samba smbd from 4.6.2 on" in sambacry.reason
    assert sambacry.kev is not None  # in CISA KEV: the headlines must not take it as certain


def test_a_label_says_so_in_the_services_note(source: NvdSource) -> None:
    """The service's own note says the version is a label, whether CVEs apply or none does."""
    label = source.assess(port("Samba smbd", "4.6.2", "cpe:/a:samba:samba:4.6.2"))
    assert label.status == "vulnerable"
    assert label.note == (
        "Nmap's fingerprint says 4.6.2 for every Samba smbd from 4.6.2 on: the running version is "
        "not known, so a CVE that applies to only part of that range is possible, not certain"
    )
    captured = source.assess(port("Samba smbd", "3.0.20", "cpe:/a:samba:samba:3.0.20"))
    assert captured.status == "vulnerable" and captured.note == ""
    written = source.assess(port("PostgreSQL DB", "9.6.0 or later", "cpe:/a:postgresql:postgresql"))
    assert written.note.startswith("Nmap reports a range, 9.6.0 or later: the running version")


def test_a_captured_samba_version_gives_certain_findings(source: NvdSource) -> None:
    captured = Service(
        name="netbios-ssn", product="Samba smbd", version="3.0.20-Debian",
        extrainfo="workgroup: WORKGROUP", cpes=("cpe:/a:samba:samba:3.0.20",),
    )  # fmt: skip
    found = source.assess(Port("tcp", 445, "open", service=captured)).vulnerabilities
    (usermap,) = [v for v in found if v.id == "CVE-2007-2447"]
    assert usermap.confidence == "certain"
    assert {v.confidence for v in found} <= {"certain", "conditional", "unbounded"}


@pytest.mark.parametrize(
    ("cve", "product", "version", "cpe"),
    [
        ("CVE-2004-0399", "Exim smtpd", "4.96", "cpe:/a:exim:exim:4.96"),
        ("CVE-2010-1151", "Apache httpd", "2.4.62", "cpe:/a:apache:http_server:2.4.62"),
        ("CVE-2007-2768", "OpenSSH", "9.2p1", "cpe:/a:openbsd:openssh:9.2p1"),
    ],
)
def test_entries_naming_every_version_are_unbounded(
    source: NvdSource, cve: str, product: str, version: str, cpe: str
) -> None:
    (found,) = [
        v for v in source.assess(port(product, version, cpe)).vulnerabilities if v.id == cve
    ]
    assert found.confidence == "unbounded"
    assert "with no version bound" in found.reason


def test_a_red_hat_condition_on_a_debian_banner_is_dropped(source: NvdSource) -> None:
    """CVE-2008-3844 (trojaned OpenSSH packages of Red Hat Enterprise Linux) needs RHEL: a
    Debian 12 banner contradicts it, an OpenSSH that names no distribution leaves it open."""
    debian = Service(
        name="ssh", product="OpenSSH", version="9.2p1 Debian 2+deb12u3",
        extrainfo="protocol 2.0", ostype="Linux",
        cpes=("cpe:/a:openbsd:openssh:9.2p1", "cpe:/o:linux:linux_kernel"),
    )  # fmt: skip
    assert "CVE-2008-3844" not in {
        v.id for v in source.assess(Port("tcp", 22, "open", service=debian)).vulnerabilities
    }
    plain = source.assess(port("OpenSSH", "9.2p1", "cpe:/a:openbsd:openssh:9.2p1"))
    (rhel,) = [v for v in plain.vulnerabilities if v.id == "CVE-2008-3844"]
    assert rhel.confidence == "conditional"
    assert "redhat:enterprise_linux" in rhel.reason


def test_a_windows_installer_cve_is_dropped_on_a_linux_ostype(source: NvdSource) -> None:
    """CVE-2019-10211 needs Windows (PostgreSQL's Windows installer): a PostgreSQL Nmap reports
    with ostype Linux is not exposed; without an OS it stays possible."""
    linux = Service(name="postgresql", product="PostgreSQL DB", version="11.4", ostype="Linux",
                    cpes=("cpe:/a:postgresql:postgresql:11.4",))  # fmt: skip
    found = {v.id for v in source.assess(Port("tcp", 5432, "open", service=linux)).vulnerabilities}
    assert "CVE-2019-10211" not in found
    assert "CVE-2019-10208" in found  # a CVE of PostgreSQL itself still applies
    bare = port("PostgreSQL DB", "11.4", "cpe:/a:postgresql:postgresql:11.4")
    (windows,) = [v for v in source.assess(bare).vulnerabilities if v.id == "CVE-2019-10211"]
    assert windows.confidence == "conditional"
    assert "microsoft:windows" in windows.reason
