"""The CISA KEV importer: the catalog replaces the stored one, unless that one is newer."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import ijson

from brulee.vulndb.importers.base import CVE_ID, FileResult, Malformed, Outcome, as_text, is_older
from brulee.vulndb.meta import get_meta, set_meta

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
    rows = [_row(raw) for raw in ijson.items(stream, "vulnerabilities.item", use_float=True)]
    if is_older(released, get_meta(conn, "kev_date_released")):
        skipped = FileResult(path, "kev", len(rows), unchanged=len(rows))
        return Outcome(skipped, released, version, recorded=False)
    conn.execute("DELETE FROM kev")
    conn.execute("DELETE FROM source WHERE kind = 'kev'")
    conn.executemany("INSERT OR REPLACE INTO kev VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    set_meta(conn, "kev_date_released", released)
    set_meta(conn, "kev_catalog_version", version)
    return Outcome(FileResult(path, "kev", len(rows), added=len(rows)), released, version)


def _row(raw: Any) -> tuple[str, ...]:
    ident = raw.get("cveID") if isinstance(raw, dict) else None
    if not isinstance(ident, str) or not CVE_ID.fullmatch(ident) or not raw.get("dateAdded"):
        raise Malformed(f"KEV entry {ident or '(no cveID)'} lacks a CVE id or dateAdded")
    return (ident, *(str(raw.get(name) or "") for name in _FIELDS))
