"""Shared fixtures: a private network namespace with a loopback banner server, and the
network-namespace lab (root only)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.lab.fixtures", "tests.lab.daemon_fixtures"]

ASSETS = Path(__file__).parent / "assets"
NMAP_XML = ASSETS / "nmap"

needs_nmap = pytest.mark.skipif(
    shutil.which("nmap") is None, reason="needs the nmap binary (make test installs it)"
)


CLONE_NEWNET = 0x40000000


@pytest.fixture
def private_network() -> Iterator[None]:
    """The test's thread in a network namespace of its own, with only ``lo`` (no route out):
    the loopback servers it starts and the Nmap it runs never touch the machine's network. The
    thread returns to the machine's namespace afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.skip("needs the ip command (Debian package iproute2; make test installs it)")
    libc = ctypes.CDLL(None, use_errno=True)
    with Path("/proc/thread-self/ns/net").open("rb") as home:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        try:
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
            yield
        finally:
            if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the machine's network")


@pytest.fixture
def ssh_banner_port(private_network: None) -> Iterator[int]:
    """A loopback TCP server, in the test's private network namespace, that greets with a real
    OpenSSH banner."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn, contextlib.suppress(OSError):  # a port scan connects and resets
                conn.sendall(b"SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="session")
def starter_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled starter database, built once per session from the packaged data."""
    from brulee.vulndb.build import build_starter

    path = tmp_path_factory.mktemp("vulndb") / "vulndb.sqlite"
    build_starter(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def _isolated_database(
    starter_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Every brulee run in the suite (in process or not) uses the session's database and history
    store, never the user's data directory."""
    history = tmp_path_factory.mktemp("history") / "history.sqlite"
    settings = {"BRULEE_DB": str(starter_db), "BRULEE_HISTORY": str(history)}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    yield
    for name, value in saved.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value
