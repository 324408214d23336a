"""``brulee db export`` and ``db import`` of a built database: one file carrying the database
and a manifest, for moving it to another (air-gapped) machine."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import tarfile
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from brulee import __version__
from brulee.errors import DatabaseError, FeedError
from brulee.util.boundedjson import load_json
from brulee.util.clock import utc_now
from brulee.util.text import one_line
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import install_database, lock_database
from brulee.vulndb.files import file_sha256, make_dir, part_path, read_hashed
from brulee.vulndb.importers.base import short
from brulee.vulndb.meta import DbInfo, check_schema, read_info, read_only

EXPORT_FORMAT = "brulee-vulndb-export"
EXPORT_VERSION = 1
_MANIFEST = "manifest.json"
_MANIFEST_LIMIT = 1 << 20
DATABASE_LIMIT = 16 << 30
"""Largest database an export may declare (the full NVD with every source is some 2 GB)."""
_MAX_RATIO = 1032
"""Most that deflate can expand its input (a declared size beyond it is not in the file)."""
_SQLITE_MAGIC = b"SQLite format 3\x00"


def export_db(db_path: Path, target: Path) -> Path:
    """Write the database to ``target``, one file that ``import_db`` reads on another machine.

    The file is a gzip-compressed tar of two members: ``manifest.json`` first (``format``
    ``brulee-vulndb-export``, ``schema_version``, ``database`` (the member's name), its ``size``
    and ``sha256``, ``exported_at``, ``built_at``, ``cves``, ``last_updates``), then the SQLite
    database. The checksum detects damage in transit, not deliberate tampering (nothing is signed).
    The database lock is held while reading; ``target`` is written atomically.
    """
    part = part_path(target)
    make_dir(target.parent)
    try:
        _export(db_path, target, part)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DatabaseError(f"cannot export {db_path} to {target}: {exc}") from exc
    return target


def _export(db_path: Path, target: Path, part: Path) -> None:
    with lock_database(db_path):
        info = _checked_info(db_path)
        digest, size = file_sha256(db_path)
        manifest = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_VERSION,
            "schema_version": SCHEMA_VERSION,
            "database": db_path.name,
            "size": size,
            "sha256": digest,
            "exported_at": utc_now().isoformat(timespec="seconds"),
            "exported_by": f"brulee {__version__}",
            "built_at": info.built_at,
            "cves": info.cves,
            "last_updates": dict(info.last_updates),
        }
        try:
            with tarfile.open(part, "w:gz", format=tarfile.PAX_FORMAT) as tar:
                text = json.dumps(manifest, indent=2).encode()
                _add(tar, _MANIFEST, io.BytesIO(text), len(text))
                with db_path.open("rb") as data:
                    _add(tar, db_path.name, data, size)
            with part.open("rb") as written:
                os.fsync(written.fileno())
            part.replace(target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise


def is_export(path: Path) -> bool:
    """Whether ``path`` looks like an ``export_db`` file (a tar whose first member is the
    manifest), so that ``db import`` can tell it from feed files."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            first = tar.next()
    except (tarfile.TarError, OSError, EOFError, zlib.error):
        return False
    return first is not None and first.name == _MANIFEST


def import_db(source: Path, db_path: Path) -> None:
    """Replace the database at ``db_path`` by the one exported into ``source``.

    Refuses (FeedError, database unchanged) a file that is not an export, of another schema
    version, whose database does not match the manifest's size and sha256, or that SQLite finds
    damaged; a database member that is sparse, larger than ``DATABASE_LIMIT``, than the file can
    hold or than the free space is refused before anything is written. Holds the database lock;
    the replacement is atomic.
    """
    make_dir(db_path.parent)
    with lock_database(db_path):
        try:
            with tarfile.open(source, "r:gz") as tar:
                manifest = _read_manifest(tar, source)
                member = tar.next()
                _check_member(member, manifest, source, db_path)
                stream = tar.extractfile(member) if member else None
                if stream is None:  # pragma: no cover - isfile() was checked
                    raise FeedError(f"{source}: unreadable database member")
                install_database(db_path, lambda temp: _unpack(stream, temp, manifest, source))
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise FeedError(
                f"{source} is not a brulee database export ({one_line(exc)}); "
                f"{db_path} was not changed"
            ) from exc
        except OSError as exc:
            raise DatabaseError(
                f"cannot import {source}: {exc}; {db_path} was not changed"
            ) from exc


def _check_member(
    member: tarfile.TarInfo | None, manifest: Mapping[str, Any], source: Path, db_path: Path
) -> None:
    """Refuse, before anything is written, a database member that is not where and what the
    manifest says, is sparse, or declares more than the file can hold or the disk can take."""
    if member is None or member.name != manifest["database"] or not member.isfile():
        raise FeedError(f"{source}: the database is not after the manifest")
    if member.issparse():
        raise FeedError(f"{source}: the database member is a sparse file; not an export of brulee")
    if member.size != manifest["size"]:
        raise FeedError(
            f"{source}: the database is {member.size:,} bytes, the manifest says "
            f"{manifest['size']:,}: damaged or altered, not imported"
        )
    packed = source.stat().st_size
    if member.size > DATABASE_LIMIT or member.size > _MAX_RATIO * packed:
        raise FeedError(
            f"{source}: declares a database of {member.size:,} bytes in a file of {packed:,} "
            f"bytes (at most {min(DATABASE_LIMIT, _MAX_RATIO * packed):,}); not imported"
        )
    free = shutil.disk_usage(db_path.parent).free
    if member.size > free:
        raise DatabaseError(
            f"cannot import {source}: its database needs {member.size:,} bytes, "
            f"{db_path.parent} has {free:,} free; {db_path} was not changed"
        )


def _checked_info(db_path: Path) -> DbInfo:
    if not db_path.is_file():
        raise DatabaseError(f"no vulnerability database at {db_path}")
    with read_only(db_path) as conn:
        return read_info(conn, db_path)


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, data)


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    member = tar.next()
    if member is None or member.name != _MANIFEST or not member.isfile() or member.issparse():
        raise FeedError(f"{source} is not a brulee database export (no {_MANIFEST} first)")
    if member.size > _MANIFEST_LIMIT:
        raise FeedError(f"{source}: {_MANIFEST} is too large")
    stream = tar.extractfile(member)
    try:
        manifest = load_json(stream.read() if stream else b"", max_depth=4, max_string=4096)
    except ValueError as exc:
        raise FeedError(f"{source}: {_MANIFEST} is not usable JSON ({one_line(exc)})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise FeedError(f"{source} is not a brulee database export")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise FeedError(
            f"{source} holds a database of schema version {manifest.get('schema_version')}, "
            f"this brulee needs {SCHEMA_VERSION}; export it again with a matching brulee"
        )
    for key, kind in (("database", str), ("size", int), ("sha256", str)):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise FeedError(f"{source}: {_MANIFEST} lacks {key}")
    return manifest


