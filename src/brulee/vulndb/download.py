"""Downloads for ``brulee db update`` and ``db mirror``: ``http(s)://`` and ``file://`` URLs,
bounded retries with exponential backoff that honour ``Retry-After``, resumption with ``Range``,
and a sliding-window rate limiter. Standard library only (``urllib.request``: proxies from the usual
``https_proxy``/``http_proxy`` variables, certificates from the system store).
"""

from __future__ import annotations

import contextlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import TypeVar

from brulee.errors import DatabaseError
from brulee.util.retry import (
    RETRY_STATUSES,
    USER_AGENT,
    GaveUp,
    Retryable,
    RetryPolicy,
    retry_after,
)
from brulee.util.text import one_line

Progress = Callable[[str, int, int | None], None]
"""Called with a label, the amount done and the total if known (bytes for downloads)."""

_MISSING_STATUSES = frozenset({404, 410})
_CHUNK = 1 << 16
FETCH_LIMIT = 256 << 20
"""Largest body ``fetch`` reads into memory (an NVD API page of 2,000 CVEs is some 30 MB)."""
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Transport(RetryPolicy):
    """How downloads behave: the retry policy (``sleep`` and ``clock`` injectable so that tests
    need not wait), the socket timeout and the NVD API's page size."""

    max_wait: float = 600.0
    """Longest single wait, ``Retry-After`` included."""
    timeout: float = 60.0
    """Socket timeout of one request, seconds."""
    api_page_size: int = 2000
    """``resultsPerPage`` for the NVD API (2,000 is its maximum)."""


class DownloadError(DatabaseError):
    """A download failed for good: retries exhausted, or an answer that retrying cannot change."""


class NotFound(DownloadError):
    """The server has no such file (HTTP 404 or 410), or a ``file://`` path does not exist."""


class RateLimiter:
    """At most ``requests`` requests in any ``period`` seconds (a sliding window)."""

    def __init__(self, requests: int, period: float, transport: Transport) -> None:
        self._requests = requests
        self._period = period
        self._transport = transport
        self._times: deque[float] = deque()

    def wait(self) -> None:
        """Wait, if needed, then count one request."""
        if len(self._times) >= self._requests:
            delay = self._times[0] + self._period - self._transport.clock()
            if delay > 0:
                self._transport.sleep(delay)
            self._times.popleft()
        self._times.append(self._transport.clock())


def join(base: str, name: str) -> str:
    """``name`` in the directory ``base`` (with or without its trailing slash)."""
    return base if not name else base.rstrip("/") + "/" + urllib.parse.quote(name)


def fetch(
    url: str,
    transport: Transport,
    *,
    headers: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    retry_forbidden: bool = False,
) -> bytes:
    """The body at ``url``, read into memory (for small files and API pages).

    ``retry_forbidden``: HTTP 403 is retried too (the NVD API's answer to too many requests).
    Raises NotFound or DownloadError.
    """
    if _is_file(url):
        return _read_local(url)

    def once() -> bytes:
        if limiter is not None:
            limiter.wait()
        with _request(url, headers or {}, transport, retry_forbidden=retry_forbidden) as response:
            body = _bounded_body(url, response.read(FETCH_LIMIT + 1))
            expected = _length(response.headers)
        if expected is not None and len(body) < expected:
            raise Retryable(f"connection closed after {len(body):,} of {expected:,} bytes")
        return body

    return _with_retries(url, transport, once)


def download(
    url: str, part: Path, transport: Transport, *, label: str, progress: Progress | None = None
) -> int:
    """Download ``url`` into ``part``, resuming from the bytes already there; return its size.

    A transfer cut off part-way is retried with ``Range`` (and ``If-Range``, so that a file that
    changed meanwhile comes whole); a server that ignores ``Range`` sends the whole file, which
    replaces the partial one. Raises NotFound or DownloadError, leaving ``part`` for a resume.
    """
    if _is_file(url):
        return _copy_local(url, part, label, progress)
    validator: list[str] = []

    def once() -> int:
        return _transfer(url, part, transport, label=label, progress=progress, validator=validator)

    return _with_retries(url, transport, once)


# -- one request ----------------------------------------------------------------------------------


