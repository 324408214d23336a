"""Suppressions: findings marked as false positives or accepted risks, with a reason and an expiry.

A suppressions file is a YAML list of entries::

    - cve: CVE-2023-38408          # required
      reason: Debian backported the fix in 1:9.2p1-2+deb12u1   # required
      author: alice@example.com    # required
      product: OpenSSH             # optional: the service's product, case-insensitive
      version: "9.2*"              # optional: exact, or a prefix ending in *
      host: bastion.example.com    # optional: an address or a hostname
      port: 22                     # optional, with an optional protocol (tcp, udp, sctp)
      protocol: tcp
      cidr: 10.20.0.0/16           # optional: an IPv4 or IPv6 network
      expires: 2026-06-30          # optional: applies up to and including this day (UTC)

An entry suppresses its CVE on the services whose product and version match. ``host``, ``port``
(``protocol``) and ``cidr`` narrow it to some locations; all the fields given must match. A
service's vulnerabilities apply to every location of the service, so a narrowed entry may cover
only some of them; ``Suppressions.apply`` then says which (see ``Suppressed``).

Loading refuses anything it does not understand, naming the file and the line: unknown keys,
duplicate keys, bad values, tags other than YAML's core ones (``!!python/object`` and the like),
aliases of lists or mappings, and files over ``MAX_FILE_BYTES``. The file is read as a stream of
parser events, never composed into a tree: aliases are never expanded (no billion laughs) and
nesting costs no recursion.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from brulee.errors import UsageError
from brulee.findings import ServiceGroup, group_order
from brulee.spool import Location
from brulee.vulns.interface import Vulnerability

MAX_FILE_BYTES = 16 << 20
"""Largest suppressions file read (about 100,000 entries, 4 s to load with libyaml)."""
_MAX_LISTED = 5
"""Problems named in an error message (all are in ``SuppressionError.problems``)."""

_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PROTOCOLS = ("tcp", "udp", "sctp")
_REQUIRED = ("cve", "reason", "author")
_OPTIONAL = ("product", "version", "host", "port", "protocol", "cidr", "expires")
_KEYS = _REQUIRED + _OPTIONAL
_CORE = "tag:yaml.org,2002:"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SuppressionError(UsageError):
    """Invalid suppressions: each problem with its line (0 when it has none); one that stopped the
    reading (invalid YAML, a refused tag or alias) comes first, then the others in line order."""

    def __init__(self, source: str, problems: Iterable[tuple[int, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [f"{source}:{line}: {text}" if line else f"{source}: {text}" for line, text in
                 self.problems[:_MAX_LISTED]]  # fmt: skip
        more = len(self.problems) - _MAX_LISTED
        super().__init__("; ".join(lines) + (f"; and {more} more problems" if more > 0 else ""))


class _Invalid(ValueError):
    """One bad value; the caller knows the line."""


# -- entries --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suppression:
    """One entry. Build with ``Suppression.parse`` (validated) unless the values are known good."""

    cve: str
    """Upper case (``CVE-2021-44228``)."""
    reason: str
    author: str
    product: str | None = None
    version: str | None = None
    """Exact, or a prefix when it ends in ``*``."""
    host: str | None = None
    """A normalised IP address, or a lower-case hostname without the trailing dot."""
    port: int | None = None
    protocol: str | None = None
    """Only with ``port``."""
    cidr: Network | None = None
    expires: date | None = None
    """The last day (UTC) the entry applies."""
    origin: str = ""
    """Where it came from, for messages: ``suppressions.yaml:12``, or a history store id."""

    @classmethod
    def parse(cls, fields: Mapping[str, object], *, origin: str = "") -> Suppression:
        """Validate plain values (from ``brulee suppress`` or the history store): strings, an int
        or digit string port, a ``date`` or ISO date string expiry; None for a field not given.
        SuppressionError otherwise."""
        problems: list[tuple[int, str]] = []
        values: dict[str, object] = {}
        for key, value in fields.items():
            if value is None and key in _KEYS:
                continue
            if key not in _KEYS:
                problems.append((0, _unknown(key)))
                continue
            try:
                values[key] = _FIELDS[key](value)
            except _Invalid as exc:
                problems.append((0, str(exc)))
        entry = _build(values, problems.append, 0)
        if problems or entry is None:
            raise SuppressionError(origin or "suppression", problems)
        return replace(entry, origin=origin)

    @property
    def scoped(self) -> bool:
        """Narrowed to some locations (host, port or CIDR): matched location by location."""
        return self.host is not None or self.port is not None or self.cidr is not None

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def matches_service(self, group: ServiceGroup) -> bool:
        """Product and version (the CVE is matched by the caller)."""
        service = group.service
        if self.product is not None and service.product.casefold() != self.product.casefold():
            return False
        if self.version is None:
            return True
        version = service.version.casefold()
        wanted = self.version.casefold()
        if wanted.endswith("*"):
            return version.startswith(wanted[:-1])
        return version == wanted

    def matches_location(self, location: Location) -> bool:
        if self.port is not None and (
            location.port != self.port
            or (self.protocol is not None and location.protocol != self.protocol)
        ):
            return False
        if self.host is not None and not _same_host(self.host, location):
            return False
        if self.cidr is not None:
            address = _address(location.address)
            return address is not None and address in self.cidr
        return True

    def describe(self) -> str:
        """``CVE-2021-44228 (product log4j, host 10.0.0.5, until 2026-01-31)`` for messages."""
        scope = [
            f"{name} {value}"
            for name, value in (
                ("product", self.product),
                ("version", self.version),
                ("host", self.host),
                ("port", f"{self.port}/{self.protocol}" if self.protocol else self.port),
                ("cidr", self.cidr),
                ("until", self.expires),
            )
            if value is not None
        ]
        return f"{self.cve} ({', '.join(scope)})" if scope else self.cve


def _unknown(key: object) -> str:
    return f"unknown key {key!r} (expected {', '.join(_KEYS)})"


def _text(name: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(f"{name} must be non-empty text")
        return value.strip()

    return check


def _cve(value: object) -> str:
    if not isinstance(value, str) or not _CVE.fullmatch(value.strip()):
        raise _Invalid(f"cve must be a CVE id like CVE-2021-44228, not {value!r}")
    return value.strip().upper()


def _version(value: object) -> str:
    text = _text("version")(value)
    if "*" in text[:-1]:
        raise _Invalid(f"version {text!r}: '*' may only end a version prefix (2.4.*)")
    return text


def _host(value: object) -> str:
    text = _text("host")(value)
    address = _address(text)
    if address is not None:
        return str(address)
    name = text.rstrip(".").lower()
    if "/" in text or not _HOSTNAME.fullmatch(name):
        raise _Invalid(f"host must be one address or hostname (cidr takes networks), not {text!r}")
    return name


def _port(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise _Invalid(f"port must be a number from 0 to 65535, not {value!r}")
    return value


def _protocol(value: object) -> str:
    if not isinstance(value, str) or value.strip().lower() not in _PROTOCOLS:
        raise _Invalid(f"protocol must be one of {', '.join(_PROTOCOLS)}, not {value!r}")
    return value.strip().lower()


def _cidr(value: object) -> Network:
    if not isinstance(value, str):
        raise _Invalid(f"cidr must be a network like 10.0.0.0/8 or 2001:db8::/32, not {value!r}")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError as exc:
        raise _Invalid(f"cidr {value!r} is not a network: {exc}") from exc


def _expires(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"expires must be a date like 2026-12-31, not {value!r}")


_FIELDS: dict[str, Callable[[object], object]] = {
    "cve": _cve,
    "reason": _text("reason"),
    "author": _text("author"),
    "product": _text("product"),
    "version": _version,
    "host": _host,
    "port": _port,
    "protocol": _protocol,
    "cidr": _cidr,
    "expires": _expires,
}


def _build(
    values: Mapping[str, object], problem: Callable[[tuple[int, str]], None], line: int
) -> Suppression | None:
    """The entry from validated values, or None after reporting what is missing."""
    missing = [key for key in _REQUIRED if key not in values]
    for key in missing:
        problem((line, f"missing {key}"))
    if "protocol" in values and "port" not in values:
        problem((line, "protocol needs a port"))
        return None
    if missing:
        return None
    return Suppression(**values)  # type: ignore[arg-type]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _same_host(host: str, location: Location) -> bool:
    if location.hostname and location.hostname.rstrip(".").lower() == host:
        return True
    address = _address(location.address)
    return address is not None and str(address) == host


# -- the file -------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, event: yaml.Event, text: str) -> None:
        super().__init__(text)
        self.line = _line(event)


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 0


class _Events:
    """The parser's events, read one at a time: the document is never composed into a tree, so
    aliases are never expanded and nesting costs no recursion (libyaml when available)."""

    def __init__(self, text: str) -> None:
        self._events = yaml.parse(text, Loader=_LOADER)
        self._next: yaml.Event | None = None
        self.anchors: dict[str, str | None] = {}
        """Anchored scalars' text (None: null), which aliases may repeat."""
        self.collections: set[str] = set()
        """Anchors of lists and mappings, which aliases may not name."""

    def peek(self) -> yaml.Event:
        if self._next is None:
            self._next = next(self._events)
        return self._next

    def take(self) -> yaml.Event:
        event = self.peek()
        self._next = None
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            if isinstance(event, yaml.ScalarEvent):
                self.anchors[anchor] = _scalar(event)
            else:
                self.collections.add(anchor)
        return event

    def skip(self) -> yaml.Event:
        """Consume one node (a scalar, an alias, or a whole collection); its first event."""
        first = self.take()
        depth = 1 if isinstance(first, yaml.CollectionStartEvent) else 0
        while depth:
            event = self.take()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return first

    def value(self) -> tuple[yaml.Event, str | None] | None:
        """One scalar node's text (None: null), resolving aliases to scalars; None (after
        consuming it) for a list or mapping."""
        event = self.peek()
        _check_tag(event)
        if isinstance(event, yaml.AliasEvent):
            self.take()
            if event.anchor in self.collections:
                raise _Refused(event, "aliases of lists or mappings are not supported")
            if event.anchor not in self.anchors:
                raise _Refused(event, f"invalid YAML: undefined alias {event.anchor!r}")
            return event, self.anchors[event.anchor]
        if isinstance(event, yaml.ScalarEvent):
            self.take()
            return event, _scalar(event)
        self.skip()
        return None


