"""``brulee merge``: one report for a fleet, from the JSON reports of many scans or shards.

Each report is streamed with ijson's C backend, in one pass, and never held whole: the header
and each service's findings are built as they pass, locations and hosts go straight to a
:class:`~brulee.spool.Spool`. Memory grows with the number of distinct services, not hosts.

Services are united by their stable ``id`` with the rules a single scan uses
(:class:`~brulee.findings.GroupBuilder`): vulnerabilities by CVE id, the best-founded record
kept; the most cautious status. A service section identical to one already read (the usual
case: every shard sees the same software) is recognised and skipped.

Decisions:

* A source that cannot be read, is not JSON, or is not a brulee report of this schema version
  fails the whole merge with a one-line ParseError naming it (exit 2): a fleet report must not
  quietly lose a shard, and the cause would be hidden.
* A merged report read again contributes its parts, not itself: merging it with a late shard
  recomputes what is missing, and its warnings about coverage are not carried over.
* Coverage is checked per site: shards 1..N, N being ``expected_shards`` or else the count most
  parts of that site carry. The merged report is ``incomplete`` when a shard is missing or a
  part was interrupted; its ``finished`` is then null (as for an interrupted scan; every part
  keeps its own times), and its warnings say so first.
* Hosts: one record per address, the last read winning (sources in the order given, each in
  path order); addresses found by more than one report are counted in a warning, since
  overlapping private ranges at two sites would be two machines under one address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar, get_args

import ijson  # picks its C (yajl2_c) backend when installed

from brulee import __version__
from brulee.core.distro import DistroEvidence
from brulee.core.findings import HostRecord, Location, OpenPort, group_order
from brulee.core.report import SCHEMA_VERSION, MissingShard, PartSummary, Report, ScanSummary
from brulee.core.scan import ScanRun, Service, Shard
from brulee.core.vulnerability import (
    CONFIDENCE_RANK,
    SEVERITIES,
    Confidence,
    Cvss,
    EpssScore,
    KevEntry,
    Status,
    Vulnerability,
)
from brulee.errors import ParseError, UsageError
from brulee.findings.grouping import GroupBuilder
from brulee.findings.spool import Spool
from brulee.util.clock import utc_now

REPORT_NAME = "report.json"

Opener = Callable[[], BinaryIO]
ReportSource = Iterable[tuple[str, Opener]]
"""Report files, each as a name (for messages and the parts section) and how to open it."""

T = TypeVar("T")
L = TypeVar("L", bound=str)

_STATUSES: tuple[Status, ...] = get_args(Status)
_CONFIDENCES: tuple[Confidence, ...] = tuple(CONFIDENCE_RANK)
_KEYS = frozenset({
    "schema_version", "generator", "scan", "summary", "services", "changes", "suppressed", "hosts",
})  # fmt: skip
# Per-scan sections a merge does not carry over (each part's own history diff and suppressions).
_OPTIONAL = frozenset({"summary", "changes", "suppressed"})
_EVIDENCE = ("status", "notes", "vulnerabilities", "references", "distribution",
             "fixed_by_distribution")  # fmt: skip
_SEEN = 8  # distinct findings remembered per service, to skip the same ones read again
_BATCH = 4096  # rows per spool insert
_LISTED = 5  # names quoted in one warning
_TARGETS = 1000  # distinct targets kept
_COMMANDS = 5  # distinct Nmap commands kept


# -- sources ---------------------------------------------------------------------------------


def _file_opener(path: Path) -> Opener:
    return lambda: path.open("rb")


@dataclass(frozen=True, slots=True)
class DirectorySource:
    """Every ``report.json`` under a directory, recursively in path order; or one report file."""

    path: Path

    def __iter__(self) -> Iterator[tuple[str, Opener]]:
        if self.path.is_file():
            yield str(self.path), _file_opener(self.path)
            return
        if not self.path.is_dir():
            raise UsageError(f"{self.path}: no such directory or report file")
        found = False
        for path in sorted(self.path.rglob(REPORT_NAME)):
            found = True
            yield str(path), _file_opener(path)
        if not found:
            raise UsageError(f"no {REPORT_NAME} under {self.path}")


class ObjectStore(Protocol):
    """What merging needs of a bucket prefix (``brulee.outputs.interface.Sink``)."""

    url: str

    def list(self, suffix: str = ...) -> Iterable[str]: ...

    def open(self, key: str) -> BinaryIO: ...


@dataclass(frozen=True, slots=True)
class StoreSource:
    """Every ``report.json`` under a bucket prefix, in key order."""

    store: ObjectStore

    def __iter__(self) -> Iterator[tuple[str, Opener]]:
        found = False
        for key in self.store.list(REPORT_NAME):
            if key == REPORT_NAME or key.endswith("/" + REPORT_NAME):
                found = True
                yield f"{self.store.url}/{key}", partial(self.store.open, key)
        if not found:
            raise UsageError(f"no {REPORT_NAME} under {self.store.url}")


# -- reading one report ----------------------------------------------------------------------


class _Malformed(Exception):
    """What is wrong with a report; the caller names the report."""


def _field(data: Any, key: str, kind: type[T]) -> T:
    if not isinstance(data, dict):
        raise _Malformed(f"expected an object holding {key!r}")
    if key not in data:
        raise _Malformed(f"{key!r} is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise _Malformed(f"{key!r} is not {kind.__name__}: {value!r:.60}")
    return value


def _optional(data: Any, key: str, kind: type[T]) -> T | None:
    return None if _field(data, key, object) is None else _field(data, key, kind)


def _text(data: Any, key: str) -> str:
    """A string that may be null (written for "")."""
    return _optional(data, key, str) or ""


def _strings(data: Any, key: str) -> tuple[str, ...]:
    values = _field(data, key, list)
    if not all(isinstance(v, str) for v in values):
        raise _Malformed(f"{key!r} is not a list of strings")
    return tuple(values)


def _number(data: Any, key: str) -> float:
    value = _field(data, key, object)
    if not isinstance(value, int | float):
        raise _Malformed(f"{key!r} is not a number: {value!r:.60}")
    return float(value)


def _choice(data: Any, key: str, allowed: tuple[L, ...]) -> L:
    value = _field(data, key, str)
    if value not in allowed:
        raise _Malformed(f"{key!r} is not one of {', '.join(allowed)}: {value!r:.60}")
    return allowed[allowed.index(value)]


def _shard(data: Any, key: str) -> Shard | None:
    raw = _optional(data, key, dict)
    if raw is None:
        return None
    shard = Shard(_field(raw, "index", int), _field(raw, "count", int))
    if not 1 <= shard.index <= shard.count:
        raise _Malformed(f"{key!r} is not a shard I/N with 1 <= I <= N: {shard}")
    return shard


def _cvss(raw: dict[str, Any] | None) -> Cvss | None:
    if raw is None:
        return None
    return Cvss(
        _number(raw, "score"), _optional(raw, "version", str), _optional(raw, "vector", str)
    )


def _vulnerability(raw: Any) -> Vulnerability:
    epss, kev = _optional(raw, "epss", dict), _optional(raw, "kev", dict)
    return Vulnerability(
        id=_field(raw, "id", str),
        severity=_choice(raw, "severity", SEVERITIES),
        cvss=_cvss(_optional(raw, "cvss", dict)),
        description=_field(raw, "description", str),
        url=_field(raw, "url", str),
        published=_text(raw, "published"),
        confidence=_choice(raw, "confidence", _CONFIDENCES),
        reason=_field(raw, "reason", str),
        sources=_strings(raw, "sources"),
        exploits=_strings(raw, "exploits"),
        # The report keeps what the renderers show of a KEV entry; the rest stays empty.
        kev=KevEntry(
            date_added=_field(kev, "date_added", str),
            due_date=_field(kev, "due_date", str),
            vendor_project="",
            product="",
            name="",
            required_action=_field(kev, "required_action", str),
            known_ransomware=_field(kev, "known_ransomware", str),
            notes="",
        )
        if kev
        else None,
        epss=EpssScore(_number(epss, "score"), _number(epss, "percentile")) if epss else None,
        advisory=_text(raw, "advisory"),
        remediation=_text(raw, "remediation"),
    )


def _distribution(raw: Any) -> DistroEvidence | None:
    if raw is None:
        return None
    return DistroEvidence(
        distro=_field(raw, "distro", str),
        release=_text(raw, "release"),
        revision=_text(raw, "revision"),
        upstream=_text(raw, "upstream"),
        evidence=_field(raw, "evidence", str),
    )


def _service(head: dict[str, Any]) -> Service:
    return Service(
        name=_field(head, "name", str),
        product=_field(head, "product", str),
        version=_field(head, "version", str),
        extrainfo=_field(head, "extrainfo", str),
        ostype=_field(head, "ostype", str),
        tunnel=_field(head, "tunnel", str),
        cpes=_strings(head, "cpe"),
    )


def _location(raw: dict[str, Any]) -> Location:
    return Location(
        _field(raw, "address", str),
        _field(raw, "hostname", str),
        _field(raw, "port", int),
        _field(raw, "protocol", str),
    )


def _host(raw: Any) -> HostRecord:
    return HostRecord(
        address=_field(raw, "address", str),
        hostnames=_strings(raw, "hostnames"),
        status=_field(raw, "status", str),
        reason=_field(raw, "reason", str),
        timed_out=_field(raw, "timed_out", bool),
        open_ports=tuple(
            OpenPort(
                _field(p, "protocol", str),
                _field(p, "port", int),
                _field(p, "state", str),
                _field(p, "service", str),
            )
            for p in _field(raw, "open_ports", list)
        ),
        closed_ports=_field(raw, "closed_ports", int),
        filtered_ports=_field(raw, "filtered_ports", int),
    )


def _part(raw: Any, source: str, tool_version: str) -> PartSummary:
    return PartSummary(
        source=source,
        site=_text(raw, "site"),
        shard=_shard(raw, "shard"),
        started=_text(raw, "started"),
        finished=_text(raw, "finished"),
        incomplete=_field(raw, "incomplete", bool),
        hosts_up=_field(raw, "hosts_up", int),
        hosts_down=_field(raw, "hosts_down", int),
        errors=_strings(raw, "errors"),
        warnings=_strings(raw, "warnings"),
        nmap_version=_field(raw, "nmap_version", str),
        database=_text(raw, "database"),
        database_date=_text(raw, "database_date"),
        generated=_field(raw, "generated", str),
        tool_version=tool_version,
    )


Event = tuple[str, Any]
"""An ijson ``basic_parse`` event: (kind, value). The reader knows where it is by structure."""

_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = frozenset({"end_map", "end_array"})


def _build(events: Iterator[Event], first: str, scalar: Any) -> Any:
    """The value starting with the event ``first`` (``scalar`` for a scalar), built from the
    events that follow. (ijson's own builder, given events rather than a file, drives a Python
    generator per event: this is several times faster.)"""
    if first not in _OPEN:
        if first in _CLOSE or first == "map_key":
            raise _Malformed(f"a value was expected, not {first}")
        return scalar
    root = _OPEN[first]()
    stack = [root]
    key = ""
    for event, value in events:
        if event == "map_key":
            key = value
        elif event in _CLOSE:
            stack.pop()
            if not stack:
                return root
        else:
            opened = _OPEN.get(event)
            item = opened() if opened else value
            top = stack[-1]
            if type(top) is dict:
                top[key] = item
            else:
                top.append(item)
            if opened:
                stack.append(item)
    raise _Malformed("the document ends inside a value")


def _value(events: Iterator[Event]) -> Any:
    """The whole value the next event starts."""
    event, value = next(events, ("end_array", None))
    return _build(events, event, value)


def _expect(events: Iterator[Event], kind: str, what: str) -> None:
    if next(events, ("", None))[0] != kind:
        raise _Malformed(f"{what} is not {'a list' if kind == 'start_array' else 'an object'}")


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
        try:
            with opener() as stream:
                self._read(name, ijson.basic_parse(stream, use_float=True))
        except _Malformed as exc:
            raise ParseError(f"{name}: {exc}") from None
        except ijson.JSONError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParseError(f"{name}: not valid JSON ({first})") from None
        except OSError as exc:
            raise ParseError(f"{name}: cannot read it ({exc.strerror or exc})") from None

    def _read(self, name: str, events: Iterator[Event]) -> None:
        header: dict[str, Any] = {}
        _expect(events, "start_map", "the document")
        for event, key in events:
            if event == "end_map":
                break
            if key not in _KEYS or key in header:
                raise _Malformed(f"not a brulee report: unexpected key {key!r}")
            if key == "services":
                self._services(events)
                header[key] = None
            elif key == "hosts":
                self._hosts(name, events)
                header[key] = None
            else:
                header[key] = _value(events)
            version = header.get("schema_version", SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                raise _Malformed(
                    f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION!r})"
                )
        absent = sorted(_KEYS - _OPTIONAL - set(header))
        if absent or _field(header["generator"], "name", str) != "brulee":
            raise _Malformed(f"not a brulee report ({', '.join(absent) or 'generator'} missing)")
        self._header(name, _field(header["generator"], "version", str), header["scan"])

    def _header(self, name: str, tool_version: str, scan: Any) -> None:
        # A merged report contributes its parts, not its own coverage warnings.
        if isinstance(scan, dict) and scan.get("parts"):
            for raw in _field(scan, "parts", list):
                source, version = _field(raw, "source", str), _field(raw, "generator_version", str)
                self.parts.append(_part(raw, source, version))
        else:
            self.parts.append(_part(scan, name, tool_version))
        for target in _strings(scan, "targets"):
            if len(self.targets) < _TARGETS:
                self.targets[target] = None
            elif target not in self.targets:
                self.more_targets = True
        command = _field(scan, "nmap_command", str)
        if command and len(self.commands) <= _COMMANDS:  # one more than kept: "..." then
            self.commands[command] = None

    def _services(self, events: Iterator[Event]) -> None:
        _expect(events, "start_array", "'services'")
        for event, _ in events:
            if event == "end_array":
                return
            if event != "start_map":
                raise _Malformed("'services' is not a list of objects")
            head: dict[str, Any] = {}
            locations = 0
            for kind, key in events:
                if kind == "end_map":
                    break
                if key == "locations":
                    locations += self._locations(_field(head, "id", str), events)
                else:
                    head[key] = _value(events)
            self._add_service(head, locations)

    def _locations(self, group: str, events: Iterator[Event]) -> int:
        """Stream one service's locations to the spool; how many there were."""
        _expect(events, "start_array", "'locations'")
        rows: list[tuple[str, Location]] = []
        count = 0
        for event, _ in events:
            if event == "end_array":
                break
            if event != "start_map":
                raise _Malformed("'locations' is not a list of objects")
            fields: dict[str, Any] = {}
            for kind, key in events:
                if kind == "end_map":
                    break
                opened, fields[key] = next(events)  # ijson fails before the events end
                if opened in _OPEN:
                    raise _Malformed(f"{key!r} of a location is not a single value")
            rows.append((group, _location(fields)))
            if len(rows) == _BATCH:
                self.spool.add_locations(rows)
                count, rows = count + len(rows), []
        self.spool.add_locations(rows)
        return count + len(rows)

    def _hosts(self, name: str, events: Iterator[Event]) -> None:
        _expect(events, "start_array", "'hosts'")
        batch: list[HostRecord] = []
        for event, value in events:
            if event == "end_array":
                break
            batch.append(_host(_build(events, event, value)))
            if len(batch) == _BATCH:
                self.spool.add_hosts(batch, origin=name)
                batch = []
        self.spool.add_hosts(batch, origin=name)

    def _add_service(self, head: dict[str, Any], locations: int) -> None:
        key = _field(head, "id", str)
        if not locations:
            raise _Malformed(f"service {key} has no locations")
        group = self.groups.get(key)
        if group is None:
            builder = GroupBuilder(_service(head), _field(head, "protocol", str))
            group = self.groups[key] = _Group(builder)
        evidence = tuple(head.get(k) for k in _EVIDENCE)
        if evidence in group.seen:
            return
        if len(group.seen) < _SEEN:
            group.seen.append(evidence)
        group.builder.add(
            _choice(head, "status", _STATUSES),
            [_vulnerability(v) for v in _field(head, "vulnerabilities", list)],
            notes=_strings(head, "notes"),
            references=_strings(head, "references"),
            fixed=[_vulnerability(v) for v in _field(head, "fixed_by_distribution", list)],
            distribution=_distribution(_optional(head, "distribution", dict)),
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
        groups = sorted(
            (group.builder.finish(key, counts[key]) for key, group in self.groups.items()),
            key=group_order,
        )
        return Report(summary, tuple(groups), self.spool), coverage

    def _overlaps(self) -> list[str]:
        count, shown = self.spool.shared_addresses(_LISTED)
        if not count:
            return []
        return [
            f"{count} address(es) were found by more than one report ({', '.join(shown)}"
            f"{', ...' if count > len(shown) else ''}): each is listed once, as last read. "
            "If they belong to different sites (overlapping private ranges), they are "
            "different machines: merge those sites separately"
        ]


def _part_order(part: PartSummary) -> tuple[str, int, int, str]:
    shard = part.shard
    return (part.site, shard.count if shard else 0, shard.index if shard else 0, part.source)


def _listed(names: Sequence[str]) -> str:
    shown = "; ".join(names[:_LISTED])
    return shown + (f"; and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _attributed(items: Iterable[tuple[str, PartSummary]]) -> tuple[str, ...]:
    """Each distinct message once, followed by the parts that gave it."""
    by_text: dict[str, list[str]] = {}
    for text, part in items:
        by_text.setdefault(text, []).append(part.label)
    return tuple(f"{text} ({_listed(labels)})" for text, labels in by_text.items())


def _database_notes(databases: dict[str, None]) -> list[str]:
    if len(databases) < 2:
        return []
    return [
        f"the parts used {len(databases)} different vulnerability databases (or none), so the "
        "same software may have different findings in different parts: "
        + " | ".join(d or "none" for d in databases)
    ]


def _ranges(numbers: Iterable[int]) -> str:
    """``3, 7-9, 12``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def check_coverage(
    parts: Sequence[PartSummary], expected_shards: int | None = None
) -> tuple[tuple[MissingShard, ...], tuple[str, ...]]:
    """The shards missing per site, and warnings about coverage: missing shards, interrupted
    parts, conflicting shard counts, shards read more than once. The count N of a site's
    shards is ``expected_shards``, or else the count most of its sharded parts carry."""
    missing: list[MissingShard] = []
    gaps: list[str] = []  # what makes the report incomplete: first
    notes: list[str] = []
    sites: dict[str, list[Shard]] = {}
    for part in parts:
        sites.setdefault(part.site, []).extend([part.shard] if part.shard else [])
    for site, shards in sites.items():
        where = f"site {site}" if site else "no site"
        counts = Counter(s.count for s in shards)
        if not counts and expected_shards is None:
            continue
        total = expected_shards or max(counts, key=lambda n: (counts[n], n))
        if set(counts) - {total}:
            found = ", ".join(f"{n} ({counts[n]} part(s))" for n in sorted(counts))
            notes.append(
                f"{where}: conflicting shard counts {found}; shards were checked out of "
                f"{total}, the others' coverage is unknown"
            )
        present = Counter(s.index for s in shards if s.count == total)
        absent = [i for i in range(1, total + 1) if i not in present]
        missing += (MissingShard(site, i, total) for i in absent)
        if absent:
            gaps.append(
                f"INCOMPLETE: {where}: shard(s) {_ranges(absent)} of {total} missing; "
                "the hosts of those slices are not in this report"
            )
        if twice := [i for i, n in present.items() if n > 1]:
            notes.append(
                f"{where}: shard(s) {_ranges(twice)} of {total} were read more than once; "
                "a host found by both is listed once, as last read"
            )
    if cut := [p.label for p in parts if p.incomplete]:
        gaps.append(
            f"INCOMPLETE: {len(cut)} part(s) were interrupted and cover only some of their "
            f"hosts: {_listed(cut)}"
        )
    return tuple(missing), (*gaps, *notes)


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
            run = replace(report.scan.run, finished=part.finished, incomplete=part.incomplete)
            report = replace(report, scan=replace(report.scan, run=run, shard=part.shard))
        yield report


# -- the entry point -------------------------------------------------------------------------


@contextmanager
def merged_report(
    sources: Sequence[ReportSource],
    *,
    expected_shards: int | None = None,
    exclude: Path | None = None,
    now: datetime | None = None,
) -> Iterator[tuple[Report, tuple[str, ...]]]:
    """Every report of every source united into one Report (its per-host data in a spool that
    lives as long as the ``with`` block), and the warnings about its coverage (missing shards
    and the like, first among the report's own; () when every shard is there and complete).

    ``exclude``: a report not to read (a previous merge's output). Raises ParseError naming the
    first source that is unreadable or not a brulee report, UsageError when there is nothing to
    merge.
    """
    if expected_shards is not None and expected_shards < 1:
        raise UsageError(f"--expect-shards {expected_shards}: expected a positive number")
    own = exclude.resolve() if exclude is not None else None
    with Spool() as spool:
        merger = _Merger(spool)
        for source in sources:
            for name, opener in source:
                if Path(name).resolve() != own:
                    merger.read(name, opener)
        if not merger.parts:
            raise UsageError("no reports to merge")
        yield merger.report(expected_shards, now or utc_now())
