"""Importing NVD, KEV and EPSS files: shapes, replacement rules, checksums, errors and the lock."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import ijson
import pytest

from brulee.errors import DatabaseError, FeedError
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import build_starter, ensure_starter, import_files
from brulee.vulndb.importers.base import FileResult
from brulee.vulndb.store import VulnDb
from tests.vulndb.conftest import ASSETS, MALFORMED, rows

CONVERTED_2017 = ASSETS / "nvdcve-2.0-2017-converted-slice.json.gz"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ids(db_path: Path) -> list[str]:
    return [str(row[0]) for row in rows(db_path, "SELECT id FROM cve ORDER BY id")]


def test_ijson_uses_its_c_backend() -> None:
    assert ijson.backend == "yajl2_c"


def test_fresh_database_has_the_schema_version(openssh_db: Path) -> None:
    assert rows(openssh_db, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_feed_files_gzip_and_plain(db_path: Path) -> None:
    gz, plain = ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "nvdcve-2.0-2025.json"
    summary = import_files(db_path, [gz, plain])
    assert summary.cves == 4
    assert summary.files == (
        FileResult(gz, "nvd", 1, added=1),
        FileResult(plain, "nvd", 3, added=3),
    )
    assert _ids(db_path) == ["CVE-2024-6387", "CVE-2025-26465", "CVE-2025-26466", "CVE-2025-32728"]
    sources = rows(
        db_path,
        "SELECT name, sha256, size, content_sha256, content_size, source_timestamp,"
        " source_version, records FROM source ORDER BY name",
    )
    gz_bytes, plain_bytes = gz.read_bytes(), plain.read_bytes()
    content = gzip.decompress(gz_bytes)
    assert sources == [
        (
            "nvdcve-2.0-2024.json.gz", _sha256(gz_bytes), len(gz_bytes), _sha256(content),
            len(content), "2024-07-09T06:15:03.513", "2.0", 1,
        ),
        (
            "nvdcve-2.0-2025.json", _sha256(plain_bytes), len(plain_bytes), _sha256(plain_bytes),
            len(plain_bytes), "2026-10-08T22:17:25.820", "2.0", 3,
        ),
    ]  # fmt: skip


def test_files_are_recognised_by_content_not_name(tmp_path: Path, db_path: Path) -> None:
    gz, plain = tmp_path / "download-1", tmp_path / "download-2.txt"
    shutil.copyfile(ASSETS / "nvdcve-2.0-2024.json.gz", gz)
    shutil.copyfile(ASSETS / "kev-slice.json", plain)
    summary = import_files(db_path, [gz, plain])
    assert [(f.kind, f.records) for f in summary.files] == [("nvd", 1), ("kev", 12)]


def test_api_page(db_path: Path) -> None:
    page = ASSETS / "api-page-openssh.json"
    summary = import_files(db_path, [page])
    assert summary.files == (FileResult(page, "nvd", 3, added=3),)
    assert rows(db_path, "SELECT source_timestamp FROM source") == [("2026-05-29T21:16:26.213",)]


def test_bare_cve_object_and_bare_record(db_path: Path) -> None:
    bare, record = ASSETS / "CVE-2023-38408.json", ASSETS / "record-CVE-2025-32728.json"
    summary = import_files(db_path, [bare, record])
    assert [(f.kind, f.records, f.added) for f in summary.files] == [("nvd", 1, 1), ("nvd", 1, 1)]
    assert rows(db_path, "SELECT name, source_timestamp FROM source ORDER BY name") == [
        ("CVE-2023-38408.json", "2024-04-04T06:15:08.430"),
        ("record-CVE-2025-32728.json", "2025-04-10T02:15:30.873"),
    ]
    # Received, not analysed: stored, but in no (vendor, product) index entry
    assert rows(
        db_path, "SELECT vuln_status, configurations FROM cve WHERE id = ?", "CVE-2025-32728"
    )
    assert rows(db_path, "SELECT * FROM product_cve WHERE cve_id = 'CVE-2025-32728'") == []


def test_newer_record_replaces_older_one_and_older_is_ignored(db_path: Path) -> None:
    fkie = ASSETS / "CVE-2017-15715.json"
    first = import_files(db_path, [CONVERTED_2017])
    assert first.files[0] == FileResult(CONVERTED_2017, "nvd", 4, added=2, rejected=2)
    assert rows(
        db_path, "SELECT last_modified, vuln_status FROM cve WHERE id = 'CVE-2017-15715'"
    ) == [("2021-06-06T11:15:00.000", "Analyzed")]
    newer = import_files(db_path, [fkie])
    assert newer.files[0] == FileResult(fkie, "nvd", 1, updated=1)
    older_again = import_files(db_path, [CONVERTED_2017])
    assert older_again.files[0] == FileResult(CONVERTED_2017, "nvd", 4, unchanged=4)
    assert rows(
        db_path, "SELECT last_modified, vuln_status FROM cve WHERE id = 'CVE-2017-15715'"
    ) == [("2026-06-17T01:08:09.157", "Modified")]
    # the replaced record's metrics are the new record's only (v3.0 and v2, as before)
    metrics = "SELECT version, score FROM cvss_metric WHERE cve_id = 'CVE-2017-15715'"
    assert sorted(rows(db_path, metrics)) == [("2.0", 6.8), ("3.0", 8.1)]


def test_newest_wins_whatever_the_order_within_one_import(tmp_path: Path) -> None:
    one, other = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    import_files(one, [CONVERTED_2017, ASSETS / "CVE-2017-15715.json"])
    import_files(other, [ASSETS / "CVE-2017-15715.json", CONVERTED_2017])
    sql = "SELECT last_modified FROM cve WHERE id = 'CVE-2017-15715'"
    assert rows(one, sql) == rows(other, sql) == [("2026-06-17T01:08:09.157",)]


def test_rejected_record_removes_the_cve_and_stays_removed(db_path: Path) -> None:
    import_files(db_path, [CONVERTED_2017])
    assert "CVE-2017-0605" not in _ids(db_path)  # rejected in the feed: never stored
    assert "CVE-2017-16943" in _ids(db_path)
    rejection = ASSETS / "rejected-CVE-2017-16943.json"
    summary = import_files(db_path, [rejection])
    assert summary.files[0] == FileResult(rejection, "nvd", 1, rejected=1)
    for table, column in (("cve", "id"), ("cvss_metric", "cve_id"), ("product_cve", "cve_id")):
        assert rows(db_path, f"SELECT * FROM {table} WHERE {column} = 'CVE-2017-16943'") == []  # noqa: S608
    # older copies (converted 2021-05-04, genuine 2026-05-13) do not bring it back
    again = import_files(db_path, [CONVERTED_2017, ASSETS / "CVE-2017-16943.json"])
    assert [f.unchanged for f in again.files] == [4, 1]
    assert "CVE-2017-16943" not in _ids(db_path)
    with VulnDb.open(db_path) as db:
        assert [c.id for c in db.candidates("exim", "exim")] == []
        assert db.info().rejected == 3


def test_a_newer_unrejected_record_brings_a_rejected_cve_back(tmp_path: Path) -> None:
    db_path = tmp_path / "vulndb.sqlite"
    import_files(db_path, [ASSETS / "rejected-CVE-2017-16943.json"])
    record = json.loads((ASSETS / "CVE-2017-16943.json").read_text())
    record["lastModified"] = "2026-08-01T00:00:00.000"  # later than the rejection
    revived = tmp_path / "revived.json"
    revived.write_text(json.dumps(record))
    assert import_files(db_path, [revived]).files[0].added == 1
    assert _ids(db_path) == ["CVE-2017-16943"]
    assert rows(db_path, "SELECT * FROM rejected") == []


def test_best_metric_and_all_metrics_are_stored(openssh_db: Path, tmp_path: Path) -> None:
    best = "SELECT cve_id, version, source, type, score FROM cvss_metric WHERE best = 1"
    assert sorted(rows(openssh_db, best)) == [
        # version first: a CNA's Secondary v3.1 beats the NVD's Primary v3.0 (7.3 both)
        ("CVE-2016-10009", "3.1", "134c704f-9b21-4f2e-91b3-4a467353bcc0", "Secondary", 7.3),
        ("CVE-2018-15473", "3.1", "nvd@nist.gov", "Primary", 5.3),
        ("CVE-2020-15778", "3.1", "nvd@nist.gov", "Primary", 7.8),
        ("CVE-2024-6387", "3.1", "nvd@nist.gov", "Primary", 8.1),  # before redhat's Secondary
    ]
    all_metrics = "SELECT version, type FROM cvss_metric WHERE cve_id = 'CVE-2016-10009'"
    assert sorted(rows(openssh_db, all_metrics)) == [
        ("2.0", "Primary"), ("3.0", "Primary"), ("3.1", "Secondary"),
    ]  # fmt: skip
    # only a Secondary metric: it is the best there is
    other = tmp_path / "other.sqlite"
    import_files(other, [ASSETS / "record-CVE-2025-32728.json"])
    assert rows(other, best) == [("CVE-2025-32728", "3.1", "cve@mitre.org", "Secondary", 4.3)]


def test_index_holds_every_criteria_with_its_vulnerable_flag(openssh_db: Path) -> None:
    index = "SELECT vendor, product, vulnerable FROM product_cve WHERE cve_id = ?"
    pairs = {(str(v), str(p)): bool(f) for v, p, f in rows(openssh_db, index, "CVE-2018-15473")}
    assert pairs[("openbsd", "openssh")] is True
    assert pairs[("debian", "debian_linux")] is True
    assert pairs[("netapp", "cn1610")] is False  # only ever a platform condition ("running on")
    assert pairs[("netapp", "clustered_data_ontap")] is True  # vulnerable in another configuration
    page = json.loads((ASSETS / "api-page-openssh.json").read_text())
    (record,) = [v["cve"] for v in page["vulnerabilities"] if v["cve"]["id"] == "CVE-2018-15473"]
    criteria = [
        match["criteria"].split(":")
        for configuration in record["configurations"]
        for node in configuration["nodes"]
        for match in node["cpeMatch"]
    ]
    assert set(pairs) == {(fields[3], fields[4]) for fields in criteria}


def test_index_keeps_criteria_whose_vendor_or_product_is_na(db_path: Path, tmp_path: Path) -> None:
    # NVD has such criteria (CVE-2017-11632: cpe:2.3:h:-:wireless_ip_camera_360:-:...)
    record = json.loads((ASSETS / "record-CVE-2025-32728.json").read_text())
    record["cve"]["configurations"] = [{"nodes": [{"operator": "OR", "negate": False, "cpeMatch": [
        {"vulnerable": True, "criteria": "cpe:2.3:h:-:wireless_ip_camera_360:-:*:*:*:*:*:*:*"},
        {"vulnerable": True, "criteria": "cpe:2.3:o:-:-:-:*:*:*:*:*:*:*"},
    ]}]}]  # fmt: skip
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    import_files(db_path, [path])
    index = "SELECT vendor, product FROM product_cve ORDER BY product"
    assert rows(db_path, index) == [("-", "-"), ("-", "wireless_ip_camera_360")]


def test_kev_import_replaces_the_catalog_unless_older(db_path: Path) -> None:
    kev, older = ASSETS / "kev-slice.json", ASSETS / "kev-older.json"
    assert import_files(db_path, [kev]).files[0] == FileResult(kev, "kev", 12, added=12)
    assert import_files(db_path, [older]).files[0] == FileResult(older, "kev", 3, unchanged=3)
    assert rows(db_path, "SELECT count(*) FROM kev") == [(12,)]
    assert rows(db_path, "SELECT name, source_version, source_timestamp FROM source") == [
        ("kev-slice.json", "2025.08.25", "2025-08-25T17:04:19.9796Z")
    ]
    entry = rows(
        db_path,
        "SELECT vendor_project, product, date_added, due_date, known_ransomware FROM kev"
        " WHERE cve_id = 'CVE-2021-41773'",
    )
    assert entry == [("Apache", "HTTP Server", "2021-11-03", "2021-11-17", "Known")]


def test_epss_import_gzip_and_plain(db_path: Path) -> None:
    plain, gz = ASSETS / "epss-slice.csv", ASSETS / "epss-slice.csv.gz"
    assert import_files(db_path, [plain]).files[0] == FileResult(plain, "epss", 10, added=10)
    meta = "SELECT key, value FROM meta WHERE key LIKE 'epss%' ORDER BY key"
    assert rows(db_path, meta) == [
        ("epss_model_version", "unknown"),
        ("epss_score_date", "2026-08-16T00:00:00+0000"),
    ]
    # the same date: a snapshot replaces the scores, here with 4
    assert import_files(db_path, [gz]).files[0] == FileResult(gz, "epss", 4, added=4)
    assert rows(db_path, "SELECT * FROM epss WHERE cve_id = 'CVE-2016-10009'") == [
        ("CVE-2016-10009", 0.37431, 0.98401)
    ]
    assert rows(db_path, "SELECT count(*) FROM epss") == [(4,)]


def test_epss_without_the_comment_line(tmp_path: Path, db_path: Path) -> None:
    lines = (ASSETS / "epss-slice.csv").read_text().splitlines()
    bare = tmp_path / "epss.csv"
    bare.write_text("\n".join(lines[1:]) + "\n")
    assert import_files(db_path, [bare]).files[0].added == 10
    assert rows(db_path, "SELECT value FROM meta WHERE key = 'epss_score_date'") == []


def test_progress_reports_each_file(db_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    import_files(
        db_path,
        [ASSETS / "api-page-openssh.json", ASSETS / "epss-slice.csv"],
        progress=lambda name, done: calls.append((name, done)),
    )
    assert calls[-1] == ("epss-slice.csv", 10)
    assert ("api-page-openssh.json", 3) in calls


MALFORMED_FILES = sorted(MALFORMED.iterdir())


@pytest.mark.parametrize("bad", MALFORMED_FILES, ids=[p.name for p in MALFORMED_FILES])
def test_malformed_file_leaves_the_database_unchanged(openssh_db: Path, bad: Path) -> None:
    before = openssh_db.read_bytes()
    with pytest.raises(FeedError) as caught:
        import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json", bad])
    message = str(caught.value)
    assert message.startswith(f"{bad}: ")
    assert "\n" not in message
    assert caught.value.exit_code == 2
    assert openssh_db.read_bytes() == before
    with VulnDb.open(openssh_db) as db:
        assert "CVE-2024-6387" in [c.id for c in db.candidates("openbsd", "openssh")]
    assert sorted(p.name for p in openssh_db.parent.iterdir()) == [
        "vulndb.sqlite", "vulndb.sqlite.lock",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.json.gz", "cannot read it (Compressed file ended"),
        ("truncated-feed.json", "not valid JSON"),
        ("not-gzip.json.gz", "named .gz but not gzip-compressed"),
        ("nvd-1.1-feed.json", "JSON without CVE records"),
        ("epss-no-header.csv", "no `cve,epss,percentile` header line"),
        ("epss-bad-row.csv", "line 5: epss 'high' is not a number from 0 to 1"),
        ("record-bad-id.json", "id 'GHSA-2025-32728' is not a CVE id"),
        ("record-no-lastmodified.json", "no 'lastModified' field"),
        ("kev-no-cveid.json", "KEV entry 2 (no cveID)"),
        ("empty.json", "empty file"),
    ],
)
def test_malformed_file_message_says_what_is_wrong(db_path: Path, name: str, reason: str) -> None:
    with pytest.raises(FeedError, match="nothing was imported") as caught:
        import_files(db_path, [MALFORMED / name])
    assert reason in str(caught.value)
    assert not db_path.exists()


def test_missing_file_and_no_file(db_path: Path) -> None:
    with pytest.raises(FeedError, match="no such file"):
        import_files(db_path, [ASSETS / "nvdcve-2.0-1900.json.gz"])
    with pytest.raises(FeedError, match="nothing to import"):
        import_files(db_path, [])


def test_lock_refuses_a_second_import(openssh_db: Path) -> None:
    before = openssh_db.read_bytes()
    lock_path = openssh_db.with_name("vulndb.sqlite.lock")
    with lock_path.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DatabaseError, match="another brulee process is updating") as caught:
            import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json"])
        assert str(lock_path) in str(caught.value)
    assert openssh_db.read_bytes() == before
    assert import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json"]).cves == 7


def test_temporary_files_of_a_killed_import_are_removed(openssh_db: Path) -> None:
    stale = openssh_db.with_name(".vulndb.sqlite.k1ll3d.tmp")
    stale.write_bytes(b"half a database")
    import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json"])
    assert not stale.exists()


def test_existing_database_of_another_schema_is_refused(openssh_db: Path) -> None:
    with sqlite3.connect(openssh_db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.close()
    before = openssh_db.read_bytes()
    with pytest.raises(
        DatabaseError, match=f"schema version 999, this brulee needs {SCHEMA_VERSION}"
    ):
        import_files(openssh_db, [ASSETS / "nvdcve-2.0-2025.json"])
    assert openssh_db.read_bytes() == before


def test_existing_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DatabaseError, match="is not a brulee vulnerability database"):
        import_files(db_path, [ASSETS / "nvdcve-2.0-2025.json"])


def test_unwritable_directory_is_a_database_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DatabaseError, match="cannot write"):
        import_files(blocker / "vulndb.sqlite", [ASSETS / "nvdcve-2.0-2025.json"])


def test_importing_nvd_files_lifts_the_starter_coverage_limit(db_path: Path) -> None:
    build_starter(db_path)
    with VulnDb.open(db_path) as db:
        assert not db.is_known("nodejs", "node.js")
    import_files(db_path, [ASSETS / "epss-slice.csv"])
    with VulnDb.open(db_path) as db:
        assert not db.is_known("nodejs", "node.js")  # EPSS says nothing about coverage
    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz"])
    with VulnDb.open(db_path) as db:
        assert db.info().coverage is None
        assert db.is_known("nodejs", "node.js")


# -- hostile and poisoned files: bounded, checked, refused in one line, database untouched ---------

RECORD = json.loads((ASSETS / "CVE-2023-38408.json").read_text(encoding="utf-8"))
OPENSSH_KEV = "CVE-2021-41773"  # Apache 2.4.49, in kev-slice.json


def _feed(path: Path, record: dict[str, object], raw: dict[str, str] | None = None) -> Path:
    """An NVD 2.0 feed of ``record``; ``raw`` replaces a JSON string placeholder verbatim."""
    text = json.dumps({
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2024-01-01T00:00:00.000",
        "vulnerabilities": [{"cve": record}],
    })  # fmt: skip
    for placeholder, value in (raw or {}).items():
        text = text.replace(json.dumps(placeholder), value)
    path.write_text(text, encoding="utf-8")
    return path


def _brulee(*args: str, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the brulee CLI in a process of its own, its address space capped at ``memory``."""

    def cap() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "brulee", *args],
        capture_output=True, text=True, timeout=120, preexec_fn=cap, check=False,
    )  # fmt: skip


