"""Reports first, history second: a history store that cannot be opened, migrated or written, or
that fails while the changes are read, costs its own part only. Every report is written with a
warning saying so, the suppression file still applies, the exit code is 3, and a scan is never
half-recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from brulee.cli.main import main
from brulee.core.report import Report
from brulee.fleet.merge import read_report
from brulee.history.store import open_store
from brulee.history.suppressions import load_suppressions
from brulee.history.tracking import Tracking
from brulee.pipeline import write_reports
from brulee.report.interface import Renderer, renderer_for
from tests import xmlsnippets as x

from .conftest import LabReports, PostgresServer, _free_port

FORMATS = ("json", "html", "md", "csv")
SSH = (
    '<service name="ssh" product="OpenSSH" version="7.4" method="probed" conf="10">'
    "<cpe>cpe:/a:openbsd:openssh:7.4</cpe></service>"
)
RULES = "- cve: CVE-2023-38408\n  reason: agent forwarding is off\n  author: secops\n"
WARNING = "the history store could not be used: "


def report(tmp_path: Path, history: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``brulee report`` with the history store ``history`` and a suppression file: exit 3,
    every format written, the suppression applied, the problem in the report and on stderr."""
    xml = x.write(tmp_path / "scan.xml", x.host("10.0.0.1", x.port(22, SSH)))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, "utf-8")
    out = tmp_path / "out"
    argv = ["report", str(xml), "-o", str(out), "-f", ",".join(FORMATS), "--history", history,
            "--suppressions", str(rules)]  # fmt: skip
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert f"brulee: error: {WARNING}" in err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"report.{f}" for f in FORMATS)
    data: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
    (warning,) = [w for w in data["scan"]["warnings"] if w.startswith(WARNING)]
    assert warning.endswith("suppressions kept in the store are not applied")
    assert data["changes"] is None and data["scan"]["history_id"] is None
    (suppressed,) = data["suppressed"]["services"]
    assert suppressed["vulnerabilities"][0]["id"] == "CVE-2023-38408"
    assert WARNING in (out / "report.html").read_text("utf-8")
    return data


def test_an_unreachable_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://scanner:s3cret@127.0.0.1:{_free_port()}/brulee?connect_timeout=2"
    data = report(tmp_path, url, capsys)
    assert "s3cret" not in json.dumps(data)
    assert "postgresql://scanner:***@127.0.0.1" in json.dumps(data)


def test_a_path_where_no_store_can_be_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report(tmp_path, "/proc/nope/history.sqlite", capsys)
    assert any("/proc/nope/history.sqlite" in w for w in data["scan"]["warnings"])


def test_a_corrupted_sqlite_store(
    tmp_path: Path, lab_reports: LabReports, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "history.sqlite"
    with open_store(store) as history, read_report(lab_reports.first) as first:
        history.record(first, kind="scan", location="first")
    with sqlite3.connect(store) as db:  # every page but the header
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = store.stat().st_size
    with store.open("r+b") as raw:
        raw.seek(4096)
        raw.write(b"\xff" * (size - 4096))
    data = report(tmp_path, str(store), capsys)
    assert any("malformed" in w for w in data["scan"]["warnings"])


def _fail_recording(url: str) -> None:
    """Make the store fail on the third table a scan is recorded into, as a full disk would."""
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "CREATE FUNCTION full_disk() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                "'could not extend file: disk is full'; END $$ LANGUAGE plpgsql"
            )
            db.execute("CREATE TRIGGER full_disk BEFORE INSERT ON scan_ports "
                       "FOR EACH STATEMENT EXECUTE FUNCTION full_disk()")  # fmt: skip
    else:
        with sqlite3.connect(url) as db:
            db.execute("CREATE TRIGGER full_disk BEFORE INSERT ON scan_ports BEGIN "
                       "SELECT RAISE(ABORT, 'database or disk is full'); END")  # fmt: skip


def test_a_failure_mid_record_leaves_the_store_as_it_was(
    tmp_path: Path,
    history_url: str,
    lab_reports: LabReports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_store(history_url) as history:
        with read_report(lab_reports.first) as first:
            history.record(first, kind="scan", location="first")
        before = history.list_scans()
    _fail_recording(history_url)
    data = report(tmp_path, history_url, capsys)
    assert any("disk is full" in w for w in data["scan"]["warnings"])
    with open_store(history_url) as history:
        assert history.list_scans() == before  # no half-recorded scan


class _RestartsTheDatabase(Renderer):
    """A renderer during which the database server drops every client connection (as a restart
    would): the changes already found can no longer be read from the store."""

    extension = "txt"

    def __init__(self, server: PostgresServer) -> None:
        self.server = server

    def render(self, report: Report, path: Path) -> None:
        if report.changes is not None:  # the first rendering: then the reports are written again
            with psycopg.connect(self.server.url(), autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> "
                    "pg_backend_pid() AND backend_type = 'client backend'"
                )
        path.write_text("ok", "utf-8")


def test_a_store_lost_while_the_changes_are_read(
    tmp_path: Path, postgres: PostgresServer, lab_reports: LabReports
) -> None:
    url = postgres.new_schema()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, "utf-8")
    tracking = Tracking(history=url, suppressions=load_suppressions(rules))
    with read_report(lab_reports.first) as first:
        write_reports(first, [], tmp_path / "first", tracking=tracking, kind="scan")
    renderers: list[tuple[str, Renderer]] = [
        ("md", _RestartsTheDatabase(postgres)), ("json", renderer_for("json")),
    ]  # fmt: skip
    out = tmp_path / "changed"
    out.mkdir()
    with read_report(lab_reports.changed) as changed:
        written = write_reports(changed, renderers, out, tracking=tracking, kind="scan")
    assert written.history_problem.startswith(WARNING)
    data = json.loads((out / "report.json").read_text("utf-8"))
    assert data["changes"] is None  # not half a changes section
    assert any(w.startswith(WARNING) for w in data["scan"]["warnings"])
    assert data["suppressed"] is not None  # the file's suppressions still apply
    with open_store(url) as history:
        assert len(history.list_scans()) == 2  # recorded before the changes were read
