"""Import NVD 2.0, CISA KEV, FIRST EPSS and Debian security tracker files into the database.

Files are recognised by their content and streamed. An import works on a temporary copy of the
database in the same directory, which atomically replaces the database only once every file has
been read: a bad file, a crash or a kill leaves the previous database as it was.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

import ijson  # picks its C (yajl2_c) backend when installed

from brulee.core.cpe import index_name
from brulee.errors import DatabaseError, FeedError
from brulee.util.text import one_line
from brulee.vulndb.debian import (
    SNIFF_ADVISORY,
    SNIFF_CPE_ALIAS,
    SNIFF_CPE_LIST,
    AdvisoryKind,
    DebianSyntaxError,
    parse_advisories,
    parse_cpe_aliases,
    parse_cpe_list,
)
from brulee.vulndb.meta import (
    SourceInfo,
    SourceKind,
    check_schema,
    get_meta,
    parse_instant,
    set_meta,
    stamp_now,
    write_coverage,
    write_source,
)
from brulee.vulndb.store import CvssMetric

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from _typeshed import WriteableBuffer

Progress = Callable[[str, int], None]
"""Called with a file name and the number of its records read so far."""

_Shape = Literal[
    "nvd", "nvd-record", "nvd-cve", "kev", "epss",
    "debian-dsa", "debian-dla", "debian-cpe", "debian-cpe-aliases",
]  # fmt: skip
_NVD_PREFIX = {"nvd": "vulnerabilities.item.cve", "nvd-record": "cve", "nvd-cve": ""}
_STARTER_SUFFIXES = (".json", ".csv", ".gz")
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16
_BATCH = 5000
_CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_NVD_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}")
_CPE_VENDOR_PRODUCT = re.compile(r"cpe:2\.3:[^:]:((?:\\.|[^:\\])*):((?:\\.|[^:\\])*)(?::|$)")
_METRICS = (  # in order of preference
    ("cvssMetricV40", "4.0"),
    ("cvssMetricV31", "3.1"),
    ("cvssMetricV30", "3.0"),
    ("cvssMetricV2", "2.0"),
)
_METRIC_RANK = {version: rank for rank, (_, version) in enumerate(_METRICS)}
_SCALARS = frozenset({"string", "number", "boolean", "null"})
_EPSS_HEADER = ["cve", "epss", "percentile"]
_EXPECTED = (
    "expected an NVD 2.0 feed or API page, a CVE record, the CISA KEV catalog, an EPSS CSV or a "
    "Debian security tracker file (DSA or DLA list, CPE list, CPE aliases)"
)


@dataclass(frozen=True, slots=True)
class FileResult:
    """What importing one file did. For KEV and EPSS (snapshots) ``unchanged`` counts every record
    of a snapshot older than the one in the database, which is kept."""

    path: Path
    kind: SourceKind
    records: int
    added: int = 0
    updated: int = 0
    rejected: int = 0
    """Records saying the CVE is rejected: it is absent from the database afterwards."""
    unchanged: int = 0
    """Records not newer than what the database held."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did, file by file."""

    db_path: Path
    files: tuple[FileResult, ...]
    cves: int
    """CVEs in the database after the import."""
    seconds: float


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: FileResult
    timestamp: str | None
    version: str | None
    recorded: bool = True
    """False when the file was not applied (an older snapshot): it gets no ``source`` row."""


class _Malformed(Exception):
    """The content is not what it should be; turned into FeedError naming the file."""


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


# -- public API -----------------------------------------------------------------------------------


def import_files(
    db_path: Path,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    meta: Mapping[str, str | None] | None = None,
    locked: bool = False,
) -> ImportSummary:
    """Import NVD, KEV, EPSS and Debian tracker files into the database at ``db_path`` (created if
    absent).

    A CVE replaces the stored one only when its ``lastModified`` is newer; a rejected CVE is
    removed. A Debian DSA list, DLA list, CPE list or CPE aliases file replaces the previous one of
    its kind. Raises FeedError for a bad file and DatabaseError when the database cannot be
    written or another import holds its lock; in both cases the database is unchanged.

    ``meta``: keys to set (None: remove) in the ``meta`` table in the same transaction; with it,
    ``paths`` may be empty. ``locked``: the caller already holds ``lock_database(db_path)``.
    """
    return _build(db_path, paths, progress, fresh=False, coverage=None, meta=meta, locked=locked)


