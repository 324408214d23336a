"""A real HTTP proxy on loopback that fails chosen requests, in front of a real S3 or GCS server.

Every request is forwarded unchanged (the Host header too, so S3 signatures still verify) unless
the test's ``fault`` function returns an HTTP status for it: the proxy then answers with that
status and an error body the SDKs understand, without forwarding. Every request is recorded.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .servers import LOOPBACK

_ERROR = b"<Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the proxy received, and the status its client got."""

    method: str
    path: str
    """Path and query string."""
    size: int
    """Body bytes received."""
    status: int
    injected: bool


Fault = Callable[[str, str, int], int | None]
"""(method, path with query, how many earlier requests had the same method and path) ->
a status to answer with instead of forwarding, or None to forward."""


class FaultProxy:
    """The proxy's address and what it saw; made by :func:`fault_proxy`."""

    def __init__(self, upstream: str, fault: Fault) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or LOOPBACK, parts.port or 80)
        self.fault = fault
        self.seen: list[Seen] = []
        self.url = ""
        self._lock = threading.Lock()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if (s.method, s.path) == (method, path))

    @property
    def injected(self) -> list[Seen]:
        return [s for s in self.seen if s.injected]


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _relay(self) -> None:
            body = _read_body(self)
            earlier = proxy.count(self.command, self.path)
            status = proxy.fault(self.command, self.path, earlier)
            if status is not None:
                proxy.record(Seen(self.command, self.path, len(body), status, True))
                message = (
                    b"<Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>"
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            if "Transfer-Encoding" in self.headers or body:
                headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
            finally:
                upstream.close()
            proxy.record(Seen(self.command, self.path, len(body), response.status, False))
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    return Handler


@contextmanager
def fault_proxy(upstream: str, fault: Fault) -> Iterator[FaultProxy]:
    """A running proxy to ``upstream`` (``http://host:port``), stopped on exit."""
    proxy = FaultProxy(upstream, fault)
    server = ThreadingHTTPServer((LOOPBACK, 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://{LOOPBACK}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
