"""The canonical JSON report: valid against the published schema, faithful, streamed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.findings import Location
from brulee.core.report import Report
from brulee.match.sources import Freshness, Matching, open_matching
from brulee.match.vulners import VulnersSource
from brulee.pipeline import render_reports
from brulee.report.json import JsonRenderer, location_json
from tests import xmlsnippets as x

VULNERS_ONLY = Matching((VulnersSource(),))
SCHEMA = json.loads((Path(__file__).parents[2] / "schema" / "report.schema.json").read_text())
CPE = "cpe:/a:apache:http_server:2.4.49"
HOSTILE = "(\\input{/etc/passwd}&lt;script&gt;alert(1)&lt;/script&gt;=cmd|'/C calc'!A0)"
WEB = (
    f'<service name="http" product="Apache httpd" version="2.4.49" extrainfo="{HOSTILE}" '
    f'method="probed" conf="10"><cpe>{CPE}</cpe></service>'
)


def render(tmp_path: Path, *hosts: str) -> dict[str, Any]:
    xml = x.write(tmp_path / "in.xml", *hosts)
    render_reports([xml], ["json"], tmp_path / "out", matching=VULNERS_ONLY)
    data: dict[str, Any] = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    jsonschema.validate(data, SCHEMA)
    return data


def test_report_is_valid_and_grouped(tmp_path: Path) -> None:
    scripts = x.vulners(CPE, [
        ("CVE-2021-41773", "7.5", "cve", False),
        ("CVE-2021-42013", "9.8", "cve", False),
        ("EDB-ID:50383", "7.5", "exploitdb", True),
    ])  # fmt: skip
    data = render(
        tmp_path,
        x.host("10.0.0.2", x.port(80, WEB, scripts)),
        x.host("10.0.0.1", x.port(8080, WEB)),
    )
    assert data["schema_version"] == "2.1"
    (service,) = data["services"]
    assert service["status"] == "vulnerable"
    assert [v["id"] for v in service["vulnerabilities"]] == ["CVE-2021-42013", "CVE-2021-41773"]
    assert service["references"] == ["EDB-ID:50383"]
    assert service["location_count"] == 2
    assert [(loc["address"], loc["port"]) for loc in service["locations"]] == [
        ("10.0.0.1", 8080), ("10.0.0.2", 80),
    ]  # fmt: skip
    assert data["summary"]["by_severity"] == {
        "critical": 1, "high": 1, "medium": 0, "low": 0, "unscored": 0,
    }  # fmt: skip
    assert [h["address"] for h in data["hosts"]] == ["10.0.0.1", "10.0.0.2"]


def test_every_service_says_the_nvd_names_it_was_looked_up_as(
    tmp_path: Path, starter_db: Path
) -> None:
    jetty = '<service name="http" product="Jetty" version="9.4.5" method="probed" conf="10">'
    jetty += "<cpe>cpe:/a:mortbay:jetty:9.4.5</cpe></service>"
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(80, WEB) + x.port(8080, jetty)))
    with open_matching(starter_db, Freshness(max_age=timedelta(days=36500))) as matching:
        render_reports([xml], ["json"], tmp_path / "out", matching=matching)
    data = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    jsonschema.validate(data, SCHEMA)
    by_product = {s["product"]: s for s in data["services"]}
    assert by_product["Apache httpd"]["nvd_names"] == [
        "apache:apache_http_server", "apache:http_server",
    ]  # fmt: skip
    unknown = by_product["Jetty"]  # the starter database covers 20 products, not Jetty
    assert unknown["status"] == "unknown"
    assert unknown["nvd_names"] == [
        "eclipse:jetty", "jetty:jetty", "mortbay:jetty", "mortbay_jetty:jetty",
    ]  # fmt: skip


def test_hostile_banner_round_trips_as_literal_text(tmp_path: Path) -> None:
    data = render(tmp_path, x.host("10.0.0.1", x.port(80, WEB)))
    extrainfo = data["services"][0]["extrainfo"]
    assert extrainfo == "(\\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)"


def test_empty_scan_is_still_a_valid_report(tmp_path: Path) -> None:
    data = render(tmp_path)
    assert data["services"] == []
    assert data["hosts"] == []
    assert data["scan"]["nmap_version"] == "7.93"


def test_incomplete_scan_is_flagged(tmp_path: Path) -> None:
    xml = tmp_path / "cut.xml"
    full = x.HEAD + x.host("10.0.0.1", x.port(22, WEB)) + x.host("10.0.0.2", x.port(22, WEB))
    xml.write_text(full[: full.rindex("<ports>")], "utf-8")  # killed inside the second host
    render_reports([xml], ["json"], tmp_path / "out", matching=VULNERS_ONLY)
    data = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["scan"]["incomplete"] is True
    assert data["scan"]["finished"] is None
    assert [h["address"] for h in data["hosts"]] == ["10.0.0.1"]


@pytest.mark.parametrize(
    "hostname", ["", 'q"uote\\back', "ünïcode-名前", "tab\tnew\nline\x00\u2028", "</script>"]
)
def test_fast_location_encoding_matches_json_dumps(hostname: str) -> None:
    loc = Location("fd00::1", hostname, 443, "tcp")
    expected = {"address": "fd00::1", "hostname": hostname, "port": 443, "protocol": "tcp"}
    assert json.loads(location_json(loc)) == expected
    assert location_json(loc) == json.dumps(expected, ensure_ascii=False)


def test_cwes_and_vex_notes_are_written_and_valid(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    JsonRenderer().render(report, path)
    data = json.loads(path.read_text("utf-8"))
    jsonschema.validate(data, SCHEMA)
    vulns = {v["id"]: v for s in data["services"] for v in s["vulnerabilities"]}
    assert vulns["CVE-2021-41773"]["cwes"] == ["CWE-22"]
    (note,) = vulns["CVE-2020-15778"]["vex"]
    assert note["status"] == "under_investigation" and note["origin"] == "vex.json statement 2"
    assert note["scope"] == ["cpe cpe:/a:openbsd:openssh:7.4p1", "port 22/tcp"]
