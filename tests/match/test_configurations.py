"""NVD applicability against real NVD records (tests/assets/nvd/CVE-*.json, see RECORDS.md).

Each row says which versions Nmap could report must match a CVE, with which confidence and
which criterion, and which must not (mostly the versions that fixed it).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from brulee.core.cpe import parse_cpe
from brulee.match.configurations import Applicability, CompiledConfigurations, Evidence, evaluate
from brulee.match.nmap_labels import packaged
from brulee.match.products import nvd_products, nvd_products_for_name
from brulee.match.versions import parse_nmap_version

NVD = Path(__file__).parent.parent / "assets" / "nvd"


@cache
def _record(cve: str) -> str:
    return (NVD / f"{cve}.json").read_text()


def configurations(cve: str) -> list[dict[str, Any]]:
    """A fresh copy of the record's configurations (tests may mutate it)."""
    record: dict[str, Any] = json.loads(_record(cve))
    return list(record.get("configurations", []))


def evidence(product: str, version: str, *platform: str, cpe: str = "") -> Evidence:
    products = nvd_products(cpe) if cpe else nvd_products_for_name(product)
    return Evidence(
        products, parse_nmap_version(product, version), tuple(parse_cpe(p) for p in platform)
    )


def check(cve: str, ev: Evidence) -> Applicability | None:
    compiled = CompiledConfigurations.compile(configurations(cve))
    result = compiled.evaluate(ev)
    assert evaluate(configurations(cve), ev) == result
    return result


