"""Benchmark offline matching: services per second against a realistic database.

Usage: ``python bench/bench_matching.py [--workdir DIR] [--hosts N]``

Builds a database from the bundled starter data plus the three bulk NVD years in
``bench/data/nvd-bulk`` (about 45,000 CVEs), then measures:

- cold: distinct services (many versions of the products a fleet runs), each matched for the
  first time: the alias table, the indexed candidate lookups, and every candidate CVE's
  configurations evaluated;
- fleet: the open ports of an N-host scan (4 per host, drawn from the service mix of
  ``gen_nmap_xml.py``) through the same memoised assessor ``brulee report`` uses.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from brulee.core.scan import Port, Service
from brulee.match.assess import Assessor
from brulee.match.nvd import NvdSource
from brulee.vulndb.build import build_starter, import_files
from brulee.vulndb.store import VulnDb

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from gen_nmap_xml import SERVICES  # noqa: E402

# (Nmap product, CPE vendor:product, versions) for the cold set.
FAMILIES = (
    ("OpenSSH", "openbsd:openssh", [f"{a}.{b}p1" for a in range(4, 10) for b in range(10)]),
    ("Apache httpd", "apache:http_server", [f"2.{a}.{b}" for a in (2, 4) for b in range(66)]),
    ("nginx", "igor_sysoev:nginx", [f"1.{a}.{b}" for a in range(0, 27) for b in range(0, 12)]),
    ("MySQL", "mysql:mysql", [f"{a}.{b}" for a in ("5.5", "5.6", "5.7", "8.0") for b in range(40)]),
    (
        "ProFTPD",
        "proftpd:proftpd",
        [f"1.3.{a}{c}" for a in range(0, 9) for c in ("", "a", "b", "c")],
    ),
    ("Exim smtpd", "exim:exim", [f"4.{a}" for a in range(60, 98)]),
    (
        "PostgreSQL DB",
        "postgresql:postgresql",
        [f"{a}.{b}" for a in range(9, 16) for b in range(20)],
    ),
    ("Apache Tomcat", "apache:tomcat", [f"{a}.0.{b}" for a in (7, 8, 9) for b in range(0, 100, 3)]),
)


def cold_ports() -> list[Port]:
    return [
        Port("tcp", 1, "open", service=Service(product=product, version=version,
                                               cpes=(f"cpe:/a:{cpe}:{version}",)))
        for product, cpe, versions in FAMILIES
        for version in versions
    ]  # fmt: skip


def fleet_ports(hosts: int, seed: int = 1) -> list[Port]:
    rng = random.Random(seed)
    pool = [
        Port("tcp", s.port, "open", service=Service(s.name, s.product, s.version, cpes=s.cpes))
        for s in SERVICES
    ]
    weights = [s.weight for s in SERVICES]
    return rng.choices(pool, weights=weights, k=hosts * 4)


def build(workdir: Path) -> Path:
    db = workdir / "bench-matching.sqlite"
    if not db.exists():
        started = time.perf_counter()
        build_starter(db)
        import_files(db, sorted((BENCH / "data" / "nvd-bulk").glob("nvdcve-2.0-*.json.gz")))
        print(f"database built in {time.perf_counter() - started:.1f} s")
    return db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work")
    parser.add_argument("--hosts", type=int, default=100_000)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp, VulnDb.open(build(Path(tmp))) as db:
        cold = cold_ports()
        source = NvdSource(db)
        started = time.perf_counter()
        findings = sum(len(source.assess(port).vulnerabilities) for port in cold)
        cold_seconds = time.perf_counter() - started
        ports = fleet_ports(args.hosts)
        assessor = Assessor([NvdSource(db)])
        started = time.perf_counter()
        for port in ports:
            assessor(port)
        fleet_seconds = time.perf_counter() - started
        cves = db.info().cves
    print("| case | services | seconds | services/s |\n|---|---:|---:|---:|")
    print(f"| cold: distinct services, {cves:,} CVEs in the database | {len(cold):,} | "
          f"{cold_seconds:.2f} | {len(cold) / cold_seconds:,.0f} |")  # fmt: skip
    print(f"| fleet: {args.hosts:,} hosts x 4 ports, memoised | {len(ports):,} | "
          f"{fleet_seconds:.2f} | {len(ports) / fleet_seconds:,.0f} |")  # fmt: skip
    print(f"({findings:,} findings over the cold set)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
