"""The NVD importer: NVD 2.0 feeds and API pages, single CVE records; a CVE replaces the stored
one only when its ``lastModified`` is newer, and a rejected CVE is removed."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from brulee.core.cpe import vendor_product_of
from brulee.util.boundedjson import iter_items
from brulee.util.clock import utc_now
from brulee.vulndb.importers.base import (
    BATCH,
    CVE_ID,
    FUTURE_SLACK,
    JSON_DEPTH,
    MAX_VERSION,
    FileResult,
    Malformed,
    Outcome,
    Progress,
    as_text,
    checked_date,
    checked_score,
    checked_text,
    short,
)
from brulee.vulndb.store import CvssMetric

NvdShape = Literal["nvd", "nvd-record", "nvd-cve"]
"""A feed or API page (``vulnerabilities`` list), a ``{"cve": ...}`` record, a bare CVE."""

_PREFIX: dict[NvdShape, str] = {
    "nvd": "vulnerabilities.item.cve",
    "nvd-record": "cve",
    "nvd-cve": "",
}
_NVD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")
_METRICS = (  # in order of preference
    ("cvssMetricV40", "4.0"),
    ("cvssMetricV31", "3.1"),
    ("cvssMetricV30", "3.0"),
    ("cvssMetricV2", "2.0"),
)
_METRIC_RANK = {version: rank for rank, (_, version) in enumerate(_METRICS)}
_BOUNDS = ("versionStartIncluding", "versionStartExcluding", "versionEndIncluding",
           "versionEndExcluding")  # fmt: skip
MAX_TEXT = 1 << 18
"""Longest string of a CVE record (NVD's longest descriptions, kernel ones, are some tens of
thousands of characters)."""
MAX_CRITERIA = 1024
MAX_FIELD = 256
"""Longest vector, metric source, type, severity, status, CWE or source identifier."""


@dataclass(frozen=True, slots=True)
class _Cve:
    id: str
    published: str
    last_modified: str
    status: str
    description: str
    source_identifier: str | None
    metrics: tuple[CvssMetric, ...]
    """Best first."""
    cwes: tuple[str, ...]
    references: str
    configurations: str
    products: Mapping[tuple[str, str], bool]
    """(vendor, product) -> whether it occurs as a vulnerable component."""


def import_nvd(
    conn: sqlite3.Connection,
    path: Path,
    stream: IO[bytes],
    header: Mapping[str, Any],
    shape: NvdShape,
    *,
    progress: Progress | None,
) -> Outcome:
    """Apply each CVE record of ``stream``; a feed is dated by its header, a record by itself."""
    counts = {"added": 0, "updated": 0, "rejected": 0, "unchanged": 0}
    records = 0
    newest: str | None = None
    if shape == "nvd" and header.get("timestamp") is not None:
        try:
            checked_date(header["timestamp"], "the feed's timestamp")
        except ValueError as exc:
            raise Malformed(str(exc)) from exc
    horizon = _nvd_form(utc_now() + FUTURE_SLACK)
    items = iter_items(stream, _PREFIX[shape], max_depth=JSON_DEPTH, max_string=MAX_TEXT)
    for raw in items:
        cve = _parse_cve(raw)
        counts[_apply_cve(conn, cve, horizon)] += 1
        records += 1
        newest = max(newest or cve.last_modified, cve.last_modified)
        if progress and records % BATCH == 0:
            progress(path.name, records)
    stamp = header.get("timestamp") if shape == "nvd" else newest
    version = header.get("version") if shape == "nvd" else None
    return Outcome(FileResult(path, "nvd", records, **counts), as_text(stamp), as_text(version))


def _parse_cve(raw: Any) -> _Cve:
    try:
        return _cve_from(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        ident = raw.get("id") if isinstance(raw, dict) else None
        problem = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
        name = ident if isinstance(ident, str) and CVE_ID.fullmatch(ident) else "(no CVE id)"
        raise Malformed(f"CVE record {name} is malformed: {problem}") from exc


def _cve_from(raw: Mapping[str, Any]) -> _Cve:
    ident = raw["id"]
    if not isinstance(ident, str) or not CVE_ID.fullmatch(ident):
        raise ValueError(f"id {short(ident)} is not a CVE id")
    configurations = raw.get("configurations") or []
    return _Cve(
        id=ident,
        published=_nvd_time(raw["published"], "published"),
        last_modified=_nvd_time(raw["lastModified"], "lastModified"),
        status=checked_text(raw.get("vulnStatus", ""), MAX_FIELD, "vulnStatus"),
        description=_english(raw.get("descriptions") or []),
        source_identifier=_optional(raw.get("sourceIdentifier"), "sourceIdentifier"),
        metrics=_metrics(raw.get("metrics") or {}),
        cwes=_cwes(raw.get("weaknesses") or []),
        references=_json(raw.get("references") or []),
        configurations=_json(configurations),
        products=_products(configurations),
    )


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: object) -> str:
    return _ENCODER.encode(value)


def _nvd_time(value: object, what: str) -> str:
    """NVD's timestamp form, in UTC, so that text order is time order; not in the future."""
    moment = checked_date(value, what)
    if isinstance(value, str) and _NVD_TIME.fullmatch(value):
        return value
    return _nvd_form(moment)


