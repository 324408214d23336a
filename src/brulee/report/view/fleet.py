"""The coverage section of a merged report (``brulee merge``): per site, then per part."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from brulee.core.report import MissingShard, PartSummary
from brulee.core.scan import Shard
from brulee.report.view.text import ranges_text, time_text
from brulee.util.text import count_text

NO_SITE = "(no site)"
"""How parts merged without a ``--site`` label are named in the coverage tables."""


def part_label(site: str, shard: Shard | None, source: str = "") -> str:
    """``site dc1, shard 3/16`` (as ``PartSummary.label``); ``source`` with neither."""
    words = [f"site {site}"] if site else []
    words += [f"shard {shard}"] if shard else []
    return ", ".join(words) or source


def source_root(sources: Iterable[str]) -> str:
    """The longest ``/``-ended prefix every source shares ('' when none): shown once, so that
    each row shows only what tells it apart."""
    names = list(sources)
    if not names:
        return ""
    first, last = min(names), max(names)
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    return first[: first.rfind("/", 0, common) + 1]


@dataclass(frozen=True, slots=True)
class SiteCoverage:
    """How much of one site the merged report covers."""

    site: str
    """The site label; '' for parts merged without one."""
    name: str
    """The site, or ``NO_SITE``."""
    parts: int
    """Reports read for it."""
    expected: int
    """Shards it was cut into (N of ``--shard I/N``); 0 when none of its parts is a shard."""
    present: int
    """Distinct shards of those N read."""
    missing: tuple[int, ...]
    """Shard numbers no report covers."""
    interrupted: tuple[str, ...]
    """Parts whose Nmap run was cut off: their shard (``3/16``), or label when unsharded."""
    with_errors: int
    """Parts that reported scan errors."""

    @property
    def missing_text(self) -> str:
        return ranges_text(self.missing)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.interrupted

    @property
    def shards_text(self) -> str:
        """``3 / 4``, or ``not sharded``."""
        return f"{self.present} / {self.expected}" if self.expected else "not sharded"


@dataclass(frozen=True, slots=True)
class PartRow:
    """One row of the parts table: a part read, or a shard no report covers."""

    label: str
    started: str
    finished: str
    hosts_up: str
    hosts_down: str
    status: str
    """``complete``, ``INCOMPLETE (interrupted)``, ``2 errors``, both, or ``MISSING``."""
    kind: str
    """``complete``, ``errors``, ``incomplete`` or ``missing`` (the worst first): for styling."""
    source: str
    """Where the part was read from, without the section's ``source_root``; '' when missing."""


@dataclass(frozen=True, slots=True)
class MissingRange:
    """The shards of one site that no report covers, runs shortened."""

    site: str
    """``site dc-1``, or ``NO_SITE``."""
    shards: str
    """``4, 7-9``."""
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class FleetView:
    """What a merged report (``brulee merge``) covers: per site, then per part."""

    sites: tuple[SiteCoverage, ...]
    rows: tuple[PartRow, ...]
    """Every part and every missing shard, by site, then shard."""
    missing: tuple[MissingRange, ...]
    """The missing shards, per site; () when none is missing."""
    interrupted: tuple[tuple[str, str], ...]
    """(``site dc-1`` or ``NO_SITE``, its interrupted parts) for every site that has any."""
    source_root: str
    """The prefix the sources share, shown once; each row shows the rest."""
    parts: int
    expected: int
    present: int
    missing_count: int
    interrupted_count: int
    error_count: int
    headline: str
    """``3 parts, 1 site: 3 of 4 shards present, 1 MISSING, 0 interrupted``."""

    @property
    def complete(self) -> bool:
        return not self.missing_count and not self.interrupted_count


def _part_row(part: PartSummary, root: str) -> PartRow:
    states = ["INCOMPLETE (interrupted)"] if part.incomplete else []
    states += [count_text(len(part.errors), "error")] if part.errors else []
    kind = "incomplete" if part.incomplete else "errors" if part.errors else "complete"
    finished = part.finished or ("not finished" if part.incomplete else "unknown")
    return PartRow(
        label=part.label,
        started=time_text(part.started) or "unknown",
        finished=time_text(finished),
        hosts_up=str(part.hosts_up),
        hosts_down=str(part.hosts_down),
        status=", ".join(states) or "complete",
        kind=kind,
        source=part.source[len(root) :] or part.source,
    )


