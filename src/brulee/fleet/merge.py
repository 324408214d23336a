"""``brulee merge``: one report for a fleet, from the JSON reports of many scans or shards.

Each report is streamed (:func:`brulee.report.reader.read_sections`) and never held whole:
each service's findings are united as they pass, locations and hosts go straight to a
:class:`~brulee.findings.spool.Spool`. Memory grows with the number of distinct services, not
hosts.

Services are united by their stable ``id`` with the rules a single scan uses
(:class:`~brulee.findings.grouping.GroupBuilder`): vulnerabilities by CVE id, the best-founded
record kept; the most cautious status. A service section identical to one already read (the
usual case: every shard sees the same software) is recognised and skipped.

Decisions:

* A source that cannot be read, is not JSON, or is not a brulee report of this schema version
  fails the whole merge with a one-line ParseError naming it (exit 2): a fleet report must not
  quietly lose a shard, and the cause would be hidden.
* A merged report read again contributes its parts, not itself: merging it with a late shard
  recomputes what is missing, and its warnings about coverage are not carried over.
* Coverage is checked per site (:mod:`brulee.fleet.coverage`). The merged report is
  ``incomplete`` when a shard is missing or a part was interrupted; its ``finished`` is then
  null (as for an interrupted scan; every part keeps its own times), and its warnings say so
  first.
* Hosts: the records of one address from several reports are united (a TCP and a UDP scan of
  the same hosts, two port ranges): every port any of them found, except where a newer scan
  looked at the same port on that host: its result wins (:mod:`brulee.findings.spool`). A
  warning counts the addresses found by more than one report and says which ports were taken
  from the newer scan, since overlapping private ranges at two sites would be two machines
  under one address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from brulee import __version__
from brulee.core.findings import group_order
from brulee.core.ports import PortSet
from brulee.core.report import PartSummary, Report, ScanSummary
from brulee.core.scan import ScanRun
from brulee.errors import UsageError
from brulee.findings.grouping import GroupBuilder
from brulee.findings.spool import Spool
from brulee.fleet.coverage import LISTED, check_coverage, listed
from brulee.fleet.sources import DirectorySource, ReportSource
from brulee.report.reader import (
    Hosts,
    Locations,
    Opener,
    ScanSection,
    ServiceSection,
    read_sections,
    report_errors,
)
from brulee.util.clock import utc_now

_SEEN = 8  # distinct findings remembered per service, to skip the same ones read again
_TARGETS = 1000  # distinct targets kept
_COMMANDS = 5  # distinct Nmap commands kept


@dataclass(slots=True)
class _Group:
    builder: GroupBuilder
    seen: list[tuple[Any, ...]] = field(default_factory=list)


class _Merger:
    """Reads reports one after the other into one spool and one set of service groups."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.groups: dict[str, _Group] = {}
        self.parts: list[PartSummary] = []
        self.targets: dict[str, None] = {}
        self.more_targets = False
        self.commands: dict[str, None] = {}

    def read(self, name: str, opener: Opener) -> None:
        origin = self.spool.origin(name)
        with report_errors(name):
            for section in read_sections(name, opener):
                if isinstance(section, Locations):
                    rows = [(section.service, loc) for loc in section.rows]
                    self.spool.add_locations(rows, origin)
                elif isinstance(section, Hosts):
                    self.spool.add_hosts(section.records, origin, section.port_sets)
                elif isinstance(section, ServiceSection):
                    self._add_service(section)
                else:
                    self._scan(section, origin)

    def _scan(self, scan: ScanSection, origin: int) -> None:
        self.spool.date(origin, max(p.started for p in scan.parts))
        self.spool.origin_ports(origin, scan.port_sets)
        self.parts += scan.parts
        for target in scan.targets:
            if len(self.targets) < _TARGETS:
                self.targets[target] = None
            elif target not in self.targets:
                self.more_targets = True
        command = scan.nmap_command
        if command and len(self.commands) <= _COMMANDS:  # one more than kept: "..." then
            self.commands[command] = None

    def _add_service(self, section: ServiceSection) -> None:
        group = self.groups.get(section.key)
        if group is None:
            builder = GroupBuilder(section.service(), section.protocol())
            group = self.groups[section.key] = _Group(builder)
        evidence = section.evidence
        if evidence in group.seen:
            return
        if len(group.seen) < _SEEN:
            group.seen.append(evidence)
        found = section.findings()
        group.builder.add(
            found.status,
            found.vulnerabilities,
            notes=found.notes,
            references=found.references,
            fixed=found.fixed,
            distribution=found.distribution,
            nvd_names=found.nvd_names,
        )

    def report(self, expected_shards: int | None, now: datetime) -> tuple[Report, tuple[str, ...]]:
        """The merged report, and its warnings about coverage."""
        parts = tuple(sorted(self.parts, key=_part_order))
        missing, coverage = check_coverage(parts, expected_shards)
        incomplete = bool(missing) or any(p.incomplete for p in parts)
        hosts = self.spool.host_counts()
        # Down hosts Nmap did not list are only in each part's statistics; a slice read twice
        # counts once.
        down: dict[object, int] = {
            (p.site, p.shard) if p.shard else i: p.hosts_down for i, p in enumerate(parts)
        }
        commands = list(self.commands)
        finished = max((p.finished for p in parts if p.finished), default="")
        run = ScanRun(
            args=" ; ".join(commands[:_COMMANDS]) + (" ; ..." if commands[_COMMANDS:] else ""),
            scanner_version=", ".join(
                dict.fromkeys(p.nmap_version for p in parts if p.nmap_version)
            ),
            started=min((p.started for p in parts if p.started), default=""),
            finished="" if incomplete else finished,
            hosts_up=hosts.get("up", 0),
            hosts_down=max(hosts.get("down", 0), sum(down.values())),
            incomplete=incomplete,
            errors=_attributed((e, p) for p in parts for e in p.errors),
            ports=PortSet.joined(p.ports for p in parts),
            failed=any(p.outcome == "failed" for p in parts),
            timed_out=hosts.get("timed_out", 0),
        )
        databases = dict.fromkeys(p.database for p in parts)
        notes = [*coverage, *self._overlaps(), *_database_notes(databases)]
        if self.more_targets:
            notes.append(f"more than {_TARGETS} distinct targets: only the first are listed")
        sites = {p.site for p in parts}
        counts = self.spool.location_counts()
        summary = ScanSummary(
            run=run,
            targets=tuple(self.targets),
            generated=now.isoformat(timespec="seconds"),
            tool_version=__version__,
            warnings=(*notes, *_attributed((w, p) for p in parts for w in p.warnings)),
            database=" | ".join(d for d in databases if d),
            # The oldest data decides how current the whole report is.
            database_date=min((p.database_date for p in parts if p.database_date), default=""),
            site=sites.pop() if len(sites) == 1 else "",
            parts=parts,
            missing_shards=missing,
        )
        groups = sorted(  # a service whose every port a newer scan found otherwise is gone
            (
                group.builder.finish(key, counts[key])
                for key, group in self.groups.items()
                if counts.get(key)
            ),
            key=group_order,
        )
        return Report(summary, tuple(groups), self.spool), coverage

    def _overlaps(self) -> list[str]:
        count, shown = self.spool.shared_addresses(LISTED)
        if not count:
            return []
        text = (
            f"{count} address(es) were found by more than one report ({', '.join(shown)}"
            f"{', ...' if count > len(shown) else ''}): their ports are united"
        )
        resolved, which = self.spool.resolved(LISTED)
        if resolved:
            text += (
                f"; {resolved} open port(s) were scanned again by a newer report, whose result "
                "is kept: " + "; ".join(
                    f"{r.address} {r.protocol}/{r.port} from {r.newer}, not {r.older}"
                    for r in which
                ) + ("; ..." if resolved > len(which) else "")
            )  # fmt: skip
        return [
            text + ". If they belong to different sites (overlapping private ranges), they are "
            "different machines: merge those sites separately"
        ]


