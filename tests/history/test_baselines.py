"""Right baselines, on real two-scan sequences: `brulee scan` with the real Nmap inside the
network-namespace lab (root), each sequence recorded in a SQLite and in a PostgreSQL history.

A port is closed, or a finding fixed, only where the new scan looked; a scan of other ports, a
failed or an interrupted one is never the baseline while a good one exists.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.netlab import Lab, LabHost, LabService

from .conftest import PostgresServer

pytestmark = [pytest.mark.root, pytest.mark.nmap]
BRULEE = str(Path(sys.executable).with_name("brulee"))
FAST = "-n -T4 -p 21,22,25"  # banners that answer at once: no HTTP, whose probes wait 5 s
UDP = "-n -T4 -sU -p 53,161"

Json = dict[str, Any]


def new_store(request: pytest.FixtureRequest, directory: Path) -> str:
    """A new, empty history store of the backend ``request.param`` (PostgreSQL by its Unix
    socket: the scans run in the lab's network namespace, whose loopback is not the machine's)."""
    if request.param == "sqlite":
        return str(directory / "history.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_schema(socket=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_store(request, tmp_path)


def scan(
    lab: Lab, out: Path, history: str, nmap_args: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``brulee scan`` of every lab host, from inside the lab's scanner namespace."""
    argv = [BRULEE, "scan", *lab.addresses, "--nmap-args", nmap_args, "-o", str(out), "-f",
            "json", "--no-progress", "--history", history, *extra]  # fmt: skip
    return subprocess.run(lab.scanner_cmd(argv), capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip


def load(out: Path) -> Json:
    data: Json = json.loads((out / "report.json").read_text("utf-8"))
    return data


def counts(report: Json) -> Json:
    changes = report["changes"]
    assert changes is not None, report["scan"]["warnings"]
    found: Json = changes["counts"]
    return found


def fixed_or_closed_at(report: Json) -> set[str]:
    """The addresses where the changes say something was fixed, closed or changed version."""
    changes = report["changes"]
    found = {loc["address"] for g in changes["findings"] if g["change"] == "fixed"
             for loc in g["locations"]}  # fmt: skip
    return found | {loc["address"] for p in changes["ports"] if p["change"] != "new"
                    for loc in p["locations"]}  # fmt: skip


def good(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr


# -- UDP after TCP, closed UDP ports, TCP and UDP merged -------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sequence(
    request: pytest.FixtureRequest, lab: Lab, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A TCP scan of the lab, a UDP scan, the TCP scan again: their reports under it."""
    root = tmp_path_factory.mktemp("tcp-udp-tcp")
    history = new_store(request, root)
    for name, args in (("tcp", FAST), ("udp", UDP), ("tcp-again", FAST)):
        good(scan(lab, root / name, history, args))
    return root


@pytest.fixture
def tcp_udp_tcp(sequence: Path) -> Iterator[tuple[Json, Json, Json]]:
    yield load(sequence / "tcp"), load(sequence / "udp"), load(sequence / "tcp-again")


def test_a_udp_scan_is_not_compared_with_a_tcp_one(tcp_udp_tcp: tuple[Json, Json, Json]) -> None:
    tcp, udp, _ = tcp_udp_tcp
    assert udp["changes"] is None  # not "74 fixed, 22 closed"
    (why,) = [w for w in udp["scan"]["warnings"] if w.startswith("Not compared")]
    assert "this one: udp 53,161" in why and "tcp 21-22,25" in why
    assert udp["scan"]["ports"] == "udp:53,161" and tcp["scan"]["ports"] == "tcp:21-22,25"


def test_closed_udp_ports_listed_one_by_one_are_counted(
    lab: Lab, tcp_udp_tcp: tuple[Json, Json, Json]
) -> None:
    _, udp, _ = tcp_udp_tcp
    hosts = {h["address"]: h for h in udp["hosts"]}
    assert hosts[lab.host("mail").ipv4]["closed_ports"] == 1  # 53 answers, 161 is closed
    assert hosts[lab.host("hostile").ipv4]["closed_ports"] == 2  # no UDP service at all
    assert hosts[lab.host("hostile").ipv4]["port_set"] is not None


def test_the_next_tcp_scan_is_compared_with_the_last_tcp_one(
    tcp_udp_tcp: tuple[Json, Json, Json],
) -> None:
    tcp, udp, again = tcp_udp_tcp
    changes = again["changes"]
    assert changes["previous"]["id"] == tcp["scan"]["history_id"]  # not the UDP scan
    changed = {name: n for name, n in counts(again).items() if n and name != "still_open"}
    assert changed == {}  # not "74 reappeared"
    assert counts(again)["still_open"] > 0
    (note,) = changes["notes"]
    assert f"scan {udp['scan']['history_id']} (looked at udp 53,161)" in note


def test_a_merge_of_the_tcp_and_the_udp_scan_unites_each_host(
    lab: Lab, tmp_path: Path, sequence: Path
) -> None:
    done = subprocess.run([BRULEE, "merge", str(sequence / "tcp"), str(sequence / "udp"), "-o",
                           str(tmp_path / "merged"), "-f", "json", "--no-history"],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    good(done)
    merged = load(tmp_path / "merged")
    mail = next(h for h in merged["hosts"] if h["address"] == lab.host("mail").ipv4)
    ports = {(p["protocol"], p["port"]) for p in mail["open_ports"]}
    assert {("tcp", 22), ("tcp", 25), ("udp", 53)} <= ports  # not "as last read"
    assert merged["scan"]["ports"] == "tcp:21-22,25;udp:53,161"
    scanned = merged["scan"]["port_sets"][mail["port_set"]]
    assert scanned == "tcp:21-22,25;udp:53,161"
    products = {s["product"] for s in merged["services"]}
    assert {"ISC BIND", "OpenSSH", "Exim smtpd"} <= products
    (overlap,) = [w for w in merged["scan"]["warnings"] if "more than one report" in w]
    assert "their ports are united" in overlap and "newer report" not in overlap


# -- a host given up on --------------------------------------------------------------------------


def test_hosts_given_up_on_are_unknown_never_fixed(lab: Lab, tmp_path: Path, history: str) -> None:
    """Service detection of HTTP waits 5 s for a banner: a 3 s host timeout gives up on the web
    servers (the Apache of 10.213.77.12 has KEV findings) and not on the others."""
    args = "-n -T4 -p 21,22,80"
    good(scan(lab, tmp_path / "complete", history, args))
    good(scan(lab, tmp_path / "cut", history, args, "--host-timeout", "3s"))
    cut = load(tmp_path / "cut")
    given_up = {h["address"] for h in cut["hosts"] if h["timed_out"]}
    assert lab.host("web-apache").ipv4 in given_up
    assert (cut["scan"]["outcome"], cut["scan"]["incomplete"]) == ("partial", True)
    assert cut["scan"]["timed_out"] == len(given_up)
    assert not fixed_or_closed_at(cut) & given_up  # not "fixed ... on a host it found up"
    (listed,) = [h for h in cut["changes"]["hosts"] if h["change"] == "timed_out"]
    assert set(listed["addresses"]) == given_up
    assert counts(cut)["unknown"] > 0


# -- a failed and an interrupted scan --------------------------------------------------------------


def test_a_failed_scan_is_recorded_but_never_the_baseline(
    lab: Lab, tmp_path: Path, history: str
) -> None:
    good(scan(lab, tmp_path / "first", history, FAST))
    failed = scan(lab, tmp_path / "failed", history, FAST + " -e nosuch0")  # no such interface
    assert failed.returncode == 3 and "nmap job" in failed.stderr
    report = load(tmp_path / "failed")
    assert report["scan"]["outcome"] == "failed" and report["scan"]["history_id"]
    assert report["changes"] is None  # it looked at nothing
    good(scan(lab, tmp_path / "next", history, FAST))
    after = load(tmp_path / "next")
    assert after["changes"]["previous"]["id"] == load(tmp_path / "first")["scan"]["history_id"]
    assert (counts(after)["reappeared"], counts(after)["new"], counts(after)["new_ports"]) == (
        0, 0, 0,
    )  # fmt: skip
    (note,) = after["changes"]["notes"]
    assert f"scan {report['scan']['history_id']} (failed" in note


def test_an_interrupted_scan_is_recorded_but_never_the_baseline(
    lab: Lab, tmp_path: Path, history: str
) -> None:
    args = FAST + " --max-hostgroup 1"
    good(scan(lab, tmp_path / "first", history, args))
    out = tmp_path / "stopped"
    argv = [BRULEE, "scan", *lab.addresses, "--nmap-args", args, "-o", str(out), "-f", "json",
            "--no-progress", "--history", history]  # fmt: skip
    proc = subprocess.Popen(lab.scanner_cmd(argv), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # Nmap writes its XML beside scan-001.xml until it ends
        xml = next((out / "nmap").glob(".scan-001.xml.*.part"), None)
        if xml is not None and "</host>" in xml.read_text("utf-8", "replace"):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    stopped = load(out)
    assert stopped["scan"]["outcome"] == "interrupted"
    reached = {h["address"] for h in stopped["hosts"]}
    assert 1 <= len(reached) < len(lab.addresses)
    assert fixed_or_closed_at(stopped) <= reached  # the hosts it did not reach: unknown
    (missing,) = [h for h in stopped["changes"]["hosts"] if h["change"] == "missing"]
    assert set(missing["addresses"]) == set(lab.addresses) - reached
    good(scan(lab, tmp_path / "next", history, args))
    after = load(tmp_path / "next")
    assert after["changes"]["previous"]["id"] == load(tmp_path / "first")["scan"]["history_id"]
    assert (counts(after)["reappeared"], counts(after)["new_ports"]) == (0, 0)
    (note,) = after["changes"]["notes"]
    assert f"scan {stopped['scan']['history_id']} (was interrupted)" in note


# -- a UDP port that closed ----------------------------------------------------------------------


def test_a_udp_service_stopped_is_a_closed_port_and_its_findings_fixed(
    tmp_path: Path,
    history: str,
    lab: Lab,  # the shared lab only ensures the skip reasons (root, ip, nmap)
) -> None:
    dns = LabService(53, "udp", "dns", "9.11.5-P4-5.1+deb10u5-Debian")
    ssh = LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_7.4p1")
    before = LabHost("ns", "10.213.77.11", "fd42:b7e1:77::11", (ssh, dns))
    after = LabHost("ns", "10.213.77.11", "fd42:b7e1:77::11", (ssh,))
    for name, host in (("before", before), ("after", after)):
        with Lab([host]) as own:
            good(scan(own, tmp_path / name, history, UDP))
    report = load(tmp_path / "after")
    (ns,) = report["hosts"]
    assert ns["closed_ports"] == 2 and ns["open_ports"] == []
    closed = [p for p in report["changes"]["ports"] if p["change"] == "closed"]
    assert [(p["service"][:8], loc["port"]) for p in closed for loc in p["locations"]] == [
        ("ISC BIND", 53)
    ]
    bind = next(s for s in load(tmp_path / "before")["services"] if s["product"] == "ISC BIND")
    fixed = {g["id"] for g in report["changes"]["findings"] if g["change"] == "fixed"}
    assert fixed == {v["id"] for v in bind["vulnerabilities"]}
