"""The FIRST EPSS importer: the scores replace the stored ones, unless those are newer."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from brulee.vulndb.importers.base import (
    BATCH,
    CVE_ID,
    FileResult,
    Malformed,
    Outcome,
    Progress,
    bounded_lines,
    checked_release,
    checked_score,
    is_older,
    short,
)
from brulee.vulndb.meta import get_meta, set_meta

_HEADER = ["cve", "epss", "percentile"]
_MAX_LINE = 1 << 12
"""Longest line of the CSV (a score line is some 40 characters)."""


def import_epss(
    conn: sqlite3.Connection, path: Path, stream: IO[bytes], progress: Progress | None
) -> Outcome:
    """Replace the EPSS scores, unless the database holds newer ones."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        return _import_rows(conn, path, csv.reader(bounded_lines(text, _MAX_LINE)), progress)
    finally:
        text.detach()  # leave ``stream`` open: the caller reads it to its end


def _import_rows(
    conn: sqlite3.Connection, path: Path, reader: Iterator[list[str]], progress: Progress | None
) -> Outcome:
    info, first_row = _header(reader)
    score_date, model = info.get("score_date"), info.get("model_version")
    try:
        checked_release(score_date, "score_date", model, "model_version")
    except ValueError as exc:
        raise Malformed(f"line 1: {exc}") from exc
    rows = _rows(reader, first_row)
    if is_older(score_date, get_meta(conn, "epss_score_date")):
        skipped = sum(1 for _ in rows)
        outcome = FileResult(path, "epss", skipped, unchanged=skipped)
        return Outcome(outcome, score_date, model, recorded=False)
    conn.execute("DELETE FROM epss")
    conn.execute("DELETE FROM source WHERE kind = 'epss'")
    count = 0
    while batch := list(islice(rows, BATCH)):
        conn.executemany("INSERT OR REPLACE INTO epss VALUES (?, ?, ?)", batch)
        count += len(batch)
        if progress:
            progress(path.name, count)
    set_meta(conn, "epss_score_date", score_date)
    set_meta(conn, "epss_model_version", model)
    return Outcome(FileResult(path, "epss", count, added=count), score_date, model)


def _header(reader: Iterator[list[str]]) -> tuple[dict[str, str], int]:
    """Read ``#model_version:...,score_date:...`` (optional) and the ``cve,epss,percentile`` line.

    Return the comment's fields and the line number of the first score.
    """
    first = next(reader, [])
    info: dict[str, str] = {}
    if first and first[0].startswith("#"):
        pairs = (cell.lstrip("#").split(":", 1) for cell in first)
        info = {pair[0].strip(): pair[1].strip() for pair in pairs if len(pair) == 2}
        first = next(reader, [])
    if [cell.strip().lower() for cell in first] != _HEADER:
        raise Malformed("no `cve,epss,percentile` header line (is this FIRST's EPSS CSV?)")
    return info, 3 if info else 2


def _rows(reader: Iterator[list[str]], first_row: int) -> Iterator[tuple[str, float, float]]:
    for number, row in enumerate(reader, start=first_row):
        try:
            ident, score, percentile = row
            if not CVE_ID.fullmatch(ident):
                raise ValueError(f"{short(ident)} is not a CVE id")
            yield ident, checked_score(score, 1, "epss"), checked_score(percentile, 1, "percentile")
        except ValueError as exc:
            raise Malformed(f"line {number}: {exc}") from exc
