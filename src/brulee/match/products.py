"""The one alias table: what Nmap says -> the vendor:product names NVD uses."""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.cpe import ANY, NA, Cpe, CpeError, VendorProduct, parse_cpe


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
