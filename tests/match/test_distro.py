"""Distribution evidence from real Nmap 7.93 service fields; Debian/Ubuntu release names."""

from __future__ import annotations

import pytest

from brulee.core.distro import DistroEvidence
from brulee.core.scan import Service
from brulee.match.debversion import DebianVersionError, compare
from brulee.match.distro import (
    debian_release,
    detect_distro,
    package_version_as,
    platform_facts,
    same_upstream,
    ubuntu_release,
)

SSH = "OpenSSH"
PROTO = "protocol 2.0"
UBUNTU_PROTO = "Ubuntu Linux; protocol 2.0"
LINUX = "cpe:/o:linux:linux_kernel"

Expected = tuple[str, str, str, str] | None
"""(distro, release, revision, upstream), or None for no evidence."""

DETECTED: list[tuple[str, Service, Expected]] = [
    # OpenSSH: Nmap keeps the package revision in the version field
    (
        "openssh-stretch",
        Service("ssh", SSH, "7.4p1 Debian 10+deb9u7", PROTO, "Linux"),
        ("debian", "stretch", "10+deb9u7", "7.4p1"),
    ),
    (
        "openssh-buster",
        Service("ssh", SSH, "7.9p1 Debian 10+deb10u2", PROTO, "Linux"),
        ("debian", "buster", "10+deb10u2", "7.9p1"),
    ),
    (
        "openssh-bullseye",
        Service("ssh", SSH, "8.4p1 Debian 5+deb11u1", PROTO, "Linux"),
        ("debian", "bullseye", "5+deb11u1", "8.4p1"),
    ),
    (
        "openssh-bookworm",
        Service("ssh", SSH, "9.2p1 Debian 2+deb12u1", PROTO, "Linux"),
        ("debian", "bookworm", "2+deb12u1", "9.2p1"),
    ),
    (
        "openssh-debian-release-revision-names-no-release",
        Service("ssh", SSH, "7.9p1 Debian 10", PROTO, "Linux"),
        ("debian", "", "10", "7.9p1"),
    ),
    (
        "openssh-jessie",
        Service("ssh", SSH, "6.7p1 Debian 5+deb8u8", PROTO, "Linux"),
        ("debian", "jessie", "5+deb8u8", "6.7p1"),
    ),
    (
        "openssh-wheezy",
        Service("ssh", SSH, "6.0p1 Debian 4+deb7u7", PROTO, "Linux"),
        ("debian", "wheezy", "4+deb7u7", "6.0p1"),
    ),
    (
        "openssh-squeeze",
        Service("ssh", SSH, "5.5p1 Debian 6+squeeze5", PROTO, "Linux"),
        ("debian", "squeeze", "6+squeeze5", "5.5p1"),
    ),
    (
        "openssh-backport",
        Service("ssh", SSH, "8.4p1 Debian 5~bpo10+1", PROTO, "Linux"),
        ("debian", "buster-backports", "5~bpo10+1", "8.4p1"),
    ),
    (
        "openssh-raspbian-buster",
        Service("ssh", SSH, "7.9p1 Raspbian 10+deb10u2", PROTO, "Linux"),
        ("raspbian", "buster", "10+deb10u2", "7.9p1"),
    ),
    (
        "openssh-xenial",
        Service("ssh", SSH, "7.2p2 Ubuntu 4ubuntu2.10", UBUNTU_PROTO, "Linux"),
        ("ubuntu", "", "4ubuntu2.10", "7.2p2"),
    ),
    (
        "openssh-bionic",
        Service("ssh", SSH, "7.6p1 Ubuntu 4ubuntu0.7", UBUNTU_PROTO, "Linux"),
        ("ubuntu", "", "4ubuntu0.7", "7.6p1"),
    ),
    (
        "openssh-focal",
        Service("ssh", SSH, "8.2p1 Ubuntu 4ubuntu0.5", UBUNTU_PROTO, "Linux"),
        ("ubuntu", "", "4ubuntu0.5", "8.2p1"),
    ),
    (
        "openssh-focal-cpe-names-release",
        Service(
            "ssh",
            SSH,
            "8.2p1 Ubuntu 4ubuntu0.5",
            UBUNTU_PROTO,
            cpes=("cpe:/a:openbsd:openssh:8.2p1", "cpe:/o:canonical:ubuntu_linux:20.04"),
        ),
        ("ubuntu", "focal", "4ubuntu0.5", "8.2p1"),
    ),
    (
        "openssh-old-ubuntu-says-debian",
        Service("ssh", SSH, "5.3p1 Debian 3ubuntu7", UBUNTU_PROTO, "Linux"),
        ("ubuntu", "", "3ubuntu7", "5.3p1"),
    ),
    (
        "openssh-rhel-has-no-marker",
        Service("ssh", SSH, "7.4", PROTO),
        None,
    ),
    (
        "openssh-rhel-cpe",
        Service("ssh", SSH, "7.4", PROTO, cpes=("cpe:/o:redhat:enterprise_linux:7",)),
        ("rhel", "7", "", "7.4"),
    ),
    (
        "openssh-freebsd",
        Service(
            "ssh",
            SSH,
            "7.8",
            "FreeBSD 20180909; protocol 2.0",
            "FreeBSD",
            cpes=("cpe:/a:openbsd:openssh:7.8", "cpe:/o:freebsd:freebsd"),
        ),
        ("freebsd", "", "", "7.8"),
    ),
    # Apache httpd and nginx: a marker, never a revision
    (
        "apache-ubuntu",
        Service("http", "Apache httpd", "2.4.29", "(Ubuntu)"),
        ("ubuntu", "", "", "2.4.29"),
    ),
    (
        "apache-debian",
        Service("http", "Apache httpd", "2.4.38", "(Debian)"),
        ("debian", "", "", "2.4.38"),
    ),
    (
        "apache-debian-modules",
        Service("http", "Apache httpd", "2.4.56", "(Debian) OpenSSL/1.1.1n"),
        ("debian", "", "", "2.4.56"),
    ),
    (
        "apache-centos",
        Service("http", "Apache httpd", "2.4.6", "(CentOS)"),
        ("centos", "", "", "2.4.6"),
    ),
    (
        "apache-centos-modules",
        Service("http", "Apache httpd", "2.4.6", "(CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16"),
        ("centos", "", "", "2.4.6"),
    ),
    (
        "apache-rhel",
        Service("http", "Apache httpd", "2.4.6", "(Red Hat Enterprise Linux)"),
        ("rhel", "", "", "2.4.6"),
    ),
    (
        "apache-almalinux",
        Service("http", "Apache httpd", "2.4.37", "(AlmaLinux) OpenSSL/1.1.1k"),
        ("alma", "", "", "2.4.37"),
    ),
    (
        "apache-rocky",
        Service("http", "Apache httpd", "2.4.37", "(Rocky Linux) OpenSSL/1.1.1k"),
        ("rocky", "", "", "2.4.37"),
    ),
    (
        "apache-red-hat",
        Service("http", "Apache httpd", "2.4.6", "(Red Hat)"),
        ("rhel", "", "", "2.4.6"),
    ),
    (
        "apache-suse",
        Service("http", "Apache httpd", "2.4.51", "(Linux/SUSE)"),
        ("suse", "", "", "2.4.51"),
    ),
    (
        "apache-freebsd",
        Service("http", "Apache httpd", "2.4.57", "(FreeBSD)"),
        ("freebsd", "", "", "2.4.57"),
    ),
    (
        "apache-unix",
        Service("http", "Apache httpd", "2.4.49", "(Unix)"),
        None,
    ),
    (
        "nginx-ubuntu",
        Service("http", "nginx", "1.14.0", "Ubuntu", "Linux", cpes=(LINUX,)),
        ("ubuntu", "", "", "1.14.0"),
    ),
    (
        "nginx-ubuntu-cpe",
        Service(
            "http",
            "nginx",
            "1.18.0",
            "Ubuntu",
            "Linux",
            cpes=("cpe:/a:igor_sysoev:nginx:1.18.0", "cpe:/o:canonical:ubuntu_linux", LINUX),
        ),
        ("ubuntu", "", "", "1.18.0"),
    ),
    (
        "nginx-no-marker",
        Service("http", "nginx", "1.18.0", cpes=("cpe:/a:igor_sysoev:nginx:1.18.0",)),
        None,
    ),
    # mail servers
    (
        "postfix-debian",
        Service(
            "smtp", "Postfix smtpd", "", "Debian", "Linux", cpes=("cpe:/o:debian:debian_linux",)
        ),
        ("debian", "", "", ""),
    ),
    (
        "dovecot-ubuntu",
        Service("imap", "Dovecot imapd", "", "Ubuntu", "Linux"),
        ("ubuntu", "", "", ""),
    ),
    (
        "exim-no-marker",
        Service("smtp", "Exim smtpd", "4.92", hostname="mail.example.test"),
        None,
    ),
    # ISC BIND: Nmap cuts the banner before -Debian / -Ubuntu / -RedHat-
    (
        "bind-buster",
        Service("domain", "ISC BIND", "9.11.5-P4-5.1+deb10u5", "Debian Linux", "Linux"),
        ("debian", "buster", "5.1+deb10u5", "9.11.5-P4"),
    ),
    (
        "bind-buster-first-release",
        Service("domain", "ISC BIND", "9.11.5-P4-5.1", "Debian Linux", "Linux"),
        ("debian", "", "5.1", "9.11.5-P4"),
    ),
    (
        "bind-stretch-no-revision",
        Service("domain", "ISC BIND", "9.10.3-P4", "Debian Linux", "Linux"),
        ("debian", "", "", "9.10.3-P4"),
    ),
    (
        "bind-raw-banner-debian-word",
        Service("domain", "ISC BIND", "9.10.3-P4-Debian"),
        ("debian", "", "", "9.10.3-P4"),
    ),
    (
        "bind-raw-banner-revision",
        Service("domain", "ISC BIND", "9.11.5-P4-5.1+deb10u5-Debian"),
        ("debian", "buster", "5.1+deb10u5", "9.11.5-P4"),
    ),
    (
        "bind-jessie",
        Service("domain", "ISC BIND", "9.9.5", "Debian Linux 8.0 (Jessie)", "Linux"),
        ("debian", "jessie", "", "9.9.5"),
    ),
    (
        "bind-wheezy",
        Service(
            "domain", "ISC BIND", "9.8.4-rpz2+rl005.12-P1", "Debian Linux 7.0 (Wheezy)", "Linux"
        ),
        ("debian", "wheezy", "", "9.8.4"),
    ),
    (
        "bind-raspbian-jessie",
        Service("domain", "ISC BIND", "9.9.5", "Raspbian Linux 8.0 (Jessie based)", "Linux"),
        ("raspbian", "jessie", "", "9.9.5"),
    ),
    (
        "bind-ubuntu-bionic",
        Service("domain", "ISC BIND", "9.11.3-1ubuntu1.18", "Ubuntu Linux", "Linux"),
        ("ubuntu", "", "1ubuntu1.18", "9.11.3"),
    ),
    (
        "bind-rhel7",
        Service(
            "domain",
            "ISC BIND",
            "9.11.4-P2",
            "RedHat Enterprise Linux 7",
            "Linux",
            cpes=("cpe:/a:isc:bind:9.11.4-p2", "cpe:/o:redhat:enterprise_linux:7"),
        ),
        ("rhel", "7", "", "9.11.4-P2"),
    ),
    (
        "bind-rhel7-raw-banner",
        Service("domain", "ISC BIND", "9.11.4-P2-RedHat-9.11.4-26.P2.el7"),
        ("rhel", "7", "26.P2.el7", "9.11.4"),
    ),
    (
        "bind-fedora",
        Service("domain", "ISC BIND", "9.11.6", "Fedora Core 30", "Linux"),
        ("fedora", "30", "", "9.11.6"),
    ),
    (
        "bind-redhat-linux",
        Service("domain", "ISC BIND", "9.2.4", "RedHat Linux", "Linux"),
        ("rhel", "", "", "9.2.4"),
    ),
    # MySQL protocol: MariaDB and MySQL append the package revision
    (
        "mariadb-buster",
        Service("mysql", "MySQL", "5.5.5-10.3.34-MariaDB-0+deb10u1"),
        ("debian", "buster", "0+deb10u1", "10.3.34"),
    ),
    (
        "mysql-xenial",
        Service("mysql", "MySQL", "5.7.33-0ubuntu0.16.04.1"),
        ("ubuntu", "xenial", "0ubuntu0.16.04.1", "5.7.33"),
    ),
    (
        "mysql-focal-log",
        Service("mysql", "MySQL", "8.0.32-0ubuntu0.20.04.2-log"),
        ("ubuntu", "focal", "0ubuntu0.20.04.2", "8.0.32"),
    ),
    (
        "mysql-jessie",
        Service("mysql", "MySQL", "5.5.62-0+deb8u1"),
        ("debian", "jessie", "0+deb8u1", "5.5.62"),
    ),
    (
        "ubuntu-rebuild-of-debian-revision",
        Service("mysql", "MySQL", "10.3.38-0+deb10u1build0.20.04.1"),
        ("ubuntu", "focal", "0+deb10u1build0.20.04.1", "10.3.38"),
    ),
    (
        "rpm-release-el8",
        Service("http", "Foo", "2.4.37-51.el8_7"),
        ("rhel", "8", "51.el8_7", "2.4.37"),
    ),
    (
        "rpm-release-el7-centos",
        Service("http", "Foo", "2.4.6-97.el7.centos.6"),
        ("centos", "7", "97.el7.centos.6", "2.4.6"),
    ),
    # CPEs and ostype alone
    (
        "cpe-debian-9",
        Service("upnp", "MiniUPnP", "1.8", cpes=("cpe:/o:debian:debian_linux:9",)),
        ("debian", "stretch", "", "1.8"),
    ),
    (
        "cpe-ubuntu-18.04",
        Service(
            "mysql",
            "MySQL",
            "5.5.5-10.3.38-MariaDB-1:10.3.38+maria~bionic",
            cpes=(
                "cpe:/a:mariadb:mariadb:5.5.5-10.3.38-mariadb-1:10.3.38+maria~bionic",
                "cpe:/o:canonical:ubuntu_linux:18.04",
            ),
        ),
        ("ubuntu", "bionic", "", "10.3.38"),
    ),
    (
        "cpe-debian-arbitrary-version",
        Service("http", "Apache httpd", "1.3.34", cpes=("cpe:/o:debian:debian_linux:php/4.4",)),
        ("debian", "", "", "1.3.34"),
    ),
    (
        "cpe-application-is-not-an-os",
        Service("http", "Foo", "1.0", cpes=("cpe:/a:debian:debian_linux",)),
        None,
    ),
    (
        "linux-is-not-a-distribution",
        Service("ssh", SSH, "7.4", PROTO, "Linux", cpes=(LINUX,)),
        None,
    ),
    # strictness: a name must stand alone, a revision must be whole and well formed
    (
        "word-inside-word",
        Service("http", "Apache httpd", "2.4.49", "(Debianized)"),
        None,
    ),
    (
        "word-prefixed",
        Service("http", "Apache httpd", "2.4.49", "(NotDebian)"),
        None,
    ),
    (
        "word-in-a-sentence",
        Service("nntp", "INN nntpd", "2.6.4", "runs on Debian; posting ok"),
        None,
    ),
    (
        "word-with-a-hyphen",
        Service("http", "Foo", "1.0", "Debian-based appliance"),
        None,
    ),
    (
        "unclosed-parenthesis",
        Service("http", "Apache httpd", "2.4.49", "(Ubuntu"),
        None,
    ),
    (
        "version-word-glued",
        Service("ssh", SSH, "7.4p1 Debianx 10+deb9u7", PROTO),
        None,
    ),
    (
        "version-trailing-shell",
        Service("ssh", SSH, "7.4p1 Debian 10+deb9u7; rm -rf /", PROTO),
        None,
    ),
    (
        "version-trailing-escape",
        Service("ssh", SSH, "7.4p1 Debian 10+deb9u7\x1b[31m", PROTO),
        None,
    ),
    (
        "version-markup",
        Service("ssh", SSH, "7.4p1 Debian <script>alert(1)</script>", PROTO),
        None,
    ),
    (
        "version-revision-not-a-revision",
        Service("ssh", SSH, "7.4p1 Debian deb9u7", PROTO),
        None,
    ),
    (
        "version-revision-too-long",
        Service("ssh", SSH, "7.4p1 Debian 1" + "0" * 80, PROTO),
        None,
    ),
    (
        "hyphenated-version-without-distribution-mark",
        Service("http", "Foo", "2.4.6-1"),
        None,
    ),
    (
        "bare-revision-needs-bind-for-extrainfo-marker",
        Service("http", "Foo", "9.11.5-P4-5.1", "Debian Linux"),
        ("debian", "", "", "9.11.5-P4"),
    ),
    (
        "old-code-name-inside-a-word",
        Service("http", "Foo", "1.0-1sketch2"),
        None,
    ),
    (
        "hostile-extrainfo",
        Service(
            "http",
            "Apache httpd",
            "2.4.49",
            "(\\input{/etc/passwd}<script>alert(1)</script>=cmd|'/C calc'!A0)",
        ),
        None,
    ),
    (
        "empty",
        Service(),
        None,
    ),
]


