"""The PostgreSQL backend of the history store (a ``postgresql://`` URL; needs psycopg, the
``postgres`` extra, imported only when such a store is opened): a transaction-scoped advisory
lock as the write lock."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from brulee.errors import HistoryError
from brulee.history.interface import Backend, Params, Row

if TYPE_CHECKING:
    import psycopg

_LOCK_KEY = 0x6272756C6565  # "brulee": the PostgreSQL advisory lock every writer takes
_FETCHED = 4096  # rows a streaming cursor fetches at a time


def _pyformat(sql: str) -> str:
    """SQLite's parameter marks as psycopg's: ``?`` as ``%s``, ``:name`` as ``%(name)s``."""
    return re.sub(r":(\w+)", r"%(\1)s", sql.replace("?", "%s"))


class PostgresBackend(Backend):
    """A connection to a PostgreSQL database; ``where`` names it in messages (no password)."""

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
        self._cursors = itertools.count()
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

    def stream(self, sql: str, params: Params = ()) -> Iterator[Row]:
        # A server-side cursor (it needs a transaction): rows come a batch at a time.
        name = f"brulee_stream_{next(self._cursors)}"
        with self._db.transaction(), self._db.cursor(name=name) as cursor:
            cursor.itersize = _FETCHED
            cursor.execute(_pyformat(sql), params)
            yield from cursor

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