def build_starter(db_path: Path, *, progress: Progress | None = None) -> ImportSummary:
    """Build a fresh database at ``db_path`` from the starter data shipped with brulee."""
    folder = resources.files("brulee") / "data" / "starter"
    try:
        entries = [e for e in folder.iterdir() if e.name.endswith(_STARTER_SUFFIXES)]
        coverage = _read_coverage((folder / "coverage.txt").read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatabaseError(
            f"the starter data of this brulee installation is unreadable ({exc}); "
            "reinstall brulee, or import feeds with `brulee db import`"
        ) from exc
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(resources.as_file(e)) for e in sorted(entries, key=_name)]
        return _build(db_path, paths, progress, fresh=True, coverage=coverage)


def _name(entry: Traversable) -> str:
    return entry.name


# -- the atomic build -----------------------------------------------------------------------------


def _build(
    db_path: Path,
    paths: Sequence[Path],
    progress: Progress | None,
    *,
    fresh: bool,
    coverage: frozenset[tuple[str, str]] | None,
    meta: Mapping[str, str | None] | None = None,
    locked: bool = False,
) -> ImportSummary:
    if not paths and not meta:
        raise FeedError(
            "nothing to import: name at least one NVD, KEV, EPSS or Debian tracker file"
        )
    started = time.perf_counter()
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.nullcontext() if locked else lock_database(db_path):
            _remove_stale_temps(db_path)
            temp = _temp_copy(db_path, fresh=fresh)
            try:
                results, cves = _fill(temp, db_path, paths, progress, coverage, meta=meta or {})
                _replace(temp, db_path)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot build {db_path}: {exc}; it was not changed") from exc
    except OSError as exc:
        raise DatabaseError(f"cannot write {db_path}: {exc}") from exc
    return ImportSummary(db_path, results, cves, time.perf_counter() - started)


@contextlib.contextmanager
def lock_database(db_path: Path) -> Iterator[None]:
    """Hold ``DB.lock`` exclusively (released by the kernel if the process dies); DatabaseError
    naming the lock file if another process holds it. Not re-entrant."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DatabaseError(
                f"another brulee process is updating {db_path} (it holds {lock_path}); "
                "wait for it to finish, then try again"
            ) from exc
        yield


def install_database(db_path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill an empty temporary file next to ``db_path`` with a complete database,
    then atomically put it in place of ``db_path``. For a caller holding ``lock_database``; if
    ``write`` raises, ``db_path`` is unchanged and the temporary file removed."""
    _remove_stale_temps(db_path)
    temp = _temp_copy(db_path, fresh=True)
    try:
        write(temp)
        _replace(temp, db_path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _temp_prefix(db_path: Path) -> str:
    return f".{db_path.name}."


def _remove_stale_temps(db_path: Path) -> None:
    """Delete temporary files left by an import that was killed (we hold the lock)."""
    prefix = _temp_prefix(db_path)
    for entry in db_path.parent.iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)


def _temp_copy(db_path: Path, *, fresh: bool) -> Path:
    handle, name = tempfile.mkstemp(prefix=_temp_prefix(db_path), suffix=".tmp", dir=db_path.parent)
    os.close(handle)
    temp = Path(name)
    if not fresh and db_path.exists():
        shutil.copyfile(db_path, temp)
        shutil.copymode(db_path, temp)
    else:
        temp.chmod(0o644)
    return temp


