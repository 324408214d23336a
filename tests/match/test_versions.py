"""Version ordering and the normalisation of Nmap's version strings."""

from __future__ import annotations

import pytest

from brulee.match.versions import (
    NmapVersion,
    VersionError,
    is_numeric,
    is_prerelease,
    letter_base,
    parse_nmap_version,
    parse_version,
)

ASCENDING = [
    ("2.4.9", "2.4.29"),
    ("8.0.9", "8.0.13"),
    ("1.0rc1", "1.0"),
    ("1.0-beta2", "1.0"),
    ("1.0beta2", "1.0rc1"),
    ("1.0alpha", "1.0beta"),
    ("1.0-pre7", "1.0rc1"),
    ("1.0.0.M3", "1.0.0"),
    ("9.7.2b1", "9.7.2"),
    ("9.12.0rc1", "9.12.0"),
    ("1.0rc1", "1.0rc2"),
    ("1.0", "1.0.1"),
    ("7.4", "7.4p1"),
    ("7.4p1", "7.4p2"),
    ("7.4p2", "7.5"),
    ("7.9p1", "7.10"),
    ("9.3p1", "9.3p2"),
    ("1.0.2", "1.0.2a"),
    ("1.0.2a", "1.0.2k"),
    ("1.0.2k", "1.0.2m"),
    ("1.0.2k", "1.1.0"),
    ("1.1.1k", "1.1.1l"),
    ("0.9.8z", "0.9.8za"),
    ("0.9.8za", "0.9.8zb"),
    ("1.3.3c", "1.3.3d"),
    ("1.3.5", "1.3.5b"),
    ("1.3.5b", "1.3.5e"),
    ("1.3.5b", "1.3.5.1"),
    ("1.3.5e", "1.3.6"),
    ("9.11.5", "9.11.5-P4"),
    ("9.11.5-P4", "9.11.6"),
    ("4.9", "4.x"),
    ("4.99.1", "4.x"),
    ("4.x", "5"),
    ("2.4_stable_2", "2.5.stable1"),
]

EQUAL = [
    ("1.0", "1.0.0"),
    ("1.0rc1", "1.0.0rc1"),
    ("9.11.5-P4", "9.11.5p4"),
    ("9.11.5-P4", "9.11.5.p4"),
    ("v1.2", "1.2"),
    ("1.0.2K", "1.0.2k"),
    ("10", "10.0.0"),
]


