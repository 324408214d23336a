"""The hardened streaming parser: every field, hostile input, interrupted scans, flat memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.errors import ParseError
from brulee.model import ScriptElem, ScriptTable
from brulee.nmapxml import NmapXmlReader, merge_runs
from tests import xmlsnippets as x

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


def read(path: Path) -> tuple[list, NmapXmlReader]:  # type: ignore[type-arg]
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
    assert (host.closed_ports, host.filtered_ports) == (990, 5)
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


def test_nmap_reported_error_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "e.xml"
    path.write_text(
        x.HEAD + '<runstats><finished time="1700000001" exit="error" errormsg="Failed to open '
        'device eth9"/><hosts up="0" down="0" total="0"/></runstats></nmaprun>',
        "utf-8",
    )
    _, reader = read(path)
    assert reader.run.errors == ("Failed to open device eth9",)


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


def test_merge_runs_spans_all_files() -> None:
    from brulee.model import ScanRun

    merged = merge_runs([
        ScanRun(args="a", started="2026-01-01T00:00:05", finished="2026-01-01T00:01:00",
                hosts_up=2, sources=("a.xml",)),
        ScanRun(args="b", started="2026-01-01T00:00:01", finished="2026-01-01T00:02:00",
                hosts_up=3, hosts_down=1, incomplete=True, errors=("cut",), sources=("b.xml",)),
    ])  # fmt: skip
    assert merged.started == "2026-01-01T00:00:01"
    assert merged.finished == "2026-01-01T00:02:00"
    assert (merged.hosts_up, merged.hosts_down, merged.incomplete) == (5, 1, True)
    assert merged.sources == ("a.xml", "b.xml")
    assert merged.errors == ("cut",)
