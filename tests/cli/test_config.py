"""Settings from the environment and the TOML file, under the flags; `brulee config show`; secrets
kept out of argv, logs and reports (a real brulee process, a real webhook server on loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from brulee.cli.config import MAX_CONFIG_BYTES, Parsed, parse, show_lines
from brulee.cli.main import build_parser, main
from brulee.errors import UsageError
from tests import xmlsnippets as x

SLACK = "https://hooks.slack.com/services/T0001/B0001/Zq8SecretToken42"
PG = "postgresql://brulee:Pw0rdSecret9@127.0.0.1:1/brulee"


def parsed(
    argv: list[str], tmp_path: Path, env: dict[str, str] | None = None, toml: str = ""
) -> Parsed:
    environ = dict(env or {})
    if toml:
        (tmp_path / "c.toml").write_text(toml, "utf-8")
        environ["BRULEE_CONFIG"] = str(tmp_path / "c.toml")
    return parse(build_parser(), argv, environ, home=tmp_path)


def test_flags_over_environment_over_file_over_defaults(tmp_path: Path) -> None:
    toml = (
        'workers = 1\nsite = "file"\n[scan]\nworkers = 2\nmax-db-age = "3d"\nallow-large = true\n'
    )
    p = parsed(["scan", "--workers", "4"], tmp_path, {"BRULEE_WORKERS": "3"}, toml)
    assert p.args.workers == 4  # the flag
    p = parsed(["scan"], tmp_path, {"BRULEE_WORKERS": "3"}, toml)
    assert p.args.workers == 3  # the environment
    p = parsed(["scan"], tmp_path, {}, toml)
    sources = {s.option.name: s.source for s in p.settings}
    assert p.args.workers == 2  # the command's table wins over the top level
    assert sources["workers"].endswith("c.toml [scan]")
    assert p.args.site == "file"  # a shared top-level key
    assert p.args.max_db_age == timedelta(days=3)  # typed as the flag would be
    assert p.args.allow_large is True
    assert p.args.host_timeout == "30m"  # the default
    assert sources["host-timeout"] == "default"


def test_booleans_lists_and_paths_are_typed(tmp_path: Path) -> None:
    toml = '[scan]\nvex = ["a.json", "/abs/b.json"]\nnotify = "https://h.example/x"\n'
    env = {"BRULEE_NO_HISTORY": "yes", "BRULEE_EXCLUDE": "1.2.3.4,5.6.7.8 9.9.9.9"}
    p = parsed(["scan"], tmp_path, env, toml)
    assert p.args.vex == [tmp_path / "a.json", Path("/abs/b.json")]  # relative to the file
    assert p.args.notify == ["https://h.example/x"]
    assert p.args.no_history is True
    assert p.args.exclude == ["1.2.3.4,5.6.7.8", "9.9.9.9"]
    p = parsed(["scan", "--vex", "c.json"], tmp_path, {"BRULEE_NO_HISTORY": "0"}, toml)
    assert p.args.vex == [Path("c.json")]  # a flag replaces the list, it does not add to it
    assert p.args.no_history is False


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"BRULEE_WORKERS": "many"}, "", "BRULEE_WORKERS: 'many' is not a positive whole number"),
        ({"BRULEE_NO_HISTORY": "perhaps"}, "", "BRULEE_NO_HISTORY: expected 1 or 0"),
        ({}, "wrokers = 2\n", "c.toml: wrokers: no such option"),
        ({}, "[scan]\nwrokers = 2\n", "c.toml: [scan] wrokers: no such option of `brulee scan`"),
        ({}, "[scna]\nworkers = 2\n", "c.toml: [scna]: no such command"),
        ({}, "[scan]\nworkers = true\n", "c.toml [scan] workers: expected a string or a number"),
        ({}, '[report]\nfail-on = "severe"\n', "c.toml [report] fail-on: 'severe' is not one of"),
        ({}, "[scan]\nallow-large = 1\n", "c.toml [scan] allow-large: expected true or false"),
        ({}, "[scan\n", "c.toml: not valid TOML"),
        ({}, 'format = "docx"\n', "c.toml format: unknown format docx"),
        ({"BRULEE_CONFIG": "/nonexistent.toml"}, "", "BRULEE_CONFIG /nonexistent.toml: no such"),
    ],
)
def test_bad_keys_and_values_name_the_file_and_key(
    tmp_path: Path, env: dict[str, str], toml: str, message: str
) -> None:
    # every table is checked, whichever command runs
    with pytest.raises(UsageError) as info:
        parsed(["history"] if "report" in toml else ["scan"], tmp_path, env, toml)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_file_is_bounded_and_found_in_its_places(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="larger than 256 KiB"):
        parsed(["scan"], tmp_path, {}, "#" * (MAX_CONFIG_BYTES + 1))
    home_config = tmp_path / ".config" / "brulee" / "config.toml"
    home_config.parent.mkdir(parents=True)
    home_config.write_text("[scan]\nworkers = 5\n", "utf-8")
    assert parsed(["scan"], tmp_path).args.workers == 5
    elsewhere = tmp_path / "x.toml"
    elsewhere.write_text("[scan]\nworkers = 6\n", "utf-8")
    assert parsed(["--config", str(elsewhere), "scan"], tmp_path).args.workers == 6
    assert parsed(["scan", "--config", str(elsewhere)], tmp_path).args.workers == 6


def test_diff_format_is_its_own_setting(tmp_path: Path) -> None:
    toml = 'format = "json,html"\n[diff]\nformat = "md"\n'
    assert parsed(["diff", "1", "2"], tmp_path, {}, toml).args.format == "md"
    assert parsed(["report", "a.xml"], tmp_path, {}, toml).args.formats == ("json", "html")
    env = {"BRULEE_FORMAT": "sarif", "BRULEE_DIFF_FORMAT": "json"}
    assert parsed(["diff", "1", "2"], tmp_path, env).args.format == "json"


def test_config_show_says_where_each_value_came_from_secrets_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'history = "{PG}"\n[scan]\nnotify = ["{SLACK}"]\n', "utf-8")
    monkeypatch.setenv("BRULEE_CONFIG", str(config))
    monkeypatch.setenv("BRULEE_WORKERS", "3")
    monkeypatch.delenv("BRULEE_HISTORY")
    assert main(["config", "show", "scan"]) == 0
    out = capsys.readouterr().out
    assert f"# configuration file: {config}" in out
    assert "workers = 3  # BRULEE_WORKERS" in out
    assert f'notify = ["https://hooks.slack.com/<redacted>"]  # {config} [scan]' in out
    assert f'history = "postgresql://brulee:***@127.0.0.1:1/brulee"  # {config}' in out
    assert 'host-timeout = "30m"  # default' in out
    assert "Secret" not in out
    assert main(["config", "show", "scna"]) == 2


def test_a_readable_file_with_credentials_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'history = "{PG}"\n', "utf-8")
    config.chmod(0o644)
    parsed(["scan"], tmp_path, {"BRULEE_CONFIG": str(config)})
    assert caplog.messages == [
        f"{config} holds credentials and other users may read it: chmod 600 {config}"
    ]
    caplog.clear()
    config.chmod(0o600)
    parsed(["scan"], tmp_path, {"BRULEE_CONFIG": str(config)})
    assert caplog.messages == []


def test_show_lists_every_command(tmp_path: Path) -> None:
    lines = show_lines(parsed(["config", "show"], tmp_path))
    assert {"[scan]", "[report]", "[merge]", '["db update"]', "[diff]"} <= set(lines)


def test_spellings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert parsed(["report", "a.xml", "--format", "md"], tmp_path).args.formats == ("md",)
    assert parsed(["report", "a.xml", "--formats", "md"], tmp_path).args.formats == ("md",)
    args = parsed(["scan", "--excludefile", "x.txt", "-q"], tmp_path).args
    assert args.exclude_file == [Path("x.txt")]
    assert args.quiet is True
    with pytest.raises(UsageError, match="unrecognized arguments: --form md"):
        parsed(["report", "a.xml", "--form", "md"], tmp_path)  # no abbreviations


def test_quiet_prints_only_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = x.write(tmp_path / "in.xml", x.host("10.0.0.1", x.port(22, "")))
    assert main(["report", str(xml), "-o", str(tmp_path / "o"), "-f", "json", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["report", str(tmp_path / "missing.xml"), "-q"]) == 2
    assert capsys.readouterr().err.startswith("brulee: error: ")


# -- secrets out of argv, logs and reports, through a real process ---------------------------


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    arrived = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        _Hook.arrived.set()
        _Hook.release.wait(30)  # brulee waits here while the test reads /proc
        self.send_response(400)  # a failure (not retried): brulee logs a warning naming it
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    _Hook.received = []
    _Hook.arrived.clear()
    _Hook.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/T1/Zq8SecretToken42?sig=Zq8Sig77"
    _Hook.release.set()
    server.shutdown()
    server.server_close()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def _brulee(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The installed command, as a user runs it."""
    command = [str(Path(sys.executable).parent / "brulee"), *argv]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _everything_written(*roots: Path) -> str:
    return "\n".join(
        p.read_text("utf-8", errors="replace") for r in roots for p in r.rglob("*") if p.is_file()
    )


