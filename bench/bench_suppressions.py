"""Benchmark suppressions: ``brulee report`` of N hosts with and without N+1 scoped entries.

Usage: ``python bench/bench_suppressions.py [--hosts 5000] [--workdir DIR] [--repeat N]``

The Nmap XML has N hosts (10.0.0.1...), each with the same OpenSSH 7.4 on port 22 (one service,
N locations, dozens of CVEs). The suppressions file holds one entry per host (``cve:
CVE-2023-38408`` with ``host: ADDRESS``) and one entry per /24 network for another CVE (``cidr``),
N + N/256 + 1 scoped entries in all, the shape of a team accepting a finding host by host.
Each case is timed end to end (``brulee report -f json --no-history``); the fastest of
``--repeat`` runs is printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BRULEE = str(Path(sys.executable).with_name("brulee"))
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<nmaprun scanner="nmap" args="nmap -sV" '
    'start="1700000000" version="7.93" xmloutputversion="1.05">\n'
    '<scaninfo type="syn" protocol="tcp" numservices="1" services="22"/>\n'
)
HOST = (
    '<host><status state="up" reason="syn-ack"/><address addr="{}" addrtype="ipv4"/><ports>'
    '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" '
    'product="OpenSSH" version="7.4" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:7.4'
    "</cpe></service></port></ports></host>\n"
)
TAIL = '<runstats><finished time="1700000060" exit="success"/></runstats>\n</nmaprun>\n'


def address(n: int) -> str:
    return f"10.0.{n >> 8}.{n & 255}"


def generate(workdir: Path, hosts: int) -> tuple[Path, Path]:
    xml, rules = workdir / f"suppress-{hosts}h.xml", workdir / f"suppress-{hosts}h.yaml"
    with xml.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        out.writelines(HOST.format(address(n)) for n in range(1, hosts + 1))
        out.write(TAIL)
    entry = "- cve: {}\n  {}: {}\n  reason: accepted\n  author: bench\n"
    with rules.open("w", encoding="utf-8") as out:
        out.writelines(
            entry.format("CVE-2023-38408", "host", address(n)) for n in range(1, hosts + 1)
        )
        out.writelines(
            entry.format("CVE-2018-15473", "cidr", f"10.0.{n}.0/24")
            for n in range(hosts // 256 + 1)
        )
        out.write(entry.format("CVE-2016-10009", "cidr", "10.0.0.0/16"))
    return xml, rules


def timed(argv: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed: {done.stderr}")
        best = min(best, time.monotonic() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--workdir", type=Path, default=BENCH / ".work")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    xml, rules = generate(args.workdir, args.hosts)
    entries = args.hosts + args.hosts // 256 + 2
    report = [BRULEE, "report", str(xml), "-f", "json", "--no-history"]
    plain = timed([*report, "-o", str(args.workdir / "suppress-plain")], args.repeat)
    rules_argv = ["-o", str(args.workdir / "suppress-rules"), "--suppressions", str(rules)]
    suppressed = timed([*report, *rules_argv], args.repeat)
    print("| hosts | scoped entries | without suppressions | with them |")
    print("|---:|---:|---:|---:|")
    print(f"| {args.hosts:,} | {entries:,} | {plain:.1f} s | {suppressed:.1f} s |")


if __name__ == "__main__":
    main()
