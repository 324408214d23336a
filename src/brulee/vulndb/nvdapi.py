"""Updating from the NVD CVE API 2.0: the changes since the last update, fetched window by window
and page by page into one NVD 2.0 feed file."""

from __future__ import annotations

import gzip
import json
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from brulee.errors import DatabaseError
from brulee.util.boundedjson import load_json
from brulee.vulndb.download import RateLimiter
from brulee.vulndb.importers.base import JSON_DEPTH
from brulee.vulndb.session import Fetched, Session

API_WINDOW = timedelta(days=120)
"""The longest ``lastModStartDate``..``lastModEndDate`` range the NVD API accepts."""
API_OVERLAP = timedelta(hours=1)
"""How far before the last update an API update starts, against clock skew (repeats are free)."""
API_RATE = {False: 5, True: 50}
"""Requests per ``API_PERIOD`` seconds the NVD API allows without and with an API key."""
API_PERIOD = 30.0
API_FILE = "nvd-api-update.json.gz"
"""The NVD feed an API update assembles from its pages (the name of its ``source`` row)."""


def update_api(
    session: Session,
    url: str,
    staging: Path,
    *,
    last: datetime | None,
    started: datetime,
    key: str | None,
) -> list[Path]:
    """Fetch the CVEs changed since the ``last`` update (all of them on the first) page by page
    into one NVD 2.0 feed file, ``API_FILE``."""
    target = staging / API_FILE
    key = key or os.environ.get("NVD_API_KEY") or None
    limiter = RateLimiter(API_RATE[key is not None], API_PERIOD, session.transport)
    headers = {"apiKey": key} if key else {}
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
                    session.progress(f"fetch {API_FILE}", writer.count, before + total)
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
        page = load_json(body, max_depth=JSON_DEPTH)
    except ValueError as exc:
        raise DatabaseError(
            f"{url}: the NVD API answer is not usable JSON ({exc}); nothing was imported"
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
