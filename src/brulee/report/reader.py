"""brulee's JSON report (``schema/report.schema.json``) read back into values.

A report is streamed with ijson's C backend, in one pass, and never held whole:
:func:`read_sections` yields its locations and hosts in batches as they pass, each service
section when it ends, and the scan section last. Keys may come in any order (``jq -S``).

The ``read_*`` functions are the inverse of :mod:`brulee.report.json`'s ``*_dict``. A bad value
raises ReportFormatError (a ParseError) saying what is wrong; within :func:`report_errors`,
that, a report that is not JSON and one that cannot be read are one-line ParseErrors naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar, get_args

import ijson  # picks its C (yajl2_c) backend when installed

from brulee.core.distro import DistroEvidence
from brulee.core.findings import HostRecord, Location, OpenPort
from brulee.core.ports import PortSet
from brulee.core.report import READABLE_VERSIONS, PartSummary, SourceDate
from brulee.core.scan import Outcome, Service, Shard
from brulee.core.vulnerability import (
    CONFIDENCE_RANK,
    SEVERITIES,
    VEX_STATUSES,
    Confidence,
    Cvss,
    EpssScore,
    KevEntry,
    Status,
    VexNote,
    Vulnerability,
)
from brulee.errors import ParseError

Opener = Callable[[], BinaryIO]
"""How to open a report (a file or an object in a bucket) for reading."""

T = TypeVar("T")
L = TypeVar("L", bound=str)

_STATUSES: tuple[Status, ...] = get_args(Status)
_OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
_CONFIDENCES: tuple[Confidence, ...] = tuple(CONFIDENCE_RANK)
_KEYS = frozenset({
    "schema_version", "generator", "scan", "summary", "services", "changes", "trend",
    "suppressed", "hosts",
})  # fmt: skip
# Per-scan sections not read back (a scan's own history diff, trend and suppressions).
_OPTIONAL = frozenset({"summary", "changes", "trend", "suppressed"})
_SKIPPED = frozenset({"changes", "trend", "suppressed"})  # passed over, never built
_FINDINGS = ("status", "notes", "vulnerabilities", "references", "distribution",
             "fixed_by_distribution", "nvd_names")  # fmt: skip
_BATCH = 4096  # locations or hosts per batch


class ReportFormatError(ParseError):
    """What is wrong with a report's content; the caller names the report."""


# -- values ----------------------------------------------------------------------------------


MAX_TEXT = 1 << 20
"""Longest string a report may hold, in characters: NVD's longest descriptions are a few
thousand, an Nmap command line listing its targets some hundred thousand."""
MAX_DEPTH = 32
"""Deepest nesting of a value: brulee writes at most six levels."""


def _text_checked(key: str, value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ReportFormatError(f"{key!r} is longer than {MAX_TEXT:,} characters")
    return value


def _field(data: Any, key: str, kind: type[T]) -> T:
    if not isinstance(data, dict):
        raise ReportFormatError(f"expected an object holding {key!r}")
    if key not in data:
        raise ReportFormatError(f"{key!r} is missing")
    value = data[key]
    if not isinstance(value, kind):
        raise ReportFormatError(f"{key!r} is not {kind.__name__}: {value!r:.60}")
    if isinstance(value, str):
        _text_checked(key, value)
    return value


def _bounded(data: Any, key: str, high: int) -> int:
    """An integer from 0 to ``high`` (a port, a count): the report's schema says so."""
    value = _field(data, key, int)
    if isinstance(value, bool) or not 0 <= value <= high:
        raise ReportFormatError(f"{key!r} is not an integer from 0 to {high}: {value!r:.30}")
    return value


MAX_COUNT = 1 << 48


def _optional(data: Any, key: str, kind: type[T]) -> T | None:
    return None if _field(data, key, object) is None else _field(data, key, kind)


def _text(data: Any, key: str) -> str:
    """A string that may be null (written for "")."""
    return _optional(data, key, str) or ""


def _strings(data: Any, key: str) -> tuple[str, ...]:
    values = _field(data, key, list)
    if not all(isinstance(v, str) for v in values):
        raise ReportFormatError(f"{key!r} is not a list of strings")
    return tuple(_text_checked(key, v) for v in values)


def _number(data: Any, key: str, high: float) -> float:
    """A number from 0 to ``high`` (a CVSS score, an EPSS probability)."""
    value = _field(data, key, object)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportFormatError(f"{key!r} is not a number: {value!r:.60}")
    if not 0 <= value <= high:
        raise ReportFormatError(f"{key!r} is not a number from 0 to {high:g}: {value!r:.30}")
    return float(value)


def _choice(data: Any, key: str, allowed: tuple[L, ...]) -> L:
    value = _field(data, key, str)
    if value not in allowed:
        raise ReportFormatError(f"{key!r} is not one of {', '.join(allowed)}: {value!r:.60}")
    return allowed[allowed.index(value)]


def _shard(data: Any, key: str) -> Shard | None:
    raw = _optional(data, key, dict)
    if raw is None:
        return None
    shard = Shard(_field(raw, "index", int), _field(raw, "count", int))
    if not 1 <= shard.index <= shard.count:
        raise ReportFormatError(f"{key!r} is not a shard I/N with 1 <= I <= N: {shard}")
    return shard


def _cvss(raw: dict[str, Any] | None) -> Cvss | None:
    if raw is None:
        return None
    return Cvss(
        _number(raw, "score", 10), _optional(raw, "version", str), _optional(raw, "vector", str)
    )


def read_vulnerability(raw: Any) -> Vulnerability:
    """A vulnerability; of its KEV entry, only what the report keeps (the rest stays empty)."""
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
        epss=EpssScore(_number(epss, "score", 1), _number(epss, "percentile", 1)) if epss else None,
        advisory=_text(raw, "advisory"),
        remediation=_text(raw, "remediation"),
        cwes=_strings(raw, "cwes") if "cwes" in raw else (),  # absent before it was written
        vex=tuple(read_vex_note(n) for n in _field(raw, "vex", list)) if "vex" in raw else (),
    )


