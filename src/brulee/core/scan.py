"""The scan model: frozen values parsed from Nmap XML, each with a stable identity ``key``; the
slice of a scope a sharded scan covers; the order of addresses."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from brulee.core.ports import NO_PORTS, PortSet
from brulee.errors import TargetError

Outcome = Literal["complete", "partial", "interrupted", "failed"]
"""How a scan ended: ``complete``; ``partial`` (hosts timed out: what they run is partly
unknown); ``interrupted`` (cut off: hosts not reached are missing); ``failed`` (Nmap reported
an error or exited with one)."""


@dataclass(frozen=True, slots=True)
class ScriptElem:
    """One ``<elem>`` of NSE structured output."""

    key: str | None
    value: str


@dataclass(frozen=True, slots=True)
class ScriptTable:
    """One ``<table>`` of NSE structured output; items keep document order."""

    key: str | None
    items: tuple[ScriptElem | ScriptTable, ...]

    def get(self, key: str) -> str | None:
        """Value of the first direct ``<elem>`` named ``key``."""
        for item in self.items:
            if isinstance(item, ScriptElem) and item.key == key:
                return item.value
        return None

    @property
    def tables(self) -> tuple[ScriptTable, ...]:
        return tuple(item for item in self.items if isinstance(item, ScriptTable))


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """Output of one NSE script: the text and its structured tables."""

    id: str
    output: str
    items: tuple[ScriptElem | ScriptTable, ...] = ()

    @property
    def tables(self) -> tuple[ScriptTable, ...]:
        return tuple(item for item in self.items if isinstance(item, ScriptTable))


@dataclass(frozen=True, slots=True)
class Service:
    """What Nmap's service detection said about a port."""

    name: str = ""
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    ostype: str = ""
    hostname: str = ""
    devicetype: str = ""
    tunnel: str = ""
    method: str = ""
    conf: int = 0
    cpes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """Identity: what the software is, not where it runs nor how long it has run (the
        volatile items of ``extrainfo`` are left out, see :func:`stable_extrainfo`)."""
        stable = stable_extrainfo(self.extrainfo)
        return (self.name, self.product, self.version, stable, self.tunnel, *self.cpes)

    @property
    def stable(self) -> Service:
        """The service without the volatile items of its extrainfo: what a group shows."""
        return replace(self, extrainfo=stable_extrainfo(self.extrainfo))

    @property
    def label(self) -> str:
        """Human name: product and version, or the service name when unidentified."""
        text = " ".join(part for part in (self.product, self.version) if part)
        return text or self.name or "unknown"


_VOLATILE = re.compile(
    r"""(?ix)
    uptime\s*:?\s*\S.*                              # uptime 11 seconds, Uptime: 3 days
    | (?:server\s+|local\s+|system\s+)?time\s*:?\s*\d.*  # server time: 2026-12-03 06:25:31Z
    | (?:date|started|server\s+started|since)\s*:?\s*\S.*  # date: Thu, 03 Dec 2026 ...
    | (?:pid|uid|process\s+id)\s*:?\s*\d+
    | (?:session|connection)\s+id\s*:?\s*\S+
    | (?:users|clients|connections|sessions)\s*:?\s*\d+
    | \d+\s+(?:users?|clients?|connections?|sessions?)(?:\s+\w+)?
    | .*(?<![:\w])\d{1,2}:\d{2}:\d{2}(?![:\w]).*      # any item holding a clock time
    """
)
"""An item of Nmap's extrainfo that changes from run to run or host to host of one build:
uptimes, clocks and dates of the moment, PIDs, session and connection ids, counters. Build and
release dates (``build date: 2020-01-01``) describe the software and are kept."""
_EXTRAINFO_LIMIT = 1024


