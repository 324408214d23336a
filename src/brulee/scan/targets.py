"""Targets: parse and validate specs, apply exclusions, bound the scope, split for workers.

Targets are attacker-influenced (target files come from inventories and tickets). Anything
that could be read by Nmap as an option, or by a shell as syntax, is refused with the line
that held it. Addresses are kept as merged integer intervals, never expanded one by one, so a
/8 costs no memory, and octet ranges are sized before they are expanded. Addresses are written
one way only: spellings that resolvers read as another address (``0x7f.1``, ``127.1``,
``010.0.0.1``) are refused. Hostnames are resolved once, here, before Nmap: exclusions apply to
the addresses they resolve to, and Nmap is given those addresses, never a name to resolve again.
Scoped IPv6 addresses (``fe80::1%eth0``) keep their zone id.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from brulee.errors import TargetError
from brulee.util.files import TooLarge, read_bounded

DEFAULT_MAX_SCOPE = 1 << 16  # a /16
MAX_BLOCKS_PER_SLICE = 4096
"""Most address blocks (target-file lines, before CIDR merging) one worker's slice holds."""
MAX_RANGE_BLOCKS = 1 << 16
"""Most separate blocks one octet range (``10.0-255.0-255.1``) may expand to."""
MAX_ADDRESSES_PER_NAME = 64
"""Most addresses of one hostname that are scanned (the first ones the resolver gives)."""
RESOLVER_THREADS = 16

_HOSTNAME = re.compile(
    r"(?=.{1,253}\.?$)(?=.*[A-Za-z])"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)
_DECIMAL = r"(0|[1-9]\d{0,2})"  # no leading zero: resolvers read 010 as octal
_OCTET = re.compile(f"{_DECIMAL}(?:-{_DECIMAL})?")
_ALLOWED = re.compile(r"[A-Za-z0-9.:/%_\-\[\]]+")


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """Inclusive range of addresses of one IP version, as integers."""

    version: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def networks(self) -> Iterator[str]:
        """The fewest CIDR blocks covering the interval (single addresses without a prefix)."""
        cls = ipaddress.IPv4Address if self.version == 4 else ipaddress.IPv6Address
        for net in ipaddress.summarize_address_range(cls(self.first), cls(self.last)):
            yield str(net.network_address) if net.num_addresses == 1 else str(net)


@dataclass(frozen=True, slots=True)
class Spec:
    """One parsed target: address intervals, a hostname, or a scoped IPv6 address."""

    text: str
    intervals: tuple[Interval, ...] = ()
    hostname: str = ""
    scoped: str = ""
    """An IPv6 address with its zone id (``fe80::1%eth0``), given to Nmap as written."""


def _octet_ranges(text: str) -> list[tuple[int, int]] | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    ranges = []
    for part in parts:
        match = _OCTET.fullmatch(part)
        if not match:
            return None
        low = int(match[1])
        high = int(match[2]) if match[2] is not None else low
        if not low <= high <= 255:
            return None
        ranges.append((low, high))
    return ranges


def _range_intervals(text: str, ranges: list[tuple[int, int]], origin: str) -> Spec:
    """The intervals of an octet range, sized before they are made: trailing octets that span
    0-255 join the octet before them into one block per combination of the leading octets."""
    split = 4  # octets [split:] span 0-255
    while split > 1 and ranges[split - 1] == (0, 255):
        split -= 1
    head, (low, high), shift = ranges[: split - 1], ranges[split - 1], 8 * (4 - split)
    blocks = math.prod(h - lo + 1 for lo, h in head)
    if blocks > MAX_RANGE_BLOCKS:
        size = blocks * (high - low + 1) << shift
        raise TargetError(
            f"{origin}octet range {text!r} holds {size:,} addresses in {blocks:,} separate "
            f"blocks, over the {MAX_RANGE_BLOCKS:,} blocks brulee expands; give CIDR blocks"
        )
    intervals = []
    for prefix in product(*(range(lo, h + 1) for lo, h in head)):
        base = 0
        for octet in prefix:
            base = base << 8 | octet
        first, last = (base << 8 | low) << shift, (base << 8 | high) << shift | ((1 << shift) - 1)
        intervals.append(Interval(4, first, last))
    return Spec(text, tuple(intervals))


