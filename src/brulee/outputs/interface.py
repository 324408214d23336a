"""The Sink interface, shared by directories and buckets: publish a tree, list and read objects.

Everything the S3 and GCS backends have in common lives here: URL parsing, content types, the
retry settings, error messages without secrets, and download streams. A backend maps its SDK
onto four primitives and describes its exceptions. Retrying is the SDKs' job: they retry each
request (one part of a multipart upload, one chunk of a resumable one, one listing page), where
a loop around a whole operation could only send a large file again from its first byte.
"""

from __future__ import annotations

import builtins
import io
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, Generic, Protocol, TypeVar

from brulee.errors import OutputError, UsageError
from brulee.util.files import PART_SUFFIX
from brulee.util.redact import CleanRecords
from brulee.util.retry import RetryPolicy

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger("brulee.outputs")

CONTENT_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".tex": "application/x-tex",
    ".pdf": "application/pdf",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".sarif": "application/sarif+json",
    ".css": "text/css; charset=utf-8",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,220}[A-Za-z0-9]")
T = TypeVar("T")
ClientT = TypeVar("ClientT")


def content_type(name: str) -> str:
    """The Content-Type for a file name, by suffix; ``application/octet-stream`` if unknown."""
    return CONTENT_TYPES.get(Path(name).suffix.lower(), DEFAULT_CONTENT_TYPE)


def local_files(local_dir: Path) -> list[tuple[Path, str]]:
    """Every file under ``local_dir`` with its relative POSIX path, sorted by that path; not the
    temporary files of a write that did not finish (``.NAME.XXXXXXXX.part``)."""
    if not local_dir.is_dir():
        raise OutputError(f"nothing to publish: {local_dir} is not a directory")
    files = (
        (p, p.relative_to(local_dir).as_posix())
        for p in local_dir.rglob("*")
        if p.is_file() and not (p.name.startswith(".") and p.name.endswith(PART_SUFFIX))
    )
    return sorted(files, key=lambda item: item[1])


@dataclass(frozen=True, slots=True)
class Retry(RetryPolicy):
    """brulee's retry policy as the SDKs apply it to each request that fails for a transient
    reason (connection errors, throttling, 5xx), so that one failed part of a multipart upload is
    sent again, not the whole file: boto3 makes ``attempts`` tries with its standard jittered
    backoff (up to 20 s); google-cloud-storage waits ``backoff`` seconds, doubling up to
    ``max_wait``, jittered, until ``deadline`` seconds have passed for that request."""

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 20.0
    jitter: float = 1.0
    deadline: float | None = 120.0


@dataclass(frozen=True, slots=True)
class Failure:
    """What a backend makes of an SDK exception: a one-line reason, and whether it is transient."""

    reason: str
    retryable: bool = False
    """A transient failure: the SDK retried it (see Retry) before giving up."""


class MissingObject(LookupError):
    """Raised by a backend when the object to read does not exist."""


