"""Real Debian daemons, each in its own lab host namespace, started and stopped by PID.

Each daemon runs in the foreground from Debian's own binary (installed, or extracted from its .deb
where two packages conflict: ProFTPD beside vsftpd, Postfix beside Exim) with a minimal config
whose state lives in the lab's own directory. ``DaemonLab`` reuses ``netlab.Lab`` for the scanner
namespace, the bridge and one namespace per host (no default route); teardown stops each daemon
by its PID, then the lab kills whatever is left in its namespaces, by PID, and deletes them.
"""

from __future__ import annotations

import contextlib
import grp
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .netlab import NAME_PREFIX, Lab, LabError, LabHost, cleanup_stale, lab_skip_reason, pid_alive

REPO = Path(__file__).resolve().parents[2]
DEB_DIR = REPO / ".lab-debs"  # scripts/extract-debs unpacks the conflicting packages here
READINESS = Path(__file__).with_name("readiness.py")
READY_TIMEOUT = 150.0
LATE_START = 5.0  # seconds at least between the first daemons' start and the late ones'
STOP_GRACE = 15.0
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/nonexistent"}


@dataclass(frozen=True, slots=True)
class Port:
    """A port a daemon serves; ``probe``/``expect`` tell readiness.py how to check it."""

    port: int
    protocol: str = "tcp"
    probe: str = "banner"
    expect: str = ""


@dataclass(frozen=True, slots=True)
class Daemon:
    """One daemon on its own lab host. ``package``: the Debian package its binary comes from."""

    name: str
    address: str
    package: str
    ports: tuple[Port, ...]
    extracted: bool = False  # run from DEB_DIR/<package>, not installed
    late: bool = False  # started once the others answer, so that its uptime differs

    @property
    def ipv6(self) -> str:
        return "fd42:b7e1:77::" + self.address.rsplit(".", 1)[1]


@dataclass(frozen=True, slots=True)
class Launch:
    """How to run a daemon in the foreground: argv, extra environment, the signal that stops it."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    stop: signal.Signals = signal.SIGTERM


PG_BIN = max(  # the newest installed PostgreSQL server
    Path("/usr/lib/postgresql").glob("*/bin"),
    key=lambda p: [int(n) for n in p.parent.name.split(".") if n.isdigit()],
    default=Path("/usr/lib/postgresql/15/bin"),
)

DAEMONS: tuple[Daemon, ...] = (
    Daemon("openssh", "10.213.77.101", "openssh-server", (Port(22, expect="SSH-2.0-"),)),
    Daemon("apache2", "10.213.77.102", "apache2", (Port(80, probe="http", expect="HTTP/"),)),
    Daemon("nginx", "10.213.77.103", "nginx", (Port(80, probe="http", expect="HTTP/"),)),
    Daemon("vsftpd", "10.213.77.104", "vsftpd", (Port(21, expect="220"),)),
    Daemon("proftpd", "10.213.77.105", "proftpd-core", (Port(21, expect="220"),), True),
    Daemon("exim4", "10.213.77.106", "exim4-daemon-light", (Port(25, expect="220"),)),
    Daemon("postfix", "10.213.77.107", "postfix", (Port(25, expect="220"),), True),
    Daemon("dovecot", "10.213.77.108", "dovecot-imapd", (Port(143, expect="* OK"),)),
    Daemon("bind9", "10.213.77.109", "bind9",
           (Port(53, probe="connect"), Port(53, "udp", probe="dns", expect="9."))),
    Daemon("mariadb", "10.213.77.110", "mariadb-server", (Port(3306, expect="MariaDB"),)),
    Daemon("postgresql", "10.213.77.111", f"postgresql-{PG_BIN.parent.name}",
           (Port(5432, probe="postgres"),)),
    Daemon("redis", "10.213.77.112", "redis-server", (Port(6379, probe="redis", expect="+PONG"),)),
    Daemon("memcached", "10.213.77.113", "memcached",
           (Port(11211, probe="memcached", expect="VERSION"),)),
    Daemon("memcached-2", "10.213.77.114", "memcached",
           (Port(11211, probe="memcached", expect="VERSION"),), late=True),
    Daemon("lighttpd", "10.213.77.115", "lighttpd", (Port(80, probe="http", expect="HTTP/"),)),
    Daemon("squid", "10.213.77.116", "squid", (Port(3128, probe="http", expect="HTTP/"),)),
    Daemon("samba", "10.213.77.117", "samba",
           (Port(139, probe="connect"), Port(445, probe="connect"))),
    Daemon("snmpd", "10.213.77.118", "snmpd", (Port(161, "udp", probe="snmp"),)),
    Daemon("tomcat", "10.213.77.119", "tomcat10", (Port(8080, probe="http", expect="HTTP/"),)),
)  # fmt: skip


# --- versions of what runs ---------------------------------------------------------------------


def package_version(daemon: Daemon) -> str | None:
    """The Debian version of the package the daemon runs from (None: not there)."""
    if daemon.extracted:
        marker = DEB_DIR / daemon.package / ".version"
        return marker.read_text().strip() if marker.is_file() else None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", daemon.package],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    status, _, version = result.stdout.partition(" ")
    installed = result.returncode == 0 and status.startswith("ii")
    return (version.strip() or None) if installed else None


def daemons_skip_reason(daemons: Sequence[Daemon] = DAEMONS) -> str | None:
    """Why the real-daemon lab cannot run here (not root, no ip/nmap, packages missing), or None."""
    reason = lab_skip_reason()
    if reason is not None:
        return reason
    missing = sorted({d.package for d in daemons if package_version(d) is None})
    if missing:
        return f"needs the Debian packages {', '.join(missing)} (make test installs them)"
    return None


# --- one minimal config per daemon -------------------------------------------------------------


def _own(path: Path, user: str) -> Path:
    """Make ``path`` (a directory, created if missing) belong to ``user``'s uid and gid."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, user, _group(user))
    return path


