"""DefectDojo's Generic Findings Import: valid against a schema written from DefectDojo's parser,
one finding per vulnerability per service with its endpoints, suppressions risk-accepted, CVEs
the distribution fixed left out, and hostile text escaped for DefectDojo's Markdown."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.findings import Location
from brulee.core.report import Report
from brulee.history.suppressions import Suppressions, parse_suppression
from brulee.match.sources import open_matching
from brulee.pipeline import render_reports
from brulee.report.defectdojo import DefectDojoRenderer, endpoint
from brulee.report.interface import extension_of, renderer_for
from tests.conftest import ASSETS, NMAP_XML

from .conftest import HOSTILE

SCHEMA = json.loads((ASSETS / "defectdojo" / "generic-findings-import.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def render(report: Report, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "report.defectdojo.json"
    DefectDojoRenderer().render(report, path)
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    VALIDATOR.validate(data)
    return data


def findings(data: dict[str, Any], title: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["title"].startswith(title)]


def suppressed(report: Report) -> Report:
    """The report with CVE-2021-41773 suppressed everywhere and CVE-2021-44790 on one host."""
    entries = Suppressions.from_entries([
        parse_suppression({"cve": "CVE-2021-41773", "reason": "WAF rule 942100 blocks it",
                           "author": "secops@example.com", "product": "Apache httpd"},
                          origin="suppressions.yaml:1"),
        parse_suppression({"cve": "CVE-2021-44790", "reason": "mod_lua is not loaded",
                           "author": "ops", "host": "2001:db8::5"}, origin="suppressions.yaml:5"),
    ])  # fmt: skip
    applied = entries.apply(report.services, report.locations, datetime(2026, 1, 1, tzinfo=UTC))
    return replace(report, services=applied.groups, suppressed=applied)


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    bad = {"findings": [{"title": "t", "severity": "High", "description": "d", "cvss": 9.8}]}
    assert not VALIDATOR.is_valid(bad)  # the parser refuses fields it does not know


def test_one_finding_per_vulnerability_per_service_with_its_endpoints(
    report: Report, tmp_path: Path
) -> None:
    data = render(report, tmp_path)
    assert (data["name"], data["type"], data["version"]) == ("brulee", "brulee Scan", "0.1.0")
    assert data["dynamic_tool"] is True and "INCOMPLETE scan" in data["description"]
    expected = Counter(v.id for g in report.services for v in g.vulnerabilities)
    found = Counter(f["vuln_id_from_tool"] for f in data["findings"] if "vuln_id_from_tool" in f)
    assert found == expected
    ids = [f["unique_id_from_tool"] for f in data["findings"]]
    assert len(ids) == len(set(ids))
    (tmp_path / "again").mkdir()
    assert render(report, tmp_path / "again")["findings"] == data["findings"]  # stable
    (traversal,) = findings(data, "CVE-2021-41773 in Apache httpd 2.4.49")
    assert traversal["endpoints"] == [
        {"host": "192.0.2.10", "port": 80, "protocol": "tcp"},
        {"host": "2001:db8::5", "port": 80, "protocol": "tcp"},
    ]
    assert traversal["vulnerability_ids"] == ["CVE-2021-41773"] and "cve" not in traversal
    assert (traversal["severity"], traversal["cvssv3_score"]) == ("High", 7.5)
    assert traversal["cvssv3"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert (traversal["cwe"], traversal["cwes"]) == (22, [22])
    assert (traversal["epss_score"], traversal["epss_percentile"]) == (0.94432, 0.99917)
    assert traversal["known_exploited"] is True and traversal["ransomware_used"] is True
    assert traversal["kev_date"] == "2021-11-03" and traversal["publish_date"] == "2021-10-05"
    assert traversal["date"] == "2024-05-01"
    assert traversal["dynamic_finding"] is True and traversal["static_finding"] is False
    assert traversal["active"] is True and traversal["risk_accepted"] is False
    assert traversal["scanner_confidence"] == 1 and "certain" in traversal["tags"]
    assert (
        "**Confidence:** certain \u2014 cpe:2.3:a:apache:http_server:2.4.49"
        in (traversal["description"])
    )
    assert "epss" not in traversal["description"].lower()  # per-scan figures stay out of it


def test_cvss_confidence_and_remediation(report: Report, tmp_path: Path) -> None:
    data = render(report, tmp_path)
    (unscored,) = findings(data, "CVE-2024-40898")
    assert unscored["severity"] == "Info" and "Unscored" in unscored["severity_justification"]
    assert "cvssv3_score" not in unscored and unscored["scanner_confidence"] == 7
    (conditional,) = findings(data, "CVE-2021-33193 in Apache httpd")
    # Conditional is possible, not established: Tentative (6), tagged so.
    assert conditional["scanner_confidence"] == 6 and "cvssv3" not in conditional  # no vector
    assert (
        "possible" in conditional["tags"]
        and "possible" not in findings(data, "CVE-2021-41773 in Apache httpd")[0]["tags"]
    )
    assert conditional["cvssv3_score"] == 5.3
    (scp,) = findings(data, "CVE-2019-6111")
    assert scp["fix_available"] is True
    assert scp["mitigation"].startswith("upgrade the Debian stretch package to 1:7.4p1")
    (agent,) = findings(data, "CVE-2023-38408")
    assert "fix_available" not in agent and "unverified-backport" in agent["tags"]
    (noted,) = findings(data, "CVE-2020-15778")
    assert noted["under_review"] is True
    assert "VEX under_investigation by secops@example.com" in noted["description"]


def test_fixed_by_distribution_is_left_out_and_listed(report: Report, tmp_path: Path) -> None:
    data = render(report, tmp_path)
    assert not findings(data, "CVE-2018-15473")
    stretch = [f for f in data["findings"] if "OpenSSH 7.4p1 Debian" in f["title"]]
    assert stretch and all(
        "Fixed by the distribution on this service, not imported:** CVE-2018-15473 "
        "(DSA-4280-1" in f["description"]
        for f in stretch
    )


def test_services_not_checked_are_info_findings(report: Report, tmp_path: Path) -> None:
    data = render(report, tmp_path)
    titles = {f["title"] for f in data["findings"] if f["title"].startswith("Not checked")}
    assert titles == {
        "Not checked: OpenSSH 8.9p1 (unchecked)", "Not checked: MySQL (unversioned)",
        "Not checked: Acme SNMP agent 3.1 (unknown)",
    }  # fmt: skip
    (mysql,) = findings(data, "Not checked: MySQL")
    assert mysql["severity"] == "Info" and "not known to be safe" in mysql["description"]
    assert mysql["endpoints"] == [{"host": "192.0.2.10", "port": 3306, "protocol": "tcp"}]
    assert not findings(data, "Not checked: nginx 1.25.3")  # clean is not a finding


def test_suppressed_findings_are_risk_accepted_with_their_reason(
    report: Report, tmp_path: Path
) -> None:
    data = render(suppressed(report), tmp_path)
    (accepted,) = findings(data, "CVE-2021-41773 in Apache httpd")
    assert accepted["risk_accepted"] is True and accepted["active"] is False
    assert "suppressed" in accepted["tags"]
    assert "WAF rule 942100 blocks it (suppressions.yaml:1" in accepted["description"]
    assert len(accepted["endpoints"]) == 2
    # Suppressed on one of its two hosts: open on one, accepted on the other.
    mod_lua = findings(data, "CVE-2021-44790 in Apache httpd")
    by_state = {f["risk_accepted"]: f for f in mod_lua}
    assert [e["host"] for e in by_state[False]["endpoints"]] == ["192.0.2.10"]
    assert [e["host"] for e in by_state[True]["endpoints"]] == ["2001:db8::5"]
    assert by_state[True]["unique_id_from_tool"] == by_state[False]["unique_id_from_tool"] + (
        ":accepted"
    )


def test_hostile_text_is_escaped_and_endpoints_are_what_defectdojo_accepts(
    report: Report, tmp_path: Path
) -> None:
    data = render(report, tmp_path)
    evil = [f for f in data["findings"] if f["service"].startswith("Apache/2.4.49 (\\input")]
    assert evil
    for finding in evil:
        for key in ("description", "severity_justification", "references", "mitigation"):
            text = finding.get(key, "")
            assert "<script>" not in text.replace("\\<", "")  # every '<' escaped
            assert "](" not in text.replace("](https://", "")
        assert finding["title"].isprintable()
    for finding in data["findings"]:  # the VEX statement on CVE-2020-15778 is hostile too
        assert "<script>" not in finding["description"].replace("\\<", "")
    description = evil[0]["description"]
    assert "\\<script>alert(1)\\</script>" in description
    assert "references" not in findings(data, "CVE-2021-42013")[0]  # javascript: is no link
    assert endpoint(Location(HOSTILE, "", 80, "tcp")) is None
    assert endpoint(Location("10.0.0.1", "", 80, "t c p")) == {"host": "10.0.0.1", "port": 80}


def test_registered_as_defectdojo() -> None:
    assert isinstance(renderer_for("defectdojo"), DefectDojoRenderer)
    assert extension_of("defectdojo") == "defectdojo.json"


@pytest.mark.parametrize("name", ["vulners.xml", "hostile-banner.xml", "lab-basic.xml"])
def test_real_scans_are_valid_and_agree_with_the_json_report(
    name: str, tmp_path: Path, starter_db: Path
) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / name], ["json", "defectdojo"], tmp_path, matching=matching)
    data = json.loads((tmp_path / "report.defectdojo.json").read_text("utf-8"))
    VALIDATOR.validate(data)
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    expected = Counter(v["id"] for s in report["services"] for v in s["vulnerabilities"])
    found = Counter(f["vuln_id_from_tool"] for f in data["findings"] if "vuln_id_from_tool" in f)
    assert found == expected
    for finding in data["findings"]:
        assert "<script>" not in finding["description"].replace("\\<", "")
