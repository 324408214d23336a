"""Nmap's progress lines, as real Nmap 7.93 printed them, read and summed over workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from brulee.scan.progress import Overall, StatsReader, Status, Tracker
from tests.conftest import ASSETS

STATS = ASSETS / "nmap-stats"


def replay(path: Path, total: int) -> list[tuple[Status, Overall]]:
    """Every status a transcript gives, with the overall progress of a one-job scan."""
    reader, tracker = StatsReader(), Tracker({1: total})
    seen = []
    for line in path.read_bytes().splitlines(keepends=True):
        status = reader.feed(line)
        if status is not None:
            seen.append((status, tracker.update(1, status)))
    return seen


def test_service_scan_moves_the_bar_while_no_host_is_complete() -> None:
    seen = replay(STATS / "fleet40.txt", 40)
    fractions = [overall.fraction for _, overall in seen]
    assert fractions == sorted(fractions)  # never goes back, though phases restart at 0%
    assert all(overall.hosts_done == 0 for _, overall in seen)
    service = [(s, o) for s, o in seen if s.phase == "Service scan"]
    assert service, "no service scan line read"
    assert 0.4 < service[0][1].fraction < service[-1][1].fraction < 0.9
    assert fractions[-1] > 0.9  # NSE, the last phase, has started
    status, overall = next((s, o) for s, o in seen if s.remaining == 17)
    assert (status.undergoing, status.percent) == (40, 25.81)
    assert (overall.phase, overall.remaining) == ("Service scan 26%", 17)


def test_dead_addresses_count_as_completed_hosts() -> None:
    seen = replay(STATS / "sweep.txt", 64)
    assert seen[0][0] == Status(hosts_done=0, undergoing=63)
    assert seen[1][0].phase == "ARP Ping Scan" and seen[1][1].fraction < 0.1
    done = [o.hosts_done for _, o in seen]
    assert 57 in done and done[-1] == 63
    assert seen[-1][1].fraction > 57 / 64


def test_host_groups_finish_one_after_another() -> None:
    seen = replay(STATS / "hostgroups.txt", 8)
    assert [o.hosts_done for _, o in seen if o.hosts_done] == [3, 3, 3, 3, 5, 5, 7, 7]
    fractions = [o.fraction for _, o in seen]
    assert fractions == sorted(fractions)


def test_a_phase_without_an_estimate_yet() -> None:
    reader = StatsReader()
    status = reader.feed(b"Service scan Timing: About 0.81% done\n")
    assert status == Status(phase="Service scan", percent=0.81, remaining=None)
    assert reader.feed(b"22/tcp open  ssh  OpenSSH 7.4p1\n") is None
    assert reader.feed(b"Stats: not a real line\n") is None


def test_workers_are_summed_and_the_slowest_is_shown() -> None:
    tracker = Tracker({1: 30, 2: 10})
    tracker.update(1, Status(undergoing=30, phase="Service scan", percent=50.0, remaining=40))
    overall = tracker.update(2, Status(hosts_done=10, finished=True))
    assert overall.fraction == pytest.approx((30 * 0.65 + 10) / 40)
    assert (overall.hosts_done, overall.hosts_total) == (10, 40)
    assert (overall.phase, overall.remaining) == ("Service scan 50%", 40)
    done = tracker.update(1, Status(hosts_done=30, finished=True))
    assert (done.fraction, done.hosts_done, done.phase, done.remaining) == (1.0, 40, "", None)
