"""The Debian security tracker importer: a DSA list, DLA list, CPE list or CPE aliases file
replaces the previous one of its kind."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from brulee.vulndb.importers.base import BATCH, FileResult, Outcome, Progress, bounded_lines
from brulee.vulndb.importers.debian_lists import (
    AdvisoryKind,
    parse_advisories,
    parse_cpe_aliases,
    parse_cpe_list,
)
from brulee.vulndb.meta import SourceKind


def import_debian_advisories(
    conn: sqlite3.Connection,
    path: Path,
    stream: IO[bytes],
    kind: AdvisoryKind,
    progress: Progress | None,
) -> Outcome:
    """Replace the DSAs (or DLAs) with those of the list; date it by its newest advisory."""
    mine = "SELECT id FROM debian_advisory WHERE kind = ?"
    for table in ("debian_advisory_cve", "debian_fix"):
        conn.execute(f"DELETE FROM {table} WHERE advisory IN ({mine})", (kind,))  # noqa: S608
    conn.execute("DELETE FROM debian_advisory WHERE kind = ?", (kind,))
    source_kind: SourceKind = "debian-dsa" if kind == "dsa" else "debian-dla"
    _replace_source(conn, source_kind)
    count, newest = 0, ""
    with _text_lines(stream) as lines:
        advisories = parse_advisories(lines, kind)
        while batch := list(islice(advisories, 1000)):
            conn.executemany(
                "INSERT INTO debian_advisory VALUES (?, ?, ?, ?, ?)",
                ((a.id, a.kind, a.date, a.package, a.title) for a in batch),
            )
            conn.executemany(
                "INSERT INTO debian_advisory_cve VALUES (?, ?)",
                ((a.id, cve) for a in batch for cve in a.cves),
            )
            conn.executemany(
                "INSERT INTO debian_fix VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (e.package, e.release, a.id, e.fixed_version, e.status, e.note)
                    for a in batch
                    for e in a.entries
                ),
            )
            count += len(batch)
            newest = max(newest, *(a.date for a in batch))
            if progress:
                progress(path.name, count)
    result = FileResult(path, source_kind, count, added=count)
    return Outcome(result, newest, None)


def import_debian_cpe(conn: sqlite3.Connection, path: Path, stream: IO[bytes]) -> Outcome:
    """Replace the source package -> CPE map."""
    conn.execute("DELETE FROM debian_cpe")
    _replace_source(conn, "debian-cpe")
    count = 0
    with _text_lines(stream) as lines:
        entries = parse_cpe_list(lines)
        while batch := list(islice(entries, BATCH)):
            conn.executemany(
                "INSERT OR IGNORE INTO debian_cpe VALUES (?, ?, ?)",
                ((vendor, product, package) for _, package, vendor, product in batch),
            )
            count += len(batch)
    return Outcome(FileResult(path, "debian-cpe", count, added=count), None, None)


def import_debian_aliases(conn: sqlite3.Connection, path: Path, stream: IO[bytes]) -> Outcome:
    """Replace the CPE alias blocks."""
    conn.execute("DELETE FROM debian_cpe_alias")
    _replace_source(conn, "debian-cpe-aliases")
    count = 0
    with _text_lines(stream) as lines:
        for count, block in enumerate(parse_cpe_aliases(lines), start=1):
            conn.executemany(
                "INSERT INTO debian_cpe_alias VALUES (?, ?, ?)",
                ((vendor, product, count) for vendor, product in block),
            )
    return Outcome(FileResult(path, "debian-cpe-aliases", count, added=count), None, None)


_MAX_LINE = 1 << 16
"""Longest line (a kernel advisory listing 1,000 CVEs is some 15,000 characters)."""


@contextlib.contextmanager
def _text_lines(stream: IO[bytes]) -> Iterator[Iterator[str]]:
    """``stream`` as UTF-8 text lines of bounded length, left open for the caller to read to its
    end."""
    text = io.TextIOWrapper(stream, encoding="utf-8")
    try:
        yield bounded_lines(text, _MAX_LINE)
    finally:
        text.detach()


def _replace_source(conn: sqlite3.Connection, kind: SourceKind) -> None:
    conn.execute("DELETE FROM source WHERE kind = ?", (kind,))
