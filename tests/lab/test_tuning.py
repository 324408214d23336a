"""Fast by default, against the real Nmap inside the lab (root): the timing Nmap really applies,
the default workers, and a progress bar that moves while Nmap works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from brulee.scan.nmap import build_argv, plan_jobs
from brulee.scan.targets import build_scope, parse_list
from brulee.scan.tuning import default_workers
from tests.lab.netlab import Lab

pytestmark = [pytest.mark.root, pytest.mark.nmap]
BRULEE = str(Path(sys.executable).with_name("brulee"))
_REPORT = re.compile(r"rtt-timeouts: init (\d+), min (\d+), max (\d+).*?max-retries: (\d+)", re.S)


@pytest.mark.parametrize(
    ("user_args", "timing"),
    [
        ([], ("500", "100", "1250", "6")),  # brulee's -T4
        (["-T3"], ("1000", "100", "10000", "10")),  # the user's template instead
        (["--max-retries", "2"], ("500", "100", "1250", "2")),  # -T4, with the user's retries
        (["--max-rtt-timeout", "300ms"], ("300", "100", "300", "6")),
    ],
)
def test_the_timing_nmap_applies(
    lab: Lab, tmp_path: Path, user_args: list[str], timing: tuple[str, ...]
) -> None:
    """Nmap's own timing report (``-d``) for the argv brulee builds."""
    scope = build_scope(parse_list([lab.addresses[0]], "t"))
    (job,) = plan_jobs(scope, 1, user_args, tmp_path)
    job.targets_file.write_text("\n".join(job.scope.lines()) + "\n")
    argv = build_argv("nmap", job, [*user_args, "-d", "-n", "-p", "22"], None)
    done = subprocess.run(
        lab.scanner_cmd(argv), check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = _REPORT.search(done.stdout)
    assert report is not None, done.stdout[:2000]
    assert report.groups() == timing


def test_default_scan_runs_workers_and_shows_nmaps_progress(lab: Lab, tmp_path: Path) -> None:
    """On a terminal the bar shows Nmap's phase and follows its percentage, not only the hosts
    completed (a bar at hosts/5 would stand still while Nmap works on them)."""
    argv = [BRULEE, "scan", *lab.addresses, "--nmap-args", "-n -p 21,22,25,80", "-f", "json",
            "-o", str(tmp_path), "--no-history"]  # fmt: skip
    env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "200"}
    done = subprocess.run(
        lab.scanner_cmd(argv), check=False, capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stderr)  # colours and cursor moves
    frames = re.findall(r"(\d+)% (Service scan \d+%)[^\r\n]*? (\d+)/5 hosts", shown)
    assert frames, shown[-3000:]
    # e.g. ('82', 'Service scan 60%', '2'): 82% with 2 of 5 hosts done. How many frames come
    # before the first host is done depends on the machine's load, so any frame will do.
    moving = [bar for bar, _, hosts in frames if 0 < int(bar) < 100 and int(bar) != 20 * int(hosts)]
    assert moving, frames
    xml = sorted((tmp_path / "nmap").glob("scan-*.xml"))
    assert len(xml) == min(default_workers([]), len(lab.addresses))
    assert all("-T4" in (x.read_text().split('args="', 1)[1].split('"', 1)[0]) for x in xml)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["scan"]["hosts_up"] == 5
