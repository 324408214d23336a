"""The CISA KEV importer: the catalog replaces the stored one, unless that one is newer."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from brulee.util.boundedjson import iter_items
from brulee.vulndb.importers.base import (
    CVE_ID,
    JSON_DEPTH,
    FileResult,
    Malformed,
    Outcome,
    as_text,
    checked_date,
    checked_release,
    checked_text,
    is_older,
)
from brulee.vulndb.meta import get_meta, set_meta

MAX_FIELD = 1 << 16
"""Longest field of a KEV entry (its notes list URLs; the longest is under 2,000 characters)."""

_FIELDS = (
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "dueDate",
    "requiredAction",
    "knownRansomwareCampaignUse",
    "notes",
)


def import_kev(
    conn: sqlite3.Connection, path: Path, stream: IO[bytes], header: Mapping[str, Any]
) -> Outcome:
    """Replace the KEV catalog, unless the database holds a newer one."""
    released, version = as_text(header.get("dateReleased")), as_text(header.get("catalogVersion"))
    try:
        checked_release(released, "dateReleased", version, "catalogVersion")
    except ValueError as exc:
        raise Malformed(f"the KEV catalog's {exc}") from exc
    items = iter_items(stream, "vulnerabilities.item", max_depth=JSON_DEPTH, max_string=MAX_FIELD)
    rows = [_row(number, raw) for number, raw in enumerate(items, start=1)]
    if is_older(released, get_meta(conn, "kev_date_released")):
        skipped = FileResult(path, "kev", len(rows), unchanged=len(rows))
        return Outcome(skipped, released, version, recorded=False)
    conn.execute("DELETE FROM kev")
    conn.execute("DELETE FROM source WHERE kind = 'kev'")
    conn.executemany("INSERT OR REPLACE INTO kev VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    set_meta(conn, "kev_date_released", released)
    set_meta(conn, "kev_catalog_version", version)
    return Outcome(FileResult(path, "kev", len(rows), added=len(rows)), released, version)


def _row(number: int, raw: Any) -> tuple[str, ...]:
    ident = raw.get("cveID") if isinstance(raw, dict) else None
    if not isinstance(ident, str) or not CVE_ID.fullmatch(ident) or not raw.get("dateAdded"):
        name = ident if isinstance(ident, str) and CVE_ID.fullmatch(ident) else "(no cveID)"
        raise Malformed(f"KEV entry {number} {name} lacks a CVE id or dateAdded")
    try:
        checked_date(raw["dateAdded"], "dateAdded")
        fields = tuple(checked_text(raw.get(name) or "", MAX_FIELD, name) for name in _FIELDS)
    except ValueError as exc:
        raise Malformed(f"KEV entry {number} {ident}: {exc}") from exc
    return (ident, *fields)
