"""Output to one file or to standard output, input from standard input."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from brulee.cli.main import main
from brulee.cli.streams import read_stdin, stdin_targets, stdin_xml
from brulee.errors import TargetError, UsageError
from brulee.history.store import open_store
from tests import xmlsnippets as x
from tests.cli.test_main import SSH, one_line_error

BRULEE = str(Path(sys.executable).with_name("brulee"))


@pytest.fixture
def xml(tmp_path: Path) -> Path:
    return x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, SSH)))


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    ("name", "formats", "check"),
    [
        ("out.json", [], lambda t: json.loads(t)["services"][0]["product"] == "OpenSSH"),
        ("out.json", ["-f", "json"], lambda t: json.loads(t)["schema_version"]),
        ("r.md", ["-f", "md"], lambda t: t.startswith("# Vulnerability report")),
        ("r.html", [], lambda t: t.startswith("<!DOCTYPE html>")),
        ("dojo.json", ["-f", "defectdojo"], lambda t: "findings" in json.loads(t)),
    ],
)
def test_o_file_writes_that_one_file(
    tmp_path: Path, xml: Path, name: str, formats: list[str], check: object
) -> None:
    out = tmp_path / "sub" / name
    assert main(["report", str(xml), "-o", str(out), *formats, "--no-history"]) == 0
    assert out.is_file()
    assert callable(check) and check(out.read_text("utf-8"))
    assert _leftovers(out.parent) == [name]  # no directory named after it, no scratch left


def test_o_file_replaces_an_older_file(tmp_path: Path, xml: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old", "utf-8")
    assert main(["report", str(xml), "-o", str(out), "--no-history"]) == 0
    assert json.loads(out.read_text("utf-8"))["services"]


@pytest.mark.parametrize(
    "case",
    [
        ("out.html", ["-f", "json"], "-o OUT is a .html file but the format is json: name it "
         "*.json or use -f html"),
        ("out.json", ["-f", "json,html"], "-o OUT writes one report: choose one format (-f json), "
         "not json,html"),
        ("out.json", ["-f", "md"], "name it *.md or use -f json"),
    ],
)  # fmt: skip
def test_o_file_with_a_contradicting_format_is_exit_2(
    tmp_path: Path, xml: Path, capsys: pytest.CaptureFixture[str], case: tuple[str, list[str], str]
) -> None:
    name, formats, message = case
    out = tmp_path / name
    assert main(["report", str(xml), "-o", str(out), *formats]) == 2
    assert message.replace("OUT", str(out)) in one_line_error(capsys.readouterr().err)
    assert _leftovers(tmp_path) == ["in.xml"]


def test_directories_keep_working(tmp_path: Path, xml: Path) -> None:
    """A name without a report extension, a trailing slash or an existing directory: a
    directory of report.<ext> files, as before."""
    (tmp_path / "old.json").mkdir()
    for out in ("plain", "slash.json/", "old.json"):
        argv = ["report", str(xml), "-o", f"{tmp_path}/{out}", "-f", "json,md", "--no-history"]
        assert main(argv) == 0
        assert _leftovers(tmp_path / out) == ["report.json", "report.md"]


def test_stdin_to_stdout_with_every_message_on_stderr(tmp_path: Path, xml: Path) -> None:
    """``brulee report - -o -``: Nmap XML in, the JSON report out, nothing else on stdout."""
    done = subprocess.run(
        [BRULEE, "report", "-", "-o", "-", "--no-history"], input=xml.read_bytes(),
        capture_output=True, check=False, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["services"][0]["version"] == "7.4"
    assert data["scan"]["inputs"][0].endswith("stdin.xml")
    assert b"1 hosts up" in done.stderr or b"1 host up" in done.stderr
    assert b"<standard output>" in done.stderr
    assert _leftovers(tmp_path) == ["in.xml"]  # no reports/ directory, no scratch


def test_another_format_to_stdout(tmp_path: Path, xml: Path) -> None:
    done = subprocess.run(
        [BRULEE, "report", str(xml), "-o", "-", "-f", "md", "--no-history"],
        capture_output=True, check=False, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"# Vulnerability report")
    assert b"Vulnerability report" not in done.stderr


def test_stdout_needs_one_format(capsys: pytest.CaptureFixture[str], xml: Path) -> None:
    assert main(["report", str(xml), "-o", "-", "-f", "json,html"]) == 2
    assert "-o - writes one report to standard output: choose one format" in one_line_error(
        capsys.readouterr().err
    )


def test_stdin_read_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["report", "-", "-", "-o", str(tmp_path / "o")]) == 2
    assert "standard input (-) can be read only once" in one_line_error(capsys.readouterr().err)


def test_stdin_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="larger than 10 bytes"):
        read_stdin(10, "the target list", io.BytesIO(b"x" * 11))
    assert read_stdin(10, "the target list", io.BytesIO(b"x" * 10)) == b"x" * 10
    with pytest.raises(UsageError, match="Nmap XML on standard input is larger than 100 bytes"):
        stdin_xml(tmp_path, io.BytesIO(b"<" * 101), limit=100)
    kept = stdin_xml(tmp_path, io.BytesIO(b"<nmaprun/>"), limit=100)
    assert kept == tmp_path / "nmap" / "stdin.xml" and kept.read_bytes() == b"<nmaprun/>"


def test_stdin_targets() -> None:
    specs = stdin_targets(io.BytesIO(b"10.0.0.1 # web\n\n10.0.1.0/30\nexample.test\n"))
    assert [s.text for s in specs] == ["10.0.0.1", "10.0.1.0/30", "example.test"]
    with pytest.raises(TargetError, match="<stdin>:2: invalid address"):
        stdin_targets(io.BytesIO(b"10.0.0.1\n10.0.0.300\n"))
    with pytest.raises(TargetError, match="not UTF-8"):
        stdin_targets(io.BytesIO(b"\xff\n"))


def test_scan_il_dash_reads_targets_from_stdin(tmp_path: Path) -> None:
    """A bad target on standard input is refused, naming its line, before Nmap would run."""
    done = subprocess.run(
        [BRULEE, "scan", "-iL", "-", "-o", str(tmp_path / "o"), "--no-history"],
        input=b"10.0.0.1\nnot a target!\n", capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode().strip().startswith("brulee: error: <stdin>:2: refused target")
    assert not (tmp_path / "o").exists()


def test_stdin_from_a_terminal_is_refused(tmp_path: Path, xml: Path) -> None:
    """Nothing piped (standard input is a terminal): an error, not a wait for typing."""
    master, slave = pty.openpty()
    try:
        done = subprocess.run(
            [BRULEE, "report", "-", "-o", str(tmp_path / "o")], stdin=slave,
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "brulee: error: - reads the Nmap XML from standard input, but nothing is piped into brulee"
    )


def test_the_history_records_the_file_not_the_scratch(tmp_path: Path, xml: Path) -> None:
    store = str(tmp_path / "h.sqlite")
    out = tmp_path / "out.json"
    assert main(["report", str(xml), "-o", str(out), "--history", store]) == 0
    assert main(["report", str(xml), "-o", str(tmp_path / "dir"), "--history", store]) == 0
    with open_store(store) as history:
        second, first = history.list_scans()
    assert (first.location, second.location) == (str(out), str(tmp_path / "dir"))


def test_a_failure_leaves_no_empty_scratch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope.xml"), "-o", str(tmp_path / "out.json")]) == 2
    assert "cannot read" in one_line_error(capsys.readouterr().err)
    assert _leftovers(tmp_path) == []
