"""The history store: every scan, report and merge recorded in SQLite (the default) or PostgreSQL
(by URL), and the comparison of two of them.

Writers never lose each other's scans: a scan's locations and hosts are first streamed into
per-connection temporary tables, then one short transaction per scan copies them in, under the
store's single write lock (``sqlite``: WAL and ``BEGIN IMMEDIATE``, waiting up to
``BUSY_TIMEOUT``; ``postgres``: a transaction-scoped advisory lock). The schema is migrated
forward when a store is opened, under the same lock (``migrations``). The SQL is in
``queries``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args
from urllib.parse import urlsplit, urlunsplit

from brulee.core.findings import ServiceGroup
from brulee.core.history import ScanKind, ScanRef, ServiceChange, TrackedFinding, TrackedPort
from brulee.core.report import Report
from brulee.core.scan import Shard, address_order
from brulee.core.suppression import Suppression
from brulee.core.vulnerability import SEVERITY_RANK
from brulee.errors import HistoryError, UsageError
from brulee.history import queries
from brulee.history.interface import Backend, Params, Row
from brulee.history.migrations import MIGRATIONS, STAGING, Migration, migrate
from brulee.history.postgres import PostgresBackend
from brulee.history.sqlite import SqliteBackend
from brulee.history.suppressions.load import parse_suppression
from brulee.util.clock import utc_now
from brulee.util.resource import Resource
from brulee.vulndb.store import default_db_path

KINDS: tuple[ScanKind, ...] = get_args(ScanKind)
HISTORY_FILE = "history.sqlite"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


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


# -- rows to and from the tables ------------------------------------------------------------------


def _utc(text: str) -> str:
    """An ISO 8601 time in UTC to the second ('' when it cannot be read)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _stamp(now: datetime | None) -> str:
    """The time ``now`` (default: the clock's) in UTC to the second."""
    return (now or utc_now()).astimezone(UTC).isoformat(timespec="seconds")


def _age(first_seen: str, as_of: str) -> int | None:
    if not first_seen:
        return None
    return max(0, (datetime.fromisoformat(as_of) - datetime.fromisoformat(first_seen)).days)


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


