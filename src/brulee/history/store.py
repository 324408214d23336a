"""The history store: every scan, report and merge recorded in SQLite (the default) or PostgreSQL
(by URL), and the queries that compare two of them.

Writers never lose each other's scans: a scan's locations and hosts are first streamed into
per-connection temporary tables, then one short transaction per scan copies them in, under the
store's single write lock (SQLite: WAL and ``BEGIN IMMEDIATE``, waiting up to
``BUSY_TIMEOUT``; PostgreSQL: a transaction-scoped advisory lock). The schema is migrated
forward when a store is opened, under the same lock.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import urlsplit, urlunsplit

from brulee.core.findings import ServiceGroup
from brulee.core.history import ScanKind, ScanRef, ServiceChange, TrackedFinding, TrackedPort
from brulee.core.report import Report
from brulee.core.scan import Shard, address_order
from brulee.core.suppression import Suppression
from brulee.core.vulnerability import SEVERITY_RANK
from brulee.errors import HistoryError, UsageError
from brulee.history.schema import MIGRATIONS, STAGING, VERSION_TABLE, Dialect, Migration, render
from brulee.history.suppressions.load import parse_suppression
from brulee.util.clock import utc_now
from brulee.vulndb.store import default_db_path

if TYPE_CHECKING:
    import psycopg

KINDS: tuple[ScanKind, ...] = get_args(ScanKind)
HISTORY_FILE = "history.sqlite"
BUSY_TIMEOUT = 120.0
"""Seconds a writer waits for another one to finish before giving up."""
_LOCK_KEY = 0x6272756C6565  # "brulee": the PostgreSQL advisory lock every writer takes
_POSTGRES_SCHEMES = ("postgresql", "postgres")

Row = tuple[Any, ...]
Params = Sequence[Any] | Mapping[str, Any]
"""Positional (``?``) or named (``:name``) statement parameters."""


# -- scope -------------------------------------------------------------------------------------


def _normal_target(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text.lower().rstrip(".")


def scope_key(targets: Iterable[str], site: str = "", shard: Shard | None = None) -> str:
    """Stable id of "the same scan again": the sorted distinct targets (addresses and networks
    in canonical form, hostnames lower-cased), the site and the shard."""
    normal = sorted({_normal_target(t.strip()) for t in targets if t.strip()})
    raw = "\x1f".join((site, str(shard or ""), *normal))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def report_scope(report: Report) -> str:
    """The scope key of a report."""
    return scope_key(report.scan.targets, report.scan.site, report.scan.shard)


# -- backends ----------------------------------------------------------------------------------


class _Backend(ABC):
    """One connection, and what differs between SQLite and PostgreSQL. SQL is SQLite's, with
    ``?`` or ``:name`` parameters."""

    dialect: Dialect
    errors: tuple[type[Exception], ...]

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        """Run one statement; its rows (none for a statement without result)."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def stage(self, table: str, width: int, rows: Iterable[Row]) -> None:
        """Replace the content of a temporary table, outside any write transaction."""

    @abstractmethod
    def write(self) -> AbstractContextManager[None]:
        """A transaction holding the store's write lock; rolled back on error."""

    @abstractmethod
    def analyze(self) -> None:
        """Refresh the planner's statistics while a scan is being recorded."""

    @abstractmethod
    def close(self) -> None: ...


