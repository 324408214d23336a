"""``db update``, ``db mirror``, ``db export``/``db import`` against a real HTTP server on loopback
that serves feed files built from the repository's data, with correct ``.meta`` files, and faults.

Every fault case checks that the earlier database still answers queries.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import signal
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from brulee.errors import DatabaseError, FeedError
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import import_files
from brulee.vulndb.download import Transport, download
from brulee.vulndb.feeds import parse_feed_meta
from brulee.vulndb.meta import format_info
from brulee.vulndb.mirror import mirror
from brulee.vulndb.nvdapi import API_FILE
from brulee.vulndb.store import VulnDb
from brulee.vulndb.transfer import export_db, import_db, is_export
from brulee.vulndb.update import UpdateSummary, update
from brulee.vulndb.urls import MIRROR_FILES, UBUNTU_OVAL_RELEASES, UpdateUrls, snapshots
from tests.vulndb.conftest import ASSETS, rows
from tests.vulndb.feedserver import (
    API_PATH,
    UBUNTU_RELEASES,
    YEARS,
    Fault,
    FeedServer,
    build_upstream,
    changed_2024_feed,
    feed_json,
    feed_records,
    record,
    serve,
    write_feed,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
YEARLY = [f"nvdcve-2.0-{year}.json.gz" for year in YEARS]
UBUNTU_FILES = [f"com.ubuntu.{release}.cve.oval.xml.bz2" for release in UBUNTU_RELEASES]
SNAPSHOT_FILES = [
    "known_exploited_vulnerabilities.json",
    "epss_scores-current.csv.gz",
    "DSA-list",
    "DLA-list",
    "CPE-list",
    "CPE-aliases",
    *UBUNTU_FILES,
]
KINDS = [
    "debian-cpe", "debian-cpe-aliases", "debian-dla", "debian-dsa", "epss", "kev", "nvd",
    "ubuntu-oval",
]  # fmt: skip


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NVD_API_KEY", raising=False)


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    return build_upstream(tmp_path / "upstream")


@pytest.fixture
def server(upstream: Path) -> Iterator[FeedServer]:
    yield from serve(upstream)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def _transport(fake_time: FakeTime, **options: Any) -> Transport:
    return Transport(
        backoff=1.0, timeout=10.0, sleep=fake_time.sleep, clock=fake_time.clock, **options
    )


def _update(
    db_path: Path, base: str, fake_time: FakeTime, *, at: datetime = NOW, **options: Any
) -> UpdateSummary:
    return update(
        db_path,
        mirror=base,
        years=YEARS,
        ubuntu_releases=UBUNTU_RELEASES,
        now=lambda: at,
        transport=_transport(fake_time),
        **options,
    )


def _answers(db_path: Path) -> None:
    """The database opens and finds the OpenSSH CVEs."""
    with VulnDb.open(db_path) as db:
        ids = {c.id for c in db.candidates("openbsd", "openssh")}
    assert {"CVE-2024-6387", "CVE-2023-38408"} <= ids


def _no_junk(db_path: Path) -> None:
    assert sorted(p.name for p in db_path.parent.iterdir()) == [
        "vulndb.sqlite",
        "vulndb.sqlite.lock",
    ]


def _meta(db_path: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in rows(db_path, "SELECT key, value FROM meta")}


def _names(summary: UpdateSummary) -> list[str]:
    return [f.name for f in summary.downloaded]


def _built(db_path: Path, server: FeedServer, fake_time: FakeTime) -> bytes:
    """The database after a first update at NOW, as bytes; the server's log cleared."""
    _update(db_path, server.url, fake_time)
    server.clear()
    fake_time.sleeps.clear()
    return db_path.read_bytes()


# -- the .meta format -----------------------------------------------------------------------------


def test_parse_feed_meta_reads_nvd_layout() -> None:
    text = (
        "lastModifiedDate:2024-07-09T03:00:01-04:00\r\nsize:1234\r\nzipSize:99\r\ngzSize:100\r\n"
        "sha256:" + "AB" * 32 + "\r\n"
    )
    meta = parse_feed_meta(text)
    assert (meta.last_modified, meta.size, meta.gz_size, meta.sha256) == (
        "2024-07-09T03:00:01-04:00", 1234, 100, "ab" * 32,
    )  # fmt: skip
    with pytest.raises(ValueError, match="no sha256 line"):
        parse_feed_meta("size:12\r\n")
    with pytest.raises(ValueError, match="not a SHA-256"):
        parse_feed_meta("size:12\r\nsha256:xyz\r\n")


