"""What the importers share: the progress callback, the result of importing one file, the
outcome an importer hands back to the build, and the error for content that is not what it
should be."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from brulee.vulndb.meta import SourceKind, parse_instant

Progress = Callable[[str, int], None]
"""Called with a file name and the number of its records read so far."""

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
BATCH = 5000
"""Rows inserted per ``executemany`` (and records between two progress calls)."""


class Malformed(Exception):
    """The content is not what it should be; turned into FeedError naming the file."""


@dataclass(frozen=True, slots=True)
class FileResult:
    """What importing one file did. For KEV and EPSS (snapshots) ``unchanged`` counts every record
    of a snapshot older than the one in the database, which is kept."""

    path: Path
    kind: SourceKind
    records: int
    added: int = 0
    updated: int = 0
    rejected: int = 0
    """Records saying the CVE is rejected: it is absent from the database afterwards."""
    unchanged: int = 0
    """Records not newer than what the database held."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an importer did with one file, and how to describe the file in its ``source`` row."""

    result: FileResult
    timestamp: str | None
    version: str | None
    recorded: bool = True
    """False when the file was not applied (an older snapshot): it gets no ``source`` row."""


def as_text(value: object) -> str | None:
    """A header field as text; None stays None."""
    return None if value is None else str(value)


def is_older(new: str | None, stored: str | None) -> bool:
    """Whether a snapshot dated ``new`` is older than the stored one dated ``stored``."""
    new_at, stored_at = parse_instant(new), parse_instant(stored)
    return bool(new_at and stored_at and new_at < stored_at)