class _Sqlite(_Backend):
    dialect = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            self._wal()
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error:
            self._db.close()
            raise

    def _wal(self) -> None:
        """Switch to WAL. Two processes switching a new store at once would deadlock, so
        SQLite fails one at once instead of waiting: it tries again."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        return self._db.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self._db.execute(begin)
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def stage(self, table: str, width: int, rows: Iterable[Row]) -> None:
        # Only temporary tables are written: the store itself is not locked.
        with self._transaction("BEGIN"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 (a constant name)
            self._db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", rows)  # noqa: S608

    def write(self) -> AbstractContextManager[None]:
        return self._transaction("BEGIN IMMEDIATE")

    def analyze(self) -> None:
        pass  # SQLite plans these queries well without statistics

    def close(self) -> None:
        self._db.close()


def _pyformat(sql: str) -> str:
    """SQLite's parameter marks as psycopg's: ``?`` as ``%s``, ``:name`` as ``%(name)s``."""
    return re.sub(r":(\w+)", r"%(\1)s", sql.replace("?", "%s"))


class _Postgres(_Backend):
    dialect = "postgresql"

    def __init__(self, url: str, where: str) -> None:
        try:
            import psycopg  # noqa: PLC0415 - optional dependency
        except ImportError as exc:
            raise HistoryError(
                f"the history store {where} is PostgreSQL, which needs psycopg: install "
                "brulee[postgres] (pip install 'brulee[postgres]')"
            ) from exc
        self.errors = (psycopg.Error,)
        try:
            self._db: psycopg.Connection[Row] = psycopg.connect(
                url, autocommit=True, connect_timeout=10
            )
            # Compiling a plan costs more than running one of these queries.
            self._db.execute("SET jit = off")
        except psycopg.Error as exc:
            raise HistoryError(f"cannot connect to the history store {where}: {exc}") from exc

    def execute(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = self._db.execute(_pyformat(sql), params)
        return cursor.fetchall() if cursor.description else []

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(_pyformat(sql), rows)

    def stage(self, table: str, width: int, rows: Iterable[Row]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            self._db.execute("SET LOCAL work_mem = '64MB'")  # hash a fleet's first-seen dates
            yield

    def write(self) -> AbstractContextManager[None]:
        return self._locked()

    def analyze(self) -> None:
        # Plans that know the size of the scan being recorded: hash joins, not millions of
        # index probes, for first-seen dates now and comparisons next.
        self._db.execute("ANALYZE scan_ports, scan_hosts, scan_findings, scan_services")

    def close(self) -> None:
        self._db.close()


def _migrate(backend: _Backend, migrations: Sequence[Migration]) -> int:
    """Bring the schema to ``len(migrations)``; the version reached."""
    target = len(migrations)

    def version() -> int:
        rows = backend.execute("SELECT version FROM schema_version")
        found = int(rows[0][0]) if rows else 0
        if found > target:
            raise HistoryError(
                f"the history store has schema version {found}, newer than this brulee "
                f"knows ({target}): upgrade brulee"
            )
        return found

    try:
        if version() == target:
            return target
    except backend.errors:
        pass  # no schema yet: created below, under the lock
    with backend.write():
        backend.execute(VERSION_TABLE)
        found = version()
        for migration in migrations[found:]:
            for statement in migration:
                backend.execute(render(statement, backend.dialect))
        if found < target:
            backend.execute("DELETE FROM schema_version")
            backend.execute("INSERT INTO schema_version VALUES (?)", (target,))
    return target


# -- SQL ---------------------------------------------------------------------------------------

_SCAN_COLUMNS = (
    "id, recorded_at, scanned_at, kind, scope, targets, started, finished, incomplete, "
    "hosts_up, hosts_down, site, shard, location, ports, findings"
)
_INSERT_SCAN = (
    "INSERT INTO scans (recorded_at, scanned_at, kind, scope, targets, started, finished, "
    "incomplete, hosts_up, hosts_down, site, shard, location) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_INSERT_SERVICE = "INSERT INTO scan_services VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_FINDING = "INSERT INTO scan_findings VALUES (?, ?, ?, ?, ?, ?, ?)"
# A location listed under two services (overlapping merged shards) is kept once.
_INSERT_PORTS = (
    "INSERT INTO scan_ports SELECT ?, address, protocol, port, MIN(n) FROM staged_ports "
    "GROUP BY address, protocol, port"
)
_INSERT_HOSTS = (
    "INSERT INTO scan_hosts SELECT ?, address, MAX(hostname) FROM staged_hosts GROUP BY address"
)
# First-seen dates: writers hold the store's lock, so plain statements cannot conflict.
_SEEN_AT = (
    "FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id AND f.n = p.n "
    "WHERE p.scan_id = :scan AND {} EXISTS (SELECT 1 FROM first_seen o WHERE o.site = :site "
    "AND o.address = p.address AND o.protocol = p.protocol AND o.port = p.port AND o.cve = f.cve"
)
_FIRST_SEEN = (
    "INSERT INTO first_seen (site, address, protocol, port, cve, seen, scan_id) "
    "SELECT :site, p.address, p.protocol, p.port, f.cve, :seen, p.scan_id "
    + _SEEN_AT.format("NOT")
    + ")"
)
# Only when a scan dated later was recorded before (a late `brulee report` of old XML).
_SEEN_EARLIER = (
    "UPDATE first_seen SET seen = :seen, scan_id = :scan WHERE site = :site AND seen > :seen "
    "AND EXISTS (SELECT 1 FROM scan_ports p JOIN scan_findings f ON f.scan_id = p.scan_id "
    "AND f.n = p.n WHERE p.scan_id = :scan AND p.address = first_seen.address "
    "AND p.protocol = first_seen.protocol AND p.port = first_seen.port AND f.cve = first_seen.cve)"
)
_LATER_SCAN = "SELECT 1 FROM scans WHERE site = :site AND scanned_at > :seen LIMIT 1"
# Findings: each service's vulnerabilities times its ports.
_COUNTS = (
    "UPDATE scans SET ports = (SELECT COUNT(*) FROM scan_ports WHERE scan_id = :scan), "
    "findings = (SELECT COALESCE(SUM(c.ports * (SELECT COUNT(*) FROM scan_findings f "
    "WHERE f.scan_id = :scan AND f.n = c.n)), 0) FROM (SELECT n, COUNT(*) AS ports "
    "FROM scan_ports WHERE scan_id = :scan GROUP BY n) c) WHERE id = :scan"
)

# Comparing a scan with another one (parameters :scan, :other) starts from its ports paired
# with the same ports there (m, the service number there; -1 where the port is not open).
# Findings are compared once per distinct pair of services, then spread over the ports: the
# cost grows with the ports, not with ports times vulnerabilities.
_PAIRS = (
    "WITH pairs AS (SELECT p.address, p.protocol, p.port, p.n, COALESCE(q.n, -1) AS m "
    "FROM scan_ports p LEFT JOIN scan_ports q ON q.scan_id = :other AND q.address = p.address "
    "AND q.protocol = p.protocol AND q.port = p.port WHERE p.scan_id = :scan"
)
_ON_HOSTS_UP = (  # absence means something only where the other scan found the host up
    " AND EXISTS (SELECT 1 FROM scan_hosts x WHERE x.scan_id = :other AND x.address = p.address)"
)
_HOSTNAME = (
    "COALESCE((SELECT h.hostname FROM scan_hosts h WHERE h.scan_id = :scan "
    "AND h.address = x.address), '')"
)
# Looked up per row returned (never joined whole: a fleet's table is large).
_FIRST_SEEN_AT = (
    "COALESCE((SELECT fs.seen FROM first_seen fs WHERE fs.site = :site AND fs.address = x.address "
    "AND fs.protocol = x.protocol AND fs.port = x.port AND fs.cve = d.cve), '')"
)
_SERVICE_AT = "JOIN scan_services s ON s.scan_id = :scan AND s.n = x.n "
# The findings of :scan that :other does not have at the same port.
_ONLY_IN_SCAN = (
    "), delta AS MATERIALIZED (SELECT k.n, k.m, f.cve, f.severity, f.cvss, f.kev, f.confidence "  # noqa: S608
    "FROM (SELECT DISTINCT n, m FROM pairs) k JOIN scan_findings f ON f.scan_id = :scan "
    "AND f.n = k.n WHERE NOT EXISTS (SELECT 1 FROM scan_findings g WHERE g.scan_id = :other "
    "AND g.n = k.m AND g.cve = f.cve)) "
    "SELECT d.cve, d.severity, d.cvss, d.kev, d.confidence, s.label, x.address, "
    f"{_HOSTNAME}, x.protocol, x.port, {_FIRST_SEEN_AT} "
    f"FROM delta d JOIN pairs x ON x.n = d.n AND x.m = d.m {_SERVICE_AT}"
)
# How many findings of :scan :other has at the same port.
_IN_BOTH = (
    "), kinds AS (SELECT n, m, COUNT(*) AS ports FROM pairs WHERE m >= 0 GROUP BY n, m) "
    "SELECT COALESCE(SUM(k.ports * (SELECT COUNT(*) FROM scan_findings f JOIN scan_findings g "
    "ON g.scan_id = :other AND g.n = k.m AND g.cve = f.cve WHERE f.scan_id = :scan "
    "AND f.n = k.n)), 0) FROM kinds k"
)
# The ports of :scan not open in :other.
_PORTS_ONLY_IN_SCAN = (
    "), x AS (SELECT * FROM pairs WHERE m = -1) "  # noqa: S608
    f"SELECT x.address, {_HOSTNAME}, x.protocol, x.port, s.label FROM x {_SERVICE_AT}"
)
# The ports open in both whose service label changed.
_CHANGED_SERVICES = (
    "), x AS (SELECT * FROM pairs WHERE m >= 0) "  # noqa: S608
    f"SELECT x.address, {_HOSTNAME}, x.protocol, x.port, o.label, s.label FROM x {_SERVICE_AT}"
    "JOIN scan_services o ON o.scan_id = :other AND o.n = x.m WHERE o.label <> s.label"
)
_MISSING_HOSTS = (
    "SELECT h.address FROM scan_hosts h WHERE h.scan_id = :other AND NOT EXISTS "
    "(SELECT 1 FROM scan_hosts x WHERE x.scan_id = :scan AND x.address = h.address)"
)


def _utc(text: str) -> str:
    """An ISO 8601 time in UTC to the second ('' when it cannot be read)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _age(first_seen: str, as_of: str) -> int | None:
    if not first_seen:
        return None
    return max(0, (datetime.fromisoformat(as_of) - datetime.fromisoformat(first_seen)).days)


