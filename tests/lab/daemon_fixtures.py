"""Pytest fixtures for the real-daemon lab: the running lab, and one brulee scan of it.

Registered from tests/conftest.py. ``real_scan`` is the place to hang assertions on what brulee
reports about real Debian daemons: the parsed report.json, the Debian version of every daemon, and
the output directory (report.html, report.md, lab.json, nmap/scan-*.xml).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .daemons import NMAP_OPTIONS, DaemonLab, daemons_skip_reason

BRULEE = str(Path(sys.executable).with_name("brulee"))
NMAP_ARGS = " ".join(NMAP_OPTIONS)
FORMATS = "json,html,md"


@dataclass(frozen=True, slots=True)
class RealScan:
    """``brulee scan`` of every daemon, run inside the lab's scanner namespace."""

    lab: DaemonLab
    out: Path
    report: dict[str, Any]
    versions: dict[str, str]  # daemon name -> Debian version (dpkg-query, or the extracted .deb)
    command: tuple[str, ...]
    returncode: int
    stderr: str
    seconds: float

    def services_at(self, name: str) -> list[dict[str, Any]]:
        """The report's services with a location on daemon ``name``'s host."""
        address = self.lab.daemon(name).address
        return [
            s
            for s in self.report["services"]
            if any(loc["address"] == address for loc in s["locations"])
        ]

    def service(self, name: str, port: int, protocol: str = "tcp") -> dict[str, Any]:
        """The report's service at daemon ``name``'s ``port``/``protocol``."""
        address = self.lab.daemon(name).address
        services: list[dict[str, Any]] = self.report["services"]
        for service in services:
            for loc in service["locations"]:
                if (loc["address"], loc["port"], loc["protocol"]) == (address, port, protocol):
                    return service
        raise KeyError(f"no service at {name} {address}:{port}/{protocol}")


def lab_snapshot(lab: DaemonLab) -> list[dict[str, Any]]:
    """What ran where: name, address, Debian package and version, ports (written as lab.json)."""
    return [
        {
            "name": d.name, "address": d.address, "package": d.package,
            "version": lab.versions[d.name], "extracted": d.extracted,
            "ports": [f"{p.port}/{p.protocol}" for p in d.ports],
        }
        for d in lab.daemons
    ]  # fmt: skip


@pytest.fixture(scope="session")
def daemon_lab() -> Iterator[DaemonLab]:
    """Every real daemon running in its own namespace host; torn down at the session's end."""
    reason = daemons_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with DaemonLab() as running:
        yield running


@pytest.fixture(scope="session")
def real_scan(daemon_lab: DaemonLab, tmp_path_factory: pytest.TempPathFactory) -> RealScan:
    """One ``brulee scan`` of the whole lab with the session's (starter) database, no history."""
    out = tmp_path_factory.mktemp("real-daemons")
    argv = [BRULEE, "scan", *(d.address for d in daemon_lab.daemons), "--nmap-args", NMAP_ARGS,
            "-o", str(out), "-f", FORMATS, "--no-progress", "--no-history"]  # fmt: skip
    command = tuple(daemon_lab.scanner_cmd(argv))
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.monotonic() - began
    report = out / "report.json"
    if not report.is_file():
        pytest.fail(f"brulee wrote no report (exit {done.returncode}):\n{done.stderr}")
    (out / "lab.json").write_text(json.dumps(lab_snapshot(daemon_lab), indent=1))
    return RealScan(
        lab=daemon_lab, out=out, report=json.loads(report.read_text("utf-8")),
        versions=dict(daemon_lab.versions), command=command, returncode=done.returncode,
        stderr=done.stderr, seconds=seconds,
    )  # fmt: skip
