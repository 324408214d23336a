"""Keeping the database current: ``brulee db update`` (NVD 2.0 feeds or the NVD CVE API 2.0, CISA
KEV, FIRST EPSS, the Debian security tracker, Canonical's Ubuntu CVE OVAL); ``mirror`` downloads
the same files into a directory, ``transfer`` exports and imports a built database.

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
  ``data/DSA/list``, ``data/DLA/list``, ``data/CPE/list`` and ``data/CPE/aliases``;
- ``com.ubuntu.RELEASE.cve.oval.xml.bz2`` for each release of ``urls.UBUNTU_OVAL_RELEASES``
  (Canonical's own names).

The database records, in ``meta``, ``last_update:<source>`` (UTC) for each source brought up to
date (downloaded, or found unchanged upstream), ``last_update`` and ``update_source``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from brulee.errors import DatabaseError, FeedError
from brulee.util.clock import utc_now
from brulee.vulndb.build import ImportSummary, import_files, lock_database
from brulee.vulndb.download import Progress, Transport
from brulee.vulndb.feeds import update_feeds
from brulee.vulndb.files import file_sha256, make_dir
from brulee.vulndb.meta import (
    LAST_UPDATE,
    SourceInfo,
    SourceKind,
    as_utc,
    parse_instant,
    read_only,
    read_sources,
    read_ubuntu,
)
from brulee.vulndb.nvdapi import update_api
from brulee.vulndb.session import Fetched, Session
from brulee.vulndb.urls import UBUNTU_OVAL_RELEASES, Snapshot, UpdateUrls, snapshots


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
    ubuntu_releases: Iterable[str] = UBUNTU_OVAL_RELEASES,
    transport: Transport | None = None,
) -> UpdateSummary:
    """Bring the database at ``db_path`` (created if absent) up to date.

    NVD from the 2.0 feeds (``source="feeds"``: every yearly feed on the first update or after
    ``MODIFIED_WINDOW``, else ``modified`` and ``recent``; only feeds whose ``.meta`` differs from
    what the database holds are downloaded) or from the CVE API 2.0 (``"api"``: changes since the
    last update, ``api_key`` or ``NVD_API_KEY`` raising the rate limit); then KEV, EPSS, the
    Debian tracker files and Canonical's CVE OVAL of each of ``ubuntu_releases``. ``mirror``
    takes every file but the API from one base URL or directory. ``years``: the yearly feeds
    (default 2002 to this year). ``progress`` gets ``("download NAME", bytes, total)``, for the
    API ``("fetch NAME", CVEs, total of the current window)``, and ``("import NAME", records,
    None)``. ``now`` and ``transport`` (retries, sleep, clock) are for tests.

    A missing or failing KEV, EPSS, Debian or Ubuntu file is a warning in the summary (the
    database keeps its data); an NVD failure raises DatabaseError (another update running, a
    feed missing, a checksum mismatch after retries, a file that is not what it should be) and
    the database is unchanged.
    """
    clock = time.perf_counter()
    urls = urls or UpdateUrls()
    if mirror is not None:
        urls = UpdateUrls.from_mirror(mirror, nvd_api=urls.nvd_api)
    session = Session(transport or Transport(), progress)
    started = as_utc(now())
    make_dir(db_path.parent)
    try:
        with lock_database(db_path):
            state = _State.read(db_path)
            staging = _staging(db_path)
            done = False
            try:
                last = state.last_update("nvd")
                if source == "api":
                    files = update_api(
                        session, urls.nvd_api, staging, last=last, started=started, key=api_key
                    )
                else:
                    files = update_feeds(
                        session, urls.nvd_feeds, staging,
                        last=last, started=started, years=years, held=state.feed_content,
                    )  # fmt: skip
                sources = snapshots(ubuntu_releases)
                fetched = _snapshots_update(session, urls, staging, state, sources)
                imported = _import(
                    session, db_path, files, fetched, sources, started=started, source=source
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


@dataclass(frozen=True, slots=True)
class _State:
    """What the database holds before the update."""

    sources: tuple[SourceInfo, ...]
    meta: Mapping[str, str]
    ubuntu: frozenset[str]
    """The Ubuntu releases it holds Canonical's data for."""

    @classmethod
    def read(cls, db_path: Path) -> _State:
        if not db_path.exists():
            return cls((), {}, frozenset())
        with read_only(db_path) as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            ubuntu = frozenset(data.release for data in read_ubuntu(conn))
            return cls(read_sources(conn), meta, ubuntu)

    def last_update(self, kind: str) -> datetime | None:
        return parse_instant(self.meta.get(LAST_UPDATE + kind))

    def feed_content(self, name: str) -> tuple[str, int] | None:
        """sha256 and size of the JSON of the NVD feed file ``name`` last imported."""
        for source in self.sources:
            if source.kind == "nvd" and source.name == name:
                return source.content_sha256, source.content_size
        return None

    def has(self, snapshot: Snapshot) -> bool:
        """Whether the database holds data of ``snapshot``'s source (of its Ubuntu release)."""
        if snapshot.release:
            return snapshot.release in self.ubuntu
        return any(source.kind == snapshot.kind for source in self.sources)

    def holds(self, kind: SourceKind, sha256: str) -> bool:
        """Whether the database's file of ``kind`` is this very file."""
        return any(s.kind == kind and s.sha256 == sha256 for s in self.sources)