def test_feed_nested_100_000_deep_fails_fast_in_little_memory(
    tmp_path: Path, db_path: Path
) -> None:
    import_files(db_path, [ASSETS / "kev-slice.json"])
    before = db_path.read_bytes()
    deep = "[" * 100_000 + "]" * 100_000
    feed = _feed(tmp_path / "nested.json", RECORD | {"references": "@deep"}, {"@deep": deep})
    assert feed.stat().st_size < 220_000
    started = time.monotonic()
    done = _brulee("db", "import", str(feed), "--db", str(db_path), memory=1 << 30)
    assert time.monotonic() - started < 30
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"brulee: error: {feed}: nested deeper than 32 levels in record 1 "
        "(vulnerabilities.item.cve); nothing was imported; check the file or download it again"
    ]
    assert db_path.read_bytes() == before


def test_references_5000_deep_are_an_error_not_a_recursion(
    tmp_path: Path, openssh_db: Path
) -> None:
    before = openssh_db.read_bytes()
    deep = "[" * 5000 + "]" * 5000
    feed = _feed(tmp_path / "refs.json", RECORD | {"references": "@deep"}, {"@deep": deep})
    with pytest.raises(FeedError, match="nested deeper than 32 levels in record 1") as caught:
        import_files(openssh_db, [feed])
    assert caught.value.exit_code == 2
    assert openssh_db.read_bytes() == before


