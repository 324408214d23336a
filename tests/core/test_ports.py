"""The ports a scan looked at: read from Nmap's lists, united, compared, written back."""

from __future__ import annotations

import pytest

from brulee.core.ports import NO_PORTS, PortSet

TOP = "1,3-4,6-7,9,13,17,19-26"


def test_nmap_lists_read_canonically() -> None:
    tcp = PortSet.of("TCP", "22,21,23-25,80")
    assert tcp.text == "tcp:21-25,80"
    assert tcp == PortSet.parse("tcp:21,22,23,24,25,80") == PortSet.parse(tcp.text)
    assert PortSet.of("udp", "") == NO_PORTS and not NO_PORTS and NO_PORTS.text == ""


def test_union_covers_and_overlaps() -> None:
    tcp, udp = PortSet.of("tcp", TOP), PortSet.of("udp", "53,161")
    both = PortSet.joined([tcp, udp, NO_PORTS, tcp])
    assert both == tcp | udp and both.text == f"tcp:{TOP};udp:53,161"
    assert both.covers("tcp", 23) and both.covers("udp", 161)
    assert not both.covers("tcp", 53) and not both.covers("sctp", 1)
    assert tcp.overlaps(both) and not tcp.overlaps(udp) and not NO_PORTS.overlaps(tcp)
    assert PortSet.of("tcp", "1-1000") | PortSet.of("tcp", "1001-2000") == PortSet.of(
        "tcp", "1-2000"
    )


def test_described_for_people() -> None:
    assert PortSet.of("udp", "53,161").describe() == "udp 53,161"
    assert PortSet.of("tcp", TOP).describe(listed=3) == "tcp 16 ports"
    assert NO_PORTS.describe() == "no ports"


@pytest.mark.parametrize("text", ["tcp:1-", "tcp:70000", "tcp:9-3", "t c p:1", "tcp:a", ":22"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        PortSet.parse(text)
