"""Fixtures: a throwaway PostgreSQL cluster (session-wide), a store URL for each backend, and
three real lab scans: the lab, the same lab ten days later with an upgrade, a closed port, a
new port and a host gone, and the original lab again ten days after that."""

from __future__ import annotations

import copy
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from brulee.fleet.merge import read_report
from brulee.history.store import HistoryStore, open_store
from brulee.match.sources import Freshness, open_matching
from brulee.pipeline import render_reports

NMAP = Path(__file__).parents[1] / "assets" / "nmap"
DAY = 86400
POSTGRES_MISSING = "needs the PostgreSQL server (Debian package postgresql; make test installs it)"


# -- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, else Debian's newest under /usr/lib."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "pg_ctl").exists()]
    return max(versions, key=lambda d: int(d.parent.name), default=None)


@dataclass(frozen=True)
class PostgresServer:
    port: int
    sockets: Path
    """Its Unix socket's directory: reachable from the lab's network namespaces too."""

    def url(self, schema: str = "", *, socket: bool = False) -> str:
        """The cluster's database; with ``schema``, that schema first on the search path; by its
        Unix socket rather than loopback TCP with ``socket``."""
        options = [f"options=-csearch_path%3D{schema}"] if schema else []
        if socket:
            query = "&".join([f"host={self.sockets}", f"port={self.port}", *options])
            return f"postgresql://brulee@/postgres?{query}"
        return f"postgresql://brulee@127.0.0.1:{self.port}/postgres" + (
            f"?{options[0]}" if options else ""
        )

    def new_schema(self, *, socket: bool = False) -> str:
        """The URL of a new, empty schema (much faster than a new database)."""
        import psycopg

        name = f"history_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(name, socket=socket)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of its own on a loopback port, run by a non-root user (the Debian
    package's ``postgres`` when the suite runs as root), stopped and removed at the end."""
    pytest.importorskip("psycopg", reason="needs psycopg (the postgres extra)")
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip(POSTGRES_MISSING)
    run_as: list[str] = []
    account = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, and no postgres user to run PostgreSQL as")
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        if runuser is None:
            pytest.fail("running as root, and no runuser (util-linux) to run PostgreSQL with")
        run_as = [runuser, "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="brulee-pg-"))
    if account:
        os.chown(base, account.pw_uid, account.pw_gid)
    data, port = base / "data", _free_port()

    def pg(*argv: str | Path, check: bool = True) -> None:
        done = subprocess.run([*run_as, *map(str, argv)], cwd=base, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
        if done.returncode and check:
            log = (base / "log").read_text() if (base / "log").exists() else ""
            pytest.fail(f"{argv[0]} failed: {done.stdout}{done.stderr}{log}")

    try:
        pg(bindir / "initdb", "-D", data, "-U", "brulee", "-A", "trust", "-E", "UTF8",
           "--locale=C", "--no-sync")  # fmt: skip
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -F"
        pg(bindir / "pg_ctl", "-D", data, "-l", base / "log", "-o", options, "-w", "start")
        yield PostgresServer(port, base)
    finally:
        if (data / "postmaster.pid").exists():
            pg(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store of each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_schema()


# -- the lab, three times ----------------------------------------------------------------------


def _find(elem: Any, path: str) -> Any:
    found = elem.find(path)
    assert found is not None, path
    return found


def lab_xml(target: Path, days: int, *, changed: bool) -> Path:
    """``lab-basic.xml`` moved ``days`` later; ``changed``: Apache on .12 upgraded to 2.4.51,
    ProFTPD on .13 tcp/21 closed, the OpenSSH of .12 opened on .13 tcp/22, host .15 gone (as
    Nmap writes each of these)."""
    tree = etree.parse(NMAP / "lab-basic.xml")
    root = tree.getroot()
    for elem in root.iter():
        for name in ("start", "starttime", "endtime", "time"):
            value = elem.get(name)
            if value and value.isdigit():
                elem.set(name, str(int(value) + days * DAY))
    if changed:
        hosts = {_find(h, "address[@addrtype='ipv4']").get("addr"): h for h in root.iter("host")}
        ports = {
            (address, int(p.get("portid", ""))): p
            for address, host in hosts.items()
            for p in host.iter("port")
            if p.get("protocol") == "tcp"
        }
        apache = _find(ports["10.213.77.12", 80], "service")
        apache.set("version", "2.4.51")
        _find(apache, "cpe").text = "cpe:/a:apache:http_server:2.4.51"
        proftpd = ports["10.213.77.13", 21]
        _find(proftpd, "state").attrib.update({"state": "closed", "reason": "reset"})
        proftpd.replace(_find(proftpd, "service"), etree.fromstring(
            '<service name="ftp" method="table" conf="3"/>'
        ))  # fmt: skip
        ssh = ports["10.213.77.13", 22]
        _find(hosts["10.213.77.13"], "ports").replace(ssh, copy.deepcopy(ports["10.213.77.12", 22]))
        root.remove(hosts["10.213.77.15"])
        _find(root, "runstats/hosts").attrib.update({"up": "4", "down": "1"})
    tree.write(target)
    return target


@dataclass(frozen=True)
class LabReports:
    """The JSON reports of the three scans, and what the first one found."""

    first: Path
    changed: Path
    back: Path

    def vulnerabilities(self, label: str) -> list[str]:
        """The vulnerability ids the first scan found for the service with this label."""
        services = json.loads(self.first.read_text())["services"]
        found = [
            s for s in services if " ".join(filter(None, (s["product"], s["version"]))) == label
        ]
        return [v["id"] for v in found[0]["vulnerabilities"]]


@pytest.fixture(scope="session")
def lab_reports(tmp_path_factory: pytest.TempPathFactory, starter_db: Path) -> LabReports:
    root = tmp_path_factory.mktemp("lab")
    reports = []
    with open_matching(starter_db, Freshness(max_age=timedelta(days=36500))) as matching:
        for name, days, changed in (
            ("first", 0, False),
            ("changed", 10, True),
            ("back", 20, False),
        ):
            xml = lab_xml(root / f"{name}.xml", days, changed=changed)
            render_reports([xml], ["json"], root / name, targets=["10.213.77.11-15"],
                           matching=matching)  # fmt: skip
            reports.append(root / name / "report.json")
    return LabReports(*reports)


def first_seen_dates(store: HistoryStore, site: str = "") -> list[tuple[str, int, str, str]]:
    """Every finding the store knows at a site, (address, port, cve, first seen): a port's
    findings when first seen open, and those that came to it later."""
    rows = store._db.execute(
        "SELECT address, port, cve, seen FROM first_seen WHERE site = :site UNION ALL "
        "SELECT ps.address, ps.port, i.cve, ps.seen FROM port_seen ps JOIN scan_findings i "
        "ON i.scan_id = ps.scan_id AND i.n = ps.n WHERE ps.site = :site AND NOT EXISTS ("
        "SELECT 1 FROM first_seen fs WHERE fs.site = ps.site AND fs.address = ps.address "
        "AND fs.protocol = ps.protocol AND fs.port = ps.port AND fs.cve = i.cve)",
        {"site": site},
    )
    return sorted(rows)


@pytest.fixture
def recorded(history_url: str, lab_reports: LabReports) -> Iterator[tuple[HistoryStore, list[int]]]:
    """A store of each backend holding the three lab scans, and their ids in order."""
    with open_store(history_url) as store:
        ids = []
        for path in (lab_reports.first, lab_reports.changed, lab_reports.back):
            with read_report(path) as report:
                ids.append(store.record(report, kind="scan", location=str(path.parent)))
        yield store, ids
