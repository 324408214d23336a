"""Banner servers for the lab: stdlib only, runnable as a file inside a network namespace.

Usage (the lab runs it as a file path, so no package import is needed)::

    python tests/lab/servers.py SPEC_JSON        # serve; prints "READY" once every port is bound
    python tests/lab/servers.py --probe SPEC_JSON  # client side: wait until every port answers

SPEC_JSON is a JSON object (inline, or ``@path`` to a file)::

    {"bind": ["10.213.77.11", "fd42:b7e1:77::11"],
     "services": [{"port": 22, "protocol": "tcp", "kind": "ssh", "banner": "SSH-2.0-..."}],
     "records": {"web.lab.test": ["10.213.77.12"]}}

Kinds: ``ssh`` (banner sent as the first line), ``ftp`` and ``smtp`` (banner is the whole ``220``
greeting line), ``http`` (banner is the ``Server:`` header value; CRLF inside it adds header
lines), ``dns`` (UDP; banner is the ``version.bind`` CHAOS TXT string). Every handler swallows
garbage: Nmap sends dozens of probes and a crash would change what it reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import struct
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any, cast

IDLE_TIMEOUT = 15.0
MAX_LINE = 8192
MAX_LIFETIME = 60.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One port to serve."""

    port: int
    protocol: str
    kind: str
    banner: str


@dataclass(frozen=True, slots=True)
class Spec:
    """What one host serves, on which addresses."""

    bind: tuple[str, ...]
    services: tuple[ServiceSpec, ...]
    records: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_spec(text: str) -> Spec:
    """Parse a spec from JSON text, or from a file when ``text`` starts with ``@``."""
    raw: dict[str, Any] = json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
    services = tuple(
        ServiceSpec(int(s["port"]), str(s["protocol"]), str(s["kind"]), str(s["banner"]))
        for s in raw["services"]
    )
    records = {str(k).lower().rstrip("."): tuple(v) for k, v in raw.get("records", {}).items()}
    return Spec(tuple(raw["bind"]), services, records)


def log(message: str) -> None:
    """Log to stderr (the lab sends it to a file)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- TCP protocols -------------------------------------------------------------------------


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """One line (without its end), or None on EOF, timeout or an over-long line."""
    try:
        line = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
    except (TimeoutError, ValueError, asyncio.LimitOverrunError, ConnectionError):
        return None
    if not line:
        return None
    return line.rstrip(b"\r\n")


def command_of(line: bytes) -> str:
    """Upper-case first word of a client line, ``""`` for binary junk."""
    word = line.split(b" ", 1)[0][:16]
    return word.decode("ascii", "replace").upper() if word.isalpha() else ""


def ssh_handler(banner: str) -> Handler:
    """Send the identification string, then read and discard what the client sends."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(banner.encode() + b"\r\n")
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            while await asyncio.wait_for(reader.read(4096), IDLE_TIMEOUT):
                pass

    return handle


FTP_REPLIES = {
    "USER": "331 Please specify the password.",
    "PASS": "530 Login incorrect.",
    "SYST": "215 UNIX Type: L8",
    "FEAT": "211-Features:\r\n EPRT\r\n EPSV\r\n PASV\r\n211 End",
    "HELP": "214 Help OK.",
    "NOOP": "200 NOOP ok.",
    "QUIT": "221 Goodbye.",
}

SMTP_REPLIES = {
    "HELO": "250 Hello",
    "EHLO": "250-Hello\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n250 HELP",
    "MAIL": "503 sender not yet given",
    "RCPT": "503 sender not yet given",
    "NOOP": "250 OK",
    "RSET": "250 Reset OK",
    "HELP": "214-Commands supported:\r\n214 AUTH HELO EHLO MAIL RCPT DATA NOOP QUIT RSET HELP",
    "QUIT": "221 closing connection",
}


