"""CPE names: CPE 2.2 URIs and CPE 2.3 formatted strings, and the Nmap -> NVD alias table.

Both bindings parse into one :class:`Cpe` value holding the eleven attributes of a CPE 2.3
well-formed name, unescaped and lowercased (CPE compares case-insensitively; NVD writes
lowercase). The logical values are ``ANY`` (``*``; an empty URI component) and ``NA``
(``-``). Wildcards inside a value (``?``, ``*`` next to other characters) are kept as text:
NVD's match strings do not use them. A value that is exactly a quoted ``\\*`` or ``\\-`` reads
as ANY or NA; CPE's own bindings cannot keep those apart in a URI either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from urllib.parse import unquote

ANY = "*"
NA = "-"
VendorProduct = tuple[str, str]

_FS_PREFIX = "cpe:2.3:"
_URI_PREFIX = "cpe:/"
_PARTS = frozenset({"a", "o", "h", ANY})
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_URI_WILDCARDS = {"%01": "?", "%02": "*"}


class CpeError(ValueError):
    """Text that is not a CPE 2.2 URI or CPE 2.3 formatted string."""


@dataclass(frozen=True, slots=True)
class Cpe:
    """One CPE name: unescaped, lowercase values; every attribute is ``ANY`` unless given."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    @property
    def vendor_product(self) -> VendorProduct:
        return (self.vendor, self.product)

    @property
    def extended(self) -> tuple[str, str, str, str, str]:
        """The attributes a URI packs into its edition: edition, sw_edition ... other."""
        return (self.edition, self.sw_edition, self.target_sw, self.target_hw, self.other)

    def to_fs(self) -> str:
        """The CPE 2.3 formatted string (``cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*``)."""
        return _FS_PREFIX + ":".join(_bind_fs(getattr(self, f.name)) for f in fields(self))

    def to_uri(self) -> str:
        """The CPE 2.2 URI (``cpe:/a:openbsd:openssh:7.4:p1``), edition packed if needed."""
        if any(value != ANY for value in self.extended[1:]):
            edition = "~" + "~".join(_bind_uri(value) for value in self.extended)
        else:
            edition = _bind_uri(self.edition)
        head = (self.part, self.vendor, self.product, self.version, self.update)
        components = [*(_bind_uri(value) for value in head), edition, _bind_uri(self.language)]
        while components and not components[-1]:
            components.pop()
        return _URI_PREFIX + ":".join(components)

    def __str__(self) -> str:
        return self.to_fs()


@lru_cache(maxsize=65536)
def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string or a CPE 2.2 URI; raise :class:`CpeError` if neither."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith(_FS_PREFIX):
        return _parse_fs(stripped[len(_FS_PREFIX) :])
    if lowered.startswith(_URI_PREFIX):
        return _parse_uri(stripped[len(_URI_PREFIX) :])
    raise CpeError(f"not a CPE name: {text!r}")


def _parse_fs(body: str) -> Cpe:
    values = _split_fs(body)
    if len(values) != 11:
        raise CpeError(f"a CPE 2.3 name has 11 attributes, not {len(values)}: cpe:2.3:{body}")
    if not all(values):
        raise CpeError(f"empty attribute in a CPE 2.3 name: cpe:2.3:{body}")
    return _checked(Cpe(*(value.lower() for value in values)))


