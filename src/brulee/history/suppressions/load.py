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
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from brulee.core.suppression import Network, Suppression, ip_address_of
from brulee.errors import UsageError
from brulee.history.suppressions.apply import Suppressions
from brulee.util.files import TooLarge, read_bounded

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


# -- values --------------------------------------------------------------------------------------


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
    address = ip_address_of(text)
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


def parse_suppression(fields: Mapping[str, object], *, origin: str = "") -> Suppression:
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
        data = read_bounded(path, MAX_FILE_BYTES)
    except TooLarge as exc:
        raise SuppressionError(source, [(0, str(exc))]) from None
    except OSError as exc:
        raise SuppressionError(source, [(0, f"cannot read: {exc.strerror or exc}")]) from exc
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
