"""Secrets given by environment and file stay out of the argv of brulee and of its Nmap child
during a real lab scan (root), and out of its output and reports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_config import process_tree
from tests.lab.netlab import Lab

pytestmark = [pytest.mark.root, pytest.mark.nmap]
BRULEE = str(Path(sys.executable).with_name("brulee"))
SECRETS = ("Zq8HookToken42", "Zq8EndpointPw9")


def test_scan_keeps_secrets_out_of_every_argv(lab: Lab, tmp_path: Path) -> None:
    config = tmp_path / "brulee.toml"
    config.write_text(
        f'history = "{tmp_path / "history.sqlite"}"\n'
        '[scan]\nendpoint-url = "http://brulee:Zq8EndpointPw9@127.0.0.1:9"\nno-progress = true\n',
        "utf-8",
    )
    env = {
        **os.environ,
        "BRULEE_CONFIG": str(config),
        "BRULEE_NOTIFY": "https://hooks.example.com/services/T1/Zq8HookToken42",
    }
    env.pop("BRULEE_HISTORY", None)
    out = tmp_path / "out"
    argv = [BRULEE, "scan", lab.addresses[0], "--nmap-args", "-n -T4 -p 21,22", "-o", str(out)]
    process = subprocess.Popen(lab.scanner_cmd(argv), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    # Every argv each process showed: one sampled between fork and exec is its parent's.
    seen: set[bytes] = set()
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        for pid in process_tree(process.pid):
            try:
                seen.add(Path(f"/proc/{pid}/cmdline").read_bytes())
            except OSError:
                continue  # ended meanwhile
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    commands = [cmdline.split(b"\0")[0] for cmdline in seen]
    assert any(command.endswith(b"nmap") for command in commands), commands  # the child seen
    assert any(b"brulee" in cmdline for cmdline in seen)
    written = "".join(p.read_text("utf-8", "replace") for p in out.rglob("*") if p.is_file())
    for secret in SECRETS:
        assert all(secret.encode() not in cmdline for cmdline in seen)
        assert secret not in stdout + stderr + written