def test_mirror_urls_use_upstream_names() -> None:
    urls = UpdateUrls.from_mirror("http://mirror.example/nvd")
    assert urls.nvd_feeds == "http://mirror.example/nvd/"
    assert urls.kev == "http://mirror.example/nvd/known_exploited_vulnerabilities.json"
    assert urls.epss == "http://mirror.example/nvd/epss_scores-current.csv.gz"
    assert urls.debian_cpe_aliases == "http://mirror.example/nvd/CPE-aliases"
    assert urls.nvd_api == UpdateUrls().nvd_api
    assert UpdateUrls().epss == "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
    assert UpdateUrls.from_mirror("/srv/mirror").kev == (
        "file:///srv/mirror/known_exploited_vulnerabilities.json"
    )


# -- updates from a mirror ------------------------------------------------------------------------


def test_first_update_downloads_everything_and_records_each_source(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    events: list[tuple[str, int, int | None]] = []
    summary = _update(db_path, server.url, fake_time, progress=lambda *e: events.append(e))
    feeds = [*YEARLY, "nvdcve-2.0-modified.json.gz", "nvdcve-2.0-recent.json.gz"]
    assert _names(summary) == feeds + SNAPSHOT_FILES
    assert summary.warnings == () and summary.unchanged == ()
    assert summary.cves == 9
    assert server.paths(".meta") == [f"/{name[: -len('.json.gz')]}.meta" for name in feeds]
    assert not any("range" in s.headers for s in server.seen)
    _answers(db_path)
    _no_junk(db_path)
    meta = _meta(db_path)
    stamp = "2026-11-20T12:00:00+00:00"
    assert {k: v for k, v in meta.items() if k.startswith("last_update")} == {
        "last_update": stamp,
        **{f"last_update:{kind}": stamp for kind in KINDS},
    }
    assert meta["update_source"] == "feeds"
    # every downloaded NVD feed is recorded with the sha256 its .meta announced
    for name in feeds:
        announced = parse_feed_meta(
            (server.root / name.replace(".json.gz", ".meta")).read_text("utf-8")
        )
        assert rows(
            db_path, "SELECT content_sha256, content_size FROM source WHERE name = ?", name
        ) == [(announced.sha256, announced.size)]
    with VulnDb.open(db_path) as db:
        assert dict(db.info().last_updates) == dict.fromkeys(KINDS, stamp)
        assert db.info().kev_entries == 12
    labels = {label for label, _, _ in events}
    assert "download nvdcve-2.0-2024.json.gz" in labels
    assert "import nvdcve-2.0-2024.json.gz" in labels
    done, total = next((d, t) for label, d, t in events if label.endswith("2024.json.gz"))
    assert done == total == (server.root / "nvdcve-2.0-2024.json.gz").stat().st_size


def test_incremental_update_downloads_only_the_changed_feed(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    _built(db_path, server, fake_time)
    modified = [*feed_records(server.root / "nvdcve-2.0-modified.json.gz")]
    modified.append(record("CVE-2017-15715.json"))
    write_feed(server.root, "nvdcve-2.0-modified", feed_json(modified, "2026-11-21T08:00:00.000"))

    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=1))

    # within the modified feed's window: no yearly feed is even looked at
    assert server.paths(".meta") == ["/nvdcve-2.0-modified.meta", "/nvdcve-2.0-recent.meta"]
    assert server.paths(".json.gz") == ["/nvdcve-2.0-modified.json.gz"]
    assert _names(summary) == ["nvdcve-2.0-modified.json.gz", *SNAPSHOT_FILES]
    assert summary.unchanged == ("nvdcve-2.0-recent.json.gz", *SNAPSHOT_FILES)
    assert [(f.path.name, f.added) for f in summary.imported.files] == [
        ("nvdcve-2.0-modified.json.gz", 1)
    ]
    assert rows(db_path, "SELECT id FROM cve WHERE id = 'CVE-2017-15715'") == [("CVE-2017-15715",)]
    assert _meta(db_path)["last_update:kev"] == "2026-11-21T12:00:00+00:00"
    _answers(db_path)
    _no_junk(db_path)


