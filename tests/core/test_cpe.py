"""CPE parsing and binding, and the Nmap -> NVD alias table against what Nmap really emits."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from brulee.core.cpe import ANY, NA, Cpe, CpeError, parse_cpe
from brulee.match.products import FAMILIES, nvd_products, nvd_products_for_name

ASSETS = Path(__file__).parents[1] / "assets"
PROBES = Path("/usr/share/nmap/nmap-service-probes")
IN_USE: frozenset[tuple[str, str]] = frozenset(
    (vendor, product)
    for vendor, product in (
        pair.split(":", 1)
        for pair in json.loads((ASSETS / "nvd" / "vendor-products-in-use.json").read_text())[
            "pairs"
        ]
    )
)
"""vendor:product pairs the criteria of the 2,299 fixture records name (copied from the data)."""

PARSED = [
    (
        "cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*",
        Cpe("a", "openbsd", "openssh", "7.4", "p1"),
    ),
    ("cpe:2.3:a:openbsd:openssh:9.9:-:*:*:*:*:*:*", Cpe("a", "openbsd", "openssh", "9.9", NA)),
    (
        "cpe:2.3:o:canonical:ubuntu_linux:22.04:*:*:*:lts:*:*:*",
        Cpe("o", "canonical", "ubuntu_linux", "22.04", sw_edition="lts"),
    ),
    (
        "cpe:2.3:a:netapp:ontap_tools:9:*:*:*:*:vmware_vsphere:*:*",
        Cpe("a", "netapp", "ontap_tools", "9", target_sw="vmware_vsphere"),
    ),
    ("cpe:2.3:o:cisco:ios:12.1\\(11b\\)e:*:*:*:*:*:*:*", Cpe("o", "cisco", "ios", "12.1(11b)e")),
    ("cpe:2.3:a:tcl:tcl\\/tk:*:*:*:*:*:*:*:*", Cpe("a", "tcl", "tcl/tk")),
    ("cpe:2.3:h:netapp:cn1610:-:*:*:*:*:*:*:*", Cpe("h", "netapp", "cn1610", NA)),
    ("CPE:2.3:A:OpenBSD:OpenSSH:7.4:P1:*:*:*:*:*:*", Cpe("a", "openbsd", "openssh", "7.4", "p1")),
    ("cpe:/a:openbsd:openssh:7.4p1", Cpe("a", "openbsd", "openssh", "7.4p1")),
    ("cpe:/a:openbsd:openssh", Cpe("a", "openbsd", "openssh")),
    ("cpe:/o:linux:linux_kernel", Cpe("o", "linux", "linux_kernel")),
    ("cpe:/a:postgresql:postgresql::::fr", Cpe("a", "postgresql", "postgresql", language="fr")),
    ("cpe:/a:kx_systems:kdb%2b", Cpe("a", "kx_systems", "kdb+")),
    (
        "cpe:/a:pcman%27s_ftp_server_project:pcman%27s_ftp_server:2.0.7",
        Cpe("a", "pcman's_ftp_server_project", "pcman's_ftp_server", "2.0.7"),
    ),
    (
        "cpe:/h:barracudanetworks:spam_%26_virus_firewall_600:-",
        Cpe("h", "barracudanetworks", "spam_&_virus_firewall_600", NA),
    ),
    (
        "cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~",
        Cpe("o", "canonical", "ubuntu_linux", "22.04", sw_edition="lts"),
    ),
    ("cpe:/a:isc:bind:9.11.5:p4", Cpe("a", "isc", "bind", "9.11.5", "p4")),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse(text: str, expected: Cpe) -> None:
    assert parse_cpe(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*",
        "cpe:2.3:o:cisco:ios:12.1\\(11b\\)e:*:*:*:*:*:*:*",
        "cpe:2.3:o:cisco:pix_firewall_software:6.0\\(4.101\\):*:*:*:*:*:*:*",
        "cpe:2.3:h:cisco:firewall_services_module:1.1_\\(3.005\\):*:*:*:*:*:*:*",
        "cpe:2.3:a:oracle:mysql_connector\\/j:5.1.8:*:*:*:*:*:*:*",
        "cpe:2.3:o:siemens:simatic_s7-1500_cpu_1518-4_pn\\/dp_mfp_firmware:*:*:*:*:*:*:*:*",
        "cpe:2.3:a:isc:bind:9.11.5:s3:*:*:supported_preview:*:*:*",
        "cpe:2.3:a:apache:http_server:1.3.0:*:win32:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:0.9.8zh\\+:*:*:*:*:*:*:*",
    ],
)
def test_formatted_string_round_trip(text: str) -> None:
    cpe = parse_cpe(text)
    assert cpe.to_fs() == text
    assert str(cpe) == text
    assert parse_cpe(cpe.to_uri()) == cpe


@pytest.mark.parametrize(
    "text",
    [
        "cpe:/a:openbsd:openssh:7.4p1",
        "cpe:/a:gauffin_telecom:c%23_webserver",
        "cpe:/a:ibm:tivoli_netcool%2fimpact",
        "cpe:/a:nevigo:articy%3adraft",
        "cpe:/a:nsclient:nsclient%2b%2b",
        "cpe:/a:mysql:mysql::::de",
        "cpe:/o:canonical:ubuntu_linux:22.04::~~lts~~~",
        "cpe:/h:axis:200%2b",
        "cpe:/a:openbsd:openssh:9.9:-",
    ],
)
def test_uri_round_trip(text: str) -> None:
    cpe = parse_cpe(text)
    assert cpe.to_uri() == text
    assert parse_cpe(cpe.to_fs()) == cpe


@pytest.mark.parametrize(
    "text",
    [
        "",
        "openbsd:openssh",
        "cpe:2.3:a:openbsd:openssh:7.4",
        "cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*:extra",
        "cpe:2.3:a:openbsd::7.4:p1:*:*:*:*:*:*",
        "cpe:2.3:x:openbsd:openssh:7.4:p1:*:*:*:*:*:*",
        "cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*\\",
        "cpe:/a:openbsd:openssh:7.4:p1:ed:en:too_many",
        "cpe:/a:openbsd:open%zzssh",
        "cpe:/a:openbsd:open%ffssh",
        "cpe:/o:canonical:ubuntu_linux:22.04::~lts~",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(CpeError):
        parse_cpe(text)


def test_logical_values() -> None:
    cpe = parse_cpe("cpe:/a:openbsd:openssh::-")
    assert (cpe.version, cpe.update, cpe.edition) == (ANY, NA, ANY)
    assert cpe.to_fs() == "cpe:2.3:a:openbsd:openssh:*:-:*:*:*:*:*:*"


# -- the alias table -------------------------------------------------------------------------

ALIASES = [
    (
        "igor_sysoev:nginx",
        {
            ("nginx", "nginx"),
            ("f5", "nginx"),
            ("f5", "nginx_open_source"),
            ("igor_sysoev", "nginx"),
        },
    ),
    (
        "mysql:mysql",
        {
            ("oracle", "mysql"),
            ("oracle", "mysql_server"),
            ("mysql", "mysql"),
            ("mysql", "mysql_server"),
            ("mysql", "mysql_community_server"),
            ("mysql", "mysql_enterprise_server"),
        },
    ),
    ("exim:exim", {("exim", "exim"), ("university_of_cambridge", "exim")}),
    ("proftpd:proftpd", {("proftpd", "proftpd"), ("proftpd_project", "proftpd")}),
    (
        "vsftpd:vsftpd",
        {
            ("vsftpd", "vsftpd"),
            ("beasts", "vsftpd"),
            ("vsftpd_project", "vsftpd"),
            ("redhat", "vsftpd"),
        },
    ),
    ("openbsd:openssh", {("openbsd", "openssh")}),
]


@pytest.mark.parametrize(("name", "expected"), ALIASES)
def test_aliases(name: str, expected: set[tuple[str, str]]) -> None:
    assert nvd_products(name) == expected
    assert nvd_products(f"cpe:/a:{name}:1.0") == expected
    assert nvd_products(f"cpe:2.3:a:{name}:1.0:*:*:*:*:*:*:*") == expected
    vendor, product = name.split(":")
    assert nvd_products((vendor, product)) == expected
    assert nvd_products(Cpe("a", vendor, product)) == expected


def test_every_name_of_a_family_maps_to_the_family() -> None:
    for family in FAMILIES:
        for pair in family.products:
            assert nvd_products(pair) == family.products


def test_families_are_disjoint() -> None:
    seen: Counter[tuple[str, str]] = Counter(p for f in FAMILIES for p in f.products)
    assert [pair for pair, count in seen.items() if count > 1] == []


def test_unknown_vendor_product_stands_for_itself() -> None:
    assert nvd_products("cpe:/a:acme:widget:1.0") == {("acme", "widget")}
    assert nvd_products_for_name("Acme Widget httpd") == frozenset()


@pytest.mark.parametrize("text", ["openssh", "a:b:c", ":openssh", "cpe:/a::openssh", "cpe:/a"])
def test_nvd_products_rejects_junk(text: str) -> None:
    with pytest.raises(CpeError):
        nvd_products(text)


def test_names_are_case_insensitive() -> None:
    assert nvd_products_for_name("openssh") == nvd_products_for_name(" OpenSSH ")


def test_every_family_has_pairs_in_use() -> None:
    for family in FAMILIES:
        assert family.products & IN_USE, family.name


# -- against what Nmap 7.93 really emits -----------------------------------------------------

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
_PRODUCT = re.compile(r"\sp([/|=%@#])(.*?)\1")
_CPE = re.compile(r"\scpe:/([^/\s]*)/")


@pytest.fixture(scope="module")
def emitted() -> dict[str, Counter[tuple[str, str]]]:
    """Nmap product name -> vendor:product of the first application CPE on its match lines."""
    if not PROBES.is_file():
        pytest.skip(f"{PROBES} is absent (install nmap)")
    found: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for line in PROBES.read_text(encoding="latin-1").splitlines():
        if not line.startswith(("match ", "softmatch ")):
            continue
        product = _PRODUCT.search(line)
        cpes = [c for c in _CPE.findall(line) if c.startswith("a:")]
        if product and cpes:
            vendor, name = cpes[0].split(":")[1:3]
            found[product.group(2)][(vendor, name)] += 1
    return found


@pytest.mark.parametrize("name", NMAP_NAMES)
def test_nmap_cpes_map_to_pairs_in_use(
    name: str, emitted: dict[str, Counter[tuple[str, str]]]
) -> None:
    cpes = emitted[name]
    assert cpes, f"Nmap emits no CPE for {name!r}"
    for pair in cpes:
        assert nvd_products(pair) & IN_USE, pair
    usual = cpes.most_common(1)[0][0]
    assert nvd_products_for_name(name) == nvd_products(usual)
    assert nvd_products_for_name(name) & IN_USE


def test_table_names_nmap_really_uses(emitted: dict[str, Counter[tuple[str, str]]]) -> None:
    pairs = {pair for counter in emitted.values() for pair in counter}
    for family in FAMILIES:
        assert family.nmap_cpes <= pairs, family.name
        assert all(name in {n.lower() for n in emitted} for name in family.nmap_names)
