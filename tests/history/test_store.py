"""The history store: where it is, what it records and lists, scopes, migrations, and errors
that say what to do."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from brulee.core.scan import Shard
from brulee.errors import EXIT_RUNTIME, HistoryError, UsageError
from brulee.fleet.merge import read_report
from brulee.history.migrations import MIGRATIONS
from brulee.history.store import Baseline, HistoryStore, open_store, report_scope, scope_key
from brulee.match.sources import Matching
from brulee.match.vulners import VulnersSource
from brulee.pipeline import render_reports

from .conftest import NMAP, LabReports, _free_port, first_seen_dates

FIRST = "2026-11-28T16:29:57+00:00"


def test_where_the_store_is(tmp_path: Path) -> None:
    xdg = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    beside_db = {"BRULEE_DB": str(tmp_path / "db" / "vulndb.sqlite")}
    chosen = {**beside_db, "BRULEE_HISTORY": str(tmp_path / "chosen.sqlite")}
    cases = {
        str(tmp_path / "xdg" / "brulee" / "history.sqlite"): open_store(None, environ=xdg),
        str(tmp_path / "db" / "history.sqlite"): open_store(None, environ=beside_db),
        str(tmp_path / "chosen.sqlite"): open_store(None, environ=chosen),
        str(tmp_path / "url.sqlite"): open_store(f"sqlite://{tmp_path}/url.sqlite"),
        str(tmp_path / "a" / "b.sqlite"): open_store(tmp_path / "a" / "b.sqlite"),
    }
    for where, store in cases.items():
        with store:
            assert store.where == where
            assert Path(where).is_file()
            assert store.schema_version == len(MIGRATIONS)
    for url in ("mysql://db/history", "sqlite://"):
        with pytest.raises(UsageError, match="expected a path, sqlite:///PATH or postgresql://"):
            open_store(url)


def test_a_file_that_is_no_store_is_a_runtime_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"not a database, really" * 100)
    with pytest.raises(HistoryError, match=f"{path}.*not a database") as caught:
        open_store(path)
    assert caught.value.exit_code == EXIT_RUNTIME


def test_postgresql_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    with pytest.raises(HistoryError, match=r"install brulee\[postgres\]") as caught:
        open_store("postgresql://scanner:s3cret@db.example.test/brulee")
    assert "s3cret" not in str(caught.value)
    assert "postgresql://scanner:***@db.example.test/brulee" in str(caught.value)


def test_unreachable_postgresql_is_a_runtime_error_without_the_password() -> None:
    pytest.importorskip("psycopg", reason="needs psycopg (the postgres extra)")
    url = f"postgresql://scanner:s3cret@127.0.0.1:{_free_port()}/brulee?sslmode=disable"
    with pytest.raises(HistoryError, match="cannot connect to the history store") as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value)
    assert caught.value.exit_code == EXIT_RUNTIME


def test_scope_key() -> None:
    key = scope_key(["10.0.0.0/24", "Web.Example.COM.", "10.0.1.7"])
    assert key == scope_key([" 10.0.1.7/32", "web.example.com", "10.0.0.9/24", "10.0.0.0/24"])
    assert len(key) == 16
    assert key != scope_key(["10.0.0.0/24", "web.example.com"])
    assert key != scope_key(["10.0.0.0/24", "web.example.com", "10.0.1.7"], site="dc1")
    sharded = scope_key(["10.0.0.0/16"], shard=Shard(1, 4))
    assert sharded not in {
        scope_key(["10.0.0.0/16"]),
        scope_key(["10.0.0.0/16"], shard=Shard(2, 4)),
    }
    assert scope_key(["fd42:b7e1:77:0::1"]) == scope_key(["FD42:B7E1:77::1/128"])


def test_recorded_scans(recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports) -> None:
    store, (first, changed, back) = recorded
    ref = store.get(first)
    assert (ref.kind, ref.location, ref.targets) == (
        "scan",
        str(lab_reports.first.parent),
        ("10.213.77.11-15",),
    )
    assert (ref.started, ref.scanned_at, ref.incomplete, ref.site, ref.shard) == (
        FIRST,
        FIRST,
        False,
        "",
        "",
    )
    # 54: ProFTPD 1.3.5 gains CVE-2016-3125 and CVE-2017-7418 (update-in-range rule), focal
    # OpenSSH 4ubuntu0.5 loses CVE-2021-28041 (fixed in 4ubuntu0.2, USN-4762-1); 51: the three
    # Debian and Ubuntu OpenSSH lose CVE-2008-3844, which needs Red Hat Enterprise Linux
    assert (ref.hosts_up, ref.hosts_down, ref.ports, ref.findings) == (5, 0, 10, 51)
    assert (store.get(changed).hosts_up, store.get(changed).ports) == (4, 9)
    assert ref.recorded_at > ref.scanned_at
    assert store.list_scans() == [store.get(i) for i in (back, changed, first)]
    assert store.list_scans(limit=1) == [store.get(back)]

    with read_report(lab_reports.first) as report:
        scope = report_scope(report)
    assert {s.scope for s in store.list_scans()} == {scope}
    assert store.list_scans(scope=scope) == store.list_scans()
    assert store.list_scans(scope="elsewhere") == []
    assert store.baseline(store.get(back)).scan == store.get(changed)
    assert store.baseline(store.get(changed)).scan == ref
    assert store.baseline(ref) == Baseline(None, ())


def test_record_refuses_an_unknown_kind(
    recorded: tuple[HistoryStore, list[int]], lab_reports: LabReports
) -> None:
    store, _ = recorded
    with read_report(lab_reports.first) as report, pytest.raises(ValueError, match="kind 'rescan'"):
        store.record(report, kind="rescan", location="")  # type: ignore[arg-type]
    assert len(store.list_scans()) == 3


NOTE = ("ALTER TABLE scans ADD COLUMN note TEXT NOT NULL DEFAULT ''",)
"""A migration this brulee does not have yet, to upgrade a store to."""


def test_a_failed_scan_is_the_baseline_only_when_there_is_nothing_else(
    history_url: str, lab_reports: LabReports
) -> None:
    with open_store(history_url) as store:
        with read_report(lab_reports.first) as report:
            run = replace(report.scan.run, failed=True, errors=("nmap job 1 exited with 1",))
            failed = store.get(store.record(replace(report, scan=replace(report.scan, run=run)),
                                            kind="scan", location="failed"))  # fmt: skip
        with read_report(lab_reports.changed) as report:
            changed = store.get(store.record(report, kind="scan", location="changed"))
        baseline = store.baseline(changed)
        assert baseline.scan == failed
        (note,) = baseline.notes
        assert note.startswith(
            f"No complete scan of this scope looked at the same ports with the same options: "
            f"compared with scan {failed.id}, which failed (Nmap reported an error)."
        )
        # Once a good scan exists, the failed one is skipped, and said so.
        with read_report(lab_reports.back) as report:
            back = store.get(store.record(report, kind="scan", location="back"))
        assert store.baseline(back).scan == changed
        assert store.baseline(back).notes == ()  # dated before the good one: not in between


def test_a_store_of_schema_2_keeps_its_dates(history_url: str, lab_reports: LabReports) -> None:
    """Schema 3 keeps first-seen dates per port: a store written by the brulee before, with a
    row per finding, keeps every date it knew; its scans keep how they ended."""
    old = "2026-10-01T00:00:00+00:00"
    web = "10.213.77.12"
    with read_report(lab_reports.first) as report:
        scope = report_scope(report)
    ssh = lab_reports.vulnerabilities("OpenSSH 8.2p1 Ubuntu 4ubuntu0.5")
    with open_store(history_url, migrations=MIGRATIONS[:2]) as store:  # as it was written
        assert store.schema_version == 2
        db = store._db
        ((scan_id,),) = db.execute(
            "INSERT INTO scans (recorded_at, scanned_at, kind, scope, targets, started, "
            "finished, incomplete, hosts_up, hosts_down, site, shard, location) VALUES "
            "(?, ?, 'scan', ?, '[]', ?, '', 1, 1, 0, '', '', 'old') RETURNING id",
            (old, old, scope, old),
        )
        db.execute("INSERT INTO scan_services VALUES (?, 0, 'k', 'OpenSSH 8.2p1', 'OpenSSH', "
                   "'8.2p1', 'tcp', 'vulnerable')", (scan_id,))  # fmt: skip
        db.executemany("INSERT INTO scan_findings VALUES (?, 0, ?, 'high', 7.5, 0, 'certain')",
                       [(scan_id, cve) for cve in ssh[:2]])  # fmt: skip
        db.execute("INSERT INTO scan_ports VALUES (?, ?, 'tcp', 22, 0)", (scan_id, web))
        db.execute("INSERT INTO scan_hosts VALUES (?, ?, '')", (scan_id, web))
        db.executemany("INSERT INTO first_seen VALUES ('', ?, 'tcp', 22, ?, ?, ?)",
                       [(web, cve, old, scan_id) for cve in ssh[:2]])  # fmt: skip
    with open_store(history_url) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.get(scan_id).outcome == "interrupted"
        with read_report(lab_reports.first) as report:
            store.record(report, kind="scan", location="first")
        dates = {cve: seen for address, port, cve, seen in first_seen_dates(store)
                 if (address, port) == (web, 22)}  # fmt: skip
    assert dates == {cve: old if cve in ssh[:2] else FIRST for cve in ssh}


def test_an_older_store_is_migrated_at_open(history_url: str, lab_reports: LabReports) -> None:
    with open_store(history_url) as store, read_report(lab_reports.first) as report:
        first = store.record(report, kind="scan", location="first")
    with open_store(history_url, migrations=(*MIGRATIONS, NOTE)) as store:
        assert store.schema_version == len(MIGRATIONS) + 1
        assert store.get(first).findings == 51  # kept
        with read_report(lab_reports.changed) as report:
            changed = store.record(report, kind="scan", location="changed")
        assert store._db.execute("SELECT id, note FROM scans ORDER BY id") == [
            (first, ""),
            (changed, ""),
        ]
    with open_store(history_url, migrations=(*MIGRATIONS, NOTE)) as store:  # nothing to do
        assert store.schema_version == len(MIGRATIONS) + 1
    with pytest.raises(HistoryError, match=r"newer than this brulee knows.*upgrade brulee"):
        open_store(history_url)


def test_first_seen_is_the_earliest_scan_whatever_the_order_recorded(
    history_url: str, lab_reports: LabReports
) -> None:
    with open_store(history_url) as store:
        for path in (
            lab_reports.changed,
            lab_reports.first,
        ):  # a late `brulee report` of the older scan
            with read_report(path) as report:
                store.record(report, kind="report", location=str(path))
        seen = [row for row in first_seen_dates(store) if row[:2] == ("10.213.77.12", 80)]
    assert seen == [
        ("10.213.77.12", 80, cve, FIRST)
        for cve in sorted(lab_reports.vulnerabilities("Apache httpd 2.4.49"))
    ]


def test_site_and_shard_make_the_scope(history_url: str, tmp_path: Path) -> None:
    matching = Matching((VulnersSource(),))
    refs = []
    with open_store(history_url) as store:
        for site in ("dc1", "dc2"):
            render_reports([NMAP / "vulners.xml"], ["json"], tmp_path / site, matching=matching,
                           targets=["10.213.77.0/24"], shard=Shard(2, 3), site=site)  # fmt: skip
            with read_report(tmp_path / site) as report:
                assert (report.scan.shard, report.scan.run.incomplete) == (Shard(2, 3), False)
                refs.append(store.get(store.record(report, kind="scan", location=site)))
        assert [(r.site, r.shard) for r in refs] == [("dc1", "2/3"), ("dc2", "2/3")]
        assert refs[0].scope != refs[1].scope == scope_key(["10.213.77.0/24"], "dc2", Shard(2, 3))
        assert store.baseline(refs[1]) == Baseline(None, ())
        # The same address at two sites is two machines: two findings, two first dates.
        sites = [(site, len(first_seen_dates(store, site))) for site in ("dc1", "dc2")]
        assert sites == [("dc1", refs[0].findings), ("dc2", refs[1].findings)]
        assert refs[0].findings > 0
