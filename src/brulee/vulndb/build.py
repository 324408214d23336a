"""Import NVD 2.0, CISA KEV, FIRST EPSS, Debian security tracker and Canonical Ubuntu CVE OVAL files
into the database.

Files are recognised by their content and streamed. An import works on a temporary copy of the
database in the same directory, which atomically replaces the database only once every file has
been read: a bad file, a crash or a kill leaves the previous database as it was.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from brulee.core.cpe import index_name
from brulee.errors import DatabaseError, FeedError
from brulee.util.boundedjson import JsonError
from brulee.util.text import one_line
from brulee.vulndb.importers.base import FileResult, Malformed, Outcome, Progress
from brulee.vulndb.importers.debian import (
    import_debian_advisories,
    import_debian_aliases,
    import_debian_cpe,
)
from brulee.vulndb.importers.debian_lists import DebianSyntaxError
from brulee.vulndb.importers.epss import import_epss
from brulee.vulndb.importers.kev import import_kev
from brulee.vulndb.importers.nvd import import_nvd
from brulee.vulndb.importers.ubuntu import import_ubuntu_oval
from brulee.vulndb.inputs import Shape, open_input, sniff
from brulee.vulndb.meta import (
    SourceInfo,
    check_schema,
    set_meta,
    stamp_now,
    write_coverage,
    write_source,
)

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_STARTER_SUFFIXES = (".json", ".csv", ".gz", ".bz2")
STARTER_WAIT = 300.0
"""Seconds a first run waits for another process building the starter database."""
_LOCK_POLL = 0.2
_ADVICE = "nothing was imported; check the file or download it again"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did, file by file."""

    db_path: Path
    files: tuple[FileResult, ...]
    cves: int
    """CVEs in the database after the import."""
    seconds: float


# -- public API -----------------------------------------------------------------------------------


def import_files(
    db_path: Path,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    meta: Mapping[str, str | None] | None = None,
    locked: bool = False,
) -> ImportSummary:
    """Import NVD, KEV, EPSS, Debian tracker and Ubuntu CVE OVAL files into the database at
    ``db_path`` (created if absent).

    A CVE replaces the stored one only when its ``lastModified`` is newer; a rejected CVE is
    removed. A Debian DSA list, DLA list, CPE list or CPE aliases file replaces the previous one of
    its kind; an Ubuntu release's OVAL replaces that release's data unless it is older. Raises
    FeedError for a bad file and DatabaseError when the database cannot be written or another
    import holds its lock; in both cases the database is unchanged.

    ``meta``: keys to set (None: remove) in the ``meta`` table in the same transaction; with it,
    ``paths`` may be empty. ``locked``: the caller already holds ``lock_database(db_path)``.
    """
    return _build(db_path, paths, progress, fresh=False, coverage=None, meta=meta, locked=locked)


def ensure_starter(db_path: Path, *, wait: float = STARTER_WAIT) -> bool:
    """Build the starter database at ``db_path`` unless it exists; return whether this process
    built it. Another process building it (several first runs at once) is waited for, up to
    ``wait`` seconds, and its database used."""
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_database(db_path, wait=wait):
            if db_path.exists():
                return False
            build_starter(db_path, locked=True)
    except OSError as exc:
        raise DatabaseError(f"cannot write {db_path}: {exc}") from exc
    return True


def build_starter(
    db_path: Path, *, progress: Progress | None = None, locked: bool = False
) -> ImportSummary:
    """Build a fresh database at ``db_path`` from the starter data shipped with brulee.
    ``locked``: the caller already holds ``lock_database(db_path)``."""
    folder = resources.files("brulee") / "data" / "starter"
    try:
        entries = [e for e in folder.iterdir() if e.name.endswith(_STARTER_SUFFIXES)]
        coverage = _read_coverage((folder / "coverage.txt").read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatabaseError(
            f"the starter data of this brulee installation is unreadable ({exc}); "
            "reinstall brulee, or import feeds with `brulee db import`"
        ) from exc
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(resources.as_file(e)) for e in sorted(entries, key=_name)]
        return _build(db_path, paths, progress, fresh=True, coverage=coverage, locked=locked)


def _name(entry: Traversable) -> str:
    return entry.name


# -- the atomic build -----------------------------------------------------------------------------


def _build(
    db_path: Path,
    paths: Sequence[Path],
    progress: Progress | None,
    *,
    fresh: bool,
    coverage: frozenset[tuple[str, str]] | None,
    meta: Mapping[str, str | None] | None = None,
    locked: bool = False,
) -> ImportSummary:
    if not paths and not meta:
        raise FeedError(
            "nothing to import: name at least one NVD, KEV, EPSS, Debian tracker or Ubuntu OVAL "
            "file"
        )
    started = time.perf_counter()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.nullcontext() if locked else lock_database(db_path):
            _remove_stale_temps(db_path)
            temp = _temp_copy(db_path, fresh=fresh)
            try:
                results, cves = _fill(temp, db_path, paths, progress, coverage, meta=meta or {})
                _replace(temp, db_path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot build {db_path}: {exc}; it was not changed") from exc
    except OSError as exc:
        raise DatabaseError(f"cannot write {db_path}: {exc}") from exc
    return ImportSummary(db_path, results, cves, time.perf_counter() - started)


@contextlib.contextmanager
def lock_database(db_path: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold ``DB.lock`` exclusively (released by the kernel if the process dies); DatabaseError
    naming the lock file if another process still holds it after ``wait`` seconds. Not
    re-entrant."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    deadline = time.monotonic() + wait
    with lock_path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait:.0f} s)" if wait else ""
                    raise DatabaseError(
                        f"another brulee process is updating {db_path} (it holds {lock_path})"
                        f"{waited}; wait for it to finish, then try again"
                    ) from exc
                time.sleep(_LOCK_POLL)
        yield