@pytest.mark.parametrize(
    ("service", "expected"),
    [pytest.param(service, expected, id=name) for name, service, expected in DETECTED],
)
def test_detect_distro(service: Service, expected: Expected) -> None:
    evidence = detect_distro(service)
    if expected is None:
        assert evidence is None
    else:
        assert evidence is not None
        assert (evidence.distro, evidence.release, evidence.revision, evidence.upstream) == (
            expected
        )
        assert evidence.evidence


EVIDENCE = [
    (
        Service("ssh", SSH, "7.4p1 Debian 10+deb9u7", PROTO),
        'version "7.4p1 Debian 10+deb9u7"',
    ),
    (Service("http", "Apache httpd", "2.4.29", "(Ubuntu)"), 'extrainfo "(Ubuntu)"'),
    (
        Service("http", "Apache httpd", "2.4.38", "(Debian) OpenSSL/1.1.1n"),
        'extrainfo "(Debian) OpenSSL/1.1.1n"',
    ),
    (
        Service("ssh", SSH, "8.2p1 Ubuntu 4ubuntu0.5", UBUNTU_PROTO),
        'version "8.2p1 Ubuntu 4ubuntu0.5"',
    ),
    (
        Service(
            "ssh",
            SSH,
            "8.2p1 Ubuntu 4ubuntu0.5",
            UBUNTU_PROTO,
            cpes=("cpe:/o:canonical:ubuntu_linux:20.04",),
        ),
        'version "8.2p1 Ubuntu 4ubuntu0.5"; cpe "cpe:/o:canonical:ubuntu_linux:20.04"',
    ),
    (
        Service("domain", "ISC BIND", "9.11.5-P4-5.1", "Debian Linux"),
        'version "9.11.5-P4-5.1"; extrainfo "Debian Linux"',
    ),
    (Service("ssh", SSH, "7.4", PROTO, "FreeBSD"), 'ostype "FreeBSD"'),
    (Service("http", "Apache httpd", "2.4.6", "(Debian) \x1b[2J"), 'extrainfo "(Debian) ?[2J"'),
]


