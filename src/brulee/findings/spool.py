"""Disk-backed store for per-host data, so a fleet scan never has to sit in memory.

Locations (service -> address:port) and host summaries are appended while the Nmap XML
streams past, then read back in address order by the renderers. SQLite in a temporary file.

Each row comes from an **origin** (one Nmap XML file, or one report of a merge), dated by when
its scan started. Records of one address from several origins (a TCP and a UDP scan of the
same hosts, two port ranges) are united: every port any of them found, except where a newer
origin looked at that port on that host (it is in the host's ``scanned`` ports) and found
something else, or nothing: a true duplicate is resolved by the newer scan.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from brulee.core.findings import HostRecord, Location, OpenPort
from brulee.core.ports import PortSet
from brulee.core.scan import address_order
from brulee.util.resource import Resource


def _host_data(host: HostRecord) -> str:
    """A host's record as stored (``hosts`` reads it back); its scanned ports are kept apart."""
    return json.dumps([
        list(host.hostnames), host.status, host.reason, host.timed_out,
        [[p.protocol, p.port, p.state, p.service] for p in host.open_ports],
        host.closed_ports, host.filtered_ports,
    ])  # fmt: skip


_SCHEMA = """
CREATE TABLE origin (id INTEGER PRIMARY KEY, name TEXT, started TEXT, rank INT);
CREATE TABLE port_set (id INTEGER PRIMARY KEY, text TEXT UNIQUE);
CREATE TABLE port_range (set_id INT, proto TEXT, low INT, high INT);
CREATE TABLE origin_set (origin INT, ix INT, set_id INT, PRIMARY KEY (origin, ix));
CREATE TABLE location (grp TEXT, sort BLOB, address TEXT, hostname TEXT, proto TEXT, port INT,
                       origin INT, extrainfo TEXT);
CREATE TABLE host (sort BLOB, address TEXT, data TEXT, origin INT, ix INT);
"""

# A location another origin, newer, looked at on that host (and found something else there).
_LOOKED_AGAIN = (
    "FROM host h JOIN origin_set x ON x.origin = h.origin AND x.ix = h.ix "
    "JOIN port_range r ON r.set_id = x.set_id AND r.proto = l.proto AND r.low <= l.port "
    "AND r.high >= l.port JOIN origin n ON n.id = h.origin WHERE h.address = l.address "
    "AND h.origin <> l.origin AND n.rank > (SELECT rank FROM origin WHERE id = l.origin)"
)
_SUPERSEDED = f"EXISTS (SELECT 1 {_LOOKED_AGAIN})"
_NEWEST = f"SELECT n.name {_LOOKED_AGAIN} ORDER BY n.rank DESC LIMIT 1"
"""The newest origin that looked at a location ``l`` again."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A port two origins scanned on one host: the newer one's result was kept."""

    address: str
    protocol: str
    port: int
    newer: str
    """The origin whose result was kept."""
    older: str


