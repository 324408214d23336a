"""Shared helpers for the vulnerability database tests: asset paths and small databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.vulndb.build import build_starter, import_files
from brulee.vulndb.store import VulnDb

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "vulndb"
MALFORMED = ASSETS / "malformed"


def rows(db_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Run a query on a database file, read-only, and return all rows."""
    with sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vulndb.sqlite"


@pytest.fixture
def openssh_db(db_path: Path) -> Path:
    """A database of the 2024 feed (CVE-2024-6387) and the API page of three OpenSSH CVEs."""
    import_files(db_path, [ASSETS / "nvdcve-2.0-2024.json.gz", ASSETS / "api-page-openssh.json"])
    return db_path


@pytest.fixture(scope="session")
def starter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("starter") / "vulndb.sqlite"
    build_starter(path)
    return path


@pytest.fixture
def starter(starter_path: Path) -> Iterator[VulnDb]:
    with VulnDb.open(starter_path) as db:
        yield db
