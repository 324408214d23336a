"""A small but complete Report, built through the real grouper and spool, for every renderer.

It holds a vulnerable service on two hosts (one IPv6) with a known exploited (KEV, ransomware)
high CVE listed before a critical one, a conditional one with EPSS and an unscored reported one;
a Debian-packaged OpenSSH with a CVE its package revision fixed (set aside), one still open with
the advisory and version that fix it, and two unverified backports (one under investigation in
an OpenVEX statement); an Ubuntu nginx with only unverified backports; a clean, an unchecked
(Ubuntu-packaged), an unknown and an unversioned service; a host that is down; an incomplete-scan
flag with errors and warnings; the vulnerability database line; and HOSTILE text in every field
a banner or a source can reach, a KEV entry's, a distribution's evidence and a CWE list included.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from brulee.core.distro import DistroEvidence
from brulee.core.history import Trend, TrendPoint
from brulee.core.report import Report, ScanSummary
from brulee.core.scan import Host, Port, ScanRun, Service
from brulee.core.vulnerability import (
    SEVERITIES,
    Assessment,
    Cvss,
    EpssScore,
    KevEntry,
    Severity,
    VexNote,
    Vulnerability,
)
from brulee.findings.grouping import ServiceGrouper
from brulee.findings.spool import Spool

HOSTILE = "Apache/2.4.49 (\\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)"
GOLDEN = Path(__file__).parent / "golden"


def _open(*counts: int) -> tuple[tuple[Severity, int], ...]:
    return tuple(zip(SEVERITIES, counts, strict=True))


# Three scans of a scope, the last one this report's (report.trend).
TREND = Trend((
    TrendPoint(11, "2026-11-01T08:00:00+00:00", _open(1, 4, 6, 0, 0), None, None),
    TrendPoint(12, "2026-11-08T08:00:00+00:00", _open(2, 6, 6, 0, 0), 3, 0),
    TrendPoint(13, "2026-11-15T08:00:00+00:00", _open(0, 3, 5, 0, 0), 0, 6),
))  # fmt: skip
UPDATE_GOLDEN = os.environ.get("BRULEE_UPDATE_GOLDEN") == "1"

APACHE = Service(
    name="http",
    product="Apache httpd",
    version="2.4.49",
    extrainfo="(Unix)",
    method="probed",
    conf=10,
    cpes=("cpe:/a:apache:http_server:2.4.49",),
)
TRAVERSAL_KEV = KevEntry(
    date_added="2021-11-03",
    due_date="2021-11-17",
    vendor_project="Apache",
    product="HTTP Server",
    name="Apache HTTP Server Path Traversal Vulnerability",
    required_action="Apply updates per vendor instructions.",
    known_ransomware="Known",
    notes="https://httpd.apache.org/security/vulnerabilities_24.html",
)
TRAVERSAL = Vulnerability(
    id="CVE-2021-41773",
    severity="high",
    cvss=Cvss(7.5, "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
    description="Path traversal and file disclosure in Apache HTTP Server 2.4.49.",
    url="https://nvd.nist.gov/vuln/detail/CVE-2021-41773",
    published="2021-10-05T09:15:07.593",
    confidence="certain",
    reason="cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:* matches 2.4.49",
    sources=("nvd",),
    exploits=("EDB-ID:50383", "PACKETSTORM:164418"),
    kev=TRAVERSAL_KEV,
    epss=EpssScore(0.94432, 0.99917),
    cwes=("CWE-22",),
)
CONDITION = "cpe:2.3:o:fedoraproject:fedora:35:*:*:*:*:*:*:*"
APACHE_VULNS = Assessment(
    "vulnerable",
    vulnerabilities=(
        TRAVERSAL,
        Vulnerability(
            id="CVE-2021-44790",
            severity="critical",
            cvss=Cvss(9.8, "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            description="A carefully crafted request body can cause a buffer overflow in the "
            "mod_lua multipart parser of Apache HTTP Server 2.4.51 and earlier.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2021-44790",
            published="2021-12-20T12:15:07.617",
            confidence="certain",
            reason="cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:* versionEndIncluding 2.4.51 "
            "matches 2.4.49",
            sources=("nvd",),
            epss=EpssScore(0.12345, 0.95123),
            cwes=("CWE-787", "NVD-CWE-Other"),
        ),
        Vulnerability(
            id="CVE-2021-33193",
            severity="medium",
            cvss=Cvss(5.3, "3.1"),
            description="A crafted method sent through HTTP/2 bypasses validation.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2021-33193",
            confidence="conditional",
            reason="cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:* versionStartIncluding 2.4.17 "
            f"versionEndIncluding 2.4.48 may match 2.4.49; only if {CONDITION} "
            "(not visible to the scan)",
            sources=("nvd",),
            epss=EpssScore(0.00512, 0.76543),
        ),
        Vulnerability(
            id="CVE-2024-40898",
            severity="unscored",
            description="Awaiting analysis: SSRF with mod_rewrite in server/vhost context.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2024-40898",
            confidence="reported",
            reason="listed by vulners",
            sources=("vulners",),
        ),
    ),
    references=("CNVD-2021-12345",),
    nvd_names=("apache:apache_http_server", "apache:http_server"),
)
OPENSSH = Service(name="ssh", product="OpenSSH", version="8.9p1", extrainfo="Ubuntu 3ubuntu0.6",
                  cpes=("cpe:/a:openbsd:openssh:8.9p1",))  # fmt: skip
UNCHECKED = Assessment(
    "unchecked",
    note="no vulners output for this port",
    distribution=DistroEvidence(
        "ubuntu", revision="3ubuntu0.6", upstream="8.9p1", evidence='extrainfo "Ubuntu 3ubuntu0.6"'
    ),
)
STRETCH_SSH = Service(
    name="ssh",
    product="OpenSSH",
    version="7.4p1 Debian 10+deb9u4",
    extrainfo="protocol 2.0",
    cpes=("cpe:/a:openbsd:openssh:7.4p1",),
)
STRETCH = DistroEvidence(
    "debian", "stretch", "10+deb9u4", "7.4p1", evidence='version "7.4p1 Debian 10+deb9u4"'
)
NO_STRETCH_ADVISORY = (
    "no Debian advisory names it for stretch, so whether the 10+deb9u4 package carries a fix "
    "cannot be decided here"
)
REMEDIATION = (
    "upgrade the Debian stretch package to 1:7.4p1-10+deb9u5 or later (DSA-4387-1); this host "
    "runs 1:7.4p1-10+deb9u4"
)
FIXED_REASON = (
    "DSA-4280-1 (2018-08-22): fixed in 1:7.4p1-10+deb9u4; this host runs 1:7.4p1-10+deb9u4"
)
VEX_NOTE = VexNote(
    "under_investigation",
    f"scp is disabled on these hosts; {HOSTILE}",
    "secops@example.com",
    "vex.json statement 2",
    ("cpe cpe:/a:openbsd:openssh:7.4p1", "port 22/tcp"),
)
STRETCH_VULNS = Assessment(
    "vulnerable",
    vulnerabilities=(
        Vulnerability(
            id="CVE-2023-38408",
            severity="critical",
            cvss=Cvss(9.8, "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            description="The PKCS#11 feature in ssh-agent has an insufficiently trustworthy "
            "search path, leading to remote code execution through a forwarded agent.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2023-38408",
            published="2023-07-20T03:15:10.170",
            confidence="unverified-backport",
            reason="cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.3 matches "
            f"7.4p1; {NO_STRETCH_ADVISORY}",
            sources=("nvd",),
            epss=EpssScore(0.45, 0.97),
        ),
        Vulnerability(
            id="CVE-2019-6111",
            severity="medium",
            cvss=Cvss(5.9, "3.1"),
            description="The scp client lets a malicious server overwrite arbitrary files in "
            "the client's target directory.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2019-6111",
            published="2019-01-31T18:29:00.807",
            confidence="certain",
            reason="cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndIncluding 7.9 matches "
            "7.4p1",
            sources=("nvd",),
            epss=EpssScore(0.0123, 0.85),
            advisory="DSA-4387-1",
            remediation=REMEDIATION,
        ),
        Vulnerability(
            id="CVE-2020-15778",
            severity="high",
            cvss=Cvss(7.8, "3.1"),
            description="scp allows command injection in the scp.c toremote function.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2020-15778",
            confidence="unverified-backport",
            reason="cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 8.3 matches "
            f"7.4p1; {NO_STRETCH_ADVISORY}",
            sources=("nvd",),
            epss=EpssScore(0.0456, 0.92),
            vex=(VEX_NOTE,),
        ),
    ),
    fixed=(
        Vulnerability(
            id="CVE-2018-15473",
            severity="medium",
            cvss=Cvss(5.3, "3.1"),
            description="User enumeration through a delayed bailout for an invalid user.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2018-15473",
            confidence="fixed-by-distribution",
            reason=FIXED_REASON,
            sources=("nvd",),
            advisory="DSA-4280-1",
        ),
    ),
    distribution=STRETCH,
    nvd_names=("openbsd:openssh",),
)
UBUNTU_NGINX = Service(
    name="http", product="nginx", version="1.14.0", extrainfo=f"Ubuntu; {HOSTILE}",
    cpes=("cpe:/a:igor_sysoev:nginx:1.14.0",),
)  # fmt: skip
UBUNTU_EVIDENCE = f'extrainfo "Ubuntu; {HOSTILE}"'
NO_UBUNTU_DATA = (
    "Ubuntu: distributions patch without changing the upstream version, and brulee has no "
    "ubuntu security data to decide it"
)
UBUNTU_VULNS = Assessment(
    "vulnerable",
    vulnerabilities=(
        Vulnerability(
            id="CVE-2021-23017",
            severity="high",
            cvss=Cvss(7.7, "3.1"),
            description="A one-byte memory overwrite in the nginx resolver.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2021-23017",
            confidence="unverified-backport",
            reason="cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:* versionStartIncluding 0.6.18 "
            f"versionEndExcluding 1.20.1 matches 1.14.0; {NO_UBUNTU_DATA}",
            sources=("nvd",),
        ),
        Vulnerability(
            id="CVE-2019-20372",
            severity="medium",
            cvss=Cvss(5.3, "3.1"),
            description="HTTP request smuggling with certain error_page configurations.",
            url="https://nvd.nist.gov/vuln/detail/CVE-2019-20372",
            confidence="unverified-backport",
            reason="cpe:2.3:a:nginx:nginx:*:*:*:*:*:*:*:* versionEndExcluding 1.17.7 matches "
            f"1.14.0; {NO_UBUNTU_DATA}",
            sources=("nvd",),
        ),
    ),
    distribution=DistroEvidence("ubuntu", upstream="1.14.0", evidence=UBUNTU_EVIDENCE),
    nvd_names=("f5:nginx", "f5:nginx_open_source", "igor_sysoev:nginx", "nginx:nginx"),
)
NGINX = Service(name="http", product="nginx", version="1.25.3", cpes=("cpe:/a:f5:nginx:1.25.3",))
CLEAN = Assessment(
    "clean",
    note="none of the 42 CVEs recorded for f5:nginx applies to 1.25.3",
    nvd_names=("f5:nginx", "f5:nginx_open_source", "nginx:nginx"),
)
MYSQL = Service(name="mysql", product="MySQL")
UNVERSIONED = Assessment(
    "unversioned",
    note="no version was detected, so no source can tell which vulnerabilities apply",
)
ACME = Service(name="snmp", product="Acme SNMP agent", version="3.1")
UNKNOWN = Assessment(
    "unknown",
    note="acme:snmp_agent is not in the vulnerability database",
    nvd_names=("acme:snmp_agent",),
)
EVIL = Service(
    name="http-alt",
    product=HOSTILE,
    version=HOSTILE,
    extrainfo=HOSTILE,
    cpes=("cpe:/a:evil:" + HOSTILE,),
)
EVIL_VULNS = Assessment(
    "vulnerable",
    vulnerabilities=(
        Vulnerability(
            id="CVE-2021-42013",
            severity="high",
            cvss=Cvss(7.5, "3.1", HOSTILE),
            description=HOSTILE,
            url="javascript:alert(document.domain)",
            confidence="reported",
            reason=HOSTILE,
            exploits=(HOSTILE,),
            kev=KevEntry(
                "2021-11-03", "2021-11-17", HOSTILE, HOSTILE, HOSTILE, HOSTILE, "Unknown", ""
            ),
            epss=EpssScore(0.0004, 0.1),
            cwes=(HOSTILE,),
        ),
        replace(TRAVERSAL, confidence="conditional", reason=f"only if {CONDITION}"),
    ),
    note=HOSTILE,
    references=(HOSTILE,),
)


def _port(portid: int, service: Service, protocol: str = "tcp") -> Port:
    return Port(protocol, portid, "open", "syn-ack", service)


def build_report(spool: Spool) -> Report:
    """The fixture report, over ``spool``."""
    grouper = ServiceGrouper(spool)
    grouper.add_host(
        Host("192.0.2.10", hostnames=("web1.example.test",), reason="syn-ack", closed_ports=997),
        [
            (_port(80, APACHE), APACHE_VULNS),
            (_port(22, OPENSSH), UNCHECKED),
            (_port(3306, MYSQL), UNVERSIONED),
            (_port(8443, UBUNTU_NGINX), UBUNTU_VULNS),
        ],
    )
    grouper.add_host(
        Host("192.0.2.20", hostnames=(HOSTILE,), reason="syn-ack", filtered_ports=997),
        [
            (_port(8080, EVIL), EVIL_VULNS),
            (_port(443, NGINX), CLEAN),
            (_port(22, STRETCH_SSH), STRETCH_VULNS),
        ],
    )
    grouper.add_host(Host("192.0.2.30", status="down", reason="no-response"), [])
    grouper.add_host(
        Host("2001:db8::5", addrtype="ipv6", reason="syn-ack", timed_out=True),
        [
            (_port(80, APACHE), APACHE_VULNS),
            (_port(22, OPENSSH), UNCHECKED),
            (_port(161, ACME, "udp"), UNKNOWN),
        ],
    )
    run = ScanRun(
        args="nmap -sV -oX - 192.0.2.0/28 2001:db8::5",
        scanner_version="7.93",
        started="2024-05-01T10:00:00+00:00",
        finished="",
        hosts_up=3,
        hosts_down=1,
        incomplete=True,
        errors=("nmap stopped after 300 s: host timeout on 2001:db8::5",),
    )
    summary = ScanSummary(
        run=run,
        targets=("192.0.2.0/28", "2001:db8::5"),
        generated="2024-05-01T10:05:00+00:00",
        tool_version="0.1.0",
        inputs=("scan.xml",),
        warnings=("the vulnerability database is 45 days old: run brulee db update",),
        database="2,299 CVEs, NVD data to 2024-03-17; CISA KEV 2024.03.15; EPSS 2024-03-16; "
        "starter snapshot covering 44 products",
        database_date="2024-03-17T22:17:25+00:00",
    )
    return Report(scan=summary, services=grouper.groups(), spool=spool)


@pytest.fixture
def report() -> Iterator[Report]:
    """The sample report; its spool lives as long as the test."""
    with Spool() as spool:
        yield build_report(spool)


@pytest.fixture
def hostile() -> str:
    """The banner that must come out as literal text in every format."""
    return HOSTILE


def _check_golden(rendered: Path, name: str) -> None:
    golden = GOLDEN / name
    text = rendered.read_text(encoding="utf-8")
    if UPDATE_GOLDEN:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run with BRULEE_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended, "
        "rerun with BRULEE_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.fixture
def check_golden() -> Callable[[Path, str], None]:
    """``check_golden(path, name)``: compare with ``golden/<name>``.

    ``BRULEE_UPDATE_GOLDEN=1 pytest tests/report`` rewrites the golden files instead.
    """
    return _check_golden
