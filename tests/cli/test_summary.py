"""The closing summary reads naturally and, when nothing was found, says where brulee looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.cli.main import main
from tests import xmlsnippets as x
from tests.conftest import NMAP_XML


def _summary(tmp_path: Path, capsys: pytest.CaptureFixture[str], xml: Path) -> list[str]:
    out = tmp_path / xml.stem
    assert main(["report", str(xml), "-o", str(out), "-f", "json"]) == 0
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if not line.startswith("brulee: WARNING")]


def test_one_host_one_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ssh = '<service name="ssh" product="OpenSSH" version="9.8p1" method="probed" conf="10"/>'
    xml = x.write(tmp_path / "one.xml", x.host("10.0.0.1", x.port(22, ssh)))
    lines = _summary(tmp_path, capsys, xml)
    assert lines[0] == "1 host up, 1 service, 1 vulnerable."
    assert lines[1] == "Reports:"


def test_no_service_says_which_ports_and_how_to_widen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _summary(tmp_path, capsys, NMAP_XML / "no-open-ports.xml")
    assert lines[:2] == [
        "1 host up, 0 services, 0 vulnerable.",
        "No open service on the ports scanned (tcp 1,000 ports). To look further, scan with "
        '--nmap-args "-p-" (all 65,535 TCP ports) or "-sU --top-ports 100" (UDP; as root).',
    ]


def test_no_host_says_how_to_skip_discovery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _summary(tmp_path, capsys, NMAP_XML / "hosts-down.xml")
    assert lines[0] == "0 hosts up, 0 services, 0 vulnerable."
    assert '--nmap-args "-Pn"' in lines[1]
