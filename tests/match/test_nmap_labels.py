"""Nmap's literal version labels, read from the real ``nmap-service-probes`` (installed by
``make test``) and from the table packaged from Nmap 7.93's."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.match.nmap_labels import (
    MAX_PROBES_BYTES,
    Label,
    LabelTable,
    ProbesError,
    installed_probes,
    nmap_labels,
    packaged,
    parse_probes,
    read_probes,
)
from tests.conftest import needs_nmap

# Real lines of Nmap 7.93's nmap-service-probes (the Samba one shortened to its fields' start).
SAMBA_LABEL = (
    r"match netbios-ssn m|^\0\0\0.\xffSMBr\0\0\0\0\x88..\0\0\0\0\0\0\0\0\0\0\0\0\0\0@\x06\0\0"
    r"\x01\0\x01\xff\xff\0\0$|s p/Samba smbd/ v/4.6.2/ cpe:/a:samba:samba:4.6.2/"
)
SAMBA_WORKGROUP = (
    r"match netbios-ssn m|^\0\0\0.\xffSMBr\0\0\0\0\x88..\0\0\0\0\0\0\0\0\0\0\0\0\0\0@\x06\0\0"
    r"\x01\0\x11\x06\0..\0\x01\0..\0\0...\0..\0\0|s p/Samba smbd/ v/3.X - 4.X/ "
    r"i/workgroup: $P(1)/ cpe:/a:samba:samba/"
)
POSTGRES_OR_LATER = (
    r"softmatch postgresql m|^E\0\0\0.S[^\0]+\0VFATAL\0C0A000\0Munsupported frontend protocol "
    r"65363| p/PostgreSQL DB/ v/9.6.0 or later/ cpe:/a:postgresql:postgresql/"
)
OPENSSH_CAPTURED = (
    r"match ssh m|^SSH-([\d.]+)-OpenSSH_([\w._-]+)[ -]{1,2}Debian[ -_]([^\r\n]+)\r?\n| "
    r"p/OpenSSH/ v/$2 Debian $3/ i/protocol $1/ o/Linux/ cpe:/a:openbsd:openssh:$2/ "
    r"cpe:/o:debian:debian_linux/"
)


def test_literal_labels_are_read_and_captured_versions_are_not() -> None:
    labels = parse_probes([SAMBA_LABEL, SAMBA_WORKGROUP, POSTGRES_OR_LATER, OPENSSH_CAPTURED])
    assert labels == {
        "PostgreSQL DB": (Label("9.6.0 or later"),),
        "Samba smbd": (Label("4.6.2"), Label("3.X - 4.X", "workgroup: $P(1)")),
    }


@pytest.mark.parametrize(
    "line",
    [
        "match foo m|unterminated p/Foo/ v/1.0/",
        "match foo m|x| p/Foo/ v/1.0",
        "match foo m|x| p/$1/ v/1.0/",
        "probe TCP GetRequest q|GET / HTTP/1.0\\r\\n\\r\\n| p/Foo/ v/1.0/",
        "match foo m|x| p/Foo/ v/" + "1" * 300 + "/",
        "match foo m|x| p/Foo/ v/1.0/" + " " * 70000,
    ],
)
def test_malformed_or_hostile_lines_give_no_label(line: str) -> None:
    assert parse_probes([line]) == {}


@pytest.fixture(scope="module")
def table_7_93() -> LabelTable:
    return packaged()


def test_a_single_label_is_a_lower_bound_when_it_is_the_products_newest(
    table_7_93: LabelTable,
) -> None:
    samba = table_7_93.reading("Samba smbd", "4.6.2")
    assert (samba.is_range, samba.low, samba.high, samba.version) == (True, "4.6.2", "", "")
    assert samba.fingerprint == "Nmap's fingerprint says 4.6.2 for every Samba smbd from 4.6.2 on"
    assert samba.label == "4.6.2"
    postgres = table_7_93.reading("PostgreSQL DB", "15")
    assert (postgres.low, postgres.high) == ("15", "")


def test_an_older_label_reaches_up_to_the_next_fingerprint(table_7_93: LabelTable) -> None:
    postgres = table_7_93.reading("PostgreSQL DB", "14.0")
    assert (postgres.is_range, postgres.low, postgres.high) == (True, "14.0", "14.1")
    assert postgres.fingerprint == "Nmap's fingerprint says 14.0 for PostgreSQL DB 14.0 to 14.1"


def test_captured_versions_stay_versions(table_7_93: LabelTable) -> None:
    # Metasploitable 2's 445/tcp: the version is captured from the SMB reply
    samba = table_7_93.reading("Samba smbd", "3.0.20-Debian", "workgroup: WORKGROUP")
    assert (samba.is_range, samba.version, samba.fingerprint) == (False, "3.0.20", "")
    # Apache's 2.2.9 label comes from a line without extrainfo; a real banner has some
    apache = table_7_93.reading("Apache httpd", "2.2.9", "(Debian) PHP/5.2.6-1+lenny9")
    assert (apache.is_range, apache.version) == (False, "2.2.9")
    assert table_7_93.reading("Apache httpd", "2.2.9").is_range
    # the label line gives no extrainfo: a service with some is not from it
    assert not table_7_93.reading("Samba smbd", "4.6.2", "workgroup: WORKGROUP").is_range
    # a line's extrainfo template: its substitutions match anything, within bounds
    (workgroup,) = [x for x in table_7_93.labels["Samba smbd"] if x.info]
    assert workgroup.fits("workgroup: LAB")
    assert not workgroup.fits("domain: LAB")
    assert not workgroup.fits("workgroup: " + "x" * 2000)
    # several substitutions, as a template can hold: in order, each anything
    many = Label("1.0", "a $1 b $2 c $P(3)")
    assert many.fits("a x b y c z") and many.fits("a  b  c ") and many.fits("a b b c c c")
    assert not many.fits("a x c y b z") and not many.fits("b x a y c z")
    assert Label("1.0", "exact").fits("exact") and not Label("1.0", "exact").fits("exact!")
    assert table_7_93.reading("OpenSSH", "9.2p1 Debian 2+deb12u3").version == "9.2"


def test_text_ranges_read_as_before(table_7_93: LabelTable) -> None:
    postgres = table_7_93.reading("PostgreSQL DB", "9.6.0 or later")
    assert (postgres.is_range, postgres.low, postgres.high) == (True, "9.6.0", "")
    assert postgres.fingerprint == ""


def test_the_packaged_table_says_where_it_came_from(table_7_93: LabelTable) -> None:
    assert table_7_93.source == (
        "packaged table from Nmap 7.93 (nmap-service-probes 38429 2022-08-30 22:35:10Z "
        "dmiller, 2026-12-03)"
    )


@needs_nmap
def test_the_installed_file_is_read_and_the_packaged_table_is_current() -> None:
    path = installed_probes()
    assert path is not None
    installed = read_probes(path)
    assert installed.source.endswith("(nmap-service-probes 38429 2022-08-30 22:35:10Z dmiller)")
    assert Label("4.6.2") in installed.labels["Samba smbd"]
    assert Label("9.6.0 or later") in installed.labels["PostgreSQL DB"]
    # Debian's Nmap 7.93 is the one the table was written from (scripts/update-nmap-labels)
    assert installed.labels == packaged().labels
    assert nmap_labels().source == installed.source


def test_nmapdir_comes_first(tmp_path: Path) -> None:
    probes = tmp_path / "nmap-service-probes"
    probes.write_text("# $Id: nmap-service-probes 1 2026-01-01 test $\n" + SAMBA_LABEL + "\n")
    assert installed_probes({"NMAPDIR": str(tmp_path)}) == probes
    table = read_probes(probes)
    assert table.labels == {"Samba smbd": (Label("4.6.2"),)}
    assert table.source == f"{probes} (nmap-service-probes 1 2026-01-01 test)"


def test_an_oversized_or_unreadable_file_is_refused_and_the_packaged_table_used(
    tmp_path: Path,
) -> None:
    probes = tmp_path / "nmap-service-probes"
    with probes.open("wb") as stream:
        stream.truncate(MAX_PROBES_BYTES + 1)
    with pytest.raises(ProbesError, match="more than a probes file has"):
        read_probes(probes)
    assert nmap_labels({"NMAPDIR": str(tmp_path)}).source.startswith("packaged table")
    with pytest.raises(ProbesError, match="cannot read it"):
        read_probes(tmp_path / "missing")
