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
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from brulee import __version__, pipeline
from brulee.cli.config import (
    SecretConsole,
    add_common_options,
    add_config_parser,
    hide_secrets,
    parse,
    run_config,
)
from brulee.cli.db import add_db_parser, run_db
from brulee.cli.explain import add_explain_parser, run_explain
from brulee.cli.helptext import add_epilogs
from brulee.cli.history import add_history_parsers, run_history
from brulee.cli.progress import Activity, add_no_progress, progress_wanted
from brulee.cli.streams import STDIO, resolve_output, stdin_targets, stdin_xml
from brulee.cli.summary import summary
from brulee.core.scan import Shard
from brulee.errors import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_RUNTIME,
    BruleeError,
    HistoryError,
    OutputError,
    TargetError,
    UsageError,
)
from brulee.findings.gate import FAIL_ON_CHOICES, FailOn
from brulee.fleet.sources import DirectorySource, ReportSource, StoreSource
from brulee.history.alerts import check_webhook_url
from brulee.history.store import check_history_url, open_store
from brulee.history.suppressions import Suppressions, load_suppressions, load_vex
from brulee.history.tracking import Tracking
from brulee.match.sources import DEFAULT_MAX_AGE, Freshness, open_matching
from brulee.outputs import Sink, sink_from_url
from brulee.report.interface import DEFAULT_FORMATS, FORMATS
from brulee.scan.nmap import Job
from brulee.scan.nmap import Progress as NmapProgress
from brulee.scan.nmapargs import UNSAFE_FLAG, vet_user_args
from brulee.scan.progress import Overall, Status, Tracker
from brulee.scan.targets import (
    DEFAULT_MAX_SCOPE,
    Resolution,
    Spec,
    build_scope,
    parse_list,
    read_target_file,
    resolve,
)
from brulee.scan.tuning import MAX_AUTO_WORKERS, default_workers
from brulee.util.clock import utc_now
from brulee.util.redact import clean_handlers, redact
from brulee.util.text import one_line, terminal_text

log = logging.getLogger("brulee")
_DURATION = re.compile(r"\d+(?:ms|s|m|h)?")
_AGE = re.compile(r"(\d+)([dh])")
_AGE_UNITS = {"d": "days", "h": "hours"}


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so errors are handled once, and takes
    no abbreviation of a long option (``--format`` is not ``--formats``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

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
        location=args.location,
    )


def _gate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on", choices=FAIL_ON_CHOICES, metavar="SEVERITY|kev",
        help="exit 1 when a finding at or above this severity (or in CISA KEV) exists",
    )  # fmt: skip
    parser.add_argument(
        "--strict", "--strict-backports", dest="strict", action="store_true",
        help="let possible findings (conditional, version-range, unbounded, reported, "
        "unverified backport) count for --fail-on, not only certain ones",
    )  # fmt: skip


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, metavar="PATH",
        help="vulnerability database (default: $BRULEE_DB, else ~/.local/share/brulee/)",
    )  # fmt: skip