_INSERT_SUPPRESSION = "INSERT INTO suppressions (created_at, entry) VALUES (?, ?) RETURNING id"


_ENTRY_FIELDS = (
    "cve", "reason", "author", "product", "version", "host", "port", "protocol", "cidr", "expires",
)  # fmt: skip


def _entry_json(entry: Suppression) -> str:
    fields = {
        name: str(value) if name in ("cidr", "expires") else value
        for name in _ENTRY_FIELDS
        if (value := getattr(entry, name)) is not None
    }
    return json.dumps(fields)


def _scan_ref(row: Row) -> ScanRef:
    id_, recorded, scanned, kind, scope, targets, started, finished, incomplete, *rest = row
    return ScanRef(
        int(id_), recorded, scanned, kind, scope, tuple(json.loads(targets)), started, finished,
        bool(incomplete), *rest,
    )  # fmt: skip


def _finding(row: Row, as_of: str | None) -> TrackedFinding:
    cve, severity, cvss, kev, confidence, label, address, hostname, proto, port, seen = row
    age = _age(seen, as_of) if as_of else None
    return TrackedFinding(
        cve, severity, cvss, bool(kev), confidence, label, address, hostname, proto, port, seen, age
    )


def _port_rows(report: Report) -> Iterator[Row]:
    for n, group in enumerate(report.services):
        for loc in report.locations(group):
            yield loc.address, loc.protocol, loc.port, n