class _PureLoader(yaml.SafeLoader):
    """Without libyaml: the same flow-nesting limit as libyaml's (the pure scanner is quadratic
    in it)."""

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= _MAX_FLOW_LEVEL:
            raise yaml.scanner.ScannerError(
                None, None, "exceeded maximum nesting depth", self.get_mark()
            )
        super().fetch_flow_collection_start(TokenClass)


_MAX_FLOW_LEVEL = 1000
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else _PureLoader
)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_ALLOWED_TAGS = frozenset(
    {"!"} | {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
)


def _scalar(event: yaml.ScalarEvent) -> str | None:
    """The text as written (``version: 2.10`` stays "2.10", ``port: 0x50`` is refused later);
    None for a plain or ``!!null`` null."""
    if event.tag == _CORE + "null" or (event.tag is None and event.implicit[0] and
                                       event.value in _NULLS):  # fmt: skip
        return None
    return str(event.value)


def _check_tag(event: yaml.Event) -> None:
    """Refuse explicit tags beyond YAML's core schema (``!!python/object``, ``!custom``...)."""
    tag = getattr(event, "tag", None)
    if tag is not None and tag not in _ALLOWED_TAGS:
        raise _Refused(event, f"tag {tag!r} is not allowed")


def load_suppressions(path: Path) -> Suppressions:
    """Read and validate a suppressions file; SuppressionError (exit 2) naming each bad line."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SuppressionError(source, [(0, f"cannot read: {exc.strerror or exc}")]) from exc
    if len(data) > MAX_FILE_BYTES:
        raise SuppressionError(source, [(0, f"larger than {MAX_FILE_BYTES >> 20} MiB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SuppressionError(source, [(line, "not UTF-8 text")]) from exc
    problems: list[tuple[int, str]] = []
    try:
        entries = _read(_Events(text), source, problems.append)
    except _Refused as exc:
        raise SuppressionError(source, [(exc.line, str(exc)), *problems]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        line = mark.line + 1 if mark else 0
        raise SuppressionError(source, [(line, f"invalid YAML: {what}"), *problems]) from exc
    except yaml.YAMLError as exc:
        raise SuppressionError(source, [(0, f"invalid YAML: {exc}"), *problems]) from exc
    if problems:
        raise SuppressionError(source, problems)
    return Suppressions.from_entries(entries)


def _read(
    events: _Events, source: str, problem: Callable[[tuple[int, str]], None]
) -> list[Suppression]:
    events.take()  # stream start
    if isinstance(events.peek(), yaml.StreamEndEvent):
        return []  # no document: an empty file, or comments only
    events.take()  # document start
    root = events.peek()
    _check_tag(root)
    entries: list[Suppression] = []
    if isinstance(root, yaml.SequenceStartEvent):
        events.take()
        while not isinstance(events.peek(), yaml.SequenceEndEvent):
            item = events.peek()
            _check_tag(item)
            if isinstance(item, yaml.MappingStartEvent):
                entry = _read_entry(events, source, problem)
                if entry is not None:
                    entries.append(entry)
            elif isinstance(item, yaml.AliasEvent):
                raise _Refused(item, "aliases of lists or mappings are not supported")
            else:
                events.skip()
                problem((_line(item), "each entry must be a mapping of keys (cve: ...)"))
        events.take()
    elif not (isinstance(root, yaml.ScalarEvent) and _scalar(root) is None):
        raise _Refused(root, "expected a list of suppression entries (- cve: ...)")
    else:
        events.take()  # a document holding only null: no entries
    events.take()  # document end
    extra = events.take()
    if not isinstance(extra, yaml.StreamEndEvent):
        raise _Refused(extra, "invalid YAML: expected a single document")
    return entries


def _read_entry(
    events: _Events, source: str, problem: Callable[[tuple[int, str]], None]
) -> Suppression | None:
    start = events.take()
    values: dict[str, object] = {}
    bad = False

    def report(item: tuple[int, str]) -> None:
        nonlocal bad
        bad = True
        problem(item)

    while not isinstance(events.peek(), yaml.MappingEndEvent):
        key_event = events.peek()
        key = events.value()
        if key is None or key[1] is None:
            report((_line(key_event), "keys must be plain names"))
            events.skip()
            continue
        name = key[1]
        if name not in _KEYS:
            report((_line(key_event), _unknown(name)))
            events.skip()
            continue
        if name in values:
            report((_line(key_event), f"duplicate key {name!r}"))
            events.skip()
            continue
        value_event = events.peek()
        value = events.value()
        if value is None:
            report((_line(value_event), f"{name} must be a single value, not a list or mapping"))
            values[name] = None
            continue
        try:
            values[name] = _FIELDS[name](value[1])
        except _Invalid as exc:
            report((_line(value_event), str(exc)))
            values[name] = None
    events.take()
    entry = _build(values, report, _line(start))
    if bad or entry is None:
        return None
    return replace(entry, origin=f"{source}:{_line(start)}")


# -- applying them --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuppressedAt:
    """One location where a partially suppressed vulnerability is suppressed, and by which entry."""

    location: Location
    entry: Suppression


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A vulnerability of one service that entries cover.

    ``complete``: every location of the service is covered (by an entry without a location
    scope, or by scoped entries that together match them all); the vulnerability is removed from
    the service and belongs in the appendix only. Otherwise it stays in the service's findings and
    ``locations`` lists where it is suppressed (address then port order), each with the entry
    credited (the first in file order that matches there)."""

    vulnerability: Vulnerability
    entries: tuple[Suppression, ...]
    """Every entry that covers it somewhere, in file order."""
    complete: bool
    locations: tuple[SuppressedAt, ...] = ()
    """Partial suppressions only (empty when ``complete``)."""
    location_count: int = 0
    """The service's locations, as counted while matching (0 when no entry is scoped)."""


@dataclass(frozen=True, slots=True)
class ServiceSuppressions:
    """What was suppressed on one service; ``group`` is the service as found, unsuppressed."""

    group: ServiceGroup
    suppressed: tuple[Suppressed, ...]
    """In the service's vulnerability order."""

    @property
    def complete(self) -> tuple[Suppressed, ...]:
        return tuple(s for s in self.suppressed if s.complete)

    @property
    def partial(self) -> tuple[Suppressed, ...]:
        return tuple(s for s in self.suppressed if not s.complete)


@dataclass(frozen=True, slots=True)
class Applied:
    """The result of ``Suppressions.apply``.

    ``groups`` is what the main sections show: each service without its completely suppressed
    vulnerabilities (a service left with none reads ``clean``), re-sorted most urgent first; keys
    are unchanged, so locations stream as before. ``suppressed`` feeds the appendix, in the same
    order. ``expired`` entries no longer apply; ``stale`` ones apply but matched nothing."""

    groups: tuple[ServiceGroup, ...]
    suppressed: tuple[ServiceSuppressions, ...]
    expired: tuple[Suppression, ...]
    stale: tuple[Suppression, ...]

    def for_group(self, key: str) -> ServiceSuppressions | None:
        return next((s for s in self.suppressed if s.group.key == key), None)

    @property
    def count(self) -> int:
        """Vulnerabilities removed from services (completely suppressed ones)."""
        return sum(len(s.complete) for s in self.suppressed)


LocationsOf = Callable[[ServiceGroup], Iterable[Location]]


@dataclass(frozen=True, slots=True)
class Suppressions:
    """A set of entries, in file order."""

    entries: tuple[Suppression, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[Suppression]) -> Suppressions:
        return cls(tuple(entries))

    def __len__(self) -> int:
        return len(self.entries)

    def __add__(self, other: Suppressions) -> Suppressions:
        return Suppressions(self.entries + other.entries)

    def apply(
        self, groups: Iterable[ServiceGroup], locations_of: LocationsOf, now: datetime | date
    ) -> Applied:
        """Suppress what the entries cover. ``now`` decides expiry (a naive datetime is taken as
        UTC). Locations are streamed, twice at most and only for services that a scoped entry
        could cover; memory holds the partially suppressed locations only."""
        today = _utc_date(now)
        active = [e for e in self.entries if not e.expired(today)]
        by_cve: dict[str, list[Suppression]] = {}
        for entry in active:
            by_cve.setdefault(entry.cve, []).append(entry)
        used: set[int] = set()
        kept: list[ServiceGroup] = []
        suppressed: list[ServiceSuppressions] = []
        for group in groups:
            result = _apply_group(group, by_cve, locations_of, used)
            if result is None:
                kept.append(group)
                continue
            suppressed.append(result)
            gone = {s.vulnerability.id for s in result.suppressed if s.complete}
            remaining = tuple(v for v in group.vulnerabilities if v.id not in gone)
            status = group.status if remaining or group.status != "vulnerable" else "clean"
            kept.append(replace(group, vulnerabilities=remaining, status=status))
        order = {g.key: i for i, g in enumerate(sorted(kept, key=group_order))}
        suppressed.sort(key=lambda s: order[s.group.key])
        return Applied(
            groups=tuple(sorted(kept, key=group_order)),
            suppressed=tuple(suppressed),
            expired=tuple(e for e in self.entries if e.expired(today)),
            stale=tuple(e for e in active if id(e) not in used),
        )


def _utc_date(now: datetime | date) -> date:
    if isinstance(now, datetime):
        return (now.astimezone(UTC) if now.tzinfo else now).date()
    return now


def _apply_group(
    group: ServiceGroup,
    by_cve: Mapping[str, list[Suppression]],
    locations_of: LocationsOf,
    used: set[int],
) -> ServiceSuppressions | None:
    # Per vulnerability: the entries whose CVE, product and version match this service.
    candidates: dict[str, tuple[Suppression, ...]] = {}
    for vuln in group.vulnerabilities:
        found = tuple(e for e in by_cve.get(vuln.id.upper(), ()) if e.matches_service(group))
        if found:
            candidates[vuln.id] = found
    if not candidates:
        return None
    # Scoped entries by identity (two equal entries in a file are two entries).
    scoped = list({id(e): e for found in candidates.values() for e in found if e.scoped}.values())
    matched: dict[int, int] = {}  # id(entry) -> locations matched
    covered: dict[tuple[int, ...], int] = {}  # scoped candidate set -> locations any of it covers
    sets = {
        vid: tuple(i for i, e in enumerate(scoped) if any(e is f for f in found))
        for vid, found in candidates.items()
        if not any(not e.scoped for e in found)
    }
    total = 0
    if scoped:
        wanted = set(sets.values())
        for location in locations_of(group):
            total += 1
            hits = {i for i, e in enumerate(scoped) if e.matches_location(location)}
            for i in hits:
                matched[id(scoped[i])] = matched.get(id(scoped[i]), 0) + 1
            for wanted_set in wanted:
                if hits.intersection(wanted_set):
                    covered[wanted_set] = covered.get(wanted_set, 0) + 1
    partial_sets = {s for s in set(sets.values()) if 0 < covered.get(s, 0) < total}
    listed = _list_partial(group, scoped, partial_sets, locations_of) if partial_sets else {}
    results: list[Suppressed] = []
    for vuln in group.vulnerabilities:
        found = candidates.get(vuln.id, ())
        entries = tuple(e for e in found if not e.scoped or matched.get(id(e)))
        if not entries:
            continue
        used.update(id(e) for e in entries)
        indexes = sets.get(vuln.id)
        # None: an entry without a location scope covers it everywhere.
        if indexes is None or covered.get(indexes, 0) == total:
            results.append(Suppressed(vuln, entries, complete=True, location_count=total))
        else:
            results.append(
                Suppressed(vuln, entries, False, listed.get(indexes, ()), location_count=total)
            )
    return ServiceSuppressions(group, tuple(results)) if results else None


def _list_partial(
    group: ServiceGroup,
    scoped: list[Suppression],
    sets: set[tuple[int, ...]],
    locations_of: LocationsOf,
) -> dict[tuple[int, ...], tuple[SuppressedAt, ...]]:
    """Second pass, for partially suppressed vulnerabilities only: where, and by which entry."""
    rows: dict[tuple[int, ...], list[SuppressedAt]] = {s: [] for s in sets}
    for location in locations_of(group):
        for indexes, found in rows.items():
            entry = next((scoped[i] for i in indexes if scoped[i].matches_location(location)), None)
            if entry is not None:
                found.append(SuppressedAt(location, entry))
    return {s: tuple(found) for s, found in rows.items()}
