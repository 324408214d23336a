"""Demo: scan the default lab with brulee, as root.

    python -m tests.lab.demo [EXTRA BRULEE SCAN ARGS...]

Brings up DEFAULT_HOSTS, runs ``brulee scan <lab IPv4 addresses> -o reports/demo-<UTC stamp>
--nmap-args "-n -T4"`` inside the scanner namespace (the brulee console script next to this
Python), prints where the report is, and tears the lab down. Exit status: brulee's, or 2 when
not root, 3 when brulee or the lab cannot be started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .netlab import DEFAULT_HOSTS, Lab, LabError, lab_skip_reason


def brulee_argv(lab: Lab, report_dir: Path, extra: Sequence[str]) -> list[str]:
    """The brulee command line, wrapped to run in the lab's scanner namespace."""
    brulee = Path(sys.executable).with_name("brulee")
    scan = [str(brulee), "scan", *lab.addresses, "-o", str(report_dir), "--nmap-args", "-n -T4"]
    return lab.scanner_cmd([*scan, *extra])


def main(argv: Sequence[str]) -> int:
    """Entry point."""
    reason = lab_skip_reason()
    if reason is not None:
        print(f"demo: {reason}", file=sys.stderr)
        return 2
    brulee = Path(sys.executable).with_name("brulee")
    if not os.access(brulee, os.X_OK):
        print(f"demo: {brulee} not found: install the project (pip install -e .)", file=sys.stderr)
        return 3
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = Path("reports", f"demo-{stamp}").resolve()
    try:
        with Lab(DEFAULT_HOSTS) as lab:
            print(f"lab up: {' '.join(lab.addresses)}", file=sys.stderr)
            code = subprocess.run(brulee_argv(lab, report_dir, argv), check=False).returncode
    except LabError as exc:
        print(f"demo: lab failed: {exc}", file=sys.stderr)
        return 3
    print(f"report: {report_dir}" if report_dir.exists() else "demo: brulee wrote no report")
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
