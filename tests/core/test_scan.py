"""The scan model's service identity: what the software is, not how long it has run."""

from __future__ import annotations

import pytest

from brulee.core.scan import Service, stable_extrainfo


@pytest.mark.parametrize(
    ("extrainfo", "stable"),
    [
        # volatile, as Nmap 7.93's match lines write them (nmap-service-probes i/ templates)
        ("uptime 11 seconds", ""),  # Memcached: i/uptime $1 seconds/
        ("uptime 688 seconds; Ubuntu", "Ubuntu"),  # Memcached: i/uptime $1 seconds; Ubuntu/
        (
            "Uptime: 4d 02h 11m, PID: 1823, Config: /etc/nutcracker.yml",
            "Config: /etc/nutcracker.yml",
        ),
        ("UID 0; PID 4242", ""),
        (
            "name lab-nas; MAC 00:11:32:aa:bb:cc; uptime 12 days",
            "name lab-nas; MAC 00:11:32:aa:bb:cc",
        ),
        ("server time: 2026-12-02T21:14:09Z; realm: lab", "realm: lab"),
        ("OpenWRT; server time: 2026-12-02 21:14:09Z; realm: x", "OpenWRT; realm: x"),
        ("local time 21:14:09", ""),
        ("date: Wed, 02 Dec 2026 21:14:09 GMT", ""),
        ("session ID 5f2a9c", ""),
        ("connection id: 18", ""),
        ("users: 3", ""),
        ("server started: 2026-12-02", ""),
        # stable: what the software or its host is
        ("protocol 2.0", "protocol 2.0"),
        ("Ubuntu Linux; protocol 2.0", "Ubuntu Linux; protocol 2.0"),
        ("(Debian)", "(Debian)"),
        ("workgroup: WORKGROUP", "workgroup: WORKGROUP"),
        ("build date: 2020-01-01", "build date: 2020-01-01"),
        ("time zone: UTC", "time zone: UTC"),
        ("model DIR-685, version 1.00", "model DIR-685, version 1.00"),
        ("", ""),
        ("  =1+1 ;x", "  =1+1 ;x"),  # nothing volatile: the text as Nmap gave it
    ],
)
def test_stable_extrainfo(extrainfo: str, stable: str) -> None:
    assert stable_extrainfo(extrainfo) == stable


def test_uptimes_do_not_split_a_service() -> None:
    one = Service("memcached", "Memcached", "1.6.18", "uptime 11 seconds",
                  cpes=("cpe:/a:memcached:memcached:1.6.18",))  # fmt: skip
    other = Service("memcached", "Memcached", "1.6.18", "uptime 688 seconds",
                    cpes=("cpe:/a:memcached:memcached:1.6.18",))  # fmt: skip
    assert one.key == other.key
    assert one.stable == other.stable
    assert one.stable.extrainfo == ""
    assert (
        Service(product="OpenSSH", extrainfo="protocol 1.99").key
        != Service(product="OpenSSH", extrainfo="protocol 2.0").key
    )


def test_a_huge_extrainfo_is_left_as_it_is() -> None:
    huge = "uptime 1 seconds; " + "x" * 5000
    assert stable_extrainfo(huge) == huge
