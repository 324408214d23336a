"""NVD's legacy encodings read as the CVEs' descriptions say, on real NVD records
(tests/assets/nvd, see RECORDS.md): each row is a version Nmap could report, and whether the CVE
applies to it, by which rule (None: read literally), or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brulee.match.configurations import Applicability, CompiledConfigurations, Evidence
from brulee.match.legacy import BRANCH_START, LETTER_RELEASE, RULES, UPDATE_IN_RANGE
from brulee.match.products import nvd_products_for_name
from brulee.match.versions import parse_nmap_version

NVD = Path(__file__).parent.parent / "assets" / "nvd"
NO = "no"
"""The CVE must not apply."""
LITERAL = None
"""It applies by NVD's literal reading, and the reason names no rule."""


def check(cve: str, product: str, version: str) -> Applicability | None:
    record = json.loads((NVD / f"{cve}.json").read_text())
    evidence = Evidence(nvd_products_for_name(product), parse_nmap_version(product, version))
    return CompiledConfigurations.compile(record["configurations"]).evaluate(evidence)


CASES: list[tuple[str, str, str, str | None]] = [
    # "OpenSSH through 7.2p2": openssh *:p2 versionEndIncluding 7.2
    ("CVE-2015-8325", "OpenSSH", "5.3", UPDATE_IN_RANGE),
    ("CVE-2015-8325", "OpenSSH", "6.6.1p1 Ubuntu 2ubuntu2.13", UPDATE_IN_RANGE),
    ("CVE-2015-8325", "OpenSSH", "7.2p1", UPDATE_IN_RANGE),
    ("CVE-2015-8325", "OpenSSH", "7.2p2", UPDATE_IN_RANGE),
    ("CVE-2015-8325", "OpenSSH", "7.3", NO),
    ("CVE-2015-8325", "OpenSSH", "7.3p1", NO),
    # "OpenSSH before 7.2p2": openssh *:p1 versionEndIncluding 7.2
    ("CVE-2016-3115", "OpenSSH", "5.3", UPDATE_IN_RANGE),
    ("CVE-2016-3115", "OpenSSH", "6.6.1p1", UPDATE_IN_RANGE),
    ("CVE-2016-3115", "OpenSSH", "7.2p1", UPDATE_IN_RANGE),
    ("CVE-2016-3115", "OpenSSH", "7.2p2", NO),
    ("CVE-2016-3115", "OpenSSH", "7.3p1", NO),
    # "OpenSSH before 7.3": openssh *:p2 versionEndIncluding 7.2
    ("CVE-2016-6515", "OpenSSH", "5.3", UPDATE_IN_RANGE),
    ("CVE-2016-6515", "OpenSSH", "6.6.1p1", UPDATE_IN_RANGE),
    ("CVE-2016-6515", "OpenSSH", "7.2p1", UPDATE_IN_RANGE),
    ("CVE-2016-6515", "OpenSSH", "7.2p2", UPDATE_IN_RANGE),
    ("CVE-2016-6515", "OpenSSH", "7.3p1", NO),
    # "ISC BIND before 9.7.2-P2": bind *:p2 versionEndIncluding 9.7.2
    ("CVE-2010-3762", "ISC BIND", "9.4.2", UPDATE_IN_RANGE),
    ("CVE-2010-3762", "ISC BIND", "9.7.2-P2", UPDATE_IN_RANGE),
    ("CVE-2010-3762", "ISC BIND", "9.7.2-P3", NO),
    ("CVE-2010-3762", "ISC BIND", "9.7.3", NO),
    # "9.x before 9.9.7-P2 and 9.10.x before 9.10.2-P3": *:p1 <= 9.9.7, *:p2 <= 9.10.2
    ("CVE-2015-5477", "ISC BIND", "9.4.2", UPDATE_IN_RANGE),
    ("CVE-2015-5477", "ISC BIND", "9.9.7-P1", UPDATE_IN_RANGE),
    ("CVE-2015-5477", "ISC BIND", "9.9.7-P2", NO),
    ("CVE-2015-5477", "ISC BIND", "9.9.8", NO),
    ("CVE-2015-5477", "ISC BIND", "9.9.8-P2", NO),  # NVD's literal p2 entry matched this
    ("CVE-2015-5477", "ISC BIND", "9.10.0", BRANCH_START),
    ("CVE-2015-5477", "ISC BIND", "9.10.2-P2", BRANCH_START),
    ("CVE-2015-5477", "ISC BIND", "9.10.2-P3", NO),
    ("CVE-2015-5477", "ISC BIND", "9.10.3", NO),
    # "9.x before 9.9.7-P3 and 9.10.x before 9.10.2-P4": *:p2 <= 9.9.7, *:p3 <= 9.10.2
    ("CVE-2015-5722", "ISC BIND", "9.4.2", UPDATE_IN_RANGE),
    ("CVE-2015-5722", "ISC BIND", "9.9.7-P2", UPDATE_IN_RANGE),
    ("CVE-2015-5722", "ISC BIND", "9.9.7-P3", NO),
    ("CVE-2015-5722", "ISC BIND", "9.9.8-P3", NO),
    ("CVE-2015-5722", "ISC BIND", "9.10.2-P3", BRANCH_START),
    ("CVE-2015-5722", "ISC BIND", "9.10.2-P4", NO),
    # "9.9.7 before 9.9.7-P3 and 9.10.x before 9.10.2-P4", same entries as CVE-2015-5722: the
    # lowest entry has no lower bound in NVD's data, so 9.4.2 is reported as it says
    ("CVE-2015-5986", "ISC BIND", "9.4.2", UPDATE_IN_RANGE),
    ("CVE-2015-5986", "ISC BIND", "9.9.7-P2", UPDATE_IN_RANGE),
    ("CVE-2015-5986", "ISC BIND", "9.9.7-P3", NO),
    ("CVE-2015-5986", "ISC BIND", "9.10.2-P3", BRANCH_START),
    ("CVE-2015-5986", "ISC BIND", "9.10.2-P4", NO),
    # "ProFTPD before 1.3.5b and 1.3.6 before 1.3.6rc2": proftpd *:a <= 1.3.5, 1.3.6:rc1
    ("CVE-2016-3125", "ProFTPD", "1.3.3c", UPDATE_IN_RANGE),
    ("CVE-2016-3125", "ProFTPD", "1.3.5", UPDATE_IN_RANGE),
    ("CVE-2016-3125", "ProFTPD", "1.3.5a", UPDATE_IN_RANGE),
    ("CVE-2016-3125", "ProFTPD", "1.3.5b", NO),
    ("CVE-2016-3125", "ProFTPD", "1.3.6rc1", LITERAL),
    ("CVE-2016-3125", "ProFTPD", "1.3.6", NO),
    # "ProFTPD before 1.3.5e and 1.3.6 before 1.3.6rc5": proftpd *:d <= 1.3.5, 1.3.6:*
    ("CVE-2017-7418", "ProFTPD", "1.3.3c", UPDATE_IN_RANGE),
    ("CVE-2017-7418", "ProFTPD", "1.3.5", UPDATE_IN_RANGE),
    ("CVE-2017-7418", "ProFTPD", "1.3.5b", UPDATE_IN_RANGE),
    ("CVE-2017-7418", "ProFTPD", "1.3.5d", UPDATE_IN_RANGE),
    ("CVE-2017-7418", "ProFTPD", "1.3.5e", NO),
    ("CVE-2017-7418", "ProFTPD", "1.3.6", LITERAL),
    # Gentoo's packaging revision: "dev-db/mysql packages before 5.6.36-r1", mysql *:r1 < 5.6.36
    ("CVE-2017-15945", "MySQL", "5.5.60", NO),
    ("CVE-2017-15945", "MySQL", "5.6.35", NO),
    # MySQL lists by base versions: 5.0.51a (Metasploitable 2) lies in the span they list
    ("CVE-2008-3963", "MySQL", "5.0.51a-3ubuntu5", LETTER_RELEASE),  # "5.0 before 5.0.66"
    ("CVE-2008-3963", "MySQL", "5.0.51", LITERAL),
    ("CVE-2008-3963", "MySQL", "5.0.66", NO),
    ("CVE-2009-5026", "MySQL", "5.0.51a", LETTER_RELEASE),  # "5.0.x before 5.0.93"
    ("CVE-2010-1848", "MySQL", "5.0.51a", LETTER_RELEASE),  # "5.0 through 5.0.91"
    ("CVE-2010-1848", "MySQL", "5.0.92", NO),
    ("CVE-2012-0075", "MySQL", "5.0.51a", LETTER_RELEASE),  # "5.0.x, 5.1.x, and 5.5.x"
    ("CVE-2009-4028", "MySQL", "5.0.51a", LITERAL),  # its range (<= 5.0.87) covers it as is
    # NVD lists these letter by letter, or nothing later on the branch: literal
    ("CVE-2017-3731", "OpenSSL", "1.0.2j", LITERAL),  # 1.0.2 to 1.0.2j, "before 1.0.2k"
    ("CVE-2017-3731", "OpenSSL", "1.0.2k", NO),
    ("CVE-2015-0291", "OpenSSL", "1.0.2", LITERAL),  # 1.0.2 only, "before 1.0.2a"
    ("CVE-2015-0291", "OpenSSL", "1.0.2a", NO),
    ("CVE-2015-0291", "OpenSSL", "1.0.2k", NO),
    ("CVE-2012-5611", "MariaDB", "5.5.28a", NO),  # "MariaDB 5.5.2.x before 5.5.28a"
]


