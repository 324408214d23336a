"""Progress on standard error: the scan bar (Nmap's phase, percentage and estimate, summed over
workers) and the one display of downloads, imports and merges, on a terminal only."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from brulee.cli.main import ScanProgress, progress_text
from brulee.cli.progress import Activity, amount_text
from brulee.scan.nmap import plan_jobs
from brulee.scan.progress import Overall, StatsReader, Status
from brulee.scan.targets import build_scope, parse_list
from brulee.vulndb.mirror import mirror as mirror_files
from brulee.vulndb.urls import UpdateUrls
from tests.conftest import ASSETS


def test_progress_text() -> None:
    overall = Overall(0.5, 3, 40, "Service scan 26%", 77)
    assert progress_text(overall) == "Service scan 26% · ~1:17 left · 3/40 hosts"
    assert progress_text(Overall(0.0, 0, 7, "", None)) == "0/7 hosts"


def test_the_bar_follows_nmaps_lines_across_two_workers(tmp_path: Path) -> None:
    scope = build_scope(parse_list(["10.0.0.0/26", "10.0.1.0/28"], "t"))
    jobs = plan_jobs(scope, 2, [], tmp_path)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    progress = ScanProgress(console, enabled=True)
    update = progress(jobs)
    reader = StatsReader()
    for line in (ASSETS / "nmap-stats" / "fleet40.txt").read_bytes().splitlines():
        status = reader.feed(line)
        if status is not None:
            update(jobs[0].index, status)
            if status.phase == "Service scan" and status.remaining == 17:
                break
    progress.stop()
    shown = out.getvalue()
    # One worker of two: its 40 hosts are (0.4 + 0.5 x 26%) through their work: 26% overall.
    assert "26% Service scan 26% · ~0:17 left · 0/80 hosts" in shown
    assert "scanning" in out.getvalue()


def test_no_bar_when_disabled(tmp_path: Path) -> None:
    jobs = plan_jobs(build_scope(parse_list(["10.0.0.1"], "t")), 1, [], tmp_path)
    progress = ScanProgress(Console(file=io.StringIO()), enabled=False)
    progress(jobs)(1, Status(finished=True))
    progress.stop()


# -- downloads, imports, merges: one renderer (brulee.cli.progress) -------------------------------

BRULEE = str(Path(sys.executable).with_name("brulee"))


def test_amount_text() -> None:
    assert amount_text("bytes", 3_200_000, 40_000_000, 1_100_000) == "3.2 MB of 40.0 MB · 1.1 MB/s"
    assert amount_text("bytes", 512, None, None) == "512 bytes"
    assert amount_text("records", 120_000, None, None) == "120,000 records"
    assert amount_text("CVEs", 2_000, 5_000, None) == "2,000 of 5,000 CVEs"


def test_activity_draws_the_current_label_with_its_unit() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with Activity(console, enabled=True) as activity:
        activity("download nvdcve-2.0-2024.json.gz", 2_000_000, 4_000_000)
        activity.records("nvdcve-2.0-2024.json.gz", 15_000)
        activity("read reports", 3, None)
        console.file.flush()
    frames = out.getvalue().split("\r\x1b[2K")
    assert any("download nvdcve-2.0-2024.json.gz" in f and "2.0 MB of 4.0 MB" in f for f in frames)
    assert any("import nvdcve-2.0-2024.json.gz" in f and "15,000 records" in f for f in frames)
    last = [f for f in frames if "3 reports" in f][-1]
    assert "read reports" in last and "download" not in last  # the current line alone


def test_activity_disabled_draws_nothing() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150)
    with Activity(console, enabled=False) as activity:
        activity("download x", 1, 2)
    assert out.getvalue() == ""


def _stderr(argv: list[str], *, terminal: bool) -> str:
    """Run brulee with its stderr on a pseudo-terminal (160 columns) or on a pipe."""
    if not terminal:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm"}
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env=env) as process:
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert process.wait(timeout=300) == 0, b"".join(chunks)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.vulndb.feedserver import build_upstream, feed_json, write_feed

    directory = build_upstream(tmp_path_factory.mktemp("mirror"))
    for year in range(2002, datetime.now(UTC).year + 1):  # a complete mirror has every year
        if not (directory / f"nvdcve-2.0-{year}.json.gz").exists():
            feed = feed_json([], "2026-11-20T08:00:00.000")
            write_feed(directory, f"nvdcve-2.0-{year}", feed)
    return directory


def test_db_update_shows_downloads_and_imports_on_a_terminal_only(
    tmp_path: Path, mirror: Path
) -> None:
    argv = [BRULEE, "db", "update", "--mirror", str(mirror), "--db", str(tmp_path / "a.sqlite")]
    shown = _stderr(argv, terminal=True)
    assert "download nvdcve-2.0-2024.json.gz" in shown
    assert " kB" in shown or " MB" in shown  # bytes of that download
    assert "import nvdcve-2.0-2024.json.gz" in shown and " records" in shown
    assert "CVEs (" in shown  # the summary follows
    piped = _stderr([*argv[:-1], str(tmp_path / "b.sqlite")], terminal=False)
    assert "downloaded nvdcve-2.0-2024.json.gz" in piped
    assert "import nvdcve" not in piped and "records" not in piped and "\x1b" not in piped
    quiet = _stderr([*argv[:-1], str(tmp_path / "c.sqlite"), "--no-progress"], terminal=True)
    assert "import nvdcve" not in quiet and "CVEs (" in quiet


def test_db_import_shows_records(tmp_path: Path, mirror: Path) -> None:
    feed = str(mirror / "nvdcve-2.0-2024.json.gz")
    shown = _stderr([BRULEE, "db", "import", feed, "--db", str(tmp_path / "v.sqlite")],
                    terminal=True)  # fmt: skip
    assert "import nvdcve-2.0-2024.json.gz" in shown and " records" in shown
    assert "\x1b" not in _stderr(
        [BRULEE, "db", "import", feed, "--db", str(tmp_path / "w.sqlite")], terminal=False
    )


def test_db_mirror_feeds_the_same_display(tmp_path: Path, mirror: Path) -> None:
    """``db mirror`` (here of a local mirror: no network) reports each file's bytes."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with Activity(console, enabled=True) as activity:
        urls = UpdateUrls.from_mirror(str(mirror))
        done = mirror_files(tmp_path / "copy", urls=urls, progress=activity)
    assert done.downloaded
    shown = out.getvalue()
    assert "download known_exploited_vulnerabilities.json" in shown
    assert " kB" in shown or " MB" in shown


def test_merge_counts_the_reports_read(tmp_path: Path) -> None:
    from tests import xmlsnippets as x

    for name in ("a", "b", "c"):
        xml = x.write(tmp_path / f"{name}.xml", x.host("10.0.0.1", x.port(22, "")))
        argv = [BRULEE, "report", str(xml), "-o", str(tmp_path / "in" / name), "-f", "json"]
        subprocess.run([*argv, "--no-history"], check=True, capture_output=True, timeout=120)
    argv = [BRULEE, "merge", str(tmp_path / "in"), "-o", str(tmp_path / "m.json"), "--no-history"]
    shown = _stderr(argv, terminal=True)
    assert "read reports" in shown and "3 reports" in shown
    assert "read reports" not in _stderr(argv, terminal=False)