@pytest.mark.parametrize(("service", "text"), EVIDENCE)
def test_evidence_text(service: Service, text: str) -> None:
    evidence = detect_distro(service)
    assert evidence is not None
    assert evidence.evidence == text


def test_evidence_is_bounded() -> None:
    evidence = detect_distro(Service("http", "Apache httpd", "2.4.6", "(Ubuntu) " + "A" * 5000))
    assert evidence is not None
    assert len(evidence.evidence) < 140
    assert evidence.evidence.endswith('..."')


def test_first_source_decides_conflicts() -> None:
    service = Service(
        "ssh", SSH, "7.4p1 Debian 10+deb9u7", PROTO, cpes=("cpe:/o:canonical:ubuntu_linux:18.04",)
    )
    evidence = detect_distro(service)
    assert evidence == DistroEvidence(
        "debian", "stretch", "10+deb9u7", "7.4p1", 'version "7.4p1 Debian 10+deb9u7"'
    )


def test_other_distribution_does_not_fill_release() -> None:
    service = Service(
        "http", "Apache httpd", "2.4.29", "(Ubuntu)", cpes=("cpe:/o:debian:debian_linux:10",)
    )
    evidence = detect_distro(service)
    assert evidence is not None
    assert (evidence.distro, evidence.release) == ("ubuntu", "")


