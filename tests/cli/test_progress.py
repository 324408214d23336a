"""The scan progress bar: Nmap's phase, percentage and estimate, summed over workers."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from brulee.cli.main import ScanProgress, progress_text
from brulee.scan.nmap import plan_jobs
from brulee.scan.progress import Overall, StatsReader, Status
from brulee.scan.targets import build_scope, parse_list
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
