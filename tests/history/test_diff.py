"""Changes between real lab scans: from the history (SQLite and PostgreSQL) and from two JSON
reports; and their JSON section, valid against its schema."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.history import Changes, ServiceChange, TrackedFinding, TrackedPort
from brulee.errors import ParseError, UsageError
from brulee.history.diff import diff_scans
from brulee.history.store import HistoryStore, finding_order
from brulee.pipeline import diff_report_files as diff_reports
from brulee.report.json import changes_json

from .conftest import LabReports

FIRST, CHANGED, BACK = (f"2026-{day}T16:29:57+00:00" for day in ("11-28", "12-08", "12-18"))
WEB, FTP, HOSTILE = "10.213.77.12", "10.213.77.13", "10.213.77.15"
SSH, PROFTPD = "OpenSSH 8.2p1 Ubuntu 4ubuntu0.5", "ProFTPD 1.3.5"
OLD_APACHE, NEW_APACHE = "Apache httpd 2.4.49", "Apache httpd 2.4.51"
TRAVERSALS = ("CVE-2021-41773", "CVE-2021-42013")  # fixed in Apache 2.4.51
ROOT = Path(__file__).parents[2]

Located = set[tuple[str, str, str, int]]


def located(findings: Iterable[TrackedFinding]) -> Located:
    return {(f.id, f.address, f.protocol, f.port) for f in findings}


def at(ids: Iterable[str], address: str, port: int) -> Located:
    return {(v, address, "tcp", port) for v in ids}


def dated(findings: Iterable[TrackedFinding]) -> set[tuple[str, int | None]]:
    return {(f.first_seen, f.age_days) for f in findings}


def test_upgrade_closed_port_new_port_and_host_gone(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (first, changed, _) = recorded
    changes = diff_scans(store, first, changed)
    assert (changes.previous.id, changes.previous.scanned_at) == (first, FIRST)
    assert (changes.current.id, changes.current.scanned_at) == (changed, CHANGED)

    assert located(changes.new_findings) == at(lab_reports.vulnerabilities(SSH), FTP, 22)
    assert {f.service for f in changes.new_findings} == {SSH}
    assert dated(changes.new_findings) == {(CHANGED, 0)}
    assert list(changes.new_findings) == sorted(changes.new_findings, key=finding_order)
    assert changes.reappeared_findings == ()

    assert located(changes.fixed_findings) == (
        at(lab_reports.vulnerabilities(PROFTPD), FTP, 21) | at(TRAVERSALS, WEB, 80)
    )
    assert {f.service for f in changes.fixed_findings if f.port == 80} == {OLD_APACHE}
    assert dated(changes.fixed_findings) == {(FIRST, None)}
    # The first scan's findings, less those fixed and those of the host not seen again.
    gone = len(changes.fixed_findings) + len(lab_reports.vulnerabilities(OLD_APACHE))
    assert changes.still_open == store.get(first).findings - gone == 39

    assert changes.new_ports == (TrackedPort(FTP, "", "tcp", 22, SSH),)
    assert changes.closed_ports == (TrackedPort(FTP, "", "tcp", 21, PROFTPD),)
    assert changes.changed_services == (ServiceChange(WEB, "", "tcp", 80, OLD_APACHE, NEW_APACHE),)
    assert changes.missing_hosts == (HOSTILE,)
    assert not changes.empty


def test_findings_back_after_a_fix_keep_their_first_date(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (_, changed, back) = recorded
    changes = diff_scans(store, changed, back)
    assert changes.new_findings == ()
    assert located(changes.reappeared_findings) == (
        at(lab_reports.vulnerabilities(PROFTPD), FTP, 21)
        | at(lab_reports.vulnerabilities(OLD_APACHE), HOSTILE, 80)
        | at(TRAVERSALS, WEB, 80)
    )
    assert dated(changes.reappeared_findings) == {(FIRST, 20)}
    assert located(changes.fixed_findings) == at(lab_reports.vulnerabilities(SSH), FTP, 22)
    assert dated(changes.fixed_findings) == {(CHANGED, None)}
    assert changes.new_ports == (
        TrackedPort(FTP, "", "tcp", 21, PROFTPD),
        TrackedPort(HOSTILE, "", "tcp", 80, OLD_APACHE),
    )
    assert changes.closed_ports == (TrackedPort(FTP, "", "tcp", 22, SSH),)
    assert changes.changed_services == (ServiceChange(WEB, "", "tcp", 80, NEW_APACHE, OLD_APACHE),)
    assert changes.missing_hosts == ()


def test_no_changes_between_identical_scans(lab_reports: LabReports) -> None:
    changes = diff_reports(lab_reports.first, lab_reports.first)
    assert changes.empty
    assert changes.still_open == 54


def _without_scans(changes: Changes) -> dict[str, Any]:
    return {
        name: getattr(changes, name)
        for name in Changes.__dataclass_fields__
        if name not in ("previous", "current")
    }


def test_diff_of_two_reports_agrees_with_the_history(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (first, changed, back) = recorded
    from_files = diff_reports(lab_reports.first, lab_reports.changed)
    assert _without_scans(from_files) == _without_scans(diff_scans(store, first, changed))
    assert (from_files.previous.kind, from_files.previous.location) == (
        "report",
        str(lab_reports.first),
    )
    assert (from_files.previous.scanned_at, from_files.current.scanned_at) == (FIRST, CHANGED)
    from_directories = diff_reports(lab_reports.first.parent, lab_reports.changed.parent)
    assert _without_scans(from_directories) == _without_scans(from_files)
    # Two files know nothing of earlier scans: what came back is new there.
    later = diff_reports(lab_reports.changed, lab_reports.back)
    assert later.reappeared_findings == ()
    assert located(later.new_findings) == located(
        diff_scans(store, changed, back).reappeared_findings
    )
    assert dated(later.new_findings) == {(BACK, 0)}


def test_diff_reports_reads_only_brulee_reports(tmp_path: Path, lab_reports: LabReports) -> None:
    with pytest.raises(UsageError, match="no such directory or report file"):
        diff_reports(tmp_path / "absent.json", lab_reports.first)
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    with pytest.raises(ParseError, match="not a brulee report"):
        diff_reports(lab_reports.first, junk)


def test_unknown_scan_ids_are_a_usage_error(recorded: tuple[HistoryStore, list[int]]) -> None:
    store, (first, _, back) = recorded
    with pytest.raises(UsageError, match=f"no scan {back + 1} in the history store"):
        diff_scans(store, first, back + 1)


def test_changes_json_matches_its_schema(recorded: tuple[HistoryStore, list[int]]) -> None:
    store, (first, changed, _) = recorded
    data = changes_json(diff_scans(store, first, changed))
    defs = json.loads((ROOT / "schema" / "report.schema.json").read_text())["$defs"]
    jsonschema.validate(data, {"$defs": defs, "$ref": "#/$defs/changes"})
    assert data["missing_hosts"] == [HOSTILE]
    assert data["changed_services"] == [{
        "address": WEB, "hostname": "", "protocol": "tcp", "port": 80,
        "old": OLD_APACHE, "new": NEW_APACHE,
    }]  # fmt: skip
    assert data["current"] == {
        "id": changed, "kind": "scan", "scanned_at": CHANGED,
        "recorded_at": store.get(changed).recorded_at, "site": None, "shard": None,
        "incomplete": False, "location": store.get(changed).location,
    }  # fmt: skip
    assert json.loads(json.dumps(data)) == data
