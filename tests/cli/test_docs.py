"""Completion scripts and the man page generated from the parser, run by the real shells and
groff; the README's usage block current."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from brulee.cli.docs import main, nodes, with_usage
from brulee.cli.main import build_parser

README = Path(__file__).parents[2] / "README.md"


def needs(tool: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        shutil.which(tool) is None, reason=f"needs {tool} (make test installs it)"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    assert main([str(out)]) == 0
    return out


def test_readme_usage_is_current() -> None:
    readme = README.read_text("utf-8")
    assert with_usage(readme, list(nodes(build_parser()))) == readme, "run `make readme`"


def _bash(built: Path, *words: str) -> list[str]:
    script = (
        f"source {built / 'completion' / 'brulee.bash'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _brulee; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True,
                          check=True, timeout=30)  # fmt: skip
    return done.stdout.split()


def test_bash_completes_commands_options_values_and_files(built: Path, tmp_path: Path) -> None:
    assert _bash(built, "brulee", "")[:3] == ["scan", "report", "merge"]
    assert _bash(built, "brulee", "scan", "--wor") == ["--workers"]
    assert _bash(built, "brulee", "scan", "--fail-on", "") == [
        "critical", "high", "medium", "low", "kev"
    ]  # fmt: skip
    assert _bash(built, "brulee", "db", "") == [
        "import", "update", "mirror", "export", "status", "-h", "--help"
    ]  # fmt: skip
    assert _bash(built, "brulee", "db", "update", "--source", "") == ["feeds", "api"]
    assert _bash(built, "brulee", "report", "--form") == ["--format", "--formats"]
    (tmp_path / "scan-1.xml").write_text("<nmaprun/>")
    assert _bash(built, "brulee", "report", str(tmp_path / "scan")) == [
        str(tmp_path / "scan-1.xml")
    ]
    assert _bash(built, "brulee", "scan", "--workers", "") == []  # a number: nothing to offer


@needs("fish")
def test_fish_completes(built: Path) -> None:
    def complete(line: str) -> list[str]:
        script = f"source {built / 'completion' / 'brulee.fish'}; complete -C '{line}'"
        done = subprocess.run(["fish", "--no-config", "-c", script], capture_output=True,
                              text=True, check=True, timeout=30)  # fmt: skip
        return [row.split("\t")[0] for row in done.stdout.splitlines()]

    assert complete("brulee scan --wor") == ["--workers"]
    assert complete("brulee db ") == ["export", "import", "mirror", "status", "update"]
    assert complete("brulee db update --source ") == ["api", "feeds"]
    assert "--formats" in complete("brulee report --form")


@needs("zsh")
def test_zsh_completes(built: Path) -> None:
    # zsh's completion system, reduced to what the script calls, records what it is offered
    script = (
        'compadd() { print -r -- "${@:2}" }; _files() { print -r -- "<files>" }\n'
        '_describe() { print -rl -- "${(@P)4}" }\n'
        f"source {built / 'completion' / '_brulee'}"
    )

    def complete(*words: str) -> list[str]:
        env = f"words=({' '.join(repr(w) for w in words)}); CURRENT={len(words)}\n"
        done = subprocess.run(["zsh", "-f", "-c", env + script], capture_output=True,
                              text=True, check=True, timeout=30)  # fmt: skip
        return done.stdout.split("\n")[:-1]

    assert "--workers:Nmap processes to run in parallel (default: one per CPU, at most 4; 1 " \
        "when --nmap-args sets timing)" in complete("brulee", "scan", "--wor")  # fmt: skip
    assert complete("brulee", "db", "update", "--source", "") == ["feeds api"]
    assert complete("brulee", "report", "x") == ["<files>"]
    assert "import:import feeds (NVD 2.0, KEV, EPSS, Debian tracker, Ubuntu OVAL) or a `db " \
        "export` file" in complete("brulee", "db", "")  # fmt: skip


@needs("groff")
def test_man_page_renders_without_warnings(built: Path) -> None:
    page = built / "man" / "brulee.1"
    done = subprocess.run(["groff", "-man", "-ww", "-Tutf8", str(page)], capture_output=True,
                          text=True, check=True, timeout=30)  # fmt: skip
    assert done.stderr == ""
    text = re.sub(".\b", "", done.stdout).replace("\u2010", "-")  # no overstrike, plain hyphens
    for words in ("brulee scan", "brulee db update", "brulee config show", "EXIT STATUS"):
        assert words in text
    assert "--excludefile" in text
    assert "BRULEE_MAX_DB_AGE" in text
