"""Changes between real lab scans: from the history (SQLite and PostgreSQL) and from two JSON
reports; and their JSON section, valid against its schema."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from brulee.core.history import LISTED, Changes, FindingChange, PortChange
from brulee.core.vulnerability import ESTABLISHED
from brulee.errors import ParseError, UsageError
from brulee.history.diff import diff_scans
from brulee.history.store import HistoryStore
from brulee.pipeline import diff_report_files
from brulee.report.json import write_changes

from .conftest import LabReports

FIRST, CHANGED, BACK = (f"2026-{day}T16:29:57+00:00" for day in ("11-28", "12-08", "12-18"))
WEB, FTP, HOSTILE = "10.213.77.12", "10.213.77.13", "10.213.77.15"
SSH, PROFTPD = "OpenSSH 8.2p1 Ubuntu 4ubuntu0.5", "ProFTPD 1.3.5"
OLD_APACHE, NEW_APACHE = "Apache httpd 2.4.49", "Apache httpd 2.4.51"
TRAVERSALS = ("CVE-2021-41773", "CVE-2021-42013")  # fixed in Apache 2.4.51
ROOT = Path(__file__).parents[2]

Located = set[tuple[str, str, str, int]]


def located(changes: Changes, change: FindingChange) -> Located:
    """Every finding of a kind, each at each location, as the store streams them."""
    return {
        (g.id, loc.address, loc.protocol, loc.port)
        for g in changes.groups(change)
        for loc in changes.detail.finding_locations(g)
    }


def at(ids: Iterable[str], address: str, port: int) -> Located:
    return {(v, address, "tcp", port) for v in ids}


def dated(changes: Changes, change: FindingChange) -> set[str]:
    return {
        loc.first_seen
        for g in changes.groups(change)
        for loc in changes.detail.finding_locations(g)
    }


def ports(changes: Changes, change: PortChange) -> set[tuple[str, str, int, str, str]]:
    return {
        (loc.address, loc.protocol, loc.port, p.service, p.previous)
        for p in changes.ports
        if p.change == change
        for loc in changes.detail.port_locations(p)
    }


def test_upgrade_closed_port_new_port_and_host_gone(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (first, changed, _) = recorded
    changes = diff_scans(store, first, changed)
    assert (changes.previous.id, changes.previous.scanned_at) == (first, FIRST)
    assert (changes.current.id, changes.current.scanned_at) == (changed, CHANGED)
    assert changes.notes == ()

    assert located(changes, "new") == at(lab_reports.vulnerabilities(SSH), FTP, 22)
    assert {g.service for g in changes.groups("new")} == {SSH}
    assert dated(changes, "new") == {CHANGED}
    assert all(g.count == 1 for g in changes.groups("new"))
    assert changes.groups("reappeared") == ()

    assert located(changes, "fixed") == (
        at(lab_reports.vulnerabilities(PROFTPD), FTP, 21) | at(TRAVERSALS, WEB, 80)
    )
    assert {g.service for g in changes.groups("fixed") if g.id in TRAVERSALS} == {OLD_APACHE}
    assert dated(changes, "fixed") == {FIRST}
    # The first scan's findings, less those fixed and those of the host not seen again.
    gone = changes.count("fixed") + len(lab_reports.vulnerabilities(OLD_APACHE))
    assert changes.still_open == store.get(first).findings - gone == 36
    assert changes.unknown == len(lab_reports.vulnerabilities(OLD_APACHE))

    assert ports(changes, "new") == {(FTP, "tcp", 22, SSH, "")}
    assert ports(changes, "closed") == {(FTP, "tcp", 21, PROFTPD, "")}
    assert ports(changes, "changed") == {(WEB, "tcp", 80, NEW_APACHE, OLD_APACHE)}
    assert [(h.change, h.count, h.addresses) for h in changes.hosts] == [("missing", 1, (HOSTILE,))]
    assert list(changes.detail.host_addresses(changes.hosts[0])) == [HOSTILE]
    assert not changes.empty


def test_most_urgent_first_and_the_first_locations_listed(
    recorded: tuple[HistoryStore, list[int]],
) -> None:
    store, (first, changed, _) = recorded
    changes = diff_scans(store, first, changed)
    kinds = [g.change for g in changes.findings]
    assert kinds == sorted(kinds, key=("new", "reappeared", "fixed").index)
    fixed = changes.groups("fixed")
    assert fixed[0].kev and fixed[0].id in TRAVERSALS  # known exploited first
    mixed = 0
    for change in ("new", "reappeared", "fixed"):
        possible = [g.confidence not in ESTABLISHED for g in changes.groups(change)]
        assert possible == sorted(possible), change  # established findings first
        mixed += any(possible) and not all(possible)
    assert mixed  # the lab's changes hold both
    for g in changes.findings:
        streamed = tuple(changes.detail.finding_locations(g))
        assert len(streamed) == g.count and g.locations == streamed[:LISTED]


def test_findings_back_after_a_fix_keep_their_first_date(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (_, changed, back) = recorded
    changes = diff_scans(store, changed, back)
    assert changes.groups("new") == ()
    assert located(changes, "reappeared") == (
        at(lab_reports.vulnerabilities(PROFTPD), FTP, 21)
        | at(lab_reports.vulnerabilities(OLD_APACHE), HOSTILE, 80)
        | at(TRAVERSALS, WEB, 80)
    )
    assert dated(changes, "reappeared") == {FIRST}
    assert located(changes, "fixed") == at(lab_reports.vulnerabilities(SSH), FTP, 22)
    assert dated(changes, "fixed") == {CHANGED}
    assert ports(changes, "new") == {
        (FTP, "tcp", 21, PROFTPD, ""),
        (HOSTILE, "tcp", 80, OLD_APACHE, ""),
    }
    assert ports(changes, "closed") == {(FTP, "tcp", 22, SSH, "")}
    assert ports(changes, "changed") == {(WEB, "tcp", 80, OLD_APACHE, NEW_APACHE)}
    assert changes.hosts == ()


def test_no_changes_between_identical_scans(lab_reports: LabReports) -> None:
    with diff_report_files(lab_reports.first, lab_reports.first) as changes:
        assert changes.empty
        assert changes.still_open == 51


def _flat(changes: Changes) -> dict[str, Any]:
    """Everything a comparison found, its locations streamed, less the scans compared."""
    return {
        "findings": {(c, *f) for c in ("new", "reappeared", "fixed") for f in located(changes, c)},
        "ports": {(c, *p) for c in ("new", "closed", "changed") for p in ports(changes, c)},
        "hosts": {(h.change, a) for h in changes.hosts for a in changes.detail.host_addresses(h)},
        "counts": (changes.still_open, changes.unknown),
    }


def test_diff_of_two_reports_agrees_with_the_history(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (first, changed, back) = recorded
    with diff_report_files(lab_reports.first, lab_reports.changed) as from_files:
        assert _flat(from_files) == _flat(diff_scans(store, first, changed))
        assert (from_files.previous.kind, from_files.previous.location) == (
            "report",
            str(lab_reports.first),
        )
        assert from_files.previous.name == str(lab_reports.first)  # never "scan 1"
        assert (from_files.previous.scanned_at, from_files.current.scanned_at) == (FIRST, CHANGED)
        flat = _flat(from_files)
    with diff_report_files(lab_reports.first.parent, lab_reports.changed.parent) as directories:
        assert _flat(directories) == flat
    # Two files know nothing of earlier scans: what came back is new there.
    with diff_report_files(lab_reports.changed, lab_reports.back) as later:
        assert later.groups("reappeared") == ()
        assert located(later, "new") == located(diff_scans(store, changed, back), "reappeared")
        assert dated(later, "new") == {BACK}


def test_diff_warns_when_old_is_newer_than_new(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, (first, changed, _) = recorded
    (note,) = diff_scans(store, changed, first).notes
    assert note.startswith(f"scan {changed} (2026-12-08 16:29:57Z) is newer than scan {first}")
    with diff_report_files(lab_reports.changed, lab_reports.first) as backwards:
        (note,) = backwards.notes
    assert note.startswith(f"{lab_reports.changed} (2026-12-08 16:29:57Z) is newer than")


def test_diff_reports_reads_only_brulee_reports(tmp_path: Path, lab_reports: LabReports) -> None:
    with (
        pytest.raises(UsageError, match="no such directory or report file"),
        diff_report_files(tmp_path / "absent.json", lab_reports.first),
    ):
        pass
    junk = tmp_path / "junk.json"
    junk.write_text('{"hello": 1}')
    with (
        pytest.raises(ParseError, match="not a brulee report"),
        diff_report_files(lab_reports.first, junk),
    ):
        pass


def test_unknown_scan_ids_are_a_usage_error(recorded: tuple[HistoryStore, list[int]]) -> None:
    store, (first, _, back) = recorded
    with pytest.raises(UsageError, match=f"no scan {back + 1} in the history store"):
        diff_scans(store, first, back + 1)


def test_changes_json_matches_its_schema(recorded: tuple[HistoryStore, list[int]]) -> None:
    store, (first, changed, _) = recorded
    out = io.StringIO()
    write_changes(out, diff_scans(store, first, changed))
    data = json.loads(out.getvalue())
    defs = json.loads((ROOT / "schema" / "report.schema.json").read_text())["$defs"]
    jsonschema.validate(data, {"$defs": defs, "$ref": "#/$defs/changes"})
    assert data["hosts"] == [{"change": "missing", "count": 1, "addresses": [HOSTILE]}]
    (version,) = [p for p in data["ports"] if p["change"] == "changed"]
    assert version == {
        "change": "changed", "service": NEW_APACHE, "previous": OLD_APACHE, "count": 1,
        "locations": [{"address": WEB, "hostname": "", "protocol": "tcp", "port": 80}],
    }  # fmt: skip
    assert data["current"] == {
        "id": changed, "name": f"scan {changed}", "kind": "scan", "scanned_at": CHANGED,
        "recorded_at": store.get(changed).recorded_at, "site": None, "shard": None,
        "outcome": "complete", "incomplete": False, "ports": "tcp:21-22,25,80;udp:53",
        "options": "", "location": store.get(changed).location,
    }  # fmt: skip
    counts = data["counts"]
    assert (counts["fixed"], counts["still_open"], counts["missing_hosts"]) == (
        sum(g["count"] for g in data["findings"] if g["change"] == "fixed"), 36, 1,
    )  # fmt: skip
    assert sum(len(g["locations"]) for g in data["findings"]) == sum(
        counts[k] for k in ("new", "reappeared", "fixed")
    )