def install_database(db_path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill an empty temporary file next to ``db_path`` with a complete database,
    then atomically put it in place of ``db_path``. For a caller holding ``lock_database``; if
    ``write`` raises, ``db_path`` is unchanged and the temporary file removed."""
    _remove_stale_temps(db_path)
    temp = _temp_copy(db_path, fresh=True)
    try:
        write(temp)
        _replace(temp, db_path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _temp_prefix(db_path: Path) -> str:
    return f".{db_path.name}."


def _remove_stale_temps(db_path: Path) -> None:
    """Delete temporary files left by an import that was killed (we hold the lock)."""
    prefix = _temp_prefix(db_path)
    for entry in db_path.parent.iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)


def _temp_copy(db_path: Path, *, fresh: bool) -> Path:
    handle, name = tempfile.mkstemp(prefix=_temp_prefix(db_path), suffix=".tmp", dir=db_path.parent)
    os.close(handle)
    temp = Path(name)
    if not fresh and db_path.exists():
        shutil.copyfile(db_path, temp)
        shutil.copymode(db_path, temp)
    else:
        temp.chmod(0o644)
    return temp


def _replace(temp: Path, db_path: Path) -> None:
    """Make ``temp`` durable, then atomically put it in place of ``db_path``."""
    _fsync(temp)
    temp.replace(db_path)
    _fsync(db_path.parent)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _connect_for_build(temp: Path, db_path: Path, *, new: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(temp, isolation_level=None)
    if not new:
        check_schema(conn, db_path)
    # A private temporary file: no journal, no syncs (fsync once before the rename).
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA cache_size = -65536")
    if new:
        schema = resources.files("brulee.vulndb").joinpath("schema.sql").read_text("utf-8")
        conn.executescript(schema)
        set_meta(conn, "created_at", stamp_now())
    return conn


def _fill(
    temp: Path,
    db_path: Path,
    paths: Sequence[Path],
    progress: Progress | None,
    coverage: frozenset[tuple[str, str]] | None,
    *,
    meta: Mapping[str, str | None],
) -> tuple[tuple[FileResult, ...], int]:
    conn = _connect_for_build(temp, db_path, new=temp.stat().st_size == 0)
    try:
        conn.execute("BEGIN")
        results = tuple(_import_path(conn, path, progress) for path in paths)
        if coverage is not None or any(r.kind == "nvd" for r in results):
            write_coverage(conn, coverage)
        for key, value in meta.items():
            set_meta(conn, key, value)
        set_meta(conn, "built_at", stamp_now())
        conn.execute("COMMIT")
        cves: int = conn.execute("SELECT count(*) FROM cve").fetchone()[0]
    finally:
        conn.close()
    return results, cves


def _read_coverage(text: str) -> frozenset[tuple[str, str]]:
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return frozenset((index_name(vendor), index_name(product)) for vendor, product in pairs)


def _import_path(conn: sqlite3.Connection, path: Path, progress: Progress | None) -> FileResult:
    """Import one file, turning every way it can be bad into one FeedError line."""
    try:
        shape, header = sniff(path)
        with open_input(path) as source:
            outcome = _import_content(conn, path, shape, header, source.content, progress=progress)
            sha256, size, content_sha256, content_size = source.finish()
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    except (Malformed, DebianSyntaxError, csv.Error) as exc:
        raise FeedError(f"{path}: {one_line(exc)}; {_ADVICE}") from exc
    except JsonError as exc:
        raise FeedError(f"{path}: {one_line(exc)}; {_ADVICE}") from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not UTF-8 text ({one_line(exc)}); {_ADVICE}") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise FeedError(f"{path}: cannot read it ({one_line(exc)}); {_ADVICE}") from exc
    result = outcome.result
    if progress:
        progress(path.name, result.records)
    if outcome.recorded:
        source_info = SourceInfo(
            result.kind, path.name, sha256, size, content_sha256, content_size,
            outcome.timestamp, outcome.version, result.records, stamp_now(),
        )  # fmt: skip
        write_source(conn, source_info)
    return result


def _import_content(
    conn: sqlite3.Connection,
    path: Path,
    shape: Shape,
    header: Mapping[str, Any],
    stream: IO[bytes],
    *,
    progress: Progress | None,
) -> Outcome:
    if shape == "kev":
        return import_kev(conn, path, stream, header)
    if shape == "epss":
        return import_epss(conn, path, stream, progress)
    if shape == "debian-dsa":
        return import_debian_advisories(conn, path, stream, "dsa", progress)
    if shape == "debian-dla":
        return import_debian_advisories(conn, path, stream, "dla", progress)
    if shape == "debian-cpe":
        return import_debian_cpe(conn, path, stream)
    if shape == "debian-cpe-aliases":
        return import_debian_aliases(conn, path, stream)
    if shape == "ubuntu-oval":
        return import_ubuntu_oval(conn, path, stream, progress)
    return import_nvd(conn, path, stream, header, shape, progress=progress)