def _host_rows(report: Report) -> Iterator[Row]:
    for host in report.hosts():
        if host.status == "up":
            yield host.address, host.hostnames[0] if host.hostnames else ""


def _service_rows(scan_id: int, groups: Sequence[ServiceGroup]) -> Iterator[Row]:
    for n, g in enumerate(groups):
        yield (
            scan_id,
            n,
            g.key,
            g.service.label,
            g.service.product,
            g.service.version,
            g.protocol,
            g.status,
        )


def _finding_rows(scan_id: int, groups: Sequence[ServiceGroup]) -> Iterator[Row]:
    for n, group in enumerate(groups):
        for v in {v.id: v for v in group.vulnerabilities}.values():
            score = v.cvss.score if v.cvss else None
            yield scan_id, n, v.id, v.severity, score, int(v.kev is not None), v.confidence


def finding_order(item: TrackedFinding) -> tuple[int, bool, float, bytes, str, int, str]:
    """Most severe first (known exploited, then higher CVSS, first), then by location."""
    return (
        SEVERITY_RANK[item.severity],
        not item.kev,
        -(item.cvss or 0.0),
        address_order(item.address),
        item.protocol,
        item.port,
        item.id,
    )


def _port_order(item: TrackedPort | ServiceChange) -> tuple[bytes, str, int]:
    return address_order(item.address), item.protocol, item.port


# -- the store ---------------------------------------------------------------------------------


