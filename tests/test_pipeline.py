"""Where the stages meet: real Nmap XML through the starter database into report files; a
failing format; merging reports; the diff of two reports; the output directory."""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brulee.core.report import Report
from brulee.errors import NmapError, OutputError, ReportError
from brulee.findings.spool import Spool
from brulee.fleet.sources import DirectorySource
from brulee.history.tracking import Tracking
from brulee.match.sources import Freshness, Matching, open_matching
from brulee.pipeline import (
    ScanRequest,
    check_output_dir,
    default_output_dir,
    diff_report_files,
    merge_reports,
    prepare_output,
    render_reports,
    scan,
    write_reports,
)
from brulee.report.interface import Renderer, renderer_for
from brulee.scan.targets import build_scope, parse_list
from tests.conftest import NMAP_XML, needs_nmap
from tests.report.conftest import build_report
from tests.xmlsnippets import host as xml_host
from tests.xmlsnippets import port as xml_port
from tests.xmlsnippets import vulners
from tests.xmlsnippets import write as write_xml

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LAB = [f"10.213.77.{i}" for i in range(11, 16)]


@pytest.fixture(scope="module")
def matching(starter_db: Path) -> Iterator[Matching]:
    """The session's starter database plus vulners, as ``brulee report`` uses them."""
    with open_matching(starter_db, Freshness(max_age=timedelta(days=36500))) as found:
        yield found


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


class Broken(Renderer):
    """A format that cannot be written (as a PDF without TeX)."""

    extension = "pdf"

    def __init__(self, why: str) -> None:
        self.why = why

    def render(self, report: Report, path: Path) -> None:
        raise ReportError(self.why)


def test_render_reports_writes_every_format_and_counts(tmp_path: Path, matching: Matching) -> None:
    out = tmp_path / "reports" / "lab"  # created, parents included
    written = render_reports(
        [NMAP_XML / "lab-basic.xml"], ["json", "md", "csv"], out, matching=matching,
        targets=["10.213.77.11-15"], warnings=["a warning of the run"], now=NOW,
    )  # fmt: skip
    assert written.files == (out / "report.json", out / "report.md", out / "report.csv")
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.json", "report.md"]
    data = load(out / "report.json")
    assert (written.hosts_up, written.incomplete) == (5, False)
    assert written.services == len(data["services"]) == data["summary"]["services"] > 0
    assert written.vulnerable == data["summary"]["by_status"]["vulnerable"] > 0
    assert [g.key for g in written.groups] == [s["id"] for s in data["services"]]
    assert written.new == ()
    scan = data["scan"]
    assert scan["targets"] == ["10.213.77.11-15"]
    assert scan["generated"] == NOW.isoformat(timespec="seconds")
    assert scan["inputs"] == [str(NMAP_XML / "lab-basic.xml")]
    assert scan["warnings"] == [*matching.warnings, "a warning of the run"]
    assert (scan["database"], scan["database_date"]) == (matching.database, matching.database_date)
    assert [h["address"] for h in data["hosts"]] == LAB
    assert "Apache httpd" in (out / "report.md").read_text("utf-8")


def test_overlapping_files_count_each_host_once(tmp_path: Path, matching: Matching) -> None:
    """lab-basic.xml and vulners.xml both scanned .11, .12 and .14."""
    files = [NMAP_XML / "lab-basic.xml", NMAP_XML / "vulners.xml"]
    written = render_reports(files, ["json"], tmp_path, matching=matching)
    data = load(tmp_path / "report.json")
    addresses = [h["address"] for h in data["hosts"]]
    assert addresses == [*LAB, "10.213.77.23"]
    assert written.hosts_up == data["scan"]["hosts_up"] == 6