def _request(
    url: str, headers: Mapping[str, str], transport: Transport, *, retry_forbidden: bool
) -> http.client.HTTPResponse:
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise DownloadError(f"cannot download {url}: only http://, https:// and file:// URLs work")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})  # noqa: S310
    try:
        response: http.client.HTTPResponse = urllib.request.urlopen(  # noqa: S310 (http(s) only)
            request, timeout=transport.timeout
        )
    except urllib.error.HTTPError as exc:
        exc.close()
        status = f"HTTP {exc.code} {exc.reason}".rstrip()
        if exc.code in _MISSING_STATUSES:
            raise NotFound(f"{url}: {status}") from exc
        if exc.code == 416:
            raise _RangeRefused(status) from exc
        if exc.code in RETRY_STATUSES or (retry_forbidden and exc.code == 403):
            raise Retryable(status, wait=retry_after(exc.headers), status=exc.code) from exc
        raise DownloadError(f"cannot download {url}: {status}") from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        raise Retryable(one_line(exc)) from exc
    return response


class _RangeRefused(Exception):
    """HTTP 416: the partial file does not fit the file on the server."""


def _transfer(
    url: str,
    part: Path,
    transport: Transport,
    *,
    label: str,
    progress: Progress | None,
    validator: list[str],
) -> int:
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator[0]
    try:
        response = _request(url, headers, transport, retry_forbidden=False)
    except _RangeRefused as exc:
        part.unlink()
        raise Retryable(f"partial download refused ({exc}); starting again", wait=0) from exc
    with response, _network_errors():
        start = _range_start(response.headers) if response.status == 206 else 0
        if start not in (offset, 0):
            part.unlink()
            why = f"the server resumed at byte {start}, not {offset}; starting again"
            raise Retryable(why, wait=0)
        validator[:] = [v for v in (_validator(response.headers),) if v]
        length = _length(response.headers)
        total = None if length is None else start + length
        done = start
        with part.open("ab" if start else "wb") as out:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(label, done, total)
    if total is not None and done < total:
        raise Retryable(f"connection closed after {done:,} of {total:,} bytes")
    return done


@contextlib.contextmanager
def _network_errors() -> Iterator[None]:
    try:
        yield
    except (OSError, http.client.HTTPException) as exc:
        raise Retryable(one_line(exc)) from exc


def _with_retries(url: str, transport: Transport, once: Callable[[], _T]) -> _T:
    def attempt() -> _T:
        with _network_errors():
            return once()

    try:
        return transport.run(attempt)
    except GaveUp as exc:
        raise DownloadError(f"cannot download {url}: {exc}") from exc


# -- headers --------------------------------------------------------------------------------------


def _length(headers: Message) -> int | None:
    value = headers.get("Content-Length")
    return int(value) if value and value.strip().isdigit() else None


def _range_start(headers: Message) -> int:
    """The first byte of a ``Content-Range: bytes START-END/TOTAL`` answer (-1: unreadable)."""
    value = (headers.get("Content-Range") or "").strip()
    unit, _, spec = value.partition(" ")
    first = spec.partition("-")[0]
    return int(first) if unit == "bytes" and first.isdigit() else -1


def _validator(headers: Message) -> str | None:
    """What ``If-Range`` may send: a strong ETag, else Last-Modified."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


# -- file:// --------------------------------------------------------------------------------------


def _is_file(url: str) -> bool:
    return url.lower().startswith("file:")


def _local_path(url: str) -> Path:
    parts = urllib.parse.urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise DownloadError(f"cannot read {url}: a file:// URL must name a local path")
    return Path(urllib.request.url2pathname(parts.path))


def _bounded_body(url: str, body: bytes) -> bytes:
    if len(body) > FETCH_LIMIT:
        raise DownloadError(f"{url}: the answer is larger than {FETCH_LIMIT:,} bytes; refused")
    return body


def _read_local(url: str) -> bytes:
    path = _local_path(url)
    try:
        with path.open("rb") as local:
            return _bounded_body(url, local.read(FETCH_LIMIT + 1))
    except FileNotFoundError as exc:
        raise NotFound(f"{url}: no such file") from exc
    except OSError as exc:
        raise DownloadError(f"cannot read {url}: {one_line(exc)}") from exc


def _copy_local(url: str, part: Path, label: str, progress: Progress | None) -> int:
    path = _local_path(url)
    try:
        source = path.open("rb")
    except FileNotFoundError as exc:
        part.unlink(missing_ok=True)
        raise NotFound(f"{url}: no such file") from exc
    except OSError as exc:
        raise DownloadError(f"cannot read {url}: {one_line(exc)}") from exc
    with source:
        try:
            with part.open("wb") as out:
                total = path.stat().st_size
                done = 0
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(label, done, total)
        except OSError as exc:
            raise DownloadError(f"cannot copy {url} to {part}: {one_line(exc)}") from exc
    return done