# cve, Nmap product, Nmap version, expected criterion (in the reason) or None for no match
CERTAIN_OR_NOT: list[tuple[str, str, str, str | None]] = [
    # regreSSHion: < 4.4p1 and 8.5p1 <= v < 9.8p1; the update field carries the portable suffix
    ("CVE-2024-6387", "OpenSSH", "4.3p2", "openssh:*:*:*:*:*:*:*:* versionEndExcluding 4.4"),
    ("CVE-2024-6387", "OpenSSH", "4.4", "openssh:4.4:-:"),
    ("CVE-2024-6387", "OpenSSH", "4.4p1", None),
    ("CVE-2024-6387", "OpenSSH", "7.4p1 Debian 10+deb9u7", None),
    ("CVE-2024-6387", "OpenSSH", "8.5", None),
    ("CVE-2024-6387", "OpenSSH", "8.5p1", "openssh:8.5:p1:"),
    ("CVE-2024-6387", "OpenSSH", "8.6p1", "versionStartIncluding 8.6 versionEndExcluding 9.8"),
    ("CVE-2024-6387", "OpenSSH", "9.7p1", "versionStartIncluding 8.6 versionEndExcluding 9.8"),
    ("CVE-2024-6387", "OpenSSH", "9.8", "openssh:9.8:-:"),
    ("CVE-2024-6387", "OpenSSH", "9.8p1", None),
    ("CVE-2024-6387", "OpenSSH", "9.9p1", None),
    # 6.8p1 <= v <= 9.9p1
    ("CVE-2025-26465", "OpenSSH", "6.7p1", None),
    ("CVE-2025-26465", "OpenSSH", "6.8", None),
    ("CVE-2025-26465", "OpenSSH", "6.8p1", "openssh:6.8:p1:"),
    ("CVE-2025-26465", "OpenSSH", "9.8p1", "versionStartIncluding 6.9 versionEndIncluding 9.8"),
    ("CVE-2025-26465", "OpenSSH", "9.9", "openssh:9.9:-:"),
    ("CVE-2025-26465", "OpenSSH", "9.9p1", "openssh:9.9:p1:"),
    ("CVE-2025-26465", "OpenSSH", "9.9p2", None),
    # 9.5p1 <= v <= 9.9p1, enumerated
    ("CVE-2025-26466", "OpenSSH", "9.4p1", None),
    ("CVE-2025-26466", "OpenSSH", "9.5", None),
    ("CVE-2025-26466", "OpenSSH", "9.5p1", "openssh:9.5:p1:"),
    ("CVE-2025-26466", "OpenSSH", "9.9", "openssh:9.9:-:"),
    ("CVE-2025-26466", "OpenSSH", "9.9p2", None),
    # versionEndExcluding 9.3 plus 9.3:- and 9.3:p1 (fixed in 9.3p2)
    ("CVE-2023-38408", "OpenSSH", "7.4p1", "openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.3"),
    ("CVE-2023-38408", "OpenSSH", "9.2p1", "versionEndExcluding 9.3"),
    ("CVE-2023-38408", "OpenSSH", "9.3", "openssh:9.3:-:"),
    ("CVE-2023-38408", "OpenSSH", "9.3p1", "openssh:9.3:p1:"),
    ("CVE-2023-38408", "OpenSSH", "9.3p2", None),
    ("CVE-2023-38408", "OpenSSH", "9.4p1", None),
    # versionEndIncluding 7.3 holds for 7.3p1: bounds compare the CPE version field
    ("CVE-2016-10009", "OpenSSH", "7.3", "versionEndIncluding 7.3"),
    ("CVE-2016-10009", "OpenSSH", "7.3p1", "versionEndIncluding 7.3"),
    ("CVE-2016-10009", "OpenSSH", "7.4p1", None),
    ("CVE-2018-15473", "OpenSSH", "7.4p1 Debian 10+deb9u7", "versionEndIncluding 7.7"),
    ("CVE-2018-15473", "OpenSSH", "7.7p1", "versionEndIncluding 7.7"),
    ("CVE-2018-15473", "OpenSSH", "7.8p1", None),
    # converted 1.1 record: enumerated versions, some with the suffix in the version field
    ("CVE-2017-15906", "OpenSSH", "5.8p2", "openssh:5.8:*:"),
    ("CVE-2017-15906", "OpenSSH", "7.4p1", "openssh:7.4:*:"),
    ("CVE-2017-15906", "OpenSSH", "7.5p1", "openssh:7.5:*:"),
    ("CVE-2017-15906", "OpenSSH", "6.6.1p1", None),
    ("CVE-2017-15906", "OpenSSH", "7.6p1", None),
    # an enumerated version beside an "every version" entry: the version wins
    ("CVE-2004-0399", "Exim smtpd", "3.35", "exim:3.35:*:"),
    # a version captured from the banner: Samba 3.0.20 (Metasploitable's 445/tcp), SambaCry's
    # predecessor usermap_script
    ("CVE-2007-2447", "Samba smbd", "3.0.20-Debian", "samba:3.0.20:*:"),
    # range bound with a letter: ProFTPD <= 1.3.5b
    ("CVE-2019-12815", "ProFTPD", "1.3.3c", "versionEndIncluding 1.3.5b"),
    ("CVE-2019-12815", "ProFTPD", "1.3.5", "versionEndIncluding 1.3.5b"),
    ("CVE-2019-12815", "ProFTPD", "1.3.5a", "versionEndIncluding 1.3.5b"),
    ("CVE-2019-12815", "ProFTPD", "1.3.5b", "versionEndIncluding 1.3.5b"),
    ("CVE-2019-12815", "ProFTPD", "1.3.5e", None),
    ("CVE-2019-12815", "ProFTPD", "1.3.6", None),
    ("CVE-2010-4221", "ProFTPD", "1.3.2", "proftpd:1.3.2:*:"),
    ("CVE-2010-4221", "ProFTPD", "1.3.3b", "proftpd:1.3.3:"),
    ("CVE-2010-4221", "ProFTPD", "1.3.3rc2", "proftpd:1.3.3:"),
    ("CVE-2010-4221", "ProFTPD", "1.3.4", None),
    ("CVE-2015-3306", "ProFTPD", "1.3.5", "proftpd:1.3.5:*:"),
    ("CVE-2015-3306", "ProFTPD", "1.3.6", None),
    # vendor aliases: Nmap's vsftpd:vsftpd -> vsftpd_project and beasts
    ("CVE-2011-2523", "vsftpd", "2.3.4", "vsftpd_project:vsftpd:2.3.4:"),
    ("CVE-2011-2523", "vsftpd", "2.3.5", None),
    ("CVE-2011-2523", "vsftpd", "3.0.3", None),
    ("CVE-2015-1419", "vsftpd", "3.0.2", "beasts:vsftpd:*:"),
    ("CVE-2015-1419", "vsftpd", "3.0.3", None),
    # Apache path traversal
    ("CVE-2021-41773", "Apache httpd", "2.4.48", None),
    ("CVE-2021-41773", "Apache httpd", "2.4.49", "http_server:2.4.49:"),
    ("CVE-2021-41773", "Apache httpd", "2.4.50", None),
    ("CVE-2021-42013", "Apache httpd", "2.4.49", "http_server:2.4.49:"),
    ("CVE-2021-42013", "Apache httpd", "2.4.50", "http_server:2.4.50:"),
    ("CVE-2021-42013", "Apache httpd", "2.4.51", None),
    # nginx: Nmap's igor_sysoev:nginx -> f5:nginx and nginx:nginx
    ("CVE-2021-23017", "nginx", "0.6.17", None),
    ("CVE-2021-23017", "nginx", "0.6.18", "f5:nginx:*:"),
    ("CVE-2021-23017", "nginx", "1.20.0", "versionEndExcluding 1.20.1"),
    ("CVE-2021-23017", "nginx", "1.20.1", None),
    ("CVE-2018-16845", "nginx", "1.0.16", None),
    ("CVE-2018-16845", "nginx", "1.1.3", "versionStartIncluding 1.1.3"),
    ("CVE-2018-16845", "nginx", "1.15.5", "versionEndIncluding 1.15.5"),
    ("CVE-2018-16845", "nginx", "1.15.6", None),
    ("CVE-2017-7529", "nginx", "1.12.1", "nginx:nginx:*:"),
    ("CVE-2017-7529", "nginx", "1.12.2", None),
    ("CVE-2017-7529", "nginx", "1.13.3", None),
    # OpenSSL letter releases
    ("CVE-2014-0160", "OpenSSL", "1.0.0", None),
    ("CVE-2014-0160", "OpenSSL", "1.0.1", "versionStartIncluding 1.0.1 versionEndExcluding 1.0.1g"),
    ("CVE-2014-0160", "OpenSSL", "1.0.1f", "versionEndExcluding 1.0.1g"),
    ("CVE-2014-0160", "OpenSSL", "1.0.1g", None),
    ("CVE-2014-0160", "OpenSSL", "1.0.2k", None),
    # Exim, old vendor name university_of_cambridge included
    ("CVE-2010-4344", "Exim smtpd", "2.10", "versionEndIncluding 4.69 matches 2.10"),
    ("CVE-2010-4344", "Exim smtpd", "4.69", "versionEndIncluding 4.69"),
    ("CVE-2010-4344", "Exim smtpd", "4.70", None),
    ("CVE-2005-0022", "Exim smtpd", "4.40", "university_of_cambridge:exim:*:"),
    ("CVE-2005-0022", "Exim smtpd", "4.42", "university_of_cambridge:exim:4.42:"),
    ("CVE-2005-0022", "Exim smtpd", "4.43", None),
    ("CVE-2019-10149", "Exim smtpd", "4.86", None),
    ("CVE-2019-10149", "Exim smtpd", "4.87", "versionStartIncluding 4.87"),
    ("CVE-2019-10149", "Exim smtpd", "4.91", "versionEndIncluding 4.91"),
    ("CVE-2019-10149", "Exim smtpd", "4.92", None),
    # BIND: -P updates, fixed in 9.11.5-P4 and 9.12.3-P4
    ("CVE-2019-6465", "ISC BIND", "9.11.4", "versionEndIncluding 9.11.4"),
    ("CVE-2019-6465", "ISC BIND", "9.11.5", "bind:9.11.5:-:"),
    ("CVE-2019-6465", "ISC BIND", "9.11.5-P1", "bind:9.11.5:p1:"),
    ("CVE-2019-6465", "ISC BIND", "9.11.5-P4", None),
    ("CVE-2019-6465", "ISC BIND", "9.11.5-P4-5.1+deb10u5", None),
    ("CVE-2019-6465", "ISC BIND", "9.12.3-P1", "bind:9.12.3:p1:"),
    ("CVE-2019-6465", "ISC BIND", "9.12.3-P4", None),
    # Oracle MySQL: the data says versionEndIncluding 8.0.13 with no lower bound
    ("CVE-2019-2436", "MySQL", "5.7.33-0ubuntu0.18.04.1", "oracle:mysql:*:"),
    ("CVE-2019-2436", "MySQL", "8.0.13", "versionEndIncluding 8.0.13"),
    ("CVE-2019-2436", "MySQL", "8.0.14", None),
    ("CVE-2022-31621", "MariaDB", "10.3.31", "versionEndExcluding 10.3.32"),
    ("CVE-2022-31621", "MariaDB", "10.3.32", None),
    ("CVE-2022-31621", "MariaDB", "10.2.41", None),
    # Samba: an enumerated list that skips the fixed 4.6.4
    ("CVE-2017-7494", "Samba smbd", "3.5.0", "samba:3.5.0:"),
    ("CVE-2017-7494", "Samba smbd", "4.6.3", "samba:4.6.3:"),
    ("CVE-2017-7494", "Samba smbd", "4.6.4", None),
    ("CVE-2017-7494", "Samba smbd", "4.7.0", None),
    # no configurations yet (vulnStatus Received)
    ("CVE-2025-32728", "OpenSSH", "7.4p1", None),
]


