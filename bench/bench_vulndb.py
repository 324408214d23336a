"""Benchmark the vulnerability database: build time and size, and candidate lookups per second.

Usage: ``python bench/bench_vulndb.py [--data DIR] [--workdir DIR] [--repeat N] [--lookups N]``

Builds a database from every ``nvdcve-2.0-*.json.gz`` in ``--data`` (default
``bench/data/nvd-bulk`` or ``$BRULEE_BENCH_NVD``: all 42,795 records of NVD's 2017, 2019 and 2021
feeds), prints the build time, database size and record count with a linear extrapolation to the
full NVD (~300,000 CVEs), then measures ``VulnDb.candidates`` for a mix of vendor:product pairs
that Nmap services map to: cold (first query of each pair: SQL plus decoding the records) and warm
(served from the cache).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from brulee.vulndb.build import import_files
from brulee.vulndb.store import VulnDb

BENCH = Path(__file__).resolve().parent
FULL_NVD = 300_000
TARGET_SECONDS = 30.0

# What a scan's services look up (through the alias table), weighted by how often they occur.
SERVICE_MIX: tuple[tuple[str, str, int], ...] = (
    ("openbsd", "openssh", 30),
    ("apache", "http_server", 20),
    ("nginx", "nginx", 10),
    ("f5", "nginx", 10),
    ("igor_sysoev", "nginx", 10),
    ("microsoft", "internet_information_services", 6),
    ("microsoft", "iis", 6),
    ("oracle", "mysql", 5),
    ("mysql", "mysql", 5),
    ("mariadb", "mariadb", 4),
    ("postgresql", "postgresql", 4),
    ("apache", "tomcat", 4),
    ("eclipse", "jetty", 3),
    ("isc", "bind", 3),
    ("proftpd", "proftpd", 2),
    ("beasts", "vsftpd", 2),
    ("exim", "exim", 2),
    ("postfix", "postfix", 2),
    ("dovecot", "dovecot", 2),
    ("openssl", "openssl", 3),
    ("samba", "samba", 2),
    ("squid-cache", "squid", 1),
    ("redis", "redis", 1),
    ("memcached", "memcached", 1),
    ("lighttpd", "lighttpd", 1),
    ("microsoft", "sql_server", 2),
    ("php", "php", 3),
    ("example", "not_in_nvd", 1),
)


def _mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"


def build(files: list[Path], workdir: Path, repeat: int) -> tuple[Path, float, int, int]:
    """Build ``repeat`` times afresh; return the database, best time, records read, CVEs stored."""
    best = float("inf")
    db_path = workdir / "vulndb.sqlite"
    for _ in range(repeat):
        db_path.unlink(missing_ok=True)
        summary = import_files(db_path, files)
        best = min(best, summary.seconds)
    records = sum(f.records for f in summary.files)
    return db_path, best, records, summary.cves


def cold_lookups(db_path: Path, pairs: list[tuple[str, str]]) -> tuple[float, int]:
    """Query each pair once on a fresh instance; return lookups/s and CVE records returned."""
    with VulnDb.open(db_path) as db:
        started = time.perf_counter()
        found = sum(len(db.candidates(vendor, product)) for vendor, product in pairs)
        elapsed = time.perf_counter() - started
    return len(pairs) / elapsed, found


def warm_lookups(db_path: Path, count: int, seed: int) -> float:
    """``count`` lookups drawn from SERVICE_MIX, after one cold pass; return lookups/s."""
    rng = random.Random(seed)
    pairs = [(vendor, product) for vendor, product, _ in SERVICE_MIX]
    draws = rng.choices(pairs, weights=[weight for *_, weight in SERVICE_MIX], k=count)
    with VulnDb.open(db_path) as db:
        for vendor, product in pairs:
            db.candidates(vendor, product)
        started = time.perf_counter()
        for vendor, product in draws:
            db.candidates(vendor, product)
        return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("BRULEE_BENCH_NVD", str(BENCH / "data" / "nvd-bulk"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary dir)")
    parser.add_argument("--repeat", type=int, default=1, help="builds; the fastest is reported")
    parser.add_argument("--lookups", type=int, default=1_000_000, help="warm lookups to time")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    files = sorted(args.data.glob("nvdcve-2.0-*.json.gz"))
    if not files:
        parser.error(f"no nvdcve-2.0-*.json.gz files in {args.data}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="brulee-bench-vulndb-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        report(files, workdir, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir)
    return 0


def report(files: list[Path], workdir: Path, args: argparse.Namespace) -> None:
    input_size = sum(f.stat().st_size for f in files)
    print(f"input:    {len(files)} files, {_mib(input_size)} gzip ({args.data})")
    db_path, seconds, records, cves = build(files, workdir, args.repeat)
    size = db_path.stat().st_size
    print(f"build:    {seconds:.2f} s for {records:,} records ({records / seconds:,.0f} records/s)")
    verdict = "met" if seconds < TARGET_SECONDS else "MISSED"
    print(f"          target: under {TARGET_SECONDS:.0f} s ({verdict})")
    print(f"database: {_mib(size)}, {cves:,} CVEs stored (rejected ones removed)")
    scale = FULL_NVD / records
    print(
        f"full NVD: ~{seconds * scale:,.0f} s and ~{_mib(size * FULL_NVD / cves)} "
        f"for {FULL_NVD:,} CVEs (linear extrapolation)"
    )
    print("          caveat: these records were converted from NVD 1.1 (no matchCriteriaId);")
    print("          genuine 2.0 records are larger, so expect a bigger file")

    with VulnDb.open(db_path) as db:
        known = sorted(db.known_products())
    sample = random.Random(args.seed).sample(known, min(2000, len(known)))
    mix = [(vendor, product) for vendor, product, _ in SERVICE_MIX]
    rate, found = cold_lookups(db_path, mix)
    print(f"cold:     {rate:,.0f} lookups/s over the {len(mix)} service pairs ({found:,} CVEs)")
    rate, found = cold_lookups(db_path, sample)
    print(
        f"cold:     {rate:,.0f} lookups/s over {len(sample):,} random known pairs ({found:,} CVEs)"
    )
    rate = warm_lookups(db_path, args.lookups, args.seed)
    print(f"warm:     {rate:,.0f} lookups/s ({args.lookups:,} weighted draws, cached per pair)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
