"""Suppressions as values: one entry (a CVE set aside with a reason, optionally narrowed to
some services and locations), and what applying a set of them did to a report."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from datetime import date

from brulee.core.cpe import ANY, NA, CpeError, VendorProduct, parse_cpe
from brulee.core.findings import Location, ServiceGroup
from brulee.core.scan import Service
from brulee.core.vulnerability import VexStatus, Vulnerability

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Software:
    """Software named by a CPE (an OpenVEX product): its vendor:product names, aliases included,
    and optionally an exact version (CPE version and update: ``7.4`` ``p1`` is ``7.4p1``)."""

    cpe: str
    """As written, for messages."""
    names: frozenset[VendorProduct]
    version: str | None = None

    def matches(self, service: Service, names: frozenset[VendorProduct]) -> bool:
        """Whether ``service``, whose vendor:product names are ``names``, is this software."""
        if not self.names & names:
            return False
        return self.version is None or self.version.casefold() in service_versions(service)


def cpe_version(text: str) -> str | None:
    """The version a CPE names, its update appended (``cpe:2.3:a:openbsd:openssh:7.4:p1`` gives
    ``7.4p1``); None for any version (or a name that is not a CPE)."""
    try:
        cpe = parse_cpe(text)
    except CpeError:
        return None
    if cpe.version in (ANY, NA):
        return None
    return cpe.version + ("" if cpe.update in (ANY, NA) else cpe.update)


def service_versions(service: Service) -> frozenset[str]:
    """The versions a service shows (lower case): its application CPEs' and the first word of
    Nmap's version (``7.4p1`` of ``7.4p1 Debian 10+deb9u7``)."""
    applications = (c for c in service.cpes if c.lower().startswith(("cpe:/a:", "cpe:2.3:a:")))
    found = [cpe_version(c) for c in applications] + service.version.split()[:1]
    return frozenset(v.casefold() for v in found if v)


@dataclass(frozen=True, slots=True)
class VexClaim:
    """What the OpenVEX statement an entry comes from said."""

    status: VexStatus
    justification: str | None = None
    """``vulnerable_code_not_present``... (``not_affected`` only)."""
    statement: str = ""
    """Its impact or action statement and status notes."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """One entry. Build with :func:`brulee.history.suppressions.load.parse_suppression`
    (validated) unless the values are known good."""

    cve: str
    """Upper case (``CVE-2021-44228``)."""
    reason: str
    author: str
    product: str | None = None
    version: str | None = None
    """Exact, or a prefix when it ends in ``*``."""
    host: str | None = None
    """A normalised IP address, or a lower-case hostname without the trailing dot."""
    port: int | None = None
    protocol: str | None = None
    """Only with ``port``."""
    cidr: Network | None = None
    expires: date | None = None
    """The last day (UTC) the entry applies."""
    origin: str = ""
    """Where it came from, for messages: ``suppressions.yaml:12``, or a history store id."""
    software: Software | None = None
    """An OpenVEX product's CPE: only services that are this software."""
    vex: VexClaim | None = None
    """Set when the entry is an OpenVEX statement (``--vex``)."""

    @property
    def scoped(self) -> bool:
        """Narrowed to some locations (host, port or CIDR): matched location by location."""
        return self.host is not None or self.port is not None or self.cidr is not None

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires

    def matches_service(
        self, group: ServiceGroup, names: frozenset[VendorProduct] = frozenset()
    ) -> bool:
        """Product, version and software (the CVE is matched by the caller); ``names`` are the
        service's vendor:product names, for ``software``."""
        service = group.service
        if self.software is not None and not self.software.matches(service, names):
            return False
        if self.product is not None and service.product.casefold() != self.product.casefold():
            return False
        if self.version is None:
            return True
        version = service.version.casefold()
        wanted = self.version.casefold()
        if wanted.endswith("*"):
            return version.startswith(wanted[:-1])
        return version == wanted

    def matches_location(self, location: Location) -> bool:
        if self.port is not None and (
            location.port != self.port
            or (self.protocol is not None and location.protocol != self.protocol)
        ):
            return False
        if self.host is not None and not _same_host(self.host, location):
            return False
        if self.cidr is not None:
            address = ip_address_of(location.address)
            return address is not None and address in self.cidr
        return True

    @property
    def scope(self) -> tuple[str, ...]:
        """What narrows it: ``product log4j``, ``host 10.0.0.5``, ``port 22/tcp``..."""
        return tuple(
            f"{name} {value}"
            for name, value in (
                ("cpe", self.software.cpe if self.software else None),
                ("product", self.product),
                ("version", self.version),
                ("host", self.host),
                ("port", f"{self.port}/{self.protocol}" if self.protocol else self.port),
                ("cidr", self.cidr),
            )
            if value is not None
        )

    def describe(self) -> str:
        """``CVE-2021-44228 (product log4j, host 10.0.0.5, until 2026-01-31)`` for messages."""
        scope = [*self.scope, *([f"until {self.expires}"] if self.expires else [])]
        return f"{self.cve} ({', '.join(scope)})" if scope else self.cve