def test_raspbian_takes_debian_release() -> None:
    service = Service(
        "ssh", SSH, "7.9p1 Raspbian 10", PROTO, cpes=("cpe:/o:debian:debian_linux:10",)
    )
    evidence = detect_distro(service)
    assert evidence is not None
    assert (evidence.distro, evidence.release, evidence.revision) == ("raspbian", "buster", "10")


DEBIAN_RELEASE = [
    ("10+deb9u7", "stretch"),
    ("5.1+deb10u5", "buster"),
    ("1~deb11u1", "bullseye"),
    ("2+deb12u1", "bookworm"),
    ("5+deb8u8", "jessie"),
    ("4+deb7u7", "wheezy"),
    ("1+deb6u1", "squeeze"),
    ("6+nmu2+deb7u20", "wheezy"),
    ("1+deb9u1+deb10u1", "buster"),
    ("6+squeeze5", "squeeze"),
    ("1~squeeze15", "squeeze"),
    ("9etch3", "etch"),
    ("1.1+lenny1", "lenny"),
    ("8.sarge.6", "sarge"),
    ("1.woody.3", "woody"),
    ("5~bpo10+1", "buster-backports"),
    ("1~bpo11+1", "bullseye-backports"),
    ("1~bpo70+1", "wheezy-backports"),
    ("10", ""),
    ("5.1", ""),
    ("4ubuntu0.5", ""),
    ("1+deb99u1", ""),
    ("1+sketch1", ""),
    ("1+rdeb9u1", ""),
    ("", ""),
]


