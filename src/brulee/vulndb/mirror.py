"""``brulee db mirror``: every file ``db update --mirror`` reads, downloaded into one directory
for air-gapped networks (served by any web server, or used as ``file://``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from brulee.errors import DatabaseError
from brulee.util.clock import utc_now
from brulee.vulndb.build import lock_database
from brulee.vulndb.download import Progress, Transport
from brulee.vulndb.feeds import CURRENT_FEEDS, FeedMeta, fetch_feed, read_local_meta, yearly_feeds
from brulee.vulndb.files import make_dir, write_atomic
from brulee.vulndb.meta import as_utc
from brulee.vulndb.session import Fetched, Session
from brulee.vulndb.urls import UBUNTU_OVAL_RELEASES, UpdateUrls, snapshots


@dataclass(frozen=True, slots=True)
class MirrorSummary:
    """What ``mirror`` did."""

    directory: Path
    downloaded: tuple[Fetched, ...]
    unchanged: tuple[str, ...]
    warnings: tuple[str, ...]
    seconds: float


def mirror(
    directory: Path,
    *,
    urls: UpdateUrls | None = None,
    years: Iterable[int] | None = None,
    ubuntu_releases: Iterable[str] = UBUNTU_OVAL_RELEASES,
    progress: Progress | None = None,
    now: Callable[[], datetime] = utc_now,
    transport: Transport | None = None,
) -> MirrorSummary:
    """Fill ``directory`` with every file ``update --mirror`` reads, under ``MIRROR_FILES`` names
    (the CVE OVAL of ``ubuntu_releases``).

    Feeds whose ``.meta`` matches the local copy are not downloaded again. Each file is written
    atomically (the ``.json.gz`` before its ``.meta``). A missing KEV, EPSS, Debian or Ubuntu file
    is a warning (any earlier copy stays); a missing or unverifiable NVD feed raises
    DatabaseError.
    """
    clock = time.perf_counter()
    urls = urls or UpdateUrls()
    session = Session(transport or Transport(), progress)
    make_dir(directory)
    try:
        with lock_database(directory / ".brulee-mirror"):
            for stem in [*yearly_feeds(years, as_utc(now())), *CURRENT_FEEDS]:
                _mirror_feed(session, urls.nvd_feeds, directory, stem)
            for snapshot in snapshots(ubuntu_releases):
                target = directory / snapshot.file
                keeps = "the mirror keeps its" if target.exists() else "the mirror has no"
                session.snapshot(snapshot, urls.url_of(snapshot), target, keeps)
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


def _mirror_feed(session: Session, base: str, directory: Path, stem: str) -> None:
    meta_path = directory / f"{stem}.meta"
    target = directory / f"{stem}.json.gz"
    local = read_local_meta(meta_path)

    def current(meta: FeedMeta) -> bool:
        return (
            local is not None
            and (local.sha256, local.size) == (meta.sha256, meta.size)
            and target.is_file()
            and target.stat().st_size == (meta.gz_size or local.gz_size or -1)
        )

    raw = fetch_feed(session, base, stem, target, current)
    if not meta_path.is_file() or meta_path.read_bytes() != raw:
        write_atomic(meta_path, raw)
