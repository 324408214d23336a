"""Services as every format shows them."""

from __future__ import annotations

from dataclasses import replace

from brulee.core.vulnerability import Vulnerability
from brulee.report.view.services import fixed_view


def test_fixed_view_names_the_advisory_once() -> None:
    fixed = Vulnerability("CVE-2000-0001", "low", confidence="fixed-by-distribution")
    named = replace(fixed, advisory="DSA-1-1", reason="DSA-1-1 (2000-01-01): fixed in 1.0-1")
    assert fixed_view(named).detail == "DSA-1-1 (2000-01-01): fixed in 1.0-1"
    assert fixed_view(replace(named, reason="fixed in 1.0-1")).detail == "DSA-1-1: fixed in 1.0-1"
    assert fixed_view(replace(named, reason="")).detail == "DSA-1-1"
    assert fixed_view(replace(fixed, reason="fixed upstream")).detail == "fixed upstream"
