"""Targets: parse and validate specs, apply exclusions, bound the scope, split for workers.

Targets are attacker-influenced (target files come from inventories and tickets). Anything
that could be read by Nmap as an option, or by a shell as syntax, is refused with the line
that held it. Addresses are kept as merged integer intervals, never expanded one by one, so a
/8 costs no memory; hostnames are passed to Nmap as they are.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from brulee.errors import TargetError

DEFAULT_MAX_SCOPE = 1 << 16  # a /16
MAX_BLOCKS_PER_SLICE = 4096
"""Most address blocks (target-file lines, before CIDR merging) one worker's slice holds."""

_HOSTNAME = re.compile(
    r"(?=.{1,253}\.?$)(?=.*[A-Za-z])"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)
_OCTET = re.compile(r"(\d{1,3})(?:-(\d{1,3}))?")
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
    """One parsed target: address intervals, or a hostname."""

    text: str
    intervals: tuple[Interval, ...] = ()
    hostname: str = ""


def _octet_ranges(text: str) -> list[range] | None:
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
        ranges.append(range(low, high + 1))
    return ranges


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
    try:
        net = ipaddress.ip_network(bare, strict=False)
    except ValueError:
        pass
    else:
        first, last = int(net.network_address), int(net.broadcast_address)
        return Spec(text, (Interval(net.version, first, last),))
    if "%" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            pass
        else:
            return Spec(text, hostname=bare)  # scoped link-local: Nmap takes it as given
    ranges = _octet_ranges(bare)
    if ranges is not None:
        intervals = tuple(
            Interval(4, (a << 24) | (b << 16) | (c << 8) | ranges[3][0],
                     (a << 24) | (b << 16) | (c << 8) | ranges[3][-1])
            for a, b, c in product(*ranges[:3])
        )  # fmt: skip
        return Spec(text, intervals)
    if re.fullmatch(r"[\d.]+|[\d.\-/]+", bare) or ":" in bare or "/" in bare:
        raise TargetError(f"{origin}invalid address, CIDR or range {text!r}")
    if not _HOSTNAME.fullmatch(bare):
        raise TargetError(f"{origin}invalid hostname {text!r}")
    return Spec(text, hostname=bare.lower().rstrip("."))


def read_target_file(path: Path) -> list[Spec]:
    """One target per line; ``#`` starts a comment; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
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
    """What will be scanned: merged address intervals and hostnames, exclusions applied."""

    intervals: tuple[Interval, ...]
    hostnames: tuple[str, ...]
    excluded_hostnames: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(iv.size for iv in self.intervals) + len(self.hostnames)

    def lines(self) -> Iterator[str]:
        """Nmap target-file lines for the whole scope."""
        for iv in self.intervals:
            yield from iv.networks()
        yield from self.hostnames

    def family(self, version: int) -> Scope:
        """The part of the scope of one IP version (hostnames travel with IPv4 by default)."""
        return Scope(
            tuple(iv for iv in self.intervals if iv.version == version),
            self.hostnames if version == 4 else (),
            self.excluded_hostnames,
        )

    def split(self, parts: int) -> list[Scope]:
        """Up to ``parts`` non-empty, balanced, deterministic slices for parallel workers.

        Addresses are dealt round-robin in blocks (single addresses for scopes up to
        ``parts * MAX_BLOCKS_PER_SLICE``; larger scopes in the smallest power-of-two blocks that
        keep each slice's target list that short), then hostnames one by one. Live hosts that
        cluster in one part of a network are thus shared among the workers, unlike contiguous
        slices (see ``shard``).
        """
        parts = max(1, min(parts, self.size))
        if not self.size:
            return []
        addresses = self.size - len(self.hostnames)
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
        start = -(-addresses // block)  # hostnames continue the rotation
        names = [self.hostnames[(i - start) % parts :: parts] for i in range(parts)]
        slices = [
            Scope(tuple(_merge(dealt[i])), names[i], self.excluded_hostnames) for i in range(parts)
        ]
        return [s for s in slices if s.size]

    def shard(self, index: int, count: int) -> Scope:
        """Slice ``index`` (1-based) of ``count`` balanced, deterministic slices; may be empty
        when the scope holds fewer units than slices."""
        units = self.size
        return self._slice(units * (index - 1) // count, units * index // count)

    def _slice(self, low: int, high: int) -> Scope:
        """Units ``[low, high)``, counting addresses in order, then hostnames."""
        intervals = []
        offset = 0
        for iv in self.intervals:
            first, last = max(low, offset), min(high, offset + iv.size)
            if first < last:
                base = iv.first - offset
                intervals.append(Interval(iv.version, base + first, base + last - 1))
            offset += iv.size
        names = self.hostnames[max(0, low - offset) : max(0, high - offset)]
        return Scope(tuple(intervals), names, self.excluded_hostnames)


def build_scope(
    targets: Iterable[Spec],
    exclusions: Iterable[Spec] = (),
    max_size: int = DEFAULT_MAX_SCOPE,
    allow_large: bool = False,
) -> Scope:
    """Merge targets, remove exclusions, and enforce the scope limit."""
    specs = list(targets)
    if not specs:
        raise TargetError("no targets: give addresses, CIDRs, ranges or hostnames, or -iL FILE")
    excluded = list(exclusions)
    holes = _merge(iv for spec in excluded for iv in spec.intervals)
    intervals = _subtract(_merge(iv for spec in specs for iv in spec.intervals), holes)
    excluded_names = tuple(dict.fromkeys(s.hostname for s in excluded if s.hostname))
    hostnames = tuple(
        name
        for name in dict.fromkeys(s.hostname for s in specs if s.hostname)
        if name not in excluded_names
    )
    scope = Scope(tuple(intervals), hostnames, excluded_names)
    if scope.size == 0:
        raise TargetError("every target is excluded: nothing left to scan")
    if scope.size > max_size and not allow_large:
        raise TargetError(
            f"the scope holds {scope.size:,} addresses, over the limit of {max_size:,}; "
            "check the targets, or pass --allow-large to scan it"
        )
    return scope