def _metrics(score: object) -> Any:
    metrics = json.loads(json.dumps(RECORD["metrics"]))
    for entries in metrics.values():
        for entry in entries:
            entry["cvssData"]["baseScore"] = score
    return metrics


def _bound(version: object) -> Any:
    configurations = json.loads(json.dumps(RECORD["configurations"]))
    configurations[0]["nodes"][0]["cpeMatch"][0]["versionEndExcluding"] = version
    return configurations


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metrics": _metrics("inf")}, "CVSS 3.1 baseScore 'inf' is not a number from 0 to 10"),
        ({"metrics": _metrics(1e308)}, "CVSS 3.1 baseScore 1e+308 is not a number from 0 to 10"),
        ({"metrics": _metrics(-1)}, "CVSS 3.1 baseScore -1 is not a number from 0 to 10"),
        ({"metrics": _metrics("NaN")}, "CVSS 3.1 baseScore 'NaN' is not a number from 0 to 10"),
        ({"configurations": _bound("9" * 5000)}, "versionEndExcluding is 5,000 characters long"),
        ({"configurations": _bound({"x": 1})}, "versionEndExcluding {'x': 1} is not text"),
        ({"lastModified": "9999-12-31T00:00:00.000"}, "lastModified '9999-12-31T00:00:00.000' is"),
        ({"published": "yesterday"}, "published 'yesterday' is not a date"),
        ({"id": "CVE-2023-" + "1" * 5000}, "CVE record (no CVE id) is malformed: id 'CVE-2023-111"),
    ],
)  # fmt: skip
def test_poisoned_nvd_values_are_refused(
    tmp_path: Path, openssh_db: Path, change: dict[str, object], message: str
) -> None:
    before = openssh_db.read_bytes()
    feed = _feed(tmp_path / "poisoned.json", RECORD | change)
    with pytest.raises(FeedError) as caught:
        import_files(openssh_db, [feed])
    assert str(caught.value).startswith(f"{feed}: ")
    assert message in str(caught.value)
    assert caught.value.exit_code == 2
    assert openssh_db.read_bytes() == before