def line_handler(greeting: str, replies: dict[str, str], unknown: str) -> Handler:
    """A ``220`` greeting, then one canned reply per command line until QUIT."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting.encode() + b"\r\n")
        await writer.drain()
        while (line := await read_line(reader)) is not None:
            command = command_of(line)
            writer.write(replies.get(command, unknown).encode() + b"\r\n")
            await writer.drain()
            if command == "QUIT":
                return

    return handle


HTTP_BODY = b"<html><body><h1>It works!</h1></body></html>\n"
HTTP_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 501: "Not Implemented"}


def http_status(request_line: bytes) -> tuple[int, bool]:
    """Status for a request line, and whether a body is sent."""
    parts = request_line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/") or not parts[0].isalpha():
        return 400, True
    method, target = parts[0], parts[1]
    if method not in (b"GET", b"HEAD", b"POST", b"OPTIONS"):
        return 501, True
    return (200 if target in (b"/", b"*") else 404), method != b"HEAD"


def http_handler(server_header: str) -> Handler:
    """Answer the first request (or junk) with one response (Server header first), then close."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await read_line(reader)
        if request_line is None:
            return
        status, with_body = http_status(request_line)
        if status != 400:  # read the headers so the client sees a clean close
            for _ in range(100):
                header = await read_line(reader)
                if not header:
                    break
        body = HTTP_BODY if status == 200 else f"<h1>{HTTP_REASONS[status]}</h1>\n".encode()
        head = (
            f"HTTP/1.1 {status} {HTTP_REASONS[status]}\r\n"
            f"Server: {server_header}\r\n"
            f"Date: {formatdate(usegmt=True)}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Content-Type: text/html; charset=iso-8859-1\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1", "replace") + (body if with_body else b""))
        await writer.drain()

    return handle


def tcp_handler(service: ServiceSpec) -> Handler:
    """The protocol handler for one TCP service."""
    if service.kind == "ssh":
        return ssh_handler(service.banner)
    if service.kind == "ftp":
        return line_handler(service.banner, FTP_REPLIES, "500 Unknown command.")
    if service.kind == "smtp":
        return line_handler(service.banner, SMTP_REPLIES, "500 unrecognized command")
    if service.kind == "http":
        return http_handler(service.banner)
    raise ValueError(f"unknown TCP service kind {service.kind!r}")