@pytest.mark.parametrize(("revision", "release"), DEBIAN_RELEASE)
def test_debian_release(revision: str, release: str) -> None:
    assert debian_release(revision) == release


UBUNTU_RELEASE = [
    ("0ubuntu0.16.04.5", "xenial"),
    ("0ubuntu0.14.04.1", "trusty"),
    ("0ubuntu0.20.04.2", "focal"),
    ("1ubuntu0.1~18.04.1", "bionic"),
    ("0+deb10u1build0.20.04.1", "focal"),
    ("0ubuntu0.10.04.1", "lucid"),
    ("4ubuntu0.5", ""),
    ("4ubuntu0.7", ""),
    ("4ubuntu2.10", ""),
    ("1ubuntu1.18", ""),
    ("3ubuntu7", ""),
    ("0ubuntu0.99.04.1", ""),
    ("10+deb9u7", ""),
]


@pytest.mark.parametrize(("revision", "release"), UBUNTU_RELEASE)
def test_ubuntu_release(revision: str, release: str) -> None:
    assert ubuntu_release(revision) == release


SAME_UPSTREAM = [
    ("7.4p1", "7.4p1", True),
    ("9.11.5-P4", "9.11.5.P4+dfsg", True),
    ("9.10.3-P4", "9.10.3.dfsg.P4", True),
    ("9.9.5", "9.9.5.dfsg", True),
    ("9.16.37", "9.16.37", True),
    ("4.2.6p5", "4.2.6.p5+dfsg", True),
    ("4.13.13", "4.13.13+dfsg", True),
    ("1.2.3", "1.2.3+ds1", True),
    ("1.2.3", "1.2.3~repack", True),
    ("1.2.dsa", "1.2.dsa", True),
    ("1.2", "1.2.dsa", False),
    ("9.16.22", "9.16.37", False),
    ("7.4p1", "7.4", False),
    ("7.4p1", "7.4.1", False),
    ("1.2", "1.02", False),
    ("1.0", "10", False),
    ("", "", False),
]