EPSS_HEAD = "#model_version:v2025.03.14,score_date:{date}\ncve,epss,percentile\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("CVE-2023-38408,1e308,0.5", "line 3: epss '1e308' is not a number from 0 to 1"),
        ("CVE-2023-38408,-inf,0.5", "line 3: epss '-inf' is not a number from 0 to 1"),
        ("CVE-2023-38408,nan,0.5", "line 3: epss 'nan' is not a number from 0 to 1"),
        ("CVE-2023-38408,0.5,1.5", "line 3: percentile '1.5' is not a number from 0 to 1"),
        ("CVE-2023-38408," + "1" * 5000 + ",0.5", "line 3 is longer than 4,096 characters"),
    ],
)
def test_poisoned_epss_scores_are_refused(
    tmp_path: Path, openssh_db: Path, row: str, message: str
) -> None:
    before = openssh_db.read_bytes()
    epss = tmp_path / "epss.csv"
    epss.write_text(EPSS_HEAD.format(date="2025-01-01T00:00:00+0000") + row + "\n")
    with pytest.raises(FeedError, match="nothing was imported") as caught:
        import_files(openssh_db, [epss])
    assert message in str(caught.value)
    assert openssh_db.read_bytes() == before


def test_nan_feed_and_poisoned_epss_exit_2_from_the_cli(tmp_path: Path, db_path: Path) -> None:
    epss = tmp_path / "epss.csv"
    epss.write_text("cve,epss,percentile\nCVE-2023-38408,nan,0.5\n")
    done = _brulee("db", "import", str(epss), "--db", str(db_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"brulee: error: {epss}: line 2: epss 'nan' is not a number from 0 to 1; "
        "nothing was imported; check the file or download it again"
    )
    assert not db_path.exists()


def _kev(tmp_path: Path, released: str, added: str = "2021-11-03") -> Path:
    catalog = json.loads((ASSETS / "kev-slice.json").read_text(encoding="utf-8"))
    catalog["dateReleased"] = released
    catalog["vulnerabilities"] = [
        entry | {"dateAdded": added}
        for entry in catalog["vulnerabilities"]
        if entry["cveID"] != OPENSSH_KEV
    ]
    path = tmp_path / f"kev-{released[:4]}.json"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    return path


def _kev_ids(db_path: Path) -> set[str]:
    return {str(row[0]) for row in rows(db_path, "SELECT cve_id FROM kev")}


def test_snapshots_dated_in_the_future_are_refused(tmp_path: Path, db_path: Path) -> None:
    import_files(db_path, [ASSETS / "kev-slice.json", ASSETS / "epss-slice.csv"])
    before = db_path.read_bytes()
    future_kev = _kev(tmp_path, "9999-12-31T00:00:00.000Z")
    future_epss = tmp_path / "epss-future.csv"
    future_epss.write_text(
        EPSS_HEAD.format(date="9999-12-31T00:00:00+0000") + "CVE-2023-38408,0.5,0.5\n"
    )
    added_later = _kev(tmp_path, "2025-08-25T17:04:19.9796Z", added="9999-01-01")
    future_feed = _feed(tmp_path / "feed.json", RECORD)
    future_feed.write_text(future_feed.read_text().replace("2024-01-01T00:00:00.000", "9999-01-01"))
    for path, message in (
        (future_feed, "the feed's timestamp '9999-01-01' is in the future"),
        (future_kev, "the KEV catalog's dateReleased '9999-12-31T00:00:00.000Z' is in the future"),
        (future_epss, "line 1: score_date '9999-12-31T00:00:00+0000' is in the future"),
        (added_later, "KEV entry 1 CVE-2017-7494: dateAdded '9999-01-01' is in the future"),
    ):
        with pytest.raises(FeedError) as caught:
            import_files(db_path, [path])
        assert message in str(caught.value)
        assert caught.value.exit_code == 2
    assert db_path.read_bytes() == before
    assert OPENSSH_KEV in _kev_ids(db_path)


def test_a_database_poisoned_by_a_future_snapshot_takes_the_next_genuine_one(
    db_path: Path,
) -> None:
    """Databases built before dates were checked may hold a catalogue dated 9999-12-31: it
    must not make every later genuine import "unchanged" (Apache 2.4.49 lost its KEV marks)."""
    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz"])
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE cve SET last_modified = '9999-12-31T00:00:00.000'")
        conn.execute("UPDATE cvss_metric SET score = 1e999")
        conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("kev_date_released", "9999-12-31T00:00:00.000Z"),
             ("epss_score_date", "9999-12-31T00:00:00+0000")],
        )  # fmt: skip
    conn.close()
    genuine = [
        ASSETS / "nvdcve-2.0-2024.json.gz",
        ASSETS / "kev-slice.json",
        ASSETS / "epss-slice.csv",
    ]
    summary = import_files(db_path, genuine)
    assert [(r.kind, r.unchanged) for r in summary.files] == [("nvd", 0), ("kev", 0), ("epss", 0)]
    assert (summary.files[0].updated, summary.files[1].added) == (1, 12)
    assert rows(
        db_path, "SELECT max(last_modified) < '2026', max(score) <= 10 FROM cve, cvss_metric"
    ) == [(1, 1)]
    assert OPENSSH_KEV in _kev_ids(db_path)
    assert rows(db_path, "SELECT value FROM meta WHERE key = 'kev_date_released'") == [
        ("2025-08-25T17:04:19.9796Z",)
    ]
    with VulnDb.open(db_path) as db:
        assert db.info().epss_score_date != "9999-12-31T00:00:00+0000"