class HistoryStore:
    """An open history store; use as a context manager. Every method raises HistoryError when
    the store fails."""

    def __init__(self, backend: _Backend, where: str, migrations: Sequence[Migration]) -> None:
        self._db = backend
        self.where = where
        """The store, for messages (a path, or a URL without its password)."""
        try:
            with self._errors():
                self.schema_version = _migrate(backend, migrations)
                for statement in STAGING:
                    backend.execute(statement)
        except BaseException:
            backend.close()
            raise

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._db.errors as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HistoryError(f"history store {self.where}: {first}") from exc

    def _rows(self, sql: str, params: Params) -> list[Row]:
        with self._errors():
            return self._db.execute(sql, params)

    # -- writing

    def record(
        self, report: Report, *, kind: ScanKind, location: str, now: datetime | None = None
    ) -> int:
        """Record a report (its scan, services, findings, open ports and hosts up; locations
        and hosts streamed from it) in one transaction; its scan id."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        scan, run, groups = report.scan, report.scan.run, report.services
        recorded = (now or utc_now()).astimezone(UTC).isoformat(timespec="seconds")
        scanned = _utc(run.started) or recorded
        scan_row = (
            recorded, scanned, kind, report_scope(report), json.dumps(scan.targets), run.started,
            run.finished, int(run.incomplete), run.hosts_up, run.hosts_down, scan.site,
            str(scan.shard or ""), location,
        )  # fmt: skip
        with self._errors():
            self._db.stage("staged_ports", 4, _port_rows(report))
            self._db.stage("staged_hosts", 2, _host_rows(report))
            with self._db.write():
                ((scan_id,),) = self._db.execute(_INSERT_SCAN, scan_row)
                self._db.executemany(_INSERT_SERVICE, _service_rows(scan_id, groups))
                self._db.executemany(_INSERT_FINDING, _finding_rows(scan_id, groups))
                self._db.execute(_INSERT_PORTS, (scan_id,))
                self._db.execute(_INSERT_HOSTS, (scan_id,))
                self._db.analyze()
                dated = {"site": scan.site, "seen": scanned, "scan": scan_id}
                if self._db.execute(_LATER_SCAN, dated):
                    self._db.execute(_SEEN_EARLIER, dated)
                self._db.execute(_FIRST_SEEN, dated)
                self._db.execute(_COUNTS, {"scan": scan_id})
        return int(scan_id)

    # -- scans

    def get(self, scan_id: int) -> ScanRef:
        """A recorded scan; UsageError when there is none with that id."""
        rows = self._rows(f"SELECT {_SCAN_COLUMNS} FROM scans WHERE id = ?", (scan_id,))  # noqa: S608
        if not rows:
            raise UsageError(f"no scan {scan_id} in the history store {self.where}")
        return _scan_ref(rows[0])

    def previous(self, scope: str, before_id: int) -> ScanRef | None:
        """The latest scan of a scope recorded before ``before_id``, if any."""
        rows = self._rows(
            f"SELECT {_SCAN_COLUMNS} FROM scans WHERE scope = ? AND id < ? "  # noqa: S608
            "ORDER BY id DESC LIMIT 1",
            (scope, before_id),
        )
        return _scan_ref(rows[0]) if rows else None

    # -- suppressions

    def add_suppression(self, fields: Mapping[str, object], now: datetime | None = None) -> int:
        """Validate and keep a suppression entry (the fields of a YAML entry); its id."""
        entry = parse_suppression(fields, origin="history")
        stamp = (now or utc_now()).astimezone(UTC).isoformat(timespec="seconds")
        with self._errors(), self._db.write():
            ((entry_id,),) = self._db.execute(_INSERT_SUPPRESSION, (stamp, _entry_json(entry)))
        return int(entry_id)

    def suppressions(self) -> list[tuple[int, Suppression]]:
        """The kept suppression entries with their ids, oldest first."""
        rows = self._rows("SELECT id, entry FROM suppressions ORDER BY id", ())
        return [
            (int(entry_id), parse_suppression(json.loads(text), origin=f"history:{entry_id}"))
            for entry_id, text in rows
        ]

    def remove_suppression(self, entry_id: int) -> None:
        """Forget a kept entry; UsageError when there is none with that id."""
        with self._errors(), self._db.write():
            if not self._db.execute("SELECT id FROM suppressions WHERE id = ?", (entry_id,)):
                raise UsageError(f"no suppression with id {entry_id} (see brulee suppress list)")
            self._db.execute("DELETE FROM suppressions WHERE id = ?", (entry_id,))

    def list_scans(self, limit: int = 20, scope: str | None = None) -> list[ScanRef]:
        """The latest scans (of one scope, or all), newest first."""
        where, params = ("WHERE scope = ? ", (scope, limit)) if scope else ("", (limit,))
        rows = self._rows(
            f"SELECT {_SCAN_COLUMNS} FROM scans {where}ORDER BY id DESC LIMIT ?",  # noqa: S608
            params,
        )
        return [_scan_ref(row) for row in rows]

    # -- comparing two scans

    def findings_delta(
        self, old: ScanRef, new: ScanRef
    ) -> tuple[list[TrackedFinding], list[TrackedFinding], int]:
        """The findings of ``new`` absent from ``old`` (with their ages); those of ``old``
        absent from ``new`` on hosts ``new`` found up (fixed); how many of ``new`` were in
        ``old`` too. Each list most severe first."""
        forward = {"scan": new.id, "other": old.id, "site": new.site}
        backward = {"scan": old.id, "other": new.id, "site": old.site}
        appeared = self._rows(_PAIRS + _ONLY_IN_SCAN, forward)
        gone = self._rows(_PAIRS + _ON_HOSTS_UP + _ONLY_IN_SCAN, backward)
        ((kept,),) = self._rows(_PAIRS + _IN_BOTH, forward)
        return (
            sorted((_finding(row, new.scanned_at) for row in appeared), key=finding_order),
            sorted((_finding(row, None) for row in gone), key=finding_order),
            int(kept),
        )

    def ports_delta(
        self, old: ScanRef, new: ScanRef
    ) -> tuple[list[TrackedPort], list[TrackedPort], list[ServiceChange]]:
        """Ports open in ``new`` only; ports open in ``old`` only, on hosts ``new`` found up
        (closed); ports open in both whose service label changed. Each in address order."""
        forward, backward = {"scan": new.id, "other": old.id}, {"scan": old.id, "other": new.id}
        opened = self._rows(_PAIRS + _PORTS_ONLY_IN_SCAN, forward)
        closed = self._rows(_PAIRS + _ON_HOSTS_UP + _PORTS_ONLY_IN_SCAN, backward)
        changed = self._rows(_PAIRS + _CHANGED_SERVICES, forward)
        return (
            sorted((TrackedPort(*row) for row in opened), key=_port_order),
            sorted((TrackedPort(*row) for row in closed), key=_port_order),
            sorted((ServiceChange(*row) for row in changed), key=_port_order),
        )

    def missing_hosts(self, old: ScanRef, new: ScanRef) -> list[str]:
        """Hosts up in ``old`` that ``new`` did not find up, in address order: their ports and
        findings are neither closed nor fixed, only unknown."""
        rows = self._rows(_MISSING_HOSTS, {"scan": new.id, "other": old.id})
        return sorted((address for (address,) in rows), key=address_order)


# -- opening -----------------------------------------------------------------------------------


def default_history_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``history.sqlite`` beside the vulnerability database."""
    return default_db_path(environ).parent / HISTORY_FILE


