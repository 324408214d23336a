"""The vulners NSE source: CVEs, missing CVSS, exploit ids attached or kept as references."""

from __future__ import annotations

from pathlib import Path

from brulee.core.scan import Port
from brulee.match.vulners import VulnersSource
from brulee.scan.nmapxml import NmapXmlReader
from tests import xmlsnippets as x

SSH = (
    '<service name="ssh" product="OpenSSH" version="7.4" method="probed" conf="10">'
    "<cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>"
)
MSF = "MSF:EXPLOIT-MULTI-HTTP-APACHE_NORMALIZE_PATH_RCE-CVE-2021-41773-"


def first_port(tmp_path: Path, scripts: str) -> Port:
    path = x.write(tmp_path / "scan.xml", x.host("10.0.0.1", x.port(22, SSH, scripts)))
    (host,) = NmapXmlReader(path).hosts()
    return host.ports[0]


def test_cves_become_vulnerabilities_sorted_later_with_severity(tmp_path: Path) -> None:
    port = first_port(tmp_path, x.vulners("cpe:/a:openbsd:openssh:7.4", [
        ("CVE-2023-38408", "9.8", "cve", False),
        ("CVE-2016-10009", "7.3", "cve", False),
        ("CVE-2018-15473", "5.3", "cve", True),
    ]))  # fmt: skip
    result = VulnersSource().assess(port)
    assert result.status == "vulnerable"
    by_id = {v.id: v for v in result.vulnerabilities}
    assert by_id["CVE-2023-38408"].severity == "critical"
    assert by_id["CVE-2016-10009"].severity == "high"
    assert by_id["CVE-2018-15473"].severity == "medium"
    assert by_id["CVE-2023-38408"].cvss is not None
    assert by_id["CVE-2023-38408"].cvss.score == 9.8
    assert by_id["CVE-2023-38408"].confidence == "reported"
    assert "cpe:/a:openbsd:openssh:7.4" in by_id["CVE-2023-38408"].reason
    assert by_id["CVE-2023-38408"].url == "https://nvd.nist.gov/vuln/detail/CVE-2023-38408"


def test_missing_or_junk_cvss_is_unscored_not_low(tmp_path: Path) -> None:
    port = first_port(tmp_path, x.vulners("cpe:/a:openbsd:openssh:7.4", [
        ("CVE-2025-32728", None, "cve", False),
        ("CVE-2025-26465", "", "cve", False),
        ("CVE-2025-26466", "n/a", "cve", False),
        ("CVE-2020-15778", "0.0", "cve", False),
        # Not CVSS scores: NaN was rated "low" and written as NaN/Infinity (not JSON).
        ("CVE-2016-10009", "NaN", "cve", False),
        ("CVE-2016-10010", "inf", "cve", False),
        ("CVE-2016-10011", "-Infinity", "cve", False),
        ("CVE-2016-10012", "11", "cve", False),
        ("CVE-2016-10708", "-1", "cve", False),
        ("CVE-2016-1908", "9" * 400, "cve", False),
    ]))  # fmt: skip
    vulns = VulnersSource().assess(port).vulnerabilities
    assert {v.severity for v in vulns} == {"unscored"}
    assert [v.cvss for v in vulns if v.id != "CVE-2020-15778"] == [None] * 9


def test_exploit_ids_attach_to_the_cve_they_name_and_never_count_as_vulnerabilities(
    tmp_path: Path,
) -> None:
    port = first_port(tmp_path, x.vulners("cpe:/a:apache:http_server:2.4.49", [
        ("CVE-2021-41773", "7.5", "cve", False),
        ("PRION:CVE-2021-41773", "7.5", "prion", False),
        (MSF, "7.5", "metasploit", True),
        ("EDB-ID:50383", "7.5", "exploitdb", True),
        ("B8190CDB-3EB9-5631-9828-8064A1575B23", "9.8", "githubexploit", True),
        ("PRION:CVE-2099-0001", "5.0", "prion", False),
    ]))  # fmt: skip
    result = VulnersSource().assess(port)
    assert [v.id for v in result.vulnerabilities] == ["CVE-2021-41773"]
    assert result.vulnerabilities[0].exploits == (
        "PRION:CVE-2021-41773",
        MSF,
    )
    assert result.references == (
        "EDB-ID:50383", "B8190CDB-3EB9-5631-9828-8064A1575B23", "PRION:CVE-2099-0001",
    )  # fmt: skip


def test_every_cpe_table_is_read(tmp_path: Path) -> None:
    two = x.vulners("cpe:/a:openbsd:openssh:7.4", [("CVE-2016-10009", "7.3", "cve", False)])
    two = two.replace("</script>", "") + (
        '<table key="cpe:/o:linux:linux_kernel"><table><elem key="id">CVE-2016-5195</elem>'
        '<elem key="cvss">7.8</elem><elem key="type">cve</elem></table></table></script>'
    )
    ids = {v.id for v in VulnersSource().assess(first_port(tmp_path, two)).vulnerabilities}
    assert ids == {"CVE-2016-10009", "CVE-2016-5195"}


def test_no_vulners_output_is_unchecked_with_the_reason(tmp_path: Path) -> None:
    result = VulnersSource().assess(first_port(tmp_path, ""))
    assert result.status == "unchecked"
    assert "vulners.com" in result.note
    assert result.vulnerabilities == ()