@pytest.mark.parametrize(("cve", "product", "version", "criterion"), CERTAIN_OR_NOT)
def test_real_records(cve: str, product: str, version: str, criterion: str | None) -> None:
    result = check(cve, evidence(product, version))
    if criterion is None:
        assert result is None
        return
    assert result is not None
    assert result.confidence == "certain"
    assert result.unverified == ()
    assert criterion in result.reason
    assert result.reason.startswith("cpe:2.3:")


def test_reason_names_criterion_range_and_version() -> None:
    result = check("CVE-2023-38408", evidence("OpenSSH", "7.4p1 Debian 10+deb9u7"))
    assert result == Applicability(
        "certain",
        "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.3 matches 7.4p1",
    )


def test_mariadb_behind_the_mysql_protocol_is_matched_by_its_cpe() -> None:
    raw = "5.5.5-10.1.26-MariaDB-0+deb9u1"
    ev = evidence("MySQL", raw, cpe=f"cpe:/a:mariadb:mariadb:{raw.lower()}")
    result = check("CVE-2022-31621", ev)
    assert result is not None
    assert result.reason.endswith("versionEndExcluding 10.2.41 matches 10.1.26")


def test_proftpd_enumerated_release_covers_its_letter_updates() -> None:
    """``proftpd:1.3.3:*`` names 1.3.3 with ANY update, so 1.3.3c matches it by NVD's rules,
    although ProFTPD fixed CVE-2010-4221 in 1.3.3c: the record's data says so, and the reason
    shows the criterion to the reader."""
    result = check("CVE-2010-4221", evidence("ProFTPD", "1.3.3c"))
    assert result is not None
    assert result.reason == "cpe:2.3:a:proftpd:proftpd:1.3.3:*:*:*:*:*:*:* matches 1.3.3c"


