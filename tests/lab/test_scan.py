"""End to end: `brulee scan` with the real Nmap against the network-namespace lab (root).

The lab (tests/lab/) runs real protocol banners in private namespaces with no route out; the
scan runs inside the lab's scanner namespace, exactly as a user would run it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from brulee.report.markdown import md_escape
from tests.lab.netlab import HOSTILE_SERVER, Lab, LabHost, LabService

pytestmark = [pytest.mark.root, pytest.mark.nmap]
BRULEE = str(Path(sys.executable).with_name("brulee"))
HOSTILE_EXTRAINFO = HOSTILE_SERVER.removeprefix("Apache/2.4.49 ")


def scan(
    lab: Lab, out: Path, *args: str, nmap_args: str = "-n -T4"
) -> subprocess.CompletedProcess[str]:
    argv = [BRULEE, "scan", *args, "--nmap-args", nmap_args, "-o", str(out), "--no-progress"]
    command = lab.scanner_cmd(argv)
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)


def report(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
    return data


def by_label(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{s['product']} {s['version']}".strip(): s for s in data["services"]}


@pytest.fixture(scope="module")
def full_scan(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full")
    done = scan(lab, out, *lab.addresses, "-f", "json,html,md,tex")
    assert done.returncode == 0, done.stderr
    return out


def test_services_are_grouped_with_every_location(full_scan: Path) -> None:
    services = by_label(report(full_scan))
    ssh = services["OpenSSH 7.4p1 Debian 10+deb9u7"]
    assert [(loc["address"], loc["port"]) for loc in ssh["locations"]] == [
        ("10.213.77.11", 22), ("10.213.77.14", 22),
    ]  # fmt: skip
    assert ssh["cpe"] == ["cpe:/a:openbsd:openssh:7.4p1", "cpe:/o:linux:linux_kernel"]
    assert services["vsftpd 2.3.4"]["locations"][0]["port"] == 21
    assert "OpenSSH 8.2p1 Ubuntu 4ubuntu0.5" in services
    assert "nginx 1.14.0" in services
    assert "Exim smtpd 4.89" in services


# Per lab service: CVEs NVD's data applies to its version, the confidence they must carry, and
# CVEs that must be absent (fixed upstream in or before that version).
EXPECTED: dict[str, tuple[set[str], str, set[str]]] = {
    "vsftpd 2.3.4": ({"CVE-2011-2523"}, "certain", set()),
    "OpenSSH 7.4p1 Debian 10+deb9u7": (
        {"CVE-2017-15906", "CVE-2023-38408"},
        "unverified-backport",  # no stretch advisory names them
        {"CVE-2016-10009", "CVE-2024-6387", "CVE-2016-6515"},
    ),
    "OpenSSH 8.2p1 Ubuntu 4ubuntu0.5": (
        {"CVE-2020-15778", "CVE-2021-41617", "CVE-2023-38408"},
        "unverified-backport",  # Ubuntu package, no Ubuntu data
        {"CVE-2024-6387", "CVE-2018-15473", "CVE-2019-6111"},
    ),
    "nginx 1.14.0": ({"CVE-2018-16845", "CVE-2021-23017"}, "unverified-backport",
                     {"CVE-2013-2028"}),
    "ProFTPD 1.3.5": ({"CVE-2015-3306", "CVE-2019-12815"}, "certain", {"CVE-2010-4221"}),
    "Exim smtpd 4.89": ({"CVE-2019-10149", "CVE-2019-15846"}, "certain", {"CVE-2010-4344"}),
}  # fmt: skip


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_offline_matching_finds_the_right_cves(full_scan: Path, label: str) -> None:
    service = by_label(report(full_scan))[label]
    expected, confidence, absent = EXPECTED[label]
    found = {v["id"]: v for v in service["vulnerabilities"]}
    assert expected <= set(found), sorted(expected - set(found))
    assert not absent & set(found)
    # only certain findings make a service vulnerable; backports left undecided, possibly
    assert service["status"] == ("vulnerable" if confidence == "certain" else "possibly-vulnerable")
    assert {found[cve]["confidence"] for cve in expected} == {confidence}
    assert all("nvd" in found[cve]["sources"] and found[cve]["reason"] for cve in expected)


def test_debian_patched_openssh_sets_aside_what_its_revision_fixed(full_scan: Path) -> None:
    ssh = by_label(report(full_scan))["OpenSSH 7.4p1 Debian 10+deb9u7"]
    fixed = {v["id"]: v for v in ssh["fixed_by_distribution"]}
    assert {cve: v["advisory"] for cve, v in fixed.items()} == {
        "CVE-2018-15473": "DSA-4280-1", "CVE-2019-6111": "DSA-4387-1",
        "CVE-2019-6109": "DSA-4387-1",
    }  # fmt: skip
    assert all(v["confidence"] == "fixed-by-distribution" for v in fixed.values())
    assert not set(fixed) & {v["id"] for v in ssh["vulnerabilities"]}
    assert ssh["distribution"]["release"] == "stretch"
    assert ssh["distribution"]["revision"] == "10+deb9u7"
    assert ssh["backports"]["fixed"] == 3
    assert ssh["backports"]["unverified"] == len(ssh["vulnerabilities"])
    for name, text in (("report.html", "DSA-4280-1"), ("report.tex", "DSA-4280-1"),
                       ("report.md", md_escape("DSA-4280-1"))):  # fmt: skip
        assert text in (full_scan / name).read_text("utf-8"), name


def test_apache_path_traversal_is_known_exploited(full_scan: Path) -> None:
    (apache,) = [s for s in report(full_scan)["services"] if s["extrainfo"] == "(Unix)"]
    first = apache["vulnerabilities"][0]
    assert first["id"] in {"CVE-2021-41773", "CVE-2021-42013"}
    assert first["kev"]["date_added"] == "2021-11-03"
    assert first["epss"]["score"] > 0.9


def test_report_names_its_database(full_scan: Path) -> None:
    data = report(full_scan)
    assert "2,299 CVEs" in data["scan"]["database"]
    assert any("starter snapshot" in w for w in data["scan"]["warnings"])
    assert data["scan"]["hosts_up"] == 5


def test_hostile_banner_is_literal_in_every_format(full_scan: Path) -> None:
    (hostile,) = [s for s in report(full_scan)["services"] if s["extrainfo"] == HOSTILE_EXTRAINFO]
    assert [loc["address"] for loc in hostile["locations"]] == ["10.213.77.15"]
    html = (full_scan / "report.html").read_text("utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    tex = (full_scan / "report.tex").read_text("utf-8")
    assert "\\input{/etc/passwd}" not in tex
    md = (full_scan / "report.md").read_text("utf-8")
    rendered = MarkdownIt("commonmark").enable("table").render(md)  # as GitHub would read it
    assert "<script>" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_raw_nmap_xml_is_kept(full_scan: Path) -> None:
    (xml,) = (full_scan / "nmap").glob("scan-*.xml")
    assert "</nmaprun>" in xml.read_text("utf-8")


def test_workers_and_exclusions(lab: Lab, tmp_path: Path) -> None:
    done = scan(
        lab, tmp_path, "10.213.77.11-15", "--exclude", "10.213.77.15", "--workers", "3",
        "-f", "json", nmap_args="-n -T4 -p 21,22,25",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "nmap").glob("scan-*.xml"))) == 3
    data = report(tmp_path)
    assert [h["address"] for h in data["hosts"]] == [f"10.213.77.{i}" for i in range(11, 15)]
    assert data["scan"]["hosts_up"] == 4


def test_names_are_resolved_once_excluded_by_address_and_unresolved_ones_listed(
    lab: Lab, tmp_path: Path
) -> None:
    # In the scanner's namespace "localhost" is its own loopback and ".invalid" never resolves
    # (RFC 6761; the namespace has no route to a resolver either).
    ftp = lab.host("stretch-ftp")
    done = scan(
        lab, tmp_path, ftp.ipv4, "localhost", "nonexistent.invalid", "-f", "json,md",
        nmap_args="-n -T4 -p 21",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 target(s) did not resolve and are not scanned: nonexistent.invalid" in done.stderr
    assert "1 target(s) did not resolve to an address and were not scanned" in done.stderr
    targets = sorted((tmp_path / "nmap").glob("targets-*.txt"))
    lines = sorted(line for t in targets for line in t.read_text("utf-8").split())
    assert lines == sorted(["127.0.0.1", ftp.ipv4])  # addresses only: Nmap resolves nothing
    data = report(tmp_path)
    assert data["scan"]["unresolved"] == ["nonexistent.invalid"]
    assert data["scan"]["targets"] == [ftp.ipv4, "localhost", "nonexistent.invalid"]
    hosts = {h["address"]: h["hostnames"] for h in data["hosts"]}
    assert hosts["127.0.0.1"] == ["localhost"]  # shown under the name it was given
    assert "Targets not resolved" in (tmp_path / "report.md").read_text("utf-8")

    excluded = tmp_path / "excluded"
    done = scan(
        lab, excluded, ftp.ipv4, "localhost", "--exclude", "127.0.0.0/8", "-f", "json",
        nmap_args="-n -T4 -p 21",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [h["address"] for h in report(excluded)["hosts"]] == [ftp.ipv4]


def test_hosts_a_script_added_outside_the_scope_are_dropped(lab: Lab, tmp_path: Path) -> None:
    """With ``--allow-unsafe-nmap-args``, ``targets-xml`` and ``newtargets`` make Nmap scan a
    host outside the scope: it is in Nmap's XML, never in the report."""
    added = tmp_path / "added.xml"
    added.write_text(
        '<?xml version="1.0"?><nmaprun><host><status state="up"/>'
        '<address addr="10.213.77.12" addrtype="ipv4"/></host></nmaprun>\n',
        "utf-8",
    )
    args = f"-n -T4 -p 22 --script targets-xml --script-args newtargets,targets-xml.iX={added}"
    out = tmp_path / "out"
    done = scan(lab, out, "10.213.77.11", "--allow-unsafe-nmap-args", "-f", "json",
                "--no-history", nmap_args=args)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--allow-unsafe-nmap-args: passing --script-args" in done.stderr
    (xml,) = (out / "nmap").glob("scan-*.xml")
    assert 'addr="10.213.77.12"' in xml.read_text("utf-8")  # Nmap did scan it
    data = report(out)
    assert [h["address"] for h in data["hosts"]] == ["10.213.77.11"]
    assert data["scan"]["hosts_up"] == 1
    assert "1 host(s) outside the scope were dropped from Nmap's results (10.213.77.12)" in (
        " ".join(data["scan"]["warnings"])
    )


