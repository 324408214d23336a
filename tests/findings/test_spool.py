"""The spool: per-host data on disk, read back in address order, one record per address."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from brulee.core.findings import HostRecord, Location, OpenPort
from brulee.core.ports import PortSet
from brulee.findings.spool import Resolved, Spool

SSH = OpenPort("tcp", 22, "open", "OpenSSH 7.4p1")
DNS = OpenPort("udp", 53, "open|filtered", "ISC BIND 9.11.5")
TCP_1000 = PortSet.parse("tcp:1-1000")
UDP_53 = PortSet.parse("udp:53")


def record(address: str, status: str = "up", *ports: OpenPort, name: str = "") -> HostRecord:
    """A host as a report lists it."""
    return HostRecord(
        address=address,
        hostnames=(name,) if name else (),
        status=status,
        reason="syn-ack" if status == "up" else "no-response",
        timed_out=False,
        open_ports=ports,
        closed_ports=998,
        filtered_ports=0,
    )


def at(address: str, port: int = 22, protocol: str = "tcp", hostname: str = "") -> Location:
    return Location(address, hostname, port, protocol)


def test_hosts_come_back_ipv4_before_ipv6_in_numeric_order() -> None:
    addresses = ["2001:db8::10", "10.0.0.10", "fd00::1", "192.168.0.1", "10.0.0.9", "::1"]
    with Spool() as spool:
        spool.add_hosts(record(a) for a in addresses)
        assert [h.address for h in spool.hosts()] == [
            "10.0.0.9", "10.0.0.10", "192.168.0.1", "::1", "2001:db8::10", "fd00::1",
        ]  # fmt: skip


def test_a_record_reads_back_with_the_ports_its_origin_scanned() -> None:
    host = HostRecord(
        address="10.0.0.5",
        hostnames=("mail.example.test", "mx.example.test"),
        status="up",
        reason="syn-ack",
        timed_out=False,
        open_ports=(SSH, DNS),
        closed_ports=997,
        filtered_ports=2,
    )
    with Spool() as spool:
        origin = spool.origin("scan.xml", "2024-05-01T10:00:00+00:00")
        spool.origin_ports(origin, [TCP_1000, UDP_53])
        spool.add_hosts([host], origin, [1])
        spool.add_hosts([replace(host, address="10.0.0.6", timed_out=True)], origin, [None])
        back, given_up = spool.hosts()
        assert spool.port_sets() == (UDP_53,)
        assert spool.host_counts() == {"up": 2, "timed_out": 1}
    assert back == replace(host, scanned=UDP_53)
    assert given_up.scanned == PortSet()


def test_a_tcp_and_a_udp_scan_of_one_host_are_united() -> None:
    tcp = replace(record("10.0.0.1", "up", SSH, name="web"), closed_ports=999)
    udp = replace(record("10.0.0.1", "up", DNS), closed_ports=1, filtered_ports=0)
    with Spool() as spool:
        first, second = spool.origin("tcp.xml", "2024-05-01"), spool.origin("udp.xml", "2024-05-02")
        spool.origin_ports(first, [TCP_1000])
        spool.origin_ports(second, [UDP_53])
        spool.add_hosts([tcp], first, [0])
        spool.add_hosts([udp], second, [0])
        spool.add_locations([("ssh", at("10.0.0.1"))], first)
        spool.add_locations([("dns", at("10.0.0.1", 53, "udp"))], second)
        (host,) = spool.hosts()
        assert spool.location_counts() == {"ssh": 1, "dns": 1}
        assert spool.resolved(5) == (0, ())
        assert spool.port_sets() == (TCP_1000 | UDP_53,)
        assert spool.host_counts() == {"up": 1}
    assert host.open_ports == (SSH, DNS)
    assert (host.closed_ports, host.hostnames, host.scanned) == (1000, ("web",), TCP_1000 | UDP_53)


def test_a_port_scanned_twice_is_taken_from_the_newer_scan() -> None:
    old_ssh = OpenPort("tcp", 22, "open", "OpenSSH 7.4p1")
    new_ssh = OpenPort("tcp", 22, "open", "OpenSSH 9.8p1")
    http = OpenPort("tcp", 80, "open", "nginx")
    with Spool() as spool:
        # read newest first: the order of reading does not matter, the scans' dates do
        newer = spool.origin("monday.json", "2024-05-06T00:00:00+00:00")
        older = spool.origin("sunday.json", "2024-05-05T00:00:00+00:00")
        for origin in (newer, older):
            spool.origin_ports(origin, [PortSet.parse("tcp:1-1024")])
        spool.add_hosts([record("10.0.0.1", "up", new_ssh)], newer, [0])
        spool.add_hosts([record("10.0.0.1", "up", old_ssh, http)], older, [0])
        spool.add_hosts([record("10.0.0.2", "up", http)], older, [0])
        spool.add_locations([("new", at("10.0.0.1"))], newer)
        spool.add_locations([("old", at("10.0.0.1")), ("web", at("10.0.0.1", 80))], older)
        spool.add_locations([("web", at("10.0.0.2", 80))], older)
        united, other = spool.hosts()
        assert spool.location_counts() == {"new": 1, "web": 1}
        assert list(spool.locations("old")) == []
        assert [loc.address for loc in spool.locations("web")] == ["10.0.0.2"]
        count, which = spool.resolved(1)
    assert united.open_ports == (new_ssh,) and other.open_ports == (http,)
    assert united.closed_ports == 998  # the newer scan's: the same ports were scanned twice
    assert count == 2
    assert which == (Resolved("10.0.0.1", "tcp", 22, "monday.json", "sunday.json"),)


def test_a_scan_that_gave_up_on_a_host_does_not_undo_an_older_one() -> None:
    with Spool() as spool:
        older, newer = spool.origin("a", "2024-05-01"), spool.origin("b", "2024-05-02")
        for origin in (older, newer):
            spool.origin_ports(origin, [TCP_1000])
        spool.add_hosts([record("10.0.0.1", "up", SSH)], older, [0])
        spool.add_hosts([replace(record("10.0.0.1", "up"), timed_out=True)], newer, [None])
        spool.add_locations([("ssh", at("10.0.0.1"))], older)
        (host,) = spool.hosts()
        assert spool.location_counts() == {"ssh": 1}
    assert host.open_ports == (SSH,) and host.timed_out


def test_host_counts_by_status() -> None:
    with Spool() as spool:
        assert spool.host_counts() == {}
        spool.add_hosts([record("10.0.0.1"), record("10.0.0.2", "down")])
        spool.add_hosts([record("10.0.0.3", "down"), record("2001:db8::1")])
        later = spool.origin("later", "2024-05-02")
        spool.add_hosts([record("10.0.0.2", "up"), record("10.0.0.3", "down")], later)
        assert spool.host_counts() == {"up": 3, "down": 1}


def test_locations_by_address_then_port_and_counted_once_when_read_twice() -> None:
    rows = [
        ("ssh", at("10.0.0.10", 2222)),
        ("ssh", at("10.0.0.9", 22, hostname="a.example.test")),
        ("ssh", at("10.0.0.10", 22)),
        ("dns", at("10.0.0.9", 53, "udp")),
        ("dns", at("10.0.0.9", 53, "tcp")),
    ]
    with Spool() as spool:
        spool.add_locations(rows)
        spool.add_locations(rows[:2])  # the same ports read again from a second file
        ssh = list(spool.locations("ssh"))
        dns = list(spool.locations("dns"))
        assert list(spool.locations("nothing")) == []
        counts = spool.location_counts()
    assert ssh == [
        at("10.0.0.9", 22, hostname="a.example.test"), at("10.0.0.10", 22), at("10.0.0.10", 2222),
    ]  # fmt: skip
    assert dns == [at("10.0.0.9", 53, "tcp"), at("10.0.0.9", 53, "udp")]
    assert counts == {"ssh": 3, "dns": 2}


def test_locations_can_be_added_after_reading_began() -> None:
    """The indexes are built on the first read; later rows are still found."""
    with Spool() as spool:
        spool.add_locations([("ssh", at("10.0.0.2"))])
        assert spool.location_counts() == {"ssh": 1}
        spool.add_locations([("ssh", at("10.0.0.1"))])
        spool.add_hosts([record("10.0.0.1")])
        assert [loc.address for loc in spool.locations("ssh")] == ["10.0.0.1", "10.0.0.2"]
        assert [h.address for h in spool.hosts()] == ["10.0.0.1"]


def test_shared_addresses_are_those_recorded_from_two_origins() -> None:
    with Spool() as spool:
        dc1, dc2, dc3 = (spool.origin(name) for name in ("dc1", "dc2", "dc3"))
        spool.add_hosts([record("10.0.0.9"), record("10.0.0.10"), record("fd00::1")], dc1)
        spool.add_hosts([record("10.0.0.10"), record("fd00::1"), record("10.0.0.2")], dc2)
        spool.add_hosts([record("10.0.0.9"), record("10.0.0.9")], dc1)  # same origin again
        assert spool.shared_addresses(10) == (2, ("10.0.0.10", "fd00::1"))
        assert spool.shared_addresses(1) == (2, ("10.0.0.10",))
        spool.add_hosts([record("10.0.0.9")], dc3)
        assert spool.shared_addresses(5) == (3, ("10.0.0.9", "10.0.0.10", "fd00::1"))


def test_no_shared_addresses_from_a_single_origin() -> None:
    with Spool() as spool:
        spool.add_hosts([record("10.0.0.1"), record("10.0.0.1")], spool.origin("only"))
        assert spool.shared_addresses(5) == (0, ())


def test_the_context_manager_removes_its_temporary_directory(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        (made,) = tmp_path.iterdir()
        assert made.name.startswith("brulee-spool-")
        assert (made / "spool.sqlite").is_file()
        spool.add_hosts([record("10.0.0.1")])
    assert list(tmp_path.iterdir()) == []


def test_the_directory_is_removed_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), Spool(tmp_path) as spool:
        spool.add_locations([("ssh", at("10.0.0.1"))])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