_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
"""``::ffff:127.0.0.1`` is 127.0.0.1 to the kernel, whatever family the exclusions were given in."""


def _resolver_reading(text: str) -> str | None:
    """The IPv4 address a resolver (``inet_aton``) reads in ``text``, if any."""
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


def parse_spec(text: str, where: str = "") -> Spec:
    """Parse one target: IP, CIDR, Nmap octet range (``10.0.0.1-20``) or hostname."""
    origin = f"{where}: " if where else ""
    if not text:
        raise TargetError(f"{origin}empty target")
    if text.startswith("-"):
        raise TargetError(f"{origin}refused target {text!r}: it starts with '-' (an option?)")
    if not _ALLOWED.fullmatch(text):
        raise TargetError(
            f"{origin}refused target {text!r}: whitespace or shell/Nmap metacharacters; "
            "give one address, CIDR, range or hostname per entry"
        )
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if "%" in bare:  # before ip_network, which accepts a zone id and drops it
        try:
            address = ipaddress.IPv6Address(bare)
        except ValueError as exc:
            raise TargetError(f"{origin}invalid scoped IPv6 address {text!r}") from exc
        return Spec(text, scoped=str(address))  # Nmap takes it as given
    try:
        net = ipaddress.ip_network(bare, strict=False)
    except ValueError:
        pass
    else:
        if isinstance(net, ipaddress.IPv6Network) and net.overlaps(_IPV4_MAPPED):
            raise TargetError(
                f"{origin}refused target {text!r}: IPv4-mapped IPv6 addresses reach IPv4 hosts "
                "that IPv4 exclusions would not match; give the IPv4 address"
            )
        first, last = int(net.network_address), int(net.broadcast_address)
        return Spec(text, (Interval(net.version, first, last),))
    ranges = _octet_ranges(bare)
    if ranges is not None:
        return _range_intervals(text, ranges, origin)
    reading = _resolver_reading(bare)
    if reading is not None:
        raise TargetError(
            f"{origin}invalid address {text!r}: not dotted decimal, resolvers read it as "
            f"{reading}; write {reading} if that is meant"
        )
    if re.fullmatch(r"[\d.]+|[\d.\-/]+", bare) or ":" in bare or "/" in bare:
        raise TargetError(f"{origin}invalid address, CIDR or range {text!r}")
    if not _HOSTNAME.fullmatch(bare):
        raise TargetError(f"{origin}invalid hostname {text!r}")
    return Spec(text, hostname=bare.lower().rstrip("."))


MAX_TARGET_LIST_BYTES = 16 << 20
"""Largest target list read (``-iL FILE``, ``-iL -``): about a million lines."""


def read_target_file(path: Path) -> list[Spec]:
    """One target per line; ``#`` starts a comment; blank lines are skipped."""
    try:
        text = read_bounded(path, MAX_TARGET_LIST_BYTES).decode("utf-8")
    except TooLarge as exc:
        raise TargetError(f"target file {path} is {exc}, not read") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read target file {path}: {exc}") from exc
    return parse_target_lines(text, str(path))


def parse_target_lines(text: str, source: str) -> list[Spec]:
    """The targets of a target list's text, one per line; errors name ``source:line``."""
    specs = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            specs.append(parse_spec(entry, f"{source}:{number}"))
    return specs