def guarded(handler: Handler, label: str) -> Handler:
    """Wrap a handler: bounded lifetime, every error logged and swallowed, socket closed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(handler(reader, writer), MAX_LIFETIME)
        except (ConnectionError, TimeoutError):
            pass  # clients hanging up or going quiet is the normal case
        except Exception as exc:  # a lab server must survive any client
            log(f"{label}: {type(exc).__name__}: {exc}")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return handle


# --- DNS -----------------------------------------------------------------------------------

QTYPE_A, QTYPE_NS, QTYPE_AAAA, QTYPE_TXT, QTYPE_ANY = 1, 2, 28, 16, 255
CLASS_IN, CLASS_CH = 1, 3
RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED = 1, 3, 4, 5
VERSION_NAMES = {"version.bind", "version.server"}


def parse_question(packet: bytes) -> tuple[str, int, int, int] | None:
    """Name, type, class and end offset of the first question; None if malformed."""
    labels: list[str] = []
    pos = 12
    while True:
        if pos >= len(packet):
            return None
        length = packet[pos]
        pos += 1
        if length == 0:
            break
        if length > 63 or pos + length > len(packet) or len(labels) > 64:
            return None  # compression pointers never appear in a query's question
        labels.append(packet[pos : pos + length].decode("ascii", "replace"))
        pos += length
    if pos + 4 > len(packet):
        return None
    qtype, qclass = struct.unpack("!HH", packet[pos : pos + 4])
    return ".".join(labels).lower(), qtype, qclass, pos + 4


def txt_rdata(text: str) -> bytes:
    """TXT rdata: the string in 255-byte chunks, each length-prefixed."""
    data = text.encode()[:1000]
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    return b"".join(bytes([len(c)]) + c for c in chunks)


def rr(rtype: int, rclass: int, rdata: bytes, ttl: int = 0) -> bytes:
    """A resource record whose owner is the question name (pointer to offset 12)."""
    return b"\xc0\x0c" + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def dns_answer(packet: bytes, version: str, records: dict[str, tuple[str, ...]]) -> bytes | None:
    """The reply to one DNS query, or None for packets that deserve silence."""
    if len(packet) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000:  # a response: never answer those
        return None
    opcode = (flags >> 11) & 0xF
    base = 0x8000 | (flags & 0x7900)  # QR, echo opcode and RD

    def reply(
        rcode: int, question: bytes = b"", answers: tuple[bytes, ...] = (), auth: bytes = b""
    ) -> bytes:
        counts = (1 if question else 0, len(answers), 1 if auth else 0, 0)
        aa = 0x0400 if rcode in (0, RCODE_NXDOMAIN) else 0
        header = struct.pack("!HH4H", qid, base | aa | rcode, *counts)
        return header + question + b"".join(answers) + auth

    if opcode != 0:
        return reply(RCODE_NOTIMP)
    parsed = parse_question(packet) if qdcount == 1 else None
    if parsed is None:
        return reply(RCODE_FORMERR)
    name, qtype, qclass, end = parsed
    question = packet[12:end]
    if qclass == CLASS_CH:
        if name in VERSION_NAMES and qtype in (QTYPE_TXT, QTYPE_ANY):
            ns = rr(QTYPE_NS, CLASS_CH, b"\xc0\x0c")
            return reply(0, question, (rr(QTYPE_TXT, CLASS_CH, txt_rdata(version)),), ns)
        return reply(RCODE_REFUSED, question)
    if qclass != CLASS_IN:
        return reply(RCODE_REFUSED, question)
    if name != "lab.test" and not name.endswith(".lab.test"):
        return reply(RCODE_REFUSED, question)  # authoritative only, no recursion
    if name not in records:
        return reply(RCODE_NXDOMAIN, question)
    answers: list[bytes] = []
    for address in records[name]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        rtype = QTYPE_AAAA if family == socket.AF_INET6 else QTYPE_A
        if qtype in (rtype, QTYPE_ANY):
            answers.append(rr(rtype, CLASS_IN, socket.inet_pton(family, address), 300))
    return reply(0, question, tuple(answers))


class DnsProtocol(asyncio.DatagramProtocol):
    """UDP DNS responder: version.bind, the lab zone, polite refusals for the rest."""

    def __init__(self, version: str, records: dict[str, tuple[str, ...]]) -> None:
        self.version = version
        self.records = records
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            answer = dns_answer(data[:4096], self.version, self.records)
            if answer is not None and self.transport is not None:
                self.transport.sendto(answer, addr)
        except Exception as exc:  # a lab server must survive any datagram
            log(f"dns: {type(exc).__name__}: {exc}")

    def error_received(self, exc: Exception) -> None:
        log(f"dns: {exc}")


# --- serving and probing -------------------------------------------------------------------


async def serve(spec: Spec) -> None:
    """Bind every service on every address, print READY, run until SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    closers: list[Callable[[], object]] = []
    for service in spec.services:
        for address in spec.bind:
            label = f"{service.kind}/{address}/{service.port}"
            if service.protocol == "udp":
                if service.kind != "dns":
                    raise ValueError(f"unknown UDP service kind {service.kind!r}")
                protocol = DnsProtocol(service.banner, spec.records)
                transport, _ = await loop.create_datagram_endpoint(
                    lambda p=protocol: p,  # type: ignore[misc]
                    local_addr=(address, service.port),
                )
                closers.append(transport.close)
            else:
                server = await asyncio.start_server(
                    guarded(tcp_handler(service), label),
                    address,
                    service.port,
                    reuse_address=True,
                    limit=MAX_LINE,
                )
                closers.append(server.close)
    print("READY", flush=True)
    await stop.wait()
    for close in closers:
        close()


def tcp_ready(address: str, port: int) -> bool:
    """Whether a TCP connection to address:port succeeds now."""
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def dns_ready(address: str, port: int) -> bool:
    """Whether a version.bind query to address:port gets an answer now."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    query = (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"
    )
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.sendto(query, (address, port))
            return sock.recv(4096)[:2] == b"\x12\x34"
        except OSError:
            return False


def probe(spec: Spec, deadline: float) -> list[str]:
    """Wait until every service answers on every address; return those that never did."""
    pending = [(a, s) for s in spec.services for a in spec.bind]
    while pending and time.monotonic() < deadline:
        pending = [
            (a, s)
            for a, s in pending
            if not (dns_ready if s.protocol == "udp" else tcp_ready)(a, s.port)
        ]
        if pending:
            time.sleep(0.1)
    return [f"{s.protocol}/{a}/{s.port}" for a, s in pending]


def main(argv: list[str]) -> int:
    """Entry point: serve a spec, or probe one with ``--probe``."""
    if len(argv) == 2 and argv[0] == "--probe":
        failed = probe(load_spec(argv[1]), time.monotonic() + 20.0)
        if failed:
            print("not answering: " + " ".join(failed), file=sys.stderr)
        return 1 if failed else 0
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    asyncio.run(serve(load_spec(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