def _nvd_form(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _optional(value: object, what: str) -> str | None:
    return None if value is None else checked_text(value, MAX_FIELD, what)


def _english(descriptions: Iterable[Mapping[str, Any]]) -> str:
    return next((str(d["value"]) for d in descriptions if d.get("lang") == "en"), "")


def _metrics(metrics: Mapping[str, Any]) -> tuple[CvssMetric, ...]:
    found = [_metric(raw, version) for key, version in _METRICS for raw in metrics.get(key, ())]
    return tuple(sorted(found, key=lambda m: (_METRIC_RANK[m.version], m.type != "Primary")))


def _metric(raw: Mapping[str, Any], version: str) -> CvssMetric:
    data = raw["cvssData"]
    return CvssMetric(
        score=checked_score(data["baseScore"], 10, f"CVSS {version} baseScore"),
        version=version,
        vector=checked_text(data["vectorString"], MAX_FIELD, "vectorString"),
        source=checked_text(raw.get("source", ""), MAX_FIELD, "metric source"),
        type=checked_text(raw.get("type", ""), MAX_FIELD, "metric type"),
        severity=_optional(data.get("baseSeverity") or raw.get("baseSeverity"), "baseSeverity"),
    )


def _cwes(weaknesses: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    values = (
        checked_text(d["value"], MAX_FIELD, "CWE")
        for weakness in weaknesses
        for d in weakness.get("description", ())
        if d.get("lang") == "en"
    )
    return tuple(dict.fromkeys(values))


def _products(configurations: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], bool]:
    products: dict[tuple[str, str], bool] = {}
    for configuration in configurations:
        for node in configuration["nodes"]:
            for match in node["cpeMatch"]:
                criteria = match["criteria"]
                checked_text(criteria, MAX_CRITERIA, "criteria")
                pair = vendor_product_of(criteria) if isinstance(criteria, str) else None
                if pair is None:
                    raise ValueError(f"criteria {short(criteria)} is not a CPE 2.3 name")
                for bound in _BOUNDS:
                    if not isinstance(match.get(bound, ""), str):
                        raise ValueError(f"{bound} {short(match[bound])} is not text")
                    checked_text(match.get(bound), MAX_VERSION, bound)
                products[pair] = products.get(pair, False) or bool(match["vulnerable"])
    return products


_KNOWN = (
    "SELECT (SELECT last_modified FROM cve WHERE id = ?),"
    " (SELECT last_modified FROM rejected WHERE cve_id = ?)"
)


def _apply_cve(conn: sqlite3.Connection, cve: _Cve, horizon: str) -> str:
    """Store ``cve`` unless the database knows a version at least as new (a stored date past
    ``horizon``, from before dates were checked, does not count); return the outcome."""
    stored, rejected = conn.execute(_KNOWN, (cve.id, cve.id)).fetchone()
    known = max(stored or "", rejected or "")
    if known and cve.last_modified <= known <= horizon:
        return "unchanged"
    if stored:
        for table, column in (("cve", "id"), ("cvss_metric", "cve_id"), ("product_cve", "cve_id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (cve.id,))  # noqa: S608
    if cve.status == "Rejected":
        conn.execute("INSERT OR REPLACE INTO rejected VALUES (?, ?)", (cve.id, cve.last_modified))
        return "rejected"
    if rejected:
        conn.execute("DELETE FROM rejected WHERE cve_id = ?", (cve.id,))
    _insert_cve(conn, cve)
    return "updated" if stored else "added"


def _insert_cve(conn: sqlite3.Connection, cve: _Cve) -> None:
    conn.execute(
        "INSERT INTO cve (id, description, published, last_modified, vuln_status,"
        " source_identifier, cwes, refs, configurations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            cve.id,
            cve.description,
            cve.published,
            cve.last_modified,
            cve.status,
            cve.source_identifier,
            _json(cve.cwes),
            cve.references,
            cve.configurations,
        ),
    )
    conn.executemany(
        "INSERT INTO cvss_metric VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (cve.id, m.version, m.source, m.type, m.score, m.vector, m.severity, int(i == 0))
            for i, m in enumerate(cve.metrics)
        ),
    )
    conn.executemany(
        "INSERT INTO product_cve VALUES (?, ?, ?, ?)",
        ((vendor, product, cve.id, int(vul)) for (vendor, product), vul in cve.products.items()),
    )
