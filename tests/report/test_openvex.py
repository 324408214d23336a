"""OpenVEX out: valid against OpenVEX's own 0.2.0 JSON schema, brulee's decisions as statuses,
products at locations that ``--vex`` reads back to the same decisions, hostile text inert."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.findings import Location
from brulee.core.report import Report, ScanSummary
from brulee.core.scan import ScanRun
from brulee.core.suppression import Applied
from brulee.findings.spool import Spool
from brulee.history.suppressions import Suppressions, load_vex, parse_suppression
from brulee.match.sources import open_matching
from brulee.pipeline import render_reports
from brulee.report.interface import extension_of, renderer_for
from brulee.report.openvex import CONTEXT, OpenVexRenderer, location_iri
from tests.conftest import ASSETS, NMAP_XML

from .conftest import HOSTILE

SCHEMA = json.loads((ASSETS / "openvex" / "openvex_json_schema_0.2.0.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
IRI = re.compile(r"(tcp|udp)://(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+")


def render(report: Report, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "report.openvex.json"
    OpenVexRenderer().render(report, path)
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    VALIDATOR.validate(data)
    datetime.fromisoformat(data["timestamp"])  # RFC 3339, with its offset
    return data


def suppress(report: Report) -> tuple[Report, Applied]:
    """CVE-2021-41773 accepted everywhere, CVE-2021-44790 on one host of two (with an expiry)."""
    entries = Suppressions.from_entries([
        parse_suppression({"cve": "CVE-2021-41773", "reason": "WAF rule 942100",
                           "author": "secops@example.com", "product": "Apache httpd"},
                          origin="suppressions.yaml:1"),
        parse_suppression({"cve": "CVE-2021-44790", "reason": "mod_lua not loaded",
                           "author": "ops", "host": "2001:db8::5", "expires": "2026-06-30"},
                          origin="suppressions.yaml:5"),
    ])  # fmt: skip
    applied = entries.apply(report.services, report.locations, NOW)
    return replace(report, services=applied.groups, suppressed=applied), applied


def by_vuln(data: dict[str, Any], cve: str) -> list[dict[str, Any]]:
    return [s for s in data["statements"] if s["vulnerability"]["name"] == cve]


def test_vendored_schema_is_openvex_0_2_0() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$id"] == "https://github.com/openvex/spec/openvex_json_schema_0.2.0.json"


def test_document_and_statuses(report: Report, tmp_path: Path) -> None:
    data = render(report, tmp_path)
    assert data["@context"] == CONTEXT == "https://openvex.dev/ns/v0.2.0"
    assert data["@id"].startswith("urn:uuid:") and data["author"] == "brulee"
    assert data["timestamp"] == "2024-05-01T10:05:00+00:00" and data["version"] == 1
    assert render(report, tmp_path)["@id"] == data["@id"]  # the same report, the same id
    (traversal,) = by_vuln(data, "CVE-2021-41773")[:1]
    assert traversal["status"] == "affected" and "action_statement" in traversal
    assert traversal["status_notes"].startswith("brulee: confidence certain; cpe:2.3:a:apache")
    assert [p["@id"] for p in traversal["products"]] == ["tcp://192.0.2.10:80",
                                                         "tcp://[2001:db8::5]:80"]  # fmt: skip
    assert traversal["products"][0]["identifiers"] == {
        "cpe23": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*",
        "cpe22": "cpe:/a:apache:http_server:2.4.49",
    }
    statuses = {(s["vulnerability"]["name"], s["status"]) for s in data["statements"]}
    assert ("CVE-2021-33193", "under_investigation") in statuses  # conditional
    assert ("CVE-2024-40898", "under_investigation") in statuses  # reported by vulners
    assert ("CVE-2023-38408", "under_investigation") in statuses  # unverified backport
    (scp,) = by_vuln(data, "CVE-2019-6111")
    assert scp["status"] == "affected"
    assert scp["action_statement"].startswith("upgrade the Debian stretch package to 1:7.4p1")
    (fixed,) = by_vuln(data, "CVE-2018-15473")
    assert fixed["status"] == "fixed" and fixed["vulnerability"]["aliases"] == ["DSA-4280-1"]
    assert fixed["status_notes"].startswith("Fixed by the distribution: DSA-4280-1 (2018-08-22)")
    assert [p["@id"] for p in fixed["products"]] == ["tcp://192.0.2.20:22"]
    (noted,) = by_vuln(data, "CVE-2020-15778")
    assert noted["status"] == "under_investigation"
    assert (
        "VEX under_investigation by secops@example.com (vex.json statement 2)"
        in (noted["status_notes"])
    )


def test_suppressions_are_not_affected_where_they_apply(report: Report, tmp_path: Path) -> None:
    data = render(suppress(report)[0], tmp_path)
    (accepted,) = by_vuln(data, "CVE-2021-41773")[:1]
    assert accepted["status"] == "not_affected"
    assert accepted["impact_statement"] == (
        "Accepted by secops@example.com: WAF rule 942100 (suppressions.yaml:1)"
    )
    assert len(accepted["products"]) == 2
    mod_lua = {s["status"]: s for s in by_vuln(data, "CVE-2021-44790")}
    assert [p["@id"] for p in mod_lua["affected"]["products"]] == ["tcp://192.0.2.10:80"]
    assert [p["@id"] for p in mod_lua["not_affected"]["products"]] == ["tcp://[2001:db8::5]:80"]
    assert mod_lua["not_affected"]["impact_statement"].endswith(
        "(suppressions.yaml:5, until 2026-06-30)"
    )


def test_vex_decisions_keep_their_status_and_justification(report: Report, tmp_path: Path) -> None:
    vex = tmp_path / "in.json"
    vex.write_text(json.dumps({
        "@context": CONTEXT, "author": "vendor", "statements": [{
            "vulnerability": {"name": "CVE-2021-44790"}, "status": "not_affected",
            "justification": "vulnerable_code_not_present", "impact_statement": "no mod_lua",
            "products": [{"identifiers": {"cpe22": "cpe:/a:apache:http_server:2.4.49"}}],
        }],
    }))  # fmt: skip
    applied = load_vex([vex]).apply(report.services, report.locations, NOW)
    data = render(replace(report, services=applied.groups, suppressed=applied), tmp_path)
    (statement,) = [s for s in by_vuln(data, "CVE-2021-44790") if s["status"] != "affected"]
    assert (statement["status"], statement["justification"], statement["impact_statement"]) == (
        "not_affected", "vulnerable_code_not_present", "no mod_lua",
    )  # fmt: skip


def test_read_back_with_vex_it_gives_the_same_decisions(report: Report, tmp_path: Path) -> None:
    """brulee's own VEX, applied to the same scan, takes out what the suppressions took out,
    at the same locations, and changes nothing else."""
    suppressed, applied = suppress(report)
    render(suppressed, tmp_path)
    again = load_vex([tmp_path / "report.openvex.json"]).apply(
        report.services, report.locations, NOW
    )

    def decisions(found: Applied) -> set[tuple[str, str, bool, tuple[Location, ...]]]:
        return {
            (item.group.key, s.vulnerability.id, s.complete, tuple(a.location for a in s.locations))
            for item in found.suppressed
            for s in item.suppressed
        }

    assert decisions(again) == decisions(applied)
    kept = {g.key: {v.id for v in g.vulnerabilities} for g in again.groups}
    assert kept == {g.key: {v.id for v in g.vulnerabilities} for g in applied.groups}
    notes = {n.status for g in again.groups for v in g.vulnerabilities for n in v.vex}
    assert notes == {"affected", "under_investigation"}  # brulee's own, read back as notes


def test_hostile_text_stays_data(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.openvex.json"
    OpenVexRenderer().render(report, path)
    text = path.read_text("utf-8")
    assert "<script>" in text  # as JSON string content, and nowhere structural:
    data = render(report, tmp_path)
    for statement in data["statements"]:
        for product in statement["products"]:
            assert IRI.fullmatch(product["@id"]), product["@id"]
    evil = [s for s in data["statements"] if HOSTILE in s["vulnerability"].get("description", "")]
    assert evil and all("@id" not in s["vulnerability"] for s in evil)  # javascript: is no IRI
    assert location_iri(Location(HOSTILE, "", 80, "tcp")) == (
        "tcp://apache%2F2.4.49%20%28%5Cinput%7B%2Fetc%2Fpasswd%7D%3Cscript%3Ealert%281%29%3C%2F"
        "script%3E%3Dcmd%7C%27%2Fc%20calc%27%21a0%29:80"
    )
    assert location_iri(Location("10.0.0.1", "", 80, "icmp")) is None


def test_a_report_without_findings_states_nothing(tmp_path: Path) -> None:
    with Spool() as spool:
        empty = Report(ScanSummary(ScanRun(), (), "2024-05-01T10:05:00+00:00", "0.1.0"), (), spool)
        path = tmp_path / "report.openvex.json"
        OpenVexRenderer().render(empty, path)
    data = json.loads(path.read_text("utf-8"))
    assert data["statements"] == []
    errors = [e.message for e in VALIDATOR.iter_errors(data)]
    assert errors == ["[] should be non-empty"]  # the schema's minItems, and only that


def test_registered_as_openvex() -> None:
    assert isinstance(renderer_for("openvex"), OpenVexRenderer)
    assert extension_of("openvex") == "openvex.json"


@pytest.mark.parametrize("name", ["hostile-banner.xml", "lab-basic.xml", "vulners.xml"])
def test_real_scans_are_valid(name: str, tmp_path: Path, starter_db: Path) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / name], ["json", "openvex"], tmp_path, matching=matching)
    data = json.loads((tmp_path / "report.openvex.json").read_text("utf-8"))
    VALIDATOR.validate(data)
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    expected = {(v["id"], loc["address"], loc["port"]) for s in report["services"]
                for v in s["vulnerabilities"] + s["fixed_by_distribution"]
                for loc in s["locations"]}  # fmt: skip
    stated = set()
    for statement in data["statements"]:
        for product in statement["products"]:
            where = IRI.fullmatch(product["@id"])
            assert where is not None
            host, port = where[2].strip("[]"), int(product["@id"].rsplit(":", 1)[1])
            stated.add((statement["vulnerability"]["name"], host, port))
    assert stated == expected


def test_each_usn_of_an_ubuntu_fix_is_an_alias(tmp_path: Path, starter_db: Path) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / "ubuntu-ssh-banners.xml"], ["openvex"], tmp_path,
                       matching=matching)  # fmt: skip
    data = json.loads((tmp_path / "report.openvex.json").read_text("utf-8"))
    VALIDATOR.validate(data)
    statements = [s for s in data["statements"] if s["vulnerability"]["name"] == "CVE-2019-6111"]
    fixed = [s for s in statements if s["status"] == "fixed"]
    assert fixed  # xenial's 4ubuntu2.7 is not fixed yet; bionic's 4ubuntu0.3 is
    assert {tuple(s["vulnerability"]["aliases"]) for s in fixed} == {("USN-3885-1", "USN-3885-2")}
