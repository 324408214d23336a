"""What the distribution backport judges share: a finding kept as a possible backport, a finding set
aside as fixed by the distribution, and how to confirm a finding on the host itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from brulee.core.distro import DistroEvidence
from brulee.core.vulnerability import Vulnerability

_PACKAGES: dict[str, tuple[str, str]] = {
    "openssh": ("openssh-server", "openssh-server"),
    "http_server": ("apache2", "httpd"),
    "nginx": ("nginx", "nginx"),
    "bind": ("bind9", "bind"),
    "vsftpd": ("vsftpd", "vsftpd"),
    "proftpd": ("'proftpd*'", "proftpd"),
    "exim": ("'exim4*'", "exim"),
    "postfix": ("postfix", "postfix"),
    "dovecot": ("'dovecot*'", "dovecot"),
    "postgresql": ("'postgresql*'", "postgresql-server"),
    "mysql": ("'mysql-server*'", "mysql-server"),
    "mariadb": ("'mariadb-server*'", "mariadb-server"),
    "openssl": ("openssl", "openssl"),
    "lighttpd": ("lighttpd", "lighttpd"),
    "samba": ("samba", "samba"),
    "redis": ("redis-server", "redis"),
    "memcached": ("memcached", "memcached"),
    "tomcat": ("'tomcat*'", "tomcat"),
    "squid": ("'squid*'", "squid"),
}
"""NVD product -> (Debian/Ubuntu binary package, RPM package) that holds the service."""


def unverified(vuln: Vulnerability, why: str, remediation: str = "") -> Vulnerability:
    """``vuln`` kept, marked as possibly fixed by a backport no data here decides, and why."""
    return replace(
        vuln,
        confidence="unverified-backport",
        reason=f"{vuln.reason}; {why}",
        remediation=remediation or vuln.remediation,
    )


def set_aside(vuln: Vulnerability, advisory: str, reason: str) -> Vulnerability:
    """``vuln`` fixed by the distribution's package: not a finding, listed apart."""
    return replace(vuln, confidence="fixed-by-distribution", advisory=advisory, reason=reason)


def confirm_on_host(evidence: DistroEvidence, products: Iterable[tuple[str, str]]) -> str:
    """How to confirm on the host which package version it runs, as the banner cannot tell:
    ``confirm on the host with dpkg -l apache2 ...``; '' for a distribution whose package
    manager brulee does not know."""
    names = [_PACKAGES[product] for _, product in products if product in _PACKAGES]
    if evidence.dpkg:
        command = f"dpkg -l {names[0][0]}" if names else "dpkg -l (the package that provides it)"
        return f"confirm on the host with {command}, which shows the installed version"
    if evidence.rpm:
        command = f"rpm -q {names[0][1]}" if names else "rpm -qf (the program's path)"
        return (
            f"confirm on the host with {command}, and compare the version with "
            f"{evidence.distribution}'s security advisory for this CVE"
        )
    return ""
