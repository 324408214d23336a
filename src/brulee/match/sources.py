"""Which vulnerability sources a run uses, and what the report must say about their data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from brulee.core.report import SourceDate
from brulee.errors import DatabaseError
from brulee.match.backports import BackportJudge
from brulee.match.interface import Judge, VulnerabilitySource
from brulee.match.nvd import NvdSource
from brulee.match.vulners import VulnersSource
from brulee.util.clock import utc_now
from brulee.util.text import count_text
from brulee.vulndb.build import ensure_starter
from brulee.vulndb.meta import DbInfo, parse_instant
from brulee.vulndb.store import VulnDb, default_db_path

log = logging.getLogger(__name__)
DEFAULT_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Matching:
    """The sources to ask, and a description of the data behind them for the report."""

    sources: tuple[VulnerabilitySource, ...]
    judge: Judge | None = None
    database: str = ""
    database_date: str = ""
    warnings: tuple[str, ...] = ()
    source_dates: tuple[SourceDate, ...] = ()
    notices: Callable[[], tuple[str, ...]] = tuple
    """What matching found to warn about once the scan is matched (a distribution release the
    data has no entries for)."""


def describe(info: DbInfo) -> tuple[str, str, tuple[str, ...]]:
    """(one-line description, NVD data date, warnings) of a database for the report."""
    stamp = info.nvd_timestamp
    date = stamp.isoformat(timespec="seconds") if stamp else ""
    parts = [f"{info.cves:,} CVEs" + (f", NVD data to {stamp:%Y-%m-%d}" if stamp else "")]
    if info.kev_catalog_version:
        parts.append(f"CISA KEV {info.kev_catalog_version}")
    if info.epss_score_date:
        parts.append(f"EPSS {info.epss_score_date[:10]}")
    if info.ubuntu:
        dates: dict[str, list[str]] = {}
        for data in info.ubuntu:
            dates.setdefault(data.generated[:10], []).append(data.release)
        parts.append(
            "Canonical's Ubuntu data "
            + ", ".join(f"{' '.join(names)} of {date}" for date, names in sorted(dates.items()))
        )
    warnings: tuple[str, ...] = ()
    if info.coverage is not None:
        parts.append(f"starter snapshot covering {len(info.coverage)} products")
        warnings = (
            "the vulnerability database is brulee's starter snapshot: it covers "
            f"{len(info.coverage)} common products with NVD data of uneven dates, and other "
            "products are reported as unknown; import the full NVD feeds (brulee db import) "
            "for complete results",
        )
    return "; ".join(parts), date, warnings


def source_dates(info: DbInfo) -> tuple[SourceDate, ...]:
    """How current each source the database holds is (those without a date are left out)."""
    debian = max(filter(None, (info.debian_dsa_date, info.debian_dla_date)), default=None)
    ubuntu = max((data.generated for data in info.ubuntu), default=None)
    found = (
        ("nvd", info.nvd_timestamp),
        ("kev", parse_instant(info.kev_date_released)),
        ("epss", parse_instant(info.epss_score_date)),
        ("debian", parse_instant(debian)),
        ("ubuntu", parse_instant(ubuntu)),
    )
    return tuple(SourceDate(name, when.isoformat(timespec="seconds")) for name, when in found
                 if when is not None)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old the vulnerability data may be before reports warn (or the run fails)."""

    max_age: timedelta = DEFAULT_MAX_AGE
    required: bool = False

    def check(self, info: DbInfo, now: datetime) -> tuple[str, ...]:
        """A warning when the data is too old; DatabaseError instead when freshness is required."""
        age = info.age(now)
        debian = (
            *_debian_age(info, now, self.max_age),
            *_ubuntu_age(info, now, self.max_age),
        )
        if age <= self.max_age:
            return debian
        stamp = info.nvd_timestamp
        message = (
            f"the vulnerability data is {duration_text(age)} old"
            + (f" (NVD data to {stamp:%Y-%m-%d})" if stamp else "")
            + f", older than the {duration_text(self.max_age)} allowed by --max-db-age: newer "
            "CVEs are missing; update the database (brulee db update, or brulee db import)"
        )
        if self.required:
            raise DatabaseError(message + " (--require-fresh-db)")
        log.warning(message)
        return (message, *debian)


def _debian_age(info: DbInfo, now: datetime, max_age: timedelta) -> tuple[str, ...]:
    """A warning when the Debian tracker data is older than ``max_age``."""
    newest = max(filter(None, (info.debian_dsa_date, info.debian_dla_date)), default=None)
    when = parse_instant(newest) if newest else None
    if when is None or now - when <= max_age:
        return ()
    message = (
        f"the Debian security tracker data is {duration_text(now - when)} old (advisories to "
        f"{newest}), older than the {duration_text(max_age)} allowed by --max-db-age: Debian's "
        "later fixes are not known, so more findings stay unverified backports; update the "
        "database (brulee db update)"
    )
    log.warning(message)
    return (message,)


def _ubuntu_age(info: DbInfo, now: datetime, max_age: timedelta) -> tuple[str, ...]:
    """One warning naming the Ubuntu releases whose Canonical data is older than ``max_age``."""
    old = sorted(
        (when, data.release)
        for data in info.ubuntu
        if (when := parse_instant(data.generated)) is not None and now - when > max_age
    )
    if not old:
        return ()
    oldest = old[0][0]
    message = (
        f"Canonical's Ubuntu data for {', '.join(release for _, release in old)} is up to "
        f"{duration_text(now - oldest)} old (generated {oldest:%Y-%m-%d} at the oldest), older "
        f"than the {duration_text(max_age)} allowed by --max-db-age: Ubuntu's later fixes are "
        "not known, so more findings stay unverified backports; update the database (brulee db "
        "update)"
    )
    log.warning(message)
    return (message,)


def duration_text(age: timedelta) -> str:
    """An age as people say it: ``8 days``, ``1 day 12 hours``, ``6 hours``, ``45 minutes``
    (hours only under two days, minutes only under an hour)."""
    hours, seconds = divmod(age.seconds, 3600)
    if age.days >= 2 or (age.days and not hours):
        parts = [(age.days, "day")]
    elif age.days or hours:
        parts = [(age.days, "day"), (hours, "hour")]
    else:
        parts = [(-(-seconds // 60), "minute")]
    return " ".join(count_text(n, unit) for n, unit in parts if n) or "0 minutes"


@contextmanager
def open_db(db_path: Path | None) -> Iterator[VulnDb]:
    """The local database, built from the bundled starter data on first use.

    An explicit ``--db`` path that does not exist is an error, never silently replaced.
    """
    path = db_path or default_db_path()
    if not path.exists():
        if db_path is not None:
            raise DatabaseError(
                f"no vulnerability database at {path}: create it with `brulee db import "
                "FEEDS... --db PATH`, or omit --db to use the default one"
            )
        log.warning("first run: building the bundled starter vulnerability database at %s", path)
        ensure_starter(path)
    with VulnDb.open(path) as db:
        yield db


@contextmanager
def open_matching(
    db_path: Path | None, freshness: Freshness | None = None, now: datetime | None = None
) -> Iterator[Matching]:
    """The local database (:func:`open_db`) plus vulners."""
    with open_db(db_path) as db:
        info = db.info()
        database, date, warnings = describe(info)
        warnings += (freshness or Freshness()).check(info, now or utc_now())
        judge = BackportJudge(db)
        yield Matching(
            (NvdSource(db), VulnersSource()),
            judge.judge,
            database,
            date,
            warnings,
            source_dates(info),
            judge.warnings,
        )
