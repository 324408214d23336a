"""Benchmark ``brulee merge``: time and peak memory of merging many shard reports.

Usage: ``python bench/bench_merge.py [--shards 100,1000] [--workdir DIR] [--seed N]
[--formats json,html] [--repeat N]``

For each count N, N shard reports are generated once (cached in the work directory, keyed by
N, seed and this file's source) and merged by a child process running ``merge_reports``; its
wall time and peak RSS (``ru_maxrss`` from ``os.wait4``) are printed as a Markdown table.

The reports are written directly in the JSON report format (``schema/report.schema.json``),
like a fleet's: N shards spread over 10 sites, each shard 100 hosts (unique addresses, 60 %
with a name) with 4 open ports, the ports' software drawn from 30 service identities, each
with 20 CVEs (CVSS vector, EPSS, a KEV entry for some, a description) and exploits; a few
are distribution packages with CVEs their revision fixed. One shard in ten was matched with
an older database (some CVEs and EPSS scores differ), so services are really merged.

Like ``run.py``, this process stays small (stdlib only): generation and merging run in
children, so neither the generator's memory nor this harness's counts in the figure.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from run import Measured, measure  # noqa: E402

SITES = 10
HOSTS = 100
PORTS = 4
SERVICES = 30
CVES = 20
PORTS_SCANNED = "tcp:1-1000"  # every shard scans the same ports (Nmap's top 1,000 in practice)
_FILLER = (
    "A crafted request to the affected component can cause an out-of-bounds write in the "
    "request parser, which a remote, unauthenticated attacker may use to execute code or "
    "crash the service."
)


Json = dict[str, Any]
_PRODUCTS = (
    ("ssh", "OpenSSH", 22),
    ("http", "Apache httpd", 80),
    ("https", "nginx", 443),
    ("mysql", "MySQL", 3306),
    ("postgresql", "PostgreSQL DB", 5432),
    ("smtp", "Exim smtpd", 25),
)
_KEV = {
    "date_added": "2023-01-10",
    "due_date": "2023-01-31",
    "known_ransomware": "Unknown",
    "required_action": "Apply updates per vendor instructions.",
}
_CVSS = {"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}


def _vulnerability(rng: random.Random, number: int, old_data: bool) -> Json:
    score = round(rng.uniform(2.0, 10.0), 1)
    severity = next(name for name, floor in (("critical", 9), ("high", 7), ("medium", 4),
                                             ("low", 0)) if score >= floor)  # fmt: skip
    epss = round(rng.random() ** 3, 5)
    cve = f"CVE-20{10 + number % 14}-{10000 + number}"
    exploits = [f"EDB-ID:{40000 + number}", f"PACKETSTORM:{160000 + number}"]
    return {
        "id": cve,
        "severity": severity,
        "cvss": {"score": score, **_CVSS},
        # An older database had older EPSS scores.
        "epss": {"score": round(epss / 2, 5) if old_data else epss, "percentile": rng.random()},
        "kev": _KEV if number % 11 == 0 else None,
        "description": f"{cve}: {_FILLER}",
        "url": f"https://nvd.nist.gov/vuln/detail/{cve}",
        "published": "2021-06-01T12:15:00.000",
        "confidence": "certain",
        "reason": f"cpe:2.3:a:vendor:product:{number}:*:*:*:*:*:*:* matches the version",
        "sources": ["nvd", "vulners"] if number % 3 else ["nvd"],
        "exploits": exploits if number % 4 == 0 else [],
        "advisory": None,
        "remediation": None,
    }


def service_heads(seed: int, old_data: bool) -> list[tuple[Json, int]]:
    """The services as the report writes them (without locations), each with its port."""
    heads = []
    for i in range(SERVICES):
        rng = random.Random(seed * 1000 + i)  # the same service whatever the database
        name, product, port = _PRODUCTS[i % len(_PRODUCTS)]
        version = f"{1 + i // 6}.{i % 6}.{i}"
        vulns = [_vulnerability(rng, i * 100 + n, old_data) for n in range(CVES)]
        if old_data:
            vulns = vulns[:-2]  # the older data lacks the newest CVEs
        packaged = i % 5 == 0
        fixed = [_vulnerability(rng, i * 100 + 50 + n, False) for n in range(3)] if packaged else []
        for vuln in fixed:
            vuln.update(confidence="fixed-by-distribution", advisory="DSA-5000-1")
        distribution = {
            "distro": "debian",
            "release": "bookworm",
            "revision": "1+deb12u1",
            "upstream": version,
            "evidence": f'version "{version} Debian 1+deb12u1"',
        }
        head = {
            "id": f"{zlib.crc32(f'{seed}/{i}'.encode()):08x}{i:08x}",
            "name": name,
            "product": product,
            "version": version + (" Debian 1+deb12u1" if packaged else ""),
            "extrainfo": "protocol 2.0" if port == 22 else "",
            "ostype": "Linux",
            "tunnel": "ssl" if port == 443 else "",
            "cpe": [f"cpe:/a:vendor:{product.split()[0].lower()}:{version}"],
            "protocol": "tcp",
            "status": "vulnerable",
            "notes": [],
            "vulnerabilities": vulns,
            "distribution": distribution if packaged else None,
            "fixed_by_distribution": fixed,
            "backports": {"fixed": len(fixed), "open": len(vulns), "unverified": 0},
            "nvd_names": [f"vendor:{product.split()[0].lower()}"],
            "references": [f"SSV:{9000 + i}"],
        }
        heads.append((head, port + i // 6))
    return heads


def _host(address: str, name: str, ports: list[Json]) -> str:
    return json.dumps({
        "address": address, "hostnames": [name] if name else [], "status": "up",
        "reason": "syn-ack", "timed_out": False, "open_ports": ports,
        "closed_ports": 1000 - len(ports), "filtered_ports": 0, "port_set": 0,
    })  # fmt: skip


def _scan(number: int, site: str, index: int, count: int, old_data: bool) -> Json:
    day = "30" if old_data else "31"
    return {
        "started": f"2026-11-01T02:{number % 60:02d}:00+00:00",
        "finished": f"2026-11-01T03:{number % 60:02d}:00+00:00",
        "nmap_command": f"nmap -sV -oX /out/nmap/job-1.xml -iL /tmp/targets-{number}",
        "nmap_version": "7.93", "targets": [f"10.{i}.0.0/16" for i in range(SITES)],
        "inputs": ["/out/nmap/job-1.xml"], "hosts_up": HOSTS, "hosts_down": 156,
        "incomplete": False, "outcome": "complete", "timed_out": 0, "ports": PORTS_SCANNED,
        "port_sets": [PORTS_SCANNED], "history_id": None, "errors": [], "warnings": [],
        "shard": {"index": index, "count": count}, "site": site,
        "database": f"245,000 CVEs, NVD data to 2026-10-{day}",
        "database_date": f"2026-10-{day}T00:00:00+00:00",
        "generated": "2026-11-01T03:01:00+00:00",
    }  # fmt: skip


def shard_report(number: int, count: int, seed: int) -> str:
    """Shard ``number`` (0-based over the whole fleet of ``count``) as report.json text."""
    rng = random.Random(seed * 7919 + number)
    old_data = number % 10 == 9
    heads = service_heads(seed, old_data)
    weights = [1 / (1 + i) for i in range(SERVICES)]
    per_site = count // SITES
    site = f"dc{number // per_site + 1:02d}"
    locations: dict[int, list[str]] = {}
    hosts = []
    for h in range(HOSTS):
        n = number * HOSTS + h
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        name = f"host-{n}.{site}.example.net" if rng.random() < 0.6 else ""
        ports = []
        for s in sorted(set(rng.choices(range(SERVICES), weights, k=PORTS))):
            head, port = heads[s]
            location = {"address": address, "hostname": name, "port": port, "protocol": "tcp"}
            locations.setdefault(s, []).append(json.dumps(location))
            label = f"{head['product']} {head['version']}"
            ports.append({"protocol": "tcp", "port": port, "state": "open", "service": label})
        hosts.append(_host(address, name, ports))
    services = []
    for s, rows in sorted(locations.items()):
        text = json.dumps(heads[s][0])[:-1]
        rows_text = ",\n      ".join(rows)
        services.append(
            f'{text}, "location_count": {len(rows)}, "locations": [\n      {rows_text}]}}'
        )
    scan = _scan(number, site, number % per_site + 1, per_site, old_data)
    return (
        '{\n  "schema_version": "2.1",\n  "generator": {"name": "brulee", "version": "0.1.0"},\n'
        f'  "scan": {json.dumps(scan)},\n  "summary": {{"services": {len(services)}, '
        '"by_status": {}, "by_severity": {}},\n  "services": [\n    '
        + ",\n    ".join(services)
        + '\n  ],\n  "hosts": [\n    '
        + ",\n    ".join(hosts)
        + "\n  ]\n}\n"
    )


def generate(count: int, directory: Path, seed: int) -> None:
    started = time.perf_counter()
    part = directory.with_name(directory.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    size = 0
    for number in range(count):
        per_site = count // SITES
        path = part / f"dc{number // per_site + 1:02d}" / f"shard-{number % per_site + 1:04d}"
        path.mkdir(parents=True)
        text = shard_report(number, count, seed)
        (path / "report.json").write_text(text, encoding="utf-8")
        size += len(text)
    part.rename(directory)
    print(f"wrote {count} shard reports ({size / 2**20:.0f} MiB) to {directory} "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip


def merge(directory: Path, out: Path, formats: Sequence[str]) -> None:
    """The measured child: one ``merge_reports`` call (brulee imported here, not in the harness)."""
    from brulee.fleet.sources import DirectorySource  # noqa: PLC0415
    from brulee.pipeline import merge_reports  # noqa: PLC0415

    started = time.perf_counter()
    merged = merge_reports([DirectorySource(directory)], formats, out)
    print(json.dumps({
        "seconds": time.perf_counter() - started, "parts": len(merged.parts),
        "hosts": merged.written.hosts_up, "services": merged.written.services,
        "coverage": merged.coverage,
    }))  # fmt: skip


def _dataset(workdir: Path, count: int, seed: int) -> Path:
    tag = zlib.crc32(Path(__file__).read_bytes())
    directory = workdir / f"merge-{count}s-seed{seed}-{tag:08x}"
    if not directory.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, __file__, "generate", str(count), str(directory), str(seed)]
        done = measure(cmd)
        if done.returncode:
            sys.exit(f"generator failed:\n{done.stderr}")
        print(done.stdout.strip())
    return directory


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["generate"]:
        generate(int(args[1]), Path(args[2]), int(args[3]))
        return 0
    if args[:1] == ["merge"]:
        merge(Path(args[1]), Path(args[2]), args[3].split(","))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="100,1000", help="shard counts, comma-separated")
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--formats", default="json,html")
    parser.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    opts = parser.parse_args(args)
    rows = []
    for count in (int(n) for n in opts.shards.split(",")):
        if count % SITES:
            parser.error(f"--shards: {count} is not a multiple of {SITES} (sites)")
        directory = _dataset(opts.workdir, count, opts.seed)
        out = opts.workdir / f"merged-{count}s"
        runs: list[Measured] = []
        for _ in range(opts.repeat):
            shutil.rmtree(out, ignore_errors=True)
            runs.append(measure([sys.executable, __file__, "merge", str(directory), str(out),
                                 opts.formats]))  # fmt: skip
            if runs[-1].returncode:
                sys.exit(f"merge failed:\n{runs[-1].stderr}")
        best = min(runs, key=lambda m: m.wall)
        result = json.loads(best.stdout)
        size = sum(p.stat().st_size for p in directory.rglob("report.json")) / 2**20
        cells = (count, f"{size:.0f}", result["hosts"], result["services"], f"{best.wall:.1f}",
                 f"{result['seconds']:.1f}", f"{best.peak_mib:.0f}")  # fmt: skip
        rows.append("| " + " | ".join(map(str, cells)) + " |")
        if result["coverage"]:
            sys.exit(f"unexpected coverage warnings: {result['coverage']}")
    print(f"\nbrulee merge -f {opts.formats} (10 sites, {HOSTS} hosts x {PORTS} ports per shard,"
          f" {SERVICES} services x {CVES} CVEs)\n")  # fmt: skip
    print("| shards | input MiB | hosts | services | wall s | merge_reports s | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
