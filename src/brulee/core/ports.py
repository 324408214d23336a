"""The ports a scan looked at, per protocol: what Nmap's ``<scaninfo services=...>`` lists.

A port is closed, or a finding fixed, only where a scan looked; this value says where.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

Ranges = tuple[tuple[int, int], ...]

_LIST = re.compile(r"\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*")
_PROTOCOL = re.compile(r"[a-z0-9]+")


def _merged(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted ranges with overlapping and adjacent ones joined."""
    out: list[list[int]] = []
    for low, high in sorted(ranges):
        if out and low <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], high)
        else:
            out.append([low, high])
    return tuple((low, high) for low, high in out)


def _ranges(text: str) -> Ranges:
    """``1,3-4,6`` as ranges; ValueError when it is not such a list."""
    if not _LIST.fullmatch(text):
        raise ValueError(f"not a port list: {text[:60]!r}")
    pairs = []
    for item in text.split(","):
        low, _, high = item.partition("-")
        pairs.append((int(low), int(high or low)))
    if any(low > high or high > 65535 for low, high in pairs):
        raise ValueError(f"not a port list: {text[:60]!r}")
    return _merged(pairs)


def _list_text(ranges: Ranges) -> str:
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in ranges)


@dataclass(frozen=True, slots=True)
class PortSet:
    """Ports per protocol (``tcp``, ``udp``, ``sctp``, ``ip``), as sorted disjoint ranges. Empty:
    nothing looked at (a host down or given up on, a ping scan, or not known)."""

    protocols: tuple[tuple[str, Ranges], ...] = ()
    text: str = field(default="", compare=False)
    """Canonical text, equal for equal sets: ``tcp:1-3,5;udp:53`` (made once: a fleet's hosts
    share a few sets of a thousand ports)."""

    def __post_init__(self) -> None:
        if self.protocols and not self.text:
            text = ";".join(f"{protocol}:{_list_text(r)}" for protocol, r in self.protocols)
            object.__setattr__(self, "text", text)

    @classmethod
    def of(cls, protocol: str, services: str) -> PortSet:
        """Nmap's ``<scaninfo protocol=... services=...>``; ValueError for a bad list."""
        if not services:
            return cls()
        return cls(((protocol.lower(), _ranges(services)),))

    @classmethod
    def parse(cls, text: str) -> PortSet:
        """The inverse of ``text``: ``tcp:1-3,5;udp:53``; ValueError for anything else."""
        found = cls()
        for part in filter(None, text.split(";")):
            protocol, _, ports = part.partition(":")
            if not _PROTOCOL.fullmatch(protocol):
                raise ValueError(f"not a protocol: {protocol[:20]!r}")
            found = found | cls.of(protocol, ports)
        return found

    @classmethod
    def joined(cls, sets: Iterable[PortSet]) -> PortSet:
        """Every port of every set."""
        found = cls()
        for ports in sets:
            found = found | ports
        return found

    def __bool__(self) -> bool:
        return bool(self.protocols)

    def __or__(self, other: PortSet) -> PortSet:
        if not other or other == self:
            return self
        if not self:
            return other
        joined = dict(self.protocols)
        for protocol, ranges in other.protocols:
            joined[protocol] = _merged((*joined.get(protocol, ()), *ranges))
        return PortSet(tuple(sorted(joined.items())))

    def covers(self, protocol: str, port: int) -> bool:
        """Whether ``port`` of ``protocol`` is in the set."""
        ranges = dict(self.protocols).get(protocol, ())
        return any(low <= port <= high for low, high in ranges)

    def overlaps(self, other: PortSet) -> bool:
        """Whether a port is in both sets."""
        mine = dict(self.protocols)
        for protocol, ranges in other.protocols:
            for low, high in ranges:
                if any(low <= top and bottom <= high for bottom, top in mine.get(protocol, ())):
                    return True
        return False

    def describe(self, listed: int = 8) -> str:
        """For people: ``tcp 1,000 ports, udp 53,161``; ``no ports`` when empty."""
        words = []
        for protocol, ranges in self.protocols:
            count = sum(high - low + 1 for low, high in ranges)
            if len(ranges) <= listed:
                words.append(f"{protocol} {_list_text(ranges)}")
            else:
                words.append(f"{protocol} {count:,} ports")
        return ", ".join(words) or "no ports"


NO_PORTS = PortSet()
"""Nothing looked at."""