class RawStream(Protocol):
    """The least a backend's download body offers."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Sink(ABC):
    """A destination for a scan's output directory and a source of report files for merging.

    Keys are POSIX paths relative to the sink's prefix (or directory), such as
    ``site-a/shard-3/report.json``: the same key names the same file in every kind of sink.
    """

    url: str

    @abstractmethod
    def publish(self, local_dir: Path) -> builtins.list[str]:
        """Upload every file under ``local_dir`` to ``<prefix>/<relative path>``; return where each
        went (object URLs, or paths). Raises OutputError if any file cannot be stored."""

    @abstractmethod
    def list(self, suffix: str = ".json") -> Iterator[str]:
        """Keys under the prefix, recursively, in lexicographic order, that end with ``suffix``."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A streaming binary reader of one object; close it (or use ``with``)."""

    def read(self, key: str) -> bytes:
        """The whole content of one object."""
        with self.open(key) as stream:
            return stream.read()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def parse_bucket_url(url: str, scheme: str) -> tuple[str, str]:
    """Split ``scheme://bucket/some/prefix`` into the bucket and a prefix ending in "/" (or "")."""
    head, sep, rest = url.partition("://")
    bucket, _, prefix = rest.partition("/")
    # The URL itself is not echoed: a mistyped one may carry a credential (user:secret@bucket).
    if head.lower() != scheme or not sep or not _BUCKET.fullmatch(bucket):
        raise UsageError(f"invalid {scheme}:// output: expected {scheme}://BUCKET/PREFIX")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class BucketSink(Sink, Generic[ClientT]):
    """An object store bucket and prefix. Subclasses implement the primitives below."""

    scheme: ClassVar[str]
    page_size = 1000  # keys per listing request
    part_size = 8 << 20
    """Files larger than this go up in parts (S3 multipart, GCS resumable chunks) of this size,
    each sent and retried on its own; a multiple of 256 KiB (GCS), at least 5 MiB (S3)."""

    def __init__(self, url: str, *, retry: Retry | None = None) -> None:
        self.bucket, self.prefix = parse_bucket_url(url, self.scheme)
        self.url = f"{self.scheme}://{self.bucket}/{self.prefix}".removesuffix("/")
        self.retry = retry or Retry()
        self._client: ClientT | None = None
        self._lock = threading.Lock()

    # -- what a backend provides -------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> ClientT:
        """Create the SDK client (the cloud's default credential chain); called once, lazily."""

    @abstractmethod
    def _upload(self, path: Path, key: str, content_type: str) -> None:
        """Store one local file at the full object key (in parts above ``part_size``)."""

    @abstractmethod
    def _list_page(self, token: str | None) -> tuple[builtins.list[str], str | None]:
        """One page of full object keys under the prefix, and the token of the next page."""

    @abstractmethod
    def _open(self, key: str) -> RawStream:
        """Start downloading the full object key; raise MissingObject if it does not exist."""

    @abstractmethod
    def _classify(self, exc: Exception) -> Failure | None:
        """Describe an SDK exception, or None for one that is not the store's (a bug: re-raised)."""

    # -- shared behaviour --------------------------------------------------------------------

    @property
    def client(self) -> ClientT:
        """The SDK client, created on first use (thread-safe)."""
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def object_url(self, key: str) -> str:
        """The URL of a full object key, for messages and ``publish``'s result."""
        return f"{self.scheme}://{self.bucket}/{key}"

    def publish(self, local_dir: Path) -> builtins.list[str]:
        urls = []
        for path, rel in local_files(local_dir):
            key = self.prefix + rel
            self._call(f"uploading {rel} to", partial(self._upload_file, path, key))
            urls.append(self.object_url(key))
        log.info("published %d files to %s", len(urls), self.url)
        return urls

    def list(self, suffix: str = ".json") -> Iterator[str]:
        # Sorted here: some S3-compatible stores (SeaweedFS) list in directory-tree order, where
        # fleet/x comes before fleet-old/x. A key is ~100 bytes: 100,000 of them are ~10 MB.
        keys: builtins.list[str] = []
        token: str | None = None
        while True:
            page, token = self._call("listing", partial(self._list_page, token))
            for key in page:
                rel = key[len(self.prefix) :] if key.startswith(self.prefix) else ""
                if rel and not rel.endswith("/") and rel.endswith(suffix):
                    keys.append(rel)
            if not token:
                break
        yield from sorted(keys)

    def _upload_file(self, path: Path, key: str) -> None:
        try:
            path.open("rb").close()
        except OSError as exc:  # not the store's fault
            raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        self._upload(path, key, content_type(key))

    def open(self, key: str) -> BinaryIO:
        action = f"reading {key} from"
        raw = self._call(action, partial(self._open, self.prefix + key))
        return io.BufferedReader(_Download(raw, partial(self._fail, action)))

    def _call(self, action: str, operation: Callable[[], T]) -> T:
        """Run ``operation`` (the SDK retries its requests); OutputError when it fails.
        ``action`` reads before the sink's URL: "uploading report.json to"."""
        try:
            return operation()
        except OutputError:
            raise
        except Exception as exc:
            failure = self._failure(exc)
            if failure is None:
                raise
            reason = failure.reason
            if failure.retryable:
                reason += f" ({self._gave_up()})"
            raise self._fail(action, reason) from exc

    def _gave_up(self) -> str:
        """How long the SDK retried a transient failure before giving up."""
        return f"gave up after {self.retry.attempts} attempts"

    def _failure(self, exc: Exception) -> Failure | None:
        if isinstance(exc, MissingObject):
            return Failure("object not found")
        return self._classify(exc)

    def _fail(self, action: str, reason: str) -> OutputError:
        return OutputError(" ".join(f"{action} {self.url}: {reason}".split()))


class _Download(io.RawIOBase):
    """Adapts a backend's download body to a raw binary stream; read errors become OutputError."""

    def __init__(self, raw: RawStream, fail: Callable[[str], OutputError]) -> None:
        self._raw = raw
        self._fail = fail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(len(view))
        except Exception as exc:
            raise self._fail(f"download interrupted ({type(exc).__name__})") from exc
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


# -- keeping credentials out of SDK debug logs ---------------------------------------------------


def redact_loggers(*names: str) -> None:
    """Install :class:`brulee.util.redact.CleanRecords` on the named loggers (once each): their
    records lose credentials, signatures and tokens wherever they are printed."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, CleanRecords) for f in logger.filters):
            logger.addFilter(CleanRecords())
