"""Larger labs for speed measurements: many hosts with a realistic mix of banners.

``fleet_hosts(40)`` gives 40 hosts at 10.213.77.11 and up (a cluster at the start of the
lab's /24, as real networks cluster their live hosts), each with SSH and HTTP open and some
with FTP, SMTP or a second web server, out of the seven TCP ports in ``FLEET_PORTS``.
"""

from __future__ import annotations

import ipaddress

from .netlab import SUBNET4, SUBNET6, LabHost, LabService

FLEET_PORTS = (21, 22, 25, 80, 443, 8080, 8443)
"""The TCP ports a fleet scan probes (443 and 8443 are closed on every host)."""
FIRST_HOST = 11

_SSH = (
    "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7",
    "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5",
    "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
)
_WEB = ("Apache/2.4.49 (Unix)", "nginx/1.14.0 (Ubuntu)", "Apache/2.4.57 (Debian)", "nginx/1.22.1")
_FTP = ("220 (vsFTPd 3.0.3)", "220 ProFTPD 1.3.5 Server (ProFTPD Default Installation) [::1]")
_SMTP = "220 mail.example.test ESMTP Exim 4.89 Tue, 04 Jun 2019 10:12:34 +0000"
_APP = "Apache-Coyote/1.1"


def fleet_host(index: int) -> LabHost:
    """Host ``index`` (0-based) of a fleet lab: its services rotate through the banner pools."""
    octet = FIRST_HOST + index
    services = [
        LabService(22, "tcp", "ssh", _SSH[index % len(_SSH)]),
        LabService(80, "tcp", "http", _WEB[index % len(_WEB)]),
    ]
    # Odd periods: no worker of an interleaved split gets all of one kind.
    if index % 5 == 0:
        services.append(LabService(21, "tcp", "ftp", _FTP[index // 5 % len(_FTP)]))
    if index % 7 == 3:
        services.append(LabService(25, "tcp", "smtp", _SMTP))
    if index % 3 == 1:
        services.append(LabService(8080, "tcp", "http", _APP))
    return LabHost(
        f"fleet{index}",
        str(SUBNET4.network_address + octet),
        str(ipaddress.IPv6Address(int(SUBNET6.network_address) + octet)),
        tuple(sorted(services, key=lambda s: s.port)),
    )


def fleet_hosts(count: int) -> tuple[LabHost, ...]:
    """``count`` fleet hosts with consecutive addresses from .11 (at most 189 fit the lab)."""
    if not 1 <= count <= 189:
        raise ValueError(f"a fleet lab holds 1 to 189 hosts, not {count}")
    return tuple(fleet_host(i) for i in range(count))