# -- platform conditions ---------------------------------------------------------------------

RHEL = (
    "cpe:2.3:o:redhat:enterprise_linux:4.5.z:*:as:*:*:*:*:* or "
    "cpe:2.3:o:redhat:enterprise_linux:4.5.z:*:es:*:*:*:*:* or "
    "cpe:2.3:o:redhat:enterprise_linux:5.0:*:*:*:*:*:*:* or "
    "cpe:2.3:o:redhat:enterprise_linux_desktop:4:*:*:*:*:*:*:* or "
    "cpe:2.3:o:redhat:enterprise_linux_desktop:5:*:client:*:*:*:*:*"
)
RHEL_DESKTOP = RHEL.split(" or ", 3)[3]
"""Another release of ``enterprise_linux`` rules out its entries, not those of another product."""
BSDS = (
    "cpe:2.3:o:freebsd:freebsd:7.3:*:*:*:*:*:*:* or cpe:2.3:o:freebsd:freebsd:8.1:*:*:*:*:*:*:* "
    "or cpe:2.3:o:netbsd:netbsd:5.0.2:*:*:*:*:*:*:* or cpe:2.3:o:openbsd:openbsd:4.7:*:*:*:*:*:*:*"
)

PLATFORM: list[tuple[str, str, tuple[str, ...], str | None, tuple[str, ...]]] = [
    # CVE-2008-3844: AND(RHEL, vulnerable:false) with any OpenSSH
    ("CVE-2008-3844", "4.3p2", (), "conditional", (RHEL,)),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:linux:linux_kernel",), "conditional", (RHEL,)),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:redhat:enterprise_linux:5.0",), "certain", ()),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:redhat:enterprise_linux",), "conditional", (RHEL,)),
    (
        "CVE-2008-3844",
        "4.3p2",
        ("cpe:/o:redhat:enterprise_linux:7",),
        "conditional",
        (RHEL_DESKTOP,),
    ),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:debian:debian_linux",), None, ()),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:debian:debian_linux:12",), None, ()),
    ("CVE-2008-3844", "4.3p2", ("cpe:/o:microsoft:windows",), None, ()),
    ("CVE-2008-3844", "4.3p2", ("cpe:/a:openssl:openssl:1.0.2k",), "conditional", (RHEL,)),
    # CVE-2010-4755: AND(OpenSSH <= 5.8, one of four BSDs), the BSDs marked vulnerable; another
    # FreeBSD release rules out the FreeBSD entries and, being an OS, the other vendors' ones
    ("CVE-2010-4755", "5.3p1", (), "conditional", (BSDS,)),
    ("CVE-2010-4755", "5.3p1", ("cpe:/o:freebsd:freebsd:8.1",), "certain", ()),
    ("CVE-2010-4755", "5.3p1", ("cpe:/o:freebsd:freebsd:9.0",), None, ()),
    ("CVE-2010-4755", "5.3p1", ("cpe:/o:microsoft:windows",), None, ()),
    # Linux is no BSD (os families: linux_kernel contradicts other families' OSes only)
    ("CVE-2010-4755", "5.3p1", ("cpe:/o:linux:linux_kernel",), None, ()),
    ("CVE-2010-4755", "5.9p1", ("cpe:/o:freebsd:freebsd:8.1",), None, ()),
    # configurations where the OS itself is the vulnerable component do not touch OpenSSH
    ("CVE-2018-15473", "7.8p1", ("cpe:/o:debian:debian_linux:9.0",), None, ()),
    ("CVE-2018-15473", "7.4p1", ("cpe:/o:debian:debian_linux:9.0",), "certain", ()),
]


