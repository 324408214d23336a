"""Where the stages meet, in order: targets -> nmap -> parse -> match -> group -> render ->
history; and for fleets, reports read back -> united -> render -> history."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from brulee import __version__
from brulee.core.findings import ServiceGroup
from brulee.core.history import Changes, FindingGroup, ScanKind
from brulee.core.ports import NO_PORTS, PortSet
from brulee.core.report import MissingShard, PartSummary, Report, ScanSummary
from brulee.core.scan import Host, Shard
from brulee.errors import HistoryError, NmapError, OutputError, ReportError
from brulee.findings.grouping import ServiceGrouper
from brulee.findings.spool import Spool
from brulee.fleet.merge import merged_report, read_report
from brulee.fleet.sources import REPORT_NAME, ReportSource
from brulee.history.diff import diff_scans, scratch_store
from brulee.history.tracking import (
    NO_TRACKING,
    Tracking,
    concluded,
    new_findings,
    tracked,
    unavailable,
    without_history,
)
from brulee.match.assess import Assessor
from brulee.match.sources import Matching
from brulee.report.interface import Renderer, extension_of, renderer_for, write_report
from brulee.scan.nmap import (
    Job,
    JobResult,
    Progress,
    Runner,
    ScopeFilter,
    find_nmap,
    is_privileged,
    plan_jobs,
)
from brulee.scan.nmapxml import NmapXmlReader, merge_runs
from brulee.scan.targets import Scope
from brulee.util.clock import utc_now
from brulee.util.text import first_lines

log = logging.getLogger(__name__)

INTERRUPTED = "the scan was interrupted"
CONNECT_SCAN_NOTE = (
    "not running as root: Nmap cannot send raw packets and uses a TCP connect scan (-sT), "
    "which is slower and louder; UDP and OS detection need root"
)


_MAX_RUNS_PER_SECOND = 1000


def default_output_dir(now: datetime, root: Path = Path("reports")) -> Path:
    """Create and return this run's own directory: ``root/<UTC time>``, or ``<UTC time>-2``,
    ``-3``... when another run took that name (created exclusively: two runs started in the same
    second never share a directory). OutputError when none can be created."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    make_output_dir(root)
    for n in range(1, _MAX_RUNS_PER_SECOND + 1):
        directory = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            why = exc.strerror or exc
            raise OutputError(f"cannot create output directory {directory}: {why}") from exc
        return directory
    raise OutputError(f"cannot create an output directory in {root}: {stamp} is taken too often")


def make_output_dir(directory: Path) -> Path:
    """Create ``directory`` (and its parents) if needed; OutputError when that is impossible."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {directory}: {exc.strerror}") from exc
    return directory


def prepare_output(directory: Path) -> Path:
    """Create ``directory`` and its ``nmap/`` folder for the raw XML; returns the latter.
    OutputError when ``nmap`` there is a symlink (never followed: Nmap would write through it)."""
    make_output_dir(directory)
    raw = directory / "nmap"
    if raw.is_symlink():
        raise OutputError(f"{raw} is a symbolic link: remove it, or choose another directory")
    return make_output_dir(raw)


def check_output_dir(directory: Path) -> None:
    """Create ``directory`` and its ``nmap/`` folder, and write a file in each (then remove it):
    OutputError, before a scan, when the reports or the raw XML could not be written there."""
    for folder in (directory, prepare_output(directory)):
        try:
            with tempfile.TemporaryFile(dir=folder, prefix=".brulee-check-"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write in {folder}: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class Written:
    """The report files written, and what a user should know about them."""

    files: tuple[Path, ...]
    incomplete: bool
    hosts_up: int
    services: int
    vulnerable: int
    groups: tuple[ServiceGroup, ...]
    possibly_vulnerable: int = 0
    """Services whose findings are all possible (none certain)."""
    known_exploited: int = 0
    """Distinct certain findings in CISA KEV: the KEV box's "fix first"."""
    new: tuple[FindingGroup, ...] = ()
    """Findings first seen in this scan (history on, and a previous scan of the scope)."""
    ports: PortSet = NO_PORTS
    """The ports Nmap was told to scan."""
    history_problem: str = ""
    """Why the history store could not be used: the reports lack its changes and suppressions
    (a runtime failure, exit 3, once they are written)."""
    unresolved: tuple[str, ...] = ()
    """Target hostnames that resolved to no address: not scanned."""