def _split_fs(body: str) -> list[str]:
    """Split on unquoted colons and drop the backslash quoting."""
    if "\\" not in body:
        return body.split(":")
    values: list[str] = []
    current: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            quoted = next(chars, None)
            if quoted is None:
                raise CpeError(f"dangling backslash in CPE name: cpe:2.3:{body}")
            current.append(quoted)
        elif char == ":":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _parse_uri(body: str) -> Cpe:
    components = body.split(":")
    if len(components) > 7:
        raise CpeError(f"a CPE 2.2 URI has at most 7 components: cpe:/{body}")
    values = [_unbind_uri(value) for value in components]
    values += [ANY] * (7 - len(values))
    part, vendor, product, version, update, edition, language = values
    extended = (edition, ANY, ANY, ANY, ANY)
    if components[5:6] and components[5].startswith("~"):
        packed = components[5][1:].split("~")
        if len(packed) != 5:
            raise CpeError(f"a packed edition has 5 fields: {components[5]!r}")
        extended = tuple(_unbind_uri(value) for value in packed)  # type: ignore[assignment]
    edition, sw_edition, target_sw, target_hw, other = extended
    return _checked(
        Cpe(
            part,
            vendor,
            product,
            version,
            update,
            edition,
            language,
            sw_edition,
            target_sw,
            target_hw,
            other,
        )
    )


def _unbind_uri(value: str) -> str:
    if value == "":
        return ANY
    if value == NA:
        return NA
    for code, wildcard in _URI_WILDCARDS.items():
        value = value.replace(code, wildcard)
    if "%" in _PERCENT.sub("", value):
        raise CpeError(f"bad percent-encoding in CPE component {value!r}")
    try:
        return unquote(value, errors="strict").lower()
    except UnicodeDecodeError as exc:
        raise CpeError(f"bad percent-encoding in CPE component {value!r}") from exc


def _checked(cpe: Cpe) -> Cpe:
    if cpe.part not in _PARTS:
        raise CpeError(f"CPE part must be a, o or h, not {cpe.part!r}")
    return cpe


def _bind_fs(value: str) -> str:
    if value in (ANY, NA):
        return value
    return "".join(ch if ch in _PLAIN else "\\" + ch for ch in value)


def _bind_uri(value: str) -> str:
    if value == ANY:
        return ""
    if value == NA:
        return NA
    return "".join(
        ch if ch in _PLAIN else "".join(f"%{byte:02x}" for byte in ch.encode()) for ch in value
    )


# -- The one alias table: what Nmap says -> the vendor:product names NVD uses -----------------


@dataclass(frozen=True, slots=True)
class ProductFamily:
    """One product as Nmap and NVD name it.

    ``nvd`` holds every vendor:product NVD's data uses for the product (old and new owners
    alike); ``nmap_cpes`` the vendor:product of the CPEs Nmap 7.93's ``nmap-service-probes``
    emits; ``nmap_names`` Nmap's product names (lowercase).
    """

    name: str
    nvd: frozenset[VendorProduct]
    nmap_cpes: frozenset[VendorProduct]
    nmap_names: frozenset[str]

    @property
    def products(self) -> frozenset[VendorProduct]:
        """Every vendor:product to look up for this product."""
        return self.nvd | self.nmap_cpes


def _family(name: str, nvd: str, nmap_cpes: str, nmap_names: tuple[str, ...]) -> ProductFamily:
    def pairs(text: str) -> frozenset[VendorProduct]:
        return frozenset((v, p) for v, p in (item.split(":") for item in text.split()))

    return ProductFamily(
        name, pairs(nvd), pairs(nmap_cpes), frozenset(n.lower() for n in nmap_names)
    )


