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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

from brulee.core.findings import ServiceGroup
from brulee.core.history import TREND_SCANS, Changes, ScanKind, ScanRef, Trend, TrendPoint
from brulee.core.ports import PortSet
from brulee.core.report import Report
from brulee.core.scan import Shard, address_order
from brulee.core.suppression import Suppression
from brulee.core.vulnerability import SEVERITIES
from brulee.errors import HistoryError, UsageError
from brulee.history import queries
from brulee.history.compare import compare
from brulee.history.interface import Backend, Params, Row
from brulee.history.migrations import MIGRATIONS, STAGING, Migration, migrate, render
from brulee.history.postgres import PostgresBackend
from brulee.history.sqlite import SqliteBackend
from brulee.history.suppressions.load import parse_suppression
from brulee.scan.nmap import detection_options
from brulee.util.clock import utc_now
from brulee.util.redact import hide_password
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
    (id_, recorded, scanned, kind, scope, targets, started, finished, outcome, up, down, site,
     shard, location, ports, findings, looked_at, options, reported) = row  # fmt: skip
    return ScanRef(
        int(id_), recorded, scanned, kind, scope, tuple(json.loads(targets)), started, finished,
        outcome, up, down, site, shard, location, ports, findings, PortSet.parse(looked_at),
        options, reported=bool(reported),
    )  # fmt: skip


def _port_rows(report: Report) -> Iterator[Row]:
    for n, group in enumerate(report.services):
        for loc in report.locations(group):
            yield loc.address, loc.protocol, loc.port, n, address_order(loc.address)


def _host_rows(report: Report, sets: Mapping[str, int]) -> Iterator[Row]:
    for host in report.hosts():
        if host.status == "up":
            yield (
                host.address,
                host.hostnames[0] if host.hostnames else "",
                address_order(host.address),
                sets.get(host.scanned.text) if host.scanned else None,
                int(host.timed_out),
            )


def _range_rows(scan_id: int, sets: Sequence[PortSet]) -> Iterator[Row]:
    for c, ports in enumerate(sets):
        for protocol, ranges in ports.protocols:
            for low, high in ranges:
                yield scan_id, c, protocol, low, high


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