def _render(
    report: Report, renderers: Sequence[tuple[str, Renderer]], directory: Path
) -> tuple[list[Path], list[str]]:
    """Write ``directory/report.EXT`` for each (format, renderer): the files written and the
    failures (the other formats are still written)."""
    files, failed = [], []
    for fmt, renderer in renderers:
        path = directory / f"report.{extension_of(fmt)}"
        try:
            write_report(renderer, report, path)
        except ReportError as exc:
            failed.append(str(exc))
        else:
            files.append(path)
    return files, failed


def write_reports(
    report: Report,
    renderers: Sequence[tuple[str, Renderer]],
    directory: Path,
    *,
    tracking: Tracking = NO_TRACKING,
    kind: ScanKind = "report",
    now: datetime | None = None,
) -> Written:
    """Record the history and apply suppressions, then write ``directory/report.EXT`` for each
    (format, renderer); once all are written, mark the scan reported and send the alerts (see
    ``concluded``). When a format fails the others are still written, then ReportError names
    every failure, and the scan stays unreported: its new findings are new again next run.
    When the history store fails, here or while its changes are read, every report is written
    without them (``Written.history_problem``)."""
    now = now or utc_now()
    with tracked(report, tracking, kind=kind, location=str(directory), now=now) as prepared:
        ready = prepared
        try:
            files, failed = _render(ready.report, renderers, directory)
        except HistoryError as exc:  # the store failed while the changes streamed from it
            ready = without_history(report, tracking, unavailable(exc), now)
            files, failed = _render(ready.report, renderers, directory)
        problem = ready.problem
        if not failed:  # reported: the scan's new findings are spent, its alerts owed
            try:
                concluded(ready, tracking, now)
            except HistoryError as exc:
                problem = unavailable(exc)
                log.warning(problem)
    if failed:
        where = f"other reports were written to {directory}" if files else "no report was written"
        raise ReportError("; ".join(failed) + f" ({where})")
    run = ready.report.scan.run
    statuses = ready.report.status_counts()
    return Written(
        files=tuple(files),
        incomplete=not run.complete,
        hosts_up=run.hosts_up,
        services=len(ready.report.services),
        vulnerable=statuses.get("vulnerable", 0),
        groups=ready.report.services,
        possibly_vulnerable=statuses.get("possibly-vulnerable", 0),
        known_exploited=ready.report.kev_counts()[0],
        new=new_findings(ready.report.changes),
        ports=run.ports,
        history_problem=problem,
        unresolved=ready.report.scan.unresolved,
    )


def _given_name(host: Host, hostnames: Mapping[str, str]) -> Host:
    """``host`` with the name it was given as first among its names, as Nmap lists a target
    name (brulee resolves names itself and gives Nmap the addresses)."""
    given = hostnames.get(host.address)
    if not given:
        return host
    return replace(host, hostnames=(given, *(h for h in host.hostnames if h != given)))


