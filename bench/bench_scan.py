"""Scan speed on a lab of real banner servers (root: network namespaces; see tests/lab/).

Usage: ``python bench/bench_scan.py [--hosts 40] [--repeat 3] [--only speed|workers]``

``speed``: the lab's hosts by address, seven TCP ports; brulee with its defaults against
``nmap -sV -T4`` and a default ``nmap -sV`` of the same hosts and ports, and brulee as it was
before its tuned defaults (``-T3``, one process). Every run gets ``-n`` (the lab has no DNS
resolver: reverse lookups would only wait) and its open ports, products and versions are
compared with the default ``nmap -sV``'s.

``workers``: the lab's whole /24 (its live hosts clustered at the start, the rest dead) with
``--workers 1, 2, 4``, and two contiguous halves run in parallel (``--shard 1/2`` and ``2/2``,
which is how ``--workers 2`` split a scope before).

Runs alternate between the variants and each figure is the median of ``--repeat`` runs: the
machine may be shared. Every scan runs inside the lab's scanner namespace.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab.fleet import FLEET_PORTS, fleet_hosts  # noqa: E402
from tests.lab.netlab import SUBNET4, Lab, lab_skip_reason  # noqa: E402

BRULEE = str(Path(sys.executable).with_name("brulee"))
PORTS = ",".join(map(str, FLEET_PORTS))
Found = frozenset[tuple[str, str, str, str]]
Figure = tuple[float, Found, str]
Runner = Callable[[Path], list[Path]]
"""Runs one scan writing into a fresh directory; returns the Nmap XML files it produced."""


def found(xml_files: Sequence[Path]) -> Found:
    """(address, port, product, version) of every open port in the files."""
    seen = set()
    for path in xml_files:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        for host in root.iter("host"):
            address = host.find("address").get("addr", "")  # type: ignore[union-attr]
            for port in host.iter("port"):
                state, service = port.find("state"), port.find("service")
                if state is None or state.get("state") != "open":
                    continue
                product = service.get("product", "") if service is not None else ""
                version = service.get("version", "") if service is not None else ""
                seen.add((address, port.get("portid", ""), product, version))
    return frozenset(seen)


def run(lab: Lab, argv: Sequence[str]) -> None:
    done = subprocess.run(lab.scanner_cmd(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")


def brulee(lab: Lab, targets: Sequence[str], *args: str, nmap_args: str = "-n") -> Runner:
    def scan(out: Path) -> list[Path]:
        run(lab, [BRULEE, "scan", *targets, "--nmap-args", f"{nmap_args} -p {PORTS}", *args,
                  "-o", str(out), "-f", "json", "--no-progress", "--no-history"])  # fmt: skip
        return sorted((out / "nmap").glob("scan-*.xml"))

    return scan


def nmap(lab: Lab, targets: Sequence[str], *args: str) -> Runner:
    def scan(out: Path) -> list[Path]:
        out.mkdir()
        run(lab, ["nmap", "-sV", *args, "-n", "-p", PORTS, "-oX", str(out / "scan.xml"),
                  *targets])  # fmt: skip
        return [out / "scan.xml"]

    return scan


def shards(lab: Lab, targets: Sequence[str]) -> Runner:
    """Two contiguous halves at once: what --workers 2 did before slices interleaved."""

    def scan(out: Path) -> list[Path]:
        argvs = [
            [BRULEE, "scan", *targets, "--nmap-args", f"-n -p {PORTS}", "--shard", f"{i}/2",
             "--workers", "1", "-o", str(out / str(i)), "-f", "json", "--no-progress",
             "--no-history"]
            for i in (1, 2)
        ]  # fmt: skip
        procs = [
            subprocess.Popen(
                lab.scanner_cmd(a), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for a in argvs
        ]
        if any(proc.wait() != 0 for proc in procs):
            raise SystemExit("a shard failed")
        return sorted(out.glob("*/nmap/scan-*.xml"))

    return scan


def measure(variants: dict[str, Runner], repeat: int, work: Path) -> dict[str, Figure]:
    """Median wall time of each variant (runs alternate), what its last run found, and the
    range of its times."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, Found] = {}
    for round_ in range(repeat):
        order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in order:
            out = work / f"{name.replace(' ', '_').replace('/', '_')}-{round_}"
            started = time.monotonic()
            files = variants[name](out)
            times[name].append(time.monotonic() - started)
            results[name] = found(files)
            print(f"  {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
    return {
        name: (statistics.median(t), results[name], f"{min(t):.1f}-{max(t):.1f}")
        for name, t in times.items()
    }


def products(result: Found) -> set[tuple[str, str]]:
    return {(product, version) for _, _, product, version in result}


def speed(hosts: int, repeat: int, work: Path) -> None:
    with Lab(fleet_hosts(hosts)) as lab:
        targets = lab.addresses
        figures = measure(
            {
                "brulee scan (defaults)": brulee(lab, targets),
                "nmap -sV -T4": nmap(lab, targets, "-T4"),
                "nmap -sV": nmap(lab, targets),
                "brulee before (-T3, 1 process)": brulee(lab, targets, nmap_args="-n -T3"),
            },
            repeat,
            work,
        )
    t4, reference = figures["nmap -sV -T4"][0], figures["nmap -sV"][1]
    print(f"\n{hosts} hosts, TCP ports {PORTS}, median of {repeat} runs\n")
    print("| run | time | range | / nmap -sV -T4 | open ports | products | as nmap -sV |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, (seconds, result, spread) in figures.items():
        same = "same" if result == reference else f"{len(reference - result)} missing"
        print(f"| {name} | {seconds:.1f} s | {spread} s | {seconds / t4:.2f}x | {len(result)} "
              f"| {len(products(result))} | {same} |")  # fmt: skip


def workers(hosts: int, repeat: int, work: Path) -> None:
    with Lab(fleet_hosts(hosts)) as lab:
        targets = [str(SUBNET4)]
        variants = {f"--workers {n}": brulee(lab, targets, "--workers", str(n)) for n in (1, 2, 4)}
        variants["2 contiguous halves (before)"] = shards(lab, targets)
        figures = measure(variants, repeat, work)
    one, reference, _ = figures["--workers 1"]
    print(f"\n{SUBNET4}: {hosts} live hosts at its start, median of {repeat} runs\n")
    print("| run | time | range | / 1 worker | open ports | as 1 worker |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (seconds, result, spread) in figures.items():
        same = "same" if result == reference else "different"
        print(f"| {name} | {seconds:.1f} s | {spread} s | {seconds / one:.2f}x | {len(result)} "
              f"| {same} |")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["speed", "workers"])
    args = parser.parse_args()
    reason = lab_skip_reason()
    if reason is not None:
        print(f"bench_scan: skipped: the lab {reason}", file=sys.stderr)
        return 0
    print(f"bench_scan: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="brulee-bench-scan-") as work:
        if args.only in (None, "speed"):
            speed(args.hosts, args.repeat, Path(work) / "speed")
        if args.only in (None, "workers"):
            workers(args.hosts, args.repeat, Path(work) / "workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
