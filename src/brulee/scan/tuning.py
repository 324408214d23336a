"""How fast brulee runs Nmap when the user does not say: a timing template and a worker count.

Nmap's documentation recommends ``-T4`` on reasonably fast and reliable networks (a LAN or a
data centre): it shortens probe timeouts and raises service-detection parallelism, and finds
the same ports and services as the default ``-T3``. brulee puts it before the user's options,
so that any fine-grained timing option they give (``--max-retries 2``) overrides it, and leaves
it out when they choose a template themselves (``-T3``). Parallel Nmap processes, one per usable
CPU (at most ``MAX_AUTO_WORKERS``), add service-detection parallelism and CPU for matching
banners; a user who tunes timing gets one process unless they ask for more.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

DEFAULT_TIMING = "-T4"
MAX_AUTO_WORKERS = 4
CGROUP = Path("/sys/fs/cgroup")

# Nmap's fine-grained timing and rate options (besides -T).
TIMING_OPTIONS = frozenset(
    {
        "min-rate", "max-rate", "scan-delay", "max-scan-delay", "min-parallelism",
        "max-parallelism", "max-retries", "min-rtt-timeout", "max-rtt-timeout",
        "initial-rtt-timeout", "min-hostgroup", "max-hostgroup",
    }
)  # fmt: skip


def option_name(word: str) -> str | None:
    """The option a word names (``--min-rate=5`` -> ``min-rate``), or None for a value."""
    if not word.startswith("-") or word == "-":
        return None
    return word.lstrip("-").split("=", 1)[0]


def sets_template(user_args: Sequence[str]) -> bool:
    """Whether the user chose a timing template (``-T3``, ``-T 2``, ``-Tpolite``)."""
    return any(word.startswith("-T") for word in user_args)


def tunes_timing(user_args: Sequence[str]) -> bool:
    """Whether the user chose a template or any fine-grained timing or rate option."""
    names = {option_name(word) for word in user_args}
    return sets_template(user_args) or bool(names & TIMING_OPTIONS)


def timing_args(user_args: Sequence[str]) -> list[str]:
    """brulee's timing template, unless the user chose one."""
    return [] if sets_template(user_args) else [DEFAULT_TIMING]


def usable_cpus(cgroup: Path = CGROUP) -> int:
    """CPUs this process may use: its affinity, bounded by a cgroup CPU quota (a container's
    limit, v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), rounded up; at least 1."""
    has_affinity = hasattr(os, "sched_getaffinity")  # not on macOS
    cpus = len(os.sched_getaffinity(0)) if has_affinity else os.cpu_count() or 1
    return max(1, min(cpus, _quota(cgroup) or cpus))


def _quota(cgroup: Path) -> int | None:
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if not (quota.isdigit() and period.isdigit()) or int(period) == 0:
        return None  # "max" (v2) or "-1" (v1): no quota
    return -(-int(quota) // int(period))


def default_workers(user_args: Sequence[str], cgroup: Path = CGROUP) -> int:
    """Nmap processes to run when ``--workers`` is not given: one per usable CPU, at most
    ``MAX_AUTO_WORKERS``; one when the user tunes timing (their rates hold per process)."""
    if tunes_timing(user_args):
        return 1
    return min(MAX_AUTO_WORKERS, usable_cpus(cgroup))
