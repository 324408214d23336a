"""Database metadata: what the database holds and where it came from, stored, read and printed."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, cast

from brulee.errors import DatabaseError
from brulee.util.clock import utc_now
from brulee.util.text import count_text
from brulee.vulndb import SCHEMA_VERSION

SourceKind = Literal[
    "nvd", "kev", "epss", "debian-dsa", "debian-dla", "debian-cpe", "debian-cpe-aliases",
    "ubuntu-oval",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """One imported file: its checksums and the source's own date and version."""

    kind: SourceKind
    name: str
    sha256: str
    size: int
    content_sha256: str
    """Of the decompressed content; equals ``sha256`` for an uncompressed file."""
    content_size: int
    timestamp: str | None
    """The source's own date: NVD ``timestamp`` (a bare record's lastModified), KEV dateReleased,
    EPSS score_date, a Debian DSA/DLA list's newest advisory date, an Ubuntu OVAL file's
    generator timestamp; None for the Debian CPE files."""
    version: str | None
    """NVD feed ``version``, KEV catalogVersion, EPSS model_version, OVAL generator version."""
    records: int
    """Records in the file (Debian: advisories, ``package;cpe`` lines, alias blocks; Ubuntu OVAL:
    CVE definitions)."""
    imported_at: str


@dataclass(frozen=True, slots=True)
class UbuntuData:
    """Canonical's CVE OVAL data held for one Ubuntu release."""

    release: str
    """Code name: ``focal``."""
    generated: str
    """When Canonical generated the file (UTC ISO 8601)."""
    cves: int
    """CVEs tracked for the release."""
    statuses: int
    """(source package, CVE) statuses."""
    source: str
    """The file it came from."""


@dataclass(frozen=True, slots=True)
class DbInfo:
    """What ``brulee db status`` shows."""

    path: Path
    size: int
    schema_version: int
    created_at: str
    built_at: str
    cves: int
    rejected: int
    products: int
    """Distinct (vendor, product) pairs that occur as a vulnerable component."""
    kev_entries: int
    kev_catalog_version: str | None
    kev_date_released: str | None
    epss_scores: int
    epss_model_version: str | None
    epss_score_date: str | None
    coverage: frozenset[tuple[str, str]] | None
    """The only products the NVD data covers completely (the starter snapshot); None: no limit."""
    sources: tuple[SourceInfo, ...]
    debian_dsas: int = 0
    debian_dsa_date: str | None = None
    """Date of the newest DSA (ISO ``2023-03-29``); None without a DSA list."""
    debian_dlas: int = 0
    debian_dla_date: str | None = None
    debian_fixes: int = 0
    """``[release] - package ...`` lines of all advisories (fixed versions and statuses)."""
    debian_packages: int = 0
    """Distinct source packages in those lines."""
    debian_cpe_entries: int = 0
    """Distinct (source package, vendor:product) pairs of the CPE list."""
    debian_alias_groups: int = 0
    ubuntu: tuple[UbuntuData, ...] = ()
    """Canonical's CVE OVAL per Ubuntu release, by release name."""
    last_updates: tuple[tuple[str, str], ...] = ()
    """(source, UTC ISO 8601 time) for each source ``brulee db update`` last brought up to date
    (downloaded, or found unchanged upstream): ``nvd``, ``kev``, ``epss``, ``debian-dsa``,
    ``debian-dla``, ``debian-cpe``, ``debian-cpe-aliases``, ``ubuntu-oval``; empty if never
    updated."""

    @property
    def nvd_dates(self) -> tuple[datetime, ...]:
        """The dates the imported NVD files carry, oldest first."""
        stamps = (parse_instant(s.timestamp) for s in self.sources if s.kind == "nvd")
        return tuple(sorted(s for s in stamps if s is not None))

    @property
    def nvd_timestamp(self) -> datetime | None:
        """The newest date any imported NVD file carries: how current the CVE data is."""
        return self.nvd_dates[-1] if self.nvd_dates else None

    def age(self, now: datetime | None = None) -> timedelta:
        """Age of the CVE data (of the build, when no NVD file carried a date)."""
        since = self.nvd_timestamp or parse_instant(self.built_at)
        current = now or utc_now()
        return current - since if since else timedelta(0)