class HistoryStore(Resource):
    """An open history store; use as a context manager. Every method raises HistoryError when
    the store fails."""

    def __init__(self, backend: Backend, where: str, migrations: Sequence[Migration]) -> None:
        self._db = backend
        self.where = where
        """The store, for messages (a path, or a URL without its password)."""
        try:
            with self._errors():
                self.schema_version = migrate(backend, migrations)
                for statement in STAGING:
                    backend.execute(statement)
        except BaseException:
            backend.close()
            raise

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._db.errors as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HistoryError(f"history store {self.where}: {first}") from exc

    def _rows(self, statement: str, params: Params) -> list[Row]:
        with self._errors():
            return self._db.execute(statement, params)

    # -- writing

    def record(
        self, report: Report, *, kind: ScanKind, location: str, now: datetime | None = None
    ) -> int:
        """Record a report (its scan, services, findings, open ports and hosts up; locations
        and hosts streamed from it) in one transaction; its scan id."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        scan, run, groups = report.scan, report.scan.run, report.services
        recorded = _stamp(now)
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
                ((scan_id,),) = self._db.execute(queries.INSERT_SCAN, scan_row)
                self._db.executemany(queries.INSERT_SERVICE, _service_rows(scan_id, groups))
                self._db.executemany(queries.INSERT_FINDING, _finding_rows(scan_id, groups))
                self._db.execute(queries.INSERT_PORTS, (scan_id,))
                self._db.execute(queries.INSERT_HOSTS, (scan_id,))
                self._db.analyze()
                dated = {"site": scan.site, "seen": scanned, "scan": scan_id}
                if self._db.execute(queries.LATER_SCAN, dated):
                    self._db.execute(queries.SEEN_EARLIER, dated)
                self._db.execute(queries.FIRST_SEEN, dated)
                self._db.execute(queries.COUNTS, {"scan": scan_id})
        return int(scan_id)

    # -- scans

    def get(self, scan_id: int) -> ScanRef:
        """A recorded scan; UsageError when there is none with that id."""
        rows = self._rows(queries.SCAN, (scan_id,))
        if not rows:
            raise UsageError(f"no scan {scan_id} in the history store {self.where}")
        return _scan_ref(rows[0])

    def previous(self, scope: str, before_id: int) -> ScanRef | None:
        """The latest scan of a scope recorded before ``before_id``, if any."""
        rows = self._rows(queries.PREVIOUS_SCAN, (scope, before_id))
        return _scan_ref(rows[0]) if rows else None

    # -- suppressions

    def add_suppression(self, fields: Mapping[str, object], now: datetime | None = None) -> int:
        """Validate and keep a suppression entry (the fields of a YAML entry); its id."""
        entry = parse_suppression(fields, origin="history")
        row = (_stamp(now), _entry_json(entry))
        with self._errors(), self._db.write():
            ((entry_id,),) = self._db.execute(queries.INSERT_SUPPRESSION, row)
        return int(entry_id)

    def suppressions(self) -> list[tuple[int, Suppression]]:
        """The kept suppression entries with their ids, oldest first."""
        rows = self._rows(queries.SUPPRESSIONS, ())
        return [
            (int(entry_id), parse_suppression(json.loads(text), origin=f"history:{entry_id}"))
            for entry_id, text in rows
        ]

    def remove_suppression(self, entry_id: int) -> None:
        """Forget a kept entry; UsageError when there is none with that id."""
        with self._errors(), self._db.write():
            if not self._db.execute(queries.SUPPRESSION, (entry_id,)):
                raise UsageError(f"no suppression with id {entry_id} (see brulee suppress list)")
            self._db.execute(queries.DELETE_SUPPRESSION, (entry_id,))

    def list_scans(self, limit: int = 20, scope: str | None = None) -> list[ScanRef]:
        """The latest scans (of one scope, or all), newest first."""
        if scope:
            rows = self._rows(queries.LATEST_SCANS_OF_SCOPE, (scope, limit))
        else:
            rows = self._rows(queries.LATEST_SCANS, (limit,))
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
        appeared = self._rows(queries.FINDINGS_ONLY_IN_SCAN, forward)
        gone = self._rows(queries.FINDINGS_ONLY_IN_SCAN_WHERE_UP, backward)
        ((kept,),) = self._rows(queries.FINDINGS_IN_BOTH, forward)
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
        opened = self._rows(queries.PORTS_ONLY_IN_SCAN, forward)
        closed = self._rows(queries.PORTS_ONLY_IN_SCAN_WHERE_UP, backward)
        changed = self._rows(queries.CHANGED_SERVICES, forward)
        return (
            sorted((TrackedPort(*row) for row in opened), key=_port_order),
            sorted((TrackedPort(*row) for row in closed), key=_port_order),
            sorted((ServiceChange(*row) for row in changed), key=_port_order),
        )

    def missing_hosts(self, old: ScanRef, new: ScanRef) -> list[str]:
        """Hosts up in ``old`` that ``new`` did not find up, in address order: their ports and
        findings are neither closed nor fixed, only unknown."""
        rows = self._rows(queries.MISSING_HOSTS, {"scan": new.id, "other": old.id})
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
        return HistoryStore(PostgresBackend(target, where), where, migrations)
    if scheme not in ("", "sqlite") or (scheme == "sqlite" and not target[len("sqlite://") :]):
        raise UsageError(
            f"history store {target!r}: expected a path, sqlite:///PATH or postgresql://..."
        )
    path = Path(target[len("sqlite://") :] if scheme else target).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = SqliteBackend(path)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(
            f"cannot open the history store {path}: {exc} (choose a writable place with "
            "--history PATH or BRULEE_HISTORY)"
        ) from exc
    return HistoryStore(backend, str(path), migrations)