def _redacted(url: str) -> str:
    """A URL without its password and query."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit(parts._replace(netloc=netloc, query=""))


def open_store(
    url: str | Path | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> HistoryStore:
    """Open (creating and migrating as needed) the history store at ``url``: a path or
    ``sqlite:///ABSOLUTE/PATH`` for SQLite, ``postgresql://...`` for PostgreSQL; None for
    ``$BRULEE_HISTORY``, else :func:`default_history_path`.

    UsageError for another URL scheme; HistoryError when the store cannot be opened."""
    target = (
        str(url) if url else environ.get("BRULEE_HISTORY") or str(default_history_path(environ))
    )
    scheme = target.split("://", 1)[0].lower() if "://" in target else ""
    if scheme in _POSTGRES_SCHEMES:
        where = _redacted(target)
        return HistoryStore(_Postgres(target, where), where, migrations)
    if scheme not in ("", "sqlite") or (scheme == "sqlite" and not target[len("sqlite://") :]):
        raise UsageError(
            f"history store {target!r}: expected a path, sqlite:///PATH or postgresql://..."
        )
    path = Path(target[len("sqlite://") :] if scheme else target).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = _Sqlite(path)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(
            f"cannot open the history store {path}: {exc} (choose a writable place with "
            "--history PATH or BRULEE_HISTORY)"
        ) from exc
    return HistoryStore(backend, str(path), migrations)
