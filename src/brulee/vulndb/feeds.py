"""NVD's JSON 2.0 feeds: their names, their ``.meta`` files, and downloading a feed verified
against its ``.meta``."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from brulee.errors import DatabaseError
from brulee.util.retry import GaveUp, Retryable
from brulee.util.text import one_line
from brulee.vulndb.download import join
from brulee.vulndb.files import part_path, read_hashed
from brulee.vulndb.session import Fetched, Session

FIRST_YEAR = 2002
"""The first yearly NVD feed (it holds the CVE-1999 to CVE-2002 ids)."""
CURRENT_FEEDS = ("nvdcve-2.0-modified", "nvdcve-2.0-recent")
MODIFIED_WINDOW = timedelta(days=7)
"""An NVD update less than this old is followed by the ``modified`` and ``recent`` feeds only
(NVD's ``modified`` feed spans 8 days); an older one (or none) checks every yearly feed too."""

FeedContent = Callable[[str], tuple[str, int] | None]
"""sha256 and size of the JSON of the feed file named so that the database holds; None if none."""


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


def read_local_meta(path: Path) -> FeedMeta | None:
    """The ``.meta`` file at ``path``; None if it is absent or not one."""
    try:
        return parse_feed_meta(path.read_text("utf-8", "replace"))
    except (OSError, ValueError):
        return None


def verify_feed(path: Path, meta: FeedMeta) -> str | None:
    """Why ``path`` does not match ``meta``; None if it does."""
    size = path.stat().st_size
    if meta.gz_size is not None and size != meta.gz_size:
        return f"{size:,} bytes where the .meta says gzSize {meta.gz_size:,}"
    try:
        with gzip.open(path, "rb") as stream:
            digest, content = read_hashed(stream)
    except (OSError, EOFError, zlib.error) as exc:
        return f"not a readable gzip file ({one_line(exc)})"
    if content != meta.size:
        return f"{content:,} bytes of JSON where the .meta says size {meta.size:,}"
    if digest != meta.sha256:
        return f"sha256 {digest} where the .meta says {meta.sha256}"
    return None


def yearly_feeds(years: Iterable[int] | None, now: datetime) -> list[str]:
    """The yearly feeds' names (``nvdcve-2.0-2024``): ``years``, or every one up to ``now``."""
    chosen = range(FIRST_YEAR, now.year + 1) if years is None else sorted(set(years))
    return [f"nvdcve-2.0-{year}" for year in chosen]


def fetch_feed(
    session: Session, base: str, stem: str, target: Path, current: Callable[[FeedMeta], bool]
) -> bytes:
    """Download NVD feed ``stem`` into ``target`` and verify it against its ``.meta``, unless
    ``current(meta)``; return the ``.meta`` as read.

    A download that does not match is fetched again, ``.meta`` included (NVD may have published a
    new feed meanwhile); DatabaseError once the attempts are spent.
    """
    meta_url, url = join(base, f"{stem}.meta"), join(base, f"{stem}.json.gz")
    part = part_path(target)

    def attempt() -> bytes:
        raw = session.get(meta_url, "the NVD feed file")
        try:
            meta = parse_feed_meta(raw.decode("utf-8", "replace"))
        except ValueError as exc:
            raise DatabaseError(f"{meta_url} is not an NVD .meta file: {exc}") from exc
        if current(meta):
            session.unchanged.append(target.name)
            return raw
        problem = verify_feed(part, meta) if part.exists() else "absent"
        if problem is not None:  # else: left complete by a killed update
            if part.exists() and part.stat().st_size >= (meta.gz_size or 0):
                part.unlink()  # a whole file of another version: resuming cannot help
            session.required(lambda: session.download(url, part, target.name))
            problem = verify_feed(part, meta)
        if problem is None:
            size = part.stat().st_size
            part.replace(target)
            session.fetched.append(Fetched(target.name, url, size))
            return raw
        part.unlink()
        raise Retryable(f"{url} does not match {meta_url}: {problem}")

    try:
        return session.transport.run(attempt)
    except GaveUp as exc:
        raise DatabaseError(f"{exc}; nothing was imported") from exc


def update_feeds(
    session: Session,
    base: str,
    staging: Path,
    *,
    last: datetime | None,
    started: datetime,
    years: Iterable[int] | None,
    held: FeedContent,
) -> list[Path]:
    """Download into ``staging`` the feeds an update needs: ``modified`` and ``recent``, and the
    yearly ones unless the ``last`` NVD update is within ``MODIFIED_WINDOW``; skip those whose
    content the database ``held``. Return the files downloaded."""
    recent = last is not None and timedelta(0) <= started - last <= MODIFIED_WINDOW
    stems = [*([] if recent else yearly_feeds(years, started)), *CURRENT_FEEDS]
    files: list[Path] = []
    for stem in stems:
        target = staging / f"{stem}.json.gz"
        content = held(target.name)

        def current(meta: FeedMeta, content: tuple[str, int] | None = content) -> bool:
            return content == (meta.sha256, meta.size)

        fetch_feed(session, base, stem, target, current)
        if target.exists():
            files.append(target)
    return files