@pytest.mark.parametrize(("cve", "version", "platform", "confidence", "unverified"), PLATFORM)
def test_platform_conditions(
    cve: str,
    version: str,
    platform: tuple[str, ...],
    confidence: str | None,
    unverified: tuple[str, ...],
) -> None:
    result = check(cve, evidence("OpenSSH", version, *platform))
    if confidence is None:
        assert result is None
        return
    assert result is not None
    assert (result.confidence, result.unverified) == (confidence, unverified)
    assert "openbsd:openssh" in result.reason


def test_certain_configuration_wins_over_conditional() -> None:
    merged = configurations("CVE-2010-4755") + configurations("CVE-2016-10009")
    result = evaluate(merged, evidence("OpenSSH", "5.3p1"))
    assert result is not None
    assert result.confidence == "certain"
    assert "versionEndIncluding 7.3" in result.reason


def test_negated_platform_node() -> None:
    """CVE-2008-3844's platform node negated: any OpenSSH *not* on those RHEL releases."""
    negated = configurations("CVE-2008-3844")
    negated[0]["nodes"][0]["negate"] = True
    assert (
        evaluate(negated, evidence("OpenSSH", "4.3p2", "cpe:/o:redhat:enterprise_linux:5.0"))
        is None
    )
    on_debian = evaluate(negated, evidence("OpenSSH", "4.3p2", "cpe:/o:debian:debian_linux"))
    assert on_debian is not None
    assert on_debian.confidence == "certain"
    unknown = evaluate(negated, evidence("OpenSSH", "4.3p2"))
    assert unknown is not None
    assert unknown.unverified == (f"not ({RHEL})",)


def test_negated_configuration_never_matches() -> None:
    negated = configurations("CVE-2016-10009")
    negated[0]["negate"] = True
    assert evaluate(negated, evidence("OpenSSH", "7.3p1")) is None


def test_service_attribute_restriction_is_conditional() -> None:
    """BIND ``9.11.5:s3`` of the ``supported_preview`` edition: Nmap cannot see the edition."""
    result = check("CVE-2019-6465", evidence("ISC BIND", "9.11.5-S3"))
    assert result is not None
    assert result.confidence == "conditional"
    assert result.reason.endswith("supported_preview:*:*:* may match 9.11.5s3")
    assert result.unverified == (
        "sw_edition supported_preview (required by "
        "cpe:2.3:a:isc:bind:9.11.5:s3:*:*:supported_preview:*:*:*; not detected by the scan)",
    )