class Spool(Resource):
    """Append-then-read store of locations and hosts. Use as a context manager."""

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="brulee-spool-", dir=directory)
        self._db = sqlite3.connect(Path(self._dir.name) / "spool.sqlite")
        self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self._db.execute("INSERT INTO origin VALUES (0, '', '', 0)")
        self._indexed = self._ranked = False
        self._origins = 1
        self._used: set[int] = set()
        """The origins rows came from: with one, nothing is united."""
        self._sets: dict[int, PortSet] = {}

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    # -- writing

    def origin(self, name: str, started: str = "") -> int:
        """Register a source of rows (a file, a report) and when its scan started; its id.
        Rows added without one come from origin 0, older than any other."""
        self._db.execute("INSERT INTO origin VALUES (?, ?, ?, 0)", (self._origins, name, started))
        self._origins += 1
        self._ranked = False
        return self._origins - 1

    def date(self, origin: int, started: str) -> None:
        """When the scan of ``origin`` started, once it is known (a report's scan section may
        come after its hosts)."""
        self._db.execute("UPDATE origin SET started = ? WHERE id = ?", (started, origin))
        self._ranked = False

    def origin_ports(self, origin: int, sets: Sequence[PortSet]) -> None:
        """The port sets the hosts of ``origin`` refer to by position."""
        self._db.executemany(
            "INSERT OR REPLACE INTO origin_set VALUES (?, ?, ?)",
            [(origin, ix, self._set_id(ports)) for ix, ports in enumerate(sets)],
        )

    def _set_id(self, ports: PortSet) -> int:
        found = self._db.execute("SELECT id FROM port_set WHERE text = ?", (ports.text,)).fetchone()
        if found:
            return int(found[0])
        set_id = int(self._db.execute("INSERT INTO port_set (text) VALUES (?)", (ports.text,))
                     .lastrowid or 0)  # fmt: skip
        self._db.executemany(
            "INSERT INTO port_range VALUES (?, ?, ?, ?)",
            [(set_id, proto, low, high) for proto, ranges in ports.protocols
             for low, high in ranges],
        )  # fmt: skip
        self._sets[set_id] = ports
        return set_id

    def add_hosts(
        self,
        records: Iterable[HostRecord],
        origin: int = 0,
        port_sets: Iterable[int | None] | None = None,
    ) -> None:
        """Append host records; ``port_sets``: for each, the position of its scanned ports among
        its origin's (``origin_ports``), None for none; by default none."""
        indexes = port_sets if port_sets is not None else itertools.repeat(None)
        self._used.add(origin)
        self._db.executemany(
            "INSERT INTO host VALUES (?, ?, ?, ?, ?)",
            (
                (address_order(h.address), h.address, _host_data(h), origin, ix)
                for h, ix in zip(records, indexes, strict=False)
            ),
        )

    def add_locations(self, rows: list[tuple[str, Location]], origin: int = 0) -> None:
        self._used.add(origin)
        self._db.executemany(
            "INSERT INTO location VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    group,
                    address_order(loc.address),
                    loc.address,
                    loc.hostname,
                    loc.protocol,
                    loc.port,
                    origin,
                    loc.extrainfo,
                )
                for group, loc in rows
            ],
        )

    # -- reading

    def _index(self) -> None:
        if not self._indexed:
            self._db.execute("CREATE INDEX location_by_group ON location (grp, sort, port, proto)")
            self._db.execute("CREATE INDEX host_by_sort ON host (sort)")
            self._db.execute("CREATE INDEX host_by_address ON host (address)")
            self._db.execute("CREATE INDEX range_by_set ON port_range (set_id, proto, low)")
            self._indexed = True
        if not self._ranked:
            ordered = self._db.execute("SELECT id FROM origin ORDER BY started, id").fetchall()
            self._db.executemany(
                "UPDATE origin SET rank = ? WHERE id = ?",
                [(rank, origin) for rank, (origin,) in enumerate(ordered)],
            )
            self._ranked = True

    def _kept(self) -> str:
        """The condition on a location ``l`` that no newer origin superseded it."""
        return "1" if len(self._used) < 2 else f"NOT {_SUPERSEDED}"

    def location_counts(self) -> dict[str, int]:
        """Distinct locations per group (the same port read from two files counts once)."""
        self._index()
        cursor = self._db.execute(
            "SELECT grp, COUNT(*) FROM (SELECT DISTINCT grp, sort, port, proto FROM location l "  # noqa: S608 - constant text
            f"WHERE {self._kept()}) GROUP BY grp"
        )
        return dict(cursor.fetchall())

    def locations(self, group: str) -> Iterator[Location]:
        """Locations of one service group, by address then port; a location read more than once
        is listed once, with the hostname last read for it; one a newer origin looked at again
        is left to that origin."""
        self._index()
        cursor = self._db.execute(
            "SELECT address, hostname, port, proto, extrainfo, max(rowid) FROM location l "  # noqa: S608 - constant text
            "WHERE grp = ? "
            f"AND {self._kept()} GROUP BY sort, port, proto ORDER BY sort, port, proto",
            (group,),
        )
        for address, hostname, port, proto, extrainfo, _ in cursor:
            yield Location(address, hostname, port, proto, extrainfo)

    def hosts(self) -> Iterator[HostRecord]:
        """Every host, by address; the records of one address from several origins united."""
        self._index()
        cursor = self._db.execute(
            "SELECT h.address, h.data, x.set_id FROM host h JOIN origin o ON o.id = h.origin "
            "LEFT JOIN origin_set x ON x.origin = h.origin AND x.ix = h.ix "
            "ORDER BY h.sort, o.rank, h.rowid"
        )
        for _, rows in itertools.groupby(cursor, key=lambda row: row[0]):
            records = [self._record(*row) for row in rows]
            yield records[0] if len(records) == 1 else unite(records)

    def _record(self, address: str, data: str, set_id: int | None) -> HostRecord:
        names, status, reason, timed_out, ports, closed, filtered = json.loads(data)
        return HostRecord(
            address=address,
            hostnames=tuple(names),
            status=status,
            reason=reason,
            timed_out=timed_out,
            open_ports=tuple(OpenPort(*p) for p in ports),
            closed_ports=closed,
            filtered_ports=filtered,
            scanned=PortSet() if set_id is None else self._port_set(set_id),
        )

    def host_counts(self) -> dict[str, int]:
        """Distinct hosts per status (up when any record of the address is, else as the newest
        says), and ``timed_out``: hosts up that some origin gave up on."""
        self._index()
        cursor = self._db.execute(
            "SELECT CASE WHEN up THEN 'up' ELSE status END, COUNT(*), SUM(given_up > 0) FROM ("
            "SELECT json_extract(h.data, '$[1]') AS status, MAX(o.rank * 4294967296 + h.rowid), "
            "SUM(json_extract(h.data, '$[1]') = 'up') > 0 AS up, "
            "SUM(json_extract(h.data, '$[1]') = 'up' AND json_extract(h.data, '$[3]')) AS given_up "
            "FROM host h JOIN origin o ON o.id = h.origin GROUP BY h.address) GROUP BY 1"
        )
        counts: dict[str, int] = {}
        for status, count, given_up in cursor:
            counts[status] = count
            if given_up:
                counts["timed_out"] = counts.get("timed_out", 0) + given_up
        return counts

    def port_sets(self) -> tuple[PortSet, ...]:
        """The distinct ports scanned on the hosts (records of one address united)."""
        self._index()
        rows = self._db.execute(
            "SELECT DISTINCT ids FROM (SELECT group_concat(DISTINCT x.set_id) AS ids FROM host h "
            "JOIN origin_set x ON x.origin = h.origin AND x.ix = h.ix GROUP BY h.address) "
            "ORDER BY ids"
        ).fetchall()
        found = (PortSet.joined(self._port_set(int(i)) for i in ids.split(",")) for (ids,) in rows)
        return tuple({ports.text: ports for ports in found}.values())

    def _port_set(self, set_id: int) -> PortSet:
        if set_id not in self._sets:
            query = "SELECT text FROM port_set WHERE id = ?"
            (text,) = self._db.execute(query, (set_id,)).fetchone()
            self._sets[set_id] = PortSet.parse(text)
        return self._sets[set_id]

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

    def resolved(self, limit: int) -> tuple[int, tuple[Resolved, ...]]:
        """How many open ports a newer origin scanned again (and the first ``limit``, in
        address order): those were taken from the newer scan."""
        self._index()
        if len(self._used) < 2:
            return 0, ()
        rows = self._db.execute(
            f"SELECT l.address, l.proto, l.port, ({_NEWEST}), o.name, COUNT(*) OVER () FROM "  # noqa: S608 - constant text
            "(SELECT DISTINCT address, proto, port, origin, sort FROM location) l "
            f"JOIN origin o ON o.id = l.origin WHERE {_SUPERSEDED} "
            "ORDER BY l.sort, l.proto, l.port LIMIT ?",
            (limit,),
        ).fetchall()
        count = rows[0][-1] if rows else 0
        return count, tuple(Resolved(*row[:-1]) for row in rows)


def unite(records: Sequence[HostRecord]) -> HostRecord:
    """One host from its records, oldest first: every open port any of them found, unless a
    newer one looked at it; closed and filtered counts of the records no newer one overlaps."""
    ports: dict[tuple[str, int], OpenPort] = {}
    closed = filtered = 0
    for n, record in enumerate(records):
        if record.scanned:
            ports = {k: p for k, p in ports.items() if not record.scanned.covers(*k)}
        ports.update(((p.protocol, p.port), p) for p in record.open_ports)
        later = records[n + 1 :]
        if not later or (
            record.scanned and not any(record.scanned.overlaps(r.scanned) for r in later)
        ):
            closed += record.closed_ports
            filtered += record.filtered_ports
    up = [r for r in records if r.status == "up"]
    newest = (up or list(records))[-1]
    names = dict.fromkeys(name for r in reversed(records) for name in r.hostnames)
    return replace(
        newest,
        hostnames=tuple(names),
        timed_out=any(r.timed_out for r in up),
        open_ports=tuple(ports[k] for k in sorted(ports)),
        closed_ports=closed,
        filtered_ports=filtered,
        scanned=PortSet.joined(r.scanned for r in records),
    )