@pytest.mark.parametrize(("banner", "package", "same"), SAME_UPSTREAM)
def test_same_upstream(banner: str, package: str, same: bool) -> None:
    assert same_upstream(banner, package) is same


STRETCH_SSH = DistroEvidence("debian", "stretch", "10+deb9u7", "7.4p1", "x")


@pytest.mark.parametrize(
    ("epoch", "version"),
    [
        ("", "7.4p1-10+deb9u7"),
        ("0", "7.4p1-10+deb9u7"),
        (0, "7.4p1-10+deb9u7"),
        ("1", "1:7.4p1-10+deb9u7"),
        ("1:", "1:7.4p1-10+deb9u7"),
        (1, "1:7.4p1-10+deb9u7"),
    ],
)
def test_package_version(epoch: str | int, version: str) -> None:
    assert STRETCH_SSH.package_version(epoch) == version


def test_package_version_needs_a_revision_and_a_valid_epoch() -> None:
    with pytest.raises(ValueError, match="revision"):
        DistroEvidence("debian", "", "", "2.4.38").package_version("")
    with pytest.raises(ValueError, match="epoch"):
        STRETCH_SSH.package_version("x")
    with pytest.raises(ValueError, match="epoch"):
        STRETCH_SSH.package_version("-1")
    with pytest.raises(ValueError, match="epoch"):
        STRETCH_SSH.package_version("\u0661")