def test_hosts_outside_the_scope_are_dropped_with_a_warning(
    tmp_path: Path, matching: Matching
) -> None:
    """A target-adding script (``--script-args newtargets``) scanned an excluded router: its
    results never reach the report, whatever added them."""
    scope = build_scope(parse_list(["10.213.77.11-15"], "t"), parse_list(["10.213.77.13"], "x"))
    written = render_reports([NMAP_XML / "lab-basic.xml"], ["json"], tmp_path, matching=matching,
                             scope=scope)  # fmt: skip
    data = load(tmp_path / "report.json")
    assert [h["address"] for h in data["hosts"]] == [a for a in LAB if a != "10.213.77.13"]
    assert written.hosts_up == data["scan"]["hosts_up"] == 4
    assert data["scan"]["warnings"][-1] == (
        "1 host(s) outside the scope were dropped from Nmap's results (10.213.77.13): "
        "an Nmap option or script added them"
    )
    assert all(loc["address"] != "10.213.77.13" for s in data["services"] for loc in s["locations"])


def test_scores_that_are_not_numbers_never_reach_the_json_formats(
    tmp_path: Path, matching: Matching
) -> None:
    """vulners ``cvss`` NaN/inf put NaN and Infinity (not JSON) into the JSON and SARIF."""
    cves: list[tuple[str, str | None, str, bool]] = [
        ("CVE-2099-0001", "NaN", "cve", False),
        ("CVE-2099-0002", "inf", "cve", False),
        ("CVE-2099-0003", "-inf", "cve", False),
        ("CVE-2099-0004", "1e999", "cve", False),
    ]
    service = (
        '<service name="ssh" product="OpenSSH" version="7.4" method="probed" conf="10">'
        "<cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>"
    )
    xml = write_xml(
        tmp_path / "nan.xml",
        xml_host("10.0.0.1", xml_port(22, service, vulners("cpe:/a:openbsd:openssh:7.4", cves))),
    )
    formats = ["json", "sarif", "defectdojo", "openvex"]
    written = render_reports([xml], formats, tmp_path / "o", matching=matching)
    assert len(written.files) == 4

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    for path in written.files:
        json.loads(path.read_text("utf-8"), parse_constant=refuse)
    data = load(tmp_path / "o" / "report.json")
    found = {v["id"]: v for s in data["services"] for v in s["vulnerabilities"]}
    assert {found[c[0]]["severity"] for c in cves} == {"unscored"}
    assert all(found[c[0]]["cvss"] is None for c in cves)


def test_down_hosts_only_in_the_run_statistics_are_counted(
    tmp_path: Path, matching: Matching
) -> None:
    written = render_reports([NMAP_XML / "hosts-down-quiet.xml"], ["json"], tmp_path,
                             matching=matching)  # fmt: skip
    assert (written.hosts_up, written.services, written.vulnerable) == (0, 0, 0)
    scan = load(tmp_path / "report.json")["scan"]
    assert (scan["hosts_up"], scan["hosts_down"]) == (0, 3)


def test_an_interrupted_scan_is_written_and_flagged(tmp_path: Path, matching: Matching) -> None:
    written = render_reports([NMAP_XML / "interrupted.xml"], ["json"], tmp_path, matching=matching)
    assert (written.incomplete, written.hosts_up) == (True, 1)
    assert load(tmp_path / "report.json")["scan"]["incomplete"] is True


def test_a_failing_format_leaves_the_others_written(tmp_path: Path) -> None:
    renderers = [
        ("json", renderer_for("json")),
        ("pdf", Broken("latexmk is not installed")),
        ("md", renderer_for("md")),
    ]
    with Spool() as spool, pytest.raises(ReportError) as caught:
        write_reports(build_report(spool), renderers, tmp_path, now=NOW)
    assert str(caught.value) == (
        f"latexmk is not installed (other reports were written to {tmp_path})"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]
    assert load(tmp_path / "report.json")["services"]


