"""The distribution that packaged a service, as recognised from what Nmap reported
(:func:`brulee.match.distro.detect_distro` finds it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DPKG_DISTROS = frozenset({"debian", "ubuntu", "raspbian"})
"""Distributions whose package versions order as Debian versions."""
RPM_DISTROS = frozenset({"rhel", "centos", "alma", "rocky", "fedora", "suse"})
"""Distributions packaged as RPMs."""

DISTRO_NAMES = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "raspbian": "Raspbian",
    "rhel": "Red Hat Enterprise Linux",
    "centos": "CentOS",
    "alma": "AlmaLinux",
    "rocky": "Rocky Linux",
    "fedora": "Fedora",
    "suse": "SUSE",
    "alpine": "Alpine Linux",
    "freebsd": "FreeBSD",
    "gentoo": "Gentoo",
}


@dataclass(frozen=True, slots=True)
class DistroEvidence:
    """A distribution recognised for a service, and how it was recognised.

    ``distro``: ``debian``, ``ubuntu``, ``raspbian``, ``rhel``, ``centos``, ``alma``, ``rocky``,
    ``fedora``, ``suse``, ``alpine``, ``freebsd`` or ``gentoo``. ``release``: Debian/Raspbian/
    Ubuntu code name (``stretch``, ``bullseye-backports``, ``focal``) or Red Hat/Fedora/FreeBSD
    number, "" when not derivable. ``revision``: the package revision exactly as the banner gives it
    (``10+deb9u7``, ``4ubuntu0.5``, ``26.P2.el7``), "" when only a marker was seen.
    ``upstream``: the upstream version the revision belongs to, as the banner writes it
    (``7.4p1``, ``9.11.5-P4``). ``evidence``: the reported text that shows it.
    """

    distro: str
    release: str = ""
    revision: str = ""
    upstream: str = ""
    evidence: str = ""

    @property
    def dpkg(self) -> bool:
        """Whether package versions of this distribution order by dpkg's rules."""
        return self.distro in DPKG_DISTROS

    @property
    def rpm(self) -> bool:
        """Whether this distribution's packages are RPMs."""
        return self.distro in RPM_DISTROS

    @property
    def distribution(self) -> str:
        """The distribution and its release, if known: ``Debian stretch``, ``CentOS 7``."""
        name = DISTRO_NAMES.get(self.distro, self.distro)
        return f"{name} {self.release}" if self.release else name

    @property
    def label(self) -> str:
        """Human summary: ``Debian stretch, package revision 10+deb9u7``."""
        text = self.distribution
        return f"{text}, package revision {self.revision}" if self.revision else text

    def package_version(self, epoch: str | int = "", upstream: str = "") -> str:
        """The running package's version: ``[epoch:]upstream-revision`` (``1:7.4p1-10+deb9u7``).

        ``epoch`` is not in banners: take it from the distribution's data (``""`` or 0 for
        none); ``upstream`` replaces the banner's spelling of the upstream version when given.
        Raises ValueError when the banner gave no revision or the epoch is not a number.
        """
        upstream = upstream or self.upstream
        if not self.revision or not upstream:
            raise ValueError(f"no package revision known for {self.label}")
        epoch_text = str(epoch).removesuffix(":")
        if epoch_text and not re.fullmatch(r"[0-9]+", epoch_text):
            raise ValueError(f"invalid epoch: {epoch!r}")
        prefix = f"{epoch_text}:" if epoch_text and int(epoch_text) else ""
        return f"{prefix}{upstream}-{self.revision}"