def _output_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", metavar="DIR|FILE.EXT|-|s3://B/P|gs://B/P",
        help="directory or bucket prefix for report.<ext> and nmap/ (default: reports/<time>/); "
        "with one format, FILE.EXT for that one file, - for standard output",
    )  # fmt: skip
    parser.add_argument(
        "--endpoint-url", metavar="URL",
        help="S3-compatible endpoint for s3:// outputs (also AWS_ENDPOINT_URL)",
    )  # fmt: skip
    parser.add_argument(
        "-f", "--format", "--formats", dest="formats", type=formats, default=DEFAULT_FORMATS,
        metavar="FORMATS",
        help=f"comma list of {','.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)})",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="brulee", description="Network vulnerability scanner built on Nmap -sV.")
    parser.add_argument("--version", action="version", version=f"brulee {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and tracebacks")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND",
        help="one of these; `brulee COMMAND --help` shows its options",
    )  # fmt: skip

    scan = commands.add_parser("scan", help="scan targets with Nmap and write reports")
    scan.add_argument("targets", nargs="*", metavar="TARGET",
                      help="IP, CIDR, range (10.0.0.1-20) or hostname")  # fmt: skip
    scan.add_argument("-iL", dest="target_files", action="append", type=Path, default=[],
                      metavar="FILE",
                      help="one target per line, # comments; - reads standard input")  # fmt: skip
    scan.add_argument("--exclude", action="append", default=[], metavar="SPEC,...",
                      help="targets to leave out (comma list)")  # fmt: skip
    scan.add_argument("--exclude-file", "--excludefile", action="append", type=Path, default=[],
                      metavar="FILE", help="targets to leave out, one per line, # comments "
                      "(repeatable)")  # fmt: skip
    scan.add_argument("--nmap-args", default="", metavar='"ARGS"',
                      help='extra Nmap options, e.g. "-sU -p 53,161 -T4"')  # fmt: skip
    scan.add_argument(
        UNSAFE_FLAG,
        action="store_true",
        help="also pass --nmap-args that reach files, run scripts from paths or "
        "send traffic outside the scope (hands Nmap to whoever writes the config)",
    )
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
    add_no_progress(scan)
    scan.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _output_args(scan)
    _db_arg(scan)
    _freshness_args(scan)
    _gate_args(scan)
    _tracking_args(scan)

    report = commands.add_parser("report", help="render reports from earlier Nmap XML files")
    report.add_argument("xml", nargs="+", metavar="NMAP_XML",
                        help="Nmap XML (-oX) files, such as DIR/nmap/*.xml of a scan; - reads "
                        "standard input")  # fmt: skip
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
    add_no_progress(merge)
    merge.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _output_args(merge)
    _gate_args(merge)
    _tracking_args(merge)

    add_db_parser(commands, _Parser, _db_arg)
    add_explain_parser(commands, _Parser, _db_arg)
    add_history_parsers(commands)
    add_config_parser(commands)
    add_common_options(parser)
    add_epilogs(parser)
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
        specs += stdin_targets() if str(path) == STDIO else read_target_file(path)
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
    output = resolve_output(
        args.output, args.formats, chosen=args.formats is not DEFAULT_FORMATS,
        default=lambda: pipeline.default_output_dir(utc_now()), endpoint_url=args.endpoint_url,
    )  # fmt: skip
    args.formats, args.location = output.formats, output.location
    directory, sink = output.directory, output.sink
    try:
        written = _produce(args, console, directory)
    except (BruleeError, KeyboardInterrupt):
        if sink is not None and directory.exists():
            _publish(sink, directory, console)  # partial results still reach the bucket
        output.salvage()
        raise
    if sink is not None:
        _publish(sink, directory, console)
    return _summarise(args, console, output.deliver(written))


def _merge_source(url: str, endpoint_url: str | None) -> ReportSource:
    sink = sink_from_url(url, endpoint_url=endpoint_url)
    return StoreSource(sink) if sink is not None else DirectorySource(Path(url))


def _check_before_scan(tracking: Tracking, directory: Path) -> None:
    """What would otherwise fail only once Nmap is done: the history store is opened (created
    and migrated if need be) and the output directory created and written to. UsageError
    (exit 2) naming the option; the other options are checked as they are read."""
    if tracking.record:
        try:
            open_store(tracking.history).close()
        except HistoryError as exc:
            raise UsageError(
                f"--history: {one_line(exc, 400)}; or pass --no-history to scan without it"
            ) from exc
    try:
        pipeline.check_output_dir(directory)
    except OutputError as exc:
        raise UsageError(f"-o: {exc}") from exc


def _unresolved(
    resolution: Resolution, specs: Sequence[Spec], excluded: Sequence[Spec]
) -> tuple[str, ...]:
    """The target hostnames that did not resolve (warned about; they are not scanned), and a
    warning for each exclusion that did not (it excludes nothing)."""
    missing = set(resolution.unresolved)
    for name in dict.fromkeys(s.hostname for s in excluded if s.hostname in missing):
        log.warning("--exclude %s: the name does not resolve, so it excludes no address", name)
    targets = tuple(dict.fromkeys(s.hostname for s in specs if s.hostname in missing))
    if targets:
        log.warning(
            "%d target(s) did not resolve and are not scanned: %s",
            len(targets), ", ".join(targets[:10]) + (" ..." if len(targets) > 10 else ""),
        )  # fmt: skip
    return targets


