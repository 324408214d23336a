"""Disk-backed store for per-host data, so a fleet scan never has to sit in memory.

Locations (service -> address:port) and host summaries are appended while the Nmap XML
streams past, then read back in address order by the renderers. SQLite in a temporary file.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from brulee.core.findings import HostRecord, Location, OpenPort
from brulee.core.scan import Host, address_order
from brulee.util.resource import Resource


def _host_data(host: Host | HostRecord, open_ports: Iterable[OpenPort]) -> str:
    """A host's record as stored (``hosts`` reads it back)."""
    return json.dumps([
        list(host.hostnames), host.status, host.reason, host.timed_out,
        [[p.protocol, p.port, p.state, p.service] for p in open_ports],
        host.closed_ports, host.filtered_ports,
    ])  # fmt: skip


_SCHEMA = """
CREATE TABLE location (grp TEXT, sort BLOB, address TEXT, hostname TEXT, proto TEXT, port INT);
CREATE TABLE host (sort BLOB, address TEXT, data TEXT, origin TEXT DEFAULT '');
"""


class Spool(Resource):
    """Append-then-read store of locations and hosts. Use as a context manager."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="brulee-spool-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "spool.sqlite")
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self._indexed = False

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def add_host(self, host: Host, open_ports: list[OpenPort]) -> None:
        self._db.execute(
            "INSERT INTO host (sort, address, data) VALUES (?, ?, ?)",
            (address_order(host.address), host.address, _host_data(host, open_ports)),
        )

    def add_hosts(self, records: Iterable[HostRecord], origin: str = "") -> None:
        """Append host records read back from a report; ``origin`` names that report, so that
        an address recorded from two of them can be told (``shared_addresses``)."""
        self._db.executemany(
            "INSERT INTO host VALUES (?, ?, ?, ?)",
            (
                (address_order(h.address), h.address, _host_data(h, h.open_ports), origin)
                for h in records
            ),
        )

    def add_locations(self, rows: list[tuple[str, Location]]) -> None:
        self._db.executemany(
            "INSERT INTO location VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    group,
                    address_order(loc.address),
                    loc.address,
                    loc.hostname,
                    loc.protocol,
                    loc.port,
                )
                for group, loc in rows
            ],
        )

    def _index(self) -> None:
        if not self._indexed:
            self._db.execute("CREATE INDEX location_by_group ON location (grp, sort, port, proto)")
            self._db.execute("CREATE INDEX host_by_sort ON host (sort)")
            self._indexed = True

    def location_counts(self) -> dict[str, int]:
        """Distinct locations per group (the same port read from two files counts once)."""
        self._index()
        cursor = self._db.execute(
            "SELECT grp, COUNT(*) FROM (SELECT DISTINCT grp, sort, port, proto FROM location) "
            "GROUP BY grp"
        )
        return dict(cursor.fetchall())

    def host_counts(self) -> dict[str, int]:
        """Distinct hosts per status, by the last record read for each address."""
        self._index()
        cursor = self._db.execute(
            "SELECT json_extract(data, '$[1]'), COUNT(*) FROM host WHERE rowid IN "
            "(SELECT max(rowid) FROM host GROUP BY address) GROUP BY 1"
        )
        return dict(cursor.fetchall())

    def shared_addresses(self, limit: int) -> tuple[int, tuple[str, ...]]:
        """How many addresses were recorded from more than one origin, and the first ``limit``
        (at least 1) of them in address order."""
        self._index()
        rows = self._db.execute(
            "SELECT address, COUNT(*) OVER () FROM host GROUP BY address "
            "HAVING COUNT(DISTINCT origin) > 1 ORDER BY min(sort) LIMIT ?",
            (limit,),
        ).fetchall()
        return (rows[0][1] if rows else 0), tuple(address for address, _ in rows)

    def locations(self, group: str) -> Iterator[Location]:
        """Locations of one service group, by address then port; a location read more than once
        is listed once, with the hostname last read for it."""
        self._index()
        cursor = self._db.execute(
            "SELECT address, hostname, port, proto, max(rowid) FROM location WHERE grp = ? "
            "GROUP BY sort, port, proto ORDER BY sort, port, proto",
            (group,),
        )
        for address, hostname, port, proto, _ in cursor:
            yield Location(address, hostname, port, proto)

    def hosts(self) -> Iterator[HostRecord]:
        """Every host, by address; one record per address (the last one read wins)."""
        self._index()
        cursor = self._db.execute(
            "SELECT address, data FROM host WHERE rowid IN "
            "(SELECT max(rowid) FROM host GROUP BY address) ORDER BY sort"
        )
        for address, data in cursor:
            names, status, reason, timed_out, ports, closed, filtered = json.loads(data)
            yield HostRecord(
                address=address,
                hostnames=tuple(names),
                status=status,
                reason=reason,
                timed_out=timed_out,
                open_ports=tuple(OpenPort(*p) for p in ports),
                closed_ports=closed,
                filtered_ports=filtered,
            )