def render_reports(
    xml_files: Sequence[Path],
    formats: Sequence[str],
    directory: Path,
    *,
    targets: Sequence[str] = (),
    warnings: Sequence[str] = (),
    matching: Matching,
    now: datetime | None = None,
    shard: Shard | None = None,
    site: str = "",
    tracking: Tracking = NO_TRACKING,
    kind: ScanKind = "report",
    failures: Sequence[str] = (),
    interrupted: bool = False,
    hostnames: Mapping[str, str] | None = None,
    unresolved: Sequence[str] = (),
    scope: Scope | None = None,
) -> Written:
    """Stream every XML file through matching and grouping, then write each format.
    ``failures``: Nmap runs that failed (the scan is then ``failed``); ``interrupted``: the scan
    was stopped before it ended; ``hostnames``: the name each address was given as, when brulee
    resolved it for Nmap; ``unresolved``: target names that resolved to no address; ``scope``:
    what was validated, hosts outside it are dropped with a warning."""
    named = hostnames or {}
    in_scope = ScopeFilter(scope) if scope is not None else None
    renderers = [(fmt, renderer_for(fmt)) for fmt in formats]
    assessor = Assessor(matching.sources, matching.judge)
    make_output_dir(directory)
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        runs, ignored = [], []
        for path in xml_files:
            reader = NmapXmlReader(path)
            origin = None
            for scanned in reader.hosts():
                if in_scope is not None and not in_scope(scanned):
                    continue
                host = _given_name(scanned, named)
                if origin is None:  # the prolog and <scaninfo> come before the hosts
                    origin = spool.origin(str(path), reader.run.started)
                    spool.origin_ports(origin, [reader.run.ports])
                assessed = [(port, assessor(port)) for port in host.open_ports]
                grouper.add_host(host, assessed, origin)
            runs.append(reader.run)
            ignored.extend(reader.warnings)
        # Files may overlap (a rescan, a repeated worker, a TCP and a UDP scan): each address
        # counts once. Down hosts that Nmap did not list are only in its run statistics.
        merged, hosts = merge_runs(runs), spool.host_counts()
        dropped = in_scope.warning() if in_scope is not None else ""
        if dropped:
            log.warning(dropped)
        run = replace(
            merged,
            hosts_up=hosts.get("up", 0),
            hosts_down=max(merged.hosts_down, hosts.get("down", 0)),
            timed_out=hosts.get("timed_out", 0),
            errors=(*merged.errors, *failures, *((INTERRUPTED,) if interrupted else ())),
            failed=merged.failed or bool(failures),
            incomplete=merged.incomplete or interrupted,
        )
        summary = ScanSummary(
            run=run,
            targets=tuple(targets),
            generated=(now or utc_now()).isoformat(timespec="seconds"),
            tool_version=__version__,
            inputs=tuple(str(p) for p in xml_files),
            warnings=(
                *_unresolved_warning(unresolved),
                *matching.warnings,
                *matching.notices(),
                *warnings,
                *ignored,
                *((dropped,) if dropped else ()),
            ),
            database=matching.database,
            database_date=matching.database_date,
            database_sources=matching.source_dates,
            shard=shard,
            site=site,
            unresolved=tuple(unresolved),
        )
        report = Report(summary, grouper.groups(), spool)
        return write_reports(report, renderers, directory, tracking=tracking, kind=kind, now=now)


def _unresolved_warning(names: Sequence[str], shown: int = 10) -> tuple[str, ...]:
    if not names:
        return ()
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else ""
    )
    return (f"{len(names)} target(s) did not resolve to an address and were not scanned: {listed}",)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    scope: Scope
    targets: tuple[str, ...]
    user_args: tuple[str, ...]
    workers: int
    host_timeout: str | None
    formats: tuple[str, ...]
    directory: Path
    shard: Shard | None = None
    site: str = ""
    tracking: Tracking = NO_TRACKING
    hostnames: Mapping[str, str] = field(default_factory=dict)
    """The hostname each address of the scope was given as (see ``Resolution.names``)."""
    unresolved: tuple[str, ...] = ()
    """Target hostnames that resolved to no address."""


ProgressFactory = Callable[[Sequence[Job]], Progress]


def _failures(results: Sequence[JobResult]) -> list[str]:
    """One line per Nmap run that failed, with the first lines of its messages (Nmap puts the
    reason first, then advice such as "See the output of nmap -h")."""
    failures = []
    for result in results:
        if result.returncode != 0:
            said = " | ".join(first_lines(result.stderr)) or "no message"
            failures.append(f"nmap job {result.job.index} exited with {result.returncode}: {said}")
    return failures


