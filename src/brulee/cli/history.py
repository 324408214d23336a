"""The ``brulee history`` and ``brulee diff`` commands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brulee.core.history import Changes, TrackedFinding, TrackedPort
from brulee.errors import EXIT_OK
from brulee.history.diff import diff_scans
from brulee.history.store import open_store
from brulee.pipeline import diff_report_files
from brulee.report.changes import changes_html, changes_markdown
from brulee.report.json import changes_json


def add_history_parsers(commands: Any) -> None:
    """Add ``brulee history`` and ``brulee diff`` to the CLI's sub-commands."""
    history = commands.add_parser("history", help="list past scans, reports and merges")
    history.add_argument("--limit", type=int, default=20, metavar="N")
    diff = commands.add_parser("diff", help="what changed between two scans")
    diff.add_argument("old", metavar="OLD", help="a scan id (see brulee history) or report.json")
    diff.add_argument("new", metavar="NEW", help="a scan id or report.json")
    diff.add_argument("--format", choices=("text", "json", "md", "html"), default="text",
                      help="text (default), json, md, or a self-contained html page")  # fmt: skip
    suppress = commands.add_parser("suppress", help="suppressions kept in the history store")
    actions = suppress.add_subparsers(dest="suppress_command", required=True)
    add = actions.add_parser("add", help="accept a finding (same fields as a YAML entry)")
    add.add_argument("cve", metavar="CVE")
    add.add_argument("--reason", required=True)
    add.add_argument("--author", required=True)
    for name in ("product", "version", "host", "port", "protocol", "cidr", "expires"):
        add.add_argument(f"--{name}")
    listing = actions.add_parser("list", help="the kept suppressions")
    remove = actions.add_parser("remove", help="forget a kept suppression")
    remove.add_argument("id", type=int, metavar="ID")
    for command in (history, diff, add, listing, remove):
        command.add_argument("--history", metavar="URL", help="the history store")
        command.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _finding(item: TrackedFinding) -> str:
    age = f", open {item.age_days} days" if item.age_days else ""
    return (
        f"{item.id} ({item.severity}{', KEV' if item.kev else ''}) {item.service} at "
        f"{item.address}:{item.port}/{item.protocol}, first seen {item.first_seen[:10]}{age}"
    )


def _port(port: TrackedPort) -> str:
    return f"{port.address}:{port.port}/{port.protocol} {port.service}"


def changes_text(changes: Changes) -> list[str]:
    """The changes as terminal lines."""
    lines = [
        f"changes from scan {changes.previous.id} ({changes.previous.scanned_at}) "
        f"to scan {changes.current.id} ({changes.current.scanned_at}):",
        f"  {len(changes.new_findings)} new, {len(changes.reappeared_findings)} reappeared, "
        f"{len(changes.fixed_findings)} fixed findings; {changes.still_open} still open",
    ]
    sections: list[tuple[str, list[str]]] = [
        ("new findings", [_finding(f) for f in changes.new_findings]),
        ("reappeared findings", [_finding(f) for f in changes.reappeared_findings]),
        ("fixed findings", [_finding(f) for f in changes.fixed_findings]),
        ("new ports", [_port(p) for p in changes.new_ports]),
        ("closed ports", [_port(p) for p in changes.closed_ports]),
        ("changed services", [f"{c.address}:{c.port}/{c.protocol} {c.old} -> {c.new}"
                              for c in changes.changed_services]),
        ("hosts not found up again", list(changes.missing_hosts)),
    ]  # fmt: skip
    for title, items in sections:
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {item}" for item in items)
    return lines


def _suppress(args: argparse.Namespace) -> int:
    with open_store(args.history) as store:
        if args.suppress_command == "add":
            fields = {name: getattr(args, name) for name in _SUPPRESSION_FIELDS}
            print(f"suppression {store.add_suppression(fields)} kept in {store.where}")
        elif args.suppress_command == "remove":
            store.remove_suppression(args.id)
        else:
            for entry_id, entry in store.suppressions():
                scope = ", ".join(
                    f"{name} {value}"
                    for name in ("product", "version", "host", "port", "protocol", "cidr")
                    if (value := getattr(entry, name)) is not None
                )
                expiry = f" until {entry.expires}" if entry.expires else ""
                print(f"{entry_id:>5}  {entry.cve}  {scope or 'everywhere'}{expiry}  "
                      f"{entry.author}: {entry.reason}")  # fmt: skip
    return EXIT_OK


_SUPPRESSION_FIELDS = (
    "cve", "reason", "author", "product", "version", "host", "port", "protocol", "cidr", "expires",
)  # fmt: skip


def run_history(args: argparse.Namespace) -> int:
    """Run ``brulee history``, ``diff`` or ``suppress``; the answer goes to stdout."""
    if args.command == "suppress":
        return _suppress(args)
    if args.command == "history":
        with open_store(args.history) as store:
            for scan in store.list_scans(args.limit):
                label = " ".join(filter(None, (scan.site, scan.shard and f"shard {scan.shard}")))
                print(
                    f"{scan.id:>6}  {scan.scanned_at}  {scan.kind:<6}  {scan.hosts_up:>6} up  "
                    f"{scan.findings:>7} findings  {label or '-'}  {scan.location}"
                )
        return EXIT_OK
    if args.old.isdigit() and args.new.isdigit():
        with open_store(args.history) as store:
            changes = diff_scans(store, int(args.old), int(args.new))
    else:
        changes = diff_report_files(Path(args.old), Path(args.new))
    render: dict[str, Callable[[], str]] = {
        "text": lambda: "\n".join(changes_text(changes)),
        "json": lambda: json.dumps(changes_json(changes), indent=2),
        "md": lambda: changes_markdown(changes),
        "html": lambda: changes_html(changes),
    }
    print(render[args.format]())
    return EXIT_OK
