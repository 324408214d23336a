"""Metadata values: dates, age and the `db status` text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from brulee.vulndb.meta import DbInfo, SourceInfo, format_info, parse_instant

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _source(kind: str, timestamp: str | None) -> SourceInfo:
    return SourceInfo(
        kind, f"{kind}.json", "ab" * 32, 10, "cd" * 32, 20, timestamp, None, 5,  # type: ignore[arg-type]
        "2026-11-28T10:00:00+00:00",
    )  # fmt: skip


def _info(*sources: SourceInfo) -> DbInfo:
    return DbInfo(
        path=Path("/data/vulndb.sqlite"), size=3 * 2**20, schema_version=1,
        created_at="2026-11-01T00:00:00+00:00", built_at="2026-11-28T10:00:00+00:00",
        cves=5, rejected=1, products=3, kev_entries=0, kev_catalog_version=None,
        kev_date_released=None, epss_scores=0, epss_model_version=None, epss_score_date=None,
        coverage=None, sources=sources,
    )  # fmt: skip


def test_parse_instant() -> None:
    assert parse_instant("2024-07-09T06:15:03.513") == datetime(2024, 7, 9, 6, 15, 3, 513000, UTC)
    assert parse_instant("2025-08-25T17:04:19.9796Z") == datetime(
        2025, 8, 25, 17, 4, 19, 979600, UTC
    )
    assert parse_instant("2026-08-16T00:00:00+0200") == datetime(2026, 8, 15, 22, 0, tzinfo=UTC)
    assert parse_instant("yesterday") is None
    assert parse_instant(None) is None


def test_age_is_that_of_the_newest_nvd_file() -> None:
    info = _info(
        _source("nvd", "2026-11-20T12:00:00.000"),
        _source("nvd", "2024-01-01T00:00:00.000"),
        _source("kev", "2026-11-27T00:00:00Z"),  # KEV and EPSS dates say nothing about CVEs
    )
    assert info.nvd_timestamp == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert info.nvd_dates[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert info.age(NOW) == timedelta(days=8)


def test_age_falls_back_to_the_build_time() -> None:
    assert _info(_source("nvd", None)).age(NOW) == timedelta(hours=2)


def test_format_info() -> None:
    lines = format_info(_info(_source("nvd", "2026-11-20T12:00:00.000")), NOW)
    assert lines == [
        "database:  /data/vulndb.sqlite (3.0 MiB, schema 1)",
        "built:     2026-11-28T10:00:00+00:00 (created 2026-11-01T00:00:00+00:00)",
        "CVE data:  8 days old (NVD files dated 2026-11-20 to 2026-11-20)",
        "CVEs:      5 (1 rejected ids removed), 3 vulnerable vendor:product pairs",
        "KEV:       none imported",
        "EPSS:      0 scores",
        "Debian:    none imported",
        "Ubuntu:    none imported",
        "sources:   1 files",
        "  nvd  nvd.json: 5 records, dated 2026-11-20T12:00:00.000, "
        "sha256 abababababababab…, imported 2026-11-28T10:00:00+00:00",
    ]


def test_format_info_debian() -> None:
    info = replace(
        _info(_source("debian-dsa", "2023-03-29")),
        debian_dsas=5406, debian_dsa_date="2023-03-29", debian_fixes=6988, debian_packages=1500,
        debian_cpe_entries=2351, debian_alias_groups=369,
    )  # fmt: skip
    lines = format_info(info, NOW)
    assert lines[6:8] == [
        "Debian:    5,406 DSAs to 2023-03-29: 6,988 release entries for 1,500 source packages",
        "           CPE map: 2,351 package entries, 369 alias groups",
    ]
    assert lines[-1].startswith("  debian-dsa debian-dsa.json: 5 records, dated 2023-03-29, ")
    only_cpe = replace(_info(), debian_cpe_entries=3)
    assert format_info(only_cpe, NOW)[6:8] == [
        "Debian:    no DSA or DLA list",
        "           CPE map: 3 package entries, 0 alias groups",
    ]