# -- NVD entries naming every version, with no bounds ---------------------------------------

UNBOUNDED: list[tuple[str, str, str, str]] = [
    # "OpenSSH, when using OPIE": every OpenSSH, no version
    ("CVE-2007-2768", "OpenSSH", "9.9p1", "openbsd:openssh:*:*:"),
    ("CVE-2007-2768", "OpenSSH", "", "openbsd:openssh:*:*:"),
    ("CVE-2007-2768", "OpenSSH", "9.0 or later", "openbsd:openssh:*:*:"),
    # "Exim 3.35, and other versions before 4": exim:* beside exim:3.35
    ("CVE-2004-0399", "Exim smtpd", "4.96", "university_of_cambridge:exim:*:*:"),
    # mod_auth_shadow, filed under every Apache HTTP Server
    ("CVE-2010-1151", "Apache httpd", "2.4.71", "apache:apache_http_server:*:*:"),
]


@pytest.mark.parametrize(("cve", "product", "version", "criterion"), UNBOUNDED)
def test_every_version_entries_are_unbounded(
    cve: str, product: str, version: str, criterion: str
) -> None:
    result = check(cve, evidence(product, version))
    assert result is not None
    assert result.confidence == "unbounded"
    assert criterion in result.reason
    assert "with no version bound" in result.reason


def test_versioned_configuration_wins_over_unbounded_one() -> None:
    """An unbounded configuration first, a certain versioned one second: the second decides."""
    cfgs = configurations("CVE-2004-0399")
    versioned = copy.deepcopy(cfgs[0])
    versioned["nodes"][0]["cpeMatch"] = [
        {**versioned["nodes"][0]["cpeMatch"][0], "versionEndExcluding": "4.97"}
    ]
    result = CompiledConfigurations.compile([*cfgs, versioned]).evaluate(
        evidence("Exim smtpd", "4.96")
    )
    assert result is not None
    assert result.confidence == "certain"
    assert "versionEndExcluding 4.97 matches 4.96" in result.reason


# -- Nmap version ranges and missing versions ------------------------------------------------

RANGES: list[tuple[str, str, str, str | None]] = [
    ("CVE-2024-6387", "OpenSSH", "8.6 - 9.7p1", "certain"),
    ("CVE-2024-6387", "OpenSSH", "9.6 - 9.9", "version-range"),
    ("CVE-2024-6387", "OpenSSH", "9.0 or later", "version-range"),
    ("CVE-2024-6387", "OpenSSH", "7.0 - 8.4", None),
    ("CVE-2024-6387", "OpenSSH", "9.8.1 - 9.9", None),
    ("CVE-2017-7494", "Samba smbd", "3.X - 4.X", "version-range"),
    ("CVE-2017-7494", "Samba smbd", "4.6.3 - 4.6.3", "certain"),
    ("CVE-2017-7494", "Samba smbd", "4.6.0 - 4.6.3", "version-range"),
    ("CVE-2017-7494", "Samba smbd", "4.7.0 - 4.8.0", None),
    ("CVE-2019-12815", "ProFTPD", "1.3.0 - 1.3.4", "certain"),
    ("CVE-2019-12815", "ProFTPD", "1.3.5 - 1.3.6", "version-range"),
]


@pytest.mark.parametrize(("cve", "product", "version", "confidence"), RANGES)
def test_nmap_version_ranges(cve: str, product: str, version: str, confidence: str | None) -> None:
    result = check(cve, evidence(product, version))
    if confidence is None:
        assert result is None
        return
    assert result is not None
    assert result.confidence == confidence
    if confidence == "version-range":
        assert result.unverified == ()
        assert "may match" in result.reason
        assert result.reason.endswith(
            f"; Nmap reports a range, {version}, so the running version is unknown, and the "
            "CVE applies to only part of that range"
        )


@pytest.mark.parametrize(
    "cve", ["CVE-2024-6387", "CVE-2023-38408", "CVE-2016-10009", "CVE-2017-15906", "CVE-2010-4755"]
)
def test_service_without_version_never_matches_bounded_criteria(cve: str) -> None:
    assert check(cve, evidence("OpenSSH", "")) is None