def _group(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _as(user: str, *argv: str) -> tuple[str, ...]:
    """``argv`` run as ``user`` (setpriv execs: the PID stays the daemon's)."""
    group = _group(user)
    return ("setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", "--", *argv)


def _run(argv: Sequence[str], **env: str) -> None:
    result = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=120, check=False, env={**ENV, **env}
    )
    if result.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {result.stdout.strip()} {result.stderr.strip()}")


def _openssh(d: Path, daemon: Daemon) -> Launch:
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_ed25519")])
    (d / "sshd_config").write_text(
        f"ListenAddress {daemon.address}\nHostKey {d}/host_ed25519\nPidFile {d}/sshd.pid\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    return Launch(("/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")))


def _apache2(d: Path, daemon: Daemon) -> Launch:
    """Debian's own configuration (/etc/apache2), with its run, lock and log paths moved here."""
    env = {"APACHE_RUN_USER": "www-data", "APACHE_RUN_GROUP": "www-data",
           "APACHE_PID_FILE": f"{d}/apache2.pid", "APACHE_RUN_DIR": str(d),
           "APACHE_LOCK_DIR": str(d), "APACHE_LOG_DIR": str(d)}  # fmt: skip
    return Launch(("/usr/sbin/apache2", "-d", "/etc/apache2", "-DFOREGROUND"), env)


def _nginx(d: Path, daemon: Daemon) -> Launch:
    temps = "".join(
        f"{kind}_temp_path {d}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (d / "nginx.conf").write_text(
        f"user www-data; pid {d}/nginx.pid; error_log {d}/error.log; events {{}}\n"
        f"http {{ access_log off; {temps} server {{ listen 80; root /var/www/html; }} }}\n"
    )
    return Launch(("/usr/sbin/nginx", "-e", f"{d}/error.log", "-p", str(d), "-c",
                   f"{d}/nginx.conf", "-g", "daemon off;"))  # fmt: skip


def _vsftpd(d: Path, daemon: Daemon) -> Launch:
    (d / "empty").mkdir(mode=0o555)
    conf = d / "vsftpd.conf"
    conf.write_text(
        f"listen=YES\nlisten_ipv6=NO\nlisten_address={daemon.address}\nbackground=NO\n"
        f"anonymous_enable=NO\nlocal_enable=YES\nxferlog_enable=NO\nsecure_chroot_dir={d}/empty\n"
        "pam_service_name=vsftpd\n"
    )
    return Launch(("/usr/sbin/vsftpd", str(conf)))


def _proftpd(d: Path, daemon: Daemon) -> Launch:
    root = DEB_DIR / daemon.package
    (d / "proftpd.conf").write_text(
        'ServerName "lab"\nServerType standalone\nDefaultServer on\nPort 21\nUseIPv6 off\n'
        f"User nobody\nGroup nogroup\nPidFile {d}/proftpd.pid\nScoreboardFile {d}/scoreboard\n"
        f"DelayTable {d}/delay\nWtmpLog off\nUseReverseDNS off\n"
    )
    return Launch((f"{root}/usr/sbin/proftpd", "--nodaemon", "-c", f"{d}/proftpd.conf"))


def _exim4(d: Path, daemon: Daemon) -> Launch:
    user = "Debian-exim"
    _own(d / "spool", user)
    _own(d / "log", user)
    conf = d / "exim4.conf"
    conf.write_text(
        f"primary_hostname = mail.lab.test\nspool_directory = {d}/spool\n"
        f"log_file_path = {d}/log/%slog\npid_file_path = {d}/exim.pid\n"
        f"exim_user = {user}\nexim_group = {user}\nlocal_interfaces = <; {daemon.address}\n"
        "daemon_smtp_ports = 25\nacl_smtp_rcpt = refuse\n\nbegin acl\n\nrefuse:\n  deny\n"
    )
    return Launch(("/usr/sbin/exim4", "-bdf", "-C", str(conf)))


def _postfix(d: Path, daemon: Daemon) -> Launch:
    """Postfix's master from the extracted .deb; its accounts are Exim's (no postfix user here)."""
    root = DEB_DIR / daemon.package
    lib = f"{root}/usr/lib/postfix"
    etc = d / "etc"
    etc.mkdir()
    _own(d / "queue", "Debian-exim")
    _own(d / "data", "Debian-exim")
    (etc / "main.cf").write_text(
        f"compatibility_level = 3.6\nqueue_directory = {d}/queue\ndata_directory = {d}/data\n"
        f"daemon_directory = {lib}/sbin\ncommand_directory = {root}/usr/sbin\n"
        f"shlib_directory = {lib}\nmeta_directory = {root}/etc/postfix\n"
        "mail_owner = Debian-exim\nsetgid_group = mail\nmyhostname = mail.lab.test\n"
        "inet_interfaces = all\ninet_protocols = ipv4\nmaillog_file = /dev/stdout\n"
        "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH\n"
        "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)\n"
        "alias_maps =\nalias_database =\nlocal_recipient_maps =\nsmtpd_peername_lookup = no\n"
    )
    (etc / "master.cf").write_text(
        "smtp inet n - n - - smtpd\nanvil unix - - n - 1 anvil\n"
        "proxymap unix - - n - - proxymap\npostlog unix-dgram n - n - 1 postlogd\n"
    )
    env = {"LD_LIBRARY_PATH": lib}
    _run([f"{root}/usr/sbin/postfix", "-c", str(etc), "check"], **env)  # makes the queue
    return Launch((f"{lib}/sbin/master", "-d", "-c", str(etc)), env)


def _dovecot(d: Path, daemon: Daemon) -> Launch:
    (d / "users").write_text("")
    (d / "dovecot.conf").write_text(
        f"protocols = imap\nlisten = *\nbase_dir = {d}/run\nstate_dir = {d}/state\n"
        f"log_path = {d}/dovecot.log\nssl = no\n"
        f"passdb {{\n  driver = passwd-file\n  args = {d}/users\n}}\n"
        "userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=/nonexistent\n}\n"
    )
    return Launch(("/usr/sbin/dovecot", "-F", "-c", f"{d}/dovecot.conf"))


def _bind9(d: Path, daemon: Daemon) -> Launch:
    work = _own(d / "named", "bind")
    (d / "named.conf").write_text(
        f'options {{ directory "{work}"; pid-file "{d}/named.pid"; listen-on {{ any; }};\n'
        "  listen-on-v6 { none; }; recursion no; dnssec-validation no; };\ncontrols { };\n"
    )
    return Launch(("/usr/sbin/named", "-f", "-u", "bind", "-c", f"{d}/named.conf"))


def _mariadb(d: Path, daemon: Daemon) -> Launch:
    """A fresh data directory with one remote account: without any, MariaDB refuses the
    scanner's address before its greeting, and Nmap gets no version."""
    data = _own(d / "data", "mysql")
    _own(d / "run", "mysql")
    _run(["mariadb-install-db", "--no-defaults", "--user=mysql", f"--datadir={data}",
          "--skip-test-db", "--auth-root-authentication-method=socket"])  # fmt: skip
    init = d / "init.sql"
    init.write_text("CREATE USER IF NOT EXISTS 'lab'@'%' IDENTIFIED BY 'lab';\n")
    init.chmod(0o644)
    return Launch(("/usr/sbin/mariadbd", "--no-defaults", "--user=mysql", f"--datadir={data}",
                   f"--socket={d}/run/mysqld.sock", f"--pid-file={d}/run/mariadb.pid",
                   "--bind-address=0.0.0.0", "--port=3306", "--skip-name-resolve",
                   f"--init-file={init}", f"--log-error={d}/run/error.log",
                   "--innodb-buffer-pool-size=16M"))  # fmt: skip


def _postgresql(d: Path, daemon: Daemon) -> Launch:
    data, sock = d / "data", _own(d / "sock", "postgres")
    _own(d, "postgres")
    _run(_as("postgres", f"{PG_BIN}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
             "--no-sync", "--no-instructions"))  # fmt: skip
    return Launch(
        _as("postgres", f"{PG_BIN}/postgres", "-D", str(data), "-c", "listen_addresses=*",
            "-c", f"unix_socket_directories={sock}", "-c", "port=5432"),
        stop=signal.SIGINT,  # fast shutdown (SIGTERM waits for clients)
    )  # fmt: skip


def _redis(d: Path, daemon: Daemon) -> Launch:
    work = _own(d / "redis", "redis")
    (d / "redis.conf").write_text(
        f"bind 0.0.0.0\nport 6379\nprotected-mode no\ndaemonize no\ndir {work}\n"
        'logfile ""\nsave ""\nappendonly no\n'
    )
    return Launch(_as("redis", "/usr/bin/redis-server", f"{d}/redis.conf"))


def _memcached(d: Path, daemon: Daemon) -> Launch:
    return Launch(
        ("/usr/bin/memcached", "-u", "memcache", "-l", "0.0.0.0", "-p", "11211", "-U", "0")
    )


def _lighttpd(d: Path, daemon: Daemon) -> Launch:
    logs = _own(d / "log", "www-data")
    (d / "lighttpd.conf").write_text(
        'server.document-root = "/var/www/html"\nserver.port = 80\n'
        'server.username = "www-data"\nserver.groupname = "www-data"\n'
        f'server.pid-file = "{d}/lighttpd.pid"\nserver.errorlog = "{logs}/error.log"\n'
    )
    return Launch(("/usr/sbin/lighttpd", "-D", "-f", f"{d}/lighttpd.conf"))


def _squid(d: Path, daemon: Daemon) -> Launch:
    _own(d, "proxy")
    (d / "squid.conf").write_text(
        f"http_port 3128\ncache_effective_user proxy\npid_filename {d}/squid.pid\n"
        f"access_log none\ncache_log {d}/cache.log\ncache_store_log none\ncoredump_dir {d}\n"
        "http_access deny all\nshutdown_lifetime 1 seconds\n"
    )
    return Launch(("/usr/sbin/squid", "-N", "-f", f"{d}/squid.conf"))


def _samba(d: Path, daemon: Daemon) -> Launch:
    dirs = {"lock directory": "lock", "state directory": "state", "cache directory": "cache",
            "private dir": "private", "pid directory": "run", "ncalrpc dir": "ncalrpc",
            "binddns dir": "bind-dns"}  # fmt: skip
    for sub in dirs.values():
        (d / sub).mkdir(mode=0o700)
    lines = [f"  {key} = {d}/{sub}" for key, sub in dirs.items()]
    (d / "smb.conf").write_text(
        "[global]\n  workgroup = LAB\n  server role = standalone server\n"
        f"  log file = {d}/log.%m\n  disable netbios = yes\n  load printers = no\n"
        "  printcap name = /dev/null\n" + "\n".join(lines) + "\n"
    )
    return Launch(("/usr/sbin/smbd", "--foreground", "--no-process-group",
                   f"--configfile={d}/smb.conf", "--debug-stdout"))  # fmt: skip


def _snmpd(d: Path, daemon: Daemon) -> Launch:
    state = _own(d / "state", "Debian-snmp")
    (d / "snmpd.conf").write_text("rocommunity public\nsysName snmp.lab.test\n")
    env = {"SNMP_PERSISTENT_DIR": str(state), "MIBS": ""}
    argv = ("/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c", f"{d}/snmpd.conf", "-p", f"{d}/snmpd.pid",
            "-u", "Debian-snmp", "-g", "Debian-snmp", "udp:161")  # fmt: skip
    return Launch(argv, env)


def _tomcat(d: Path, daemon: Daemon) -> Launch:
    """Debian's tomcat10 with its own /etc/tomcat10 copied into a private CATALINA_BASE."""
    shutil.copytree("/etc/tomcat10", d / "conf")
    for sub in ("logs", "temp", "work"):
        _own(d / sub, "tomcat")
    (d / "webapps").symlink_to("/var/lib/tomcat10/webapps")
    subprocess.run(["chgrp", "-R", "tomcat", str(d / "conf")], check=True)
    env = {"CATALINA_HOME": "/usr/share/tomcat10", "CATALINA_BASE": str(d),
           "CATALINA_TMPDIR": f"{d}/temp", "JAVA_OPTS": "-Xmx128m"}  # fmt: skip
    return Launch(_as("tomcat", "/usr/share/tomcat10/bin/catalina.sh", "run"), env)


SETUPS: dict[str, Callable[[Path, Daemon], Launch]] = {
    "openssh": _openssh, "apache2": _apache2, "nginx": _nginx, "vsftpd": _vsftpd,
    "proftpd": _proftpd, "exim4": _exim4, "postfix": _postfix, "dovecot": _dovecot,
    "bind9": _bind9, "mariadb": _mariadb, "postgresql": _postgresql, "redis": _redis,
    "memcached": _memcached, "memcached-2": _memcached, "lighttpd": _lighttpd, "squid": _squid,
    "samba": _samba, "snmpd": _snmpd, "tomcat": _tomcat,
}  # fmt: skip


# --- the lab -----------------------------------------------------------------------------------


def cleanup_stale_daemons() -> list[str]:
    """Remove what a killed run left: its namespaces (and their processes), its state dirs."""
    removed = cleanup_stale()
    pattern = re.compile(rf"{NAME_PREFIX}(\d+)x\d+-daemons")
    for path in Path(tempfile.gettempdir()).iterdir():
        match = pattern.fullmatch(path.name)
        if match and not pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


class DaemonLab:
    """Real daemons, one per lab host; use as a context manager (teardown always runs)."""

    def __init__(
        self,
        daemons: Sequence[Daemon] = DAEMONS,
        setups: Mapping[str, Callable[[Path, Daemon], Launch]] = SETUPS,
    ) -> None:
        self.daemons: tuple[Daemon, ...] = tuple(daemons)
        self._setups = setups
        hosts = [LabHost(d.name, d.address, d.ipv6, ()) for d in self.daemons]
        self.lab = Lab(hosts)
        self.root = Path(tempfile.gettempdir(), f"{self.lab.prefix}-daemons")
        self.versions: dict[str, str] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._launches: dict[str, Launch] = {}
        self.startup_seconds = 0.0

    @property
    def pids(self) -> dict[str, int]:
        """Each daemon's main PID, by daemon name."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def daemon(self, name: str) -> Daemon:
        """The daemon called ``name``."""
        return next(d for d in self.daemons if d.name == name)

    def scanner_cmd(self, argv: Sequence[str]) -> list[str]:
        """``argv`` wrapped to run inside the lab's scanner namespace."""
        return self.lab.scanner_cmd(argv)

    def log(self, name: str) -> str:
        """What a daemon wrote to its stdout and stderr, and its own log files (for failures)."""
        texts = []
        for path in sorted((self.root / name).rglob("*")):
            if path.is_file() and re.fullmatch(
                r".*\.log|log\..*|(main|panic|reject)log", path.name
            ):
                texts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(texts)

    def start(self) -> DaemonLab:
        """Build the network, start every daemon, wait until every port answers."""
        began = time.monotonic()
        try:
            cleanup_stale_daemons()
            self.lab.start()
            self.root.mkdir(mode=0o755)
            for daemon in self.daemons:
                version = package_version(daemon)
                if version is None:
                    raise LabError(f"{daemon.package} is not installed (make test installs it)")
                self.versions[daemon.name] = version
            with ThreadPoolExecutor(max_workers=4) as pool:
                launches = pool.map(self._setup, self.daemons)
                self._launches = dict(zip((d.name for d in self.daemons), launches, strict=True))
            first = [d for d in self.daemons if not d.late]
            spawned = time.monotonic()
            for daemon in first:
                self._spawn(daemon, self._launches[daemon.name])
            self._wait_ready(first)
            late = [d for d in self.daemons if d.late]
            if late:
                time.sleep(max(0.0, spawned + LATE_START - time.monotonic()))
                for daemon in late:
                    self._spawn(daemon, self._launches[daemon.name])
                self._wait_ready(late)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def close(self) -> None:
        """Stop each daemon by PID (its own stop signal, then SIGKILL), then the lab's namespaces
        (which kills, by PID, anything left in them) and the state directory."""
        procs, self._procs = self._procs, {}
        for name, proc in procs.items():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self._launches[name].stop)
        deadline = time.monotonic() + STOP_GRACE
        for proc in procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.lab.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DaemonLab:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _setup(self, daemon: Daemon) -> Launch:
        workdir = self.root / daemon.name
        workdir.mkdir(mode=0o755)
        return self._setups[daemon.name](workdir, daemon)

    def _spawn(self, daemon: Daemon, launch: Launch) -> None:
        with (self.root / daemon.name / "stdout.log").open("wb") as out:
            self._procs[daemon.name] = subprocess.Popen(
                self.lab.host_cmd(daemon.name, launch.argv),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**ENV, **launch.env}, cwd=self.root / daemon.name, start_new_session=True,
            )  # fmt: skip

    def _wait_ready(self, daemons: Sequence[Daemon]) -> None:
        """Probe their ports from the scanner namespace until all answer; fail early if a daemon
        exits, or at READY_TIMEOUT."""
        specs = [
            f"{d.address},{p.port},{p.protocol},{p.probe},{p.expect}"
            for d in daemons
            for p in d.ports
        ]
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            probe = [sys.executable, "-I", str(READINESS), "5", *specs]
            result = subprocess.run(
                self.scanner_cmd(probe), capture_output=True, text=True, check=False, timeout=60
            )
            if result.returncode == 0:
                return
            specs = result.stdout.split()
            if not specs:
                raise LabError(f"readiness probe failed: {result.stderr.strip()}")
            exited = [name for name, proc in self._procs.items() if proc.poll() is not None]
            if exited or time.monotonic() > deadline:
                waiting = {
                    d.name for d in self.daemons for s in specs if s.startswith(f"{d.address},")
                }
                details = "\n".join(
                    f"=== {name}\n{self.log(name)}" for name in sorted({*waiting, *exited})
                )
                raise LabError(f"not ready: {specs}; exited: {exited}\n{details}")


