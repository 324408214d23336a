"""The ``brulee history`` and ``brulee diff`` commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from brulee.core.history import ChangedLocation, Changes
from brulee.errors import EXIT_OK
from brulee.history.diff import diff_scans
from brulee.history.store import open_store
from brulee.pipeline import diff_report_files
from brulee.report.changes import changes_html, changes_markdown
from brulee.report.json import write_changes
from brulee.util.text import terminal_text

log = logging.getLogger(__name__)


def add_history_parsers(commands: Any) -> None:
    """Add ``brulee history`` and ``brulee diff`` to the CLI's sub-commands."""
    history = commands.add_parser("history", help="list past scans, reports and merges")
    history.add_argument("--limit", type=int, default=20, metavar="N",
                         help="the N most recent (default 20)")  # fmt: skip
    diff = commands.add_parser("diff", help="what changed between two scans")
    diff.add_argument("old", metavar="OLD", help="a scan id (see brulee history) or report.json")
    diff.add_argument("new", metavar="NEW", help="a scan id or report.json")
    diff.add_argument("--format", choices=("text", "json", "md", "html"), default="text",
                      help="text (default), json, md, or a self-contained html page")  # fmt: skip
    suppress = commands.add_parser("suppress", help="suppressions kept in the history store")
    actions = suppress.add_subparsers(
        dest="suppress_command", required=True, metavar="COMMAND",
        help="`brulee suppress COMMAND --help` for its options",
    )  # fmt: skip
    add = actions.add_parser("add", help="accept a finding (same fields as a YAML entry)")
    add.add_argument("cve", metavar="CVE", help="the accepted vulnerability, CVE-YYYY-NNNN")
    add.add_argument("--reason", required=True, help="why it is accepted (required)")
    add.add_argument("--author", required=True, help="who accepts it (required)")
    for name, text in _SCOPE_HELP.items():
        add.add_argument(f"--{name}", help=text)
    listing = actions.add_parser("list", help="the kept suppressions")
    remove = actions.add_parser("remove", help="forget a kept suppression")
    remove.add_argument("id", type=int, metavar="ID", help="its number in `brulee suppress list`")
    for command in (history, diff, add, listing, remove):
        command.add_argument("--history", metavar="URL", help="the history store")
        command.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


_SCOPE_HELP = {
    "product": "only for this product, as Nmap names it (OpenSSH)",
    "version": "only for this version of it",
    "host": "only on this address",
    "port": "only on this port",
    "protocol": "only over this protocol (tcp, udp)",
    "cidr": "only on addresses in this network (10.0.0.0/24)",
    "expires": "until this date (YYYY-MM-DD), then shown again",
}


def _where(loc: ChangedLocation) -> str:
    host = f"[{loc.address}]" if ":" in loc.address else loc.address
    return f"{host}:{loc.port}/{loc.protocol}"


def _listed(where: Iterable[str], count: int) -> str:
    shown = list(where)
    return ", ".join(shown) + (f" and {count - len(shown):,} more" if count > len(shown) else "")


def changes_text(changes: Changes) -> list[str]:
    """The changes as terminal lines: each group with its first locations."""
    c = changes
    lines = [
        f"changes from {c.previous.name} ({c.previous.scanned_at}) "
        f"to {c.current.name} ({c.current.scanned_at}):",
        *(f"  note: {note}" for note in c.notes),
        f"  {c.count('new'):,} new, {c.count('reappeared'):,} reappeared, "
        f"{c.count('fixed'):,} fixed findings; {c.still_open:,} still open"
        + (f"; {c.unknown:,} unknown" if c.unknown else ""),
    ]
    for change in ("new", "reappeared", "fixed"):
        groups = [g for g in c.findings if g.change == change]
        if groups:
            lines.append(f"{change} findings:")
        for g in groups:
            where = _listed((_where(loc) for loc in g.locations), g.count)
            lines.append(f"  {g.id} ({g.severity}{', KEV' if g.kev else ''}) {g.service} "
                         f"at {g.count:,}: {where}")  # fmt: skip
    titles = {"new": "new ports", "closed": "closed ports", "changed": "changed services"}
    for change, title in titles.items():
        ports = [p for p in c.ports if p.change == change]
        if ports:
            lines.append(f"{title}:")
        for p in ports:
            service = f"{p.previous} -> {p.service}" if change == "changed" else p.service
            where = _listed((_where(loc) for loc in p.locations), p.count)
            lines.append(f"  {service} at {p.count:,}: {where}")
    for h in c.hosts:
        title = "not found up again" if h.change == "missing" else "given up on"
        lines.append(f"hosts {title} ({h.count:,}): {_listed(h.addresses, h.count)}")
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
                print(terminal_text(f"{entry_id:>5}  {entry.cve}  {scope or 'everywhere'}"
                                    f"{expiry}  {entry.author}: {entry.reason}"))  # fmt: skip
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
                outcome = scan.outcome if scan.reported else "unreported"
                print(
                    f"{scan.id:>6}  {scan.scanned_at}  {scan.kind:<6}  {outcome:<11}  "
                    f"{scan.hosts_up:>6} up  "
                    f"{scan.findings:>7} findings  {terminal_text(label) or '-'}  "
                    f"{terminal_text(scan.location)}"
                )
        return EXIT_OK
    with _changes(args) as changes:
        for note in changes.notes:
            log.warning(note)
        if args.format == "json":
            write_changes(sys.stdout, changes)
            print()
            return EXIT_OK
        render: dict[str, Callable[[], str]] = {
            "text": lambda: "\n".join(terminal_text(line) for line in changes_text(changes)),
            "md": lambda: changes_markdown(changes),
            "html": lambda: changes_html(changes),
        }
        print(render[args.format]())
    return EXIT_OK


@contextmanager
def _changes(args: argparse.Namespace) -> Iterator[Changes]:
    """The changes ``brulee diff`` shows: of two scans of the history, or two reports."""
    if args.old.isdigit() and args.new.isdigit():
        with open_store(args.history) as store:
            yield diff_scans(store, int(args.old), int(args.new))
    else:
        with diff_report_files(Path(args.old), Path(args.new)) as changes:
            yield changes
