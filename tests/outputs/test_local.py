"""A directory through the Sink API: what ``brulee merge`` reads local sources with."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.errors import OutputError
from brulee.outputs import LocalSink

from .conftest import REPORT_TREE


def test_publish_copies_the_tree_and_lists_it_back(report_dir: Path, tmp_path: Path) -> None:
    dest = LocalSink(tmp_path / "results" / "site-a")
    copied = dest.publish(report_dir)
    assert copied == [str(tmp_path / "results" / "site-a" / rel) for rel in sorted(REPORT_TREE)]

    fleet = LocalSink(tmp_path / "results")
    assert list(fleet.list()) == ["site-a/report.json"]
    assert list(fleet.list(".xml")) == ["site-a/nmap/scan-0001.xml"]
    for rel, (_, data) in REPORT_TREE.items():
        assert fleet.read(f"site-a/{rel}") == data
    with fleet.open("site-a/report.pdf") as stream:
        assert stream.read(4) == b"%PDF"


def test_publish_into_itself_copies_nothing(report_dir: Path) -> None:
    assert LocalSink(report_dir).publish(report_dir) == [
        str(report_dir / rel) for rel in sorted(REPORT_TREE)
    ]


def test_errors(tmp_path: Path, report_dir: Path) -> None:
    with pytest.raises(OutputError, match=r"listing .*missing: not a directory"):
        list(LocalSink(tmp_path / "missing").list())
    with pytest.raises(OutputError, match=r"reading nope\.json from .*: No such file"):
        LocalSink(report_dir).read("nope.json")
    for key in ("../out/report.json", "/etc/passwd", ""):
        with pytest.raises(OutputError, match="not a key under this directory"):
            LocalSink(report_dir / "nmap").open(key)
    (tmp_path / "file").write_text("")
    with pytest.raises(
        OutputError, match=r"copying nmap/scan-0001\.txt to .*file: Not a directory"
    ):
        LocalSink(tmp_path / "file").publish(report_dir)