# -- first runs at once ----------------------------------------------------------------------------


def test_six_first_runs_at_once_share_one_starter_build(tmp_path: Path) -> None:
    """Six ``brulee report`` processes on a fresh machine: one builds the starter database, the
    others wait for it instead of failing with "another brulee process is updating"."""
    env = {k: v for k, v in os.environ.items() if k != "BRULEE_DB"}
    env |= {"XDG_DATA_HOME": str(tmp_path / "share"), "HOME": str(tmp_path)}
    xml = Path(__file__).resolve().parents[1] / "assets" / "nmap" / "lab-basic.xml"
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brulee",
                "report",
                str(xml),
                "-f",
                "json",
                "--no-history",
                "-o",
                str(tmp_path / f"out{n}"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(6)
    ]
    results = [(run.wait(timeout=300), run.communicate()[1]) for run in runs]
    assert [code for code, _ in results] == [0] * 6, results
    assert not any("another brulee process" in err for _, err in results)
    assert all((tmp_path / f"out{n}" / "report.json").is_file() for n in range(6))
    database = tmp_path / "share" / "brulee" / "vulndb.sqlite"
    assert rows(database, "SELECT count(*) FROM cve") == [(2299,)]


def test_a_first_run_waits_for_the_lock_then_uses_the_database_built_meanwhile(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "vulndb.sqlite"
    lock_path = db_path.with_name("vulndb.sqlite.lock")
    with lock_path.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DatabaseError, match=r"another brulee process .* \(waited 1 s\)"):
            ensure_starter(db_path, wait=1.0)
        assert not db_path.exists()
        import_files(db_path, [ASSETS / "kev-slice.json"], locked=True)  # the other process
        threading.Timer(0.5, fcntl.flock, (held.fileno(), fcntl.LOCK_UN)).start()
        started = time.monotonic()
        assert ensure_starter(db_path, wait=30.0) is False
        assert time.monotonic() - started < 10
    assert rows(db_path, "SELECT count(*) FROM cve") == [(0,)]  # not rebuilt
    assert ensure_starter(tmp_path / "fresh.sqlite", wait=0) is True