@pytest.mark.parametrize(("lower", "higher"), ASCENDING)
def test_ordering(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(higher) > parse_version(lower)
    assert parse_version(lower) != parse_version(higher)


@pytest.mark.parametrize(("left", "right"), EQUAL)
def test_equal_versions(left: str, right: str) -> None:
    assert parse_version(left) == parse_version(right)
    assert hash(parse_version(left)) == hash(parse_version(right))


@pytest.mark.parametrize(
    "ordered",
    [
        ["7.4", "7.4p1", "7.4p2", "7.5rc1", "7.5", "7.5p1", "7.10", "7.10p1"],
        ["1.0.2-beta1", "1.0.2", "1.0.2a", "1.0.2k", "1.0.2za", "1.1.0", "1.1.1k"],
        ["9.11.5rc1", "9.11.5", "9.11.5-P1", "9.11.5-P4", "9.11.6", "9.12.0b1", "9.12.0"],
    ],
)
def test_sorting_mixed_styles(ordered: list[str]) -> None:
    scrambled = ordered[1::2] + ordered[::2]
    assert sorted(scrambled, key=parse_version) == ordered


def test_version_keeps_text() -> None:
    assert str(parse_version("7.4p1")) == "7.4p1"


@pytest.mark.parametrize("text", ["", "-", "*", "beta", "MariaDB"])
def test_text_without_digits_is_no_version(text: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text)


@pytest.mark.parametrize(
    ("text", "numeric", "prerelease"),
    [
        ("9.3", True, False),
        ("9.3p2", False, False),
        ("1.3.5b", False, False),
        ("rc1", False, True),
        ("beta", False, True),
        ("b1", False, True),
        ("b", False, False),
        ("p1", False, False),
        ("", True, False),
    ],
)
def test_classification(text: str, numeric: bool, prerelease: bool) -> None:
    assert is_numeric(text) is numeric
    assert is_prerelease(text) is prerelease


NMAP = [
    # product, Nmap's version -> (version, update, suffix)
    ("OpenSSH", "7.4p1", ("7.4", "p1", "")),
    ("OpenSSH", "7.4p1 Debian 10+deb9u7", ("7.4", "p1", "Debian 10+deb9u7")),
    ("OpenSSH", "8.2p1 Ubuntu 4ubuntu0.5", ("8.2", "p1", "Ubuntu 4ubuntu0.5")),
    ("OpenSSH", "9.9", ("9.9", "", "")),
    ("OpenSSH", "6.6.1p1", ("6.6.1", "p1", "")),
    ("OpenSSH", "7.4p1+CAN-2004-0175", ("7.4", "p1", "CAN-2004-0175")),
    ("ISC BIND", "9.11.5-P4", ("9.11.5", "p4", "")),
    ("ISC BIND", "9.11.5-P4-5.1+deb10u5", ("9.11.5", "p4", "5.1+deb10u5")),
    ("ISC BIND", "9.9.4-RedHat-9.9.4-61.el7", ("9.9.4", "", "RedHat-9.9.4-61.el7")),
    ("ISC BIND", "9.16.1-Ubuntu", ("9.16.1", "", "Ubuntu")),
    ("ISC BIND", "9.9.3-S1", ("9.9.3", "s1", "")),
    ("ISC BIND", "9.12.0rc1", ("9.12.0", "rc1", "")),
    ("ProFTPD", "1.3.5b", ("1.3.5", "b", "")),
    ("ProFTPD", "1.3.3c", ("1.3.3", "c", "")),
    ("ProFTPD", "1.3.6rc2", ("1.3.6", "rc2", "")),
    ("ProFTPD", "1.3.5", ("1.3.5", "", "")),
    ("OpenSSL", "1.0.2k", ("1.0.2k", "", "")),
    ("OpenSSL", "1.1.1k", ("1.1.1k", "", "")),
    ("OpenSSL", "1.0.2k-fips", ("1.0.2k", "", "fips")),
    ("OpenSSL", "1.0.0-beta2", ("1.0.0", "beta2", "")),
    ("Apache httpd", "2.4.29", ("2.4.29", "", "")),
    ("Apache httpd", "2.4.9", ("2.4.9", "", "")),
    ("MySQL", "8.0.13", ("8.0.13", "", "")),
    ("MySQL", "5.7.33-0ubuntu0.18.04.1", ("5.7.33", "", "0ubuntu0.18.04.1")),
    ("MySQL", "5.5.5-10.1.26-MariaDB", ("10.1.26", "", "")),
    ("MySQL", "5.5.5-10.3.27-MariaDB-0+deb10u1", ("10.3.27", "", "0+deb10u1")),
    ("MariaDB", "10.3.27-MariaDB-0+deb10u1", ("10.3.27", "", "0+deb10u1")),
    ("vsftpd", "2.3.4", ("2.3.4", "", "")),
    ("Apache Tomcat", "9.0.0.M3", ("9.0.0", "m3", "")),
    ("Samba smbd", "3.0.21a", ("3.0.21a", "", "")),
    ("nginx", "1.0rc1", ("1.0", "rc1", "")),
    ("nginx", "v1.2", ("1.2", "", "")),
]


@pytest.mark.parametrize(("product", "raw", "expected"), NMAP)
def test_parse_nmap_version(product: str, raw: str, expected: tuple[str, str, str]) -> None:
    parsed = parse_nmap_version(product, raw)
    assert (parsed.version, parsed.update, parsed.suffix) == expected
    assert parsed.raw == raw
    assert parsed.known and not parsed.is_range


RANGES = [
    ("9.6.0 - 9.6.4", "9.6.0", "9.6.4"),
    ("1.00-pre7 - 1.14.0", "1.00-pre7", "1.14.0"),
    ("4.2.2 - 4.49RC1", "4.2.2", "4.49rc1"),
    ("9.4.13 - 9.4.15 or 9.4.22 - 9.4.26", "9.4.13", "9.4.26"),
    ("8.1.2 or 8.1.10 - 8.1.23", "8.1.2", "8.1.23"),
    ("9.3.18 - 9.3.20 or 9.5.4", "9.3.18", "9.5.4"),
    ("3.X - 4.X", "3", "4.x"),
    ("5.X", "5", "5.x"),
    ("1.3.1 or later", "1.3.1", ""),
    ("0.8.0 or newer", "0.8.0", ""),
    ("2.0 or earlier", "", "2.0"),
]


@pytest.mark.parametrize(("raw", "low", "high"), RANGES)
def test_parse_nmap_range(raw: str, low: str, high: str) -> None:
    parsed = parse_nmap_version("Samba smbd", raw)
    assert parsed == NmapVersion(raw, is_range=True, low=low, high=high)
    assert parsed.known
    assert parsed.label == raw


@pytest.mark.parametrize("raw", ["", "   ", "Debian", "unknown", "- -"])
def test_unknown_versions(raw: str) -> None:
    parsed = parse_nmap_version("OpenSSH", raw)
    assert not parsed.known
    assert parsed.version == ""


@pytest.mark.parametrize(
    ("product", "raw", "label"),
    [
        ("OpenSSH", "7.4p1 Debian 10+deb9u7", "7.4p1"),
        ("ISC BIND", "9.11.5-P4-5.1+deb10u5", "9.11.5p4"),
        ("OpenSSL", "1.0.2k-fips", "1.0.2k"),
    ],
)
def test_label(product: str, raw: str, label: str) -> None:
    assert parse_nmap_version(product, raw).label == label


@pytest.mark.parametrize(
    ("text", "base"),
    [
        ("5.0.51a", "5.0.51"),
        ("1.0.2k", "1.0.2"),
        ("0.9.8za", "0.9.8"),
        ("1.3.3C", "1.3.3"),
        ("5.0.51", None),
        ("1.0rc", None),
        ("1.0beta", None),
        ("1.0rc1", None),
        ("7.4p1", None),
        ("5.0.51abc", None),
        ("a1", None),
        ("", None),
    ],
)
def test_letter_base(text: str, base: str | None) -> None:
    assert letter_base(text) == base


def test_a_5000_digit_bound_from_an_old_database_compares_without_crashing() -> None:
    """A database built before imports were checked can hold a 5,000-digit version bound; Python
    refuses ``int`` of over 4,300 digits, and every report holding that CVE crashed."""
    huge = "1" + "0" * 5000
    assert parse_version(huge) > parse_version("99999999999999999999.1")
    assert parse_version(f"{huge}.1") == parse_version(
        f"{'9' * 5000}.1"
    )  # all absurd runs are one number
    assert parse_version(
        "000000000000000000000000000000000000000000000000000000000000000000001.2"
    ) == (parse_version("1.2"))