# Fixed versions from the Debian security tracker's DSA list; the running package is newer
# (> 0), the same (0) or older (< 0) than the fix.
AGAINST_ADVISORIES = [
    ("openssh-stretch-DSA-4280-1", STRETCH_SSH, "1:7.4p1-10+deb9u4", "1:7.4p1-10+deb9u7", 1),
    (
        "openssh-buster-DSA-4539-2",
        DistroEvidence("debian", "buster", "10+deb10u2", "7.9p1"),
        "1:7.9p1-10+deb10u1",
        "1:7.9p1-10+deb10u2",
        1,
    ),
    (
        "bind-buster-DSA-5105-1",
        DistroEvidence("debian", "buster", "5.1+deb10u5", "9.11.5-P4"),
        "1:9.11.5.P4+dfsg-5.1+deb10u7",
        "1:9.11.5.P4+dfsg-5.1+deb10u5",
        -1,
    ),
    (
        "bind-buster-DSA-4752-1",
        DistroEvidence("debian", "buster", "5.1+deb10u5", "9.11.5-P4"),
        "1:9.11.5.P4+dfsg-5.1+deb10u2",
        "1:9.11.5.P4+dfsg-5.1+deb10u5",
        1,
    ),
    (
        "bind-stretch",
        DistroEvidence("debian", "stretch", "12.3+deb9u6", "9.10.3-P4"),
        "1:9.10.3.dfsg.P4-12.3+deb9u6",
        "1:9.10.3.dfsg.P4-12.3+deb9u6",
        0,
    ),
    (
        "bind-bullseye-DSA-5329-1-new-upstream",
        DistroEvidence("debian", "bullseye", "1~deb11u1", "9.16.22"),
        "1:9.16.37-1~deb11u1",
        "1:9.16.22-1~deb11u1",
        -1,
    ),
    (
        "mariadb-buster-DLA-3114-1",
        DistroEvidence("debian", "buster", "0+deb10u1", "10.3.34"),
        "1:10.3.36-0+deb10u1",
        "1:10.3.34-0+deb10u1",
        -1,
    ),
    (
        "apache-bullseye-DSA-5376-1-tilde",
        DistroEvidence("debian", "bullseye", "1~deb11u1", "2.4.56"),
        "2.4.56-1~deb11u1",
        "2.4.56-1~deb11u1",
        0,
    ),
]


