"""The trend chart: open findings per severity over the last scans of the scope, and the new and
fixed ones per scan, laid out once for every format (an inline SVG in HTML, pgfplots in LaTeX,
a table in both). Only numbers and dates reach the drawing: nothing from a banner."""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.history import Trend, TrendPoint
from brulee.core.vulnerability import SEVERITIES
from brulee.report.view.services import PALETTE

WIDTH, HEIGHT = 640, 232
_LEFT, _RIGHT = 52, 612  # the plot's x range
_TOP, _BOTTOM = 34, 142  # the lines' y range: most findings at the top, none at the bottom
_BAND, _HALF = 182, 18  # new (up) and fixed (down) bars around this line, at most this high
_NICE = (1, 2, 5)


@dataclass(frozen=True, slots=True)
class Series:
    """One severity's line."""

    severity: str
    colour: str
    """``#RRGGBB``."""
    points: str
    """The polyline's ``x,y x,y ...``."""
    dots: tuple[tuple[float, float, int], ...]
    """Each scan's (x, y, count)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One scan: where it stands on the x axis, its labels, bars and numbers."""

    x: float
    date: str
    """``MM-DD`` under the axis."""
    scan: str
    """``#12``: its id in the history store."""
    scanned_at: str
    open: tuple[int, ...]
    """Open findings per severity, in ``SEVERITIES`` order."""
    total: int
    new: int | None
    fixed: int | None
    new_height: float
    fixed_height: float


@dataclass(frozen=True, slots=True)
class TrendView:
    """Everything the formats draw; coordinates in the SVG's user units (``WIDTH`` x ``HEIGHT``)."""

    title: str
    description: str
    """What the chart shows, in words (the SVG's ``<desc>``, the PDF's caption)."""
    series: tuple[Series, ...]
    """Only the severities with a finding in some scan."""
    columns: tuple[Column, ...]
    ticks: tuple[tuple[float, int], ...]
    """The y axis: (y, value)."""
    top: int
    """The value at the top of the y axis."""
    severities: tuple[str, ...] = SEVERITIES
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    right: int = _RIGHT
    y_top: int = _TOP
    y_bottom: int = _BOTTOM
    band: int = _BAND


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (at least 1)."""
    scale = 1
    while True:
        for step in _NICE:
            if step * scale >= value:
                return step * scale
        scale *= 10


def _column(x: float, point: TrendPoint, biggest: int) -> Column:
    return Column(
        x=x,
        date=point.scanned_at[5:10],
        scan=f"#{point.scan_id}",
        scanned_at=point.scanned_at,
        open=tuple(c for _, c in point.open),
        total=point.total,
        new=point.new,
        fixed=point.fixed,
        new_height=round(_HALF * (point.new or 0) / biggest, 1),
        fixed_height=round(_HALF * (point.fixed or 0) / biggest, 1),
    )


def trend_view(trend: Trend) -> TrendView:
    """The chart and table of ``trend`` (two scans or more)."""
    points = trend.points
    count = len(points)
    step = (_RIGHT - _LEFT) / (count - 1) if count > 1 else 0.0
    xs = [round(_LEFT + i * step, 1) for i in range(count)]
    top = _nice_top(max((c for p in points for _, c in p.open), default=0))

    def y(value: int) -> float:
        return round(_BOTTOM - (_BOTTOM - _TOP) * value / top, 1)

    series = []
    for index, severity in enumerate(SEVERITIES):
        counts = [p.open[index][1] for p in points]
        if not any(counts):
            continue
        dots = tuple((x, y(c), c) for x, c in zip(xs, counts, strict=True))
        series.append(Series(
            severity, f"#{PALETTE[severity][0]}", " ".join(f"{x},{v}" for x, v, _ in dots), dots,
        ))  # fmt: skip
    biggest = max((max(p.new or 0, p.fixed or 0) for p in points), default=0) or 1
    columns = tuple(_column(x, p, biggest) for x, p in zip(xs, points, strict=True))
    first, last = points[0], points[-1]
    description = (
        f"Open findings by severity over the last {count} scans of this scope, "
        f"{first.scanned_at[:10]} to {last.scanned_at[:10]}: {first.total:,} then {last.total:,} "
        f"now; this scan {last.new or 0:,} new, {last.fixed or 0:,} fixed."
    )
    ticks = (
        ((y(0), 0), (y(top // 2), top // 2), (y(top), top)) if top > 1 else ((y(0), 0), (y(1), 1))
    )
    return TrendView(
        title=f"Open findings over the last {count} scans",
        description=description,
        series=tuple(series),
        columns=columns,
        ticks=ticks,
        top=top,
    )
