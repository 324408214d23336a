"""What the importers share: the progress callback, the result of importing one file, the
outcome an importer hands back to the build, and the error for content that is not what it
should be."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from brulee.util.clock import utc_now
from brulee.vulndb.meta import SourceKind, parse_instant

Progress = Callable[[str, int], None]
"""Called with a file name and the number of its records read so far."""

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,9}")
BATCH = 5000
"""Rows inserted per ``executemany`` (and records between two progress calls)."""
JSON_DEPTH = 32
"""Nesting depth of a feed, catalog or API page (NVD's deepest field is at 9)."""
MAX_VERSION = 256
"""Longest version (NVD's longest bound is some 50 characters, Debian's and Ubuntu's under 100)."""
FUTURE_SLACK = timedelta(days=1)
"""How far past the current time a source's date may lie (time zones, clock skew)."""


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
    """Whether a snapshot dated ``new`` is older than the stored one dated ``stored``. A stored
    date in the future (a database poisoned before dates were checked) never wins."""
    new_at, stored_at = parse_instant(new), parse_instant(stored)
    return bool(new_at and stored_at and new_at < stored_at and not is_future(stored_at))


def is_future(moment: datetime) -> bool:
    """Whether ``moment`` lies more than ``FUTURE_SLACK`` past the current time."""
    return moment > utc_now() + FUTURE_SLACK


def checked_date(value: object, what: str) -> datetime:
    """``value`` as an ISO 8601 date or timestamp (UTC); ValueError naming ``what`` if it is not
    one, or lies in the future."""
    moment = parse_instant(value) if isinstance(value, str) and len(value) <= 64 else None
    if moment is None:
        raise ValueError(f"{what} {short(value)} is not a date")
    if is_future(moment):
        raise ValueError(f"{what} {short(value)} is in the future")
    return moment


def checked_score(value: object, high: float, what: str) -> float:
    """``value`` as a finite number from 0 to ``high``; ValueError naming ``what`` otherwise."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(value, str) and len(value) <= 32:
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not 0 <= number <= high:
        raise ValueError(f"{what} {short(value)} is not a number from 0 to {high:g}")
    return float(number)


def checked_text(value: object, limit: int, what: str) -> str:
    """``value`` as text of at most ``limit`` characters; ValueError naming ``what`` otherwise."""
    text = "" if value is None else str(value)
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text):,} characters long (at most {limit:,})")
    return text


def checked_release(
    date: object, date_what: str, label: object, label_what: str, limit: int = 64
) -> None:
    """A snapshot's release: its date (when it gives one, see :func:`checked_date`) and its
    version label of at most ``limit`` characters; ValueError naming the field otherwise."""
    if date is not None:
        checked_date(date, date_what)
    checked_text(label, limit, label_what)


def short(value: object) -> str:
    """``value`` for an error message: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def bounded_lines(text: IO[str], limit: int) -> Iterator[str]:
    """The lines of ``text``; Malformed for one longer than ``limit``, before it is read whole."""
    number = 0
    while line := text.readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise Malformed(f"line {number} is longer than {limit:,} characters")
        yield line