def _replace(temp: Path, db_path: Path) -> None:
    """Make ``temp`` durable, then atomically put it in place of ``db_path``."""
    _fsync(temp)
    temp.replace(db_path)
    _fsync(db_path.parent)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _connect_for_build(temp: Path, db_path: Path, *, new: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(temp, isolation_level=None)
    if not new:
        check_schema(conn, db_path)
    # A private temporary file: no journal, no syncs (fsync once before the rename).
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "locking_mode = EXCLUSIVE"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA cache_size = -65536")
    if new:
        schema = resources.files("brulee.vulndb").joinpath("schema.sql").read_text("utf-8")
        conn.executescript(schema)
        set_meta(conn, "created_at", stamp_now())
    return conn


def _fill(
    temp: Path,
    db_path: Path,
    paths: Sequence[Path],
    progress: Progress | None,
    coverage: frozenset[tuple[str, str]] | None,
    *,
    meta: Mapping[str, str | None],
) -> tuple[tuple[FileResult, ...], int]:
    conn = _connect_for_build(temp, db_path, new=temp.stat().st_size == 0)
    try:
        conn.execute("BEGIN")
        results = tuple(_import_path(conn, path, progress) for path in paths)
        if coverage is not None or any(r.kind == "nvd" for r in results):
            write_coverage(conn, coverage)
        for key, value in meta.items():
            set_meta(conn, key, value)
        set_meta(conn, "built_at", stamp_now())
        conn.execute("COMMIT")
        cves: int = conn.execute("SELECT count(*) FROM cve").fetchone()[0]
    finally:
        conn.close()
    return results, cves


def _read_coverage(text: str) -> frozenset[tuple[str, str]]:
    lines = (line.strip() for line in text.splitlines())
    pairs = (line.split(":", 1) for line in lines if line and not line.startswith("#"))
    return frozenset((index_name(vendor), index_name(product)) for vendor, product in pairs)


# -- reading files --------------------------------------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Counted(io.RawIOBase):
    """A reader that hashes and counts the bytes passing through it."""

    def __init__(self, stream: _Readable) -> None:
        super().__init__()
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        view[: len(data)] = data
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


@dataclass(frozen=True, slots=True)
class _Input:
    """An open input file: ``content`` is the decompressed byte stream."""

    content: io.BufferedReader
    file: _Counted
    data: _Counted

    def finish(self) -> tuple[str, int, str, int]:
        """Read to the end; return sha256 and size of the file and of its content."""
        while self.content.read(_CHUNK):
            pass
        while self.file.read(_CHUNK):
            pass
        return (
            self.file.sha256.hexdigest(),
            self.file.size,
            self.data.sha256.hexdigest(),
            self.data.size,
        )


@contextlib.contextmanager
def _open_input(path: Path) -> Iterator[_Input]:
    with path.open("rb") as raw:
        is_gzip = raw.peek(2)[:2] == _GZIP_MAGIC
        if path.name.endswith(".gz") and not is_gzip:
            raise _Malformed("named .gz but not gzip-compressed")
        file = _Counted(raw)
        data = _Counted(gzip.GzipFile(fileobj=file, mode="rb")) if is_gzip else file
        yield _Input(io.BufferedReader(data, _CHUNK), file, data)


def _sniff(path: Path) -> tuple[_Shape, dict[str, Any]]:
    """Recognise a file by its content; return its shape and top-level header fields."""
    with _open_input(path) as source:
        debian = _sniff_debian(source.content.peek(_CHUNK)[:_CHUNK])
        if debian:
            return debian, {}
        head = source.content.peek(64).lstrip()
        if head.startswith(b"{"):
            return _sniff_json(source.content)
        if head.startswith((b"#", b"cve,", b"CVE-")):
            return "epss", {}
    if not head:
        raise _Malformed("empty file")
    raise _Malformed(f"not a JSON object, an EPSS CSV or a Debian tracker list; {_EXPECTED}")


def _sniff_debian(head: bytes) -> _Shape | None:
    """A Debian tracker file by its first line that is neither blank nor a ``#`` comment."""
    for raw in head.splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        if advisory := SNIFF_ADVISORY.match(line):
            return "debian-dsa" if advisory[1] == b"DSA" else "debian-dla"
        if SNIFF_CPE_LIST.match(line):
            return "debian-cpe"
        if SNIFF_CPE_ALIAS.match(line):
            return "debian-cpe-aliases"
        return None
    return None


def _sniff_json(stream: IO[bytes]) -> tuple[_Shape, dict[str, Any]]:
    header: dict[str, Any] = {}
    for prefix, event, value in ijson.parse(stream, use_float=True):
        if prefix == "" and event == "map_key" and value in ("cve", "id"):
            return ("nvd-record" if value == "cve" else "nvd-cve"), header
        if event in _SCALARS and prefix and "." not in prefix:
            header[prefix] = value
        elif prefix == "vulnerabilities.item" and event == "map_key":
            return ("nvd" if value == "cve" else "kev"), header
        elif prefix == "vulnerabilities" and event == "end_array":
            return _empty_list_shape(header), header
    raise _Malformed(f"JSON without CVE records; {_EXPECTED}")


def _empty_list_shape(header: Mapping[str, Any]) -> _Shape:
    if "catalogVersion" in header:
        return "kev"
    if header.get("format") == "NVD_CVE":
        return "nvd"
    raise _Malformed("an empty `vulnerabilities` list in neither an NVD nor a KEV file")


def _import_path(conn: sqlite3.Connection, path: Path, progress: Progress | None) -> FileResult:
    """Import one file, turning every way it can be bad into one FeedError line."""
    try:
        shape, header = _sniff(path)
        with _open_input(path) as source:
            outcome = _import_content(conn, path, shape, header, source.content, progress=progress)
            sha256, size, content_sha256, content_size = source.finish()
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    except (_Malformed, DebianSyntaxError, csv.Error) as exc:
        raise FeedError(f"{path}: {one_line(exc)}; {_ADVICE}") from exc
    except ijson.JSONError as exc:
        raise FeedError(f"{path}: not valid JSON ({one_line(exc)}); {_ADVICE}") from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not UTF-8 text ({one_line(exc)}); {_ADVICE}") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise FeedError(f"{path}: cannot read it ({one_line(exc)}); {_ADVICE}") from exc
    result = outcome.result
    if progress:
        progress(path.name, result.records)
    if outcome.recorded:
        source_info = SourceInfo(
            result.kind, path.name, sha256, size, content_sha256, content_size,
            outcome.timestamp, outcome.version, result.records, stamp_now(),
        )  # fmt: skip
        write_source(conn, source_info)
    return result


def _import_content(
    conn: sqlite3.Connection,
    path: Path,
    shape: _Shape,
    header: Mapping[str, Any],
    stream: IO[bytes],
    *,
    progress: Progress | None,
) -> _Outcome:
    if shape == "kev":
        return _import_kev(conn, path, stream, header)
    if shape == "epss":
        return _import_epss(conn, path, stream, progress)
    if shape in ("debian-dsa", "debian-dla"):
        kind: AdvisoryKind = "dsa" if shape == "debian-dsa" else "dla"
        return _import_debian_advisories(conn, path, stream, kind, progress)
    if shape == "debian-cpe":
        return _import_debian_cpe(conn, path, stream)
    if shape == "debian-cpe-aliases":
        return _import_debian_aliases(conn, path, stream)
    return _import_nvd(conn, path, stream, header, shape, progress=progress)


_ADVICE = "nothing was imported; check the file or download it again"


# -- NVD ------------------------------------------------------------------------------------------


def _import_nvd(
    conn: sqlite3.Connection,
    path: Path,
    stream: IO[bytes],
    header: Mapping[str, Any],
    shape: _Shape,
    *,
    progress: Progress | None,
) -> _Outcome:
    counts = {"added": 0, "updated": 0, "rejected": 0, "unchanged": 0}
    records = 0
    newest: str | None = None
    for raw in ijson.items(stream, _NVD_PREFIX[shape], use_float=True):
        cve = _parse_cve(raw)
        counts[_apply_cve(conn, cve)] += 1
        records += 1
        newest = max(newest or cve.last_modified, cve.last_modified)
        if progress and records % _BATCH == 0:
            progress(path.name, records)
    stamp = header.get("timestamp") if shape == "nvd" else newest
    version = header.get("version") if shape == "nvd" else None
    return _Outcome(FileResult(path, "nvd", records, **counts), _text(stamp), _text(version))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _parse_cve(raw: Any) -> _Cve:
    try:
        return _cve_from(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        ident = raw.get("id") if isinstance(raw, dict) else None
        problem = f"no {exc.args[0]!r} field" if isinstance(exc, KeyError) else str(exc)
        raise _Malformed(f"CVE record {ident or '(no id)'} is malformed: {problem}") from exc


def _cve_from(raw: Mapping[str, Any]) -> _Cve:
    ident = raw["id"]
    if not isinstance(ident, str) or not _CVE_ID.fullmatch(ident):
        raise ValueError(f"id {ident!r} is not a CVE id")
    configurations = raw.get("configurations") or []
    return _Cve(
        id=ident,
        published=_nvd_time(raw["published"]),
        last_modified=_nvd_time(raw["lastModified"]),
        status=str(raw.get("vulnStatus", "")),
        description=_english(raw.get("descriptions") or []),
        source_identifier=raw.get("sourceIdentifier"),
        metrics=_metrics(raw.get("metrics") or {}),
        cwes=_cwes(raw.get("weaknesses") or []),
        references=_json(raw.get("references") or []),
        configurations=_json(configurations),
        products=_products(configurations),
    )


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: object) -> str:
    return _ENCODER.encode(value)


def _nvd_time(value: str) -> str:
    """NVD's timestamp form, in UTC, so that text order is time order."""
    if _NVD_TIME.fullmatch(value):
        return value
    moment = parse_instant(value)
    if moment is None:
        raise ValueError(f"{value!r} is not a timestamp")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _english(descriptions: Iterable[Mapping[str, Any]]) -> str:
    return next((str(d["value"]) for d in descriptions if d.get("lang") == "en"), "")


def _metrics(metrics: Mapping[str, Any]) -> tuple[CvssMetric, ...]:
    found = [_metric(raw, version) for key, version in _METRICS for raw in metrics.get(key, ())]
    return tuple(sorted(found, key=lambda m: (_METRIC_RANK[m.version], m.type != "Primary")))


def _metric(raw: Mapping[str, Any], version: str) -> CvssMetric:
    data = raw["cvssData"]
    return CvssMetric(
        score=float(data["baseScore"]),
        version=version,
        vector=str(data["vectorString"]),
        source=str(raw.get("source", "")),
        type=str(raw.get("type", "")),
        severity=data.get("baseSeverity") or raw.get("baseSeverity"),
    )


def _cwes(weaknesses: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    values = (
        str(d["value"])
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
                pair = _vendor_product(match["criteria"])
                products[pair] = products.get(pair, False) or bool(match["vulnerable"])
    return products


def _vendor_product(criteria: str) -> tuple[str, str]:
    found = _CPE_VENDOR_PRODUCT.match(criteria)
    if not found:
        raise ValueError(f"criteria {criteria!r} is not a CPE 2.3 name")
    return index_name(found[1]), index_name(found[2])


_KNOWN = (
    "SELECT (SELECT last_modified FROM cve WHERE id = ?),"
    " (SELECT last_modified FROM rejected WHERE cve_id = ?)"
)


def _apply_cve(conn: sqlite3.Connection, cve: _Cve) -> str:
    """Store ``cve`` unless the database knows a version at least as new; return the outcome."""
    stored, rejected = conn.execute(_KNOWN, (cve.id, cve.id)).fetchone()
    known = max(stored or "", rejected or "")
    if known and cve.last_modified <= known:
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


# -- KEV ------------------------------------------------------------------------------------------


def _import_kev(
    conn: sqlite3.Connection, path: Path, stream: IO[bytes], header: Mapping[str, Any]
) -> _Outcome:
    """Replace the KEV catalog, unless the database holds a newer one."""
    released, version = _text(header.get("dateReleased")), _text(header.get("catalogVersion"))
    rows = [_kev_row(raw) for raw in ijson.items(stream, "vulnerabilities.item", use_float=True)]
    if _older(released, get_meta(conn, "kev_date_released")):
        skipped = FileResult(path, "kev", len(rows), unchanged=len(rows))
        return _Outcome(skipped, released, version, recorded=False)
    conn.execute("DELETE FROM kev")
    conn.execute("DELETE FROM source WHERE kind = 'kev'")
    conn.executemany("INSERT OR REPLACE INTO kev VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    set_meta(conn, "kev_date_released", released)
    set_meta(conn, "kev_catalog_version", version)
    return _Outcome(FileResult(path, "kev", len(rows), added=len(rows)), released, version)


_KEV_FIELDS = (
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "dueDate",
    "requiredAction",
    "knownRansomwareCampaignUse",
    "notes",
)


def _kev_row(raw: Any) -> tuple[str, ...]:
    ident = raw.get("cveID") if isinstance(raw, dict) else None
    if not isinstance(ident, str) or not _CVE_ID.fullmatch(ident) or not raw.get("dateAdded"):
        raise _Malformed(f"KEV entry {ident or '(no cveID)'} lacks a CVE id or dateAdded")
    return (ident, *(str(raw.get(name) or "") for name in _KEV_FIELDS))


def _older(new: str | None, stored: str | None) -> bool:
    """Whether a snapshot dated ``new`` is older than the stored one dated ``stored``."""
    new_at, stored_at = parse_instant(new), parse_instant(stored)
    return bool(new_at and stored_at and new_at < stored_at)


# -- EPSS -----------------------------------------------------------------------------------------


def _import_epss(
    conn: sqlite3.Connection, path: Path, stream: IO[bytes], progress: Progress | None
) -> _Outcome:
    """Replace the EPSS scores, unless the database holds newer ones."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    try:
        return _import_epss_rows(conn, path, csv.reader(text), progress)
    finally:
        text.detach()  # leave ``stream`` open: the caller reads it to its end


def _import_epss_rows(
    conn: sqlite3.Connection, path: Path, reader: Iterator[list[str]], progress: Progress | None
) -> _Outcome:
    info, first_row = _epss_header(reader)
    score_date, model = info.get("score_date"), info.get("model_version")
    rows = _epss_rows(reader, first_row)
    if _older(score_date, get_meta(conn, "epss_score_date")):
        skipped = sum(1 for _ in rows)
        outcome = FileResult(path, "epss", skipped, unchanged=skipped)
        return _Outcome(outcome, score_date, model, recorded=False)
    conn.execute("DELETE FROM epss")
    conn.execute("DELETE FROM source WHERE kind = 'epss'")
    count = 0
    while batch := list(islice(rows, _BATCH)):
        conn.executemany("INSERT OR REPLACE INTO epss VALUES (?, ?, ?)", batch)
        count += len(batch)
        if progress:
            progress(path.name, count)
    set_meta(conn, "epss_score_date", score_date)
    set_meta(conn, "epss_model_version", model)
    return _Outcome(FileResult(path, "epss", count, added=count), score_date, model)


def _epss_header(reader: Iterator[list[str]]) -> tuple[dict[str, str], int]:
    """Read ``#model_version:...,score_date:...`` (optional) and the ``cve,epss,percentile`` line.

    Return the comment's fields and the line number of the first score.
    """
    first = next(reader, [])
    info: dict[str, str] = {}
    if first and first[0].startswith("#"):
        pairs = (cell.lstrip("#").split(":", 1) for cell in first)
        info = {pair[0].strip(): pair[1].strip() for pair in pairs if len(pair) == 2}
        first = next(reader, [])
    if [cell.strip().lower() for cell in first] != _EPSS_HEADER:
        raise _Malformed("no `cve,epss,percentile` header line (is this FIRST's EPSS CSV?)")
    return info, 3 if info else 2


def _epss_rows(reader: Iterator[list[str]], first_row: int) -> Iterator[tuple[str, float, float]]:
    for number, row in enumerate(reader, start=first_row):
        try:
            ident, score, percentile = row
            if not _CVE_ID.fullmatch(ident):
                raise ValueError(f"{ident!r} is not a CVE id")
            yield ident, float(score), float(percentile)
        except ValueError as exc:
            raise _Malformed(f"line {number}: {exc}") from exc


# -- Debian security tracker ----------------------------------------------------------------------


@contextlib.contextmanager
def _text_lines(stream: IO[bytes]) -> Iterator[IO[str]]:
    """``stream`` as UTF-8 text lines, left open for the caller to read to its end."""
    text = io.TextIOWrapper(stream, encoding="utf-8")
    try:
        yield text
    finally:
        text.detach()


def _replace_source(conn: sqlite3.Connection, kind: SourceKind) -> None:
    conn.execute("DELETE FROM source WHERE kind = ?", (kind,))


def _import_debian_advisories(
    conn: sqlite3.Connection,
    path: Path,
    stream: IO[bytes],
    kind: AdvisoryKind,
    progress: Progress | None,
) -> _Outcome:
    """Replace the DSAs (or DLAs) with those of the list; date it by its newest advisory."""
    mine = "SELECT id FROM debian_advisory WHERE kind = ?"
    for table in ("debian_advisory_cve", "debian_fix"):
        conn.execute(f"DELETE FROM {table} WHERE advisory IN ({mine})", (kind,))  # noqa: S608
    conn.execute("DELETE FROM debian_advisory WHERE kind = ?", (kind,))
    source_kind: SourceKind = "debian-dsa" if kind == "dsa" else "debian-dla"
    _replace_source(conn, source_kind)
    count, newest = 0, ""
    with _text_lines(stream) as lines:
        advisories = parse_advisories(lines, kind)
        while batch := list(islice(advisories, 1000)):
            conn.executemany(
                "INSERT INTO debian_advisory VALUES (?, ?, ?, ?, ?)",
                ((a.id, a.kind, a.date, a.package, a.title) for a in batch),
            )
            conn.executemany(
                "INSERT INTO debian_advisory_cve VALUES (?, ?)",
                ((a.id, cve) for a in batch for cve in a.cves),
            )
            conn.executemany(
                "INSERT INTO debian_fix VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (e.package, e.release, a.id, e.fixed_version, e.status, e.note)
                    for a in batch
                    for e in a.entries
                ),
            )
            count += len(batch)
            newest = max(newest, *(a.date for a in batch))
            if progress:
                progress(path.name, count)
    result = FileResult(path, source_kind, count, added=count)
    return _Outcome(result, newest, None)


def _import_debian_cpe(conn: sqlite3.Connection, path: Path, stream: IO[bytes]) -> _Outcome:
    """Replace the source package -> CPE map."""
    conn.execute("DELETE FROM debian_cpe")
    _replace_source(conn, "debian-cpe")
    count = 0
    with _text_lines(stream) as lines:
        entries = parse_cpe_list(lines)
        while batch := list(islice(entries, _BATCH)):
            conn.executemany(
                "INSERT OR IGNORE INTO debian_cpe VALUES (?, ?, ?)",
                ((vendor, product, package) for _, package, vendor, product in batch),
            )
            count += len(batch)
    return _Outcome(FileResult(path, "debian-cpe", count, added=count), None, None)


def _import_debian_aliases(conn: sqlite3.Connection, path: Path, stream: IO[bytes]) -> _Outcome:
    """Replace the CPE alias blocks."""
    conn.execute("DELETE FROM debian_cpe_alias")
    _replace_source(conn, "debian-cpe-aliases")
    count = 0
    with _text_lines(stream) as lines:
        for count, block in enumerate(parse_cpe_aliases(lines), start=1):
            conn.executemany(
                "INSERT INTO debian_cpe_alias VALUES (?, ?, ?)",
                ((vendor, product, count) for vendor, product in block),
            )
    return _Outcome(FileResult(path, "debian-cpe-aliases", count, added=count), None, None)