def _part_order(part: PartSummary) -> tuple[str, int, int, str]:
    shard = part.shard
    return (part.site, shard.count if shard else 0, shard.index if shard else 0, part.source)


def _attributed(items: Iterable[tuple[str, PartSummary]]) -> tuple[str, ...]:
    """Each distinct message once, followed by the parts that gave it."""
    by_text: dict[str, list[str]] = {}
    for text, part in items:
        by_text.setdefault(text, []).append(part.label)
    return tuple(f"{text} ({listed(labels)})" for text, labels in by_text.items())


def _database_notes(databases: dict[str, None]) -> list[str]:
    if len(databases) < 2:
        return []
    return [
        f"the parts used {len(databases)} different vulnerability databases (or none), so the "
        "same software may have different findings in different parts: "
        + " | ".join(d or "none" for d in databases)
    ]


@contextmanager
def read_report(path: Path) -> Iterator[Report]:
    """A brulee JSON report (or every ``report.json`` under a directory, united as ``brulee
    merge`` would) read back as a Report, streamed into a spool.
    UsageError when there is no such file, ParseError when it is not a brulee report."""
    with Spool() as spool:
        merger = _Merger(spool)
        for name, opener in DirectorySource(path):  # a file: that one report
            merger.read(name, opener)
        report, _ = merger.report(None, utc_now())
        if len(report.scan.parts) == 1:  # one scan: its own shard and completeness, not a merge's
            part = report.scan.parts[0]
            run = replace(
                report.scan.run, finished=part.finished, incomplete=part.incomplete,
                timed_out=part.timed_out,
            )  # fmt: skip
            report = replace(report, scan=replace(report.scan, run=run, shard=part.shard))
        yield report


@contextmanager
def merged_report(
    sources: Sequence[ReportSource],
    *,
    expected_shards: int | None = None,
    exclude: Path | None = None,
    now: datetime | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Iterator[tuple[Report, tuple[str, ...]]]:
    """Every report of every source united into one Report (its per-host data in a spool that
    lives as long as the ``with`` block), and the warnings about its coverage (missing shards
    and the like, first among the report's own; () when every shard is there and complete).

    ``exclude``: a report not to read (a previous merge's output). Raises ParseError naming the
    first source that is unreadable or not a brulee report, UsageError when there is nothing to
    merge. ``progress`` gets ``("read reports", reports read, None)`` after each report.
    """
    if expected_shards is not None and expected_shards < 1:
        raise UsageError(f"--expect-shards {expected_shards}: expected a positive number")
    own = exclude.resolve() if exclude is not None else None
    with Spool() as spool:
        merger = _Merger(spool)
        read = 0
        for source in sources:
            for name, opener in source:
                if Path(name).resolve() != own:
                    merger.read(name, opener)
                    read += 1
                    if progress:
                        progress("read reports", read, None)
        if not merger.parts:
            raise UsageError("no reports to merge")
        yield merger.report(expected_shards, now or utc_now())
