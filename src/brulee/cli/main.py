"""Command line: parse arguments, call the pipeline, map BruleeError to one line and exit code."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from brulee import __version__, pipeline
from brulee.cli.db import add_db_parser, run_db
from brulee.cli.explain import add_explain_parser, run_explain
from brulee.cli.history import add_history_parsers, run_history
from brulee.core.scan import Shard
from brulee.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    BruleeError,
    OutputError,
    TargetError,
    UsageError,
)
from brulee.findings.gate import FAIL_ON_CHOICES, FailOn
from brulee.fleet.sources import DirectorySource, ReportSource, StoreSource
from brulee.history.alerts import check_webhook_url
from brulee.history.store import check_history_url
from brulee.history.suppressions import Suppressions, load_suppressions, load_vex
from brulee.history.tracking import Tracking
from brulee.match.sources import DEFAULT_MAX_AGE, Freshness, open_matching
from brulee.outputs import Sink, sink_from_url
from brulee.report.interface import DEFAULT_FORMATS, FORMATS
from brulee.scan.nmap import Job, check_user_args
from brulee.scan.nmap import Progress as NmapProgress
from brulee.scan.progress import Overall, Status, Tracker
from brulee.scan.targets import DEFAULT_MAX_SCOPE, Spec, build_scope, parse_list, read_target_file
from brulee.scan.tuning import MAX_AUTO_WORKERS, default_workers
from brulee.util.clock import utc_now
from brulee.util.redact import clean_handlers, redact
from brulee.util.text import terminal_text

log = logging.getLogger("brulee")
_DURATION = re.compile(r"\d+(?:ms|s|m|h)?")
_AGE = re.compile(r"(\d+)([dh])")
_AGE_UNITS = {"d": "days", "h": "hours"}


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so errors are handled once."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or '(none)'}; choose from {','.join(FORMATS)}"
        )
    return chosen


def duration(text: str) -> str:
    if not _DURATION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30m, 90s or 2h")
    return text


def shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except TargetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def age(text: str) -> timedelta:
    match = _AGE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 7d or 36h")
    return timedelta(**{_AGE_UNITS[match[2]]: int(match[1])})


def _freshness_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-db-age", type=age, default=DEFAULT_MAX_AGE, metavar="AGE",
        help="warn in every report when the vulnerability data is older (default 7d)",
    )  # fmt: skip
    parser.add_argument(
        "--require-fresh-db", action="store_true",
        help="fail (exit 3) instead of warning when the data is older than --max-db-age",
    )  # fmt: skip


def _tracking_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history", metavar="URL",
        help="history store: a path, sqlite:///PATH or postgresql://... (default: $BRULEE_HISTORY, "
        "else beside the database)",
    )  # fmt: skip
    parser.add_argument("--no-history", action="store_true",
                        help="do not record this run nor compare it with the last")  # fmt: skip
    parser.add_argument("--suppressions", type=Path, metavar="FILE",
                        help="YAML file of accepted findings (reason, author, expiry)")  # fmt: skip
    parser.add_argument("--vex", action="append", type=Path, default=[], metavar="FILE",
                        help="OpenVEX 0.2.0 document: not_affected and fixed statements suppress, "
                        "affected and under_investigation ones are shown (repeatable)")  # fmt: skip
    parser.add_argument("--notify", action="append", default=[], metavar="URL",
                        help="webhook for new findings (JSON, Slack, Teams)")  # fmt: skip
    parser.add_argument("--fail-on-new", action="store_true",
                        help="with --fail-on: count only new findings")  # fmt: skip


def _tracking(args: argparse.Namespace) -> Tracking:
    for url in args.notify:
        check_webhook_url(url)
    if not args.no_history:
        check_history_url(args.history)
    suppressions = load_suppressions(args.suppressions) if args.suppressions else None
    if args.vex:
        suppressions = (suppressions or Suppressions()) + load_vex(args.vex)
    return Tracking(
        record=not args.no_history,
        history=args.history,
        suppressions=suppressions,
        notify=tuple(args.notify),
    )


def _gate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on", choices=FAIL_ON_CHOICES, metavar="SEVERITY|kev",
        help="exit 1 when a finding at or above this severity (or in CISA KEV) exists",
    )  # fmt: skip
    parser.add_argument(
        "--strict-backports", action="store_true",
        help="let unverified distribution backports count for --fail-on",
    )  # fmt: skip


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, metavar="PATH",
        help="vulnerability database (default: $BRULEE_DB, else ~/.local/share/brulee/)",
    )  # fmt: skip


def _output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="DIR|s3://B/P|gs://B/P",
        help="directory or bucket prefix for report.<ext> and nmap/ (default: reports/<time>/)",
    )  # fmt: skip
    parser.add_argument(
        "--endpoint-url", metavar="URL",
        help="S3-compatible endpoint for s3:// outputs (also AWS_ENDPOINT_URL)",
    )  # fmt: skip
    parser.add_argument(
        "-f", "--formats", type=formats, default=DEFAULT_FORMATS, metavar="FORMATS",
        help=f"comma list of {','.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)})",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="brulee", description="Network vulnerability scanner built on Nmap -sV.")
    parser.add_argument("--version", action="version", version=f"brulee {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan targets with Nmap and write reports")
    scan.add_argument("targets", nargs="*", metavar="TARGET",
                      help="IP, CIDR, range (10.0.0.1-20) or hostname")  # fmt: skip
    scan.add_argument("-iL", dest="target_files", action="append", type=Path, default=[],
                      metavar="FILE", help="one target per line, # comments")  # fmt: skip
    scan.add_argument("--exclude", action="append", default=[], metavar="SPEC,...",
                      help="targets to leave out (comma list)")  # fmt: skip
    scan.add_argument("--exclude-file", action="append", type=Path, default=[], metavar="FILE")
    scan.add_argument("--nmap-args", default="", metavar='"ARGS"',
                      help='extra Nmap options, e.g. "-sU -p 53,161 -T4"')  # fmt: skip
    scan.add_argument("--workers", type=positive, metavar="N",
                      help="Nmap processes to run in parallel (default: one per CPU, at most "
                      f"{MAX_AUTO_WORKERS}; 1 when --nmap-args sets timing)")  # fmt: skip
    scan.add_argument("--host-timeout", type=duration, default="30m", metavar="DURATION",
                      help="give up on a host after this (default 30m; 0 = never)")  # fmt: skip
    scan.add_argument("--allow-large", action="store_true",
                      help="allow a scope over --max-scope addresses")  # fmt: skip
    scan.add_argument(
        "--max-scope",
        type=positive,
        default=DEFAULT_MAX_SCOPE,
        metavar="N",
        help=f"largest scope without --allow-large (default {DEFAULT_MAX_SCOPE})",
    )
    scan.add_argument("--shard", type=shard, metavar="I/N",
                      help="scan only the I-th of N balanced slices of the targets")  # fmt: skip
    scan.add_argument("--site", default="", metavar="NAME",
                      help="where this scan runs (shown when reports are merged)")  # fmt: skip
    scan.add_argument("--no-progress", action="store_true", help="no progress bar")
    scan.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _output_args(scan)
    _db_arg(scan)
    _freshness_args(scan)
    _gate_args(scan)
    _tracking_args(scan)

    report = commands.add_parser("report", help="render reports from earlier Nmap XML files")
    report.add_argument("xml", nargs="+", type=Path, metavar="NMAP_XML")
    report.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _output_args(report)
    _db_arg(report)
    _freshness_args(report)
    _gate_args(report)
    _tracking_args(report)

    merge = commands.add_parser(
        "merge", help="one report from the JSON reports of many scans or shards"
    )
    merge.add_argument("sources", nargs="+", metavar="SOURCE",
                       help="directory (each report.json in it) or bucket prefix")  # fmt: skip
    merge.add_argument("--expect-shards", type=positive, metavar="N",
                       help="shards per site (default: what the reports say)")  # fmt: skip
    merge.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _output_args(merge)
    _gate_args(merge)
    _tracking_args(merge)

    add_db_parser(commands, _Parser, _db_arg)
    add_explain_parser(commands, _Parser, _db_arg)
    add_history_parsers(commands)
    return parser


def progress_text(overall: Overall) -> str:
    """The words beside the bar: Nmap's phase and estimate, and hosts done."""
    words = [overall.phase] if overall.phase else []
    if overall.remaining is not None and overall.phase:
        minutes, seconds = divmod(overall.remaining, 60)
        words.append(f"~{minutes}:{seconds:02d} left")
    words.append(f"{overall.hosts_done}/{overall.hosts_total} hosts")
    return " · ".join(words)


