"""The SQLite backend of the history store (the default): WAL, and ``BEGIN IMMEDIATE`` as the
write lock, waiting up to ``BUSY_TIMEOUT`` for another writer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from brulee.history.interface import Backend, Params, Row

BUSY_TIMEOUT = 120.0
"""Seconds a writer waits for another one to finish before giving up."""


class SqliteBackend(Backend):
    """A connection to a store file."""

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

    def stream(self, sql: str, params: Params = ()) -> Iterator[Row]:
        cursor = self._db.execute(sql, params)
        try:
            yield from cursor
        finally:
            cursor.close()

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