def test_update_after_the_modified_window_checks_every_yearly_feed(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    _built(db_path, server, fake_time)
    changed_2024_feed(server.root)

    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))

    assert len(server.paths(".meta")) == len(YEARLY) + 2
    assert server.paths(".json.gz") == ["/nvdcve-2.0-2024.json.gz"]
    assert [f.path.name for f in summary.imported.files] == ["nvdcve-2.0-2024.json.gz"]
    assert summary.imported.files[0].updated == 1
    assert rows(db_path, "SELECT description FROM cve WHERE id = 'CVE-2024-6387'") == [
        ("regreSSHion, revised",)
    ]


def test_update_from_a_file_url_and_from_a_directory(
    tmp_path: Path, upstream: Path, fake_time: FakeTime
) -> None:
    by_url, by_path = tmp_path / "a" / "vulndb.sqlite", tmp_path / "b" / "vulndb.sqlite"
    summary = _update(by_url, upstream.as_uri(), fake_time)
    assert summary.warnings == ()
    assert summary.downloaded[0].url == (upstream / "nvdcve-2.0-2023.json.gz").as_uri()
    _update(by_path, str(upstream), fake_time)
    for db_path in (by_url, by_path):
        _answers(db_path)
        _no_junk(db_path)
    assert rows(by_url, "SELECT count(*) FROM cve") == rows(by_path, "SELECT count(*) FROM cve")


