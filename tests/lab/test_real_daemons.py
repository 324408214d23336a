"""Real Debian daemons scanned by brulee and the real Nmap, inside the lab (root).

Each daemon is Debian's own binary (tests/lab/daemons.py) in its own namespace host; the scan runs
from the lab's scanner namespace (``real_scan`` in daemon_fixtures.py). What is asserted here is
what a security engineer checks first: every port is found with the right product, each version
Nmap reports is the installed package's (or, where Nmap only has a label, is known to be one), the
distribution evidence is found where the banner carries it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path

import lxml.html
import pytest

from brulee.report.markdown import md_escape

from .daemon_fixtures import BRULEE, RealScan
from .daemons import (
    DAEMONS,
    Daemon,
    DaemonLab,
    Launch,
    daemons_skip_reason,
    dpkg_revision,
    dpkg_upstream,
)
from .netlab import SCANNER4, SUBNET4, LabError, netns_list, netns_pids, pid_alive
from .summary import PROBES, nmap_labels, render

pytestmark = [pytest.mark.root, pytest.mark.nmap]

# The product Nmap 7.93 names for each daemon.
PRODUCTS = {
    "openssh": "OpenSSH", "apache2": "Apache httpd", "nginx": "nginx", "vsftpd": "vsftpd",
    "proftpd": "ProFTPD", "exim4": "Exim smtpd", "postfix": "Postfix smtpd",
    "dovecot": "Dovecot imapd", "bind9": "ISC BIND", "mariadb": "MySQL",
    "postgresql": "PostgreSQL DB", "redis": "Redis key-value store", "memcached": "Memcached",
    "memcached-2": "Memcached", "lighttpd": "lighttpd", "squid": "Squid http proxy",
    "samba": "Samba smbd", "snmpd": "SNMPv1 server; net-snmp SNMPv3 server",
    "tomcat": "Apache Tomcat",
}  # fmt: skip

UPSTREAM_ONLY = ("apache2", "nginx", "vsftpd", "exim4", "redis", "memcached", "memcached-2",
                 "lighttpd", "squid")  # fmt: skip
# How the version Nmap reports is written from the Debian package version, where the banner has it.
VERSIONS: dict[str, Callable[[str], str]] = {
    "openssh": lambda v: f"{dpkg_upstream(v)} Debian {dpkg_revision(v)}",
    "bind9": lambda v: f"{dpkg_upstream(v)}-{dpkg_revision(v)}",
    "mariadb": lambda v: f"5.5.5-{dpkg_upstream(v)}-MariaDB-{dpkg_revision(v)}",
    **dict.fromkeys(UPSTREAM_ONLY, dpkg_upstream),
}  # fmt: skip
# Literal labels of Nmap's match lines: the same for every release, not the running version.
NMAP_LABELS = {"samba": "4.6.2", "postgresql": "9.6.0 or later"}
# Banners that carry no version at all (Debian's defaults hide it, or Nmap cannot read it).
NO_VERSION = ("proftpd", "postfix", "dovecot", "snmpd", "tomcat")
# What the banner says of the distribution: the package revision (and so the release), or only
# the distribution's name.
DEBIAN_REVISION = ("openssh", "bind9", "mariadb")
DEBIAN_NAME_ONLY = ("apache2",)

LOCATIONS = sorted((d.name, p.port, p.protocol) for d in DAEMONS for p in d.ports)


def test_every_daemon_is_covered() -> None:
    names = {d.name for d in DAEMONS}
    assert set(PRODUCTS) == names
    assert set(VERSIONS) | set(NMAP_LABELS) | set(NO_VERSION) == names
    assert not set(VERSIONS) & set(NMAP_LABELS) and not set(VERSIONS) & set(NO_VERSION)


def test_the_scan_ran_inside_the_lab(real_scan: RealScan) -> None:
    scanner = real_scan.lab.lab.scanner_ns
    assert real_scan.command[:4] == ("ip", "netns", "exec", scanner)
    route = subprocess.run(["ip", "-n", scanner, "route", "show", "default"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert route.stdout.strip() == ""
    assert real_scan.returncode == 0, real_scan.stderr
    scan = real_scan.report["scan"]
    assert scan["hosts_up"] == len(DAEMONS) and scan["hosts_down"] == 0
    addresses = {h["address"] for h in real_scan.report["hosts"]}
    assert addresses == {d.address for d in DAEMONS}
    assert all(ipaddress.ip_address(a) in SUBNET4 for a in addresses)
    # The daemons saw the scanner namespace's own address as their peer.
    assert f"connect from unknown[{SCANNER4}]" in real_scan.lab.log("postfix")


def test_open_ports_are_exactly_the_daemons(real_scan: RealScan) -> None:
    by_address = {d.address: d.name for d in DAEMONS}
    found = sorted(
        (by_address[loc["address"]], loc["port"], loc["protocol"])
        for service in real_scan.report["services"]
        for loc in service["locations"]
    )
    assert found == LOCATIONS


@pytest.mark.parametrize(("name", "port", "protocol"), LOCATIONS)
def test_each_port_has_its_product(
    real_scan: RealScan, name: str, port: int, protocol: str
) -> None:
    assert real_scan.service(name, port, protocol)["product"] == PRODUCTS[name]


@pytest.mark.parametrize("name", sorted(VERSIONS))
def test_detected_version_is_the_installed_package(real_scan: RealScan, name: str) -> None:
    expected = VERSIONS[name](real_scan.versions[name])
    assert {s["version"] for s in real_scan.services_at(name)} == {expected}


@pytest.mark.parametrize("name", sorted(NMAP_LABELS))
def test_nmap_label_is_not_the_running_version(real_scan: RealScan, name: str) -> None:
    """Samba 4.17 shows as "4.6.2", PostgreSQL 15 as "9.6.0 or later": labels of a match line."""
    (service,) = real_scan.services_at(name)
    assert service["version"] == NMAP_LABELS[name]
    assert not dpkg_upstream(real_scan.versions[name]).startswith(NMAP_LABELS[name])
    if PROBES.is_file():  # Debian's nmap ships it
        assert (service["product"], service["version"]) in nmap_labels()
    # The service itself says so, not only each finding's reason.
    (note,) = service["notes"]
    assert "the running version is not known" in note and NMAP_LABELS[name] in note


@pytest.mark.parametrize("name", NO_VERSION)
def test_versionless_banner_is_unversioned_not_clean(real_scan: RealScan, name: str) -> None:
    (service,) = real_scan.services_at(name)
    assert service["version"] == ""
    assert service["status"] == "unversioned"
    assert service["vulnerabilities"] == []


@pytest.mark.parametrize("name", DEBIAN_REVISION)
def test_debian_revision_is_found(real_scan: RealScan, name: str) -> None:
    version = real_scan.versions[name]
    for service in real_scan.services_at(name):
        found = service["distribution"]
        assert found["distro"] == "debian"
        assert found["release"] == "bookworm"
        assert found["revision"] == dpkg_revision(version)
        assert found["upstream"] == dpkg_upstream(version)


@pytest.mark.parametrize("name", DEBIAN_NAME_ONLY)
def test_debian_name_is_found(real_scan: RealScan, name: str) -> None:
    (service,) = real_scan.services_at(name)
    assert service["distribution"]["distro"] == "debian"
    assert service["distribution"]["revision"] is None
    assert "(Debian)" in service["distribution"]["evidence"]


def test_two_memcached_hosts_are_both_found(real_scan: RealScan) -> None:
    """memcached-2 starts later, so Nmap sees two uptimes: one service, each uptime kept at its
    location (issue 12)."""
    (found,) = [s for s in real_scan.report["services"] if s["product"] == "Memcached"]
    addresses = sorted(loc["address"] for loc in found["locations"])
    assert addresses == sorted(d.address for d in DAEMONS if d.name.startswith("memcached"))
    assert found["extrainfo"] == ""
    uptimes = [loc["extrainfo"] for loc in found["locations"]]
    assert all(uptime.startswith("uptime ") for uptime in uptimes)
    assert len(set(uptimes)) == 2


def test_every_format_was_written(real_scan: RealScan) -> None:
    html = (real_scan.out / "report.html").read_text("utf-8")
    md = (real_scan.out / "report.md").read_text("utf-8")
    for service in real_scan.report["services"]:
        assert escape(service["product"]) in html and md_escape(service["product"]) in md
    (xml,) = (real_scan.out / "nmap").glob("scan-*.xml")
    assert xml.read_text("utf-8").count("<host ") == len(DAEMONS)


def test_summary_lists_every_service_and_what_it_rests_on(real_scan: RealScan) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.lab.summary", str(real_scan.out / "report.json")],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    table = done.stdout
    lab = json.loads((real_scan.out / "lab.json").read_text())
    assert table == render(real_scan.report, lab) + "\n"
    for name, version in real_scan.versions.items():
        package = real_scan.lab.daemon(name).package
        assert f"{package} {version}" in table
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]  # after the header
    assert len(rows) == len(real_scan.report["services"])
    samba = next(row for row in rows if row.startswith("| Samba smbd 4.6.2 (Nmap label)"))
    assert re.search(r"artefact \d+", samba)


# --- headlines rest on established (certain) findings only (issue 12, item 2) ---------------


def _certain(vuln: dict[str, object]) -> bool:
    return vuln["confidence"] == "certain"


def test_a_service_with_only_possible_findings_is_not_vulnerable(real_scan: RealScan) -> None:
    for service in real_scan.report["services"]:
        vulns = service["vulnerabilities"]
        if any(map(_certain, vulns)):
            assert service["status"] == "vulnerable", service["product"]
        elif vulns:
            assert service["status"] == "possibly-vulnerable", service["product"]
        else:
            assert service["status"] not in ("vulnerable", "possibly-vulnerable")
    # OpenSSH 9.2p1's findings are all unverified backports (the data has nothing for bookworm):
    # no critical badge, a "possibly critical" one.
    (ssh,) = real_scan.services_at("openssh")
    assert ssh["status"] == "possibly-vulnerable"
    doc = lxml.html.parse(str(real_scan.out / "report.html")).getroot()
    (article,) = doc.xpath("//article[@data-status='possibly-vulnerable'][contains(@data-label, "
                           "'openssh')]")  # fmt: skip
    chips = article.xpath(".//div[@class='chips']/span[contains(@class, 'badge')]/text()")
    assert "critical" not in chips and "possibly critical" in chips


def test_no_kev_fix_first_entry_rests_on_a_possible_finding(real_scan: RealScan) -> None:
    services = real_scan.report["services"]
    certain_kev = {v["id"] for s in services for v in s["vulnerabilities"]
                   if v["kev"] and _certain(v)}  # fmt: skip
    doc = lxml.html.parse(str(real_scan.out / "report.html")).getroot()
    cells = doc.xpath("//section[@id='kev']//table[@class='kevs']/tbody/tr/td[@class='id']")
    listed = [cell.text_content().split()[0] for cell in cells]
    assert sorted(listed) == sorted(certain_kev)
    known = real_scan.report["summary"]["known_exploited"]
    possible_kev = {v["id"] for s in services for v in s["vulnerabilities"] if v["kev"]}
    assert known == {"established": len(certain_kev), "possible": len(possible_kev - certain_kev)}
    # The headline counts are those of the certain findings; the possible ones apart.
    by_severity = real_scan.report["summary"]["by_severity"]
    certain = {v["id"]: v["severity"] for s in services for v in s["vulnerabilities"]
               if _certain(v)}  # fmt: skip
    assert sum(by_severity.values()) == len(certain)


def test_fail_on_counts_only_certain_findings_unless_strict(
    real_scan: RealScan, tmp_path: Path
) -> None:
    (xml,) = (real_scan.out / "nmap").glob("scan-*.xml")
    certain = {v["id"] for s in real_scan.report["services"] for v in s["vulnerabilities"]
               if _certain(v) and v["severity"] == "critical"}  # fmt: skip
    critical = {v["id"] for s in real_scan.report["services"] for v in s["vulnerabilities"]
                if v["severity"] == "critical"}  # fmt: skip
    for strict, expected in (([], certain), (["--strict"], critical)):
        done = subprocess.run(
            [BRULEE, "report", str(xml), "-o", str(tmp_path / f"o{len(strict)}"), "-f", "json",
             "--no-history", "--fail-on", "critical", *strict],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == (1 if expected else 0), done.stderr
        failing = re.search(r"--fail-on critical: \d+ finding\(s\): (.*)", done.stderr)
        assert set(failing.group(1).split(", ") if failing else ()) == expected
    assert critical - certain  # the lab has possible critical findings (OpenSSH's backports)


def test_debian_data_without_the_detected_release_is_said(real_scan: RealScan) -> None:
    """The bundled Debian tracker data predates bookworm: warned, and each finding says so."""
    (warning,) = [w for w in real_scan.report["scan"]["warnings"] if "bookworm" in w]
    assert "has no entries for Debian bookworm" in warning
    assert "nothing is decided for it" in warning
    assert "has no entries for Debian bookworm" in " ".join(real_scan.stderr.split())
    assert any(w.startswith("the Debian security tracker data is ")
               for w in real_scan.report["scan"]["warnings"])  # fmt: skip
    (ssh,) = real_scan.services_at("openssh")
    assert all("has no entries for bookworm" in v["reason"] for v in ssh["vulnerabilities"])


def test_no_headline_rests_on_what_brulee_did_not_establish(real_scan: RealScan) -> None:
    """Issue 12's "done when" on real Debian 12 daemons: Samba's Nmap label 4.6.2 (SambaCry, in
    KEV), Exim's unbounded CVE-2004-0399, OpenSSH's Red Hat-only CVE-2008-3844 and the unverified
    backports reach no status, badge, count, KEV box or gate."""
    services = real_scan.report["services"]
    assert [s["product"] for s in services if s["status"] == "vulnerable"] == []
    summary = real_scan.report["summary"]
    assert summary["known_exploited"]["established"] == 0
    assert summary["known_exploited"]["possible"] >= 1  # SambaCry, shown apart
    assert sum(summary["by_severity"].values()) == 0
    samba = real_scan.services_at("samba")
    sambacry = [v for s in samba for v in s["vulnerabilities"] if v["id"] == "CVE-2017-7494"]
    assert sambacry and {v["confidence"] for v in sambacry} == {"version-range"}
    assert "Nmap's fingerprint says 4.6.2" in sambacry[0]["reason"]
    assert {s["status"] for s in samba} == {"possibly-vulnerable"}
    (exim,) = real_scan.services_at("exim4")
    (old_exim,) = [v for v in exim["vulnerabilities"] if v["id"] == "CVE-2004-0399"]
    assert old_exim["confidence"] != "certain"
    (ssh,) = real_scan.services_at("openssh")
    assert "CVE-2008-3844" not in {v["id"] for v in ssh["vulnerabilities"]}


# --- the lab's own life cycle ---------------------------------------------------------------


def small(*names: str) -> list[Daemon]:
    return [d for d in DAEMONS if d.name in names]


def needs_daemons() -> None:
    reason = daemons_skip_reason(small("memcached", "vsftpd", "postfix"))
    if reason is not None:
        pytest.skip(reason)


def test_teardown_stops_every_process_and_namespace() -> None:
    needs_daemons()
    with DaemonLab(small("vsftpd", "postfix", "memcached")) as running:
        namespaces = running.lab.namespaces
        pids = [pid for ns in namespaces for pid in netns_pids(ns)]
        assert set(running.pids.values()) <= set(pids)
        assert len(pids) > len(running.pids)  # postfix's master has children
        root = running.root
        assert root.is_dir()
    assert not set(namespaces) & set(netns_list())
    assert not any(pid_alive(pid) for pid in pids)
    assert not root.exists()


def test_a_daemon_that_dies_fails_the_start_and_leaves_nothing() -> None:
    needs_daemons()

    def broken(d: Path, daemon: Daemon) -> Launch:
        return Launch(("/usr/bin/memcached", "--no-such-option"))

    lab = DaemonLab(small("memcached"), setups={"memcached": broken})
    with pytest.raises(LabError, match=r"exited: \['memcached'\]"), lab:
        pass
    assert not any(name.startswith(lab.lab.prefix) for name in netns_list())
    assert not lab.root.exists()


def test_late_daemon_starts_after_the_others() -> None:
    needs_daemons()
    with DaemonLab(small("memcached", "memcached-2")) as running:
        started = {
            name: float(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
            for name, pid in running.pids.items()
        }
    ticks = os.sysconf("SC_CLK_TCK")
    assert (started["memcached-2"] - started["memcached"]) / ticks >= 4.5