def _missing_row(gap: MissingShard) -> PartRow:
    label = part_label(gap.site, Shard(gap.index, gap.count))
    return PartRow(label, "", "", "", "", "MISSING", "missing", "")


def _row_order(site: str, shard: Shard | None, source: str) -> tuple[str, int, int, str]:
    """By site, then shard count and number (unsharded first), as ``brulee merge`` orders."""
    return (site, shard.count if shard else 0, shard.index if shard else 0, source)


def _site_coverage(site: str, parts: list[PartSummary], gaps: list[MissingShard]) -> SiteCoverage:
    shards = [p.shard for p in parts if p.shard]
    counts = Counter(s.count for s in shards)
    # N: what the merge checked against (its missing shards say), else what most parts carry.
    expected = gaps[0].count if gaps else max(counts, key=lambda n: (counts[n], n), default=0)
    return SiteCoverage(
        site=site,
        name=site or NO_SITE,
        parts=len(parts),
        expected=expected,
        present=len({s.index for s in shards if s.count == expected}),
        missing=tuple(sorted({g.index for g in gaps})),
        interrupted=tuple(str(p.shard) if p.shard else p.label for p in parts if p.incomplete),
        with_errors=sum(1 for p in parts if p.errors),
    )


def fleet_view(parts: tuple[PartSummary, ...], missing: tuple[MissingShard, ...]) -> FleetView:
    """The coverage section of a merged report, derived from its parts and missing shards."""
    by_site: dict[str, tuple[list[PartSummary], list[MissingShard]]] = {}
    for part in parts:
        by_site.setdefault(part.site, ([], []))[0].append(part)
    for gap in missing:
        by_site.setdefault(gap.site, ([], []))[1].append(gap)
    sites = tuple(_site_coverage(s, *by_site[s]) for s in sorted(by_site))
    root = source_root(p.source for p in parts)
    ordered = sorted(
        [(_row_order(p.site, p.shard, p.source), _part_row(p, root)) for p in parts]
        + [(_row_order(g.site, Shard(g.index, g.count), ""), _missing_row(g)) for g in missing],
        key=lambda pair: pair[0],
    )
    gaps = tuple(
        MissingRange(
            part_label(s.site, None) or NO_SITE, s.missing_text, len(s.missing), s.expected
        )
        for s in sites
        if s.missing
    )
    expected = sum(s.expected for s in sites)
    present = sum(s.present for s in sites)
    missing_count = sum(len(s.missing) for s in sites)
    interrupted = sum(len(s.interrupted) for s in sites)
    coverage = (
        f"{present} of {expected} shards present, {missing_count} MISSING"
        if expected
        else "not sharded"
    )
    headline = (
        f"{count_text(len(parts), 'part')}, {count_text(len(sites), 'site')}: {coverage}, "
        + (f"{interrupted} INTERRUPTED" if interrupted else "0 interrupted")
    )
    return FleetView(
        sites=sites,
        rows=tuple(row for _, row in ordered),
        missing=gaps,
        interrupted=tuple(
            (part_label(s.site, None) or NO_SITE, ", ".join(s.interrupted))
            for s in sites
            if s.interrupted
        ),
        source_root=root,
        parts=len(parts),
        expected=expected,
        present=present,
        missing_count=missing_count,
        interrupted_count=interrupted,
        error_count=sum(s.with_errors for s in sites),
        headline=headline,
    )


def fleet_incomplete_text(fleet: FleetView) -> str:
    """The banner of an incomplete merged report: what is missing, in counts."""
    gaps = []
    if fleet.missing_count:
        verb = "is" if fleet.missing_count == 1 else "are"
        gaps.append(
            f"{fleet.missing_count} of {fleet.expected} shards {verb} MISSING "
            f"(at {count_text(len(fleet.missing), 'site')})"
        )
    if fleet.interrupted_count:
        verb = "was" if fleet.interrupted_count == 1 else "were"
        gaps.append(f"{count_text(fleet.interrupted_count, 'part')} {verb} interrupted")
    return (
        f"INCOMPLETE fleet report: {' and '.join(gaps) or 'some scans did not finish'}. The "
        "hosts of those slices are not (all) in this report, and the absence of a finding there "
        "proves nothing: see Fleet coverage."
    )