class Filling(Renderer):
    """A format that fills the disk half way through its file."""

    extension = "csv"

    def render(self, report: Report, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            out.write("address,port\n10.0.0.1,22\n")
            out.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_names_the_file_removes_it_and_other_formats_are_written(
    tmp_path: Path,
) -> None:
    # Before: an ENOSPC in one format stopped every later format with a message naming no path.
    renderers = [("csv", Filling()), ("json", renderer_for("json")), ("md", renderer_for("md"))]
    with Spool() as spool, pytest.raises(ReportError) as caught:
        write_reports(build_report(spool), renderers, tmp_path, now=NOW)
    assert str(caught.value) == (
        f"cannot write report {tmp_path / 'report.csv'}: No space left on device "
        f"(other reports were written to {tmp_path})"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]


def test_every_failing_format_is_named(tmp_path: Path) -> None:
    renderers = [("pdf", Broken("no TeX")), ("csv", Broken("disk full"))]
    with (
        Spool() as spool,
        pytest.raises(ReportError, match=r"^no TeX; disk full \(no report was written\)$"),
    ):
        write_reports(build_report(spool), renderers, tmp_path, now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_write_reports_counts_what_it_wrote(tmp_path: Path) -> None:
    with Spool() as spool:
        report = build_report(spool)
        written = write_reports(report, [("csv", renderer_for("csv"))], tmp_path, now=NOW)
    assert written.files == (tmp_path / "report.csv",)
    assert (written.hosts_up, written.incomplete) == (3, True)
    assert written.services == len(report.services)
    assert written.vulnerable == sum(g.status == "vulnerable" for g in report.services) > 0
    assert written.groups == report.services


def test_findings_new_since_the_previous_scan_of_the_scope(
    tmp_path: Path, matching: Matching
) -> None:
    tracking = Tracking(history=str(tmp_path / "history.sqlite"))
    # The day before, the lab's ports were scanned and only the two SSH servers found.
    lab = (NMAP_XML / "lab-basic.xml").read_text("utf-8")
    scaninfo = re.findall(r"<scaninfo [^>]*>", lab)
    two = (NMAP_XML / "same-service-two-hosts.xml").read_text("utf-8")
    two = re.sub(r"<scaninfo [^>]*>", "".join(scaninfo), two)
    first_xml = tmp_path / "two.xml"
    first_xml.write_text(re.sub(r' start="\d+"', ' start="1795797000"', two), "utf-8")
    first = render_reports([first_xml], ["json"], tmp_path / "1",
                           matching=matching, targets=["lab"], tracking=tracking)  # fmt: skip
    assert first.new == ()  # nothing to compare with
    second = render_reports([NMAP_XML / "lab-basic.xml"], ["json"], tmp_path / "2",
                            matching=matching, targets=["lab"], tracking=tracking)  # fmt: skip
    assert second.new and second.history_problem == ""
    seen_before = {("10.213.77.11", 22), ("10.213.77.14", 22)}
    listed = {(loc.address, loc.port) for g in second.new for loc in g.locations}
    assert not listed & seen_before
    assert {address for address, _ in listed} <= set(LAB)
    # Another scan of the scope that looked at other ports is no baseline.
    third = render_reports([NMAP_XML / "same-service-two-hosts.xml"], ["json"], tmp_path / "3",
                           matching=matching, targets=["lab"], tracking=tracking)  # fmt: skip
    assert third.new == ()
    warnings = load(tmp_path / "3" / "report.json")["scan"]["warnings"]
    assert any(w.startswith("Not compared with earlier scans") for w in warnings)


def test_merge_reports_of_two_reports(tmp_path: Path, matching: Matching) -> None:
    for name, xml in (("a", "lab-basic.xml"), ("b", "ipv6.xml")):
        render_reports([NMAP_XML / xml], ["json"], tmp_path / "fleet" / name, matching=matching)
    out = tmp_path / "fleet" / "merged"
    merged = merge_reports([DirectorySource(tmp_path / "fleet")], ["json", "md"], out, now=NOW)
    assert merged.written.files == (out / "report.json", out / "report.md")
    assert [p.source for p in merged.parts] == [
        str(tmp_path / "fleet" / name / "report.json") for name in ("a", "b")
    ]
    assert (merged.missing_shards, merged.coverage) == ((), ())
    data = load(out / "report.json")
    assert merged.written.hosts_up == data["scan"]["hosts_up"] == 7
    assert [h["address"] for h in data["hosts"]][:5] == LAB
    # Merging again into the same place does not read the previous merge back.
    again = merge_reports([DirectorySource(tmp_path / "fleet")], ["json"], out, now=NOW)
    assert len(again.parts) == 2
    assert again.written.hosts_up == 7


def test_diff_of_two_report_files(tmp_path: Path, matching: Matching) -> None:
    render_reports([NMAP_XML / "lab-basic.xml"], ["json"], tmp_path / "old", matching=matching)
    render_reports([NMAP_XML / "ipv6.xml"], ["json"], tmp_path / "new", matching=matching)
    old, new = tmp_path / "old" / "report.json", tmp_path / "new" / "report.json"
    with diff_report_files(old, new) as changes:
        assert (changes.previous.location, changes.current.location) == (str(old), str(new))
        (missing,) = changes.hosts  # not found up: unknown, not fixed
        assert list(changes.detail.host_addresses(missing)) == LAB
        assert changes.unknown > 0  # the old scan's findings where the new one did not look
        assert any("did not look at the same ports" in note for note in changes.notes)
        assert changes.count("fixed") == changes.port_count("closed") == 0
        opened = {loc.address for p in changes.ports for loc in changes.detail.port_locations(p)}
        assert opened == {"fd42:b7e1:77::11", "fd42:b7e1:77::13"}
        assert changes.count("new")
        appeared = {loc.address for g in changes.groups("new") for loc in g.locations}
        assert appeared <= opened
        assert changes.count("reappeared") == 0  # a throwaway store: nothing seen before


def test_diff_of_a_report_with_itself_is_empty(tmp_path: Path, matching: Matching) -> None:
    render_reports([NMAP_XML / "vulners.xml"], ["json"], tmp_path, matching=matching)
    with diff_report_files(tmp_path, tmp_path / "report.json") as changes:  # a directory, its file
        assert changes.empty
        assert changes.still_open > 0


def test_default_output_dir_is_named_by_the_time_and_unique_per_run(tmp_path: Path) -> None:
    # Two runs started in the same second shared reports/<time>/ and one report was lost.
    first = default_output_dir(NOW, tmp_path / "reports")
    second = default_output_dir(NOW, tmp_path / "reports")
    assert first == tmp_path / "reports" / "20261130T120000Z"
    assert second == tmp_path / "reports" / "20261130T120000Z-2"
    assert first.is_dir() and second.is_dir()


def test_two_runs_in_the_same_second_keep_both_reports(tmp_path: Path, matching: Matching) -> None:
    outs = [default_output_dir(NOW, tmp_path) for _ in range(2)]
    for out, name in zip(outs, ("lab-basic.xml", "vulners.xml"), strict=True):
        render_reports([NMAP_XML / name], ["json"], out, matching=matching, now=NOW)
    inputs = [load(out / "report.json")["scan"]["inputs"] for out in outs]
    assert inputs == [[str(NMAP_XML / "lab-basic.xml")], [str(NMAP_XML / "vulners.xml")]]


def test_a_symlink_named_like_a_report_is_replaced_not_followed(
    tmp_path: Path, matching: Matching
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").symlink_to(victim)
    render_reports([NMAP_XML / "lab-basic.xml"], ["json"], out, matching=matching, now=NOW)
    assert victim.read_text("utf-8") == "keep me\n"
    assert not (out / "report.json").is_symlink()
    assert load(out / "report.json")["services"]


def test_prepare_output_refuses_a_symlinked_raw_xml_folder(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "nmap").symlink_to(elsewhere)
    with pytest.raises(OutputError, match=r"/out/nmap is a symbolic link"):
        prepare_output(tmp_path / "out")


def test_prepare_output_creates_the_raw_xml_folder(tmp_path: Path) -> None:
    raw = prepare_output(tmp_path / "out" / "scan")
    assert raw == tmp_path / "out" / "scan" / "nmap"
    assert raw.is_dir()
    assert prepare_output(tmp_path / "out" / "scan") == raw  # already there: fine


def test_prepare_output_names_a_directory_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory\n")
    target = tmp_path / "file" / "scan"
    with pytest.raises(
        OutputError, match=f"^cannot create output directory {re.escape(str(target))}: "
    ):
        prepare_output(target)


def test_check_output_dir_writes_there_before_a_scan(tmp_path: Path) -> None:
    check_output_dir(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["nmap"]  # no probe left
    assert not any((tmp_path / "out" / "nmap").iterdir())
    (tmp_path / "file").write_text("not a directory\n")
    with pytest.raises(OutputError, match=r"^cannot create output directory"):
        check_output_dir(tmp_path / "file" / "out")


@needs_nmap
def test_nmaps_own_message_is_shown_and_recorded(tmp_path: Path, matching: Matching) -> None:
    # An option Nmap does not know: it stops while reading its options, before any packet.
    request = ScanRequest(
        scope=build_scope(parse_list(["192.0.2.1"], "t")), targets=("192.0.2.1",),
        user_args=("--bogus-option",), workers=1, host_timeout=None, formats=("json", "md"),
        directory=tmp_path,
    )  # fmt: skip
    with pytest.raises(NmapError) as failed:
        scan(request, lambda jobs: lambda index, status: None, matching)
    message = str(failed.value)
    assert "unrecognized option '--bogus-option'" in message
    assert "\n" not in message
    assert message.endswith(f"; partial results were written to {tmp_path}")
    data = load(tmp_path / "report.json")["scan"]
    (error,) = data["errors"]
    assert error.startswith("nmap job 1 exited with 255: ")
    assert "unrecognized option '--bogus-option' | See the output of nmap -h" in error
    assert (data["incomplete"], data["outcome"]) == (True, "failed")
    assert "unrecognized option" in (tmp_path / "report.md").read_text("utf-8")


def test_given_names_and_unresolved_targets_reach_the_report(
    tmp_path: Path, matching: Matching
) -> None:
    written = render_reports(
        [NMAP_XML / "lab-basic.xml"], ["json", "md", "html"], tmp_path, matching=matching,
        hostnames={"10.213.77.12": "web.lab.test"}, unresolved=["gone.invalid", "old.invalid"],
    )  # fmt: skip
    assert written.unresolved == ("gone.invalid", "old.invalid")
    data = load(tmp_path / "report.json")
    assert data["scan"]["unresolved"] == ["gone.invalid", "old.invalid"]
    assert data["scan"]["warnings"][0] == (
        "2 target(s) did not resolve to an address and were not scanned: gone.invalid, old.invalid"
    )
    hosts = {h["address"]: h["hostnames"] for h in data["hosts"]}
    assert hosts["10.213.77.12"][0] == "web.lab.test"
    assert all(not names for address, names in hosts.items() if address != "10.213.77.12")
    markdown = (tmp_path / "report.md").read_text("utf-8")
    assert "Targets not resolved" in markdown and "gone.invalid" in markdown
    assert "targets not resolved" in (tmp_path / "report.html").read_text("utf-8")


class Logged(Renderer):
    """A format that fails and keeps its log beside its file (as the PDF's TeX log)."""

    extension = "pdf"

    def render(self, report: Report, path: Path) -> None:
        kept = path.with_name(path.name + ".log")
        kept.write_text("! Undefined control sequence.\n", encoding="utf-8")
        raise ReportError(f"LaTeX failed to compile the PDF report; log kept at {kept}")


def test_a_failed_format_names_its_log_by_the_report_name(tmp_path: Path) -> None:
    with Spool() as spool, pytest.raises(ReportError) as caught:
        write_reports(build_report(spool), [("pdf", Logged())], tmp_path, now=NOW)
    kept = tmp_path / "report.pdf.log"
    assert str(caught.value) == (
        f"LaTeX failed to compile the PDF report; log kept at {kept} (no report was written)"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf.log"]
