"""Network-namespace lab: a scanner namespace with a bridge, one namespace per host.

Layout (all names carry the prefix ``brl<pid>x<n>``, so labs never collide)::

    <prefix>-scan   bridge br0 = 10.213.77.1/24 + fd42:b7e1:77::1/64, one veth per host
    <prefix>-h0..   eth0 = the host's addresses, banner servers (servers.py) bound to them

Nothing is created in the root namespace and no namespace has a default route, so nothing
scanned in the lab can reach or come from a real network. Needs root and iproute2's ``ip``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SUBNET4 = ipaddress.IPv4Network("10.213.77.0/24")
SUBNET6 = ipaddress.IPv6Network("fd42:b7e1:77::/64")
SCANNER4 = "10.213.77.1"
SCANNER6 = "fd42:b7e1:77::1"
NAME_PREFIX = "brl"
SERVERS = Path(__file__).with_name("servers.py")
READY_TIMEOUT = 20.0

_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class LabService:
    """One listening port. ``kind``: ssh, ftp, smtp, http (TCP) or dns (UDP).

    ``banner``: ssh identification line; ftp/smtp full greeting line; http ``Server:`` value
    (a CRLF inside adds header lines); dns ``version.bind`` TXT string.
    """

    port: int
    protocol: str
    kind: str
    banner: str


@dataclass(frozen=True, slots=True)
class LabHost:
    """One lab host: a namespace with these addresses and services."""

    name: str
    ipv4: str
    ipv6: str
    services: tuple[LabService, ...]

    @property
    def tcp_ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services if s.protocol == "tcp")

    @property
    def udp_ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services if s.protocol == "udp")


OPENSSH_DEBIAN = "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7"
HOSTILE_SERVER = r"Apache/2.4.49 (\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)"

DEFAULT_HOSTS: tuple[LabHost, ...] = (
    LabHost(
        "stretch-ftp",
        "10.213.77.11",
        "fd42:b7e1:77::11",
        (
            LabService(21, "tcp", "ftp", "220 (vsFTPd 2.3.4)"),
            LabService(22, "tcp", "ssh", OPENSSH_DEBIAN),
        ),
    ),
    LabHost(
        "web-apache",
        "10.213.77.12",
        "fd42:b7e1:77::12",
        (
            LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5"),
            LabService(80, "tcp", "http", "Apache/2.4.49 (Unix)"),
        ),
    ),
    LabHost(
        "web-nginx",
        "10.213.77.13",
        "fd42:b7e1:77::13",
        (
            LabService(
                21,
                "tcp",
                "ftp",
                "220 ProFTPD 1.3.5 Server (ProFTPD Default Installation) [::ffff:10.213.77.13]",
            ),
            LabService(80, "tcp", "http", "nginx/1.14.0 (Ubuntu)"),
        ),
    ),
    LabHost(
        "mail",
        "10.213.77.14",
        "fd42:b7e1:77::14",
        (
            LabService(22, "tcp", "ssh", OPENSSH_DEBIAN),
            LabService(
                25,
                "tcp",
                "smtp",
                "220 mail.example.test ESMTP Exim 4.89 Tue, 04 Jun 2019 10:12:34 +0000",
            ),
            LabService(53, "udp", "dns", "9.11.5-P4-5.1+deb10u5-Debian"),
        ),
    ),
    LabHost(
        "hostile",
        "10.213.77.15",
        "fd42:b7e1:77::15",
        (LabService(80, "tcp", "http", HOSTILE_SERVER),),
    ),
)


# Extra hosts for corpus scenarios (not part of the default lab).
EMPTY_HOST = LabHost("empty", "10.213.77.20", "fd42:b7e1:77::20", ())
MULTI_CPE_HOSTS: tuple[LabHost, ...] = (
    # Match lines with cpe:/a + cpe:/h + cpe:/o; Nmap keeps one CPE per part.
    LabHost(
        "nas",
        "10.213.77.21",
        "fd42:b7e1:77::21",
        (LabService(80, "tcp", "http", "Linux, WEBACCESS/1.0, DIR-685 Ver 1.00"),),
    ),
    # Two cpe:/a on one match line: Nmap 7.93 keeps only the last (php, with Apache's version).
    LabHost(
        "lamp",
        "10.213.77.22",
        "fd42:b7e1:77::22",
        (
            LabService(
                80, "tcp", "http", "Apache/2.4.29\r\nX-Powered-By: PHP/7.2.24-0ubuntu0.18.04.10"
            ),
        ),
    ),
    # Application and OS CPEs that both carry a version.
    LabHost(
        "rhel-dns",
        "10.213.77.23",
        "fd42:b7e1:77::23",
        (LabService(53, "udp", "dns", "9.11.4-P2-RedHat-9.11.4-26.P2.el7"),),
    ),
)


class LabError(RuntimeError):
    """The lab could not be built."""


def _run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")
    return result


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def lab_skip_reason() -> str | None:
    """Why no lab can run on this machine (not root, no ``ip``/``nmap``), or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    for tool, package in (("ip", "iproute2"), ("nmap", "nmap")):
        if shutil.which(tool) is None:
            return f"needs the {tool!r} command (Debian package {package})"
    return None


