"""Where a merge finds its reports: a directory tree or a bucket prefix."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

from brulee.errors import UsageError
from brulee.report.reader import Opener

REPORT_NAME = "report.json"

ReportSource = Iterable[tuple[str, Opener]]
"""Report files, each as a name (for messages and the parts section) and how to open it."""


def _file_opener(path: Path) -> Opener:
    return lambda: path.open("rb")


@dataclass(frozen=True, slots=True)
class DirectorySource:
    """Every ``report.json`` under a directory, recursively in path order; or one report file."""

    path: Path

    def __iter__(self) -> Iterator[tuple[str, Opener]]:
        if self.path.is_file():
            yield str(self.path), _file_opener(self.path)
            return
        if not self.path.is_dir():
            raise UsageError(f"{self.path}: no such directory or report file")
        found = False
        for path in sorted(self.path.rglob(REPORT_NAME)):
            found = True
            yield str(path), _file_opener(path)
        if not found:
            raise UsageError(f"no {REPORT_NAME} under {self.path}")


class ObjectStore(Protocol):
    """What merging needs of a bucket prefix (``brulee.outputs.interface.Sink``)."""

    url: str

    def list(self, suffix: str = ...) -> Iterable[str]: ...

    def open(self, key: str) -> BinaryIO: ...


@dataclass(frozen=True, slots=True)
class StoreSource:
    """Every ``report.json`` under a bucket prefix, in key order."""

    store: ObjectStore

    def __iter__(self) -> Iterator[tuple[str, Opener]]:
        found = False
        for key in self.store.list(REPORT_NAME):
            if key == REPORT_NAME or key.endswith("/" + REPORT_NAME):
                found = True
                yield f"{self.store.url}/{key}", partial(self.store.open, key)
        if not found:
            raise UsageError(f"no {REPORT_NAME} under {self.store.url}")