class ScanProgress:
    """A live bar over all Nmap jobs, fed by Nmap's --stats-every lines (scan/progress.py)."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("[bold]scanning"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
            transient=True,
        ) if enabled else None  # fmt: skip

    def __call__(self, jobs: Sequence[Job]) -> NmapProgress:
        bar = self._bar
        if bar is None:
            return lambda index, status: None
        tracker = Tracker({job.index: job.total for job in jobs})
        start = Overall(0.0, 0, sum(job.total for job in jobs), "", None)
        task = bar.add_task(progress_text(start), total=1.0)
        bar.start()

        def update(index: int, status: Status) -> None:
            overall = tracker.update(index, status)
            bar.update(task, completed=overall.fraction, description=progress_text(overall))

        return update

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _scope_specs(args: argparse.Namespace) -> tuple[list[Spec], list[Spec]]:
    specs = parse_list(args.targets, "target")
    for path in args.target_files:
        specs += read_target_file(path)
    excluded = parse_list(args.exclude, "--exclude")
    for path in args.exclude_file:
        excluded += read_target_file(path)
    return specs, excluded


def _freshness(args: argparse.Namespace) -> Freshness:
    return Freshness(args.max_db_age, args.require_fresh_db)


def _publish(sink: Sink, directory: Path, console: Console) -> None:
    try:
        stored = sink.publish(directory)
    except OutputError as exc:
        raise OutputError(f"{exc}; every result is kept in {directory}") from exc
    console.print(f"uploaded {len(stored)} files to {sink.url}", highlight=False, markup=False)


def _run(args: argparse.Namespace, console: Console) -> int:
    if args.command == "db":
        return run_db(args, console)
    if args.command == "explain":
        return run_explain(args)
    if args.command in ("history", "diff", "suppress"):
        return run_history(args)
    sink = sink_from_url(args.output, endpoint_url=args.endpoint_url) if args.output else None
    if args.output and sink is None:
        directory = Path(args.output)
    else:  # the default, or the local copy of what goes to a bucket (kept if the upload fails)
        directory = pipeline.default_output_dir(utc_now())
    try:
        written = _produce(args, console, directory)
    except BruleeError:
        if sink is not None and directory.exists():
            _publish(sink, directory, console)  # partial results still reach the bucket
        raise
    if sink is not None:
        _publish(sink, directory, console)
    return _summarise(args, console, written)


def _merge_source(url: str, endpoint_url: str | None) -> ReportSource:
    sink = sink_from_url(url, endpoint_url=endpoint_url)
    return StoreSource(sink) if sink is not None else DirectorySource(Path(url))


def _produce(args: argparse.Namespace, console: Console, directory: Path) -> pipeline.Written:
    """Run ``scan``, ``report`` or ``merge``, writing every format into ``directory``."""
    if args.command == "merge":
        sources = [_merge_source(url, args.endpoint_url) for url in args.sources]
        merged = pipeline.merge_reports(
            sources, args.formats, directory, expected_shards=args.expect_shards,
            tracking=_tracking(args),
        )  # fmt: skip
        for warning in merged.coverage:
            log.warning(warning)
        return merged.written
    if args.command == "report":
        with open_matching(args.db, _freshness(args)) as matching:
            return pipeline.render_reports(
                args.xml, args.formats, directory, matching=matching, tracking=_tracking(args)
            )
    user_args = tuple(check_user_args(args.nmap_args))
    specs, excluded = _scope_specs(args)
    scope = build_scope(specs, excluded, args.max_scope, args.allow_large)
    request = pipeline.ScanRequest(
        scope=scope,
        targets=tuple(s.text for s in specs),
        user_args=user_args,
        workers=args.workers or default_workers(user_args),
        host_timeout=None if args.host_timeout in {"0", "0s"} else args.host_timeout,
        formats=args.formats,
        directory=directory,
        shard=args.shard,
        site=args.site,
        tracking=_tracking(args),
    )
    with open_matching(args.db, _freshness(args)) as matching:
        progress = ScanProgress(console, not args.no_progress and console.is_terminal)
        try:
            return pipeline.scan(request, progress, matching)
        finally:
            progress.stop()


def _summarise(args: argparse.Namespace, console: Console, written: pipeline.Written) -> int:
    """Print what was written, and apply the --fail-on gate."""
    if written.incomplete:
        console.print(
            "[yellow]warning:[/] incomplete: hosts or shards are missing (see the report)"
        )
    console.print(
        f"{written.hosts_up} hosts up, {written.services} services, "
        f"{written.vulnerable} vulnerable. Reports:"
    )
    for path in written.files:
        console.print(f"  {terminal_text(str(path))}", highlight=False, markup=False)
    if written.history_problem:  # every report is written, without the history's part
        print_error(console, written.history_problem)
        return EXIT_RUNTIME
    if args.fail_on:
        gate = FailOn(args.fail_on, args.strict_backports)
        failing = (
            gate.failing_new(written.new) if args.fail_on_new else gate.failing(written.groups)
        )
        if failing:
            shown = ", ".join(failing[:10]) + (" ..." if len(failing) > 10 else "")
            console.print(f"--fail-on {args.fail_on}: {len(failing)} finding(s): {shown}",
                          highlight=False, markup=False)  # fmt: skip
            return EXIT_FINDINGS
    return EXIT_OK


_NMAP_OUTPUT_FLAGS = {"-oX", "-oN", "-oG", "-oA", "-oS", "-oM", "-oH"}


def normalise_argv(argv: Sequence[str]) -> list[str]:
    """Bind ``--nmap-args VALUE`` as one word (its value starts with '-', which argparse would
    take for an option) and refuse Nmap's output flags, which argparse would read as ``-o X``."""
    words: list[str] = []
    pending = False
    for index, word in enumerate(argv):
        if word == "--" and not pending:
            return words + list(argv[index:])
        if pending:
            words[-1] += word
            pending = False
        elif word == "--nmap-args":
            words.append("--nmap-args=")
            pending = True
        elif word in _NMAP_OUTPUT_FLAGS:
            raise UsageError(
                f"{word} is an Nmap output option: brulee keeps the raw XML in DIR/nmap/ "
                "(see -o DIR)"
            )
        else:
            words.append(word)
    return words


def print_error(console: Console, message: str) -> None:
    """``brulee: error: MESSAGE`` on one line, without secrets or control characters."""
    console.print(f"brulee: error: {terminal_text(redact(message))}", highlight=False, markup=False)


def _stop_on_sigterm(signum: int, frame: object) -> NoReturn:
    """A container or Kubernetes stop: end the scan as Ctrl-C does, writing what was found."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    console = Console(stderr=True, soft_wrap=True)
    if argv is None:  # the real command, not a caller in this process
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
    raw = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in raw
    # Plain one-line log records on stderr: they end up in CI logs and cron mail.
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="brulee: %(levelname)s: %(message)s",
        force=True,
    )
    clean_handlers()  # every record one printable line, without secrets, at every level
    try:
        return _run(build_parser().parse_args(normalise_argv(raw)), console)
    except BruleeError as exc:
        if debug:
            log.exception("failed")
        print_error(console, str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("brulee: interrupted", highlight=False, markup=False)
        return EXIT_RUNTIME
    except OSError as exc:
        if debug:
            log.exception("failed")
        print_error(console, str(exc))
        return EXIT_RUNTIME
