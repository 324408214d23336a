"""The Canonical Ubuntu CVE OVAL importer: a release's file replaces what the database held for
that release, unless the database holds newer data for it.

Criteria name their fixed version through a test and a state that come later in the file; they
are joined in temporary tables, so that memory stays flat whatever the file's size.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from brulee.vulndb.importers.base import BATCH, FileResult, Malformed, Outcome, Progress, is_older
from brulee.vulndb.importers.ubuntu_oval import (
    Definition,
    DpkgState,
    DpkgTest,
    Header,
    Record,
    read_oval,
)

_TEMP_TABLES = (
    "CREATE TEMP TABLE oval_criterion (cve_id, package, status, note, test_ref)",
    "CREATE TEMP TABLE oval_test (id TEXT PRIMARY KEY, state_ref)",
    "CREATE TEMP TABLE oval_state (id TEXT PRIMARY KEY, evr, operation)",
)

# A fixed version counts only where the OVAL test says "vulnerable below it", written as Canonical's
# tracker writes it (without the "0:" epoch the state adds); a package stated twice with different
# statuses or versions becomes 'conflicting' (nothing is decided on it).
_STATUSES = """
INSERT INTO ubuntu_status (package, release, cve_id, status, fixed_version, note)
SELECT package, ?1, cve_id, status, fixed, CASE WHEN fixed IS NULL THEN note END
FROM (
    SELECT c.package, c.cve_id, c.status, c.note,
           CASE WHEN c.status IN ('released', 'not-affected', 'pending')
                 AND s.operation = 'less than'
                THEN CASE WHEN s.evr LIKE '0:%' THEN substr(s.evr, 3) ELSE s.evr END END AS fixed
    FROM oval_criterion AS c
    LEFT JOIN oval_test AS t ON t.id = c.test_ref
    LEFT JOIN oval_state AS s ON s.id = t.state_ref
) WHERE true
ON CONFLICT (package, release, cve_id) DO UPDATE
SET status = 'conflicting', fixed_version = NULL, note = NULL
WHERE (status, fixed_version) IS NOT (excluded.status, excluded.fixed_version)
"""


def import_ubuntu_oval(
    conn: sqlite3.Connection, path: Path, stream: IO[bytes], progress: Progress | None
) -> Outcome:
    """Store one release's CVE OVAL in place of the release's previous data; an older file than
    the one held is read (so that it is checked) but not applied."""
    records = read_oval(stream)
    header = next(records)
    if not isinstance(header, Header):  # read_oval yields its Header first
        raise Malformed("no OVAL header")
    stored = conn.execute(
        "SELECT generated FROM ubuntu_release WHERE release = ?", (header.release,)
    ).fetchone()
    if stored and is_older(header.generated, stored[0]):
        count = sum(isinstance(record, Definition) for record in records)
        result = FileResult(path, "ubuntu-oval", count, unchanged=count)
        return Outcome(result, header.generated, header.generator_version, recorded=False)
    _forget_release(conn, header.release)
    for create in _TEMP_TABLES:  # not executescript(): it would commit the build's transaction
        conn.execute(create)
    try:
        count = _store(conn, path, header.release, records, progress)
        conn.execute(_STATUSES, (header.release,))
    except sqlite3.IntegrityError as exc:
        raise Malformed(f"an OVAL id or CVE definition appears twice ({exc})") from exc
    finally:
        for table in ("oval_criterion", "oval_test", "oval_state"):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(
        "INSERT INTO ubuntu_release VALUES (?, ?, ?, ?)",
        (header.release, header.generated, path.name, count),
    )
    result = FileResult(path, "ubuntu-oval", count, added=count)
    return Outcome(result, header.generated, header.generator_version)


def _forget_release(conn: sqlite3.Connection, release: str) -> None:
    """Remove the release's data and the ``source`` row of the file it came from."""
    conn.execute(
        "DELETE FROM source WHERE kind = 'ubuntu-oval' AND name IN "
        "(SELECT source FROM ubuntu_release WHERE release = ?)",
        (release,),
    )
    for table in ("ubuntu_release", "ubuntu_cve", "ubuntu_status"):
        conn.execute(f"DELETE FROM {table} WHERE release = ?", (release,))  # noqa: S608


def _store(
    conn: sqlite3.Connection,
    path: Path,
    release: str,
    records: Iterator[Record],
    progress: Progress | None,
) -> int:
    """Insert the definitions, tests and states in batches; return the number of definitions."""
    count = 0
    while batch := list(islice(records, BATCH)):
        definitions = [r for r in batch if isinstance(r, Definition)]
        conn.executemany(
            "INSERT OR IGNORE INTO ubuntu_cve VALUES (?, ?, ?, ?, ?)",
            ((release, d.cve, d.priority, d.public_date, json.dumps(d.usns)) for d in definitions),
        )
        conn.executemany(
            "INSERT INTO temp.oval_criterion VALUES (?, ?, ?, ?, ?)",
            _criteria(definitions),
        )
        conn.executemany(
            "INSERT INTO temp.oval_test VALUES (?, ?)",
            ((r.id, r.state_ref) for r in batch if isinstance(r, DpkgTest)),
        )
        conn.executemany(
            "INSERT INTO temp.oval_state VALUES (?, ?, ?)",
            ((r.id, r.evr, r.operation) for r in batch if isinstance(r, DpkgState)),
        )
        count += len(definitions)
        if progress:
            progress(path.name, count)
    return count


def _criteria(
    definitions: Iterable[Definition],
) -> Iterator[tuple[str, str, str, str | None, str]]:
    for definition in definitions:
        for c in definition.criteria:
            yield definition.cve, c.package, c.status, c.note, c.test_ref