def stable_extrainfo(extrainfo: str) -> str:
    """``extrainfo`` without its volatile items (:data:`_VOLATILE`): items are separated by
    ``;`` and, within one, by ``,``; what is left keeps its order and separators. Memcached's
    ``uptime 11 seconds`` gives "", Redis' ``uptime 688 seconds; Ubuntu`` gives ``Ubuntu``."""
    if len(extrainfo) > _EXTRAINFO_LIMIT:  # Nmap bounds it well below; never scan a huge one
        return extrainfo
    kept, dropped = [], False
    for item in extrainfo.split(";"):
        parts = [p for p in item.split(",") if not _VOLATILE.fullmatch(p.strip())]
        dropped = dropped or len(parts) < item.count(",") + 1
        if parts:
            kept.append(",".join(parts).strip())
    return "; ".join(part for part in kept if part) if dropped else extrainfo


@dataclass(frozen=True, slots=True)
class Port:
    """One scanned port and its state."""

    protocol: str
    portid: int
    state: str
    reason: str = ""
    service: Service | None = None
    scripts: tuple[ScriptResult, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.protocol}/{self.portid}"

    @property
    def is_open(self) -> bool:
        """Open, or possibly open (``open|filtered`` on UDP)."""
        return self.state.startswith("open")

    def script(self, script_id: str) -> ScriptResult | None:
        return next((s for s in self.scripts if s.id == script_id), None)


@dataclass(frozen=True, slots=True)
class Host:
    """One target host and what was found on it."""

    address: str
    addrtype: str = "ipv4"
    status: str = "up"
    reason: str = ""
    hostnames: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    closed_ports: int = 0
    filtered_ports: int = 0
    timed_out: bool = False
    mac: str = ""
    os_matches: tuple[str, ...] = ()
    scripts: tuple[ScriptResult, ...] = ()

    @property
    def key(self) -> str:
        return self.address

    @property
    def hostname(self) -> str:
        return self.hostnames[0] if self.hostnames else ""

    @property
    def open_ports(self) -> tuple[Port, ...]:
        return tuple(p for p in self.ports if p.is_open)


@dataclass(frozen=True, slots=True)
class ScanRun:
    """Facts about one Nmap run (or several merged), known once its hosts were read."""

    args: str = ""
    scanner_version: str = ""
    started: str = ""
    finished: str = ""
    hosts_up: int = 0
    hosts_down: int = 0
    incomplete: bool = False
    """The run did not finish (interrupted, or the file is cut off)."""
    errors: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=())
    ports: PortSet = NO_PORTS
    """The ports Nmap was told to scan (its ``<scaninfo>``), every protocol."""
    failed: bool = False
    """Nmap reported an error, or exited with one."""
    timed_out: int = 0
    """Hosts Nmap gave up on (``--host-timeout``)."""

    @property
    def outcome(self) -> Outcome:
        if self.failed:
            return "failed"
        if self.incomplete:
            return "interrupted"
        return "partial" if self.timed_out else "complete"

    @property
    def complete(self) -> bool:
        """Every host was looked at as asked: not failed, interrupted, or given up on."""
        return self.outcome == "complete"


@dataclass(frozen=True, slots=True)
class Shard:
    """The I-th of N slices of a scope (``--shard I/N``)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, environ: Mapping[str, str] = os.environ) -> Shard:
        """``I/N``, or ``auto/N`` taking I from a Kubernetes Indexed Job's 0-based
        ``JOB_COMPLETION_INDEX``."""
        match = re.fullmatch(r"(\d+|auto)/(\d+)", text)
        index = match[1] if match else ""
        if index == "auto":
            job_index = environ.get("JOB_COMPLETION_INDEX", "")
            if not job_index.isdigit():
                raise TargetError(
                    f"--shard {text}: JOB_COMPLETION_INDEX is not set to a number "
                    "(auto works in a Kubernetes Indexed Job)"
                )
            index = str(int(job_index) + 1)
        if not match or not 1 <= int(index) <= int(match[2]):
            raise TargetError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 3/16")
        return cls(int(index), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def address_order(address: str) -> bytes:
    """Sort key: IPv4 before IPv6, numeric within each; anything else last."""
    for family, tag in ((socket.AF_INET, b"\x04"), (socket.AF_INET6, b"\x06")):
        try:
            return tag + socket.inet_pton(family, address)
        except OSError:
            continue
    return b"\xff" + address.encode()
