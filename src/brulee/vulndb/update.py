"""Keeping the database current: ``brulee db update`` (NVD 2.0 feeds or the NVD CVE API 2.0, CISA
KEV, FIRST EPSS, the Debian security tracker), ``db mirror`` (the same files into a directory, for
air-gapped networks), and ``db export``/``db import`` of a built database.

An update holds the database's lock from the first download to the end, downloads into
``.DB.download/`` next to the database (``.NAME.part`` files, resumed), verifies every NVD feed
against its ``.meta`` and builds with ``import_files`` into a copy that atomically replaces the
database: a failure or a kill at any point leaves the previous database as it was.

A mirror (``--mirror URL``, ``db mirror DIR``) is one directory holding every file under these
names (``MIRROR_FILES``), served by any web server or used as ``file://``:

- ``nvdcve-2.0-YYYY.json.gz`` and ``nvdcve-2.0-YYYY.meta`` for each year from 2002, and the same
  pair for ``modified`` and ``recent`` (NVD's own names);
- ``known_exploited_vulnerabilities.json`` (CISA KEV), ``epss_scores-current.csv.gz`` (FIRST EPSS);
- ``DSA-list``, ``DLA-list``, ``CPE-list``, ``CPE-aliases``: the Debian security tracker's
  ``data/DSA/list``, ``data/DLA/list``, ``data/CPE/list`` and ``data/CPE/aliases``.

The database records, in ``meta``, ``last_update:<source>`` (UTC) for each source brought up to
date (downloaded, or found unchanged upstream), ``last_update`` and ``update_source``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from brulee import __version__
from brulee.errors import DatabaseError, FeedError
from brulee.util.clock import utc_now
from brulee.util.retry import GaveUp, Retryable
from brulee.util.text import one_line
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import ImportSummary, import_files, install_database, lock_database
from brulee.vulndb.download import (
    DownloadError,
    NotFound,
    Progress,
    RateLimiter,
    Transport,
    download,
    fetch,
    join,
)
from brulee.vulndb.meta import (
    LAST_UPDATE,
    DbInfo,
    SourceInfo,
    SourceKind,
    check_schema,
    parse_instant,
    read_info,
    read_sources,
)

__all__ = [
    "MIRROR_FILES",
    "FeedMeta",
    "Fetched",
    "MirrorSummary",
    "Progress",
    "Transport",
    "UpdateSummary",
    "UpdateUrls",
    "export_db",
    "import_db",
    "is_export",
    "mirror",
    "parse_feed_meta",
    "update",
]

NVD_FEEDS = "https://nvd.nist.gov/feeds/json/cve/2.0/"
NVD_API = "https://services.nvd.nist.gov/rest/json/cves/2.0"
KEV = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
DEBIAN_TRACKER = (
    "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/"
)

_CURRENT_FEEDS = ("nvdcve-2.0-modified", "nvdcve-2.0-recent")
FIRST_YEAR = 2002
"""The first yearly NVD feed (it holds the CVE-1999 to CVE-2002 ids)."""
MODIFIED_WINDOW = timedelta(days=7)
"""An NVD update less than this old is followed by the ``modified`` and ``recent`` feeds only
(NVD's ``modified`` feed spans 8 days); an older one (or none) checks every yearly feed too."""
API_WINDOW = timedelta(days=120)
"""The longest ``lastModStartDate``..``lastModEndDate`` range the NVD API accepts."""
API_OVERLAP = timedelta(hours=1)
"""How far before the last update an API update starts, against clock skew (repeats are free)."""
API_RATE = {False: 5, True: 50}
"""Requests per ``API_PERIOD`` seconds the NVD API allows without and with an API key."""
API_PERIOD = 30.0
API_FILE = "nvd-api-update.json.gz"
"""The NVD feed an API update assembles from its pages (the name of its ``source`` row)."""
EXPORT_FORMAT = "brulee-vulndb-export"
EXPORT_VERSION = 1
_MANIFEST = "manifest.json"
_MANIFEST_LIMIT = 1 << 20
_CHUNK = 1 << 16
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """A source published as one whole file, replaced on each update (everything but NVD)."""

    kind: SourceKind
    file: str
    """Its name in a mirror."""
    label: str


_SNAPSHOTS = (
    _Snapshot("kev", "known_exploited_vulnerabilities.json", "CISA KEV catalog"),
    _Snapshot("epss", "epss_scores-current.csv.gz", "FIRST EPSS scores"),
    _Snapshot("debian-dsa", "DSA-list", "Debian DSA list"),
    _Snapshot("debian-dla", "DLA-list", "Debian DLA list"),
    _Snapshot("debian-cpe", "CPE-list", "Debian CPE list"),
    _Snapshot("debian-cpe-aliases", "CPE-aliases", "Debian CPE aliases"),
)
MIRROR_FILES = (
    "nvdcve-2.0-YYYY.json.gz",
    "nvdcve-2.0-YYYY.meta",
    "nvdcve-2.0-modified.json.gz",
    "nvdcve-2.0-modified.meta",
    "nvdcve-2.0-recent.json.gz",
    "nvdcve-2.0-recent.meta",
    *(s.file for s in _SNAPSHOTS),
)


@dataclass(frozen=True, slots=True)
class UpdateUrls:
    """Where each source is downloaded from. ``nvd_feeds`` is a directory (base URL)."""

    nvd_feeds: str = NVD_FEEDS
    nvd_api: str = NVD_API
    kev: str = KEV
    epss: str = EPSS
    debian_dsa: str = DEBIAN_TRACKER + "DSA/list"
    debian_dla: str = DEBIAN_TRACKER + "DLA/list"
    debian_cpe: str = DEBIAN_TRACKER + "CPE/list"
    debian_cpe_aliases: str = DEBIAN_TRACKER + "CPE/aliases"

    @classmethod
    def from_mirror(cls, base: str, *, nvd_api: str = NVD_API) -> UpdateUrls:
        """Every file from the mirror at ``base`` (a URL, or a directory path), the API aside."""
        root = base if "://" in base else Path(base).expanduser().resolve().as_uri()
        root = root.rstrip("/") + "/"
        return cls(
            nvd_feeds=root,
            nvd_api=nvd_api,
            **{s.kind.replace("-", "_"): join(root, s.file) for s in _SNAPSHOTS},
        )

    def _url(self, snapshot: _Snapshot) -> str:
        return str(getattr(self, snapshot.kind.replace("-", "_")))


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """An NVD feed's ``.meta`` file: the feed's date, and size and sha256 of its JSON."""

    last_modified: str
    size: int
    """Of the uncompressed JSON."""
    sha256: str
    """Of the uncompressed JSON, lowercase hex."""
    gz_size: int | None = None
    """Of the ``.json.gz`` file."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """One file downloaded."""

    name: str
    url: str
    size: int


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    """What ``update`` did."""

    db_path: Path
    source: Literal["feeds", "api"]
    downloaded: tuple[Fetched, ...]
    unchanged: tuple[str, ...]
    """NVD feeds not downloaded (their ``.meta`` matches the database), and downloaded files not
    imported (the same file as the database's)."""
    warnings: tuple[str, ...]
    """One line per source that could not be updated (missing from a mirror...); it kept its
    data."""
    imported: ImportSummary
    seconds: float

    @property
    def cves(self) -> int:
        return self.imported.cves


@dataclass(frozen=True, slots=True)
class MirrorSummary:
    """What ``mirror`` did."""

    directory: Path
    downloaded: tuple[Fetched, ...]
    unchanged: tuple[str, ...]
    warnings: tuple[str, ...]
    seconds: float


# -- public API -----------------------------------------------------------------------------------


def update(
    db_path: Path,
    *,
    mirror: str | None = None,
    source: Literal["feeds", "api"] = "feeds",
    urls: UpdateUrls | None = None,
    api_key: str | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utc_now,
    years: Iterable[int] | None = None,
    transport: Transport | None = None,
) -> UpdateSummary:
    """Bring the database at ``db_path`` (created if absent) up to date.

    NVD from the 2.0 feeds (``source="feeds"``: every yearly feed on the first update or after
    ``MODIFIED_WINDOW``, else ``modified`` and ``recent``; only feeds whose ``.meta`` differs from
    what the database holds are downloaded) or from the CVE API 2.0 (``"api"``: changes since the
    last update, ``api_key`` or ``NVD_API_KEY`` raising the rate limit); then KEV, EPSS and the
    Debian tracker files. ``mirror`` takes every file but the API from one base URL or directory.
    ``years``: the yearly feeds (default 2002 to this year). ``progress`` gets
    ``("download NAME", bytes, total)`` (for the API: CVEs, total of the current window) and
    ``("import NAME", records, None)``. ``now`` and ``transport`` (retries, sleep, clock) are
    for tests.

    A missing or failing KEV, EPSS or Debian file is a warning in the summary (the database keeps
    its data); an NVD failure raises DatabaseError (another update running, a feed missing, a
    checksum mismatch after retries, a file that is not what it should be) and the database is
    unchanged.
    """
    clock = time.perf_counter()
    urls = urls or UpdateUrls()
    if mirror is not None:
        urls = UpdateUrls.from_mirror(mirror, nvd_api=urls.nvd_api)
    session = _Session(transport or Transport(), progress)
    started = _aware(now())
    _mkdir(db_path.parent)
    try:
        with lock_database(db_path):
            state = _State.read(db_path)
            staging = _staging(db_path)
            done = False
            try:
                if source == "api":
                    files = _api_update(
                        session, urls.nvd_api, staging, state=state, started=started, key=api_key
                    )
                else:
                    files = _feeds_update(
                        session, urls.nvd_feeds, staging, state=state, started=started, years=years
                    )
                snapshots = _snapshots_update(session, urls, staging, state)
                imported = _import(
                    session, db_path, files, snapshots, started=started, source=source
                )
                done = True
            finally:
                _clean(staging, keep_parts=not done)
    except OSError as exc:
        raise DatabaseError(f"cannot update {db_path}: {exc}; it was not changed") from exc
    return UpdateSummary(
        db_path,
        source,
        tuple(session.fetched),
        tuple(session.unchanged),
        tuple(session.warnings),
        imported,
        time.perf_counter() - clock,
    )


def mirror(
    directory: Path,
    *,
    urls: UpdateUrls | None = None,
    years: Iterable[int] | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utc_now,
    transport: Transport | None = None,
) -> MirrorSummary:
    """Fill ``directory`` with every file ``update --mirror`` reads, under ``MIRROR_FILES`` names.

    Feeds whose ``.meta`` matches the local copy are not downloaded again. Each file is written
    atomically (the ``.json.gz`` before its ``.meta``). A missing KEV, EPSS or Debian file is a
    warning (any earlier copy stays); a missing or unverifiable NVD feed raises DatabaseError.
    """
    clock = time.perf_counter()
    urls = urls or UpdateUrls()
    session = _Session(transport or Transport(), progress)
    _mkdir(directory)
    try:
        with lock_database(directory / ".brulee-mirror"):
            for stem in [*_yearly(years, _aware(now())), *_CURRENT_FEEDS]:
                _mirror_feed(session, urls.nvd_feeds, directory, stem)
            for snapshot in _SNAPSHOTS:
                target = directory / snapshot.file
                keeps = "the mirror keeps its" if target.exists() else "the mirror has no"
                session.snapshot(snapshot, urls._url(snapshot), target, keeps)
            for leftover in directory.glob(".*.part"):
                leftover.unlink(missing_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot write the mirror {directory}: {exc}") from exc
    return MirrorSummary(
        directory,
        tuple(session.fetched),
        tuple(session.unchanged),
        tuple(session.warnings),
        time.perf_counter() - clock,
    )


def _mirror_feed(session: _Session, base: str, directory: Path, stem: str) -> None:
    meta_path = directory / f"{stem}.meta"
    target = directory / f"{stem}.json.gz"
    local = _local_meta(meta_path)

    def current(meta: FeedMeta) -> bool:
        return (
            local is not None
            and (local.sha256, local.size) == (meta.sha256, meta.size)
            and target.is_file()
            and target.stat().st_size == (meta.gz_size or local.gz_size or -1)
        )

    raw = session.feed(base, stem, target, current)
    if not meta_path.is_file() or meta_path.read_bytes() != raw:
        _write_atomic(meta_path, raw)


def export_db(db_path: Path, target: Path) -> Path:
    """Write the database to ``target``, one file that ``import_db`` reads on another machine.

    The file is a gzip-compressed tar of two members: ``manifest.json`` first (``format``
    ``brulee-vulndb-export``, ``schema_version``, ``database`` (the member's name), its ``size``
    and ``sha256``, ``exported_at``, ``built_at``, ``cves``, ``last_updates``), then the SQLite
    database. The checksum detects damage in transit, not deliberate tampering (nothing is signed).
    The database lock is held while reading; ``target`` is written atomically.
    """
    part = target.with_name(f".{target.name}.part")
    _mkdir(target.parent)
    try:
        _export(db_path, target, part)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise DatabaseError(f"cannot export {db_path} to {target}: {exc}") from exc
    return target


def _export(db_path: Path, target: Path, part: Path) -> None:
    with lock_database(db_path):
        info = _checked_info(db_path)
        digest, size = _file_sha256(db_path)
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

    Refuses (DatabaseError, database unchanged) a file that is not an export, of another schema
    version, whose database does not match the manifest's size and sha256, or that SQLite finds
    damaged. Holds the database lock; the replacement is atomic.
    """
    _mkdir(db_path.parent)
    with lock_database(db_path):
        try:
            with tarfile.open(source, "r:gz") as tar:
                manifest = _read_manifest(tar, source)
                member = tar.next()
                if member is None or member.name != manifest["database"] or not member.isfile():
                    raise DatabaseError(f"{source}: the database is not after the manifest")
                if member.size != manifest["size"]:
                    raise DatabaseError(
                        f"{source}: the database is {member.size:,} bytes, the manifest says "
                        f"{manifest['size']:,}: damaged or altered, not imported"
                    )
                stream = tar.extractfile(member)
                if stream is None:  # pragma: no cover - isfile() was checked
                    raise DatabaseError(f"{source}: unreadable database member")
                install_database(db_path, lambda temp: _unpack(stream, temp, manifest, source))
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DatabaseError(
                f"{source} is not a brulee database export ({one_line(exc)}); "
                f"{db_path} was not changed"
            ) from exc
        except OSError as exc:
            raise DatabaseError(
                f"cannot import {source}: {exc}; {db_path} was not changed"
            ) from exc


# -- the update session ---------------------------------------------------------------------------


@dataclass
class _Session:
    transport: Transport
    progress: Progress | None
    fetched: list[Fetched] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def feed(
        self, base: str, stem: str, target: Path, current: Callable[[FeedMeta], bool]
    ) -> bytes:
        """Download NVD feed ``stem`` into ``target`` and verify it against its ``.meta``, unless
        ``current(meta)``; return the ``.meta`` as read.

        A download that does not match is fetched again, ``.meta`` included (NVD may have
        published a new feed meanwhile); DatabaseError once the attempts are spent.
        """
        meta_url, url = join(base, f"{stem}.meta"), join(base, f"{stem}.json.gz")
        part = _part(target)

        def attempt() -> bytes:
            raw = self.get(meta_url, "the NVD feed file")
            try:
                meta = parse_feed_meta(raw.decode("utf-8", "replace"))
            except ValueError as exc:
                raise DatabaseError(f"{meta_url} is not an NVD .meta file: {exc}") from exc
            if current(meta):
                self.unchanged.append(target.name)
                return raw
            problem = _verify_feed(part, meta) if part.exists() else "absent"
            if problem is not None:  # else: left complete by a killed update
                if part.exists() and part.stat().st_size >= (meta.gz_size or 0):
                    part.unlink()  # a whole file of another version: resuming cannot help
                self._required(url, lambda: self._download(url, part, target.name))
                problem = _verify_feed(part, meta)
            if problem is None:
                size = part.stat().st_size
                part.replace(target)
                self.fetched.append(Fetched(target.name, url, size))
                return raw
            part.unlink()
            raise Retryable(f"{url} does not match {meta_url}: {problem}")

        try:
            return self.transport.run(attempt)
        except GaveUp as exc:
            raise DatabaseError(f"{exc}; nothing was imported") from exc

    def snapshot(self, snapshot: _Snapshot, url: str, target: Path, keeps: str) -> bool:
        """Download a KEV, EPSS or Debian file into ``target``; on failure warn and return False."""
        part = _part(target)
        part.unlink(missing_ok=True)  # no checksum to verify a resumed file with: start afresh
        try:
            size = self._download(url, part, target.name)
        except DownloadError as exc:
            part.unlink(missing_ok=True)
            reason = "not found" if isinstance(exc, NotFound) else "could not be downloaded"
            self.warnings.append(
                f"{snapshot.label} ({snapshot.file}) {reason}: {exc}; {keeps} {snapshot.label}"
            )
            return False
        part.replace(target)
        self.fetched.append(Fetched(target.name, url, size))
        return True

    def _download(self, url: str, part: Path, name: str) -> int:
        return download(url, part, self.transport, label=f"download {name}", progress=self.progress)

    def get(
        self,
        url: str,
        what: str,
        *,
        headers: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
    ) -> bytes:
        """``fetch`` a file NVD data needs (403 retried with a ``limiter``)."""
        return self._required(
            url,
            lambda: fetch(
                url,
                self.transport,
                headers=headers,
                limiter=limiter,
                retry_forbidden=limiter is not None,
            ),
            what,
        )

    @staticmethod
    def _required(url: str, action: Callable[[], _T], what: str = "the NVD feed file") -> _T:
        try:
            return action()
        except NotFound as exc:
            raise DatabaseError(f"{what} is missing: {exc}; nothing was imported") from exc


@dataclass(frozen=True, slots=True)
class _State:
    """What the database holds before the update."""

    sources: tuple[SourceInfo, ...]
    meta: Mapping[str, str]

    @classmethod
    def read(cls, db_path: Path) -> _State:
        if not db_path.exists():
            return cls((), {})
        try:
            conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                check_schema(conn, db_path)
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                return cls(read_sources(conn), meta)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read {db_path}: {exc}") from exc

    def last_update(self, kind: str) -> datetime | None:
        return parse_instant(self.meta.get(LAST_UPDATE + kind))

    def feed_content(self, name: str) -> tuple[str, int] | None:
        """sha256 and size of the JSON of the NVD feed file ``name`` last imported."""
        for source in self.sources:
            if source.kind == "nvd" and source.name == name:
                return source.content_sha256, source.content_size
        return None

    def holds(self, kind: SourceKind, sha256: str) -> bool:
        """Whether the database's file of ``kind`` is this very file."""
        return any(s.kind == kind and s.sha256 == sha256 for s in self.sources)


def _feeds_update(
    session: _Session,
    base: str,
    staging: Path,
    *,
    state: _State,
    started: datetime,
    years: Iterable[int] | None,
) -> list[Path]:
    last = state.last_update("nvd")
    recent = last is not None and timedelta(0) <= started - last <= MODIFIED_WINDOW
    stems = [*([] if recent else _yearly(years, started)), *_CURRENT_FEEDS]
    files: list[Path] = []
    for stem in stems:
        target = staging / f"{stem}.json.gz"
        held = state.feed_content(target.name)

        def current(meta: FeedMeta, held: tuple[str, int] | None = held) -> bool:
            return held == (meta.sha256, meta.size)

        session.feed(base, stem, target, current)
        if target.exists():
            files.append(target)
    return files


def _yearly(years: Iterable[int] | None, now: datetime) -> list[str]:
    chosen = range(FIRST_YEAR, now.year + 1) if years is None else sorted(set(years))
    return [f"nvdcve-2.0-{year}" for year in chosen]


def _snapshots_update(
    session: _Session, urls: UpdateUrls, staging: Path, state: _State
) -> dict[Path, _Snapshot | None]:
    """Download KEV, EPSS and the Debian files: the downloaded ones, None for those identical to
    the database's (not imported)."""
    downloaded: dict[Path, _Snapshot | None] = {}
    for snapshot in _SNAPSHOTS:
        target = staging / snapshot.file
        held = any(source.kind == snapshot.kind for source in state.sources)
        keeps = "the database keeps its" if held else "the database has no"
        if session.snapshot(snapshot, urls._url(snapshot), target, keeps):
            if state.holds(snapshot.kind, _sha256(target)):
                session.unchanged.append(snapshot.file)
                downloaded[target] = None
            else:
                downloaded[target] = snapshot
    return downloaded


def _import(
    session: _Session,
    db_path: Path,
    nvd: Sequence[Path],
    snapshots: Mapping[Path, _Snapshot | None],
    *,
    started: datetime,
    source: str,
) -> ImportSummary:
    """Build with ``import_files``, recording the update times. A KEV, EPSS or Debian file that
    is not what it should be becomes a warning and the build is done again without it."""
    progress = session.progress

    def records(name: str, count: int) -> None:
        if progress:
            progress(f"import {name}", count, None)

    stamp = started.isoformat(timespec="seconds")
    kept = dict(snapshots)
    while True:
        kinds = ["nvd", *(s.kind for s in _SNAPSHOTS if _staged(kept, s))]
        meta: dict[str, str | None] = {LAST_UPDATE + kind: stamp for kind in kinds}
        meta |= {"last_update": stamp, "update_source": source}
        files = [*nvd, *(path for path, snapshot in kept.items() if snapshot)]
        try:
            return import_files(db_path, files, progress=records, meta=meta, locked=True)
        except FeedError as exc:
            message = str(exc)
            bad = next(
                ((p, s) for p, s in kept.items() if s and message.startswith(f"{p}: ")), None
            )
            if bad is None:
                raise DatabaseError(
                    f"a downloaded file is unusable, {db_path} was not changed: {exc}"
                ) from exc
            path, snapshot = bad
            del kept[path]
            reason = message.removeprefix(f"{path}: ").split("; nothing was imported")[0]
            session.warnings.append(
                f"{snapshot.label} ({snapshot.file}) is unusable: {reason}; the database keeps "
                f"what it had of the {snapshot.label}"
            )


def _staged(kept: Mapping[Path, _Snapshot | None], snapshot: _Snapshot) -> bool:
    return any(path.name == snapshot.file for path in kept)


# -- NVD API --------------------------------------------------------------------------------------


def _api_update(
    session: _Session,
    url: str,
    staging: Path,
    *,
    state: _State,
    started: datetime,
    key: str | None,
) -> list[Path]:
    """Fetch the CVEs changed since the last update (all of them on the first) page by page into
    one NVD 2.0 feed file, ``API_FILE``."""
    target = staging / API_FILE
    key = key or os.environ.get("NVD_API_KEY") or None
    limiter = RateLimiter(API_RATE[key is not None], API_PERIOD, session.transport)
    headers = {"apiKey": key} if key else {}
    last = state.last_update("nvd")
    windows: list[tuple[datetime, datetime] | None] = (
        [None] if last is None else list(_windows(min(last, started) - API_OVERLAP, started))
    )
    with _FeedWriter(target) as writer:
        for window in windows:
            index, before = 0, writer.count
            while True:
                params: dict[str, str | int] = {
                    "resultsPerPage": session.transport.api_page_size,
                    "startIndex": index,
                }
                if window is not None:
                    params["lastModStartDate"] = _api_time(window[0])
                    params["lastModEndDate"] = _api_time(window[1])
                page_url = f"{url}?{urllib.parse.urlencode(params)}"
                body = session.get(page_url, "the NVD API page", headers=headers, limiter=limiter)
                items, total, stamp = _api_page(body, page_url)
                writer.add(items, stamp or _nvd_time(started))
                index += len(items)
                if session.progress:
                    session.progress(f"download {API_FILE}", writer.count, before + total)
                if index >= total:
                    break
                if not items:
                    raise DatabaseError(
                        f"{page_url}: the NVD API returned no CVEs at index {index} of {total}; "
                        "nothing was imported"
                    )
    session.fetched.append(Fetched(API_FILE, url, target.stat().st_size))
    return [target]


def _windows(start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """``start``..``end`` in ranges of at most ``API_WINDOW``."""
    while True:
        stop = min(start + API_WINDOW, end)
        yield start, stop
        if stop >= end:
            return
        start = stop


def _api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _nvd_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _api_page(body: bytes, url: str) -> tuple[list[Any], int, str | None]:
    """The CVE items, ``totalResults`` and ``timestamp`` of an API answer."""
    try:
        page = json.loads(body)
    except ValueError as exc:
        raise DatabaseError(
            f"{url}: the NVD API answer is not JSON ({exc}); nothing was imported"
        ) from exc
    items = page.get("vulnerabilities") if isinstance(page, dict) else None
    total = page.get("totalResults") if isinstance(page, dict) else None
    if not isinstance(items, list) or not isinstance(total, int):
        raise DatabaseError(
            f"{url}: the NVD API answer has no vulnerabilities list or totalResults; "
            "nothing was imported"
        )
    stamp = page.get("timestamp")
    return items, total, stamp if isinstance(stamp, str) else None


class _FeedWriter:
    """Writes CVE items as one gzip NVD 2.0 feed as they arrive, dated by the first page."""

    def __init__(self, path: Path) -> None:
        self.count = 0
        self._out: IO[str] = gzip.open(path, "wt", encoding="utf-8")  # noqa: SIM115
        self._started = False

    def add(self, items: Iterable[Any], timestamp: str) -> None:
        if not self._started:
            header = {"format": "NVD_CVE", "version": "2.0", "timestamp": timestamp}
            self._out.write(json.dumps(header)[:-1] + ', "vulnerabilities": [')
            self._started = True
        for item in items:
            self._out.write(("," if self.count else "") + json.dumps(item, ensure_ascii=False))
            self.count += 1

    def __enter__(self) -> _FeedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._out.write("]}")
        self._out.close()


# -- NVD feeds ------------------------------------------------------------------------------------


def parse_feed_meta(text: str) -> FeedMeta:
    """Read an NVD ``.meta`` file (``key:value`` lines); ValueError if it lacks size or sha256."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    try:
        sha256 = fields["sha256"].lower()
        size = int(fields["size"])
    except KeyError as exc:
        raise ValueError(f"no {exc.args[0]} line") from exc
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"sha256 {fields['sha256']!r} is not a SHA-256 digest")
    gz_size = fields.get("gzSize")
    return FeedMeta(
        last_modified=fields.get("lastModifiedDate", ""),
        size=size,
        sha256=sha256,
        gz_size=int(gz_size) if gz_size else None,
    )


def _verify_feed(path: Path, meta: FeedMeta) -> str | None:
    """Why ``path`` does not match ``meta``; None if it does."""
    size = path.stat().st_size
    if meta.gz_size is not None and size != meta.gz_size:
        return f"{size:,} bytes where the .meta says gzSize {meta.gz_size:,}"
    digest = hashlib.sha256()
    content = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                content += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        return f"not a readable gzip file ({one_line(exc)})"
    if content != meta.size:
        return f"{content:,} bytes of JSON where the .meta says size {meta.size:,}"
    if digest.hexdigest() != meta.sha256:
        return f"sha256 {digest.hexdigest()} where the .meta says {meta.sha256}"
    return None


def _local_meta(path: Path) -> FeedMeta | None:
    try:
        return parse_feed_meta(path.read_text("utf-8", "replace"))
    except (OSError, ValueError):
        return None


# -- files ----------------------------------------------------------------------------------------


def _staging(db_path: Path) -> Path:
    """``.DB.download/`` next to the database, with only the NVD feed parts of a killed update."""
    staging = db_path.with_name(f".{db_path.name}.download")
    _mkdir(staging)
    for entry in staging.iterdir():
        if not (entry.name.startswith(".nvdcve-2.0-") and entry.name.endswith(".part")):
            entry.unlink()
    return staging


def _clean(staging: Path, *, keep_parts: bool) -> None:
    """Remove the download directory; after a failure keep its NVD feed parts for a resume."""
    if not keep_parts:
        shutil.rmtree(staging, ignore_errors=True)
        return
    for entry in staging.iterdir():
        if not (entry.name.startswith(".nvdcve-2.0-") and entry.name.endswith(".part")):
            entry.unlink(missing_ok=True)
    if not any(staging.iterdir()):
        staging.rmdir()


def _part(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _mkdir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create {directory}: {exc}") from exc


def _write_atomic(path: Path, data: bytes) -> None:
    part = _part(path)
    part.write_bytes(data)
    part.replace(path)


def _sha256(path: Path) -> str:
    return _file_sha256(path)[0]


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- export and import ----------------------------------------------------------------------------


def _checked_info(db_path: Path) -> DbInfo:
    if not db_path.is_file():
        raise DatabaseError(f"no vulnerability database at {db_path}")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            check_schema(conn, db_path)
            return read_info(conn, db_path)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {db_path}: {exc}") from exc


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, data)


def _read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, Any]:
    member = tar.next()
    if member is None or member.name != _MANIFEST or not member.isfile():
        raise DatabaseError(f"{source} is not a brulee database export (no {_MANIFEST} first)")
    if member.size > _MANIFEST_LIMIT:
        raise DatabaseError(f"{source}: {_MANIFEST} is too large")
    stream = tar.extractfile(member)
    try:
        manifest = json.loads(stream.read() if stream else b"")
    except ValueError as exc:
        raise DatabaseError(f"{source}: {_MANIFEST} is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise DatabaseError(f"{source} is not a brulee database export")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DatabaseError(
            f"{source} holds a database of schema version {manifest.get('schema_version')}, "
            f"this brulee needs {SCHEMA_VERSION}; export it again with a matching brulee"
        )
    for key, kind in (("database", str), ("size", int), ("sha256", str)):
        if not isinstance(manifest.get(key), kind):
            raise DatabaseError(f"{source}: {_MANIFEST} lacks {key}")
    return manifest


def _unpack(stream: IO[bytes], temp: Path, manifest: Mapping[str, Any], source: Path) -> None:
    """Copy the database out of the export, then check it against the manifest and with SQLite."""
    digest = hashlib.sha256()
    size = 0
    with temp.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if (size, digest.hexdigest()) != (manifest["size"], manifest["sha256"]):
        raise DatabaseError(
            f"{source}: the database does not match its manifest ({size:,} bytes, sha256 "
            f"{digest.hexdigest()}; the manifest says {manifest['size']:,} bytes, sha256 "
            f"{manifest['sha256']}): damaged or altered, not imported"
        )
    try:
        conn = sqlite3.connect(temp)
        try:
            check_schema(conn, source)
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"{source}: the database is unusable ({exc}); not imported") from exc
    if verdict != "ok":
        raise DatabaseError(f"{source}: SQLite finds the database damaged ({verdict})")
