"""Which sources a run uses: the local database (the bundled starter one, built on first use)
plus vulners, what the report says about that data, and how old it may be."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from brulee.errors import DatabaseError
from brulee.match.sources import (
    DEFAULT_MAX_AGE,
    Freshness,
    describe,
    open_matching,
    source_dates,
)
from brulee.vulndb.meta import DbInfo
from brulee.vulndb.store import VulnDb

STARTER_WARNING = "the vulnerability database is brulee's starter snapshot"


@pytest.fixture(scope="module")
def info(starter_db: Path) -> DbInfo:
    """What the session's starter database says about itself."""
    with VulnDb.open(starter_db) as db:
        return db.info()


@pytest.fixture
def fresh(info: DbInfo) -> datetime:
    """A moment at which the starter data is one day old."""
    assert info.nvd_timestamp is not None
    return info.nvd_timestamp + timedelta(days=1)


@pytest.fixture
def no_default_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No BRULEE_DB: the default path is under an XDG_DATA_HOME in tmp_path (still empty)."""
    monkeypatch.delenv("BRULEE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "brulee" / "vulndb.sqlite"


def test_first_use_builds_the_starter_database_at_the_default_path(
    no_default_db: Path, info: DbInfo, fresh: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), open_matching(None, now=fresh) as matching:
        assert no_default_db.is_file()
        assert [s.name for s in matching.sources] == ["nvd", "vulners"]
        assert matching.judge is not None
        database, date, warnings = describe(info)
        assert (matching.database, matching.database_date) == (database, date)
        # the starter's Debian (2023) and Ubuntu (2021) data are older than the default max age
        assert matching.warnings[:-2] == warnings
        assert matching.warnings[-2].startswith("the Debian security tracker data is")
        assert matching.warnings[-1].startswith("Canonical's Ubuntu data for ")
    assert f"building the bundled starter vulnerability database at {no_default_db}" in caplog.text
    with VulnDb.open(no_default_db) as db:
        assert db.info().cves == info.cves


def test_an_existing_default_database_is_used_as_it_is(
    starter_db: Path, info: DbInfo, fresh: datetime
) -> None:
    """The session's BRULEE_DB names the starter database: it is opened, not rebuilt."""
    before = starter_db.stat().st_mtime_ns
    with open_matching(None, now=fresh) as matching:
        assert matching.database == describe(info)[0]
    assert starter_db.stat().st_mtime_ns == before


def test_an_explicit_path_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "vulndb.sqlite"
    with (
        pytest.raises(DatabaseError, match=r"^no vulnerability database at .*nowhere") as caught,
        open_matching(missing),
    ):
        pytest.fail("no matching without a database")
    assert "omit --db to use the default one" in str(caught.value)
    assert not missing.parent.exists()


def test_an_explicit_path_is_opened(starter_db: Path, fresh: datetime) -> None:
    with open_matching(starter_db, now=fresh) as matching:
        assert [type(s).__name__ for s in matching.sources] == ["NvdSource", "VulnersSource"]
        assert matching.database_date


def test_describe_a_starter_database(info: DbInfo) -> None:
    database, date, warnings = describe(info)
    assert info.cves > 1000 and info.coverage
    assert info.nvd_timestamp is not None and info.kev_catalog_version and info.epss_score_date
    assert database == (
        f"{info.cves:,} CVEs, NVD data to {info.nvd_timestamp:%Y-%m-%d}; "
        f"CISA KEV {info.kev_catalog_version}; EPSS {info.epss_score_date[:10]}; "
        "Canonical's Ubuntu data bionic focal trusty xenial of 2021-08-31; "
        f"starter snapshot covering {len(info.coverage)} products"
    )
    assert date == info.nvd_timestamp.isoformat(timespec="seconds")
    (warning,) = warnings
    assert warning.startswith(STARTER_WARNING)
    assert f"it covers {len(info.coverage)} common products" in warning
    assert "brulee db import" in warning


def test_describe_a_full_database_without_dates(info: DbInfo) -> None:
    bare = replace(
        info, cves=123456, coverage=None, kev_catalog_version=None, epss_score_date=None,
        sources=(), ubuntu=(),
    )  # fmt: skip
    assert describe(bare) == ("123,456 CVEs", "", ())
    newer = replace(info.ubuntu[0], release="noble", generated="2026-11-30T04:30:00+00:00")
    assert describe(replace(bare, ubuntu=(*info.ubuntu, newer)))[0] == (
        "123,456 CVEs; Canonical's Ubuntu data bionic focal trusty xenial of 2021-08-31, "
        "noble of 2026-11-30"
    )


def nvd_only(info: DbInfo) -> DbInfo:
    """The database without its distribution data's dates (the NVD age alone is checked)."""
    return replace(info, debian_dsa_date=None, debian_dla_date=None, ubuntu=())


def test_fresh_data_gives_no_warning(info: DbInfo) -> None:
    info = nvd_only(info)
    assert info.nvd_timestamp is not None
    limit = info.nvd_timestamp + DEFAULT_MAX_AGE
    assert Freshness().check(info, limit) == ()
    assert Freshness(required=True).check(info, limit) == ()


