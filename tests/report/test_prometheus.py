"""Prometheus text exposition: parsed back by prometheus_client's own parser, counts that agree
with the report, no timestamps, labels that hostile text cannot break, written atomically."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from brulee.core.report import PartSummary, Report, SourceDate
from brulee.core.scan import Shard
from brulee.errors import ReportError
from brulee.history.suppressions import Suppressions, parse_suppression
from brulee.match.sources import open_matching
from brulee.pipeline import render_reports
from brulee.report.interface import extension_of, renderer_for
from brulee.report.prometheus import PrometheusRenderer
from tests.conftest import NMAP_XML

from .conftest import HOSTILE

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample by name and labels; each family a gauge, no sample with a timestamp."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge" and family.documentation
        for sample in family.samples:
            assert sample.timestamp is None  # node_exporter's textfile collector refuses them
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples
            samples[key] = sample.value
    return samples


def render(report: Report, tmp_path: Path) -> Samples:
    path = tmp_path / "report.prom"
    PrometheusRenderer().render(report, path)
    text = path.read_text("utf-8")
    assert text.endswith("\n") and "\r" not in text
    return parse(text)


def value(samples: Samples, name: str, **labels: str) -> float:
    matching = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert matching, (name, labels)
    return sum(matching)


def test_counts_agree_with_the_report(report: Report, tmp_path: Path) -> None:
    samples = render(report, tmp_path)
    located = sum(len(g.vulnerabilities) * g.location_count for g in report.services)
    assert value(samples, "brulee_findings", state="open") == located
    assert value(samples, "brulee_findings", state="suppressed") == 0
    assert value(samples, "brulee_findings", state="fixed_by_distribution") == 1
    assert value(samples, "brulee_findings", severity="critical", confidence="certain") == 2
    assert value(samples, "brulee_findings", confidence="unverified-backport", state="open") == 4
    for severity, count in report.severity_counts().items():
        assert value(samples, "brulee_vulnerabilities", severity=severity) == count
    for severity, count in report.severity_counts(possible=True).items():
        assert value(samples, "brulee_possible_vulnerabilities", severity=severity) == count
    # Certain KEV findings only: Apache on 2 hosts; the hostile one's 2 are possible.
    assert value(samples, "brulee_kev_findings") == 2
    assert value(samples, "brulee_kev_vulnerabilities") == 1
    assert value(samples, "brulee_possible_kev_vulnerabilities") == 1  # CVE-2021-42013
    assert value(samples, "brulee_services", status="possibly-vulnerable") == 2
    assert value(samples, "brulee_services", status="unknown") == 1
    assert value(samples, "brulee_services", status="clean") == 1
    assert value(samples, "brulee_services") == len(report.services)
    assert (value(samples, "brulee_hosts", state="up"), value(samples, "brulee_hosts",
            state="down")) == (3, 1)  # fmt: skip
    assert value(samples, "brulee_scan_incomplete") == 1
    start = datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()
    assert value(samples, "brulee_scan_start_timestamp_seconds") == start
    assert not [n for n, _ in samples if n.startswith("brulee_scan_end")]  # Nmap did not finish
    assert value(samples, "brulee_report_generated_timestamp_seconds") == start + 300
    assert all(dict(labels)["site"] == "" == dict(labels)["shard"] for _, labels in samples)


def test_suppressed_findings_are_counted_apart(report: Report, tmp_path: Path) -> None:
    entries = Suppressions.from_entries([
        parse_suppression({"cve": "CVE-2021-41773", "reason": "r", "author": "a",
                           "host": "2001:db8::5"}),
        parse_suppression({"cve": "CVE-2021-44790", "reason": "r", "author": "a"}),
    ])  # fmt: skip
    applied = entries.apply(report.services, report.locations, datetime(2026, 1, 1, tzinfo=UTC))
    before = render(report, tmp_path)
    after = render(replace(report, services=applied.groups, suppressed=applied), tmp_path)
    assert value(after, "brulee_findings", state="suppressed") == 3  # 1 + 2 locations
    assert value(after, "brulee_findings", state="open") == (
        value(before, "brulee_findings", state="open") - 3
    )
    assert value(after, "brulee_kev_findings") == value(before, "brulee_kev_findings") - 1


def test_times_sources_and_labels(report: Report, tmp_path: Path) -> None:
    run = replace(report.scan.run, finished="2024-05-01T10:04:10+00:00", incomplete=False)
    sources = (SourceDate("nvd", "2024-03-17T22:17:25+00:00"), SourceDate("kev", "2024-03-15"))
    scan = replace(report.scan, run=run, site=f'dc-1 {HOSTILE}"\n\\', shard=Shard(2, 4),
                   database_sources=sources)  # fmt: skip
    samples = render(replace(report, scan=scan), tmp_path)
    assert value(samples, "brulee_scan_duration_seconds") == 250
    assert value(samples, "brulee_scan_incomplete") == 0
    generated = datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    nvd = datetime(2024, 3, 17, 22, 17, 25, tzinfo=UTC)
    assert value(samples, "brulee_database_updated_timestamp_seconds", source="nvd") == (
        nvd.timestamp()
    )
    assert value(samples, "brulee_database_age_seconds", source="kev") == (
        (generated - datetime(2024, 3, 15, tzinfo=UTC)).total_seconds()
    )
    labels = {dict(ls)["site"] for _, ls in samples}
    assert labels == {f'dc-1 {HOSTILE}"\n\\'}  # escaped in the file, intact when parsed
    assert {dict(ls)["shard"] for _, ls in samples} == {"2/4"}


def test_a_merged_report_ages_by_its_stalest_part(report: Report, tmp_path: Path) -> None:
    def part(nvd: str) -> PartSummary:
        return PartSummary("s", "dc", None, "", "", False, 1, 0,
                           database_sources=(SourceDate("nvd", nvd),))  # fmt: skip

    parts = (part("2024-04-01T00:00:00+00:00"), part("2024-03-01T00:00:00+00:00"))
    samples = render(replace(report, scan=replace(report.scan, parts=parts)), tmp_path)
    assert value(samples, "brulee_database_updated_timestamp_seconds", source="nvd") == (
        datetime(2024, 3, 1, tzinfo=UTC).timestamp()
    )


def test_written_atomically(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.prom"
    path.write_text("stale\n")
    PrometheusRenderer().render(report, path)
    assert path.read_text("utf-8").startswith("# HELP brulee_findings ")
    assert [p.name for p in tmp_path.iterdir()] == ["report.prom"]


def test_registered_as_prometheus() -> None:
    assert isinstance(renderer_for("prometheus"), PrometheusRenderer)
    assert extension_of("prometheus") == "prom"


@pytest.mark.parametrize("name", ["lab-basic.xml", "hostile-banner.xml", "interrupted.xml"])
def test_real_scans_parse_and_agree_with_the_json_report(
    name: str, tmp_path: Path, starter_db: Path
) -> None:
    with open_matching(starter_db) as matching:
        render_reports([NMAP_XML / name], ["json", "prometheus"], tmp_path, matching=matching)
    samples = parse((tmp_path / "report.prom").read_text("utf-8"))
    data = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert value(samples, "brulee_findings", state="open") == sum(
        len(s["vulnerabilities"]) * len(s["locations"]) for s in data["services"]
    )
    assert value(samples, "brulee_services") == len(data["services"])
    assert value(samples, "brulee_scan_incomplete") == int(data["scan"]["incomplete"])
    sources = {dict(ls)["source"] for n, ls in samples if n == "brulee_database_age_seconds"}
    assert (
        sources
        == {"nvd", "kev", "epss", "debian", "ubuntu"}
        == set(data["scan"]["database_sources"])
    )


def test_a_file_that_cannot_be_written_is_a_report_error(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "report.prom"
    with pytest.raises(ReportError, match=f"cannot write report {path}"):
        PrometheusRenderer().render(report, path)
    blocked = tmp_path / "report.prom"
    blocked.mkdir()  # the rename over it fails: the partial file does not stay behind
    with pytest.raises(ReportError):
        PrometheusRenderer().render(report, blocked)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.prom"]
