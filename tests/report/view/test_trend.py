"""The trend chart's layout: scale, ticks, series shown, bars."""

from __future__ import annotations

from brulee.core.history import Trend, TrendPoint
from brulee.core.vulnerability import SEVERITIES
from brulee.report.view.trend import trend_view
from tests.report.conftest import TREND


def _point(scan: int, counts: tuple[int, ...], new: int | None, fixed: int | None) -> TrendPoint:
    day = f"2026-11-{scan:02d}T00:00:00+00:00"
    return TrendPoint(scan, day, tuple(zip(SEVERITIES, counts, strict=True)), new, fixed)


def test_layout() -> None:
    view = trend_view(TREND)
    assert view.top == 10 and [v for _, v in view.ticks] == [0, 5, 10]
    assert [s.severity for s in view.series] == ["critical", "high", "medium"]
    high = view.series[1]
    assert high.colour == "#D9480F"
    assert [c for _, _, c in high.dots] == [4, 6, 3]
    (first, middle, last) = view.columns
    assert (first.x, last.x) == (view.left, view.right)
    assert [d[1] for d in high.dots] == [98.8, 77.2, 109.6]  # 0 at y_bottom, 10 at y_top
    assert (first.date, first.scan, first.new, first.new_height) == ("11-01", "#11", None, 0)
    assert middle.new_height == 9.0 and last.fixed_height == 18.0  # 3 and 6 of at most 6


def test_an_empty_scope_and_large_counts() -> None:
    quiet = trend_view(Trend((_point(1, (0,) * 5, None, None), _point(2, (0,) * 5, 0, 0))))
    assert quiet.series == () and quiet.top == 1 and [v for _, v in quiet.ticks] == [0, 1]
    assert all(c.new_height == 0 for c in quiet.columns)
    big = trend_view(Trend((_point(1, (0, 0, 0, 0, 12_345), None, None),
                            _point(2, (0, 0, 0, 0, 30_001), 17_656, 0))))  # fmt: skip
    assert big.top == 50_000 and big.series[0].severity == "unscored"
    assert "12,345 then 30,001 now; this scan 17,656 new, 0 fixed" in big.description
