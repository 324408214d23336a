"""Benchmark Canonical's Ubuntu CVE OVAL: import time, peak memory and database size per release
file, the starter database's build, and Ubuntu services decided per second.

Usage: ``python bench/bench_ubuntu.py [--data DIR] [--repeat N]``

``--data``: a directory of ``com.ubuntu.*.cve.oval.xml.bz2`` files (default ``bench/data/ubuntu``:
Canonical's whole focal file of 2021-08-31, 24.5 MB of XML; ``brulee db mirror DIR`` fetches the
current ones). Each file is imported into an empty database by a child process, so that the peak
RSS and CPU time printed are that import's own (CPU time varies less than wall time on a shared
machine); a child that only imports brulee gives the baseline.
"""

from __future__ import annotations

import argparse
import bz2
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from brulee.core.scan import Port, Service
from brulee.match.assess import assess
from brulee.match.backports import BackportJudge
from brulee.match.nvd import NvdSource
from brulee.vulndb.build import build_starter
from brulee.vulndb.store import VulnDb

BENCH = Path(__file__).resolve().parent
BANNERS = BENCH.parent / "tests" / "assets" / "ubuntu" / "ssh-default-banners" / "ubuntu_tsv.txt"
_CHILD = """
import sys, time
from pathlib import Path
from brulee.vulndb.build import import_files
if len(sys.argv) > 1:
    started = time.perf_counter()
    summary = import_files(Path(sys.argv[2]), [Path(sys.argv[1])])
    print(f"{time.perf_counter() - started} {summary.files[0].records}")
"""


def _mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _child(*args: str) -> tuple[str, float, float]:
    """Run ``_CHILD`` with ``args``; return its output, peak RSS in bytes and CPU seconds."""
    process = subprocess.Popen([sys.executable, "-c", _CHILD, *args], stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"the import of {args} failed")
    return output, usage.ru_maxrss * 1024.0, usage.ru_utime + usage.ru_stime


def _xml_size(path: Path) -> int:
    size = 0
    with bz2.open(path) as stream:
        while chunk := stream.read(1 << 20):
            size += len(chunk)
    return size


def imports(files: list[Path], workdir: Path, repeat: int) -> None:
    _, baseline, base_cpu = _child()
    print(f"baseline: {_mib(baseline)} peak RSS, {base_cpu:.2f} s CPU to import brulee")
    for path in files:
        best, cpu, peak, records = float("inf"), float("inf"), 0.0, 0
        for run in range(repeat):
            db_path = workdir / f"{path.name}.{run}.sqlite"
            output, rss, used = _child(str(path), str(db_path))
            seconds, count = output.split()
            best, cpu = min(best, float(seconds)), min(cpu, used - base_cpu)
            peak, records = max(peak, rss), int(count)
        size = db_path.stat().st_size
        print(
            f"{path.name}: {_mib(path.stat().st_size)} bzip2, {_mib(_xml_size(path))} XML, "
            f"{records:,} CVEs: {cpu:.1f} s CPU ({best:.1f} s wall), peak RSS {_mib(peak)} "
            f"(+{_mib(peak - baseline)}), database {_mib(size)}"
        )


def starter(workdir: Path, repeat: int) -> None:
    best = float("inf")
    for run in range(repeat):
        summary = build_starter(workdir / f"starter{run}.sqlite")
        best = min(best, summary.seconds)
    ubuntu = [f for f in summary.files if f.kind == "ubuntu-oval"]
    definitions = sum(f.records for f in ubuntu)
    size = (workdir / "starter0.sqlite").stat().st_size
    print(
        f"starter:  built in {best:.1f} s, {_mib(size)} (of which {len(ubuntu)} Ubuntu OVAL "
        f"files, {definitions:,} CVE definitions)"
    )


def decisions(workdir: Path) -> None:
    """Every default Ubuntu OpenSSH banner, assessed and decided once each (nothing cached)."""
    services = []
    for line in BANNERS.read_text("utf-8").splitlines():
        upstream, revision = line.split("OpenSSH_")[1].split(" (")[0].split(maxsplit=1)
        word, _, rest = revision.partition("-")
        version = f"{upstream} {word} {rest}"
        cpes = (f"cpe:/a:openbsd:openssh:{upstream}",)
        services.append(Service("ssh", "OpenSSH", version, "Ubuntu Linux; protocol 2.0", cpes=cpes))
    with VulnDb.open(workdir / "starter0.sqlite") as db:
        source, judge = NvdSource(db), BackportJudge(db).judge
        started = time.perf_counter()
        for service in services:
            judge(service, assess(Port("tcp", 22, "open", service=service), [source]))
        elapsed = time.perf_counter() - started
    print(
        f"decide:   {len(services) / elapsed:,.0f} services/s cold ({len(services)} Ubuntu "
        "OpenSSH banners, NVD matching included)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=BENCH / "data" / "ubuntu")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    args = parser.parse_args()
    files = sorted(args.data.glob("com.ubuntu.*.cve.oval.xml.bz2"))
    if not files:
        parser.error(f"no com.ubuntu.*.cve.oval.xml.bz2 files in {args.data}")
    with tempfile.TemporaryDirectory(prefix="brulee-bench-ubuntu-") as work:
        workdir = Path(work)
        imports(files, workdir, args.repeat)
        starter(workdir, args.repeat)
        decisions(workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
