"""Timing defaults and worker counts: the user's own timing options win."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brulee.scan.tuning import (
    MAX_AUTO_WORKERS,
    default_workers,
    timing_args,
    tunes_timing,
    usable_cpus,
)

AFFINITY = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("args", "template", "tuned"),
    [
        ([], ["-T4"], False),
        (["-sU", "-p", "53"], ["-T4"], False),
        (["--max-retries", "2"], ["-T4"], True),
        (["--min-rate=500"], ["-T4"], True),
        (["--max-hostgroup", "1"], ["-T4"], True),
        (["-T3"], [], True),
        (["-T", "2"], [], True),
        (["-Tpolite"], [], True),
    ],
)
def test_template_and_tuning(args: list[str], template: list[str], tuned: bool) -> None:
    assert timing_args(args) == template
    assert tunes_timing(args) is tuned


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({}, AFFINITY),
        ({"cpu.max": "max 100000\n"}, AFFINITY),
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu.max": "100001 100000\n"}, min(2, AFFINITY)),
        ({"cpu.max": "6400000 100000\n"}, AFFINITY),
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, AFFINITY),
        ({"cpu.max": "garbage"}, AFFINITY),
    ],
)
def test_usable_cpus_honours_a_container_quota(
    tmp_path: Path, files: dict[str, str], cpus: int
) -> None:
    assert usable_cpus(cgroup(tmp_path, files)) == cpus


def test_default_workers(tmp_path: Path) -> None:
    unlimited = cgroup(tmp_path, {})
    assert default_workers([], unlimited) == min(MAX_AUTO_WORKERS, AFFINITY)
    assert default_workers(["-T3"], unlimited) == 1
    assert default_workers(["--max-rate", "100"], unlimited) == 1
    one_cpu = cgroup(tmp_path / "pod", {"cpu.max": "100000 100000"})
    assert default_workers([], one_cpu) == 1
