"""The fleet lab's hosts (no root needed: nothing is started)."""

from __future__ import annotations

import ipaddress
from collections import Counter

import pytest

from brulee.scan.targets import build_scope, parse_list

from .fleet import FLEET_PORTS, fleet_hosts
from .netlab import SUBNET4, Lab


def test_forty_hosts_clustered_at_the_start_of_the_lab_network() -> None:
    hosts = fleet_hosts(40)
    Lab(hosts)  # the lab accepts them: unique names, lab addresses
    assert [h.ipv4 for h in hosts] == [f"10.213.77.{i}" for i in range(11, 51)]
    assert all({22, 80} <= set(h.tcp_ports) <= set(FLEET_PORTS) for h in hosts)
    kinds = Counter(s.port for h in hosts for s in h.services)
    assert kinds == {22: 40, 80: 40, 8080: 13, 21: 8, 25: 6}
    assert not kinds[443] and not kinds[8443]  # probed, closed


@pytest.mark.parametrize("workers", [2, 4])
def test_interleaved_workers_get_a_fair_share_of_each_kind_of_service(workers: int) -> None:
    """So that the workers benchmark measures the split, not a lab that favours one worker."""
    hosts = {h.ipv4: h for h in fleet_hosts(40)}
    scope = build_scope(parse_list([str(SUBNET4)], "t"))
    for port in (80, 8080):
        shares = [
            sum(
                1
                for line in part.lines()
                for address in ipaddress.ip_network(line)
                if str(address) in hosts and port in hosts[str(address)].tcp_ports
            )
            for part in scope.split(workers)
        ]
        assert max(shares) - min(shares) <= 2, (port, shares)


def test_fleet_size_is_bounded() -> None:
    assert len(fleet_hosts(189)) == 189
    for count in (0, 190):
        with pytest.raises(ValueError, match="1 to 189 hosts"):
            fleet_hosts(count)