# -- the store ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwedAlert:
    """An alert a webhook has not received yet: its payload, and the failed tries so far."""

    id: int
    scan_id: int
    total: int
    """New findings it tells of."""
    body: str
    """The JSON payload, as posted."""
    attempts: int


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a scan is compared with: the latest complete (or partial) scan of its scope dated
    before it that looked at the same ports with the same options; failing that, the latest such
    scan however it ended; or none. ``notes`` say what to know first."""

    scan: ScanRef | None
    notes: tuple[str, ...]


_OUTCOME_TEXT = {
    "failed": "failed (Nmap reported an error)",
    "interrupted": "was interrupted",
    "partial": "gave up on some hosts",
}
_SKIPPED = 10  # skipped scans named in a note


def _skip_reason(ref: ScanRef, current: ScanRef) -> str:
    if ref.outcome in ("failed", "interrupted"):
        return _OUTCOME_TEXT[ref.outcome]
    return "looked at " + view_text(ref)


def view_text(ref: ScanRef) -> str:
    """What a scan looked at: ``tcp 1,000 ports with script=vulners``."""
    if not ref.scanned:
        return "ports not recorded"
    return ref.scanned.describe() + (f" with {ref.options}" if ref.options else "")


class HistoryStore(Resource):
    """An open history store; use as a context manager. Every method raises HistoryError when
    the store fails."""

    def __init__(self, backend: Backend, where: str, migrations: Sequence[Migration]) -> None:
        self._db = backend
        self.where = where
        """The store, for messages (a path, or a URL without its password)."""
        self._comparisons = 0
        try:
            with self._errors():
                self.schema_version = migrate(backend, migrations)
                for statement in STAGING:
                    backend.execute(render(statement, backend.dialect))
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
        self,
        report: Report,
        *,
        kind: ScanKind,
        location: str,
        now: datetime | None = None,
        pending: bool = False,
    ) -> int:
        """Record a report (its scan, services, findings, open ports, hosts up and what was
        looked at on each; locations and hosts streamed from it) and the first-seen dates of its
        findings, in one transaction: all of it, or (on error) nothing; its scan id.
        ``pending``: its reports are still to be written; until :meth:`reported` says they are,
        the scan is no baseline, and a later scan of its scope takes over what it first saw."""
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        scan, run, groups = report.scan, report.scan.run, report.services
        recorded = _stamp(now)
        scanned = _utc(run.started) or recorded
        scope = report_scope(report)
        scan_row = (
            recorded, scanned, kind, scope, json.dumps(scan.targets), run.started,
            run.finished, int(not run.complete), run.hosts_up, run.hosts_down, scan.site,
            str(scan.shard or ""), location, run.outcome, run.ports.text,
            detection_options(run.args), int(not pending),
        )  # fmt: skip
        sets = report.spool.port_sets()
        with self._errors():
            self._db.stage("staged_ports", 5, _port_rows(report))
            numbers = {ports.text: c for c, ports in enumerate(sets)}
            self._db.stage("staged_hosts", 5, _host_rows(report, numbers))
            with self._db.write():
                ((scan_id,),) = self._db.execute(queries.INSERT_SCAN, scan_row)
                self._db.executemany(queries.INSERT_SERVICE, _service_rows(scan_id, groups))
                self._db.executemany(queries.INSERT_FINDING, _finding_rows(scan_id, groups))
                self._db.executemany(queries.INSERT_PORT_SET, _range_rows(scan_id, sets))
                self._db.execute(queries.INSERT_PORTS, (scan_id,))
                self._db.execute(queries.INSERT_HOSTS, (scan_id,))
                self._db.analyze()
                ((base,),) = self._db.execute(
                    queries.LAST_OF_SCOPE, {"scope": scope, "id": scan_id}
                )
                unreported = {"site": scan.site, "seen": scanned, "scan": scan_id, "scope": scope}
                self._db.execute(queries.PORT_SEEN_UNREPORTED, unreported)
                self._db.execute(queries.FIRST_SEEN_UNREPORTED, unreported)
                self._first_seen(scan_id, scan.site, scanned, base)
                self._db.execute(queries.COUNTS, {"scan": scan_id})
        return int(scan_id)

    def _first_seen(self, scan_id: int, site: str, seen: str, base: int | None) -> None:
        """First-seen dates for the findings of a scan being recorded: per port first seen, and
        per finding only for those that came to a port seen before. ``base``: the last scan of
        its scope, whose findings are known already."""
        dated = {"site": site, "seen": seen, "scan": scan_id, "base": -1 if base is None else base}
        if self._db.execute(queries.LATER_SCAN, dated):
            for statement in (queries.KEEP_LATER_DATES, queries.SEEN_EARLIER,
                              queries.PORT_SEEN_EARLIER):  # fmt: skip
                self._db.execute(statement, dated)
        self._db.execute(queries.NEW_PORTS_SEEN, dated)
        self._db.execute("DELETE FROM rec_pairs")
        self._db.execute("DELETE FROM rec_delta")
        self._db.execute(queries.REC_PAIRS, dated)
        self._db.execute(queries.REC_DELTA, dated)
        self._db.execute(queries.NEW_FINDINGS_SEEN, dated)

    def reported(
        self, scan_id: int, alerts: Sequence[tuple[str, int, str]] = (), now: datetime | None = None
    ) -> None:
        """The reports of a scan recorded ``pending`` are written: it becomes a baseline, and
        ``alerts`` (target key, new findings, payload) are owed to their webhooks, in one
        transaction."""
        rows = [(_stamp(now), scan_id, target, total, body) for target, total, body in alerts]
        with self._errors(), self._db.write():
            self._db.execute(queries.REPORTED, (scan_id,))
            self._db.executemany(queries.INSERT_ALERT, rows)

    # -- alerts owed

    def owed_alerts(self, target: str) -> list[OwedAlert]:
        """The alerts not yet delivered to a webhook (by target key), oldest first."""
        rows = self._rows(queries.PENDING_ALERTS, (target,))
        return [OwedAlert(int(a), int(s), int(t), str(b), int(n)) for a, s, t, b, n in rows]

    def forget_alerts(self, alert_ids: Sequence[int]) -> None:
        """Owed alerts that were delivered, or that are given up on: no run sends them again."""
        with self._errors(), self._db.write():
            self._db.executemany(queries.FORGET_ALERT, [(a,) for a in alert_ids])

    def drop_stale_alerts(self, before: datetime) -> list[int]:
        """Forget the alerts owed since before ``before``, to whatever webhook; the scans they
        told of."""
        with self._errors(), self._db.write():
            rows = self._db.execute(queries.DROP_STALE_ALERTS, (_stamp(before),))
        return sorted(int(scan) for (scan,) in rows)

    def alert_failed(self, alert_id: int) -> None:
        """An owed alert failed at one more run."""
        with self._errors(), self._db.write():
            self._db.execute(queries.ALERT_FAILED, (alert_id,))

    # -- scans

    def get(self, scan_id: int, label: str = "") -> ScanRef:
        """A recorded scan (named ``label`` in messages, if given); UsageError when there is
        none with that id."""
        rows = self._rows(queries.SCAN, (scan_id,))
        if not rows:
            raise UsageError(f"no scan {scan_id} in the history store {self.where}")
        return replace(_scan_ref(rows[0]), label=label)

    def _earlier(self, current: ScanRef, where: str, limit: int, **params: object) -> list[ScanRef]:
        """Scans of the scope of ``current`` dated before it that meet ``where`` (one of the
        conditions of ``queries``), latest first."""
        query = queries.EARLIER_OF_SCOPE.format(where)
        found = {"scope": current.scope, "seen": current.scanned_at, "id": current.id}
        return [_scan_ref(r) for r in self._rows(query, {**found, **params, "limit": limit})]

    def baseline(self, current: ScanRef) -> Baseline:
        """What ``current`` is compared with (see :class:`Baseline`)."""
        view = {"scanned": current.scanned.text, "options": current.options}
        good = self._earlier(current, queries.GOOD, 1, **view)
        if good:
            (base,) = good
            after = {"after": base.scanned_at, "after_id": base.id}
            skipped = self._earlier(current, queries.LATER_THAN, _SKIPPED + 1, **after)
            if not skipped:
                return Baseline(base, ())
            names = "; ".join(f"{s.name} ({_skip_reason(s, current)})" for s in skipped[:_SKIPPED])
            more = " and earlier ones" if len(skipped) > _SKIPPED else ""
            return Baseline(base, (
                f"Not used as the baseline: {names}{more}. Compared with {base.name}, the last "
                "complete scan of this scope that looked at the same ports with the same options.",
            ))  # fmt: skip
        bad = self._earlier(current, queries.SAME_VIEW, 1, **view)
        if bad:
            (base,) = bad
            return Baseline(base, (
                f"No complete scan of this scope looked at the same ports with the same options: "
                f"compared with {base.name}, which {_OUTCOME_TEXT[base.outcome]}. What it did not "
                "see shows here as new or reappeared.",
            ))  # fmt: skip
        other = self._earlier(current, "", 1)
        if other:
            (last,) = other
            return Baseline(None, (
                "Not compared with earlier scans: none of this scope looked at the same ports "
                f"with the same options (this one: {view_text(current)}; the last, {last.name}: "
                f"{view_text(last)}).",
            ))  # fmt: skip
        return Baseline(None, ())

    def trend(self, current: ScanRef, limit: int = TREND_SCANS) -> Trend | None:
        """Open findings per severity, and new and fixed ones, over ``current`` and the latest
        earlier scans of its scope that ended well (at most ``limit`` in all), oldest first;
        None when there is no earlier one."""
        found = {"scope": current.scope, "seen": current.scanned_at, "id": current.id}
        rows = self._rows(queries.TREND_SCANS, {**found, "limit": max(limit - 1, 1)})
        scans = [*reversed([_scan_ref(r) for r in rows]), current]
        if len(scans) < 2:  # a trend needs two scans
            return None
        points = []
        for before, scan in zip([None, *scans], scans, strict=False):
            rows = self._rows(queries.TREND_OPEN, {"scan": scan.id})
            counts = {str(severity): int(count) for severity, count in rows}
            pair = {"new": scan.id, "old": before.id} if before else None
            points.append(TrendPoint(
                scan.id, scan.scanned_at, tuple((s, counts.get(s, 0)) for s in SEVERITIES),
                new=self._count(queries.TREND_NEW, pair),
                fixed=self._count(queries.TREND_FIXED, pair),
            ))  # fmt: skip
        return Trend(tuple(points))

    def _count(self, statement: str, params: Params | None) -> int | None:
        return None if params is None else int(self._rows(statement, params)[0][0])

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

    def compare(self, old: ScanRef, new: ScanRef, notes: Sequence[str] = ()) -> Changes:
        """The changes from ``old`` to ``new``, computed in the store: their groups now, every
        location streamed from the store on demand (while it is open)."""
        self._comparisons += 1
        with self._errors():
            return compare(self._db, self._errors, self._comparisons, old, new, notes=notes)


# -- opening -----------------------------------------------------------------------------------


def default_history_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``history.sqlite`` beside the vulnerability database."""
    return default_db_path(environ).parent / HISTORY_FILE


