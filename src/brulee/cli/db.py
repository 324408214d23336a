"""The ``brulee db`` commands: import, update, mirror, export, status."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console

from brulee.cli.progress import Activity, add_no_progress, progress_wanted
from brulee.errors import EXIT_OK, DatabaseError
from brulee.vulndb.build import import_files
from brulee.vulndb.meta import format_info
from brulee.vulndb.mirror import mirror
from brulee.vulndb.store import VulnDb, default_db_path
from brulee.vulndb.transfer import export_db, import_db, is_export
from brulee.vulndb.update import update

ArgsAdder = Callable[[argparse.ArgumentParser], None]


def add_db_parser(
    commands: Any, parser_class: type[argparse.ArgumentParser], db_arg: ArgsAdder
) -> None:
    """Add ``brulee db ...`` to the CLI's sub-commands."""
    db = commands.add_parser("db", help="the offline vulnerability database")
    sub = db.add_subparsers(
        dest="db_command", required=True, parser_class=parser_class, metavar="COMMAND",
        help="`brulee db COMMAND --help` for its options",
    )  # fmt: skip
    imp = sub.add_parser(
        "import",
        help="import feeds (NVD 2.0, KEV, EPSS, Debian tracker, Ubuntu OVAL) or a `db export` file",
    )
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="feed files (.json.gz, .csv, .xml...) or a `db export` file")  # fmt: skip
    upd = sub.add_parser(
        "update", help="download the NVD, KEV, EPSS, Debian and Ubuntu data and rebuild"
    )
    upd.add_argument("--mirror", metavar="URL", help="one base URL (or directory) with every file")
    upd.add_argument("--source", choices=("feeds", "api"), default="feeds",
                     help="NVD 2.0 JSON feeds (default), or the CVE API 2.0")  # fmt: skip
    mir = sub.add_parser("mirror", help="download every file into DIR, to serve as --mirror")
    mir.add_argument("directory", type=Path, metavar="DIR", help="where the files go")
    exp = sub.add_parser("export", help="write the built database to FILE for air-gapped use")
    exp.add_argument("file", type=Path, metavar="FILE", help="the archive to write (.tar.gz)")
    status = sub.add_parser("status", help="what the database holds, and its age")
    for command in (imp, upd, exp, status):
        db_arg(command)
    for command in (imp, upd, mir):
        add_no_progress(command)
    for command in (imp, upd, mir, exp, status):
        command.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _say(console: Console, lines: Iterable[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, markup=False)


def run_db(args: argparse.Namespace, console: Console) -> int:
    """Run one ``brulee db`` command."""
    path = args.db if getattr(args, "db", None) else default_db_path()
    command = args.db_command
    if command == "import" and len(args.paths) == 1 and is_export(args.paths[0]):
        import_db(args.paths[0], path)
        _say(console, [f"{path}: installed from {args.paths[0]}"])
    elif command == "import":
        with Activity(console, progress_wanted(args, console)) as activity:
            summary = import_files(path, args.paths, progress=activity.records)
        _say(console, (
            f"{r.path}: {r.kind}, {r.records:,} records ({r.added:,} added, {r.updated:,} "
            f"updated, {r.unchanged:,} unchanged, {r.rejected:,} rejected)"
            for r in summary.files
        ))  # fmt: skip
        _say(console, [f"{path}: {summary.cves:,} CVEs ({summary.seconds:.1f} s)"])
    elif command == "update":
        with Activity(console, progress_wanted(args, console)) as activity:
            done = update(path, mirror=args.mirror, source=args.source, progress=activity)
        _say(console, (f"downloaded {f.name}" for f in done.downloaded))
        _say(console, (f"warning: {w}" for w in done.warnings))
        _say(console, [f"{path}: {done.cves:,} CVEs ({done.seconds:.1f} s)"])
    elif command == "mirror":
        with Activity(console, progress_wanted(args, console)) as activity:
            done_mirror = mirror(args.directory, progress=activity)
        _say(console, (f"downloaded {f.name}" for f in done_mirror.downloaded))
        _say(console, (f"warning: {w}" for w in done_mirror.warnings))
        _say(console, [f"{args.directory}: mirror ready ({done_mirror.seconds:.1f} s)"])
    elif command == "export":
        _say(console, [f"{export_db(path, args.file)}: exported {path}"])
    else:
        if not path.exists():
            raise DatabaseError(f"no vulnerability database at {path} (it is built on first scan)")
        with VulnDb.open(path) as db:
            print("\n".join(format_info(db.info())))  # the answer itself: stdout
    return EXIT_OK