@functools.lru_cache(maxsize=1 << 16)
def ip_address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address ``text`` spells, or None when it is not one (a hostname); cached, as a
    location is matched against several entries."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _same_host(host: str, location: Location) -> bool:
    if location.hostname and location.hostname.rstrip(".").lower() == host:
        return True
    address = ip_address_of(location.address)
    return address is not None and str(address) == host


@dataclass(frozen=True, slots=True)
class SuppressedAt:
    """One location where a partially suppressed vulnerability is suppressed, and by which entry."""

    location: Location
    entry: Suppression


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A vulnerability of one service that entries cover.

    ``complete``: every location of the service is covered (by an entry without a location
    scope, or by scoped entries that together match them all); the vulnerability is removed from
    the service and belongs in the appendix only. Otherwise it stays in the service's findings and
    ``locations`` lists where it is suppressed (address then port order), each with the entry
    credited (the first in file order that matches there)."""

    vulnerability: Vulnerability
    entries: tuple[Suppression, ...]
    """Every entry that covers it somewhere, in file order."""
    complete: bool
    locations: tuple[SuppressedAt, ...] = ()
    """Partial suppressions only (empty when ``complete``)."""
    location_count: int = 0
    """The service's locations, as counted while matching (0 when no entry is scoped)."""


@dataclass(frozen=True, slots=True)
class ServiceSuppressions:
    """What was suppressed on one service; ``group`` is the service as found, unsuppressed."""

    group: ServiceGroup
    suppressed: tuple[Suppressed, ...]
    """In the service's vulnerability order."""

    @property
    def complete(self) -> tuple[Suppressed, ...]:
        return tuple(s for s in self.suppressed if s.complete)

    @property
    def partial(self) -> tuple[Suppressed, ...]:
        return tuple(s for s in self.suppressed if not s.complete)


@dataclass(frozen=True, slots=True)
class Applied:
    """The result of ``Suppressions.apply``.

    ``groups`` is what the main sections show: each service without its completely suppressed
    vulnerabilities (a service left with none reads ``clean``), re-sorted most urgent first; keys
    are unchanged, so locations stream as before. ``suppressed`` feeds the appendix, in the same
    order. ``expired`` entries no longer apply; ``stale`` ones apply but matched nothing."""

    groups: tuple[ServiceGroup, ...]
    suppressed: tuple[ServiceSuppressions, ...]
    expired: tuple[Suppression, ...]
    stale: tuple[Suppression, ...]

    def for_group(self, key: str) -> ServiceSuppressions | None:
        return next((s for s in self.suppressed if s.group.key == key), None)

    @property
    def count(self) -> int:
        """Vulnerabilities removed from services (completely suppressed ones)."""
        return sum(len(s.complete) for s in self.suppressed)