def test_secrets_from_environment_and_file_stay_out_of_argv_logs_and_reports(
    tmp_path: Path, webhook: str
) -> None:
    secrets = ("Zq8SecretToken42", "Zq8Sig77", "Pw0rdSecret9")
    config = tmp_path / "brulee.toml"
    history = tmp_path / "h.sqlite"
    config.write_text(
        f'[report]\nhistory = "{history}"\nformat = "json,html,md,csv,sarif"\n', "utf-8"
    )
    env = {
        **os.environ,
        "BRULEE_CONFIG": str(config),
        "BRULEE_NOTIFY": webhook,
        "BRULEE_DEBUG": "1",
    }
    env.pop("BRULEE_HISTORY")
    one = x.write(tmp_path / "one.xml", x.host("10.0.0.1", x.port(22, "")))
    ftp = (
        '<service name="ftp" product="vsftpd" version="2.3.4">'
        "<cpe>cpe:/a:vsftpd:vsftpd:2.3.4</cpe></service>"
    )
    two = x.write(tmp_path / "two.xml", x.host("10.0.0.1", x.port(21, ftp)))
    first = _brulee("report", str(one), "-o", str(tmp_path / "r1"), env=env)
    assert first.wait(60) == 0, first.communicate()
    second = _brulee("report", str(two), "-o", str(tmp_path / "r2"), env=env)
    try:
        assert _Hook.arrived.wait(60), "brulee posted nothing: the secret URL was not used"
        argv = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in process_tree(second.pid)]
    finally:
        _Hook.release.set()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert {f["cve"] for f in _Hook.received[0]["new_findings"]} >= {"CVE-2011-2523"}
    assert "webhook http://127.0.0.1:" in err  # the failure is logged, URL redacted
    assert argv and all(secret.encode() not in a for a in argv for secret in secrets)
    # the history URL with its password, from the file, unreachable: exit 3, error scrubbed
    config.write_text(f'[report]\nhistory = "{PG}"\n', "utf-8")
    third = _brulee("report", str(two), "-o", str(tmp_path / "r3"), env=env)
    out3, err3 = third.communicate(timeout=120)
    assert third.returncode == 3, err3
    assert "postgresql://<redacted>@127.0.0.1:1/brulee" in err3  # user and password hidden
    written = _everything_written(tmp_path / "r1", tmp_path / "r2", tmp_path / "r3")
    assert (tmp_path / "r2" / "report.sarif").exists()
    for secret in secrets:
        assert secret not in err + out + err3 + out3 + written