def _snapshots_update(
    session: Session, urls: UpdateUrls, staging: Path, state: _State, sources: Iterable[Snapshot]
) -> dict[Path, Snapshot | None]:
    """Download KEV, EPSS, the Debian files and Ubuntu's OVAL: the downloaded ones, None for those
    identical to the database's (not imported)."""
    downloaded: dict[Path, Snapshot | None] = {}
    for snapshot in sources:
        target = staging / snapshot.file
        keeps = "the database keeps its" if state.has(snapshot) else "the database has no"
        if session.snapshot(snapshot, urls.url_of(snapshot), target, keeps):
            if state.holds(snapshot.kind, file_sha256(target)[0]):
                session.unchanged.append(snapshot.file)
                downloaded[target] = None
            else:
                downloaded[target] = snapshot
    return downloaded


def _import(
    session: Session,
    db_path: Path,
    nvd: Sequence[Path],
    fetched: Mapping[Path, Snapshot | None],
    sources: Sequence[Snapshot],
    *,
    started: datetime,
    source: str,
) -> ImportSummary:
    """Build with ``import_files``, recording the update times. A KEV, EPSS, Debian or Ubuntu
    file that is not what it should be becomes a warning and the build is done again without
    it."""
    progress = session.progress

    def records(name: str, count: int) -> None:
        if progress:
            progress(f"import {name}", count, None)

    stamp = started.isoformat(timespec="seconds")
    kept = dict(fetched)
    while True:
        kinds = ["nvd", *(s.kind for s in sources if _staged(kept, s))]
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


def _staged(kept: Mapping[Path, Snapshot | None], snapshot: Snapshot) -> bool:
    return any(path.name == snapshot.file for path in kept)


def _staging(db_path: Path) -> Path:
    """``.DB.download/`` next to the database, with only the NVD feed parts of a killed update."""
    staging = db_path.with_name(f".{db_path.name}.download")
    make_dir(staging)
    for entry in staging.iterdir():
        if not _is_feed_part(entry):
            entry.unlink()
    return staging


def _clean(staging: Path, *, keep_parts: bool) -> None:
    """Remove the download directory; after a failure keep its NVD feed parts for a resume."""
    if not keep_parts:
        shutil.rmtree(staging, ignore_errors=True)
        return
    for entry in staging.iterdir():
        if not _is_feed_part(entry):
            entry.unlink(missing_ok=True)
    if not any(staging.iterdir()):
        staging.rmdir()


def _is_feed_part(entry: Path) -> bool:
    return entry.name.startswith(".nvdcve-2.0-") and entry.name.endswith(".part")