@pytest.mark.parametrize(
    ("evidence", "fixed", "running", "order"),
    [pytest.param(*case[1:], id=case[0]) for case in AGAINST_ADVISORIES],
)
def test_package_version_as(evidence: DistroEvidence, fixed: str, running: str, order: int) -> None:
    assert package_version_as(evidence, fixed) == running
    assert compare(running, fixed) == order


def test_package_version_as_refuses_what_it_cannot_compare() -> None:
    with pytest.raises(ValueError, match="Debian package versions"):
        package_version_as(
            DistroEvidence("rhel", "7", "26.P2.el7", "9.11.4"), "32:9.11.4-26.P2.el7"
        )
    with pytest.raises(ValueError, match="revision"):
        package_version_as(DistroEvidence("debian"), "2.4.38-3+deb10u9")
    with pytest.raises(DebianVersionError):
        package_version_as(STRETCH_SSH, "<unfixed>")


def test_rpm_package_version() -> None:
    evidence = detect_distro(Service("domain", "ISC BIND", "9.11.4-P2-RedHat-9.11.4-26.P2.el7"))
    assert evidence is not None
    assert not evidence.dpkg
    assert evidence.package_version("32") == "32:9.11.4-26.P2.el7"


@pytest.mark.parametrize(
    ("evidence", "label"),
    [
        (STRETCH_SSH, "Debian stretch, package revision 10+deb9u7"),
        (DistroEvidence("ubuntu"), "Ubuntu"),
        (DistroEvidence("rhel", "7"), "Red Hat Enterprise Linux 7"),
        (DistroEvidence("ubuntu", "", "4ubuntu0.5"), "Ubuntu, package revision 4ubuntu0.5"),
    ],
)
def test_label(evidence: DistroEvidence, label: str) -> None:
    assert evidence.label == label


@pytest.mark.parametrize(
    ("service", "facts"),
    [
        (Service(product="OpenSSH", version="9.2p1 Debian 2+deb12u3", ostype="Linux"),
         (("cpe:/o:debian:debian_linux:12", 'version "9.2p1 Debian 2+deb12u3"'),
          ("cpe:/o:linux:linux_kernel", 'ostype "Linux"'))),
        (Service(product="Apache httpd", version="2.4.62", extrainfo="(Debian)"),
         (("cpe:/o:debian:debian_linux", 'extrainfo "(Debian)"'),)),
        (Service(product="OpenSSH", version="8.2p1 Ubuntu 4ubuntu0.5",
                 cpes=("cpe:/o:canonical:ubuntu_linux:20.04",)),
         (("cpe:/o:canonical:ubuntu_linux:20.04",
           'version "8.2p1 Ubuntu 4ubuntu0.5"; cpe "cpe:/o:canonical:ubuntu_linux:20.04"'),)),
        (Service(product="ISC BIND", version="9.11.4-P2-RedHat-9.11.4-26.P2.el7"),
         (("cpe:/o:redhat:enterprise_linux:7",
           'version "9.11.4-P2-RedHat-9.11.4-26.P2.el7"'),)),
        (Service(product="Microsoft IIS httpd", version="10.0", ostype="Windows"),
         (("cpe:/o:microsoft:windows", 'ostype "Windows"'),)),
        # CentOS's CVEs may name RHEL: no fact that would contradict them
        (Service(product="Apache httpd", version="2.4.6", extrainfo="(CentOS)"), ()),
        (Service(product="nginx", version="1.22.1"), ()),
    ],
)  # fmt: skip
def test_platform_facts(service: Service, facts: tuple[tuple[str, str], ...]) -> None:
    assert tuple((cpe.to_uri(), origin) for cpe, origin in platform_facts(service)) == facts
