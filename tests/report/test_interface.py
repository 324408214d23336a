"""Writing reports: a real ``brulee report`` process killed while it writes, and one whose
files may not grow past a limit (a full disk), leave no complete-looking partial file."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import xmlsnippets as x
from tests.cli.test_main import EXIM, SSH

BRULEE = str(Path(sys.executable).with_name("brulee"))


def many_hosts(path: Path, count: int) -> Path:
    """An Nmap XML file of ``count`` hosts with two vulnerable services each."""
    return x.write(
        path,
        *(
            x.host(f"10.0.{n >> 8}.{n & 255}", x.port(22, SSH) + x.port(25, EXIM))
            for n in range(1, count + 1)
        ),
    )


def test_sigkill_while_writing_leaves_no_complete_looking_report(tmp_path: Path) -> None:
    # Before: report.csv was written in place; killed, it stayed cut at a row boundary.
    xml = many_hosts(tmp_path / "in.xml", 4000)  # a CSV of about 45 MB
    out = tmp_path / "out"
    argv = [BRULEE, "report", str(xml), "-o", str(out), "-f", "csv", "--no-history"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        parts: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            parts = [p for p in out.glob(".report.csv.*.part") if p.stat().st_size > 1 << 20]
            if parts:
                break
            time.sleep(0.005)
        assert parts, "the report was not being written"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "report.csv").exists()
    (left,) = out.iterdir()  # the hidden temporary file only: named like no report
    assert left.name.startswith(".report.csv.") and left.name.endswith(".part")


def _small_files() -> None:
    limit = 256 << 10
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_fails_one_format_by_name_and_the_others_are_written(
    tmp_path: Path,
) -> None:
    # Before: the first format over the limit stopped every later one, naming no path.
    xml = many_hosts(tmp_path / "in.xml", 60)  # CSV ~700 KB, JSON and Markdown below 256 KB
    out = tmp_path / "out"
    argv = [BRULEE, "report", str(xml), "-o", str(out), "-f", "csv,json,md", "--no-history"]
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=120, preexec_fn=_small_files
    )
    assert done.returncode == 3, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("brulee: error:")]
    assert errors == [
        f"brulee: error: cannot write report {out / 'report.csv'}: File too large "
        f"(other reports were written to {out})"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]
    assert (out / "report.json").read_text("utf-8").endswith("}\n")


@pytest.mark.root
def test_a_full_disk_fails_one_format_by_name_and_the_others_are_written(tmp_path: Path) -> None:
    # Before: a format hitting ENOSPC stopped every later one (JSON's named no path); a
    # truncated file stayed. Here a 128 KiB tmpfs, mounted in a mount namespace of its own.
    if os.geteuid() != 0:
        pytest.skip("needs root (mounts a small tmpfs in its own mount namespace)")
    xml = many_hosts(tmp_path / "in.xml", 60)  # CSV ~670 KB, JSON ~50 KB, Markdown ~26 KB
    out, seen = tmp_path / "out", tmp_path / "seen"
    out.mkdir()
    seen.mkdir()
    script = (
        f"mount -t tmpfs -o size=128k brulee-full {out} || exit 99; "
        f"{BRULEE} report {xml} -o {out} -f csv,json,md --no-history; echo $? > {seen}/rc; "
        f"cp -a {out}/. {seen}/"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (seen / "rc").read_text().strip() == "3"
    errors = [line for line in done.stderr.splitlines() if line.startswith("brulee: error:")]
    assert errors == [
        f"brulee: error: cannot write report {out / 'report.csv'}: No space left on device "
        f"(other reports were written to {out})"
    ]
    assert sorted(p.name for p in seen.iterdir()) == ["rc", "report.json", "report.md"]
    assert (seen / "report.json").read_text("utf-8").endswith("}\n")
