"""Regenerate the real-Nmap part of tests/assets/nmap/ (root only).

    python -m tests.lab.corpus [OUTDIR]        # default: tests/assets/nmap

Every file is what ``nmap -oX`` wrote inside the lab (``interrupted.xml``: nmap killed with
SIGKILL mid-scan), except that the two vulners files, real ``--script vulners`` scans that
offline produce no script output, then get ``<script id="vulners">`` elements inserted (see
vulners_data.py). The hand-written attack files are not produced here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .netlab import DEFAULT_HOSTS, EMPTY_HOST, MULTI_CPE_HOSTS, Lab
from .ubuntu_hosts import BANNER_HOST, BANNER_PORT, default_banners
from .vulners_data import NO_CVSS_SCRIPTS, VULNERS_SCRIPTS, insert_scripts

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "nmap"
BASE = ("-n", "-T4")
ALL_TCP = "21,22,25,80"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One corpus file: nmap options and targets (host names, or ``unused`` free addresses)."""

    name: str
    options: tuple[str, ...]
    hosts: tuple[str, ...] = ()
    ipv6: bool = False
    unused: int = 0

    def args(self, lab: Lab) -> list[str]:
        """Options and target addresses for this lab."""
        targets = [lab.host(n).ipv6 if self.ipv6 else lab.host(n).ipv4 for n in self.hosts]
        return [*self.options, *targets, *lab.unused_addresses(self.unused)]


TCP_UDP = ("-sS", "-sU", "-sV", "-p", f"T:{ALL_TCP},U:53")
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("lab-basic", TCP_UDP, tuple(h.name for h in DEFAULT_HOSTS)),
    Scenario("hostile-banner", ("-sV", "-p", "80"), ("hostile",)),
    Scenario("same-service-two-hosts", ("-sV", "-p", "22"), ("stretch-ftp", "mail")),
    Scenario("ipv6", ("-6", "-sV", "-p", ALL_TCP), ("stretch-ftp", "web-nginx"), ipv6=True),
    Scenario("udp", ("-sU", "-sV", "-p", "53"), ("mail",)),
    Scenario("hosts-down", ("-v", "-sV", "-p", "22"), unused=3),
    Scenario("hosts-down-quiet", ("-sV", "-p", "22"), unused=3),
    Scenario("no-open-ports", ("-sV",), ("empty",)),
    Scenario(
        "multi-cpe",
        ("-sS", "-sU", "-sV", "-p", "T:22,80,U:53"),
        ("web-apache", "nas", "lamp", "rhel-dns"),
    ),
    # Real vulners runs: offline the script writes nothing; its elements are inserted after.
    Scenario(
        "vulners",
        (*TCP_UDP, "--script", "vulners"),
        ("stretch-ftp", "web-apache", "mail", "rhel-dns"),
    ),
    Scenario(
        "vulners-no-cvss", ("-sV", "--script", "vulners", "-p", "22"), ("stretch-ftp", "mail")
    ),
    Scenario(
        "ubuntu-ssh-banners",
        ("-sV", "-p", f"{BANNER_PORT}-{BANNER_PORT + len(default_banners()) - 1}"),
        (BANNER_HOST.name,),
    ),
)


def nmap_argv(lab: Lab, args: Sequence[str], out: Path) -> list[str]:
    """nmap with the corpus's common options, inside the scanner namespace; run it in out's dir.

    The output name is relative so that no local path ends up in the file's ``args``.
    """
    return lab.scanner_cmd(["nmap", *BASE, "-oX", out.name, *args])


def run_scenario(lab: Lab, scenario: Scenario, outdir: Path) -> Path:
    """Run one scenario; return the file it wrote."""
    out = outdir / f"{scenario.name}.xml"
    started = time.monotonic()
    argv = nmap_argv(lab, scenario.args(lab), out)
    subprocess.run(argv, check=True, capture_output=True, cwd=outdir)
    print(f"{out.name}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return out


def interrupted(lab: Lab, outdir: Path) -> Path:
    """Scan hosts one at a time; SIGKILL nmap once the first host is written."""
    out = outdir / "interrupted.xml"
    args = ["--max-hostgroup", "1", "-sV", "-p", ALL_TCP, *lab.addresses[:5]]
    proc = subprocess.Popen(nmap_argv(lab, args, out), stdout=subprocess.DEVNULL, cwd=outdir)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and "</host>" in out.read_text():
                break
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # `ip netns exec` execs nmap: this PID is nmap
        proc.wait()
    text = out.read_text()
    if "</nmaprun>" in text or text.count("</host>") < 1:
        raise RuntimeError("interrupted.xml is not a truncated scan with a complete host")
    return out


def generate(outdir: Path) -> list[Path]:
    """Bring up one lab holding every corpus host and write every real-scan file."""
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with Lab((*DEFAULT_HOSTS, EMPTY_HOST, *MULTI_CPE_HOSTS, BANNER_HOST)) as lab:
        for scenario in SCENARIOS:
            written.append(run_scenario(lab, scenario, outdir))
        written.append(interrupted(lab, outdir))
    for name, scripts in (("vulners", VULNERS_SCRIPTS), ("vulners-no-cvss", NO_CVSS_SCRIPTS)):
        path = outdir / f"{name}.xml"
        path.write_text(insert_scripts(path.read_text(), scripts))
    return written


def main(argv: Sequence[str]) -> int:
    """Entry point."""
    if os.geteuid() != 0:
        print("corpus: needs root to create network namespaces", file=sys.stderr)
        return 2
    outdir = Path(argv[0]) if argv else DEFAULT_OUT
    for path in generate(outdir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
