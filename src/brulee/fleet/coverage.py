"""How much of a fleet the parts of a merged report cover, and what to say about it.

Coverage is checked per site: shards 1..N, N being ``expected_shards`` or else the count most
parts of that site carry. What makes the report incomplete (a missing shard, an interrupted
part) is said first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from brulee.core.report import MissingShard, PartSummary
from brulee.core.scan import Shard

LISTED = 5
"""Names quoted in one warning."""


def listed(names: Sequence[str]) -> str:
    """``a; b; c; d; e; and 3 more``."""
    shown = "; ".join(names[:LISTED])
    return shown + (f"; and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _ranges(numbers: Iterable[int]) -> str:
    """``3, 7-9, 12``."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def check_coverage(
    parts: Sequence[PartSummary], expected_shards: int | None = None
) -> tuple[tuple[MissingShard, ...], tuple[str, ...]]:
    """The shards missing per site, and warnings about coverage: missing shards, interrupted
    parts, conflicting shard counts, shards read more than once. The count N of a site's
    shards is ``expected_shards``, or else the count most of its sharded parts carry."""
    missing: list[MissingShard] = []
    gaps: list[str] = []  # what makes the report incomplete: first
    notes: list[str] = []
    sites: dict[str, list[Shard]] = {}
    for part in parts:
        sites.setdefault(part.site, []).extend([part.shard] if part.shard else [])
    for site, shards in sites.items():
        where = f"site {site}" if site else "no site"
        counts = Counter(s.count for s in shards)
        if not counts and expected_shards is None:
            continue
        total = expected_shards or max(counts, key=lambda n: (counts[n], n))
        if set(counts) - {total}:
            found = ", ".join(f"{n} ({counts[n]} part(s))" for n in sorted(counts))
            notes.append(
                f"{where}: conflicting shard counts {found}; shards were checked out of "
                f"{total}, the others' coverage is unknown"
            )
        present = Counter(s.index for s in shards if s.count == total)
        absent = [i for i in range(1, total + 1) if i not in present]
        missing += (MissingShard(site, i, total) for i in absent)
        if absent:
            gaps.append(
                f"INCOMPLETE: {where}: shard(s) {_ranges(absent)} of {total} missing; "
                "the hosts of those slices are not in this report"
            )
        if twice := [i for i, n in present.items() if n > 1]:
            notes.append(
                f"{where}: shard(s) {_ranges(twice)} of {total} were read more than once; "
                "a host found by both is listed once, with the ports of both (the newer one's "
                "where both looked)"
            )
    if cut := [p.label for p in parts if p.incomplete]:
        gaps.append(
            f"INCOMPLETE: {len(cut)} part(s) were interrupted and cover only some of their "
            f"hosts: {listed(cut)}"
        )
    return tuple(missing), (*gaps, *notes)
