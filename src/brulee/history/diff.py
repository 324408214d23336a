"""Comparing two scans of the history on request (``brulee diff``): what to know first about
the comparison, then the changes (:mod:`brulee.history.compare`); and a throwaway store for
reports that are not in the history.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brulee.core.history import Changes, ScanRef
from brulee.history.store import HISTORY_FILE, HistoryStore, open_store, view_text
from brulee.report.view.text import time_text


def diff_notes(old: ScanRef, new: ScanRef) -> tuple[str, ...]:
    """What to know before reading the changes from ``old`` to ``new``: OLD newer than NEW,
    scans that did not look at the same ports, or did not end well."""
    notes = []
    if old.scanned_at > new.scanned_at:
        notes.append(
            f"{old.name} ({time_text(old.scanned_at)}) is newer than {new.name} "
            f"({time_text(new.scanned_at)}): the changes read backwards, what shows as fixed "
            "came later and what shows as new was there first. Give the older scan first."
        )
    if (old.scanned, old.options) != (new.scanned, new.options):
        notes.append(
            f"The two scans did not look at the same ports with the same options ({old.name}: "
            f"{view_text(old)}; {new.name}: {view_text(new)}): a port or finding is closed or "
            f"fixed only where {new.name} looked."
        )
    for ref in (old, new):
        if ref.outcome in ("failed", "interrupted"):
            notes.append(
                f"{ref.name} {'failed' if ref.outcome == 'failed' else 'was interrupted'}: hosts "
                "it did not reach count as not found up, and their findings as unknown."
            )
    return tuple(notes)


def diff_scans(store: HistoryStore, old: int | ScanRef, new: int | ScanRef) -> Changes:
    """The changes from scan ``old`` to scan ``new`` of the store (ids or recorded scans;
    UsageError when either is not there), streamed from the store while it is open."""
    old_ref = old if isinstance(old, ScanRef) else store.get(old)
    new_ref = new if isinstance(new, ScanRef) else store.get(new)
    return store.compare(old_ref, new_ref, diff_notes(old_ref, new_ref))


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