def read_vex_note(raw: Any) -> VexNote:
    return VexNote(
        status=_choice(raw, "status", VEX_STATUSES),
        statement=_field(raw, "statement", str),
        author=_field(raw, "author", str),
        origin=_field(raw, "origin", str),
        scope=_strings(raw, "scope"),
    )


def _vulnerabilities(data: Any, key: str) -> tuple[Vulnerability, ...]:
    return tuple(read_vulnerability(v) for v in _field(data, key, list))


def read_distribution(raw: Any) -> DistroEvidence | None:
    if raw is None:
        return None
    return DistroEvidence(
        distro=_field(raw, "distro", str),
        release=_text(raw, "release"),
        revision=_text(raw, "revision"),
        upstream=_text(raw, "upstream"),
        evidence=_field(raw, "evidence", str),
    )


def read_service(head: Any) -> Service:
    """The software of a service section."""
    return Service(
        name=_field(head, "name", str),
        product=_field(head, "product", str),
        version=_field(head, "version", str),
        extrainfo=_field(head, "extrainfo", str),
        ostype=_field(head, "ostype", str),
        tunnel=_field(head, "tunnel", str),
        cpes=_strings(head, "cpe"),
    )


def read_location(raw: Any) -> Location:
    return Location(
        _field(raw, "address", str),
        _field(raw, "hostname", str),
        _bounded(raw, "port", 65535),
        _field(raw, "protocol", str),
        _field(raw, "extrainfo", str) if "extrainfo" in raw else "",  # only when volatile
    )


def read_host(raw: Any) -> HostRecord:
    return HostRecord(
        address=_field(raw, "address", str),
        hostnames=_strings(raw, "hostnames"),
        status=_field(raw, "status", str),
        reason=_field(raw, "reason", str),
        timed_out=_field(raw, "timed_out", bool),
        open_ports=tuple(
            OpenPort(
                _field(p, "protocol", str),
                _bounded(p, "port", 65535),
                _field(p, "state", str),
                _field(p, "service", str),
            )
            for p in _field(raw, "open_ports", list)
        ),
        closed_ports=_bounded(raw, "closed_ports", MAX_COUNT),
        filtered_ports=_bounded(raw, "filtered_ports", MAX_COUNT),
    )


def _ports(data: Any, key: str) -> PortSet:
    """A port set's text; an absent key (schema 1.0) is nothing known looked at."""
    if not isinstance(data, dict) or key not in data:
        return PortSet()
    try:
        return PortSet.parse(_field(data, key, str))
    except ValueError as exc:
        raise ReportFormatError(f"{key!r}: {exc}") from None


def read_port_sets(scan: Any) -> tuple[PortSet, ...]:
    """The ports the hosts of a scan section were scanned on, by position."""
    if not isinstance(scan, dict) or "port_sets" not in scan:
        return ()
    return tuple(_ports({"set": text}, "set") for text in _strings(scan, "port_sets"))


