"""CPE parsing and binding (the alias table's tests are in tests/match/test_products.py)."""

from __future__ import annotations

import pytest

from brulee.core.cpe import ANY, NA, Cpe, CpeError, parse_cpe

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
