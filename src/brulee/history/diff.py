"""What changed between two scans: new, reappeared and fixed findings, opened and closed ports,
changed services and hosts no longer seen; from the history store.

The comparison runs in SQL (``HistoryStore.findings_delta`` and the like), so only the changes
are ever in memory. Absence is read with care: a port or finding missing from the new scan is
closed or fixed only if the new scan found its host up; a host it did not find is listed in
``missing_hosts`` and its findings count as neither fixed nor open.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brulee.core.history import Changes, TrackedFinding
from brulee.history.store import HISTORY_FILE, HistoryStore, open_store


def diff_scans(store: HistoryStore, old_id: int, new_id: int) -> Changes:
    """The changes from scan ``old_id`` to scan ``new_id`` of the store (UsageError when either
    is not there)."""
    old, new = store.get(old_id), store.get(new_id)
    appeared, fixed, kept = store.findings_delta(old, new)
    opened, closed, changed = store.ports_delta(old, new)

    def seen_before(finding: TrackedFinding) -> bool:
        return bool(finding.first_seen) and finding.first_seen < new.scanned_at

    return Changes(
        previous=old,
        current=new,
        new_findings=tuple(f for f in appeared if not seen_before(f)),
        reappeared_findings=tuple(f for f in appeared if seen_before(f)),
        fixed_findings=tuple(fixed),
        still_open=kept,
        new_ports=tuple(opened),
        closed_ports=tuple(closed),
        changed_services=tuple(changed),
        missing_hosts=tuple(store.missing_hosts(old, new)),
    )


@contextmanager
def scratch_store() -> Iterator[HistoryStore]:
    """A throwaway history store, to diff reports that are not in the history: first-seen dates
    are those of the reports recorded in it only, so a finding absent from the older one is new,
    never reappeared."""
    with (
        tempfile.TemporaryDirectory(prefix="brulee-diff-") as tmp,
        open_store(Path(tmp) / HISTORY_FILE) as store,
    ):
        yield store