def test_old_data_gives_a_warning(info: DbInfo, caplog: pytest.LogCaptureFixture) -> None:
    info = nvd_only(info)
    assert info.nvd_timestamp is not None
    now = info.nvd_timestamp + timedelta(days=10, hours=5)
    with caplog.at_level(logging.WARNING):
        (warning,) = Freshness().check(info, now)
    assert warning == (
        f"the vulnerability data is 10 days old (NVD data to {info.nvd_timestamp:%Y-%m-%d}), "
        "older than the 7 days allowed by --max-db-age: newer CVEs are missing; update the "
        "database (brulee db update, or brulee db import)"
    )
    assert warning in caplog.text


def test_a_limit_under_a_day_is_said_in_hours(info: DbInfo) -> None:
    info = nvd_only(info)
    assert info.nvd_timestamp is not None
    now = info.nvd_timestamp + timedelta(days=1)
    (warning,) = Freshness(max_age=timedelta(hours=12)).check(info, now)
    assert "1 day old" in warning and "older than the 12 hours allowed" in warning


def test_old_data_is_an_error_when_freshness_is_required(info: DbInfo) -> None:
    info = nvd_only(info)
    assert info.nvd_timestamp is not None
    now = info.nvd_timestamp + timedelta(days=30)
    with pytest.raises(DatabaseError, match=r"30 days old .* \(--require-fresh-db\)$"):
        Freshness(max_age=timedelta(days=14), required=True).check(info, now)


def test_without_nvd_dates_the_age_is_that_of_the_build(info: DbInfo) -> None:
    info = nvd_only(info)
    undated = replace(info, sources=())
    built = datetime.fromisoformat(undated.built_at)
    assert Freshness().check(undated, built + timedelta(days=2)) == ()
    (warning,) = Freshness().check(undated, built + timedelta(days=8))
    assert warning.startswith("the vulnerability data is 8 days old, older than the 7 days")


def test_old_debian_data_gives_its_own_warning(
    info: DbInfo, caplog: pytest.LogCaptureFixture
) -> None:
    assert info.nvd_timestamp is not None and info.debian_dsa_date is not None
    with caplog.at_level(logging.WARNING):
        (warning,) = Freshness().check(replace(info, ubuntu=()), info.nvd_timestamp)
    newest = max(filter(None, (info.debian_dsa_date, info.debian_dla_date)))
    assert warning.startswith("the Debian security tracker data is ")
    assert f"(advisories to {newest}), older than the 7 days allowed by --max-db-age" in warning
    assert warning in caplog.text
    assert Freshness(max_age=timedelta(days=36500)).check(info, info.nvd_timestamp) == ()


def test_open_matching_adds_the_age_warning_after_the_database_ones(
    starter_db: Path, info: DbInfo
) -> None:
    assert info.nvd_timestamp is not None
    late = info.nvd_timestamp + timedelta(days=100)
    with open_matching(starter_db, Freshness(max_age=timedelta(days=60)), now=late) as matching:
        first, second, debian, ubuntu = matching.warnings
    assert ubuntu.startswith("Canonical's Ubuntu data for ")
    assert debian.startswith("the Debian security tracker data is")
    assert first.startswith(STARTER_WARNING)
    assert second.startswith("the vulnerability data is 100 days old")
    assert "older than the 60 days allowed" in second


def test_open_matching_fails_on_old_data_when_freshness_is_required(
    starter_db: Path, info: DbInfo
) -> None:
    assert info.nvd_timestamp is not None
    late = info.nvd_timestamp + timedelta(days=8)
    with (
        pytest.raises(DatabaseError, match="--require-fresh-db"),
        open_matching(starter_db, Freshness(required=True), now=late),
    ):
        pytest.fail("no matching with data older than required")


def test_source_dates_name_canonicals_newest_ubuntu_data(info: DbInfo) -> None:
    dates = {s.source: s.date for s in source_dates(info)}
    assert set(dates) == {"nvd", "kev", "epss", "debian", "ubuntu"}
    assert dates["ubuntu"] == "2021-08-31T04:30:18+00:00"  # xenial's file, the newest of four
    assert "ubuntu" not in {s.source for s in source_dates(replace(info, ubuntu=()))}


def test_old_ubuntu_data_gives_its_own_warning(
    info: DbInfo, caplog: pytest.LogCaptureFixture
) -> None:
    assert info.nvd_timestamp is not None and info.ubuntu
    no_debian = replace(info, debian_dsa_date=None, debian_dla_date=None)
    with caplog.at_level(logging.WARNING):
        (warning,) = Freshness().check(no_debian, info.nvd_timestamp)  # NVD fresh, Ubuntu not
    oldest = min(data.generated for data in info.ubuntu)[:10]
    releases = {data.release for data in info.ubuntu}
    named = warning.removeprefix("Canonical's Ubuntu data for ").split(" is up to ")[0]
    assert set(named.split(", ")) == releases
    assert f"(generated {oldest} at the oldest), older than the 7 days allowed" in warning
    assert warning in caplog.text
    assert Freshness(max_age=timedelta(days=36500)).check(no_debian, info.nvd_timestamp) == ()
