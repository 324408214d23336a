"""Lab hosts with Ubuntu banners: every default OpenSSH banner of the Ubuntu releases (for the
corpus file ``ubuntu-ssh-banners.xml``), and the hosts of the Ubuntu end-to-end scan."""

from __future__ import annotations

from pathlib import Path

from .netlab import LabHost, LabService

BANNERS_TSV = (
    Path(__file__).resolve().parents[1]
    / "assets"
    / "ubuntu"
    / "ssh-default-banners"
    / "ubuntu_tsv.txt"
)
BANNER_PORT = 2200
"""The first port of ``BANNER_HOST``; the table's rows follow on the next ones, in file order."""


def default_banners() -> list[tuple[str, str, str]]:
    """(release number, code name, banner) of each row of the default banners table; the
    table's ``(best guess)`` annotations are not part of the banners."""
    rows = []
    for line in BANNERS_TSV.read_text("utf-8").splitlines():
        number, _, _, rest = line.split("\t", 3)
        name, banner = rest.split("SSH-2.0-", 1)
        rows.append(
            (number, name.split()[0].lower(), "SSH-2.0-" + banner.removesuffix(" (best guess)"))
        )
    return rows


BANNER_HOST = LabHost(
    "ubuntu-banners",
    "10.213.77.30",
    "fd42:b7e1:77::30",
    tuple(
        LabService(BANNER_PORT + index, "tcp", "ssh", banner)
        for index, (_, _, banner) in enumerate(default_banners())
    ),
)

UBUNTU_HOSTS: tuple[LabHost, ...] = (
    LabHost(
        "ubuntu-trusty",
        "10.213.77.31",
        "fd42:b7e1:77::31",
        (LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2.13"),),
    ),
    LabHost(
        "ubuntu-xenial",
        "10.213.77.32",
        "fd42:b7e1:77::32",
        (LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_7.2p2 Ubuntu-4ubuntu2.8"),),
    ),
    LabHost(
        "ubuntu-bionic",
        "10.213.77.33",
        "fd42:b7e1:77::33",
        (
            LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.3"),
            LabService(80, "tcp", "http", "Apache/2.4.29 (Ubuntu)"),
        ),
    ),
    LabHost(
        "ubuntu-focal",
        "10.213.77.34",
        "fd42:b7e1:77::34",
        (
            LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.1"),
            LabService(80, "tcp", "http", "nginx/1.18.0 (Ubuntu)"),
        ),
    ),
    LabHost(
        "ubuntu-jammy",
        "10.213.77.35",
        "fd42:b7e1:77::35",
        (LabService(22, "tcp", "ssh", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1"),),
    ),
)
"""One host per release the starter data covers (and one it does not: jammy), with Ubuntu's own
OpenSSH banners; bionic and focal also serve a web server whose banner has no package revision."""