@pytest.mark.parametrize(("cve", "product", "version", "rule"), CASES)
def test_legacy_encodings(cve: str, product: str, version: str, rule: str | None) -> None:
    result = check(cve, product, version)
    if rule == NO:
        assert result is None
        return
    assert result is not None
    assert result.confidence == "certain"
    rules = result.reason.partition(" (rule ")[2].partition(":")[0].split(", ")
    assert rules == ([""] if rule is LITERAL else [*rules[:-1], rule])


def test_reason_says_how_the_range_was_read() -> None:
    result = check("CVE-2015-8325", "OpenSSH", "5.3")
    assert result is not None
    assert result.reason == (
        "cpe:2.3:a:openbsd:openssh:*:p2:*:*:*:*:*:* versionEndIncluding 7.2 matches 5.3 "
        "(rule update-in-range: read as versionEndIncluding 7.2p2)"
    )
    branch = check("CVE-2015-5477", "ISC BIND", "9.10.1")
    assert branch is not None
    assert branch.reason.endswith(
        "(rule update-in-range, branch-start: read as versionStartIncluding 9.10 "
        "versionEndIncluding 9.10.2p2)"
    )


def test_reason_names_the_letter_release() -> None:
    result = check("CVE-2008-3963", "MySQL", "5.0.51a")
    assert result is not None
    assert result.reason == (
        "cpe:2.3:a:oracle:mysql:5.0.51:*:*:*:*:*:*:* matches 5.0.51a (rule letter-release: "
        "5.0.51a is a letter release of 5.0.51, inside the span the CVE lists)"
    )


def test_every_rule_is_documented_with_a_real_cve() -> None:
    assert set(RULES) == {UPDATE_IN_RANGE, BRANCH_START, LETTER_RELEASE}
    for text in RULES.values():
        assert "CVE-" in text
