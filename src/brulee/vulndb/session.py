"""One run of ``db update`` or ``db mirror``: how it downloads, and what it fetched, found
unchanged and could not get."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from brulee.errors import DatabaseError
from brulee.vulndb.download import (
    DownloadError,
    NotFound,
    Progress,
    RateLimiter,
    Transport,
    download,
    fetch,
)
from brulee.vulndb.files import part_path
from brulee.vulndb.urls import Snapshot

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Fetched:
    """One file downloaded."""

    name: str
    url: str
    size: int


@dataclass
class Session:
    """The downloads of one update or mirror run, and what became of them."""

    transport: Transport
    progress: Progress | None
    fetched: list[Fetched] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def snapshot(self, snapshot: Snapshot, url: str, target: Path, keeps: str) -> bool:
        """Download a KEV, EPSS or Debian file into ``target``; on failure warn and return False."""
        part = part_path(target)
        part.unlink(missing_ok=True)  # no checksum to verify a resumed file with: start afresh
        try:
            size = self.download(url, part, target.name)
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

    def download(self, url: str, part: Path, name: str) -> int:
        """``download`` ``url`` into ``part`` (resumed), reporting progress as ``name``."""
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
        return self.required(
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
    def required(action: Callable[[], _T], what: str = "the NVD feed file") -> _T:
        """Run ``action``; a file it does not find (NotFound) is DatabaseError ``WHAT is
        missing``."""
        try:
            return action()
        except NotFound as exc:
            raise DatabaseError(f"{what} is missing: {exc}; nothing was imported") from exc