def read_part(raw: Any, source: str, tool_version: str) -> PartSummary:
    """A scan section (or a merged report's part) as one part, read from ``source``."""
    site, shard = _text(raw, "site"), _shard(raw, "shard")
    if isinstance(raw, dict) and "outcome" in raw:
        outcome = _choice(raw, "outcome", _OUTCOMES)
    else:  # schema 1.0: incomplete meant interrupted
        outcome = "interrupted" if _field(raw, "incomplete", bool) else "complete"
    history_id = raw.get("history_id") if isinstance(raw, dict) else None
    return PartSummary(
        source=source,
        site=site,
        shard=shard,
        started=_text(raw, "started"),
        finished=_text(raw, "finished"),
        incomplete=outcome == "interrupted",
        hosts_up=_bounded(raw, "hosts_up", MAX_COUNT),
        hosts_down=_bounded(raw, "hosts_down", MAX_COUNT),
        errors=_strings(raw, "errors"),
        warnings=_strings(raw, "warnings"),
        nmap_version=_field(raw, "nmap_version", str),
        database=_text(raw, "database"),
        database_date=_text(raw, "database_date"),
        generated=_field(raw, "generated", str),
        tool_version=tool_version,
        database_sources=_sources(raw),
        outcome=outcome,
        ports=_ports(raw, "ports"),
        timed_out=raw.get("timed_out", 0) if isinstance(raw.get("timed_out", 0), int) else 0,
        history_id=history_id if isinstance(history_id, int) else None,
    )


def _sources(raw: Any) -> tuple[SourceDate, ...]:
    """How current each database source was; () in reports written before they said."""
    found = _field(raw, "database_sources", dict) if "database_sources" in raw else {}
    if not all(isinstance(v, str) for v in found.values()):
        raise ReportFormatError("'database_sources' is not an object of dates")
    return tuple(SourceDate(name, date) for name, date in found.items())


# -- sections --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanSection:
    """A report's scan section."""

    parts: tuple[PartSummary, ...]
    """The scan as one part; a merged report's own parts (not the merge itself)."""
    targets: tuple[str, ...]
    nmap_command: str
    port_sets: tuple[PortSet, ...] = ()
    """What the report's hosts were scanned on: their ``Hosts.port_sets`` point here."""


@dataclass(frozen=True, slots=True)
class Locations:
    """Some locations of the service section ``service`` (its id), in the order written."""

    service: str
    rows: tuple[Location, ...]


@dataclass(frozen=True, slots=True)
class Hosts:
    """Some host records, in the order written."""

    records: tuple[HostRecord, ...]
    port_sets: tuple[int | None, ...]
    """For each record, the position of its scanned ports among the scan section's
    ``port_sets`` (which may come later in the file); None for none."""


@dataclass(frozen=True, slots=True)
class ServiceFindings:
    """What a service section says was found."""

    status: Status
    vulnerabilities: tuple[Vulnerability, ...]
    notes: tuple[str, ...]
    references: tuple[str, ...]
    fixed: tuple[Vulnerability, ...]
    distribution: DistroEvidence | None
    nvd_names: tuple[str, ...] | None
    """None when the report predates them (schema 1.0)."""


@dataclass(frozen=True, slots=True)
class ServiceSection:
    """A service section, its locations already streamed. Its software and findings are read
    only when asked: a reader that has seen the same section before can skip them."""

    key: str
    locations: int
    """How many locations it listed (at least one)."""
    head: dict[str, Any] = field(repr=False, compare=False)

    @property
    def evidence(self) -> tuple[Any, ...]:
        """Its findings as written: equal for two sections that found the same."""
        return tuple(self.head.get(k) for k in _FINDINGS)

    def service(self) -> Service:
        return read_service(self.head)

    def protocol(self) -> str:
        return _field(self.head, "protocol", str)

    def findings(self) -> ServiceFindings:
        head = self.head
        return ServiceFindings(
            status=_choice(head, "status", _STATUSES),
            vulnerabilities=_vulnerabilities(head, "vulnerabilities"),
            notes=_strings(head, "notes"),
            references=_strings(head, "references"),
            fixed=_vulnerabilities(head, "fixed_by_distribution"),
            distribution=read_distribution(_optional(head, "distribution", dict)),
            nvd_names=_strings(head, "nvd_names") if head.get("nvd_names") is not None else None,
        )


Section = ScanSection | ServiceSection | Locations | Hosts


def read_sections(name: str, opener: Opener) -> Iterator[Section]:
    """The report ``opener`` opens, streamed: batches of locations and hosts, each service
    section after its locations, the scan section last (``name`` the source of its own part).
    Read it within :func:`report_errors`."""
    with opener() as stream:
        yield from _document(name, ijson.basic_parse(stream, use_float=True))


@contextmanager
def report_errors(name: str) -> Iterator[None]:
    """A report that cannot be read, is not JSON, or is not a brulee report of this schema
    version (:func:`read_sections` and the values it gives): a one-line ParseError naming it."""
    try:
        yield
    except ReportFormatError as exc:
        raise ParseError(f"{name}: {exc}") from None
    except ijson.JSONError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParseError(f"{name}: not valid JSON ({first})") from None
    except OSError as exc:
        raise ParseError(f"{name}: cannot read it ({exc.strerror or exc})") from None


