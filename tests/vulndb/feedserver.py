"""A mirror of NVD, KEV, EPSS, Debian tracker and Ubuntu OVAL files built from the test assets, and
a loopback HTTP server for it that logs every request, answers ``Range`` requests, serves a fake
NVD CVE API and injects faults (statuses with Retry-After, dropped connections, wrong bytes,
stalls)."""

from __future__ import annotations

import bz2
import copy
import gzip
import hashlib
import io
import json
import shutil
import threading
import urllib.parse
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.vulndb.conftest import ASSETS

STARTER = Path(__file__).resolve().parents[2] / "src" / "brulee" / "data" / "starter"
UBUNTU = ASSETS.parent / "ubuntu"
YEARS = range(2023, 2026)
UBUNTU_RELEASES = ("trusty", "xenial", "bionic", "focal")
"""The releases a test mirror has Canonical's CVE OVAL for (the trimmed real files)."""
API_PATH = "/rest/json/cves/2.0"


# -- feed files -----------------------------------------------------------------------------------


def record(name: str) -> dict[str, Any]:
    """A CVE record (the ``cve`` object) from an asset file."""
    data: dict[str, Any] = json.loads((ASSETS / name).read_text("utf-8"))
    inner: dict[str, Any] = data.get("cve", data)
    return inner


def feed_records(path: Path) -> list[dict[str, Any]]:
    """The CVE records of a 2.0 feed or API page (gzip or not)."""
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return [item["cve"] for item in data["vulnerabilities"]]


def feed_json(records: list[dict[str, Any]], timestamp: str) -> bytes:
    """An NVD 2.0 feed of ``records`` (the layout of NVD's own feeds)."""
    document = {
        "resultsPerPage": len(records),
        "startIndex": 0,
        "totalResults": len(records),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": timestamp,
        "vulnerabilities": [{"cve": r} for r in records],
    }
    return json.dumps(document, indent=2).encode()


def meta_text(content: bytes, gz: bytes, last_modified: str) -> bytes:
    """A ``.meta`` file as NVD writes it: CRLF lines, sizes, sha256 of the JSON in capitals."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("feed.json", content)
    lines = (
        f"lastModifiedDate:{last_modified}",
        f"size:{len(content)}",
        f"zipSize:{len(archive.getvalue())}",
        f"gzSize:{len(gz)}",
        f"sha256:{hashlib.sha256(content).hexdigest().upper()}",
    )
    return "".join(line + "\r\n" for line in lines).encode()


def write_feed(
    directory: Path,
    stem: str,
    content: bytes,
    last_modified: str = "2026-11-20T03:00:01-05:00",
    *,
    gz: bytes | None = None,
) -> None:
    """``STEM.json.gz`` (``gz``, default the gzip of ``content``) and its correct ``STEM.meta``."""
    data = gz if gz is not None else gzip.compress(content, mtime=0)
    (directory / f"{stem}.json.gz").write_bytes(data)
    (directory / f"{stem}.meta").write_bytes(meta_text(content, data, last_modified))


def build_upstream(directory: Path) -> Path:
    """Every file of a mirror (``brulee.vulndb.urls.MIRROR_FILES``) from the repository's data:
    the starter feeds of ``YEARS`` as they are, ``modified`` (three OpenSSH CVEs of an API page)
    and ``recent`` (CVE-2025-32728), the KEV and EPSS slices, the Debian tracker slices and
    Canonical's CVE OVAL of ``UBUNTU_RELEASES`` (trimmed), under their upstream names."""
    directory.mkdir(parents=True, exist_ok=True)
    for year in YEARS:
        gz = (STARTER / f"nvdcve-2.0-{year}.json.gz").read_bytes()
        stamp = json.loads(gzip.decompress(gz))["timestamp"]
        write_feed(directory, f"nvdcve-2.0-{year}", gzip.decompress(gz), _rfc3339(stamp), gz=gz)
    modified = feed_records(ASSETS / "api-page-openssh.json")
    write_feed(directory, "nvdcve-2.0-modified", feed_json(modified, "2026-11-20T08:00:00.000"))
    recent = [record("record-CVE-2025-32728.json")]
    write_feed(directory, "nvdcve-2.0-recent", feed_json(recent, "2026-11-20T08:00:00.000"))
    for source, name in (
        ("kev-slice.json", "known_exploited_vulnerabilities.json"),
        ("epss-slice.csv.gz", "epss_scores-current.csv.gz"),
        ("debian-DSA-slice", "DSA-list"),
        ("debian-DLA-slice", "DLA-list"),
        ("debian-CPE-slice", "CPE-list"),
        ("debian-CPE-aliases-slice", "CPE-aliases"),
    ):
        shutil.copyfile(ASSETS / source, directory / name)
    for release in UBUNTU_RELEASES:
        trimmed = UBUNTU / f"com.ubuntu.{release}.cve.oval.trimmed.xml"
        data = bz2.compress(trimmed.read_bytes()) if trimmed.exists() else None
        if data is None:
            data = trimmed.with_name(trimmed.name + ".bz2").read_bytes()
        (directory / f"com.ubuntu.{release}.cve.oval.xml.bz2").write_bytes(data)
    return directory


