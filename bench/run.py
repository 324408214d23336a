"""Benchmark ``brulee report`` against the lxml parsing floor on synthetic fleets.

Usage: ``python bench/run.py [--hosts 10000,100000] [--workdir DIR] [--seed N]
[--formats json,html] [--extra-args "ARGS"] [--repeat N] [--timeout S] [--previous N]``

For each size: generate the Nmap XML once (cached in the work directory, keyed by
size, seed and generator source), time ``bench/floor.py`` on it, then time
``brulee report FILE -o OUTDIR -f json,html``, each in a child process whose wall
time and peak RSS (``os.wait4``) are recorded (best of ``--repeat`` runs); print a
Markdown table.

Two cases per size: ``--no-history``, and the history on with a previous scan of the same
fleet a day earlier that found only ``--previous`` of its hosts (default 2,000): every port of
the others is new, and every finding there too. That previous scan is recorded first in a
history store of the work directory (never the user's), and each timed run starts from a
copy of it.
A failing ``brulee`` is reported (stderr shown) and the run continues; the exit
status is non-zero only when the harness itself fails (generator or floor).

This process stays small on purpose: a child's ``ru_maxrss`` starts from the
parent's own peak (vfork + exec inherits it), so nothing heavy (lxml, hashlib,
dataclasses) is imported here and the harness's own peak is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
GENERATOR = BENCH / "gen_nmap_xml.py"
FLOOR = BENCH / "floor.py"
STDERR_TAIL = 40  # lines of a failing child's stderr to show


class Measured(NamedTuple):
    """Outcome of one child process."""

    returncode: int
    wall: float  # seconds, fork to reap
    cpu: float  # seconds of CPU, user and system (steadier than wall time on a busy machine)
    peak_mib: float  # the child's ru_maxrss
    stdout: str
    stderr: str
    timed_out: bool


class Row(NamedTuple):
    """One line of the result table."""

    hosts: int
    size_mib: float
    floor: Measured
    report: Measured | None  # None when brulee could not be started
    case: str = "no history"
    outputs: str = ""  # the size of each report written: "json 10.1, html 6.5"


def _mib(maxrss: int) -> float:
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def measure(cmd: Sequence[str], timeout: float | None = None) -> Measured:
    """Run ``cmd``; return its status, wall time, peak RSS and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_mib=_mib(usage.ru_maxrss),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=killed.is_set(),
        )


def _tail(text: str, lines: int = STDERR_TAIL) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _fail(what: str, m: Measured) -> str:
    why = "timed out" if m.timed_out else f"exit status {m.returncode}"
    return f"{what} failed ({why}):\n{_tail(m.stderr or m.stdout)}"


def ensure_file(workdir: Path, hosts: int, seed: int, keep: int = 0) -> Path:
    """Return the cached XML for ``hosts`` (``keep``: the earlier scan that found only that
    many of them), generating it first if needed."""
    digest = f"{zlib.crc32(GENERATOR.read_bytes()):08x}"
    name = f"nmap-{hosts}h" + (f"-previous{keep}" if keep else "") + f"-seed{seed}"
    path = workdir / f"{name}-{digest}.xml"
    if path.exists():
        print(f"[{hosts}] using cached {path}", flush=True)
        return path
    for stale in workdir.glob(f"{name}-*.xml"):
        stale.unlink()
    earlier = ["--keep", str(keep), "--days-before", "1"] if keep else []
    m = measure([sys.executable, str(GENERATOR), str(hosts), str(path), "--seed", str(seed),
                 *earlier])  # fmt: skip
    if m.returncode != 0:
        raise RuntimeError(_fail("generator", m))
    print(f"[{hosts}] generated {path} in {m.wall:.2f} s", flush=True)
    return path


def best_of(
    cmd: Sequence[str],
    repeat: int,
    timeout: float | None,
    before: Callable[[], None] | None = None,
) -> Measured:
    """Run ``cmd`` up to ``repeat`` times (``before`` each); return the fastest run, or the
    first failure."""
    runs: list[Measured] = []
    for _ in range(repeat):
        if before:
            before()
        m = measure(cmd, timeout)
        if m.returncode != 0:
            return m
        runs.append(m)
    return min(runs, key=lambda m: m.wall)


def _outputs(outdir: Path) -> str:
    return ", ".join(
        f"{p.suffix[1:]} {p.stat().st_size / 2**20:,.1f}" for p in sorted(outdir.glob("report.*"))
    )


def _brulee(
    xml: Path,
    outdir: Path,
    history: list[str],
    case: Case,
    before: Callable[[], None] | None = None,
) -> tuple[Measured, str]:
    """Time ``brulee report`` on ``xml``: its measure and the size of each report."""
    brulee = Path(sys.executable).parent / "brulee"
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [str(brulee), "report", str(xml), "-o", str(outdir), "-f", case.formats, *history,
           *case.extra]  # fmt: skip
    print(f"[{case.hosts}] $ {shlex.join(cmd)}", flush=True)
    report = best_of(cmd, case.repeat, case.timeout, before)
    if report.returncode != 0:
        print(f"[{case.hosts}] {_fail('brulee report', report)}", flush=True)
        return report, ""
    print(f"[{case.hosts}] brulee report: {report.wall:.2f} s, {report.peak_mib:.1f} MiB",
          flush=True)  # fmt: skip
    return report, _outputs(outdir)