def dpkg_upstream(version: str) -> str:
    """A Debian version without epoch and revision (``1:9.2p1-2+deb12u10``: ``9.2p1``)."""
    return version.split(":", 1)[-1].rsplit("-", 1)[0]


def dpkg_revision(version: str) -> str:
    """A Debian version's revision (``1:9.2p1-2+deb12u10``: ``2+deb12u10``), or ``""``."""
    rest = version.split(":", 1)[-1]
    return rest.rsplit("-", 1)[1] if "-" in rest else ""


def nmap_ports(daemons: Sequence[Daemon] = DAEMONS) -> str:
    """Nmap's ``-p`` value for every lab port (redis and memcached are not in its top 1,000)."""
    tcp = sorted({p.port for d in daemons for p in d.ports if p.protocol == "tcp"})
    udp = sorted({p.port for d in daemons for p in d.ports if p.protocol == "udp"})
    return f"T:{','.join(map(str, tcp))},U:{','.join(map(str, udp))}"


NMAP_OPTIONS = ("-n", "-T4", "-sS", "-sU", "-p", nmap_ports())


def main(argv: Sequence[str]) -> int:
    """``python -m tests.lab.daemons [--xml FILE] [NAME...]``: start the lab, print the PIDs and
    wait for Enter; with ``--xml``, write ``nmap -sV`` of the lab to FILE instead (the corpus's
    real-debian-daemons.xml)."""
    args = list(argv)
    xml = Path(args.pop(args.index("--xml") + 1)).resolve() if "--xml" in args else None
    names = [a for a in args if a != "--xml"]
    chosen = [d for d in DAEMONS if not names or d.name in names]
    with DaemonLab(chosen) as running:
        print(f"ready in {running.startup_seconds:.1f} s; scanner: {running.lab.scanner_ns}")
        for name, pid in running.pids.items():
            print(f"{name:12} {running.daemon(name).address:15} {pid:>8} {running.versions[name]}")
        if xml is not None:  # nmap runs in the output directory: no local path in its args
            argv_nmap = ["nmap", *NMAP_OPTIONS, "-sV", "-oX", xml.name,
                         *(d.address for d in chosen)]  # fmt: skip
            subprocess.run(running.scanner_cmd(argv_nmap), cwd=xml.parent, check=True)
            return 0
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input("Enter stops the lab> ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