def changed_2024_feed(directory: Path) -> None:
    """A new version of the 2024 feed: CVE-2024-6387 modified later, with another description."""
    cve = copy.deepcopy(feed_records(directory / "nvdcve-2.0-2024.json.gz")[0])
    cve["lastModified"] = "2026-11-25T00:00:00.000"
    cve["descriptions"] = [{"lang": "en", "value": "regreSSHion, revised"}]
    write_feed(
        directory,
        "nvdcve-2.0-2024",
        feed_json([cve], "2026-11-25T00:00:00.000"),
        "2026-11-25T03:00:01-05:00",
    )


def _rfc3339(nvd_time: str) -> str:
    return datetime.fromisoformat(nvd_time).replace(tzinfo=UTC, microsecond=0).isoformat()


# -- the server -----------------------------------------------------------------------------------


@dataclass
class Fault:
    """What to do to one request of a path instead of serving it normally."""

    status: int | None = None
    """Answer with this HTTP status."""
    retry_after: str | None = None
    drop_after: int | None = None
    """Send the headers of the whole answer, then only this many bytes, then close."""
    body: bytes | None = None
    """Serve these bytes instead of the file."""
    reached: threading.Event | None = None
    """Set when the request arrives."""
    release: threading.Event | None = None
    """Wait for it before answering."""


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    status: int


ApiHandler = Callable[[Mapping[str, str], Mapping[str, str]], tuple[int, Mapping[str, str], bytes]]
"""(query, headers) -> (status, extra headers, body)."""


@dataclass
class FeedServer:
    """Serves ``root`` on 127.0.0.1; ``url`` ends with a slash."""

    root: Path
    ranges: bool = True
    """Whether ``Range`` requests get 206 answers (else the whole file, 200)."""
    api: ApiHandler | None = None
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    """Per path (``/nvdcve-2.0-2024.json.gz``), faults for its next requests, in order."""
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def fault(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def paths(self, suffix: str = "") -> list[str]:
        """Paths requested, in order, those ending with ``suffix``."""
        with self._lock:
            return [s.path for s in self.seen if s.path.endswith(suffix)]

    def clear(self) -> None:
        with self._lock:
            self.seen.clear()

    def __enter__(self) -> FeedServer:
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serving = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        serving.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            for faults in self.faults.values():
                for fault in faults:
                    if fault.release:
                        fault.release.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def _log(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


class _Handler(BaseHTTPRequestHandler):
    server_owner: FeedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server_owner
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = owner._next_fault(path)
        if fault and fault.reached:
            fault.reached.set()
        if fault and fault.release:
            fault.release.wait(30)
        if fault and fault.status:
            extra: Mapping[str, str] = (
                {"Retry-After": fault.retry_after} if fault.retry_after else {}
            )
            self._answer(Seen(path, query, headers, fault.status), extra, b"try again later\n")
            return
        if path == API_PATH and owner.api is not None:
            status, extra, body = owner.api(query, headers)
            self._answer(Seen(path, query, headers, status), extra, body)
            return
        file = owner.root / path.lstrip("/")
        if fault and fault.body is not None:
            data = fault.body
        elif file.is_file() and file.resolve().is_relative_to(owner.root.resolve()):
            data = file.read_bytes()
        else:
            self._answer(Seen(path, query, headers, 404), {}, b"not found\n")
            return
        self._serve(Seen(path, query, headers, 200), data, fault)

    def _serve(self, seen: Seen, data: bytes, fault: Fault | None) -> None:
        owner = self.server_owner
        extra = {"Accept-Ranges": "bytes", "ETag": f'"{hashlib.sha256(data).hexdigest()[:16]}"'}
        wanted = seen.headers.get("range", "")
        if owner.ranges and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes=") : -1])
            if_range = seen.headers.get("if-range")
            if if_range is None or if_range == extra["ETag"]:
                if start >= len(data):
                    extra["Content-Range"] = f"bytes */{len(data)}"
                    self._answer(replace_status(seen, 416), extra, b"")
                    return
                extra["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                seen, data = replace_status(seen, 206), data[start:]
        if fault and fault.drop_after is not None:
            owner._log(seen)
            self._head(seen.status, extra, len(data))
            self.wfile.write(data[: fault.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self._answer(seen, extra, data)

    def _answer(self, seen: Seen, extra: Mapping[str, str], body: bytes) -> None:
        self.server_owner._log(seen)
        self._head(seen.status, extra, len(body))
        self.wfile.write(body)

    def _head(self, status: int, extra: Mapping[str, str], length: int) -> None:
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()


def replace_status(seen: Seen, status: int) -> Seen:
    return Seen(seen.path, seen.query, seen.headers, status)


def serve(root: Path, **options: Any) -> Iterator[FeedServer]:
    """A running server for a fixture (``yield from serve(...)``)."""
    with FeedServer(root, **options) as server:
        yield server