FAMILIES: tuple[ProductFamily, ...] = (
    _family("openssh", "openbsd:openssh", "openbsd:openssh", ("OpenSSH",)),
    _family(
        "apache_httpd",
        "apache:http_server apache:apache_http_server",
        "apache:http_server",
        ("Apache httpd",),
    ),
    _family(
        "nginx",
        "nginx:nginx f5:nginx f5:nginx_open_source igor_sysoev:nginx",
        "igor_sysoev:nginx",
        ("nginx",),
    ),
    _family(
        "vsftpd",
        "beasts:vsftpd vsftpd_project:vsftpd redhat:vsftpd",
        "vsftpd:vsftpd",
        ("vsftpd",),
    ),
    _family("proftpd", "proftpd:proftpd proftpd_project:proftpd", "proftpd:proftpd", ("ProFTPD",)),
    _family("exim", "exim:exim university_of_cambridge:exim", "exim:exim", ("Exim smtpd",)),
    _family(
        "postfix", "postfix:postfix wietse_venema:postfix", "postfix:postfix", ("Postfix smtpd",)
    ),
    _family(
        "dovecot",
        "dovecot:dovecot timo_sirainen:dovecot",
        "dovecot:dovecot",
        ("Dovecot imapd", "Dovecot pop3d", "Dovecot lmtpd"),
    ),
    _family(
        "mysql",
        "oracle:mysql oracle:mysql_server mysql:mysql mysql:mysql_server "
        "mysql:mysql_community_server mysql:mysql_enterprise_server",
        "mysql:mysql",
        ("MySQL",),
    ),
    _family("mariadb", "mariadb:mariadb", "mariadb:mariadb", ("MariaDB",)),
    _family("postgresql", "postgresql:postgresql", "postgresql:postgresql", ("PostgreSQL DB",)),
    _family("bind", "isc:bind", "isc:bind", ("ISC BIND",)),
    _family("samba", "samba:samba samba:samba_server sgi:samba", "samba:samba", ("Samba smbd",)),
    _family("squid", "squid-cache:squid squid:squid", "squid-cache:squid", ("Squid http proxy",)),
    _family(
        "tomcat", "apache:tomcat apache_tomcat:apache_tomcat", "apache:tomcat", ("Apache Tomcat",)
    ),
    _family("lighttpd", "lighttpd:lighttpd", "lighttpd:lighttpd", ("lighttpd",)),
    _family(
        "iis",
        "microsoft:internet_information_services microsoft:iis",
        "microsoft:internet_information_services",
        ("Microsoft IIS httpd", "Microsoft IIS ftpd"),
    ),
    _family("redis", "redis:redis redislabs:redis", "redislabs:redis", ("Redis key-value store",)),
    _family(
        "memcached",
        "memcached:memcached memcachedb:memcached",
        "memcached:memcached",
        ("Memcached",),
    ),
    _family(
        "openssl", "openssl:openssl redhat:openssl hpe:openssl", "openssl:openssl", ("OpenSSL",)
    ),
)

_BY_PAIR: dict[VendorProduct, frozenset[VendorProduct]] = {
    pair: family.products for family in FAMILIES for pair in family.products
}
_BY_NAME: dict[str, frozenset[VendorProduct]] = {
    name: family.products for family in FAMILIES for name in family.nmap_names
}


def nvd_products(cpe_or_vendor_product: str | Cpe | VendorProduct) -> frozenset[VendorProduct]:
    """The NVD vendor:product names to match for a CPE (2.2 or 2.3), ``vendor:product`` or pair.

    A name outside the alias table stands for itself (NVD may well use Nmap's name). Raise
    :class:`CpeError` for text that is neither a CPE nor ``vendor:product``.
    """
    pair = _vendor_product(cpe_or_vendor_product)
    return _BY_PAIR.get(pair, frozenset({pair}))


def nvd_products_for_name(nmap_product: str) -> frozenset[VendorProduct]:
    """The NVD vendor:product names for Nmap's product name (``OpenSSH``); empty if unknown."""
    return _BY_NAME.get(nmap_product.strip().lower(), frozenset())


def _vendor_product(value: str | Cpe | VendorProduct) -> VendorProduct:
    if isinstance(value, Cpe):
        cpe = value
    elif isinstance(value, tuple):
        return (value[0].lower(), value[1].lower())
    elif value.lower().startswith("cpe:"):
        cpe = parse_cpe(value)
    else:
        vendor, sep, product = value.strip().lower().partition(":")
        if not sep or not vendor or not product or ":" in product:
            raise CpeError(f"expected a CPE or vendor:product, not {value!r}")
        return (vendor, product)
    if ANY in cpe.vendor_product or NA in cpe.vendor_product:
        raise CpeError(f"a CPE without vendor and product names nothing: {value!r}")
    return cpe.vendor_product
