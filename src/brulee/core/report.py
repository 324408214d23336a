"""The typed report every renderer receives: what was scanned, the services found, and what
happened around it (changes since the previous scan, suppressions)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from brulee.core.findings import HostRecord, Location, ServiceGroup
from brulee.core.history import Changes, Trend
from brulee.core.ports import NO_PORTS, PortSet
from brulee.core.scan import Outcome, ScanRun, Shard
from brulee.core.suppression import Applied
from brulee.core.vulnerability import SEVERITIES, Severity, Status, established

SCHEMA_VERSION = "2.1"
"""Version of the JSON report's layout (``schema/report.schema.json``). 1.1 added each service's
``nvd_names``; 2.0 what each scan looked at and how it ended (``outcome``, ``ports``,
``port_sets``, hosts' ``port_set``) and the grouped ``changes``; 2.1 the summary's possible
findings apart (``by_severity_possible``, ``known_exploited``) and the ``trend`` over the last
scans of the scope. Reports of 1.0 to 2.0 are still read (what they looked at, and their
services' names for 1.0, are not known; they have no trend)."""
READABLE_VERSIONS = ("1.0", "1.1", "2.0", SCHEMA_VERSION)


class ReportData(Protocol):
    """Where a report's per-host data is kept: read back in address order."""

    def locations(self, group: str) -> Iterator[Location]:
        """Locations of one service group, by address then port."""
        ...

    def hosts(self) -> Iterator[HostRecord]:
        """Every host, by address."""
        ...

    def port_sets(self) -> tuple[PortSet, ...]:
        """The distinct ports scanned on the hosts (``HostRecord.scanned``)."""
        ...


@dataclass(frozen=True, slots=True)
class SourceDate:
    """How current one source of the vulnerability database is."""

    source: str
    """``nvd``, ``kev``, ``epss``, ``debian``, ``ubuntu``."""
    date: str
    """ISO 8601, UTC: the newest date the source's data carries."""


@dataclass(frozen=True, slots=True)
class PartSummary:
    """One scan (usually one shard of one site) among those a merged report was built from."""

    source: str
    """The report it was read from (a path or an object URL)."""
    site: str
    shard: Shard | None
    started: str
    finished: str
    incomplete: bool
    """Its Nmap run was cut off: it covers only the hosts completed."""
    hosts_up: int
    hosts_down: int
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    nmap_version: str = ""
    database: str = ""
    database_date: str = ""
    generated: str = ""
    tool_version: str = ""
    database_sources: tuple[SourceDate, ...] = ()
    outcome: Outcome = "complete"
    ports: PortSet = NO_PORTS
    """The ports its Nmap was told to scan."""
    timed_out: int = 0
    history_id: int | None = None
    """Its id in the history store that recorded it, if any."""

    @property
    def label(self) -> str:
        """``site dc1, shard 3/16``; the source when it has neither site nor shard."""
        words = [f"site {self.site}"] if self.site else []
        words += [f"shard {self.shard}"] if self.shard else []
        return ", ".join(words) or self.source


@dataclass(frozen=True, slots=True)
class MissingShard:
    """A shard of a site that no merged report covers."""

    site: str
    index: int
    count: int


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """What was scanned, how, and when; plus the tool that wrote the report."""

    run: ScanRun
    targets: tuple[str, ...]
    generated: str
    tool_version: str
    inputs: tuple[str, ...] = ()
    """Nmap XML files the report was built from."""
    warnings: tuple[str, ...] = ()
    database: str = ""
    """What the vulnerability data is (counts, dates, coverage); '' when none was used."""
    database_date: str = ""
    """How current the NVD data is (ISO 8601)."""
    database_sources: tuple[SourceDate, ...] = ()
    """How current each source of the database is (NVD, KEV, EPSS, Debian)."""
    shard: Shard | None = None
    """The slice of the targets this scan covered (``--shard I/N``), if any."""
    site: str = ""
    """A label for where the scan ran (``--site``), for fleet merges."""
    parts: tuple[PartSummary, ...] = ()
    """The scans a merged report (``brulee merge``) was built from; () for a single scan."""
    missing_shards: tuple[MissingShard, ...] = ()
    """Shards of a merged report's sites that none of its parts covers."""
    unresolved: tuple[str, ...] = ()
    """Target hostnames that resolved to no address before the scan: not scanned."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a renderer needs. Per-host data is streamed from the spool, in address order."""

    scan: ScanSummary
    services: tuple[ServiceGroup, ...]
    spool: ReportData
    """Per-host data, streamed in address order (a :class:`brulee.findings.spool.Spool`)."""
    changes: Changes | None = None
    """What changed since the previous scan of the same scope (None: no previous scan)."""
    suppressed: Applied | None = None
    """What the suppression file took out of the main sections, and its expired entries."""
    history_id: int | None = None
    """This scan's id in the history store, when it was recorded."""
    trend: Trend | None = None
    """Open, new and fixed findings over the last scans of the scope (None: no earlier one)."""

    def locations(self, group: ServiceGroup) -> Iterator[Location]:
        return self.spool.locations(group.key)

    def hosts(self) -> Iterator[HostRecord]:
        return self.spool.hosts()

    def severity_counts(self, *, possible: bool = False) -> dict[Severity, int]:
        """Distinct established vulnerabilities per severity, over all services; with
        ``possible``, the distinct ones that are possible wherever they were found (a CVE
        established on one service and possible on another counts once, as established)."""
        known = {v.id for group in self.services for v in group.established}
        best: dict[str, Severity] = {}
        for group in self.services:
            for vuln in group.possible if possible else group.established:
                if not possible or vuln.id not in known:
                    best.setdefault(vuln.id, vuln.severity)
        return {name: sum(1 for s in best.values() if s == name) for name in SEVERITIES}

    def kev_counts(self) -> tuple[int, int]:
        """Distinct KEV CVEs established on a service, and those possible wherever found."""
        kev = {v.id: established(v) for g in self.services for v in g.vulnerabilities if v.kev}
        for group in self.services:
            for vuln in group.established:
                if vuln.kev:
                    kev[vuln.id] = True
        return sum(kev.values()), len(kev) - sum(kev.values())

    def status_counts(self) -> dict[Status, int]:
        counts: dict[Status, int] = {}
        for group in self.services:
            counts[group.status] = counts.get(group.status, 0) + 1
        return counts