def parse_instant(text: str | None) -> datetime | None:
    """An ISO 8601 date or timestamp as an aware UTC datetime (no offset: UTC); None if not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (a naive one is taken to be UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


LAST_UPDATE = "last_update:"
"""Prefix of the ``meta`` keys recording when ``db update`` last updated a source."""


def read_last_updates(conn: sqlite3.Connection) -> tuple[tuple[str, str], ...]:
    rows = conn.execute(
        "SELECT substr(key, ?), value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
        (len(LAST_UPDATE) + 1, len(LAST_UPDATE), LAST_UPDATE),
    )
    return tuple((str(kind), str(when)) for kind, when in rows)


def stamp_now() -> str:
    """Now, as stored in ``meta`` and ``source`` (ISO 8601, seconds, UTC)."""
    return utc_now().isoformat(timespec="seconds")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return cast("str", row[0]) if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    """Set ``key``; None removes it."""
    if value is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Raise DatabaseError unless ``conn`` is a brulee database of this schema version."""
    try:
        found = get_meta(conn, "schema_version")
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"{path} is not a brulee vulnerability database ({exc}); "
            "choose another file or delete it and run `brulee db import`"
        ) from exc
    if found != str(SCHEMA_VERSION):
        raise DatabaseError(
            f"{path} has database schema version {found}, this brulee needs {SCHEMA_VERSION}; "
            "delete it (or choose another --db) and run `brulee db import` again"
        )


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """The database at ``path`` opened read-only, its schema checked, closed afterwards; any
    SQLite error, in the ``with`` block too, becomes DatabaseError ``cannot read PATH``."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            check_schema(conn, path)
            yield conn
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot read {path}: {exc}") from exc


def read_coverage(conn: sqlite3.Connection) -> frozenset[tuple[str, str]] | None:
    text = get_meta(conn, "coverage")
    if text is None:
        return None
    pairs = (name.split(":", 1) for name in json.loads(text))
    return frozenset((vendor, product) for vendor, product in pairs)


def write_coverage(conn: sqlite3.Connection, pairs: frozenset[tuple[str, str]] | None) -> None:
    text = None if pairs is None else json.dumps(sorted(f"{v}:{p}" for v, p in pairs))
    set_meta(conn, "coverage", text)


def write_source(conn: sqlite3.Connection, source: SourceInfo) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO source (kind, name, sha256, size, content_sha256, content_size,"
        " source_timestamp, source_version, records, imported_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source.kind,
            source.name,
            source.sha256,
            source.size,
            source.content_sha256,
            source.content_size,
            source.timestamp,
            source.version,
            source.records,
            source.imported_at,
        ),
    )


def read_sources(conn: sqlite3.Connection) -> tuple[SourceInfo, ...]:
    rows = conn.execute(
        "SELECT kind, name, sha256, size, content_sha256, content_size, source_timestamp,"
        " source_version, records, imported_at FROM source ORDER BY kind, name"
    )
    return tuple(SourceInfo(*row) for row in rows)


def _count(conn: sqlite3.Connection, sql: str) -> int:
    return cast("int", conn.execute(sql).fetchone()[0])


def _advisories(conn: sqlite3.Connection, kind: str) -> tuple[int, str | None]:
    sql = "SELECT count(*), max(date) FROM debian_advisory WHERE kind = ?"
    count, newest = conn.execute(sql, (kind,)).fetchone()
    return cast("int", count), cast("str | None", newest)


def read_ubuntu(conn: sqlite3.Connection) -> tuple[UbuntuData, ...]:
    """Canonical's CVE OVAL data per Ubuntu release, by release name."""
    rows = conn.execute(
        "SELECT r.release, r.generated, r.cves,"
        " (SELECT count(*) FROM ubuntu_status AS s WHERE s.release = r.release), r.source"
        " FROM ubuntu_release AS r ORDER BY r.release"
    )
    return tuple(UbuntuData(*row) for row in rows)


