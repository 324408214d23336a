"""The history store's backends: the abstract Backend that SQLite (``sqlite``) and PostgreSQL
(``postgres``) implement, one connection each, and the values they pass.

Queries are written once, in SQLite's SQL with ``?`` or ``:name`` parameters; a backend runs
them in its own dialect and holds the store's single write lock in ``write``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal

Dialect = Literal["sqlite", "postgresql"]

Row = tuple[Any, ...]
Params = Sequence[Any] | Mapping[str, Any]
"""Positional (``?``) or named (``:name``) statement parameters."""


class Backend(ABC):
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
    def stream(self, sql: str, params: Params = ()) -> Iterator[Row]:
        """The rows of a query, fetched as they are read, never all at once."""

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
