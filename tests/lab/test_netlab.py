"""The lab itself: namespaces, banner servers, and what a real Nmap reports about them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from lxml import etree

from .netlab import (
    DEFAULT_HOSTS,
    HOSTILE_SERVER,
    Lab,
    LabError,
    LabHost,
    LabService,
    cleanup_stale,
    lab_skip_reason,
    netns_list,
)
from .servers import dns_answer

OPENSSH_74 = (
    "OpenSSH",
    "7.4p1 Debian 10+deb9u7",
    "protocol 2.0",
    ("cpe:/a:openbsd:openssh:7.4p1", "cpe:/o:linux:linux_kernel"),
)
# (host, port) -> product, version, extrainfo, CPEs as Nmap 7.93 reports them
EXPECTED: dict[tuple[str, int], tuple[str, str, str, tuple[str, ...]]] = {
    ("stretch-ftp", 21): ("vsftpd", "2.3.4", "", ("cpe:/a:vsftpd:vsftpd:2.3.4",)),
    ("stretch-ftp", 22): OPENSSH_74,
    ("web-apache", 22): (
        "OpenSSH",
        "8.2p1 Ubuntu 4ubuntu0.5",
        "Ubuntu Linux; protocol 2.0",
        ("cpe:/a:openbsd:openssh:8.2p1", "cpe:/o:linux:linux_kernel"),
    ),
    ("web-apache", 80): ("Apache httpd", "2.4.49", "(Unix)", ("cpe:/a:apache:http_server:2.4.49",)),
    ("web-nginx", 21): ("ProFTPD", "1.3.5", "", ("cpe:/a:proftpd:proftpd:1.3.5",)),
    ("web-nginx", 80): (
        "nginx",
        "1.14.0",
        "Ubuntu",
        ("cpe:/a:igor_sysoev:nginx:1.14.0", "cpe:/o:linux:linux_kernel"),
    ),
    ("mail", 22): OPENSSH_74,
    ("mail", 25): ("Exim smtpd", "4.89", "", ("cpe:/a:exim:exim:4.89",)),
    ("hostile", 80): (
        "Apache httpd",
        "2.4.49",
        HOSTILE_SERVER.removeprefix("Apache/2.4.49 "),
        ("cpe:/a:apache:http_server:2.4.49",),
    ),
}


def nmap_xml(lab: Lab, args: Sequence[str]) -> etree._Element:
    """Run nmap in the scanner namespace and parse its XML from stdout."""
    argv = lab.scanner_cmd(["nmap", "-n", "-T4", "-oX", "-", *args])
    result = subprocess.run(argv, capture_output=True, timeout=120, check=True)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(result.stdout, parser)


def service(root: etree._Element, address: str, protocol: str, port: int) -> etree._Element:
    """The <service> element of one port of one host."""
    path = (
        f"host[address/@addr='{address}']/ports/port[@protocol='{protocol}'][@portid='{port}']"
        "/service"
    )
    found = root.xpath(path)
    assert isinstance(found, list) and len(found) == 1, f"no {protocol}/{port} on {address}"
    element = found[0]
    assert isinstance(element, etree._Element)
    return element


def described(element: etree._Element) -> tuple[str, str, str, tuple[str, ...]]:
    """product, version, extrainfo and CPEs of a <service> element."""
    cpes = tuple(str(c.text) for c in element.iterfind("cpe"))
    attrs = (element.get(k, "") for k in ("product", "version", "extrainfo"))
    product, version, extrainfo = attrs
    return product, version, extrainfo, cpes


@pytest.fixture(scope="module")
def tcp_scan(lab: Lab) -> etree._Element:
    """One -sV scan of every default host's TCP ports (about 6 s: HTTP's NULL probe)."""
    return nmap_xml(lab, ["-sV", "-p", "21,22,25,80", *lab.addresses])


# --- without root ---------------------------------------------------------------------------


def test_dns_answers_version_bind_like_bind() -> None:
    query = (
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00\x00\x10\x00\x03"
    )
    answer = dns_answer(query, "9.11.5-P4-5.1+deb10u5-Debian", {})
    assert answer is not None
    assert answer[:2] == b"\x12\x34" and answer[2] & 0x80  # same id, a response
    assert b"\xc0\x0c\x00\x10\x00\x03" in answer and answer.endswith(b"\xc0\x0c")
    assert b"\x1c9.11.5-P4-5.1+deb10u5-Debian" in answer


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x00" * 11,
        b"\xff" * 12,
        b"\x00\x01\x01\x00\x00\x01" + b"\x00" * 6 + b"\x3f" + b"a" * 3,
    ],
)
def test_dns_survives_garbage(packet: bytes) -> None:
    answer = dns_answer(packet, "9", {})
    assert answer is None or answer[2] & 0x80


def test_dns_status_request_is_notimp() -> None:
    answer = dns_answer(b"\x00\x00\x10\x00" + b"\x00" * 8, "9", {})
    assert answer is not None and answer[3] & 0x0F == 4


# --- with root and nmap ---------------------------------------------------------------------


@pytest.mark.root
@pytest.mark.nmap
def test_lab_is_isolated(lab: Lab) -> None:
    listed = set(netns_list())
    assert set(lab.namespaces) <= listed
    assert len(lab.namespaces) == len(DEFAULT_HOSTS) + 1
    for name in lab.namespaces:
        for family in ("-4", "-6"):
            routes = subprocess.run(
                ["ip", "-n", name, family, "route", "show", "default"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert routes.stdout.strip() == "", f"{name} has a default route"


@pytest.mark.root
@pytest.mark.nmap
@pytest.mark.parametrize(("host", "port"), sorted(EXPECTED))
def test_nmap_identifies(lab: Lab, tcp_scan: etree._Element, host: str, port: int) -> None:
    element = service(tcp_scan, lab.host(host).ipv4, "tcp", port)
    assert described(element) == EXPECTED[host, port]
    assert element.get("method") == "probed"


@pytest.mark.root
@pytest.mark.nmap
def test_nmap_over_ipv6(lab: Lab) -> None:
    host = lab.host("stretch-ftp")
    root = nmap_xml(lab, ["-6", "-sV", "-p", "21,22", host.ipv6])
    assert described(service(root, host.ipv6, "tcp", 22)) == OPENSSH_74
    assert service(root, host.ipv6, "tcp", 21).get("product") == "vsftpd"


@pytest.mark.root
@pytest.mark.nmap
def test_nmap_udp_finds_isc_bind(lab: Lab) -> None:
    address = lab.host("mail").ipv4
    root = nmap_xml(lab, ["-sU", "-sV", "-p", "53", address])
    assert described(service(root, address, "udp", 53)) == (
        "ISC BIND",
        "9.11.5-P4-5.1+deb10u5",
        "Debian Linux",
        ("cpe:/a:isc:bind:9.11.5-p4-5.1%2Bdeb10u5", "cpe:/o:linux:linux_kernel"),
    )


@pytest.mark.root
@pytest.mark.nmap
def test_servers_survive_garbage(lab: Lab) -> None:
    junk = (
        "import socket,sys\n"
        "for a in sys.argv[1:]:\n"
        "  h,p,t=a.rsplit(',',2)\n"
        "  f=socket.AF_INET6 if ':' in h else socket.AF_INET\n"
        "  k=socket.SOCK_DGRAM if t=='udp' else socket.SOCK_STREAM\n"
        "  for blob in (b'\\x00'*3000, b'\\x16\\x03\\x01\\x02\\x00\\x01'+b'\\xff'*500,"
        " b'GET / HTTP/1.1\\r\\n'+b'A'*20000+b'\\r\\n\\r\\n'):\n"
        "    s=socket.socket(f,k); s.settimeout(0.5)\n"
        "    try:\n"
        "      s.connect((h,int(p))); s.sendall(blob)\n"
        "      if k==socket.SOCK_STREAM: s.shutdown(socket.SHUT_WR)\n"
        "      s.recv(100)\n"
        "    except OSError: pass\n"
        "    s.close()\n"
    )
    targets = [
        f"{address},{svc.port},{svc.protocol}"
        for host in lab.hosts
        for address in (host.ipv4, host.ipv6)
        for svc in host.services
    ]
    subprocess.run(lab.scanner_cmd([sys.executable, "-c", junk, *targets]), check=True, timeout=120)
    root = nmap_xml(lab, ["-sV", "-p", "21,22,25", *lab.addresses])
    assert described(service(root, lab.host("mail").ipv4, "tcp", 25))[0] == "Exim smtpd"
    assert all(pid_alive(pid) for pid in lab.pids)


def small_lab(*services: LabService) -> Lab:
    return Lab((LabHost("solo", "10.213.77.99", "fd42:b7e1:77::99", services),))


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (zombies do not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.root
def test_teardown_leaves_nothing() -> None:
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    with small_lab(LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_7.4")) as solo:
        namespaces, pids = solo.namespaces, solo.pids
        assert set(namespaces) <= set(netns_list()) and pids
        # a process a test started in the lab and forgot
        forgotten = subprocess.Popen(solo.scanner_cmd(["sleep", "300"]))
    assert forgotten.wait(timeout=5) != 0
    assert not set(namespaces) & set(netns_list())
    assert not any(pid_alive(pid) for pid in pids)
    assert not solo.workdir.exists()


@pytest.mark.root
def test_failed_setup_cleans_up() -> None:
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    clash = small_lab(LabService(22, "tcp", "ssh", "a"), LabService(22, "tcp", "ftp", "220 b"))
    with pytest.raises(LabError, match="did not start"), clash:
        pass
    assert not any(name.startswith(clash.prefix) for name in netns_list())


@pytest.mark.root
def test_cleanup_stale_removes_only_dead_owners_namespaces() -> None:
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, alive = f"brl{dead.pid}x0-scan", f"brl{os.getpid()}x999-scan"
    for name in (stale, alive):
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        removed = cleanup_stale()
        assert stale in removed and alive not in removed
        assert stale not in netns_list() and alive in netns_list()
    finally:
        for name in (stale, alive):
            subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


def test_private_network_holds_only_loopback_and_is_left_after(private_network: None) -> None:
    """The fixture the loopback Nmap tests run in: a namespace that is not the machine's, with
    no interface but ``lo`` (so no route out)."""
    here = Path("/proc/thread-self/ns/net").readlink()
    assert here != Path(f"/proc/{os.getppid()}/ns/net").readlink()  # the shell that ran pytest
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]