def _target(url: str | Path | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """(scheme, what to open): ``postgresql`` and its URL, or ``sqlite`` and a path; UsageError
    for anything else."""
    target = (
        str(url) if url else environ.get("BRULEE_HISTORY") or str(default_history_path(environ))
    )
    scheme = target.split("://", 1)[0].lower() if "://" in target else ""
    if scheme in _POSTGRES_SCHEMES:
        return "postgresql", target
    if scheme not in ("", "sqlite") or (scheme == "sqlite" and not target[len("sqlite://") :]):
        raise UsageError(
            f"history store {hide_password(target)!r}: expected a path, sqlite:///PATH or postgresql://..."
        )
    return "sqlite", target[len("sqlite://") :] if scheme else target


def check_history_url(url: str | None, environ: Mapping[str, str] = os.environ) -> None:
    """UsageError now (before a scan) for a history store that is no path or known URL."""
    _target(url, environ)


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
    scheme, target = _target(url, environ)
    if scheme == "postgresql":
        where = hide_password(target)
        return HistoryStore(PostgresBackend(target, where), where, migrations)
    path = Path(target).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = SqliteBackend(path)
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(
            f"cannot open the history store {path}: {exc} (choose a writable place with "
            "--history PATH or BRULEE_HISTORY)"
        ) from exc
    return HistoryStore(backend, str(path), migrations)
