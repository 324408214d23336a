"""Wait until real daemons answer: ``python -I readiness.py TIMEOUT SPEC...`` (stdlib only).

Run inside the lab's scanner namespace. A SPEC is ``address,port,protocol,probe,expect``:
``probe`` says how to ask (``banner``: read the greeting; ``http``, ``redis``, ``memcached``,
``postgres``: send that protocol's first words; ``connect``: a TCP handshake is enough; ``dns``,
``snmp``: a UDP query), ``expect`` is text the answer must contain (may be empty). Prints the
specs still not ready at the deadline, one a line, and exits 1 if any.
"""

from __future__ import annotations

import socket
import struct
import sys
import time


def _postgres_startup() -> bytes:
    """A StartupMessage (protocol 3.0, user "lab"): the server answers once it takes sessions."""
    body = struct.pack("!I", 196608) + b"user\x00lab\x00\x00"
    return struct.pack("!I", len(body) + 4) + body


REQUESTS: dict[str, bytes] = {
    "banner": b"",
    "connect": b"",
    "http": b"GET / HTTP/1.0\r\nHost: lab.test\r\n\r\n",
    "redis": b"PING\r\n",
    "memcached": b"version\r\n",
    "postgres": _postgres_startup(),
    # version.bind CH TXT
    "dns": bytes.fromhex("4c61 0000 0001 0000 0000 0000")
    + b"\x07version\x04bind\x00\x00\x10\x00\x03",
    # SNMPv1 GetRequest, community "public", sysDescr.0
    "snmp": bytes.fromhex(
        "302602010004067075626c6963a019020101020100020100300e300c06082b060102010101000500"
    ),
}


def ask(address: str, port: int, protocol: str, probe: str, expect: bytes) -> bool:
    """One attempt: whether the service answers as expected."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect((address, port))
            if probe == "connect":
                return True
            if REQUESTS[probe]:
                sock.sendall(REQUESTS[probe])
            answer = sock.recv(4096)
        except OSError:
            return False
    if probe == "postgres" and b"starting up" in answer:
        return False
    return bool(answer) and expect in answer


def main(argv: list[str]) -> int:
    deadline = time.monotonic() + float(argv[0])
    pending = [spec.split(",", 4) for spec in argv[1:]]
    while pending:
        pending = [s for s in pending if not ask(s[0], int(s[1]), s[2], s[3], s[4].encode())]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    for spec in pending:
        print(",".join(spec))
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