def test_other_products_never_match() -> None:
    for cve in ("CVE-2024-6387", "CVE-2021-41773", "CVE-2007-2768", "CVE-2008-3844"):
        assert check(cve, evidence("nginx", "1.0.0")) is None
        assert check(cve, evidence("Unknown thing", "1.0.0")) is None


def test_platform_entries_are_never_the_vulnerable_component() -> None:
    """In CVE-2008-3844 RHEL is ``vulnerable: false``: an RHEL service CPE matches nothing."""
    ev = evidence("", "5.0", cpe="cpe:/o:redhat:enterprise_linux:5.0")
    assert check("CVE-2008-3844", ev) is None


# -- compiled form ---------------------------------------------------------------------------


def test_products_are_the_vulnerable_components() -> None:
    assert ("openbsd", "openssh") in CompiledConfigurations.compile(
        configurations("CVE-2008-3844")
    ).products
    rhel = CompiledConfigurations.compile(configurations("CVE-2008-3844")).products
    assert ("redhat", "enterprise_linux") not in rhel
    assert CompiledConfigurations.compile(configurations("CVE-2025-32728")).products == set()


def test_evidence_is_a_cache_key() -> None:
    one, two = evidence("OpenSSH", "7.4p1"), evidence("OpenSSH", "7.4p1")
    assert one == two
    assert hash(one) == hash(two)
    assert one != evidence("OpenSSH", "7.5p1")


# -- malformed data: never raise, never widen ------------------------------------------------


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "configurations",
        42,
        {"nodes": []},
        [None],
        [42],
        [{"nodes": "x"}],
        [{}],
        [{"nodes": [None, 1, "x"]}],
        [{"nodes": [{"cpeMatch": None}]}],
        [{"nodes": [{"cpeMatch": [None, 1, {}]}]}],
    ],
)
def test_junk_configurations(junk: Any) -> None:
    assert evaluate(junk, evidence("OpenSSH", "7.4p1")) is None


def _entry(cfgs: list[dict[str, Any]], index: int) -> dict[str, Any]:
    entry: dict[str, Any] = cfgs[0]["nodes"][0]["cpeMatch"][index]
    return entry


BREAKAGES: list[tuple[str, Any]] = [
    ("criteria", None),
    ("criteria", 7),
    ("criteria", "cpe:2.3:a:openbsd:openssh"),
    ("criteria", "not a cpe"),
    ("criteria", "cpe:2.3:a:*:*:*:*:*:*:*:*:*:*"),
    ("vulnerable", None),
    ("vulnerable", "true"),
    ("versionEndExcluding", 4.4),
    ("versionEndExcluding", ""),
    ("versionEndIncluding", "4.3"),
]


@pytest.mark.parametrize(("key", "value"), BREAKAGES)
def test_bad_entry_in_an_or_node_is_skipped(key: str, value: Any) -> None:
    """CVE-2024-6387's first entry (``versionEndExcluding 4.4``) broken: the rest still works."""
    cfgs = configurations("CVE-2024-6387")
    entry = _entry(cfgs, 0)
    if value is None:
        del entry[key]
    else:
        entry[key] = value
    assert evaluate(cfgs, evidence("OpenSSH", "4.3p2")) is None
    result = evaluate(cfgs, evidence("OpenSSH", "8.5p1"))
    assert result is not None
    assert result.confidence == "certain"


def test_bad_entry_in_an_and_node_makes_it_unsatisfiable() -> None:
    cfgs = configurations("CVE-2025-26466")
    cfgs[0]["nodes"][0]["operator"] = "AND"
    cfgs[0]["nodes"][0]["cpeMatch"] = [copy.deepcopy(_entry(cfgs, 0)) for _ in range(2)]
    assert evaluate(cfgs, evidence("OpenSSH", "9.5p1")) is not None
    _entry(cfgs, 1)["criteria"] = "garbage"
    assert evaluate(cfgs, evidence("OpenSSH", "9.5p1")) is None


def test_bad_platform_node_in_an_and_configuration_is_no_match() -> None:
    """Dropping CVE-2008-3844's broken RHEL node would turn a condition into a certainty."""
    cfgs = configurations("CVE-2008-3844")
    del cfgs[0]["nodes"][0]["cpeMatch"]
    assert evaluate(cfgs, evidence("OpenSSH", "4.3p2")) is None


