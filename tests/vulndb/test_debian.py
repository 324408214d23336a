"""Debian security tracker data: parsing the real DSA/DLA/CPE files, importing them, and reading
source packages and fixes back."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from brulee.core.cpe import vendor_product_of
from brulee.errors import DatabaseError, FeedError
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import import_files
from brulee.vulndb.importers.base import FileResult
from brulee.vulndb.importers.debian_lists import (
    DebianSyntaxError,
    ReleaseEntry,
    parse_advisories,
    parse_cpe_aliases,
    parse_cpe_list,
)
from brulee.vulndb.meta import format_info
from brulee.vulndb.store import DebianFix, VulnDb
from tests.vulndb.conftest import ASSETS, MALFORMED, rows

DSA = ASSETS / "debian-DSA-slice"
DLA = ASSETS / "debian-DLA-slice"
CPE = ASSETS / "debian-CPE-slice"
ALIASES = ASSETS / "debian-CPE-aliases-slice"
DEBIAN = [DSA, DLA, CPE, ALIASES]


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines(keepends=True)


@pytest.fixture
def debian_db(db_path: Path) -> Path:
    """The four Debian slices next to the OpenSSH CVEs."""
    import_files(db_path, [ASSETS / "api-page-openssh.json", *DEBIAN])
    return db_path


# -- parsing --------------------------------------------------------------------------------------


def test_advisory_list_entries() -> None:
    advisories = {a.id: a for a in parse_advisories(_lines(DSA), "dsa")}
    assert len(advisories) == 29
    dsa = advisories["DSA-4280-1"]
    assert (dsa.kind, dsa.date, dsa.package, dsa.title, dsa.cves) == (
        "dsa", "2018-08-22", "openssh", "security update", ("CVE-2018-15473",),
    )  # fmt: skip
    assert dsa.entries == (
        ReleaseEntry("stretch", "openssh", "1:7.4p1-10+deb9u4", "fixed", None),
    )  # fmt: skip
    assert [e.release for e in advisories["DSA-4164-1"].entries] == ["jessie", "stretch"]


def test_status_lines_and_remarks() -> None:
    advisories = {a.id: a for a in parse_advisories(_lines(DSA), "dsa")}
    assert advisories["DSA-3699-1"].entries == (
        ReleaseEntry("jessie", "virtualbox", None, "end-of-life", None),
    )  # fmt: skip
    assert advisories["DSA-880-1"].entries == (
        ReleaseEntry("woody", "phpmyadmin", None, "unfixed", None),
        ReleaseEntry("sarge", "phpmyadmin", "4:2.6.2-3sarge1", "fixed", None),
    )  # fmt: skip
    assert advisories["DSA-2275-1"].entries[1] == ReleaseEntry(
        "lenny", "openoffice.org", None, "not-affected", "Vulnerable code not present"
    )
    assert advisories["DSA-892-1"].entries[0] == ReleaseEntry(
        "sarge", "awstats", "6.4-1sarge1", "fixed", "bug #322591; bug #334833; bug #336137; medium"
    )
    # NOTE lines are free text, even where they imitate a release line or a status
    assert advisories["DSA-1906-1"].entries == ()
    assert advisories["DSA-1605-1"].entries == ()
    assert advisories["DSA-1605-1"].cves == ("CVE-2008-1447",)


def test_irregular_headers() -> None:
    advisories = {a.id: a for a in parse_advisories(_lines(DSA), "dsa")}
    titles = {
        ident: (advisories[ident].package, advisories[ident].title)
        for ident in ("DSA-1991-1", "DSA-1727-1", "DSA-1304", "DSA-543-1", "DSA-4205-1",
                      "DSA-1212", "DSA-382")
    }  # fmt: skip
    assert titles == {
        "DSA-1991-1": ("squid", "denial of service"),  # "squid squid3 - ..."
        "DSA-1727-1": ("", "SQL injection vulnerabilites"),  # no package named
        "DSA-1304": ("kernel-source-2.6.8", "several"),  # no revision in the id
        "DSA-543-1": ("krb5", "several vulnerabilities"),  # "--"
        "DSA-4205-1": ("jessie", "end-of-life"),  # an announcement
        "DSA-1212": ("openssh", ""),
        "DSA-382": ("ssh", "possible remote vulnerability"),
    }
    # the release lines name the source packages exactly
    assert [e.package for e in advisories["DSA-382"].entries] == ["openssh"]
    assert {e.package for e in advisories["DSA-1991-1"].entries} == {"squid", "squid3"}
    assert advisories["DSA-5356-2"].cves == ()  # a regression update


def test_dla_list_with_space_and_trailing_blank() -> None:
    advisories = {a.id: a for a in parse_advisories(_lines(DLA), "dla")}
    assert len(advisories) == 16
    assert advisories["DLA-1474-1"].entries == (
        ReleaseEntry("jessie", "openssh", "1:6.7p1-5+deb8u5", "fixed", None),
    )  # fmt: skip
    assert advisories["DLA-179-1"].entries[0].fixed_version == "2015b-0squeeze1"
    assert advisories["DLA-372-1"].entries[0].status == "end-of-life"
    assert advisories["DLA-3067-1"].entries == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[22 Aug 2018] DSA-4280-1 openssh - x\n\t[stretch] - openssh\n", "line 2: not a release"),
        ("\t{CVE-2018-15473}\n", "line 1: an indented line before the first advisory header"),
        ("[22 Aug 2018] DLA-1-1 x - y\n", "line 1: DLA-1-1 in a DSA list"),
        ("[22 Aug 2018] DSA-1-1 x - y\n\t[sid] - x 1\n\t[sid] - x 2\n", "a second [sid] line"),
        ("[22 Aug 2018] DSA-1-1 x - y\n\tfixed in 1.2\n", "line 2: not a CVE list"),
        ("\n\n", "no advisory in the file"),
        ("[22 Aug 2018] DSA-1-1 x - y\n\t{CVE-2018-15473CVE-2019-6111}\n", "line 2: not a list"),
        ("[22 Aug 2018] DSA-1-1 x - y\n\t[sid] - x 1.0 medium\n", "line 2: not a release line"),
    ],
)
def test_advisory_list_errors(text: str, message: str) -> None:
    with pytest.raises(DebianSyntaxError, match=re.escape(message)):
        list(parse_advisories(text.splitlines(keepends=True), "dsa"))


def test_cpe_list() -> None:
    entries = list(parse_cpe_list(_lines(CPE)))
    assert len(entries) == 22
    pairs = {(package, vendor, product) for _, package, vendor, product in entries}
    assert ("openssh", "openssh", "openssh") in pairs
    assert ("apache2", "apache", "http_server") in pairs
    assert ("gtk+2.0", "gtk", "gtk+") in pairs  # gtk%2B: as NVD's gtk\+ is indexed
    assert ("libdata-formvalidator-perl", "mark_stosberg", "data::formvalidator") in pairs
    assert ("shellinabox", "shellinabox_project", "shellinabox") in pairs  # the `;;` line


def test_cpe_aliases_blocks() -> None:
    blocks = list(parse_cpe_aliases(_lines(ALIASES)))
    assert len(blocks) == 5  # the commented-out block is none
    assert blocks[0][0] == ("asterisk", "asterisk")  # right after the opening comment
    assert blocks[1] == (
        ("openssh", "openssh"), ("openssl_project", "openssl"), ("openbsd", "openssh"),
    )  # fmt: skip
    # xerces-c%2b%2b and xerces-c%5c%2b%5c%2b are the same name
    assert blocks[4] == (("apache", "xerces-c"), ("apache", "xerces-c++"))


def test_cpe_names() -> None:
    assert vendor_product_of("cpe:/a:openbsd:openssh") == ("openbsd", "openssh")
    assert vendor_product_of("cpe:/o:linux:kernel:2.6") == ("linux", "kernel")
    assert vendor_product_of("cpe:2.3:a:gtk:gtk\\+:*:*") == ("gtk", "gtk+")
    assert vendor_product_of("cpe:/a:openbsd") is None
    assert vendor_product_of("openbsd:openssh") is None


# -- importing ------------------------------------------------------------------------------------


def test_import_recognises_each_file_by_content(tmp_path: Path, db_path: Path) -> None:
    renamed = []
    for number, path in enumerate(DEBIAN):
        copy = tmp_path / f"download-{number}.txt"
        shutil.copyfile(path, copy)
        renamed.append(copy)
    summary = import_files(db_path, renamed)
    assert summary.files == (
        FileResult(renamed[0], "debian-dsa", 29, added=29),
        FileResult(renamed[1], "debian-dla", 16, added=16),
        FileResult(renamed[2], "debian-cpe", 22, added=22),
        FileResult(renamed[3], "debian-cpe-aliases", 5, added=5),
    )


def test_sources_are_recorded_with_the_newest_advisory_date(debian_db: Path) -> None:
    sources = rows(
        debian_db,
        "SELECT kind, name, source_timestamp, records, sha256 FROM source"
        " WHERE kind LIKE 'debian%' ORDER BY kind",
    )
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in DEBIAN}
    assert sources == [
        ("debian-cpe", CPE.name, None, 22, digest[CPE.name]),
        ("debian-cpe-aliases", ALIASES.name, None, 5, digest[ALIASES.name]),
        ("debian-dla", DLA.name, "2023-04-01", 16, digest[DLA.name]),
        ("debian-dsa", DSA.name, "2023-03-20", 29, digest[DSA.name]),
    ]


def test_stored_rows(debian_db: Path) -> None:
    assert rows(debian_db, "SELECT * FROM debian_advisory WHERE id = 'DSA-4280-1'") == [
        ("DSA-4280-1", "dsa", "2018-08-22", "openssh", "security update")
    ]
    assert rows(
        debian_db, "SELECT * FROM debian_fix WHERE advisory = 'DSA-2275-1' ORDER BY release"
    ) == [
        ("openoffice.org", "lenny", "DSA-2275-1", None, "not-affected",
         "Vulnerable code not present"),
        ("openoffice.org", "squeeze", "DSA-2275-1", "1:3.2.1-11+squeeze3", "fixed", None),
    ]  # fmt: skip
    assert rows(debian_db, "SELECT count(*) FROM debian_advisory_cve") == [(116,)]
    # repeated lines of the CPE list are stored once
    assert rows(debian_db, "SELECT count(*) FROM debian_cpe") == [(20,)]


def test_reimport_replaces_the_data_of_that_kind_only(tmp_path: Path, debian_db: Path) -> None:
    head = tmp_path / "dsa-head"
    head.write_text("".join(_lines(DSA)[:3]), "utf-8")  # DSA-5376-1 alone
    assert import_files(debian_db, [head]).files[0] == FileResult(head, "debian-dsa", 1, added=1)
    assert rows(debian_db, "SELECT id FROM debian_advisory WHERE kind = 'dsa'") == [("DSA-5376-1",)]
    fixes = "SELECT count(*) FROM debian_fix WHERE advisory LIKE ?"
    assert rows(debian_db, fixes, "DSA-%") == [(1,)]
    assert rows(
        debian_db, "SELECT count(*) FROM debian_advisory_cve WHERE advisory LIKE 'DSA-%'"
    ) == [(5,)]
    assert rows(debian_db, fixes, "DLA-%") == [(15,)]  # the DLAs stay
    assert rows(
        debian_db, "SELECT name, source_timestamp FROM source WHERE kind = 'debian-dsa'"
    ) == [("dsa-head", "2023-03-20")]
    with VulnDb.open(debian_db) as db:
        assert db.debian_fixes("openssh", "stretch") == {}
        assert "CVE-2018-15473" in db.debian_fixes("openssh", "jessie")


def test_gzip_lists_stream_like_plain_ones(tmp_path: Path, db_path: Path) -> None:
    packed = tmp_path / "DLA-list.gz"
    packed.write_bytes(gzip.compress(DLA.read_bytes()))
    summary = import_files(db_path, [packed])
    assert summary.files == (FileResult(packed, "debian-dla", 16, added=16),)
    content = DLA.read_bytes()
    assert rows(db_path, "SELECT content_sha256, content_size FROM source") == [
        (hashlib.sha256(content).hexdigest(), len(content))
    ]


def test_epss_files_are_still_epss(db_path: Path) -> None:
    # both begin with a `#` line: the first line that is no comment tells them apart
    summary = import_files(db_path, [ASSETS / "epss-slice.csv", ALIASES])
    assert [f.kind for f in summary.files] == ["epss", "debian-cpe-aliases"]


DEBIAN_MALFORMED = [
    ("debian-DSA-no-version", "line 3: not a release line"),
    ("debian-DSA-bad-cve", "line 2: not a list of CVE ids: '{CVE-2018-15473 OSV-2018-15473}'"),
    ("debian-DSA-bad-date", "line 1: [31 Feb 2018] is not a date"),
    ("debian-DSA-repeated", "line 4: DSA-4280-1 appears twice (first at line 1)"),
    ("debian-DSA-unindented", "line 3: not an advisory header"),
    ("debian-DSA-with-a-DLA", "line 4: DLA-1474-1 in a DSA list"),
    ("debian-CPE-no-cpe", "line 3: not a `source-package;cpe:/a:vendor:product` line"),
    ("debian-CPE-aliases-bare-name", "line 3: not a CPE name"),
]


@pytest.mark.parametrize(("name", "reason"), DEBIAN_MALFORMED, ids=[n for n, _ in DEBIAN_MALFORMED])
def test_malformed_debian_file_names_file_and_line_and_changes_nothing(
    debian_db: Path, name: str, reason: str
) -> None:
    before = debian_db.read_bytes()
    bad = MALFORMED / name
    with pytest.raises(FeedError, match="nothing was imported") as caught:
        import_files(debian_db, [DSA, bad])
    assert str(caught.value).startswith(f"{bad}: {reason}")
    assert debian_db.read_bytes() == before


# -- reading --------------------------------------------------------------------------------------


def test_debian_packages_through_the_cpe_list_and_aliases(debian_db: Path) -> None:
    with VulnDb.open(debian_db) as db:
        # openbsd:openssh is in no package;cpe line: found through its alias openssh:openssh;
        # openssh-server (a binary package in the CPE list) names no advisory
        assert db.debian_packages("openbsd", "openssh") == {"openssh"}
        assert db.debian_packages("OpenBSD", "OpenSSH") == {"openssh"}
        assert db.debian_packages("openssh", "openssh") == {"openssh"}
        assert "apache2" in db.debian_packages("apache", "http_server")
        assert "apache2" in db.debian_packages("apache_software_foundation", "apache_http_server")
        assert "bind9" in db.debian_packages("isc", "bind")
        assert db.debian_packages("squid-cache", "squid") == {"squid", "squid3"}
        # aliases are not chained: openssl_project:openssl is in the openssh block and the
        # openssl block, yet openssh and openssl stay apart
        assert db.debian_packages("openssl", "openssl") == frozenset()  # no openssl advisory here
        assert db.debian_packages("nginx", "nginx") == frozenset()


def test_debian_fixes_openssh(debian_db: Path) -> None:
    with VulnDb.open(debian_db) as db:
        stretch = db.debian_fixes("openssh", "stretch")
        assert stretch["CVE-2018-15473"] == (
            DebianFix("DSA-4280-1", "2018-08-22", "stretch", "1:7.4p1-10+deb9u4", "fixed"),
        )  # fmt: skip
        # CVE-2019-6111: fixed by DSA-4387-1, then again by DSA-4387-2; oldest first
        assert [f.advisory for f in stretch["CVE-2019-6111"]] == ["DSA-4387-1", "DSA-4387-2"]
        assert sorted(stretch) == [
            "CVE-2018-15473", "CVE-2018-20685", "CVE-2019-6109", "CVE-2019-6111",
        ]  # fmt: skip
        jessie = db.debian_fixes("openssh", "jessie")
        assert jessie["CVE-2018-15473"] == (
            DebianFix("DLA-1474-1", "2018-08-21", "jessie", "1:6.7p1-5+deb8u5", "fixed"),
        )  # fmt: skip
        assert jessie["CVE-2016-0777"][0].advisory == "DSA-3446-1"  # a DSA, before LTS
        assert jessie["CVE-2016-10009"][0].fixed_version == "1:6.7p1-5+deb8u6"
        assert len(jessie) == 20  # DSA-3446-1, -3550-1, -3626-1, DLA-1474-1, -1500-1, -1728-1
        assert "CVE-2003-0693" in db.debian_fixes("openssh", "woody")  # DSA-382 is named `ssh`
        assert db.debian_fixes("openssh", "bookworm") == {}
        assert db.debian_fixes("openssh", "stretch") is stretch  # cached
        with pytest.raises(TypeError):
            stretch["CVE-2018-15473"] = ()  # type: ignore[index]


def test_debian_fixes_apache2_and_bind9(debian_db: Path) -> None:
    with VulnDb.open(debian_db) as db:
        apache = db.debian_fixes("apache2", "stretch")
        assert apache["CVE-2017-15715"] == (
            DebianFix("DSA-4164-1", "2018-04-03", "stretch", "2.4.25-3+deb9u4", "fixed"),
        )  # fmt: skip
        assert apache["CVE-2019-0211"][0].fixed_version == "2.4.25-3+deb9u7"
        buster = db.debian_fixes("apache2", "buster")
        assert buster["CVE-2006-20001"][0].advisory == "DLA-3351-1"
        bind = db.debian_fixes("bind9", "stretch")
        assert bind["CVE-2019-6465"][0].fixed_version == "1:9.10.3.dfsg.P4-12.3+deb9u5"
        assert db.debian_fixes("bind9", "jessie")["CVE-2018-5740"][0].advisory == "DLA-1485-1"


def test_debian_fixes_statuses(debian_db: Path) -> None:
    with VulnDb.open(debian_db) as db:
        assert db.debian_fixes("spamassassin", "woody")["CVE-2005-1266"] == (
            DebianFix("DSA-736-1", "2005-07-01", "woody", None, "not-affected",
                      "not vulnerable according to DSA"),
            DebianFix("DSA-736-2", "2005-07-01", "woody", None, "not-affected",
                      "not vulnerable according to DSA"),
        )  # fmt: skip
        woody = db.debian_fixes("phpmyadmin", "woody")["CVE-2005-3300"]
        assert [(f.status, f.fixed_version) for f in woody] == [("unfixed", None)]
        sarge = db.debian_fixes("awstats", "sarge")["CVE-2005-1527"][0]
        assert (sarge.status, sarge.note) == (
            "fixed",
            "bug #322591; bug #334833; bug #336137; medium",
        )
        # an end-of-life line of an advisory without CVE ids: nothing to map
        assert db.debian_fixes("virtualbox", "jessie") == {}


def test_status_shows_debian_counts(debian_db: Path) -> None:
    with VulnDb.open(debian_db) as db:
        info = db.info()
    assert (info.debian_dsas, info.debian_dsa_date) == (29, "2023-03-20")
    assert (info.debian_dlas, info.debian_dla_date) == (16, "2023-04-01")
    assert (info.debian_cpe_entries, info.debian_alias_groups) == (20, 5)
    text = format_info(info)
    assert (
        "Debian:    29 DSAs to 2023-03-20, 16 DLAs to 2023-04-01: 52 release entries for 17 source"
        " packages" in text
    )
    assert "           CPE map: 20 package entries, 5 alias groups" in text
    assert any(line.startswith("  debian-dsa debian-DSA-slice: 29 records, dated") for line in text)


def test_a_database_of_the_previous_schema_is_refused(debian_db: Path) -> None:
    with sqlite3.connect(debian_db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    before = debian_db.read_bytes()
    expected = (
        f"has database schema version 1, this brulee needs {SCHEMA_VERSION}; "
        "delete it (or choose another --db) and run `brulee db import` again"
    )
    with pytest.raises(DatabaseError, match=re.escape(expected)):
        VulnDb.open(debian_db)
    with pytest.raises(DatabaseError, match="schema version 1"):
        import_files(debian_db, [DSA])
    assert debian_db.read_bytes() == before


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "\t[bullseye] - apache2 2.4.56-" + "9" * 5000 + "\n",
            "line 3: a version of 5,007 characters",
        ),
        ("\t{" + "CVE-2023-1234 " * 5000 + "}\n", "line 2 is longer than 65,536 characters"),
    ],
)
def test_overlong_versions_and_lines_are_refused(
    tmp_path: Path, debian_db: Path, line: str, reason: str
) -> None:
    lines = _lines(DSA)[:3]
    lines[2 if "version" in reason else 1] = line
    bad = tmp_path / "DSA"
    bad.write_text("".join(lines), "utf-8")
    before = debian_db.read_bytes()
    with pytest.raises(FeedError, match="nothing was imported") as caught:
        import_files(debian_db, [bad])
    assert str(caught.value).startswith(f"{bad}: {reason}")
    assert debian_db.read_bytes() == before
