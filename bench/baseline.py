"""Run a benchmark's measuring half with brulee's code of another git revision, for before/after
figures measured the same way."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def at_revision(revision: str, script: Path, *args: str) -> dict[str, Any]:
    """Run ``script --collect OUT ARGS...`` with ``revision``'s ``src/`` (exported by ``git
    archive``) first on the module path, and return the JSON object it wrote to OUT. The script
    must record ``brulee.__file__`` under ``__brulee__``: it is checked to be the exported code."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        out = Path(tmp) / "out.json"
        subprocess.run(
            [sys.executable, str(script), "--collect", str(out), *args],
            check=True,
            env={"PYTHONPATH": str(Path(tmp) / "src"), "PATH": "/usr/bin:/bin"},
        )
        result: dict[str, Any] = json.loads(out.read_text())
    source = result.pop("__brulee__")
    if not source.startswith(tmp):
        raise SystemExit(f"the baseline ran {source}, not the code of {revision}")
    return result
