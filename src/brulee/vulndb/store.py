"""Read the vulnerability database: the CVEs that name a product, with their KEV and EPSS data, the
Debian security tracker's fixes and Canonical's Ubuntu statuses per source package and release."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from brulee.core.cpe import index_name
from brulee.core.vulnerability import EpssScore, KevEntry
from brulee.errors import DatabaseError
from brulee.util.resource import Resource
from brulee.vulndb.meta import DbInfo, check_schema, read_coverage, read_info

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CvssMetric:
    """One CVSS metric as NVD gives it."""

    score: float
    version: str
    """``2.0``, ``3.0``, ``3.1`` or ``4.0``."""
    vector: str
    source: str
    type: str
    """``Primary`` (the NVD's own) or ``Secondary``."""
    severity: str | None


@dataclass(frozen=True, slots=True)
class DebianFix:
    """What one Debian advisory (DSA or DLA) says about a CVE in one release of a source package."""

    advisory: str
    """``DSA-4280-1``, ``DLA-1474-1``."""
    date: str
    """The advisory's date, ISO: ``2018-08-22``."""
    release: str
    """Code name: ``stretch``."""
    fixed_version: str | None
    """The fixed package version, verbatim from the list (``1:7.4p1-10+deb9u4``); None when the
    advisory gives a status instead."""
    status: str
    """``fixed`` when a version is given, else the tracker's word: ``not-affected``,
    ``unfixed``, ``end-of-life``."""
    note: str | None = None
    """The line's parenthesised remark: an urgency (``medium``) or a reason (``Vulnerable code not
    present``)."""


@dataclass(frozen=True, slots=True)
class UbuntuStatus:
    """Canonical's status of one source package for one CVE in one Ubuntu release (its CVE OVAL)."""

    release: str
    """Code name: ``focal``."""
    status: str
    """The Ubuntu CVE tracker's word: ``released``, ``not-affected`` (fixed at ``fixed_version``,
    typically before the release), ``pending`` (fix not yet published), ``needed``,
    ``needs-triage``, ``deferred``, ``ignored``, or ``conflicting`` (the file says two things)."""
    fixed_version: str | None
    """The version the OVAL test requires, epoch included (``1:8.2p1-4ubuntu0.2``); None when
    the data gives none."""
    note: str | None
    """Canonical's note when it is not the version: a date, a reason."""
    usns: tuple[str, ...]
    """The Ubuntu Security Notices the CVE's definition references (``USN-4762-1``)."""


@dataclass(frozen=True, slots=True)
class Reference:
    url: str
    source: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CveRecord:
    """One CVE as stored, with everything a finding needs."""

    id: str
    description: str
    published: str
    last_modified: str
    vuln_status: str
    cvss: CvssMetric | None
    """The metric that sets severity: v4.0 > v3.1 > v3.0 > v2.0, Primary before Secondary."""
    configurations: tuple[Mapping[str, Any], ...] = field(compare=False)
    """NVD's ``configurations`` list, verbatim (shared between lookups: do not modify)."""
    kev: KevEntry | None
    epss: EpssScore | None
    cwes: tuple[str, ...]
    references: tuple[Reference, ...]


def default_db_path(environ: Mapping[str, str] = os.environ) -> Path:
    """``$BRULEE_DB``, else ``$XDG_DATA_HOME/brulee/vulndb.sqlite`` (``~/.local/share/...``)."""
    if environ.get("BRULEE_DB"):
        return Path(environ["BRULEE_DB"]).expanduser()
    data_home = environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "brulee" / "vulndb.sqlite"


_COLUMNS = """
SELECT c.id, c.description, c.published, c.last_modified, c.vuln_status, c.configurations,
       c.cwes, c.refs,
       m.score, m.version, m.vector, m.source, m.type, m.severity,
       k.date_added, k.due_date, k.vendor_project, k.product, k.name, k.required_action,
       k.known_ransomware, k.notes,
       e.score, e.percentile
"""
_JOINS = """
LEFT JOIN cvss_metric AS m ON m.cve_id = c.id AND m.best = 1
LEFT JOIN kev AS k ON k.cve_id = c.id
LEFT JOIN epss AS e ON e.cve_id = c.id
"""
# Constant text only: every value is a bound parameter.
_CANDIDATES = (
    _COLUMNS
    + "FROM product_cve AS p JOIN cve AS c ON c.id = p.cve_id"
    + _JOINS
    + "WHERE p.vendor = ? AND p.product = ? AND p.vulnerable = 1 ORDER BY c.id"
)
_RECORD = _COLUMNS + "FROM cve AS c" + _JOINS + "WHERE c.id = ?"

# Source packages the CPE list maps to the name or to one of its aliases (the names of any alias
# block that holds it; not transitive).
_CPE_PACKAGES = """
WITH name (vendor, product) AS (
    SELECT ?1, ?2
    UNION
    SELECT b.vendor, b.product
    FROM debian_cpe_alias AS a JOIN debian_cpe_alias AS b ON b.grp = a.grp
    WHERE a.vendor = ?1 AND a.product = ?2
)
SELECT DISTINCT m.package
FROM name JOIN debian_cpe AS m ON m.vendor = name.vendor AND m.product = name.product
"""
# ... restricted to the packages the advisory lists name.
_DEBIAN_PACKAGES = (
    _CPE_PACKAGES + "WHERE EXISTS (SELECT 1 FROM debian_fix AS f WHERE f.package = m.package)"  # noqa: S608
)

_DEBIAN_FIXES = """
SELECT c.cve_id, f.advisory, a.date, f.release, f.fixed_version, f.status, f.note
FROM debian_fix AS f
JOIN debian_advisory AS a ON a.id = f.advisory
JOIN debian_advisory_cve AS c ON c.advisory = f.advisory
WHERE f.package = ? AND f.release = ?
ORDER BY c.cve_id, a.date, f.advisory
"""


_UBUNTU_STATUSES = """
SELECT s.cve_id, s.release, s.status, s.fixed_version, s.note, c.usns
FROM ubuntu_status AS s
LEFT JOIN ubuntu_cve AS c ON c.release = s.release AND c.cve_id = s.cve_id
WHERE s.package = ? AND s.release = ?
"""
_VERSIONED = re.compile(r"(?P<stem>.*?[a-z-])[0-9][0-9.]*")
"""A source package named for the upstream branch it carries: ``mysql-5.7``, ``tomcat9``."""


class VulnDb(Resource):
    """A read-only view of the database, caching lookups. Use one instance per thread."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._conn = connection
        self._coverage = read_coverage(connection)
        self._by_product: dict[tuple[str, str], tuple[CveRecord, ...]] = {}
        self._records: dict[str, CveRecord] = {}
        self._known: dict[tuple[str, str], bool] = {}
        self._vendors: dict[str, frozenset[str]] | None = None
        self._debian_packages: dict[tuple[str, str], frozenset[str]] = {}
        self._debian_fixes: dict[tuple[str, str], Mapping[str, tuple[DebianFix, ...]]] = {}
        self._ubuntu: dict[tuple[str, ...], Any] = {}

    @classmethod
    def open(cls, path: Path) -> VulnDb:
        """Open ``path`` read-only; DatabaseError if it is missing, not a database or outdated."""
        if not path.is_file():
            raise DatabaseError(
                f"no vulnerability database at {path}; build one with `brulee db import FILE...`"
            )
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the vulnerability database {path}: {exc}") from exc
        try:
            check_schema(connection, path)
            return cls(path, connection)
        except BaseException:
            connection.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def candidates(self, vendor: str, product: str) -> list[CveRecord]:
        """CVEs with ``vendor:product`` as a vulnerable component in some configuration.

        Names are matched as the index stores them (see ``index_name``): case and CPE 2.3
        backslash escapes do not matter. Whether a CVE applies to a version is the matcher's call.
        """
        key = (index_name(vendor), index_name(product))
        found = self._by_product.get(key)
        if found is None:
            found = tuple(self._record(row) for row in self._query(_CANDIDATES, key))
            self._by_product[key] = found
        return list(found)

    def record(self, cve_id: str) -> CveRecord | None:
        """The CVE ``cve_id`` (``CVE-2016-3115``), or None when the database does not hold it."""
        rows = self._query(_RECORD, (cve_id.upper(),))
        return self._record(rows[0]) if rows else None

    def is_known(self, vendor: str, product: str) -> bool:
        """Whether the database covers ``vendor:product``: if no CVE applies, it is clean.

        Without a coverage limit, a product is known when some CVE names it as a vulnerable
        component; a starter database knows exactly the products it was built for.
        """
        key = (index_name(vendor), index_name(product))
        if self._coverage is not None:
            return key in self._coverage
        known = self._known.get(key)
        if known is None:
            sql = "SELECT 1 FROM product_cve WHERE vendor = ? AND product = ? AND vulnerable = 1"
            known = bool(self._query(sql + " LIMIT 1", key))
            self._known[key] = known
        return known

    def known_products(self) -> frozenset[tuple[str, str]]:
        """Every (vendor, product) for which ``is_known`` is true."""
        if self._coverage is not None:
            return self._coverage
        sql = "SELECT DISTINCT vendor, product FROM product_cve WHERE vulnerable = 1"
        return frozenset((vendor, product) for vendor, product in self._query(sql, ()))

    def vendors_of(self, product: str) -> frozenset[str]:
        """The vendors under which ``product`` is known (as ``is_known`` counts), from the
        database's own vendor:product index (read once)."""
        if self._vendors is None:
            index: dict[str, set[str]] = {}
            for vendor, name in self.known_products():
                index.setdefault(name, set()).add(vendor)
            self._vendors = {name: frozenset(vendors) for name, vendors in index.items()}
        return self._vendors.get(index_name(product), frozenset())

    def debian_packages(self, vendor: str, product: str) -> frozenset[str]:
        """Debian source packages of the NVD product ``vendor:product``.

        The tracker's CPE list maps source packages to CPE names; a name also finds the packages
        of its aliases (the other names of each CPE aliases block that lists it, one step: blocks
        are not chained). Only packages the imported DSA/DLA lists name are returned (the CPE list
        also names binary packages such as ``openssh-server`` and packages without advisories).
        Names are matched as ``candidates`` matches them.
        """
        key = (index_name(vendor), index_name(product))
        found = self._debian_packages.get(key)
        if found is None:
            found = frozenset(row[0] for row in self._query(_DEBIAN_PACKAGES, key))
            self._debian_packages[key] = found
        return found

    def debian_fixes(self, package: str, release: str) -> Mapping[str, tuple[DebianFix, ...]]:
        """CVE id -> what the DSAs and DLAs listing it say about ``package`` in ``release``
        (code name: ``stretch``), oldest advisory first.

        An entry is a fixed version or a status (``not-affected``...); advisories without CVE ids
        (some regression updates) are not included. The mapping is read-only.
        """
        key = (package.lower(), release.lower())
        found = self._debian_fixes.get(key)
        if found is None:
            fixes: dict[str, list[DebianFix]] = {}
            for cve_id, *fields in self._query(_DEBIAN_FIXES, key):
                fixes.setdefault(cve_id, []).append(DebianFix(*fields))
            found = MappingProxyType({cve: tuple(entries) for cve, entries in fixes.items()})
            self._debian_fixes[key] = found
        return found

    def debian_data(self) -> tuple[frozenset[str], str]:
        """(the Debian releases the advisories name, the date of the newest advisory: ISO
        ``2023-04-02``, '' without any)."""
        return self._cached(
            ("debian",),
            lambda: (
                frozenset(r for (r,) in self._query("SELECT DISTINCT release FROM debian_fix", ())),
                self._query("SELECT max(date) FROM debian_advisory", ())[0][0] or "",
            ),
        )

    def ubuntu_releases(self) -> Mapping[str, str]:
        """Ubuntu release -> when Canonical generated the CVE OVAL held for it (UTC ISO 8601)."""
        return self._cached(
            ("releases",),
            lambda: MappingProxyType(
                dict(self._query("SELECT release, generated FROM ubuntu_release", ()))
            ),
        )

    def ubuntu_tracked(self, release: str) -> frozenset[str]:
        """The CVEs Canonical's data tracks for ``release`` (a CVE absent here is untracked)."""
        sql = "SELECT cve_id FROM ubuntu_cve WHERE release = ?"
        return self._cached(
            ("tracked", release), lambda: frozenset(r[0] for r in self._query(sql, (release,)))
        )

    def ubuntu_packages(self, vendor: str, product: str) -> frozenset[str]:
        """Ubuntu source packages of the NVD product ``vendor:product`` that Canonical's data names.

        Ubuntu keeps Debian's source package names, so the Debian tracker's CPE map (with its
        aliases, as ``debian_packages``) names them; a package named for an upstream branch
        (``mysql-5.7``) also stands for Ubuntu's other branches of it (``mysql-8.0``).
        """
        key = (index_name(vendor), index_name(product))

        def lookup() -> frozenset[str]:
            mapped = {row[0] for row in self._query(_CPE_PACKAGES, key)}
            stems = {m["stem"] for name in mapped if (m := _VERSIONED.fullmatch(name))}
            return frozenset(
                name
                for name in self._ubuntu_names()
                if name in mapped or ((m := _VERSIONED.fullmatch(name)) and m["stem"] in stems)
            )

        return self._cached(("packages", *key), lookup)

    def ubuntu_versions(self, package: str) -> Mapping[str, tuple[str, ...]]:
        """Ubuntu release -> the fixed versions Canonical's data gives for ``package`` there."""
        sql = (
            "SELECT DISTINCT release, fixed_version FROM ubuntu_status"
            " WHERE package = ? AND fixed_version IS NOT NULL"
        )

        def lookup() -> Mapping[str, tuple[str, ...]]:
            found: dict[str, list[str]] = {}
            for release, version in self._query(sql, (package,)):
                found.setdefault(release, []).append(version)
            return MappingProxyType({r: tuple(v) for r, v in found.items()})

        return self._cached(("versions", package), lookup)

    def ubuntu_statuses(self, package: str, release: str) -> Mapping[str, UbuntuStatus]:
        """CVE id -> Canonical's status of ``package`` in ``release``; read-only."""

        def lookup() -> Mapping[str, UbuntuStatus]:
            return MappingProxyType(
                {
                    cve: UbuntuStatus(rel, status, fixed, note, tuple(json.loads(usns or "[]")))
                    for cve, rel, status, fixed, note, usns in self._query(
                        _UBUNTU_STATUSES, (package, release)
                    )
                }
            )

        return self._cached(("statuses", package, release), lookup)

    def _ubuntu_names(self) -> frozenset[str]:
        sql = "SELECT DISTINCT package FROM ubuntu_status"
        return self._cached(("names",), lambda: frozenset(r[0] for r in self._query(sql, ())))

    def _cached(self, key: tuple[str, ...], lookup: Callable[[], _T]) -> _T:
        if key not in self._ubuntu:
            self._ubuntu[key] = lookup()
        found: _T = self._ubuntu[key]
        return found

    def info(self) -> DbInfo:
        """Counts, sources, dates and age, for ``brulee db status``."""
        try:
            return read_info(self._conn, self.path)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(f"cannot read {self.path}: {exc}") from exc

    def _query(self, sql: str, params: tuple[str, ...]) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"the vulnerability database {self.path} is unreadable ({exc}); "
                "rebuild it with `brulee db import`"
            ) from exc

    def _record(self, row: Any) -> CveRecord:
        cached = self._records.get(row[0])
        if cached is None:
            cached = self._records[row[0]] = _record_from(row)
        return cached


def _record_from(row: Any) -> CveRecord:
    (ident, description, published, modified, status, configurations, cwes, refs) = row[:8]
    metric, kev, epss = row[8:14], row[14:22], row[22:24]
    return CveRecord(
        id=ident,
        description=description,
        published=published,
        last_modified=modified,
        vuln_status=status,
        cvss=CvssMetric(*metric) if _in_range(metric[0], 10) else None,
        configurations=tuple(json.loads(configurations)),
        kev=KevEntry(*kev) if kev[0] is not None else None,
        epss=EpssScore(*epss) if _in_range(epss[0], 1) and _in_range(epss[1], 1) else None,
        cwes=tuple(json.loads(cwes)),
        references=tuple(_reference(ref) for ref in json.loads(refs)),
    )


def _in_range(score: object, high: float) -> bool:
    """Whether ``score`` is a number from 0 to ``high``: imports refuse others, but a database
    built by an older brulee may hold them (``1e308``, infinity); they read as no score."""
    return isinstance(score, int | float) and 0 <= score <= high


def _reference(raw: Mapping[str, Any]) -> Reference:
    return Reference(str(raw.get("url", "")), raw.get("source"), tuple(raw.get("tags", ())))