def scan(request: ScanRequest, progress: ProgressFactory, matching: Matching) -> Written:
    """Run Nmap over the scope, then render the reports, even from a partial scan."""
    nmap = find_nmap()
    raw = prepare_output(request.directory)
    scope = request.scope
    warnings = []
    if request.shard is not None:
        scope = scope.shard(request.shard.index, request.shard.count)
        if not scope.size:
            warnings.append(f"shard {request.shard} of this scope is empty: nothing to scan")
    jobs = plan_jobs(scope, request.workers, request.user_args, raw)
    if not is_privileged():
        warnings.append(CONNECT_SCAN_NOTE)
        log.warning(CONNECT_SCAN_NOTE)
    runner = Runner(nmap, request.user_args, request.host_timeout)
    interrupted = False
    try:
        results = runner.run(jobs, progress(jobs))
    except KeyboardInterrupt:
        runner.stop()
        interrupted = True
        results = []
    failures = _failures(results)
    xml_files = [job.xml for job in jobs if job.xml.exists() and job.xml.stat().st_size]
    written = render_reports(
        xml_files,
        request.formats,
        request.directory,
        targets=request.targets,
        warnings=warnings,
        matching=matching,
        shard=request.shard,
        site=request.site,
        tracking=request.tracking,
        kind="scan",
        failures=failures,
        interrupted=interrupted,
        hostnames=request.hostnames,
        unresolved=request.unresolved,
        scope=scope,
    )
    if interrupted or failures:
        why = INTERRUPTED if interrupted else "; ".join(failures)
        raise NmapError(f"{why.rstrip('.')}; partial results were written to {request.directory}")
    return written


@dataclass(frozen=True, slots=True)
class Merged:
    """What ``merge_reports`` wrote, and how complete the fleet report is."""

    written: Written
    parts: tuple[PartSummary, ...]
    missing_shards: tuple[MissingShard, ...]
    coverage: tuple[str, ...]
    """Warnings about coverage (missing shards and the like), first among the report's own;
    () when every shard is there and complete."""


def merge_reports(
    sources: Sequence[ReportSource],
    formats: Sequence[str],
    directory: Path,
    *,
    expected_shards: int | None = None,
    now: datetime | None = None,
    tracking: Tracking = NO_TRACKING,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Merged:
    """Read every report of every source and write one report per format to ``directory``.

    A previous merge's output in ``directory`` is not read back. Raises ParseError naming the
    first source that is unreadable or not a brulee report, UsageError when there is nothing to
    merge, ReportError when a format cannot be written. ``progress``: see ``merged_report``.
    """
    with merged_report(
        sources, expected_shards=expected_shards, exclude=directory / REPORT_NAME, now=now,
        progress=progress,
    ) as (report, coverage):  # fmt: skip
        renderers = [(fmt, renderer_for(fmt)) for fmt in formats]
        make_output_dir(directory)
        written = write_reports(
            report, renderers, directory, tracking=tracking, kind="merge", now=now
        )
    return Merged(written, report.scan.parts, report.scan.missing_shards, coverage)


@contextmanager
def diff_report_files(old: Path, new: Path) -> Iterator[Changes]:
    """The changes between two JSON reports (or directories of them, see ``read_report``),
    through a throwaway history store, for the ``with`` block (they stream from it). Each is
    named by its path, and by its id in the history that recorded it, if any."""
    with scratch_store() as store:
        refs = []
        for path in (old, new):
            with read_report(path) as report:
                scan_id = store.record(report, kind="report", location=str(path))
                recorded = {p.history_id for p in report.scan.parts} - {None}
                label = str(path) + (f" (scan {recorded.pop()})" if len(recorded) == 1 else "")
            refs.append(store.get(scan_id, label))
        yield diff_scans(store, *refs)
