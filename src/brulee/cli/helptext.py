"""What ``--help`` ends with: two or three real examples per command, and the exit codes."""

from __future__ import annotations

import argparse

from brulee.cli.config import every_parser

EXIT_CODES = (
    (0, "done; nothing at or above --fail-on"),
    (1, "findings at or above --fail-on"),
    (2, "usage or input error: bad option, target, configuration, malformed XML or feed"),
    (3, "runtime failure: Nmap, TeX, database, history store, writing or uploading"),
)

EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "brulee scan 192.168.1.0/24",
        "brulee report reports/20261201T020000Z/nmap/*.xml --format md",
        "brulee config show scan",
    ),
    "scan": (
        "brulee scan 10.0.0.0/24 -o reports/lan --format json,html",
        'brulee scan -iL hosts.txt --excludefile printers.txt --nmap-args "-p- -T3" --fail-on high',
        "brulee --config /etc/brulee/nightly.toml scan 10.0.0.0/16 -q --fail-on critical",
    ),
    "report": (
        "brulee report reports/20261201T020000Z/nmap/*.xml -o rerendered --format md",
        "brulee report scan.xml --format sarif,csv --no-history --fail-on critical",
    ),
    "merge": (
        "brulee merge reports/site-a reports/site-b -o reports/fleet",
        "brulee merge s3://scans/2026-12-01/ --expect-shards 8 --fail-on kev",
    ),
    "db import": (
        "brulee db import nvdcve-2.0-*.json.gz known_exploited_vulnerabilities.json",
        "brulee db import vulndb.tar.gz",
    ),
    "db update": (
        "brulee db update",
        "brulee db update --mirror https://mirror.example.org/brulee/",
    ),
    "db mirror": ("brulee db mirror /srv/brulee-mirror",),
    "db export": ("brulee db export vulndb.tar.gz",),
    "db status": ("brulee db status", "brulee db status --db /var/lib/brulee/vulndb.sqlite"),
    "explain": (
        "brulee explain --cpe cpe:/a:openbsd:openssh:7.2p2 --cve CVE-2016-3115",
        'brulee explain --product OpenSSH --version "7.4p1 Debian 10+deb9u7"',
    ),
    "history": ("brulee history", "brulee history --limit 5"),
    "diff": ("brulee diff 41 42", "brulee diff old/report.json new/report.json --format md"),
    "suppress add": (
        'brulee suppress add CVE-2016-6210 --reason "no users" --author alice --expires 2027-01-31',
        "brulee suppress add CVE-2011-2523 --reason decommissioned --author bob --host 10.0.0.3",
    ),
    "suppress list": ("brulee suppress list",),
    "suppress remove": ("brulee suppress remove 3",),
    "config show": (
        "brulee config show",
        "brulee config show scan",
        "BRULEE_WORKERS=2 brulee --config ci.toml config show scan",
    ),
}


def epilog(command: str) -> str:
    """The examples of ``command`` (``""`` for brulee itself), then the exit codes."""
    examples = EXAMPLES.get(command) or tuple(
        found[0] for words, found in EXAMPLES.items() if words.startswith(f"{command} ")
    )
    lines = ["examples:", *(f"  {example}" for example in examples), "", "exit codes:"]
    lines += [f"  {code}  {meaning}" for code, meaning in EXIT_CODES]
    return "\n".join(lines)


def add_epilogs(parser: argparse.ArgumentParser) -> None:
    """End every command's ``--help`` (brulee's own and ``brulee db``'s too) with examples (those
    of its sub-commands for a group) and the exit codes."""
    for command, leaf in every_parser(parser):
        leaf.epilog = epilog(command)
        leaf.formatter_class = argparse.RawDescriptionHelpFormatter
