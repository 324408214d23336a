"""The integrations on a real scan: `brulee scan` with the real Nmap against the lab (root),
writing DefectDojo, OpenVEX and Prometheus files with a VEX document applied, each validated
(schema, parser) and with the lab's hostile banner inert in every field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt
from prometheus_client.parser import text_string_to_metric_families

from brulee.history.suppressions import load_vex
from tests.conftest import ASSETS
from tests.lab.netlab import HOSTILE_SERVER, Lab
from tests.lab.test_scan import scan

pytestmark = [pytest.mark.root, pytest.mark.nmap]
FORMATS = "json,defectdojo,openvex,prometheus"
VSFTPD = "tcp://10.213.77.11:21"


def schema(*parts: str) -> jsonschema.Draft202012Validator:
    loaded = json.loads(ASSETS.joinpath(*parts).read_text("utf-8"))
    return jsonschema.Draft202012Validator(
        loaded, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.fixture(scope="module")
def out(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("integrations")
    vex = directory.parent / "lab-vex.json"
    vex.write_text(json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:uuid:lab",
        "author": "secops@example.test", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
        "statements": [
            {"vulnerability": {"name": "CVE-2011-2523"}, "status": "not_affected",
             "justification": "vulnerable_code_not_present",
             "products": [{"@id": VSFTPD, "identifiers": {"cpe22": "cpe:/a:vsftpd:vsftpd"}}]},
            {"vulnerability": {"name": "CVE-2019-10149"}, "status": "under_investigation",
             "products": [{"identifiers": {"cpe23": "cpe:2.3:a:exim:exim:4.89:*:*:*:*:*:*:*"}}]},
        ],
    }))  # fmt: skip
    done = scan(lab, directory, *lab.addresses, "-f", FORMATS, "--vex", str(vex),
                "--site", "lab", "--no-history")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return directory


def load(out: Path, name: str) -> Any:
    return json.loads((out / name).read_text("utf-8"))


def test_defectdojo_import_is_valid_and_carries_the_decisions(out: Path) -> None:
    data = load(out, "report.defectdojo.json")
    schema("defectdojo", "generic-findings-import.schema.json").validate(data)
    by_title = {f["title"]: f for f in data["findings"]}
    backdoor = by_title["CVE-2011-2523 in vsftpd 2.3.4"]
    assert backdoor["risk_accepted"] is True and backdoor["active"] is False
    assert "VEX not_affected (vulnerable_code_not_present)" in backdoor["description"]
    assert backdoor["endpoints"] == [{"host": "10.213.77.11", "port": 21, "protocol": "tcp"}]
    assert backdoor["cwe"] == 78
    exim = by_title["CVE-2019-10149 in Exim smtpd 4.89"]
    assert exim["under_review"] is True and exim["known_exploited"] is True
    openssh = [f for f in data["findings"] if f["title"].endswith("OpenSSH 7.4p1 Debian 10+deb9u7")]
    assert openssh and all("DSA-4280-1" in f["description"] for f in openssh)
    assert not [f for f in openssh if f["vuln_id_from_tool"] == "CVE-2018-15473"]  # fixed


def test_openvex_is_valid_and_reads_back(out: Path) -> None:
    data = load(out, "report.openvex.json")
    schema("openvex", "openvex_json_schema_0.2.0.json").validate(data)
    statements = {(s["vulnerability"]["name"], s["status"]): s for s in data["statements"]}
    backdoor = statements[("CVE-2011-2523", "not_affected")]
    assert backdoor["justification"] == "vulnerable_code_not_present"
    assert [p["@id"] for p in backdoor["products"]] == [VSFTPD]
    fixed = statements[("CVE-2018-15473", "fixed")]
    assert {p["@id"] for p in fixed["products"]} == {"tcp://10.213.77.11:22",
                                                      "tcp://10.213.77.14:22"}  # fmt: skip
    assert ("CVE-2019-10149", "under_investigation") in statements
    entries = load_vex([out / "report.openvex.json"])
    assert len(entries) == sum(len(s["products"]) for s in data["statements"])


def test_prometheus_file_parses_and_agrees(out: Path) -> None:
    text = (out / "report.prom").read_text("utf-8")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert all(dict(labels)["site"] == "lab" for _, labels in samples)

    def total(name: str, **labels: str) -> float:
        return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items())
                   <= set(ls))  # fmt: skip

    report = load(out, "report.json")
    assert total("brulee_hosts", state="up") == report["scan"]["hosts_up"] == 5
    assert total("brulee_findings", state="suppressed") == 1  # vsftpd's backdoor, by VEX
    assert total("brulee_findings", state="fixed_by_distribution") >= 3
    assert total("brulee_findings", state="open") == sum(
        len(s["vulnerabilities"]) * len(s["locations"]) for s in report["services"]
    )
    assert total("brulee_scan_duration_seconds") > 0
    assert {dict(ls)["source"] for n, ls in samples if n == "brulee_database_age_seconds"} == {
        "nvd", "kev", "epss", "debian", "ubuntu",
    }  # fmt: skip


def test_the_hostile_banner_is_inert_in_every_integration(out: Path) -> None:
    hostile = HOSTILE_SERVER.removeprefix("Apache/2.4.49 ")
    dojo = load(out, "report.defectdojo.json")
    evil = [f for f in dojo["findings"] if f["endpoints"][0]["host"] == "10.213.77.15"]
    assert evil
    for finding in evil:
        assert finding["title"].isprintable()
        assert finding["service"] == f"Apache httpd 2.4.49 {hostile} (tcp)"
        assert "\\<script>alert(1)" in finding["description"]  # DefectDojo renders Markdown
        for key in ("description", "mitigation", "severity_justification", "references"):
            rendered = MarkdownIt("commonmark").render(finding.get(key, ""))
            assert "<script>" not in rendered
        assert finding["endpoints"] == [{"host": "10.213.77.15", "port": 80, "protocol": "tcp"}]
    vex = load(out, "report.openvex.json")
    for statement in vex["statements"]:
        for product in statement["products"]:
            assert "<" not in product["@id"] and "\\" not in json.dumps(product["identifiers"])
    assert hostile not in (out / "report.prom").read_text("utf-8")