def test_bad_configuration_is_skipped_others_still_match() -> None:
    cfgs: list[dict[str, Any]] = [
        {"nodes": "broken"},
        {"operator": "XOR", "nodes": []},
        *configurations("CVE-2016-10009"),
    ]
    result = evaluate(cfgs, evidence("OpenSSH", "7.3p1"))
    assert result is not None
    assert result.confidence == "certain"


def test_unknown_operator_is_malformed() -> None:
    cfgs = configurations("CVE-2016-10009")
    cfgs[0]["nodes"][0]["operator"] = "XOR"
    assert evaluate(cfgs, evidence("OpenSSH", "7.3p1")) is None
    cfgs[0]["nodes"][0].pop("operator")
    assert evaluate(cfgs, evidence("OpenSSH", "7.3p1")) is not None


# -- Nmap's literal version labels (brulee.match.nmap_labels) --------------------------------


def test_sambacry_on_nmaps_samba_label_is_a_version_range() -> None:
    """``Samba smbd 4.6.2`` is the label of every Samba from 4.6.2 on (Samba 4.17 included):
    SambaCry (fixed in 4.6.4) covers only part of that."""
    reading = packaged().reading("Samba smbd", "4.6.2")
    result = check("CVE-2017-7494", Evidence(nvd_products_for_name("Samba smbd"), reading))
    assert result is not None
    assert result.confidence == "version-range"
    assert result.unverified == ()
    assert result.reason.endswith(
        "may match 4.6.2; Nmap's fingerprint says 4.6.2 for every Samba smbd from 4.6.2 on, so "
        "the running version is unknown, and the CVE applies to only part of that range"
    )


def test_a_cve_covering_the_whole_label_range_stays_certain() -> None:
    """SambaCry's record with its entries replaced by one from 3.5.0 on, without an end: it
    applies to every Samba from 4.6.2 on, the whole label range."""
    cfgs = configurations("CVE-2017-7494")
    cfgs[0]["nodes"][0]["cpeMatch"] = [
        {
            "vulnerable": True,
            "criteria": "cpe:2.3:a:samba:samba:*:*:*:*:*:*:*:*",
            "versionStartIncluding": "3.5.0",
        }
    ]
    reading = packaged().reading("Samba smbd", "4.6.2")
    result = CompiledConfigurations.compile(cfgs).evaluate(
        Evidence(nvd_products_for_name("Samba smbd"), reading)
    )
    assert result is not None
    assert result.confidence == "certain"


def test_a_captured_samba_version_stays_certain() -> None:
    reading = packaged().reading("Samba smbd", "3.0.20-Debian", "workgroup: WORKGROUP")
    result = check("CVE-2007-2447", Evidence(nvd_products_for_name("Samba smbd"), reading))
    assert result is not None
    assert result.confidence == "certain"
    assert "samba:3.0.20:" in result.reason


@pytest.mark.parametrize(
    ("platform", "confidence"),
    [((), "conditional"), (("cpe:/o:microsoft:windows",), "certain"),
     (("cpe:/o:linux:linux_kernel",), None), (("cpe:/o:debian:debian_linux:12",), None)],
)  # fmt: skip
def test_a_windows_installer_cve_on_a_linux_host_is_dropped(
    platform: tuple[str, ...], confidence: str | None
) -> None:
    """CVE-2019-10211, PostgreSQL's Windows installer: AND(PostgreSQL < 11.5, Windows)."""
    result = check("CVE-2019-10211", evidence("PostgreSQL DB", "11.4", *platform))
    assert (result.confidence if result else None) == confidence


def test_contradicted_conditions_are_named_with_what_contradicts_them() -> None:
    linux = Evidence(
        nvd_products_for_name("PostgreSQL DB"),
        parse_nmap_version("PostgreSQL DB", "11.4"),
        (parse_cpe("cpe:/o:linux:linux_kernel"),),
        ('ostype "Linux"',),
    )
    compiled = CompiledConfigurations.compile(configurations("CVE-2019-10211"))
    assert compiled.contradicted(linux) == (
        "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*, which the scan contradicts: it shows "
        'cpe:/o:linux:linux_kernel (ostype "Linux")',
    )
    # a version the CVE does not cover is why it does not apply, not the platform
    fixed = Evidence(linux.products, parse_nmap_version("PostgreSQL DB", "11.5"), linux.platform)
    assert compiled.contradicted(fixed) == ()