def parse_list(items: Iterable[str], where: str) -> list[Spec]:
    """Specs from command-line values; each value may be a comma-separated list."""
    return [
        parse_spec(part.strip(), where)
        for item in items
        for part in item.split(",")
        if part.strip()
    ]


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for iv in sorted(intervals):
        last = merged[-1] if merged else None
        if last and last.version == iv.version and iv.first <= last.last + 1:
            merged[-1] = Interval(iv.version, last.first, max(last.last, iv.last))
        else:
            merged.append(iv)
    return merged


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    result: list[Interval] = []
    for iv in intervals:
        pieces = [iv]
        for hole in holes:
            if hole.version != iv.version:
                continue
            next_pieces = []
            for piece in pieces:
                if hole.last < piece.first or hole.first > piece.last:
                    next_pieces.append(piece)
                    continue
                if piece.first < hole.first:
                    next_pieces.append(Interval(iv.version, piece.first, hole.first - 1))
                if hole.last < piece.last:
                    next_pieces.append(Interval(iv.version, hole.last + 1, piece.last))
            pieces = next_pieces
        result.extend(pieces)
    return result


@dataclass(frozen=True, slots=True)
class Scope:
    """What will be scanned: merged address intervals and scoped IPv6 addresses (``fe80::1%eth0``,
    given to Nmap as written), exclusions applied."""

    intervals: tuple[Interval, ...]
    scoped: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(iv.size for iv in self.intervals) + len(self.scoped)

    def lines(self) -> Iterator[str]:
        """Nmap target-file lines for the whole scope."""
        for iv in self.intervals:
            yield from iv.networks()
        yield from self.scoped

    def family(self, version: int) -> Scope:
        """The part of the scope of one IP version."""
        return Scope(
            tuple(iv for iv in self.intervals if iv.version == version),
            self.scoped if version == 6 else (),
        )

    def split(self, parts: int) -> list[Scope]:
        """Up to ``parts`` non-empty, balanced, deterministic slices for parallel workers.

        Addresses are dealt round-robin in blocks (single addresses for scopes up to
        ``parts * MAX_BLOCKS_PER_SLICE``; larger scopes in the smallest power-of-two blocks that
        keep each slice's target list that short), then scoped addresses one by one. Live hosts that
        cluster in one part of a network are thus shared among the workers, unlike contiguous
        slices (see ``shard``).
        """
        parts = max(1, min(parts, self.size))
        if not self.size:
            return []
        addresses = self.size - len(self.scoped)
        block = 1
        while -(-addresses // block) > parts * MAX_BLOCKS_PER_SLICE:
            block *= 2
        dealt: list[list[Interval]] = [[] for _ in range(parts)]
        offset = 0  # units before the current interval
        for iv in self.intervals:
            low = offset // block * block  # the first block that reaches into this interval
            while low < offset + iv.size:
                first, last = max(low, offset), min(low + block, offset + iv.size) - 1
                piece = Interval(iv.version, iv.first + first - offset, iv.first + last - offset)
                dealt[low // block % parts].append(piece)
                low += block
            offset += iv.size
        start = -(-addresses // block)  # scoped addresses continue the rotation
        scoped = [self.scoped[(i - start) % parts :: parts] for i in range(parts)]
        slices = [Scope(tuple(_merge(dealt[i])), scoped[i]) for i in range(parts)]
        return [s for s in slices if s.size]

    def shard(self, index: int, count: int) -> Scope:
        """Slice ``index`` (1-based) of ``count`` balanced, deterministic slices; may be empty
        when the scope holds fewer units than slices."""
        units = self.size
        return self._slice(units * (index - 1) // count, units * index // count)

    def _slice(self, low: int, high: int) -> Scope:
        """Units ``[low, high)``, counting addresses in order, then scoped addresses."""
        intervals = []
        offset = 0
        for iv in self.intervals:
            first, last = max(low, offset), min(high, offset + iv.size)
            if first < last:
                base = iv.first - offset
                intervals.append(Interval(iv.version, base + first, base + last - 1))
            offset += iv.size
        return Scope(tuple(intervals), self.scoped[max(0, low - offset) : max(0, high - offset)])


@dataclass(frozen=True, slots=True)
class Resolution:
    """Hostnames resolved once, before Nmap: each name's addresses, and the names that did not
    resolve."""

    addresses: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unresolved: tuple[str, ...] = ()

    def names(self) -> dict[str, str]:
        """The hostname each resolved address was given as (the first, for a shared address)."""
        named: dict[str, str] = {}
        for name, addresses in self.addresses:
            for address in addresses:
                named.setdefault(address, name)
        return named


def _lookup(name: str, family: socket.AddressFamily) -> tuple[str, ...]:
    try:
        found = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    addresses = dict.fromkeys(str(info[4][0]) for info in found)
    return tuple(addresses)[:MAX_ADDRESSES_PER_NAME]


def resolve(specs: Iterable[Spec], *, ipv6: bool = False) -> Resolution:
    """Resolve the hostnames among ``specs`` (several at a time) to their IPv4 addresses, or
    their IPv6 ones for ``ipv6`` (Nmap's ``-6``), as Nmap itself would."""
    names = list(dict.fromkeys(spec.hostname for spec in specs if spec.hostname))
    if not names:
        return Resolution()
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    with ThreadPoolExecutor(max_workers=min(RESOLVER_THREADS, len(names))) as pool:
        found = list(pool.map(lambda name: _lookup(name, family), names))
    return Resolution(
        tuple((name, addresses) for name, addresses in zip(names, found, strict=True) if addresses),
        tuple(name for name, addresses in zip(names, found, strict=True) if not addresses),
    )


def _addresses(specs: Sequence[Spec], resolved: Mapping[str, tuple[str, ...]]) -> list[Spec]:
    """``specs`` with each hostname replaced by its addresses (none if it did not resolve)."""
    result = []
    for spec in specs:
        if not spec.hostname:
            result.append(spec)
        else:
            result += [parse_spec(a, spec.text) for a in resolved.get(spec.hostname, ())]
    return result


def _outside(scoped: str, holes: list[Interval]) -> bool:
    number = int(ipaddress.IPv6Address(scoped))
    return not any(h.version == 6 and h.first <= number <= h.last for h in holes)


def build_scope(
    targets: Iterable[Spec],
    exclusions: Iterable[Spec] = (),
    max_size: int = DEFAULT_MAX_SCOPE,
    allow_large: bool = False,
    resolution: Resolution | None = None,
) -> Scope:
    """Merge targets, remove exclusions (the addresses of excluded hostnames included), and
    enforce the scope limit. Hostnames stand for the addresses ``resolution`` gives them (see
    :func:`resolve`); one it does not resolve is not scanned."""
    specs = list(targets)
    if not specs:
        raise TargetError("no targets: give addresses, CIDRs, ranges or hostnames, or -iL FILE")
    resolved = dict(resolution.addresses) if resolution else {}
    excluded = list(exclusions)
    excluded_names = {s.hostname for s in excluded if s.hostname}
    specs = [s for s in specs if not s.hostname or s.hostname not in excluded_names]
    unresolved = list(
        dict.fromkeys(s.hostname for s in specs if s.hostname and s.hostname not in resolved)
    )
    excluded = _addresses(excluded, resolved)
    specs = _addresses(specs, resolved)
    holes = _merge(iv for spec in excluded for iv in spec.intervals)
    intervals = _subtract(_merge(iv for spec in specs for iv in spec.intervals), holes)
    gone = {s.scoped for s in excluded if s.scoped}
    scoped = tuple(
        name
        for name in dict.fromkeys(s.scoped for s in specs if s.scoped)
        if name not in gone and _outside(name, holes)
    )
    scope = Scope(tuple(intervals), scoped)
    if scope.size == 0:
        if unresolved:
            names = ", ".join(unresolved[:5]) + (" ..." if len(unresolved) > 5 else "")
            raise TargetError(f"nothing left to scan: {names} did not resolve to an address")
        raise TargetError("every target is excluded: nothing left to scan")
    if scope.size > max_size and not allow_large:
        raise TargetError(
            f"the scope holds {scope.size:,} addresses, over the limit of {max_size:,}; "
            "check the targets, or pass --allow-large to scan it"
        )
    return scope
