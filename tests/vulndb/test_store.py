"""Reading the database: candidates per (vendor, product), known products, status, errors."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from brulee.core.vulnerability import EpssScore
from brulee.errors import DatabaseError
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import import_files
from brulee.vulndb.store import CvssMetric, Reference, VulnDb, default_db_path
from tests.vulndb.conftest import ASSETS


def test_default_db_path() -> None:
    home = Path.home()
    assert default_db_path({}) == home / ".local/share/brulee/vulndb.sqlite"
    assert default_db_path({"XDG_DATA_HOME": "/srv/data"}) == Path("/srv/data/brulee/vulndb.sqlite")
    # the XDG spec ignores relative paths
    assert default_db_path({"XDG_DATA_HOME": "rel"}) == home / ".local/share/brulee/vulndb.sqlite"
    env = {"BRULEE_DB": "~/x.sqlite", "XDG_DATA_HOME": "/srv/data"}
    assert default_db_path(env) == home / "x.sqlite"


def test_candidates_carry_the_record(openssh_db: Path) -> None:
    import_files(openssh_db, [ASSETS / "epss-slice.csv"])
    with VulnDb.open(openssh_db) as db:
        found = db.candidates("openbsd", "openssh")
        assert [c.id for c in found] == [
            "CVE-2016-10009", "CVE-2018-15473", "CVE-2020-15778", "CVE-2024-6387",
        ]  # fmt: skip
        record = found[-1]
    assert record.description.startswith("A security regression (CVE-2006-5051)")
    assert (record.published, record.last_modified, record.vuln_status) == (
        "2024-07-01T13:15:06.467", "2024-07-09T06:15:03.513", "Modified",
    )  # fmt: skip
    assert record.cvss == CvssMetric(
        8.1,
        "3.1",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "nvd@nist.gov",
        "Primary",
        "HIGH",
    )
    assert record.epss == EpssScore(0.99506, 0.99942)
    assert record.kev is None
    assert record.cwes == ("CWE-362", "CWE-364")
    assert record.references[0] == Reference(
        "http://www.openwall.com/lists/oss-security/2024/07/01/12",
        "secalert@redhat.com",
        ("Mailing List",),
    )
    feed = json.loads(gzip.decompress((ASSETS / "nvdcve-2.0-2024.json.gz").read_bytes()))
    assert list(record.configurations) == feed["vulnerabilities"][0]["cve"]["configurations"]


def test_a_cve_naming_several_products_is_found_through_each(openssh_db: Path) -> None:
    with VulnDb.open(openssh_db) as db:
        (via_rhel,) = [
            c for c in db.candidates("redhat", "enterprise_linux") if c.id == "CVE-2024-6387"
        ]
        (via_ssh,) = [c for c in db.candidates("openbsd", "openssh") if c.id == "CVE-2024-6387"]
        assert via_rhel is via_ssh  # one record object per CVE
        assert [c.id for c in db.candidates("debian", "debian_linux")] == [
            "CVE-2018-15473",
            "CVE-2024-6387",
        ]


def test_names_are_matched_case_and_escape_insensitively(starter: VulnDb) -> None:
    assert [c.id for c in starter.candidates("OpenBSD", "OpenSSH")] == [
        c.id for c in starter.candidates("openbsd", "openssh")
    ]
    escaped, plain = starter.candidates("tcl", "tcl\\/tk"), starter.candidates("tcl", "tcl/tk")
    assert escaped == plain
    assert plain


def test_platform_only_pairs_give_no_candidates_and_are_not_known(openssh_db: Path) -> None:
    with VulnDb.open(openssh_db) as db:
        assert db.candidates("netapp", "cn1610") == []  # only `vulnerable: false` there
        assert not db.is_known("netapp", "cn1610")
        assert db.is_known("netapp", "clustered_data_ontap")
        assert db.is_known("OpenBSD", "OpenSSH")
        assert not db.is_known("nginx", "nginx")
        assert db.candidates("nginx", "nginx") == []
        known = db.known_products()
    assert ("openbsd", "openssh") in known
    assert ("netapp", "cn1610") not in known


def test_candidates_are_cached_and_callers_get_their_own_list(openssh_db: Path) -> None:
    with VulnDb.open(openssh_db) as db:
        first = db.candidates("openbsd", "openssh")
        first.clear()
        again = db.candidates("openbsd", "openssh")
        assert len(again) == 4
        assert all(a is b for a, b in zip(again, db.candidates("openbsd", "openssh"), strict=True))


def test_records_are_hashable_values(openssh_db: Path) -> None:
    with VulnDb.open(openssh_db) as db:
        found = db.candidates("openbsd", "openssh")
    assert len(set(found)) == 4


def test_info_counts(openssh_db: Path) -> None:
    import_files(openssh_db, [ASSETS / "kev-slice.json", ASSETS / "epss-slice.csv"])
    with VulnDb.open(openssh_db) as db:
        info = db.info()
    assert (info.cves, info.rejected, info.kev_entries, info.epss_scores) == (4, 0, 12, 10)
    assert info.kev_catalog_version == "2025.08.25"
    assert info.epss_score_date == "2026-08-16T00:00:00+0000"
    assert info.coverage is None
    assert [s.name for s in info.sources] == [
        "epss-slice.csv", "kev-slice.json", "api-page-openssh.json", "nvdcve-2.0-2024.json.gz",
    ]  # fmt: skip
    assert info.size == openssh_db.stat().st_size


def test_open_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match=r"no vulnerability database at .*brulee db import"):
        VulnDb.open(tmp_path / "none.sqlite")


def test_open_refuses_another_schema_version(openssh_db: Path) -> None:
    with sqlite3.connect(openssh_db) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.close()
    expected = f"schema version 0, this brulee needs {SCHEMA_VERSION}"
    with pytest.raises(DatabaseError, match=expected) as caught:
        VulnDb.open(openssh_db)
    assert caught.value.exit_code == 3


def test_open_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"\x00junk" * 1000)
    with pytest.raises(DatabaseError, match="is not a brulee vulnerability database"):
        VulnDb.open(path)


def test_open_refuses_a_foreign_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(DatabaseError, match="no such table: meta"):
        VulnDb.open(path)


def test_an_open_database_keeps_working_while_an_import_replaces_the_file(openssh_db: Path) -> None:
    with VulnDb.open(openssh_db) as db:
        import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json"])
        assert len(db.candidates("openbsd", "openssh")) == 4  # the snapshot it opened
    with VulnDb.open(openssh_db) as db:
        assert len(db.candidates("openbsd", "openssh")) == 6


def test_scores_out_of_range_in_an_older_database_read_as_no_score(db_path: Path) -> None:
    """Imports refuse them now; a database poisoned before (EPSS 1e308, CVSS infinity) must not
    hand them to reports."""
    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "epss-slice.csv"])
    with VulnDb.open(db_path) as db:
        (genuine,) = [c for c in db.candidates("openbsd", "openssh") if c.id == "CVE-2024-6387"]
    assert genuine.cvss is not None and genuine.epss is not None
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE cvss_metric SET score = 1e999")
        conn.execute("UPDATE epss SET score = 1e308")
    conn.close()
    with VulnDb.open(db_path) as db:
        (poisoned,) = [c for c in db.candidates("openbsd", "openssh") if c.id == "CVE-2024-6387"]
    assert (poisoned.cvss, poisoned.epss) == (None, None)