def _unpack(stream: IO[bytes], temp: Path, manifest: Mapping[str, Any], source: Path) -> None:
    """Copy the database out of the export, then check it against the manifest and with SQLite."""
    head = stream.read(len(_SQLITE_MAGIC))
    if head != _SQLITE_MAGIC:
        raise FeedError(f"{source}: the database member is not an SQLite database; not imported")
    with temp.open("wb") as out:
        digest, size = read_hashed(stream, out, head)
    if (size, digest) != (manifest["size"], manifest["sha256"]):
        raise FeedError(
            f"{source}: the database does not match its manifest ({size:,} bytes, sha256 "
            f"{digest}; the manifest says {manifest['size']:,} bytes, sha256 "
            f"{manifest['sha256']}): damaged or altered, not imported"
        )
    try:
        conn = sqlite3.connect(temp)
        try:
            check_schema(conn, source)
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            poisoned = _poisoned(conn) if verdict == "ok" else None
        finally:
            conn.close()
    except DatabaseError as exc:
        raise FeedError(f"{one_line(exc)}; not imported") from exc
    except sqlite3.Error as exc:
        raise FeedError(f"{source}: the database is unusable ({exc}); not imported") from exc
    if verdict != "ok":
        raise FeedError(f"{source}: SQLite finds the database damaged ({verdict})")
    if poisoned:
        raise FeedError(f"{source}: the database holds {poisoned}; not imported")


_SCORES = (
    ("cvss_metric", "NOT (typeof(score) IN ('integer', 'real') AND score BETWEEN 0 AND 10)",
     "a CVSS score that is not a number from 0 to 10"),
    ("epss", "NOT (typeof(score) IN ('integer', 'real') AND score BETWEEN 0 AND 1"
             " AND typeof(percentile) IN ('integer', 'real') AND percentile BETWEEN 0 AND 1)",
     "an EPSS score or percentile that is not a number from 0 to 1"),
)  # fmt: skip


def _poisoned(conn: sqlite3.Connection) -> str | None:
    """The first score out of its range in the database (as the importers refuse them), as
    ``WHAT (CVE)``; None if there is none."""
    for table, wrong, what in _SCORES:
        row = conn.execute(f"SELECT cve_id FROM {table} WHERE {wrong} LIMIT 1").fetchone()  # noqa: S608
        if row:
            return f"{what} ({short(row[0])})"
    return None
