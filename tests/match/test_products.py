"""The one alias table (brulee/data/products.jsonl), every entry checked against the names NVD
really uses (tests/assets/nvd-names, see its README) and what Nmap 7.93 really emits (the
installed nmap-service-probes)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from brulee.core.cpe import Cpe, CpeError
from brulee.match.products import (
    FAMILIES,
    ProductFamily,
    nmap_product_name,
    nvd_products,
    nvd_products_for_name,
)
from tests.names import Probes, read_nvd_names, read_probes

ASSETS = Path(__file__).parents[1] / "assets"
NVD_NAMES = read_nvd_names()
"""Every application vendor:product NVD uses (70,785 pairs, 2026-08-22)."""
IN_USE: frozenset[tuple[str, str]] = frozenset(
    (vendor, product)
    for vendor, product in (
        pair.split(":", 1)
        for pair in json.loads((ASSETS / "nvd" / "vendor-products-in-use.json").read_text())[
            "pairs"
        ]
    )
)
"""vendor:product pairs the criteria of the 2,299 starter records name."""
_FIXTURE_BASIS = "the names NVD's records use for the product"


@pytest.fixture(scope="module")
def probes() -> Probes:
    return read_probes()


# -- each entry ------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_entry_names_what_nvd_uses(family: ProductFamily) -> None:
    assert family.nvd, "a family must name at least one NVD name"
    assert family.nvd <= NVD_NAMES, sorted(family.nvd - NVD_NAMES)
    assert family.basis


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_entry_names_what_nmap_emits(family: ProductFamily, probes: Probes) -> None:
    assert family.nmap_cpes or family.nmap_names
    assert family.nmap_cpes <= probes.cpes, sorted(family.nmap_cpes - probes.cpes)
    names = {name.lower() for name in family.nmap_names}
    assert names <= probes.names, sorted(names - probes.names)


def test_families_are_disjoint() -> None:
    pairs: Counter[tuple[str, str]] = Counter(p for f in FAMILIES for p in f.products)
    assert [pair for pair, count in pairs.items() if count > 1] == []
    names: Counter[str] = Counter(n.lower() for f in FAMILIES for n in f.nmap_names)
    assert [name for name, count in names.items() if count > 1] == []
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)


def test_every_name_of_a_family_maps_to_the_family() -> None:
    for family in FAMILIES:
        for pair in family.products:
            assert nvd_products(pair) == family.products
        for name in family.nmap_names:
            assert nvd_products_for_name(name) == family.products


def test_the_starter_products_have_names_in_use() -> None:
    fixture = [f for f in FAMILIES if f.basis == _FIXTURE_BASIS]
    assert len(fixture) == 20
    for family in fixture:
        assert family.products & IN_USE, family.name


def test_coverage_of_nmaps_application_cpes(probes: Probes) -> None:
    """At least 80% of the application CPEs on Nmap's match lines are looked up under a name
    NVD uses (bench/bench_coverage.py gives the exact figure)."""
    covered = sum(1 for pair in probes.uses if nvd_products(pair) & NVD_NAMES)
    assert covered / len(probes.uses) >= 0.80


# -- lookups ---------------------------------------------------------------------------------

ALIASES = [
    ("igor_sysoev:nginx", "nginx:nginx f5:nginx f5:nginx_open_source igor_sysoev:nginx"),
    (
        "mysql:mysql",
        "oracle:mysql oracle:mysql_server mysql:mysql mysql:mysql_server "
        "mysql:mysql_community_server mysql:mysql_enterprise_server",
    ),
    ("exim:exim", "exim:exim university_of_cambridge:exim"),
    ("proftpd:proftpd", "proftpd:proftpd proftpd_project:proftpd"),
    ("vsftpd:vsftpd", "vsftpd:vsftpd beasts:vsftpd vsftpd_project:vsftpd redhat:vsftpd"),
    ("openbsd:openssh", "openbsd:openssh"),
    ("allegro:rompager", "allegrosoft:rompager allegro:rompager zyxel:rompager"),
    ("mortbay:jetty", "eclipse:jetty jetty:jetty mortbay_jetty:jetty mortbay:jetty"),
    (
        "mbedthis:appweb",
        "embedthis:appweb mbedthis:appweb mbedthis:appweb_http_server "
        "mbedthis_software:mbedthis_appweb_http_server",
    ),
    ("djb:qmail", "dan_bernstein:qmail qmail_project:qmail djb:qmail"),
    (
        "sun:glassfish_server",
        "oracle:glassfish_server oracle:sun_glassfish_enterprise_server sun:glassfish_server "
        "oracle:glassfish_application_server",
    ),
    ("packetvideo:twonky", "lynxtechnology:twonky_server packetvideo:twonky"),
    ("ultravnc:ultravnc", "uvnc:ultravnc ultravnc:ultravnc"),
    ("elasticsearch:elasticsearch", "elastic:elasticsearch elasticsearch:elasticsearch"),
]


def pairs(text: str) -> set[tuple[str, str]]:
    return {(vendor, product) for vendor, product in (n.split(":") for n in text.split())}


@pytest.mark.parametrize(("name", "expected"), ALIASES)
def test_aliases(name: str, expected: str) -> None:
    assert nvd_products(name) == pairs(expected)
    assert nvd_products(f"cpe:/a:{name}:1.0") == pairs(expected)
    assert nvd_products(f"cpe:2.3:a:{name}:1.0:*:*:*:*:*:*:*") == pairs(expected)
    vendor, product = name.split(":")
    assert nvd_products((vendor, product)) == pairs(expected)
    assert nvd_products(Cpe("a", vendor, product)) == pairs(expected)


NAMES = [
    ("cPanel httpd", "cpanel:cpanel"),
    ("Boinc GUI RPC port", "berkeley:boinc_client universityofcalifornia:boinc_client"),
    ("psyBNC", "psychoid:psybnc"),
    ("Freenet FProxy", "freenetproject:freenet"),
    ("MLDonkey multi-network P2P server control port", "mldonkey:mldonkey"),
    ("distccd", "distcc:distcc"),
    ("NTP", "ntp:ntp"),
]


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_product_names_without_a_cpe(name: str, expected: str) -> None:
    assert nvd_products_for_name(name) == pairs(expected)


def test_unknown_vendor_product_stands_for_itself() -> None:
    assert nvd_products("cpe:/a:acme:widget:1.0") == {("acme", "widget")}
    assert nvd_products_for_name("Acme Widget httpd") == frozenset()


@pytest.mark.parametrize("text", ["openssh", "a:b:c", ":openssh", "cpe:/a::openssh", "cpe:/a"])
def test_nvd_products_rejects_junk(text: str) -> None:
    with pytest.raises(CpeError):
        nvd_products(text)


def test_names_are_case_insensitive() -> None:
    assert nvd_products_for_name("openssh") == nvd_products_for_name(" OpenSSH ")


def test_nmaps_usual_product_name() -> None:
    assert nmap_product_name(("openbsd", "openssh")) == "OpenSSH"
    assert nmap_product_name(("oracle", "mysql")) == "MySQL"
    assert nmap_product_name(("eclipse", "jetty")) == "Jetty"
    assert nmap_product_name(("acme", "widget")) == ""


NMAP_NAMES = [
    "OpenSSH",
    "Apache httpd",
    "nginx",
    "vsftpd",
    "ProFTPD",
    "Exim smtpd",
    "Postfix smtpd",
    "Dovecot imapd",
    "Dovecot pop3d",
    "MySQL",
    "MariaDB",
    "PostgreSQL DB",
    "ISC BIND",
    "Samba smbd",
    "Squid http proxy",
    "Apache Tomcat",
    "lighttpd",
    "Microsoft IIS httpd",
    "Redis key-value store",
    "Memcached",
    "OpenSSL",
]


@pytest.mark.parametrize("name", NMAP_NAMES)
def test_starter_products_by_nmap_name(name: str, probes: Probes) -> None:
    """Nmap's usual CPE for each starter product name maps to the same family as the name."""
    cpes = probes.first_cpe[name]
    assert cpes, f"Nmap emits no CPE for {name!r}"
    for pair in cpes:
        assert nvd_products(pair) & IN_USE, pair
    usual = cpes.most_common(1)[0][0]
    assert nvd_products_for_name(name) == nvd_products(usual)
    assert nvd_products_for_name(name) & IN_USE
