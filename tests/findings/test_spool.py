"""The spool: per-host data on disk, read back in address order, one record per address."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.core.findings import HostRecord, Location, OpenPort
from brulee.core.scan import Host
from brulee.findings.spool import Spool

SSH = OpenPort("tcp", 22, "open", "OpenSSH 7.4p1")
DNS = OpenPort("udp", 53, "open|filtered", "ISC BIND 9.11.5")


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


def test_a_host_from_a_scan_reads_back_as_the_record_a_report_lists() -> None:
    host = Host(
        "10.0.0.5",
        hostnames=("mail.example.test", "mx.example.test"),
        reason="syn-ack",
        closed_ports=997,
        filtered_ports=2,
        timed_out=True,
    )
    with Spool() as spool:
        spool.add_host(host, [SSH, DNS])
        (back,) = spool.hosts()
    assert back == HostRecord(
        address="10.0.0.5",
        hostnames=("mail.example.test", "mx.example.test"),
        status="up",
        reason="syn-ack",
        timed_out=True,
        open_ports=(SSH, DNS),
        closed_ports=997,
        filtered_ports=2,
    )


def test_one_record_per_address_and_the_last_one_read_wins() -> None:
    with Spool() as spool:
        spool.add_hosts([record("10.0.0.1", "down"), record("10.0.0.2", "up", SSH)])
        spool.add_hosts([record("10.0.0.1", "up", SSH, DNS, name="web")], origin="later")
        hosts = {h.address: h for h in spool.hosts()}
        counts = spool.host_counts()
    assert list(hosts) == ["10.0.0.1", "10.0.0.2"]
    assert hosts["10.0.0.1"].status == "up"
    assert hosts["10.0.0.1"].open_ports == (SSH, DNS)
    assert hosts["10.0.0.1"].hostnames == ("web",)
    # Counted by the final record only: the earlier "down" of 10.0.0.1 is gone.
    assert counts == {"up": 2}


def test_host_counts_by_status() -> None:
    with Spool() as spool:
        assert spool.host_counts() == {}
        spool.add_host(Host("10.0.0.1"), [SSH])
        spool.add_host(Host("10.0.0.2", status="down"), [])
        spool.add_host(Host("10.0.0.3", status="down"), [])
        spool.add_hosts([record("2001:db8::1")])
        assert spool.host_counts() == {"up": 2, "down": 2}


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
        spool.add_hosts([record("10.0.0.9"), record("10.0.0.10"), record("fd00::1")], "dc1")
        spool.add_hosts([record("10.0.0.10"), record("fd00::1"), record("10.0.0.2")], "dc2")
        spool.add_hosts([record("10.0.0.9"), record("10.0.0.9")], "dc1")  # same origin again
        assert spool.shared_addresses(10) == (2, ("10.0.0.10", "fd00::1"))
        assert spool.shared_addresses(1) == (2, ("10.0.0.10",))
        spool.add_hosts([record("10.0.0.9")], "dc3")
        assert spool.shared_addresses(5) == (3, ("10.0.0.9", "10.0.0.10", "fd00::1"))


def test_no_shared_addresses_from_a_single_origin() -> None:
    with Spool() as spool:
        spool.add_hosts([record("10.0.0.1"), record("10.0.0.1")], "only")
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