def netns_list() -> list[str]:
    """Names of all named network namespaces."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    """PIDs of the processes running in a named namespace."""
    out = _run(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _kill_and_reap(pids: Iterable[int], grace: float = 3.0) -> None:
    """SIGTERM these PIDs, then SIGKILL the ones still alive after ``grace`` seconds."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def cleanup_stale() -> list[str]:
    """Delete lab namespaces left by dead processes (a killed test run); return their names.

    Only namespaces named ``brl<pid>x<n>-...`` whose ``<pid>`` is no longer alive are touched,
    and only the processes inside those namespaces are killed.
    """
    removed: list[str] = []
    for name in netns_list():
        owner = name[len(NAME_PREFIX) :].split("x", 1)[0]
        if not (name.startswith(NAME_PREFIX) and owner.isdigit()) or pid_alive(int(owner)):
            continue
        _kill_and_reap(netns_pids(name), grace=1.0)
        _run(["ip", "netns", "delete", name], check=False)
        removed.append(name)
    return removed


class Lab:
    """A running lab of ``hosts``; use as a context manager (teardown always runs)."""

    def __init__(self, hosts: Sequence[LabHost] = DEFAULT_HOSTS) -> None:
        self._check_hosts(hosts)
        self.hosts: tuple[LabHost, ...] = tuple(hosts)
        self.prefix = f"{NAME_PREFIX}{os.getpid()}x{next(_counter)}"
        self.scanner_ns = f"{self.prefix}-scan"
        self.host_ns: dict[str, str] = {h.name: f"{self.prefix}-h{i}" for i, h in enumerate(hosts)}
        self.workdir = Path(tempfile.gettempdir(), self.prefix)  # made by start()
        self._namespaces: list[str] = []
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []
        self._started = False

    @staticmethod
    def _check_hosts(hosts: Sequence[LabHost]) -> None:
        names = [h.name for h in hosts]
        if len(set(names)) != len(names):
            raise LabError(f"duplicate host names in {names}")
        for host in hosts:
            in4 = ipaddress.IPv4Address(host.ipv4) in SUBNET4
            in6 = ipaddress.IPv6Address(host.ipv6) in SUBNET6
            if not (in4 and in6) or host.ipv4 == SCANNER4 or host.ipv6 == SCANNER6:
                raise LabError(f"{host.name}: addresses must be lab host addresses")

    # --- public API ----------------------------------------------------------------------

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every host's IPv4 address, in host order."""
        return tuple(h.ipv4 for h in self.hosts)

    @property
    def addresses6(self) -> tuple[str, ...]:
        """Every host's IPv6 address, in host order."""
        return tuple(h.ipv6 for h in self.hosts)

    @property
    def scanner_addresses(self) -> tuple[str, str]:
        """The scanner namespace's own IPv4 and IPv6 addresses."""
        return SCANNER4, SCANNER6

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace this lab created (scanner first)."""
        return tuple(self._namespaces)

    @property
    def pids(self) -> tuple[int, ...]:
        """PIDs of the banner servers this lab started."""
        return tuple(p.pid for p in self._procs)

    def host(self, name: str) -> LabHost:
        """The host called ``name``."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def unused_addresses(self, count: int = 3) -> tuple[str, ...]:
        """IPv4 addresses inside the lab subnet that no host uses (they show up as down)."""
        used = {SCANNER4, *self.addresses}
        free = (str(a) for a in SUBNET4.hosts() if str(a) not in used and int(a) & 0xFF >= 200)
        return tuple(itertools.islice(free, count))

    def scanner_cmd(self, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped to run inside the scanner namespace."""
        return ["ip", "netns", "exec", self.scanner_ns, *argv]

    def host_cmd(self, name: str, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped to run inside host ``name``'s namespace."""
        return ["ip", "netns", "exec", self.host_ns[name], *argv]

    def start(self) -> Lab:
        """Build the network, start every banner server, wait until every port answers."""
        if self._started:
            return self
        self._started = True
        try:
            self.workdir.mkdir(mode=0o700)
            self._build_network()
            self._start_servers()
            self._wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Kill every process started here (by PID) and delete every namespace made here."""
        procs, self._procs = self._procs, []
        _kill_and_reap(p.pid for p in procs if p.poll() is None)
        for proc in procs:
            proc.wait()  # reap: SIGKILL has been sent to any that ignored SIGTERM
        for name in reversed(self._namespaces):
            # Anything still inside (an nmap a test left running) dies with the lab.
            _kill_and_reap(netns_pids(name), grace=1.0)
            _run(["ip", "netns", "delete", name], check=False)
        self._namespaces = []
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def server_log(self) -> str:
        """Concatenated stderr of every banner server (for failure messages)."""
        return "\n".join(p.read_text(errors="replace") for p in self._logs if p.exists())

    # --- construction --------------------------------------------------------------------

    def _add_ns(self, name: str) -> None:
        _run(["ip", "netns", "add", name])
        self._namespaces.append(name)
        _run(["ip", "-n", name, "link", "set", "lo", "up"])

    def _build_network(self) -> None:
        scan = self.scanner_ns
        self._add_ns(scan)
        bridge = ["type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"]
        _run(["ip", "-n", scan, "link", "add", "br0", *bridge])
        _run(["ip", "-n", scan, "addr", "add", f"{SCANNER4}/24", "dev", "br0"])
        _run(["ip", "-n", scan, "addr", "add", f"{SCANNER6}/64", "dev", "br0", "nodad"])
        _run(["ip", "-n", scan, "link", "set", "br0", "up"])
        for index, host in enumerate(self.hosts):
            ns, veth = self.host_ns[host.name], f"v{index}"
            self._add_ns(ns)
            peer = ["peer", "name", "eth0", "netns", ns]
            _run(["ip", "-n", scan, "link", "add", veth, "type", "veth", *peer])
            _run(["ip", "-n", scan, "link", "set", veth, "master", "br0", "up"])
            _run(["ip", "-n", ns, "addr", "add", f"{host.ipv4}/24", "dev", "eth0"])
            _run(["ip", "-n", ns, "addr", "add", f"{host.ipv6}/64", "dev", "eth0", "nodad"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for ns in self._namespaces:
            routes = _run(["ip", "-n", ns, "route", "show", "default"]).stdout
            routes += _run(["ip", "-n", ns, "-6", "route", "show", "default"]).stdout
            if routes.strip():
                raise LabError(f"{ns} unexpectedly has a default route: {routes.strip()}")

    def _spec(self, host: LabHost) -> dict[str, object]:
        records = {f"{h.name}.lab.test": [h.ipv4, h.ipv6] for h in self.hosts}
        services = [
            {"port": s.port, "protocol": s.protocol, "kind": s.kind, "banner": s.banner}
            for s in host.services
        ]
        return {"bind": [host.ipv4, host.ipv6], "services": services, "records": records}

    def _start_servers(self) -> None:
        for host in self.hosts:
            if not host.services:
                continue
            spec = self.workdir / f"{host.name}.json"
            spec.write_text(json.dumps(self._spec(host)))
            log = self.workdir / f"{host.name}.log"
            self._logs.append(log)
            with log.open("wb") as err:
                proc = subprocess.Popen(
                    self.host_cmd(host.name, [sys.executable, "-I", str(SERVERS), f"@{spec}"]),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err,
                )
            self._procs.append(proc)
        for proc in self._procs:
            self._wait_line(proc)

    def _wait_line(self, proc: subprocess.Popen[bytes]) -> None:
        """Wait for a server's READY line (it is printed once every socket is bound)."""
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        proc.stdout.close()
        if line.strip() != b"READY":
            raise LabError(f"a banner server did not start:\n{self.server_log()}")

    def _wait_ready(self) -> None:
        """From the scanner namespace, wait until every service answers on every address."""
        for host in self.hosts:
            if not host.services:
                continue
            spec = self.workdir / f"{host.name}.json"
            probe = [sys.executable, "-I", str(SERVERS), "--probe", f"@{spec}"]
            result = _run(self.scanner_cmd(probe), check=False)
            if result.returncode != 0:
                raise LabError(f"{host.name}: {result.stderr.strip()}\n{self.server_log()}")
