"""Hostile database exports: refused before anything is written, as input errors (exit 2)."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from brulee.errors import FeedError
from brulee.vulndb import SCHEMA_VERSION
from brulee.vulndb.build import import_files
from brulee.vulndb.transfer import DATABASE_LIMIT, export_db, import_db
from tests.vulndb.conftest import ASSETS

FOUR_GIB = 4 << 30


def _manifest(size: int) -> bytes:
    return json.dumps({
        "format": "brulee-vulndb-export", "format_version": 1, "schema_version": SCHEMA_VERSION,
        "database": "vulndb.sqlite", "size": size, "sha256": "0" * 64,
    }).encode()  # fmt: skip


def _export(path: Path, manifest: bytes, member: tarfile.TarInfo, data: bytes) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return path


def _sparse_export(path: Path, size: int) -> Path:
    """An export whose database member is a sparse file (GNU PAX 1.0) of ``size`` bytes of hole."""
    member = tarfile.TarInfo("vulndb.sqlite")
    member.pax_headers = {
        "GNU.sparse.major": "1", "GNU.sparse.minor": "0",
        "GNU.sparse.name": "vulndb.sqlite", "GNU.sparse.realsize": str(size),
    }  # fmt: skip
    sparse_map = f"1\n{size}\n0\n".encode().ljust(512, b"\0")
    return _export(path, _manifest(size), member, sparse_map)


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "vulndb.sqlite"
    import_files(path, [ASSETS / "nvdcve-2.0-2024.json.gz"])
    return path


def _untouched(db_path: Path, before: bytes) -> None:
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [
        "vulndb.sqlite", "vulndb.sqlite.lock",
    ]  # fmt: skip


def test_sparse_export_declaring_4_gib_is_refused_before_writing(
    tmp_path: Path, existing: Path
) -> None:
    export = _sparse_export(tmp_path / "sparse.tar.gz", FOUR_GIB)
    assert export.stat().st_size < 1000
    before = existing.read_bytes()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "brulee", "db", "import", str(export), "--db", str(existing)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"brulee: error: {export}: the database member is a sparse file; not an export of brulee"
    )
    _untouched(existing, before)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (FOUR_GIB, "declares a database of 4,294,967,296 bytes in a file of"),
        (DATABASE_LIMIT + 1, f"declares a database of {DATABASE_LIMIT + 1:,} bytes"),
    ],
)
def test_declared_size_beyond_what_the_file_can_hold_is_refused(
    tmp_path: Path, existing: Path, declared: int, message: str
) -> None:
    """A plain member whose header claims more than deflate can expand the file to."""
    before = existing.read_bytes()
    export = tmp_path / "big.tar.gz"
    with tarfile.open(export, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        manifest = _manifest(declared)
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        member = tarfile.TarInfo("vulndb.sqlite")
        member.size = declared
        tar.addfile(member)  # the header alone: the data is not in the file
    with pytest.raises(FeedError, match=message) as caught:
        import_db(export, existing)
    assert caught.value.exit_code == 2
    _untouched(existing, before)


def test_member_that_is_not_sqlite_is_refused_before_writing(
    tmp_path: Path, existing: Path
) -> None:
    zeros = b"\0" * 1_000_000
    export = _export(
        tmp_path / "zeros.tar.gz", _manifest(len(zeros)), tarfile.TarInfo("vulndb.sqlite"), zeros
    )
    before = existing.read_bytes()
    with pytest.raises(FeedError, match="the database member is not an SQLite database"):
        import_db(export, existing)
    _untouched(existing, before)


def test_a_genuine_export_still_imports(tmp_path: Path, existing: Path) -> None:
    export = export_db(existing, tmp_path / "out" / "export.tar.gz")
    target = tmp_path / "other" / "vulndb.sqlite"
    import_db(export, target)
    assert target.read_bytes() == existing.read_bytes()


@pytest.mark.parametrize(
    ("poison", "message"),
    [
        ("UPDATE epss SET score = 1e308", "an EPSS score or percentile that is not a number"),
        ("UPDATE epss SET percentile = -1e999", "an EPSS score or percentile that is not a number"),
        ("UPDATE cvss_metric SET score = 1e999", "a CVSS score that is not a number from 0 to 10"),
    ],
)
def test_an_export_of_a_poisoned_database_is_refused(
    tmp_path: Path, existing: Path, poison: str, message: str
) -> None:
    poisoned = tmp_path / "poisoned" / "vulndb.sqlite"
    import_files(poisoned, [ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "epss-slice.csv"])
    with sqlite3.connect(poisoned) as conn:
        conn.execute(poison)
    conn.close()
    export = export_db(poisoned, tmp_path / "out" / "export.tar.gz")
    before = existing.read_bytes()
    with pytest.raises(FeedError, match=message) as caught:
        import_db(export, existing)
    assert caught.value.exit_code == 2
    _untouched(existing, before)
