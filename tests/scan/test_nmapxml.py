"""The hardened streaming parser: every field, hostile input, interrupted scans, flat memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from brulee.core.scan import Host, ScriptElem, ScriptTable, Service
from brulee.errors import ParseError
from brulee.scan.nmapxml import NmapXmlReader, merge_runs
from tests import xmlsnippets as x
from tests.conftest import NMAP_XML

FULL_SERVICE = (
    '<service name="https" product="nginx" version="1.14.0" extrainfo="Ubuntu" ostype="Linux" '
    'hostname="web.example" devicetype="proxy server" tunnel="ssl" method="probed" conf="10">'
    "<cpe>cpe:/a:igor_sysoev:nginx:1.14.0</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>"
)
NESTED_SCRIPT = (
    '<script id="ssl-cert" output="Subject: commonName=web.example">'
    '<table key="subject"><elem key="commonName">web.example</elem></table>'
    '<table key="extensions"><table><elem key="name">X509v3 Subject Alternative Name</elem>'
    '<elem key="value">DNS:web.example</elem></table></table>'
    '<elem key="sig_algo">sha256WithRSAEncryption</elem></script>'
)


def read(path: Path) -> tuple[list[Host], NmapXmlReader]:
    reader = NmapXmlReader(path)
    return list(reader.hosts()), reader


def test_every_service_attribute_and_cpe_is_kept(tmp_path: Path) -> None:
    (host,), _ = read(x.write(tmp_path / "s.xml", x.host("10.0.0.1", x.port(443, FULL_SERVICE))))
    service = host.ports[0].service
    assert service is not None
    assert (service.name, service.product, service.version, service.extrainfo) == (
        "https", "nginx", "1.14.0", "Ubuntu",
    )  # fmt: skip
    assert (service.ostype, service.hostname, service.devicetype, service.tunnel) == (
        "Linux", "web.example", "proxy server", "ssl",
    )  # fmt: skip
    assert (service.method, service.conf) == ("probed", 10)
    assert service.cpes == ("cpe:/a:igor_sysoev:nginx:1.14.0", "cpe:/o:linux:linux_kernel")


def test_script_tables_stay_structured(tmp_path: Path) -> None:
    (host,), _ = read(
        x.write(tmp_path / "s.xml", x.host("10.0.0.1", x.port(443, FULL_SERVICE, NESTED_SCRIPT)))
    )
    script = host.ports[0].script("ssl-cert")
    assert script is not None
    assert script.output == "Subject: commonName=web.example"
    subject, extensions = script.tables
    assert subject == ScriptTable("subject", (ScriptElem("commonName", "web.example"),))
    assert extensions.tables[0].get("value") == "DNS:web.example"
    assert script.items[-1] == ScriptElem("sig_algo", "sha256WithRSAEncryption")


def test_host_fields_states_and_counts(tmp_path: Path) -> None:
    body = (
        '<host timedout="true"><status state="up" reason="echo-reply"/>'
        '<address addr="10.0.0.7" addrtype="ipv4"/>'
        '<address addr="52:54:00:12:34:56" addrtype="mac" vendor="QEMU"/>'
        '<hostnames><hostname name="a.example" type="user"/><hostname name="a.example" type="PTR"/>'
        '<hostname name="b.example" type="PTR"/></hostnames>'
        '<ports><extraports state="closed" count="990"/><extraports state="filtered" count="5"/>'
        '<port protocol="udp" portid="161"><state state="open|filtered" reason="no-response"/>'
        '</port><port protocol="tcp" portid="25"><state state="closed" reason="reset"/></port>'
        "</ports><hostscript>" + NESTED_SCRIPT + "</hostscript></host>"
    )
    (host,), _ = read(x.write(tmp_path / "s.xml", body))
    assert host.address == "10.0.0.7" and host.mac == "52:54:00:12:34:56"
    assert host.hostnames == ("a.example", "b.example")
    assert host.timed_out is True
    assert (host.closed_ports, host.filtered_ports) == (991, 5)  # tcp/25 is listed alone
    assert [p.key for p in host.open_ports] == ["udp/161"]
    assert [p.state for p in host.ports] == ["open|filtered", "closed"]
    assert host.scripts[0].id == "ssl-cert"


def test_run_facts_come_from_prolog_and_runstats(tmp_path: Path) -> None:
    _, reader = read(x.write(tmp_path / "s.xml", x.host("10.0.0.1", "")))
    run = reader.run
    assert run.args == "nmap -sV --script vulners 10.0.0.1"
    assert run.scanner_version == "7.93"
    assert (run.started, run.finished) == ("2023-11-14T22:13:20+00:00", "2023-11-14T22:14:20+00:00")
    assert (run.hosts_up, run.hosts_down, run.incomplete) == (1, 0, False)
    assert (run.ports.text, run.outcome) == ("tcp:1-65535;udp:1-65535", "complete")


def test_the_ports_scanned_come_from_scaninfo(tmp_path: Path) -> None:
    lab = NMAP_XML / "lab-basic.xml"
    reader = NmapXmlReader(lab)
    list(reader.hosts())
    assert reader.run.ports.text == "tcp:21-22,25,80;udp:53"
    bad = tmp_path / "bad.xml"
    bad.write_text(lab.read_text("utf-8").replace('services="53"', 'services="53-x"'), "utf-8")
    with pytest.raises(ParseError, match=r"bad.xml: <scaninfo>: not a port list: '53-x'"):
        list(NmapXmlReader(bad).hosts())


def test_nmap_reported_error_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "e.xml"
    path.write_text(
        x.HEAD + '<runstats><finished time="1700000001" exit="error" errormsg="Failed to open '
        'device eth9"/><hosts up="0" down="0" total="0"/></runstats></nmaprun>',
        "utf-8",
    )
    _, reader = read(path)
    assert reader.run.errors == ("Failed to open device eth9",)
    assert (reader.run.failed, reader.run.outcome, reader.run.complete) == (True, "failed", False)


def test_identical_services_and_scripts_are_shared_objects(tmp_path: Path) -> None:
    hosts, _ = read(
        x.write(
            tmp_path / "s.xml",
            *(x.host(f"10.0.0.{i}", x.port(443, FULL_SERVICE, NESTED_SCRIPT)) for i in range(5)),
        )
    )
    assert len({id(h.ports[0].service) for h in hosts}) == 1
    assert len({id(h.ports[0].scripts[0]) for h in hosts}) == 1


@pytest.mark.parametrize("cut", [0.35, 0.5, 0.75, 0.95])
def test_interrupted_file_yields_completed_hosts(tmp_path: Path, cut: float) -> None:
    text = x.HEAD + "".join(x.host(f"10.0.0.{i}", x.port(80, FULL_SERVICE)) for i in range(1, 9))
    path = tmp_path / "cut.xml"
    path.write_text(text[: int(len(text) * cut)], "utf-8")
    hosts, reader = read(path)
    assert reader.run.incomplete is True
    assert "interrupted" in reader.run.errors[0]
    assert 1 <= len(hosts) < 8
    assert [h.address for h in hosts] == [f"10.0.0.{i}" for i in range(1, len(hosts) + 1)]


def test_garbage_in_the_middle_is_an_error_not_a_truncation(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(x.HEAD + x.host("10.0.0.1", "") + "<host><<oops</host>" + x.TAIL, "utf-8")
    with pytest.raises(ParseError, match="not well-formed"):
        read(path)


@pytest.mark.parametrize(
    ("doctype", "message"),
    [
        ('<!DOCTYPE nmaprun [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "declares entities"),
        ('<!DOCTYPE nmaprun [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>', "declares entities"),
        ('<!DOCTYPE nmaprun SYSTEM "http://127.0.0.1:9/evil.dtd">', "external DTD"),
        ('<!DOCTYPE nmaprun PUBLIC "-//X//EN" "file:///etc/passwd">', "external DTD"),
    ],
)
def test_hostile_doctypes_are_refused(tmp_path: Path, doctype: str, message: str) -> None:
    path = tmp_path / "h.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n{doctype}\n<nmaprun args="x">'
        + x.host("10.0.0.1", "")
        + "</nmaprun>",
        "utf-8",
    )
    with pytest.raises(ParseError, match=message):
        read(path)


SSH = '<service name="ssh" product="OpenSSH" version="7.4p1" method="probed" conf="10"/>'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (x.host("10.0.0.1", x.port(22, SSH.replace('conf="10"', 'conf="high"'))),
         "host '10.0.0.1': <service conf='high'>: expects an integer from 0 to 10"),
        (x.host("10.0.0.1", x.port(22, SSH.replace('conf="10"', 'conf="11"'))),
         "<service conf='11'>"),
        (x.host("10.0.0.1", x.port(1 << 63, SSH)),
         "<port portid='9223372036854775808'>: expects an integer from 0 to 65535"),
        (x.host("10.0.0.1", x.port(-22, SSH)), "<port portid='-22'>"),
        (x.host("10.0.0.1", x.port(22, SSH)).replace(
            "<ports>", f'<ports><extraports state="closed" count="{"9" * 4400}"/>'),
         "<extraports count='99999999999999999999...'>: expects an integer from 0 to 65536"),
        (x.host("10.0.0.1", "").replace("<ports>", '<ports><extraports state="filtered" '
                                        'count="-7"/>'), "<extraports count='-7'>"),
        (x.host("10.0.0.1", "").replace("<ports>", '<ports><port protocol="tcp" portid="2&#10;'
                                        '2"/>'), "<port portid='2\\n2'>"),
    ],
)  # fmt: skip
def test_out_of_range_numbers_are_one_line_errors_naming_the_element(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ParseError, match=r"bad\.xml: ") as caught:
        read(x.write(tmp_path / "bad.xml", body))
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("down", [str(1 << 63), "-1", "many"])
def test_out_of_range_run_statistics_are_errors(tmp_path: Path, down: str) -> None:
    path = tmp_path / "stats.xml"
    path.write_text((x.HEAD + x.TAIL).replace('down="0"', f'down="{down}"'), "utf-8")
    with pytest.raises(ParseError, match=r"<hosts down='.*'>: expects an integer from 0 to "):
        read(path)


def test_an_absurd_version_from_a_banner_leaves_the_service_unversioned(tmp_path: Path) -> None:
    """A hostile host sets its own version text: 4,400 digits crashed version matching."""
    digits = "9" * 4400
    service = SSH.replace('version="7.4p1" method="probed" conf="10"/>',
                          f'version="{digits}" conf="10"><cpe>cpe:/a:openbsd:openssh:{digits}'
                          "</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service>")  # fmt: skip
    body = x.host("10.0.0.1", x.port(22, service)) + x.host("10.0.0.2", x.port(22, SSH))
    hosts, reader = read(x.write(tmp_path / "long.xml", body))
    first, second = (h.ports[0].service for h in hosts)
    assert first is not None and second is not None
    assert (first.product, first.version, first.cpes) == (
        "OpenSSH",
        "",
        ("cpe:/o:linux:linux_kernel",),
    )
    assert second.version == "7.4p1"
    (warning,) = reader.warnings
    assert "1 service version(s) over 128 characters were ignored" in warning
    assert "OpenSSH 99999999999999999999..." in warning and len(warning) < 300


def test_merge_runs_spans_all_files() -> None:
    from brulee.core.ports import PortSet
    from brulee.core.scan import ScanRun

    merged = merge_runs([
        ScanRun(args="a", started="2026-01-01T00:00:05", finished="2026-01-01T00:01:00",
                hosts_up=2, sources=("a.xml",), ports=PortSet.parse("tcp:22")),
        ScanRun(args="b", started="2026-01-01T00:00:01", finished="2026-01-01T00:02:00",
                hosts_up=3, hosts_down=1, incomplete=True, errors=("cut",), sources=("b.xml",),
                ports=PortSet.parse("udp:53"), failed=True),
    ])  # fmt: skip
    assert (merged.ports.text, merged.failed, merged.outcome) == ("tcp:22;udp:53", True, "failed")
    assert merged.started == "2026-01-01T00:00:01"
    assert merged.finished == "2026-01-01T00:02:00"
    assert (merged.hosts_up, merged.hosts_down, merged.incomplete) == (5, 1, True)
    assert merged.sources == ("a.xml", "b.xml")
    assert merged.errors == ("cut",)


# --- The corpus of real Nmap 7.93 output (tests/assets/nmap/README.md says how each was made).


def corpus(name: str) -> tuple[list[Host], NmapXmlReader]:
    return read(NMAP_XML / name)


def services(hosts: list[Host]) -> dict[str, Service]:
    return {f"{h.address}:{p.key}": p.service for h in hosts for p in h.open_ports if p.service}


def test_corpus_lab_scan() -> None:
    hosts, reader = corpus("lab-basic.xml")
    assert [h.address for h in hosts] == [f"10.213.77.{i}" for i in range(11, 16)]
    found = services(hosts)
    ssh = found["10.213.77.11:tcp/22"]
    assert (ssh.product, ssh.version, ssh.extrainfo) == (
        "OpenSSH", "7.4p1 Debian 10+deb9u7", "protocol 2.0",
    )  # fmt: skip
    assert ssh.cpes == ("cpe:/a:openbsd:openssh:7.4p1", "cpe:/o:linux:linux_kernel")
    assert found["10.213.77.11:tcp/21"].cpes == ("cpe:/a:vsftpd:vsftpd:2.3.4",)
    assert found["10.213.77.14:udp/53"].product == "ISC BIND"
    assert reader.run.hosts_up == 5 and not reader.run.incomplete


def test_corpus_hostile_banner_is_kept_verbatim() -> None:
    (host,), _ = corpus("hostile-banner.xml")
    (service,) = services([host]).values()
    assert service.extrainfo == "(\\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)"


def test_corpus_ipv6_and_udp() -> None:
    hosts, _ = corpus("ipv6.xml")
    assert all(h.addrtype == "ipv6" and h.address.startswith("fd42:") for h in hosts)
    (udp_host,), _ = corpus("udp.xml")
    (port,) = udp_host.open_ports
    assert port.protocol == "udp" and port.service is not None
    assert port.service.cpes[0] == "cpe:/a:isc:bind:9.11.5-p4-5.1%2Bdeb10u5"


def test_corpus_multi_cpe_port_keeps_every_cpe() -> None:
    hosts, _ = corpus("multi-cpe.xml")
    by_product = {s.product: s for s in services(hosts).values()}
    assert by_product["D-Link SharePort web access"].cpes == (
        "cpe:/a:d-link:shareport_web_access:1.0", "cpe:/h:d-link:dir-685",
        "cpe:/o:linux:linux_kernel",
    )  # fmt: skip


def test_corpus_down_hosts_listed_and_unlisted() -> None:
    hosts, reader = corpus("hosts-down.xml")
    assert [h.status for h in hosts] == ["down"] * 3
    assert (reader.run.hosts_up, reader.run.hosts_down) == (0, 3)
    hosts, reader = corpus("hosts-down-quiet.xml")
    assert hosts == [] and reader.run.hosts_down == 3


def test_corpus_no_open_ports() -> None:
    (host,), _ = corpus("no-open-ports.xml")
    assert host.open_ports == () and host.closed_ports == 1000


def test_corpus_interrupted_scan_keeps_the_completed_host() -> None:
    hosts, reader = corpus("interrupted.xml")
    assert [h.address for h in hosts] == ["10.213.77.11"]
    assert reader.run.incomplete and reader.run.finished == ""
    assert reader.run.hosts_up == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("hostile-xxe.xml", "declares entities"),
        ("hostile-billion-laughs.xml", "amplification"),
        ("malformed.xml", "not well-formed"),
    ],
)
def test_corpus_hostile_and_malformed_files_are_refused(name: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        corpus(name)


def test_one_hosts_ports_are_read_one_by_one(tmp_path: Path) -> None:
    """A tarpit scanned with ``-p-`` lists every port of one host: 500,000 of them took 1.6 GB
    (the whole ``<host>`` tree in memory) before the ports were streamed like hosts are."""
    service = '<service name="http" product="tarpit" method="table" conf="3"/>'
    path = tmp_path / "tarpit.xml"
    with path.open("w", encoding="utf-8") as out:
        out.write(x.HEAD + '<host><status state="up" reason="syn-ack"/>'
                  '<address addr="10.0.0.1" addrtype="ipv4"/><ports>'
                  '<extraports state="filtered" count="3"/>')  # fmt: skip
        for i in range(200_000):
            out.write(x.port(i % 65535 + 1, service))
        out.write("</ports></host>\n" + x.TAIL)
    code = (
        "import re, sys\nfrom pathlib import Path\n"
        "from brulee.scan.nmapxml import NmapXmlReader\n"
        "(host,) = NmapXmlReader(Path(sys.argv[1])).hosts()\n"
        # This process's own peak (ru_maxrss would count the forking parent's memory too).
        "peak = re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text())[1]\n"
        "print(len(host.open_ports), host.filtered_ports, host.ports[-1].portid,"
        " int(peak) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True, timeout=300)  # fmt: skip
    ports, filtered, last, megabytes = map(int, done.stdout.split())
    assert (ports, filtered, last) == (200_000, 3, 200_000 % 65535)
    assert megabytes < 150, f"{megabytes} MB"