def test_ipv6_and_udp_in_one_scan(lab: Lab, tmp_path: Path) -> None:
    mail = lab.host("mail")
    done = scan(lab, tmp_path, mail.ipv4, mail.ipv6, "-f", "json", nmap_args="-n -sU -p 53")
    assert done.returncode == 0, done.stderr
    data = report(tmp_path)
    (bind,) = data["services"]
    assert bind["product"] == "ISC BIND" and bind["protocol"] == "udp"
    assert sorted(loc["address"] for loc in bind["locations"]) == sorted([mail.ipv4, mail.ipv6])
    assert len(list((tmp_path / "nmap").glob("scan-*.xml"))) == 2


def test_host_timeout_is_honoured_and_reported(lab: Lab, tmp_path: Path) -> None:
    web = lab.host("web-apache")
    done = scan(lab, tmp_path, web.ipv4, "--host-timeout", "1s", "-f", "json",
                nmap_args="-n -p 80 --version-all")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (host,) = report(tmp_path)["hosts"]
    assert host["timed_out"] is True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_scan_writes_a_partial_report(
    lab: Lab, tmp_path: Path, stop: signal.Signals
) -> None:
    argv = [
        BRULEE, "scan", *lab.addresses, "-f", "json", "-o", str(tmp_path), "--no-progress",
        "--nmap-args", "-n --max-hostgroup 1 -p 21,22,25,80",
    ]  # fmt: skip
    proc = subprocess.Popen(lab.scanner_cmd(argv), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # Nmap writes its XML beside scan-001.xml until it ends
        xml = next((tmp_path / "nmap").glob(".scan-001.xml.*.part"), None)
        if xml is not None and "</host>" in xml.read_text("utf-8", "replace"):
            break
        time.sleep(0.2)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "interrupted" in err and str(tmp_path) in err
    data = report(tmp_path)
    assert data["scan"]["incomplete"] is True
    assert 1 <= len(data["hosts"]) < 5


def test_two_lab_scans_show_the_upgrade_and_the_closed_port(
    tmp_path: Path,
    lab: Lab,  # the shared lab only ensures the skip reasons (root, ip, nmap)
) -> None:
    """The host is scanned, then upgraded (OpenSSH 7.4p1 -> 9.8p1) and its FTP port closed."""
    before = LabHost("upgraded", "10.213.77.11", "fd42:b7e1:77::11", (
        LabService(21, "tcp", "ftp", "220 (vsFTPd 2.3.4)"),
        LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_7.4p1"),
    ))  # fmt: skip
    after = LabHost("upgraded", "10.213.77.11", "fd42:b7e1:77::11", (
        LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_9.8p1"),
    ))  # fmt: skip
    history = ["--history", str(tmp_path / "history.sqlite")]
    for name, host in (("before", before), ("after", after)):
        with Lab([host]) as own:
            done = scan(own, tmp_path / name, "10.213.77.11", "-f", "json", *history,
                        nmap_args="-n -T4 -p 21,22")  # fmt: skip
            assert done.returncode == 0, done.stderr
    changes = report(tmp_path / "after")["changes"]
    ports = {p["change"]: (p["previous"], p["service"], [loc["port"] for loc in p["locations"]])
             for p in changes["ports"]}  # fmt: skip
    assert ports == {
        "closed": (None, "vsftpd 2.3.4", [21]),
        "changed": ("OpenSSH 7.4p1", "OpenSSH 9.8p1", [22]),
    }
    fixed = {f["id"] for f in changes["findings"] if f["change"] == "fixed"}
    assert {"CVE-2011-2523", "CVE-2023-38408", "CVE-2018-15473"} <= fixed
    assert changes["previous"]["id"] < changes["current"]["id"]