# -- the event stream ------------------------------------------------------------------------

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
            raise ReportFormatError(f"a value was expected, not {first}")
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
                if len(stack) > MAX_DEPTH:
                    raise ReportFormatError(f"a value is nested deeper than {MAX_DEPTH}")
    raise ReportFormatError("the document ends inside a value")


def _skip(events: Iterator[Event]) -> None:
    """Pass over the value the next event starts without building it."""
    depth = 0
    for event, _ in events:
        if event in _OPEN:
            depth += 1
        elif event in _CLOSE:
            depth -= 1
        if depth == 0 and event != "map_key":
            return
    raise ReportFormatError("the document ends inside a value")


def _value(events: Iterator[Event]) -> Any:
    """The whole value the next event starts."""
    event, value = next(events, ("end_array", None))
    return _build(events, event, value)


def _expect(events: Iterator[Event], kind: str, what: str) -> None:
    if next(events, ("", None))[0] != kind:
        raise ReportFormatError(
            f"{what} is not {'a list' if kind == 'start_array' else 'an object'}"
        )


def _document(name: str, events: Iterator[Event]) -> Iterator[Section]:
    top: dict[str, Any] = {}
    _expect(events, "start_map", "the document")
    for event, key in events:
        if event == "end_map":
            break
        if key not in _KEYS or key in top:
            raise ReportFormatError(f"not a brulee report: unexpected key {key!r}")
        if key == "services":
            yield from _services(events)
            top[key] = None
        elif key == "hosts":
            yield from _hosts(events)
            top[key] = None
        elif key in _SKIPPED:
            _skip(events)
            top[key] = None
        else:
            top[key] = _value(events)
        version = top.get("schema_version", READABLE_VERSIONS[-1])
        if version not in READABLE_VERSIONS:
            raise ReportFormatError(
                f"schema_version {version!r} is not supported (expected one of "
                f"{', '.join(READABLE_VERSIONS)})"
            )
    absent = sorted(_KEYS - _OPTIONAL - set(top))
    if absent or _field(top["generator"], "name", str) != "brulee":
        raise ReportFormatError(f"not a brulee report ({', '.join(absent) or 'generator'} missing)")
    yield _scan(name, _field(top["generator"], "version", str), top["scan"])


def _scan(name: str, tool_version: str, scan: Any) -> ScanSection:
    if isinstance(scan, dict) and scan.get("parts"):
        parts = tuple(
            read_part(raw, _field(raw, "source", str), _field(raw, "generator_version", str))
            for raw in _field(scan, "parts", list)
        )
    else:
        parts = (read_part(scan, name, tool_version),)
    return ScanSection(
        parts, _strings(scan, "targets"), _field(scan, "nmap_command", str), read_port_sets(scan)
    )


def _services(events: Iterator[Event]) -> Iterator[Section]:
    _expect(events, "start_array", "'services'")
    for event, _ in events:
        if event == "end_array":
            return
        if event != "start_map":
            raise ReportFormatError("'services' is not a list of objects")
        head: dict[str, Any] = {}
        locations = 0
        for kind, key in events:
            if kind == "end_map":
                break
            if key == "locations":
                for batch in _locations(_field(head, "id", str), events):
                    locations += len(batch.rows)
                    yield batch
            else:
                head[key] = _value(events)
        section = ServiceSection(_field(head, "id", str), locations, head)
        if not locations:
            raise ReportFormatError(f"service {section.key} has no locations")
        yield section


def _locations(service: str, events: Iterator[Event]) -> Iterator[Locations]:
    _expect(events, "start_array", "'locations'")
    rows: list[Location] = []
    for event, _ in events:
        if event == "end_array":
            break
        if event != "start_map":
            raise ReportFormatError("'locations' is not a list of objects")
        fields: dict[str, Any] = {}
        for kind, key in events:
            if kind == "end_map":
                break
            opened, fields[key] = next(events)  # ijson fails before the events end
            if opened in _OPEN:
                raise ReportFormatError(f"{key!r} of a location is not a single value")
        rows.append(read_location(fields))
        if len(rows) == _BATCH:
            yield Locations(service, tuple(rows))
            rows = []
    if rows:
        yield Locations(service, tuple(rows))


def _hosts(events: Iterator[Event]) -> Iterator[Hosts]:
    _expect(events, "start_array", "'hosts'")
    batch: list[HostRecord] = []
    sets: list[int | None] = []
    for event, value in events:
        if event == "end_array":
            break
        raw = _build(events, event, value)
        batch.append(read_host(raw))
        sets.append(_optional(raw, "port_set", int) if "port_set" in raw else None)
        if len(batch) == _BATCH:
            yield Hosts(tuple(batch), tuple(sets))
            batch, sets = [], []
    if batch:
        yield Hosts(tuple(batch), tuple(sets))