def _produce(args: argparse.Namespace, console: Console, directory: Path) -> pipeline.Written:
    """Run ``scan``, ``report`` or ``merge``, writing every format into ``directory``."""
    if args.command == "merge":
        sources = [_merge_source(url, args.endpoint_url) for url in args.sources]
        with Activity(console, progress_wanted(args, console)) as activity:
            merged = pipeline.merge_reports(
                sources, args.formats, directory, expected_shards=args.expect_shards,
                tracking=_tracking(args), progress=activity,
            )  # fmt: skip
        for warning in merged.coverage:
            log.warning(warning)
        return merged.written
    if args.command == "report":
        if args.xml.count(STDIO) > 1:
            raise UsageError("standard input (-) can be read only once")
        xml = [stdin_xml(directory) if path == STDIO else Path(path) for path in args.xml]
        with open_matching(args.db, _freshness(args)) as matching:
            return pipeline.render_reports(
                xml, args.formats, directory, matching=matching, tracking=_tracking(args)
            )
    vetted = vet_user_args(args.nmap_args, args.allow_unsafe_nmap_args)
    for unsafe in vetted.unsafe:
        log.warning("%s: passing %s to Nmap", UNSAFE_FLAG, unsafe)
    user_args = vetted.words
    specs, excluded = _scope_specs(args)
    resolution = resolve([*specs, *excluded], ipv6="-6" in user_args)
    scope = build_scope(specs, excluded, args.max_scope, args.allow_large, resolution)
    tracking = _tracking(args)
    request = pipeline.ScanRequest(
        scope=scope,
        targets=tuple(s.text for s in specs),
        hostnames=resolution.names(),
        unresolved=_unresolved(resolution, specs, excluded),
        user_args=user_args,
        workers=args.workers or default_workers(user_args),
        host_timeout=None if args.host_timeout in {"0", "0s"} else args.host_timeout,
        formats=args.formats,
        directory=directory,
        shard=args.shard,
        site=args.site,
        tracking=tracking,
    )
    with open_matching(args.db, _freshness(args)) as matching:
        _check_before_scan(tracking, directory)
        progress = ScanProgress(console, progress_wanted(args, console))
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
    if written.unresolved:
        console.print(
            f"[yellow]warning:[/] {len(written.unresolved)} target(s) did not resolve to an "
            "address and were not scanned (listed in the report)"
        )
    for line in summary(written):
        console.print(line, highlight=False, markup=False)
    console.print("Reports:")
    for path in written.files:
        console.print(f"  {terminal_text(str(path))}", highlight=False, markup=False)
    if written.history_problem:  # every report is written, without the history's part
        print_error(console, written.history_problem)
        return EXIT_RUNTIME
    if args.fail_on:
        gate = FailOn(args.fail_on, args.strict)
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
    """``brulee: error: MESSAGE`` on one line, without secrets or control characters (shown with
    --quiet too)."""
    console.quiet = False
    console.print(f"brulee: error: {terminal_text(redact(message))}", highlight=False, markup=False)


def _stop_on_sigterm(signum: int, frame: object) -> NoReturn:
    """A container or Kubernetes stop: end the scan as Ctrl-C does, writing what was found."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    console = SecretConsole(stderr=True, soft_wrap=True)
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
        parsed = parse(build_parser(), normalise_argv(raw))
        console.secrets = frozenset(parsed.secrets())
        hide_secrets(console.secrets)
        args = parsed.args
        debug = debug or args.debug
        if debug or args.quiet:
            logging.getLogger().setLevel(logging.DEBUG if debug else logging.ERROR)
        console.quiet = args.quiet
        if parsed.command == "config show":
            return run_config(parsed)
        return _run(args, console)
    except BruleeError as exc:
        if debug:
            log.exception("failed")
        print_error(console, str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        console.quiet = False
        console.print("brulee: interrupted", highlight=False, markup=False)
        return EXIT_RUNTIME
    except OSError as exc:
        if debug:
            log.exception("failed")
        print_error(console, str(exc))
        return EXIT_RUNTIME
