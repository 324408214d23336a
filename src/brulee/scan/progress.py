"""Nmap's own progress (``--stats-every``), read per process and summed over the workers.

Every interval Nmap prints two lines on its standard output::

    Stats: 0:00:07 elapsed; 0 hosts completed (40 up), 40 undergoing Service Scan
    Service scan Timing: About 25.81% done; ETC: 15:35 (0:00:17 remaining)

Under ``-sV`` the hosts of a group finish together, so "hosts completed" alone sits at zero
for most of a scan; the phase and its percentage are what move. A process's share of its
slice is estimated as the hosts it completed plus, for the hosts still in progress, how far
their current phase has gone among the phases a host goes through (discovery, port scan,
service scan, scripts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

_STATS = re.compile(
    rb"^Stats: [\d:]+ elapsed; (\d+) hosts? completed \((\d+) up\), (\d+) undergoing"
)
_TIMING = re.compile(
    rb"^(.+?) Timing: About ([\d.]+)% done(?:; ETC: [\d:]+ \((\d+):(\d\d):(\d\d) remaining\))?"
)

# Where each kind of phase starts and how much of a host's work it is (Nmap runs them in this
# order on each group of hosts); a port scan is any other "... Scan".
_DISCOVERY = (0.0, 0.1)
_PORT_SCAN = (0.1, 0.3)
_SERVICE = (0.4, 0.5)
_AFTER = (0.9, 0.1)
_PHASES = {
    "ping scan": _DISCOVERY,
    "arp ping scan": _DISCOVERY,
    "parallel dns resolution of": _DISCOVERY,
    "service scan": _SERVICE,
    "nse": _AFTER,
    "script scan": _AFTER,
    "os scan": _AFTER,
    "traceroute": _AFTER,
}


@dataclass(frozen=True, slots=True)
class Status:
    """What one Nmap process last said about itself."""

    hosts_done: int = 0
    undergoing: int = 0
    phase: str = ""
    """Nmap's name of the current phase ("Service scan", "SYN Stealth Scan", "NSE")."""
    percent: float = 0.0
    """How far the current phase is, on the hosts undergoing it."""
    remaining: int | None = None
    """Nmap's estimate of the seconds the phase still needs, when it has one."""
    finished: bool = False

    @property
    def host_fraction(self) -> float:
        """How far a host undergoing the current phase is through all of its work (0 to 1)."""
        start, weight = _PHASES.get(self.phase.lower(), _PORT_SCAN)
        return start + weight * min(max(self.percent, 0.0), 100.0) / 100.0


class StatsReader:
    """Turns one Nmap process's output lines into Status values."""

    def __init__(self) -> None:
        self.status = Status()

    def feed(self, line: bytes) -> Status | None:
        """The new status if ``line`` is one of Nmap's progress lines, else None."""
        if match := _STATS.match(line):
            done, _, undergoing = (int(group) for group in match.groups())
            self.status = replace(self.status, hosts_done=done, undergoing=undergoing)
            return self.status
        if match := _TIMING.match(line):
            phase = match[1].decode("ascii", "replace").strip()
            remaining = None
            if match[3] is not None:
                remaining = int(match[3]) * 3600 + int(match[4]) * 60 + int(match[5])
            self.status = replace(
                self.status, phase=phase, percent=float(match[2]), remaining=remaining
            )
            return self.status
        return None


@dataclass(frozen=True, slots=True)
class Overall:
    """The whole scan: every worker's progress summed."""

    fraction: float
    """Estimated share of the scan done, 0 to 1; it never goes back."""
    hosts_done: int
    hosts_total: int
    phase: str
    """The phase of the worker expected to finish last, with its percentage ("" if none)."""
    remaining: int | None
    """Seconds that worker's phase still needs, by Nmap's estimate."""


class Tracker:
    """Sums the statuses of the Nmap processes of one scan. ``totals``: job index -> the
    number of targets (addresses and hostnames) in its slice."""

    def __init__(self, totals: Mapping[int, int]) -> None:
        self._totals = dict(totals)
        self._statuses = {index: Status() for index in totals}
        self._done = dict.fromkeys(totals, 0.0)

    def update(self, index: int, status: Status) -> Overall:
        """Record a job's new status and return the overall progress."""
        total = self._totals[index]
        self._statuses[index] = status
        if status.finished:
            done = float(total)
        else:
            done = status.hosts_done + status.undergoing * status.host_fraction
        self._done[index] = max(self._done[index], min(done, float(total)))
        running = [s for s in self._statuses.values() if not s.finished and s.phase]
        slowest = max(running, key=lambda s: s.remaining or 0, default=None)
        return Overall(
            fraction=sum(self._done.values()) / max(1, sum(self._totals.values())),
            hosts_done=sum(
                self._totals[i] if s.finished else s.hosts_done for i, s in self._statuses.items()
            ),
            hosts_total=sum(self._totals.values()),
            phase=f"{slowest.phase} {slowest.percent:.0f}%" if slowest else "",
            remaining=slowest.remaining if slowest else None,
        )