def read_info(conn: sqlite3.Connection, path: Path) -> DbInfo:
    """Everything ``brulee db status`` shows about the database behind ``conn``."""
    dsas, dsa_date = _advisories(conn, "dsa")
    dlas, dla_date = _advisories(conn, "dla")
    return DbInfo(
        path=path,
        size=path.stat().st_size,
        schema_version=int(get_meta(conn, "schema_version") or 0),
        created_at=get_meta(conn, "created_at") or "",
        built_at=get_meta(conn, "built_at") or "",
        cves=_count(conn, "SELECT count(*) FROM cve"),
        rejected=_count(conn, "SELECT count(*) FROM rejected"),
        products=_count(
            conn,
            "SELECT count(*) FROM (SELECT DISTINCT vendor, product FROM product_cve"
            " WHERE vulnerable = 1)",
        ),
        kev_entries=_count(conn, "SELECT count(*) FROM kev"),
        kev_catalog_version=get_meta(conn, "kev_catalog_version"),
        kev_date_released=get_meta(conn, "kev_date_released"),
        epss_scores=_count(conn, "SELECT count(*) FROM epss"),
        epss_model_version=get_meta(conn, "epss_model_version"),
        epss_score_date=get_meta(conn, "epss_score_date"),
        coverage=read_coverage(conn),
        sources=read_sources(conn),
        debian_dsas=dsas,
        debian_dsa_date=dsa_date,
        debian_dlas=dlas,
        debian_dla_date=dla_date,
        debian_fixes=_count(conn, "SELECT count(*) FROM debian_fix"),
        debian_packages=_count(conn, "SELECT count(DISTINCT package) FROM debian_fix"),
        debian_cpe_entries=_count(conn, "SELECT count(*) FROM debian_cpe"),
        debian_alias_groups=_count(conn, "SELECT count(DISTINCT grp) FROM debian_cpe_alias"),
        ubuntu=read_ubuntu(conn),
        last_updates=read_last_updates(conn),
    )


def _age_text(age: timedelta) -> str:
    if age.days >= 1:
        return f"{count_text(age.days, 'day')} old"
    hours = int(age.total_seconds() // 3600)
    return f"{count_text(hours, 'hour')} old"


def _source_line(source: SourceInfo) -> str:
    dated = f"dated {source.timestamp}" if source.timestamp else "undated"
    return (
        f"  {source.kind:<4} {source.name}: {source.records:,} records, {dated}, "
        f"sha256 {source.sha256[:16]}…, imported {source.imported_at}"
    )


def _debian_lines(info: DbInfo) -> list[str]:
    lists = [
        f"{count:,} {name}s to {newest}"
        for count, name, newest in (
            (info.debian_dsas, "DSA", info.debian_dsa_date),
            (info.debian_dlas, "DLA", info.debian_dla_date),
        )
        if count
    ]
    if not lists and not info.debian_cpe_entries and not info.debian_alias_groups:
        return ["Debian:    none imported"]
    advisories = (
        f"{', '.join(lists)}: {info.debian_fixes:,} release entries for "
        f"{info.debian_packages:,} source packages"
        if lists
        else "no DSA or DLA list"
    )
    return [
        f"Debian:    {advisories}",
        f"           CPE map: {info.debian_cpe_entries:,} package entries, "
        f"{info.debian_alias_groups:,} alias groups",
    ]


def _ubuntu_lines(info: DbInfo) -> list[str]:
    if not info.ubuntu:
        return ["Ubuntu:    none imported"]
    return [
        f"{'Ubuntu:' if index == 0 else '':<10} {data.release} data of {data.generated[:10]}: "
        f"{data.cves:,} CVEs, {data.statuses:,} package statuses ({data.source})"
        for index, data in enumerate(info.ubuntu)
    ]


def format_info(info: DbInfo, now: datetime | None = None) -> list[str]:
    """Plain text lines for ``brulee db status``."""
    dates = info.nvd_dates
    lines = [
        f"database:  {info.path} ({info.size / 2**20:.1f} MiB, schema {info.schema_version})",
        f"built:     {info.built_at} (created {info.created_at})",
        f"CVE data:  {_age_text(info.age(now))}"
        + (f" (NVD files dated {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d})" if dates else ""),
        f"CVEs:      {info.cves:,} ({info.rejected:,} rejected ids removed), "
        f"{info.products:,} vulnerable vendor:product pairs",
    ]
    if info.coverage is not None:
        lines.append(
            f"coverage:  complete only for {len(info.coverage)} vendor:product pairs "
            "(starter snapshot); other products are reported as unknown"
        )
    lines.append(
        f"KEV:       {info.kev_entries:,} entries, catalog {info.kev_catalog_version}"
        f" released {info.kev_date_released}"
        if info.kev_catalog_version
        else "KEV:       none imported"
    )
    lines.append(
        f"EPSS:      {info.epss_scores:,} scores, model {info.epss_model_version},"
        f" score date {info.epss_score_date}"
        if info.epss_score_date
        else f"EPSS:      {info.epss_scores:,} scores"
    )
    lines.extend(_debian_lines(info))
    lines.extend(_ubuntu_lines(info))
    if info.last_updates:
        lines.append(
            "updated:   " + ", ".join(f"{kind} {when}" for kind, when in sorted(info.last_updates))
        )
    lines.append(f"sources:   {len(info.sources)} files")
    lines.extend(_source_line(source) for source in info.sources)
    return lines