def test_mirror_fills_a_directory_that_serves_updates(
    tmp_path: Path, db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    directory = tmp_path / "mirror"
    urls = UpdateUrls.from_mirror(server.url)
    options: dict[str, Any] = {"years": YEARS, "ubuntu_releases": UBUNTU_RELEASES}
    first = mirror(directory, urls=urls, transport=_transport(fake_time), **options)
    assert first.warnings == ()
    names = [name for name in MIRROR_FILES if not name.startswith("com.ubuntu.")] + UBUNTU_FILES
    expected = {name.replace("YYYY", str(year)) for name in names for year in YEARS} | {
        ".brulee-mirror.lock"
    }
    assert {p.name for p in directory.iterdir()} == expected
    for path in directory.iterdir():
        if not path.name.startswith("."):
            assert path.read_bytes() == (server.root / path.name).read_bytes(), path.name

    server.clear()
    again = mirror(directory, urls=urls, transport=_transport(fake_time), **options)
    assert server.paths(".json.gz") == []
    assert set(again.unchanged) == {
        *YEARLY,
        "nvdcve-2.0-modified.json.gz",
        "nvdcve-2.0-recent.json.gz",
    }

    _update(db_path, directory.as_uri(), fake_time)
    _answers(db_path)


# -- Canonical's Ubuntu CVE OVAL ------------------------------------------------------------------


def test_ubuntu_oval_of_every_supported_release_is_fetched_from_canonicals_names(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    assert UpdateUrls().url_of(snapshots(["jammy"])[-1]) == (
        "https://security-metadata.canonical.com/oval/com.ubuntu.jammy.cve.oval.xml.bz2"
    )
    # the default releases; the test mirror has no data for jammy and noble
    summary = update(
        db_path, mirror=server.url, years=YEARS, now=lambda: NOW, transport=_transport(fake_time)
    )
    assert server.paths(".oval.xml.bz2") == [
        f"/com.ubuntu.{release}.cve.oval.xml.bz2" for release in UBUNTU_OVAL_RELEASES
    ]
    assert summary.warnings == tuple(
        f"Ubuntu {release} OVAL (com.ubuntu.{release}.cve.oval.xml.bz2) not found: "
        f"{server.url}com.ubuntu.{release}.cve.oval.xml.bz2: HTTP 404 Not Found; the database "
        f"has no Ubuntu {release} OVAL"
        for release in ("jammy", "noble")
    )
    with VulnDb.open(db_path) as db:
        assert set(db.ubuntu_releases()) == set(UBUNTU_RELEASES)
        text = "\n".join(format_info(db.info()))
    assert "           focal data of 2021-08-31: 70 CVEs, 70 package statuses" in text
    assert "ubuntu-oval com.ubuntu.focal.cve.oval.xml.bz2: 70 records" in text


def test_dropped_ubuntu_download_resumes_and_a_broken_one_keeps_the_release(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    focal = "/com.ubuntu.focal.cve.oval.xml.bz2"
    server.fault(focal, Fault(drop_after=2000))
    _update(db_path, server.url, fake_time)
    attempts = [(s.headers.get("range"), s.status) for s in server.seen if s.path == focal]
    assert attempts == [(None, 200), ("bytes=2000-", 206)]
    statuses = "SELECT count(*) FROM ubuntu_status WHERE release = 'focal'"
    assert rows(db_path, statuses) == [(70,)]

    whole = (server.root / focal.lstrip("/")).read_bytes()
    (server.root / focal.lstrip("/")).write_bytes(whole[: len(whole) // 2])
    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=1))
    (warning,) = summary.warnings
    assert warning.startswith(
        "Ubuntu focal OVAL (com.ubuntu.focal.cve.oval.xml.bz2) is unusable: cannot read it"
    )
    assert warning.endswith("; the database keeps what it had of the Ubuntu focal OVAL")
    assert rows(db_path, statuses) == [(70,)]
    _no_junk(db_path)


# -- faults ---------------------------------------------------------------------------------------


def test_corrupted_download_is_retried_then_refused(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    before = _built(db_path, server, fake_time)
    changed_2024_feed(server.root)
    good = (server.root / "nvdcve-2.0-2024.json.gz").read_bytes()
    corrupt = good[:-20] + bytes(20)
    server.fault("/nvdcve-2.0-2024.json.gz", *[Fault(body=corrupt)] * 4)

    with pytest.raises(DatabaseError, match="does not match") as caught:
        _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))

    assert caught.value.exit_code == 3
    assert "nvdcve-2.0-2024.meta" in str(caught.value)
    assert server.paths("2024.json.gz") == ["/nvdcve-2.0-2024.json.gz"] * 4
    assert server.paths("2024.meta") == ["/nvdcve-2.0-2024.meta"] * 4  # re-read each time
    assert fake_time.sleeps == [1.0, 2.0, 4.0]
    assert server.paths("known_exploited_vulnerabilities.json") == []  # stopped at NVD
    assert db_path.read_bytes() == before
    _answers(db_path)
    _no_junk(db_path)


def test_corrupted_download_once_then_good(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    server.fault("/nvdcve-2.0-2024.json.gz", Fault(body=b"\x1f\x8b garbage"))
    summary = _update(db_path, server.url, fake_time)
    assert server.paths("2024.json.gz") == ["/nvdcve-2.0-2024.json.gz"] * 2
    assert fake_time.sleeps == [1.0]
    assert "nvdcve-2.0-2024.json.gz" in _names(summary)
    _answers(db_path)


def test_dropped_connection_resumes_with_range(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    server.fault("/nvdcve-2.0-2024.json.gz", Fault(drop_after=1000))
    _update(db_path, server.url, fake_time)
    attempts = [s for s in server.seen if s.path == "/nvdcve-2.0-2024.json.gz"]
    assert [(s.headers.get("range"), s.status) for s in attempts] == [
        (None, 200),
        ("bytes=1000-", 206),
    ]
    assert attempts[1].headers["if-range"].startswith('"')
    assert fake_time.sleeps == [1.0]
    _answers(db_path)
    _no_junk(db_path)


def test_dropped_connection_restarts_when_the_server_ignores_range(
    db_path: Path, upstream: Path, fake_time: FakeTime
) -> None:
    with FeedServer(upstream, ranges=False) as server:
        server.fault("/known_exploited_vulnerabilities.json", Fault(drop_after=500))
        server.fault("/nvdcve-2.0-2024.json.gz", Fault(drop_after=1000))
        _update(db_path, server.url, fake_time)
    attempts = [s for s in server.seen if s.path == "/nvdcve-2.0-2024.json.gz"]
    assert [(s.headers.get("range"), s.status) for s in attempts] == [
        (None, 200),
        ("bytes=1000-", 200),
    ]
    assert rows(db_path, "SELECT count(*) FROM kev") == [(12,)]
    _answers(db_path)


def test_429_and_503_wait_as_retry_after_says(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    server.fault("/nvdcve-2.0-2025.meta", Fault(status=503, retry_after="3"))
    server.fault("/known_exploited_vulnerabilities.json", Fault(status=429, retry_after="7"))
    summary = _update(db_path, server.url, fake_time)
    assert fake_time.sleeps == [3.0, 7.0]
    assert [s.status for s in server.seen if s.path == "/nvdcve-2.0-2025.meta"] == [503, 200]
    assert summary.warnings == ()
    _answers(db_path)


def test_retry_after_as_an_http_date_is_capped(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    server.fault("/CPE-list", Fault(status=503, retry_after="Wed, 21 Oct 2099 07:28:00 GMT"))
    summary = _update(db_path, server.url, fake_time)
    assert fake_time.sleeps == [600.0]  # Transport.max_wait
    assert summary.warnings == ()


def test_a_partial_file_longer_than_the_file_is_downloaded_again(
    tmp_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    part = tmp_path / "kev.part"
    part.write_bytes(b"x" * 100_000)
    size = download(
        server.url + "known_exploited_vulnerabilities.json",
        part,
        _transport(fake_time),
        label="kev",
    )
    assert part.read_bytes() == (server.root / "known_exploited_vulnerabilities.json").read_bytes()
    assert size == part.stat().st_size
    assert [(s.headers.get("range"), s.status) for s in server.seen] == [
        ("bytes=100000-", 416),
        (None, 200),
    ]
    assert fake_time.sleeps == []


def test_503_until_the_attempts_are_spent_fails(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    before = _built(db_path, server, fake_time)
    server.fault("/nvdcve-2.0-modified.meta", *[Fault(status=503)] * 4)
    with pytest.raises(DatabaseError, match=r"HTTP 503.*gave up after 4 attempts"):
        _update(db_path, server.url, fake_time, at=NOW + timedelta(days=1))
    assert fake_time.sleeps == [1.0, 2.0, 4.0]  # exponential backoff without Retry-After
    assert db_path.read_bytes() == before
    _answers(db_path)


def test_feed_that_is_not_json_is_refused(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    before = _built(db_path, server, fake_time)
    write_feed(server.root, "nvdcve-2.0-2024", b"<html><body>Service unavailable</body></html>")
    with pytest.raises(DatabaseError, match="unusable") as caught:
        _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))
    assert "nvdcve-2.0-2024.json.gz" in str(caught.value)
    assert caught.value.exit_code == 3
    assert db_path.read_bytes() == before
    _answers(db_path)
    _no_junk(db_path)


def test_missing_kev_is_a_warning_and_keeps_the_catalog(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    _built(db_path, server, fake_time)
    (server.root / "known_exploited_vulnerabilities.json").unlink()
    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=1))
    assert len(summary.warnings) == 1
    assert (
        "CISA KEV catalog (known_exploited_vulnerabilities.json) not found" in summary.warnings[0]
    )
    assert "HTTP 404" in summary.warnings[0]
    assert rows(db_path, "SELECT count(*) FROM kev") == [(12,)]
    meta = _meta(db_path)
    assert meta["last_update:kev"] == "2026-11-20T12:00:00+00:00"  # not brought up to date
    assert meta["last_update:nvd"] == "2026-11-21T12:00:00+00:00"
    _answers(db_path)


def test_kev_that_is_not_json_is_a_warning_and_keeps_the_catalog(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    _built(db_path, server, fake_time)
    changed_2024_feed(server.root)
    (server.root / "known_exploited_vulnerabilities.json").write_text("<html>login</html>")
    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))
    (warning,) = summary.warnings
    assert warning.startswith(
        "CISA KEV catalog (known_exploited_vulnerabilities.json) is unusable: not a JSON object"
    )
    assert warning.endswith("; the database keeps what it had of the CISA KEV catalog")
    assert [f.path.name for f in summary.imported.files] == ["nvdcve-2.0-2024.json.gz"]
    assert rows(db_path, "SELECT count(*) FROM kev") == [(12,)]
    meta = _meta(db_path)
    assert meta["last_update:kev"] == "2026-11-20T12:00:00+00:00"
    assert meta["last_update:nvd"] == meta["last_update:epss"] == "2026-11-30T12:00:00+00:00"
    _answers(db_path)
    _no_junk(db_path)


def test_missing_nvd_feed_fails_and_keeps_the_database(
    tmp_path: Path, db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    before = _built(db_path, server, fake_time)
    changed_2024_feed(server.root)
    feed_2024 = server.root / "nvdcve-2.0-2024.json.gz"
    new_2024 = feed_2024.read_bytes()
    feed_2024.unlink()  # a new .meta, but no feed
    with pytest.raises(DatabaseError, match="missing") as caught:
        _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))
    assert f"{server.url}nvdcve-2.0-2024.json.gz" in str(caught.value)
    assert db_path.read_bytes() == before
    feed_2024.write_bytes(new_2024)
    for name in ("nvdcve-2.0-2025.meta", "nvdcve-2.0-2025.json.gz"):
        (server.root / name).unlink()  # the feed is gone altogether
    with pytest.raises(DatabaseError, match="missing") as caught:
        _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))
    assert f"{server.url}nvdcve-2.0-2025.meta" in str(caught.value)
    assert caught.value.exit_code == 3
    assert db_path.read_bytes() == before
    _answers(db_path)
    _no_junk(db_path)
    fresh = tmp_path / "fresh" / "vulndb.sqlite"
    with pytest.raises(DatabaseError, match="missing"):
        _update(fresh, server.url, fake_time)
    assert sorted(p.name for p in fresh.parent.iterdir()) == ["vulndb.sqlite.lock"]


_KILLABLE = """
import sys, time
from datetime import datetime
from pathlib import Path
from brulee.vulndb.update import update

db, base, phase, now = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def progress(label, done, total):
    if label.startswith(phase):
        print(label, flush=True)
        time.sleep(120)

at = datetime.fromisoformat(now)
update(db, mirror=base, years=range(2023, 2026), progress=progress, now=lambda: at)
"""


@pytest.mark.parametrize(
    ("phase", "left"),
    [("download", ".vulndb.sqlite.download"), ("import", ".vulndb.sqlite.")],
)
def test_update_killed_midway_leaves_the_database_intact(
    db_path: Path, server: FeedServer, fake_time: FakeTime, phase: str, left: str
) -> None:
    before = _built(db_path, server, fake_time)
    changed_2024_feed(server.root)
    later = (NOW + timedelta(days=10)).isoformat()
    args = [sys.executable, "-c", _KILLABLE, str(db_path), server.url, phase, later]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line == f"{phase} nvdcve-2.0-2024.json.gz\n", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    leftovers = [p.name for p in db_path.parent.iterdir() if p.name.startswith(".")]
    assert any(name.startswith(left) for name in leftovers), leftovers  # killed midway indeed
    assert db_path.read_bytes() == before
    _answers(db_path)

    summary = _update(db_path, server.url, fake_time, at=NOW + timedelta(days=10))
    assert [f.path.name for f in summary.imported.files] == ["nvdcve-2.0-2024.json.gz"]
    assert rows(db_path, "SELECT description FROM cve WHERE id = 'CVE-2024-6387'") == [
        ("regreSSHion, revised",)
    ]
    _answers(db_path)
    _no_junk(db_path)


def test_a_second_update_meanwhile_is_refused_naming_the_lock(
    db_path: Path, server: FeedServer, fake_time: FakeTime
) -> None:
    reached, release = threading.Event(), threading.Event()
    server.fault("/known_exploited_vulnerabilities.json", Fault(reached=reached, release=release))
    outcome: list[object] = []

    def first() -> None:
        try:
            outcome.append(_update(db_path, server.url, FakeTime()))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            outcome.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert reached.wait(10)
        with pytest.raises(DatabaseError, match="another brulee process is updating") as caught:
            _update(db_path, server.url, fake_time)
        assert str(db_path.with_name("vulndb.sqlite.lock")) in str(caught.value)
    finally:
        release.set()
        thread.join(30)
    assert isinstance(outcome[0], UpdateSummary), outcome
    _answers(db_path)
    _no_junk(db_path)


# -- the NVD API ----------------------------------------------------------------------------------


class FakeApi:
    """The NVD CVE API 2.0 over a list of records: paging, lastMod windows, scripted failures."""

    def __init__(self, records: list[dict[str, Any]], failures: list[int] | None = None) -> None:
        self.records = sorted(records, key=lambda r: str(r["id"]))
        self.failures = failures or []
        self.queries: list[Mapping[str, str]] = []
        self.keys: list[str | None] = []

    def __call__(
        self, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, Mapping[str, str], bytes]:
        self.queries.append(query)
        self.keys.append(headers.get("apikey"))
        if self.failures:
            return self.failures.pop(0), {}, b"<html>Forbidden</html>"
        chosen = self.records
        if "lastModStartDate" in query:
            start = datetime.fromisoformat(query["lastModStartDate"])
            end = datetime.fromisoformat(query["lastModEndDate"])
            assert end - start <= timedelta(days=120)
            chosen = [r for r in chosen if start <= _instant(r["lastModified"]) <= end]
        first, size = int(query["startIndex"]), int(query["resultsPerPage"])
        page = chosen[first : first + size]
        body = json.loads(feed_json(page, "2026-11-20T11:59:00.000"))
        body |= {"startIndex": first, "totalResults": len(chosen)}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _api_records() -> list[dict[str, Any]]:
    return [
        *feed_records(ASSETS / "api-page-openssh.json"),
        record("CVE-2023-38408.json"),
        record("record-CVE-2025-32728.json"),
    ]


def _api_update(
    db_path: Path, server: FeedServer, fake_time: FakeTime, *, page: int, **options: Any
) -> UpdateSummary:
    return update(
        db_path,
        source="api",
        mirror=server.url,
        urls=UpdateUrls(nvd_api=server.url + API_PATH.lstrip("/")),
        transport=_transport(fake_time, api_page_size=page),
        **{"now": lambda: NOW, **options},
    )


def test_api_update_pages_retries_403_and_continues_from_the_last_update(
    db_path: Path, upstream: Path, fake_time: FakeTime
) -> None:
    api = FakeApi(_api_records(), failures=[403])
    with FeedServer(upstream, api=api) as server:
        summary = _api_update(db_path, server, fake_time, page=2)
        assert [q.get("startIndex") for q in api.queries] == ["0", "0", "2", "4"]
        assert all("lastModStartDate" not in q for q in api.queries)  # first update: everything
        assert fake_time.sleeps == [1.0]  # 403 retried after the backoff
        assert _names(summary) == [API_FILE, *SNAPSHOT_FILES]
        assert summary.imported.files[0].records == 5
        assert rows(db_path, "SELECT count(*) FROM cve") == [(5,)]
        with VulnDb.open(db_path) as db:
            assert {c.id for c in db.candidates("openbsd", "openssh")} >= {"CVE-2023-38408"}
            assert db.info().nvd_timestamp == datetime(2026, 11, 20, 11, 59, tzinfo=UTC)
        assert _meta(db_path)["update_source"] == "api"

        api.queries.clear()
        later = NOW + timedelta(days=1)
        _api_update(db_path, server, fake_time, page=2, now=lambda: later)
        assert api.queries == [
            {
                "resultsPerPage": "2",
                "startIndex": "0",
                "lastModStartDate": "2026-11-20T11:00:00.000+00:00",
                "lastModEndDate": "2026-11-21T12:00:00.000+00:00",
            }
        ]

        api.queries.clear()
        much_later = later + timedelta(days=200)
        _api_update(db_path, server, fake_time, page=2, now=lambda: much_later)
        windows = [(q["lastModStartDate"], q["lastModEndDate"]) for q in api.queries]
        assert windows == [
            ("2026-11-21T11:00:00.000+00:00", "2027-03-21T11:00:00.000+00:00"),
            ("2027-03-21T11:00:00.000+00:00", "2027-06-09T12:00:00.000+00:00"),
        ]
    _no_junk(db_path)


@pytest.mark.parametrize(("key", "waits"), [(None, [1.0, 29.0]), ("secret-key", [1.0])])
def test_api_rate_limit_with_and_without_a_key(
    db_path: Path,
    upstream: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str | None,
    waits: list[float],
) -> None:
    fake_time = FakeTime()
    if key:
        monkeypatch.setenv("NVD_API_KEY", key)
    api = FakeApi(_api_records(), failures=[429])
    with FeedServer(upstream, api=api) as server:
        _api_update(db_path, server, fake_time, page=1)
    # six requests: 429 at t=0, then five pages from t=1; without a key only 5 fit in 30 s
    assert len(api.queries) == 6
    assert fake_time.sleeps == waits
    assert api.keys == [key] * 6
    assert rows(db_path, "SELECT count(*) FROM cve") == [(5,)]


def test_api_answer_that_is_not_json_fails(
    db_path: Path, upstream: Path, fake_time: FakeTime
) -> None:
    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "api-page-openssh.json"])
    before = db_path.read_bytes()

    def broken(
        query: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, b"<html>maintenance</html>"

    with (
        FeedServer(upstream, api=broken) as server,
        pytest.raises(DatabaseError, match="not usable JSON"),
    ):
        _api_update(db_path, server, fake_time, page=2)
    assert db_path.read_bytes() == before
    _no_junk(db_path)


# -- export and import ----------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> Path:
    path = tmp_path / "built" / "vulndb.sqlite"
    import_files(path, [ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "api-page-openssh.json"])
    return path


def test_export_then_import_round_trip(tmp_path: Path, built: Path, db_path: Path) -> None:
    exported = export_db(built, tmp_path / "out" / "brulee-db.tar.gz")
    assert exported == tmp_path / "out" / "brulee-db.tar.gz"
    assert [p.name for p in exported.parent.iterdir()] == ["brulee-db.tar.gz"]
    with tarfile.open(exported, "r:gz") as tar:
        assert tar.getnames() == ["manifest.json", "vulndb.sqlite"]
        handle = tar.extractfile("manifest.json")
        assert handle is not None
        manifest = json.load(handle)
    data = built.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert (manifest["format"], manifest["schema_version"], manifest["size"]) == (
        "brulee-vulndb-export", SCHEMA_VERSION, len(data),
    )  # fmt: skip
    assert manifest["cves"] == 4

    assert is_export(exported)
    assert not is_export(ASSETS / "nvdcve-2.0-2024.json.gz")
    assert not is_export(ASSETS / "kev-slice.json")
    import_db(exported, db_path)
    assert db_path.read_bytes() == data
    _answers_openssh(db_path)
    _no_junk(db_path)
    # importing over an existing database replaces it
    import_files(db_path, [ASSETS / "kev-slice.json"])
    import_db(exported, db_path)
    assert db_path.read_bytes() == data


def _answers_openssh(db_path: Path) -> None:
    with VulnDb.open(db_path) as db:
        assert "CVE-2024-6387" in {c.id for c in db.candidates("openbsd", "openssh")}


def _rewrite(export: Path, target: Path, manifest: dict[str, Any], database: bytes) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        for name, data in (
            ("manifest.json", json.dumps(manifest).encode()),
            ("vulndb.sqlite", database),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("database", "does not match its manifest"),
        ("schema", f"schema version 1, this brulee needs {SCHEMA_VERSION}"),
        ("truncated", "not a brulee database export"),
        ("not-an-export", "not a brulee database export"),
        ("no-manifest", "no manifest.json first"),
    ],
)
def test_import_refuses_a_damaged_or_altered_export(
    tmp_path: Path, built: Path, db_path: Path, tamper: str, message: str
) -> None:
    exported = export_db(built, tmp_path / "export.tar.gz")
    with tarfile.open(exported, "r:gz") as tar:
        manifest_file, database_file = (tar.extractfile(n) for n in tar.getnames())
        assert manifest_file is not None and database_file is not None
        manifest, database = json.load(manifest_file), database_file.read()
    bad = tmp_path / "bad.tar.gz"
    if tamper == "database":
        altered = bytearray(database)
        altered[len(altered) // 2] ^= 0xFF
        _rewrite(exported, bad, manifest, bytes(altered))
    elif tamper == "schema":
        _rewrite(exported, bad, manifest | {"schema_version": 1}, database)
    elif tamper == "truncated":
        bad.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    elif tamper == "not-an-export":
        bad.write_bytes(gzip.compress(b"hello"))
    else:
        with tarfile.open(bad, "w:gz") as tar:
            info = tarfile.TarInfo("vulndb.sqlite")
            info.size = len(database)
            tar.addfile(info, io.BytesIO(database))

    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz"])
    before = db_path.read_bytes()
    with pytest.raises(FeedError, match=message) as caught:
        import_db(bad, db_path)
    assert caught.value.exit_code == 2
    assert db_path.read_bytes() == before
    _answers_openssh(db_path)
    _no_junk(db_path)