class Case(NamedTuple):
    """What to measure for one size."""

    hosts: int
    seed: int
    formats: str = "json,html"
    extra: Sequence[str] = ()
    repeat: int = 1
    timeout: float | None = None
    previous: int = 2000


def run_size(workdir: Path, case: Case) -> list[Row]:
    """Generate (or reuse) the file for ``case.hosts``, then time the floor and brulee on it:
    without the history, then with a previous scan of ``case.previous`` hosts recorded."""
    hosts = case.hosts
    xml = ensure_file(workdir, hosts, case.seed)
    size_mib = xml.stat().st_size / 2**20

    floor = best_of([sys.executable, str(FLOOR), str(xml)], case.repeat, case.timeout)
    if floor.returncode != 0:
        raise RuntimeError(_fail("floor", floor))
    print(f"[{hosts}] floor: {floor.wall:.2f} s, {floor.peak_mib:.1f} MiB", flush=True)

    if not (Path(sys.executable).parent / "brulee").exists():
        print(f"[{hosts}] brulee report skipped: brulee not found", flush=True)
        return [Row(hosts, size_mib, floor, None)]
    # --no-history: never the user's history store.
    bare, outputs = _brulee(xml, workdir / f"out-{hosts}h", ["--no-history"], case)
    rows = [Row(hosts, size_mib, floor, bare, "no history", outputs)]
    if not case.previous or case.previous >= hosts:
        return rows
    history = workdir / f"history-{hosts}h"
    shutil.rmtree(history, ignore_errors=True)
    history.mkdir()
    earlier = ensure_file(workdir, hosts, case.seed, keep=case.previous)
    store = history / "history.sqlite"
    first, _ = _brulee(earlier, workdir / f"out-{hosts}h-previous", ["--history", str(store)],
                       case._replace(repeat=1))  # fmt: skip
    if first.returncode != 0:
        return rows
    base = history / "previous.sqlite"
    store.replace(base)

    def fresh() -> None:  # each timed run records into the store as the previous scan left it
        shutil.copyfile(base, store)

    with_history, outputs = _brulee(
        xml, workdir / f"out-{hosts}h-history", ["--history", str(store)], case, fresh
    )
    label = f"history on, previous scan of {case.previous:,} hosts"
    return [*rows, Row(hosts, size_mib, floor, with_history, label, outputs)]


def table(rows: Sequence[Row]) -> str:
    """Render the results as a Markdown table."""
    lines = [
        "| hosts | case | file MiB | floor s | floor peak MiB | report s | report peak MiB "
        "| report/floor time | report/floor CPU | reports MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        f, rep = r.floor, r.report
        if rep is None or rep.returncode != 0:
            why = "not run" if rep is None else ("timeout" if rep.timed_out else "failed")
            cells = [why, why, "n/a", "n/a"]
        else:
            cells = [f"{rep.wall:.2f}", f"{rep.peak_mib:.1f}", f"{rep.wall / f.wall:.1f}x",
                     f"{rep.cpu / f.cpu:.1f}x"]  # fmt: skip
        lines.append(
            f"| {r.hosts:,} | {r.case} | {r.size_mib:,.1f} | {f.wall:.2f} | {f.peak_mib:.1f} | "
            + " | ".join(cells)
            + f" | {r.outputs} |"
        )
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}") from exc
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("host counts must be positive")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="benchmark brulee report against the lxml floor")
    ap.add_argument(
        "--hosts",
        type=_sizes,
        default=[10_000, 100_000],
        help="comma-separated host counts (default 10000,100000)",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        default=BENCH / ".work",
        help="cache for generated files and report output (default bench/.work)",
    )
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    ap.add_argument(
        "--formats", default="json,html", help="value of brulee report -f (default json,html)"
    )
    ap.add_argument(
        "--extra-args",
        default="",
        metavar="ARGS",
        help="extra arguments for brulee report, shell-quoted in one string",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the floor and brulee N times each, keep the fastest (default 1)",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="kill a floor or brulee run after S seconds (default: none)",
    )
    ap.add_argument(
        "--previous",
        type=int,
        default=2000,
        metavar="N",
        help="history case: a previous scan found N of the hosts (default 2000; 0: skip it)",
    )
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    args.workdir.mkdir(parents=True, exist_ok=True)
    extra = shlex.split(args.extra_args)
    rows: list[Row] = []
    try:
        for hosts in args.hosts:
            case = Case(hosts, args.seed, args.formats, extra, args.repeat, args.timeout,
                        args.previous)  # fmt: skip
            rows.extend(run_size(args.workdir, case))
    except (RuntimeError, OSError) as exc:
        print(f"bench harness error: {exc}", file=sys.stderr)
        if rows:
            print(table(rows))
        return 1
    print()
    print(table(rows))
    print(
        f"\n(harness peak RSS {_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss):.1f} MiB;"
        " no child peak can be reported below it)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
