"""SARIF 2.1.0: valid against the OASIS schema, one rule per vulnerability and one result per
finding per location, locations code scanning accepts, stable fingerprints, suppressions for
what the distribution fixed, and hostile text kept literal."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.findings import Location
from brulee.core.report import Report, ScanSummary
from brulee.core.scan import Host, Port, ScanRun, Service
from brulee.core.vulnerability import Assessment, Vulnerability
from brulee.findings.grouping import ServiceGrouper
from brulee.findings.spool import Spool
from brulee.match.sources import open_matching
from brulee.pipeline import render_reports
from brulee.report.interface import renderer_for
from brulee.report.sarif import SARIF_SCHEMA, SarifRenderer, artifact_uri, fingerprint, message_text
from tests.conftest import ASSETS, NMAP_XML

from .conftest import HOSTILE, build_report

SCHEMA = json.loads((ASSETS / "sarif" / "sarif-schema-2.1.0.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)
# RFC 3986 relative-ref with a path-noscheme: no colon in the first segment, pchar elsewhere.
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_SEGMENT_NC = r"(?:[A-Za-z0-9._~!$&'()*+,;=@-]|%[0-9A-Fa-f]{2})+"
RELATIVE_URI = re.compile(rf"{_SEGMENT_NC}(?:/{_PCHAR}*)*")
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def render(report: Report, tmp_path: Path, **options: bool) -> dict[str, Any]:
    path = tmp_path / "report.sarif"
    SarifRenderer(**options).render(report, path)
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    VALIDATOR.validate(data)
    return data


def unescape(text: str) -> str:
    """A SARIF message as a viewer shows it (no placeholders, no links)."""
    return re.sub(r"\\(.)", r"\1", text.replace("{{", "{").replace("}}", "}"))


def test_vendored_schema_is_the_oasis_one() -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"] == SARIF_SCHEMA


def test_log_is_valid_and_describes_the_tool(report: Report, tmp_path: Path) -> None:
    data = render(report, tmp_path)
    assert (data["$schema"], data["version"]) == (SARIF_SCHEMA, "2.1.0")
    (run,) = data["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("brulee", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    assert run["properties"]["scan"]["nmap_command"] == "nmap -sV -oX - 192.0.2.0/28 2001:db8::5"
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False  # Nmap did not finish
    assert invocation["startTimeUtc"] == "2024-05-01T10:00:00Z"
    assert "endTimeUtc" not in invocation
    notes = [(n["level"], n["message"]["text"]) for n in invocation["toolExecutionNotifications"]]
    assert notes[0] == ("error", "nmap stopped after 300 s: host timeout on 2001:db8::5")
    assert any(level == "error" and text.startswith("INCOMPLETE scan") for level, text in notes)
    assert ("warning", "the vulnerability database is 45 days old: run brulee db update") in notes
    assert notes[-1][1].startswith("3 of 8 services could not be checked")


def test_one_rule_per_vulnerability(report: Report, tmp_path: Path) -> None:
    rules = render(report, tmp_path)["runs"][0]["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    expected = {v.id for g in report.services for v in (*g.vulnerabilities, *g.fixed)}
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected
    by_id = {r["id"]: r for r in rules}
    traversal = by_id["CVE-2021-41773"]
    assert traversal["shortDescription"]["text"] == "CVE-2021-41773"
    assert traversal["fullDescription"]["text"].startswith("Path traversal and file disclosure")
    assert traversal["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2021-41773"
    assert "CISA KEV: added 2021-11-03" in traversal["help"]["text"]
    props = traversal["properties"]
    assert props["security-severity"] == "7.5"
    assert props["severity"] == "high"
    assert props["cvss"]["vector"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    assert props["epss"] == {"score": 0.94432, "percentile": 0.99917}
    assert props["kev"]["date_added"] == "2021-11-03"
    assert {"security", "kev", "external/cwe/cwe-22"} <= set(props["tags"])
    assert props["cwes"] == ["CWE-22"]
    mod_lua = by_id["CVE-2021-44790"]["properties"]
    assert mod_lua["cwes"] == ["CWE-787", "NVD-CWE-Other"]  # NVD's placeholder is no tag:
    assert [t for t in mod_lua["tags"] if "cwe" in t] == ["external/cwe/cwe-787"]
    assert by_id["CVE-2021-42013"]["properties"]["cwes"] == [HOSTILE]  # data, never a tag
    assert not [t for t in by_id["CVE-2021-42013"]["properties"]["tags"] if "cwe" in t]
    assert traversal["defaultConfiguration"]["level"] == "error"
    unscored = by_id["CVE-2024-40898"]
    assert "security-severity" not in unscored["properties"]
    assert unscored["properties"]["kev"] is None
    assert "helpUri" not in by_id["CVE-2021-42013"]  # javascript: is no help page
    for rule in rules:  # what GitHub code scanning requires of a rule
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip()


def test_one_result_per_finding_per_location(report: Report, tmp_path: Path) -> None:
    run = render(report, tmp_path)["runs"][0]
    results = run["results"]
    expected = sum(
        g.location_count * (len(g.vulnerabilities) + len(g.fixed)) for g in report.services
    )
    assert len(results) == expected
    rules = run["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"].strip()
        assert len(result["locations"]) == 1
    apache = Counter(
        (r["ruleId"], r["properties"]["address"])
        for r in results
        if r["ruleId"] == "CVE-2021-44790"
    )
    assert apache == {("CVE-2021-44790", "192.0.2.10"): 1, ("CVE-2021-44790", "2001:db8::5"): 1}
    # Services that could not be checked have no results (the notifications say so).
    assert not {r["properties"]["service"]["product"] for r in results} & {
        "MySQL",
        "Acme SNMP agent",
    }


def test_levels_follow_severity_and_confidence(report: Report, tmp_path: Path) -> None:
    results = render(report, tmp_path)["runs"][0]["results"]
    levels = {(r["ruleId"], r["properties"]["address"]): r["level"] for r in results}
    assert levels[("CVE-2021-44790", "192.0.2.10")] == "error"  # critical
    assert levels[("CVE-2021-41773", "192.0.2.10")] == "error"  # high
    assert levels[("CVE-2021-33193", "192.0.2.10")] == "note"  # medium, but conditional: possible
    assert levels[("CVE-2024-40898", "192.0.2.10")] == "note"  # unscored
    assert levels[("CVE-2019-6111", "192.0.2.20")] == "warning"
    # A critical CVE that the distribution may have fixed is only a note, and says why.
    (backport,) = [r for r in results if r["ruleId"] == "CVE-2023-38408"]
    assert backport["level"] == "note"
    assert backport["properties"]["unverified-backport"] is True
    assert backport["properties"]["confidence"] == "unverified-backport"
    assert backport["properties"]["possible"] is True
    assert not next(r for r in results if r["ruleId"] == "CVE-2021-44790")["properties"]["possible"]
    assert "UNVERIFIED BACKPORT" in backport["message"]["text"]
    flagged = {r["ruleId"] for r in results if r["properties"]["unverified-backport"]}
    assert flagged == {"CVE-2023-38408", "CVE-2020-15778", "CVE-2021-23017", "CVE-2019-20372"}
    assert all(r["level"] == "note" for r in results if r["properties"]["unverified-backport"])


def test_fixed_by_distribution_is_suppressed(report: Report, tmp_path: Path) -> None:
    results = render(report, tmp_path)["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["CVE-2018-15473"]
    (fixed,) = suppressed
    (suppression,) = fixed["suppressions"]
    assert suppression["kind"] == "external"
    assert suppression["status"] == "accepted"
    assert suppression["justification"].startswith("DSA-4280-1 (2018-08-22): fixed in")
    assert fixed["level"] == "note"
    assert fixed["properties"]["fixed-by-distribution"] is True
    assert "Fixed by the distribution: DSA-4280-1" in fixed["message"]["text"]


def test_fixed_by_distribution_can_be_left_out(report: Report, tmp_path: Path) -> None:
    run = render(report, tmp_path, suppressed=False)["runs"][0]
    assert not [r for r in run["results"] if "suppressions" in r]
    assert "CVE-2018-15473" not in {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert len(run["results"]) == sum(
        g.location_count * len(g.vulnerabilities) for g in report.services
    )


def test_locations_are_host_port_uris_code_scanning_accepts(report: Report, tmp_path: Path) -> None:
    results = render(report, tmp_path)["runs"][0]["results"]
    uris = set()
    for result in results:
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        uris.add(uri)
        assert RELATIVE_URI.fullmatch(uri), uri  # RFC 3986, and no scheme to be refused
        assert physical["region"] == {"startLine": 1}
        props = result["properties"]
        (logical,) = location["logicalLocations"]
        assert logical["kind"] == "resource"
        assert logical["fullyQualifiedName"] == f"{props['protocol']}/{logical['name']}"
    assert {"tcp/192.0.2.10:80", "tcp/%5B2001:db8::5%5D:80", "tcp/192.0.2.20:8080"} <= uris


@pytest.mark.parametrize(
    ("loc", "uri"),
    [
        (Location("10.0.0.1", "", 22, "tcp"), "tcp/10.0.0.1:22"),
        (Location("fd42:b7e1:77::11", "h", 53, "udp"), "udp/%5Bfd42:b7e1:77::11%5D:53"),
        (Location("10.0.0.1", "", 0, ""), "unknown/10.0.0.1:0"),
        (Location("a b/c?d#e", "", 1, "x:y"), "x%3Ay/a%20b%2Fc%3Fd%23e:1"),
    ],
)
def test_artifact_uri(loc: Location, uri: str) -> None:
    assert artifact_uri(loc) == uri
    assert RELATIVE_URI.fullmatch(uri)


def _fingerprints(report: Report, tmp_path: Path) -> list[tuple[str, str, str]]:
    results = render(report, tmp_path)["runs"][0]["results"]
    return [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["partialFingerprints"]["bruleeFinding/v1"])
        for r in results
    ]  # fmt: skip


def test_fingerprints_are_stable_and_distinct(report: Report, tmp_path: Path) -> None:
    first = _fingerprints(report, tmp_path)
    with Spool() as spool:  # a second scan of the same network
        second = _fingerprints(build_report(spool), tmp_path)
    assert first == second
    assert len({f for _, _, f in first}) == len(first)
    assert all(re.fullmatch(r"[0-9a-f]{64}", f) for _, _, f in first)


def test_fingerprint_ignores_version_and_hostname() -> None:
    here = Location("10.0.0.1", "a.example", 22, "tcp")
    renamed = Location("10.0.0.1", "b.example", 22, "tcp")
    assert fingerprint("CVE-1", here, "OpenSSH") == fingerprint("CVE-1", renamed, "OpenSSH")
    assert fingerprint("CVE-1", here, "OpenSSH") != fingerprint("CVE-2", here, "OpenSSH")
    assert fingerprint("CVE-1", here, "OpenSSH") != fingerprint("CVE-1", here, "Dropbear")
    moved = Location("10.0.0.1", "a.example", 2222, "tcp")
    assert fingerprint("CVE-1", here, "OpenSSH") != fingerprint("CVE-1", moved, "OpenSSH")


def test_upgrade_that_leaves_the_cve_open_keeps_the_fingerprint(tmp_path: Path) -> None:
    def scan(version: str) -> str:
        with Spool() as spool:
            grouper = ServiceGrouper(spool)
            service = Service(name="ssh", product="OpenSSH", version=version)
            vuln = Vulnerability("CVE-2023-38408", "critical")
            port = Port("tcp", 22, "open", "syn-ack", service)
            grouper.add_host(Host("10.0.0.1"), [(port, Assessment("vulnerable", (vuln,)))])
            summary = ScanSummary(ScanRun(), (), "2024-05-01T10:05:00+00:00", "0.1.0")
            (result,) = render(Report(summary, grouper.groups(), spool), tmp_path)["runs"][0][
                "results"
            ]
            return str(result["partialFingerprints"]["bruleeFinding/v1"])

    assert scan("8.9p1") == scan("9.0p1")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("{0} and {1}", "{{0}} and {{1}}"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("a\\b", "a\\\\b"),
        ("nul\x00", "nul\ufffd"),
    ],
)
def test_message_text_is_literal(text: str, escaped: str) -> None:
    assert message_text(text) == escaped
    assert unescape(escaped) == text.replace("\x00", "\ufffd")


def test_hostile_text_stays_literal(report: Report, tmp_path: Path) -> None:
    run = render(report, tmp_path)["runs"][0]
    evil = [r for r in run["results"] if r["properties"]["service"]["product"] == HOSTILE]
    assert {r["ruleId"] for r in evil} == {"CVE-2021-42013", "CVE-2021-41773"}
    for result in evil:
        text = result["message"]["text"]
        assert "\\\\input{{/etc/passwd}}" in text  # no placeholder, no escape
        assert not set(text.replace("{{", "").replace("}}", "")) & {"{", "}"}
        assert HOSTILE in unescape(text)
        assert result["properties"]["hostname"] == HOSTILE
        assert result["properties"]["service"]["extrainfo"] == HOSTILE
    reported = next(r for r in evil if r["ruleId"] == "CVE-2021-42013")
    assert reported["properties"]["reason"] == HOSTILE
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "CVE-2021-42013")
    assert rule["fullDescription"]["text"] == HOSTILE


def test_empty_scan_is_a_valid_log(tmp_path: Path) -> None:
    with Spool() as spool:
        summary = ScanSummary(
            ScanRun(started="2024-05-01T12:00:00+02:00", finished="2024-05-01T12:01:00+02:00"),
            (), "2024-05-01T10:05:00+00:00", "0.1.0",
        )  # fmt: skip
        (run,) = render(Report(summary, (), spool), tmp_path)["runs"]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert (invocation["startTimeUtc"], invocation["endTimeUtc"]) == (
        "2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z",
    )  # fmt: skip


def test_registered_as_sarif() -> None:
    assert isinstance(renderer_for("sarif"), SarifRenderer)


REAL_SCANS = [
    "lab-basic.xml", "hostile-banner.xml", "ipv6.xml", "vulners.xml", "vulners-no-cvss.xml",
    "udp.xml", "same-service-two-hosts.xml", "multi-cpe.xml", "interrupted.xml",
    "hosts-down.xml", "no-open-ports.xml",
]  # fmt: skip


@pytest.mark.parametrize("name", REAL_SCANS)
def test_real_scans_are_valid_and_agree_with_the_json_report(
    name: str, tmp_path: Path, starter_db: Path
) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / name], ["json", "sarif"], tmp_path, matching=matching)
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    data = json.loads((tmp_path / "report.sarif").read_text("utf-8"))
    VALIDATOR.validate(data)
    (run,) = data["runs"]
    expected: Counter[tuple[str, str, int, bool]] = Counter()
    for service in report["services"]:
        ids = [v["id"] for v in service["vulnerabilities"]]
        fixed = [v["id"] for v in service["fixed_by_distribution"]]
        for loc in service["locations"]:
            for vuln_id in ids + fixed:
                expected[(vuln_id, loc["address"], loc["port"], vuln_id in fixed)] += 1
    found = Counter(
        (r["ruleId"], r["properties"]["address"], r["properties"]["port"], "suppressions" in r)
        for r in run["results"]
    )
    assert found == expected
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {k[0] for k in expected}
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert RELATIVE_URI.fullmatch(uri)
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is not report["scan"]["incomplete"]
    for key in ("startTimeUtc", "endTimeUtc"):
        assert key not in invocation or UTC_TIME.fullmatch(invocation[key])


@pytest.fixture
def big_report() -> Iterator[Report]:
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        service = Service(name="ssh", product="OpenSSH", version="7.4p1")
        vulns = Assessment("vulnerable", (Vulnerability("CVE-2023-38408", "critical"),))
        for n in range(10_000):
            address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
            grouper.add_host(Host(address), [(Port("tcp", 22, "open", "syn-ack", service), vulns)])
        summary = ScanSummary(ScanRun(), (), "2024-05-01T10:05:00+00:00", "0.1.0")
        yield Report(summary, grouper.groups(), spool)


def test_results_stream(big_report: Report, tmp_path: Path) -> None:
    """A big fleet's results are written as they are read: memory does not grow with them."""
    tracemalloc.start()
    try:
        SarifRenderer().render(big_report, tmp_path / "big.sarif")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = (tmp_path / "big.sarif").stat().st_size
    assert size > 5_000_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"
    data = json.loads((tmp_path / "big.sarif").read_text("utf-8"))
    assert len(data["runs"][0]["results"]) == 10_000


def test_vex_notes_are_in_the_message_and_properties(report: Report, tmp_path: Path) -> None:
    results = render(report, tmp_path)["runs"][0]["results"]
    noted = [r for r in results if r["ruleId"] == "CVE-2020-15778"]
    assert noted and all(r["properties"]["vex"][0]["status"] == "under_investigation"
                         for r in noted)  # fmt: skip
    text = unescape(noted[0]["message"]["text"])
    assert "VEX under_investigation by secops@example.com (vex.json statement 2" in text
