"""Several brulee processes opening a new store and recording scans at the same moment lose
nothing: every scan is there whole, and first-seen dates are the earliest."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from threading import Barrier

from brulee.fleet.merge import read_report
from brulee.history.diff import diff_scans
from brulee.history.store import open_store

from .conftest import LabReports, first_seen_dates

WORKERS = 6
FIRST, CHANGED = "2026-11-28T16:29:57+00:00", "2026-12-08T16:29:57+00:00"
FTP = "10.213.77.13"
FIRST_PORTS = [  # the open ports of the first lab scan, all with findings
    ("10.213.77.11", 21), ("10.213.77.11", 22), ("10.213.77.12", 22), ("10.213.77.12", 80),
    (FTP, 21), (FTP, 80), ("10.213.77.14", 22), ("10.213.77.14", 25), ("10.213.77.14", 53),
    ("10.213.77.15", 80),
]  # fmt: skip


def record(url: str, reports: list[Path], start: Barrier) -> list[int]:
    """One process: open the store when all are ready, then record each report."""
    start.wait(timeout=60)
    with open_store(url) as store:
        ids = []
        for path in reports:
            with read_report(path) as report:
                ids.append(store.record(report, kind="scan", location=str(path)))
        return ids


def test_concurrent_writers_lose_nothing(history_url: str, lab_reports: LabReports) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        start = manager.Barrier(WORKERS)
        runs = [
            pool.submit(record, history_url, [lab_reports.first, lab_reports.changed], start)
            for _ in range(WORKERS)
        ]
        ids = [run.result(timeout=120) for run in runs]
    with open_store(history_url) as store:
        scans = store.list_scans(limit=100)
        assert sorted(s.id for s in scans) == sorted(i for pair in ids for i in pair)
        assert len(scans) == 2 * WORKERS
        firsts = [store.get(first) for first, _ in ids]
        changed = [store.get(second) for _, second in ids]
        assert {(s.ports, s.findings) for s in firsts} == {(10, 51)}
        assert {(s.ports, s.findings) for s in changed} == {(9, 41)}
        for first, second in ids:
            assert diff_scans(store, firsts[0].id, first).empty
            changes = diff_scans(store, first, second)
            assert (changes.count("new"), changes.count("fixed")) == (5, 12)
            assert changes.still_open == 36
        # Each finding's first date is the first scan's, whichever process recorded first;
        # only the port opened later was first seen later.
        seen = {(address, port, date) for address, port, _, date in first_seen_dates(store)}
        assert sorted(seen) == sorted([
            *((address, port, FIRST) for address, port in FIRST_PORTS), (FTP, 22, CHANGED),
        ])  # fmt: skip
