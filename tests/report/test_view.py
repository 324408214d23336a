"""The values every human-readable report derives from a Report."""

from __future__ import annotations

import pytest

from brulee.report.interface import Report
from brulee.report.view import (
    STATUS_MEANING,
    STATUSES,
    build_view,
    count_text,
    printable,
    safe_url,
    targets_text,
)
from brulee.vulns.interface import SEVERITIES


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\nscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "//evil.example/x",
        "http:/no-host",
        "nvd.nist.gov/vuln/detail/CVE-2021-41773",
        "",
    ],
)
def test_safe_url_refuses_anything_but_absolute_http(url: str) -> None:
    assert safe_url(url) == ""


def test_safe_url_keeps_http_and_encodes_what_could_break_out() -> None:
    assert safe_url("https://nvd.nist.gov/vuln/detail/CVE-2021-41773") == (
        "https://nvd.nist.gov/vuln/detail/CVE-2021-41773"
    )
    assert safe_url("HTTP://x.test/a?b=1&c=2#f") == "http://x.test/a?b=1&c=2#f"
    encoded = safe_url("https://x.test/a b\"<c>(d)'{e}\\é")
    assert encoded == "https://x.test/a%20b%22%3Cc%3E%28d%29%27%7Be%7D%5C%C3%A9"


def test_printable_shows_controls_and_bidi_overrides() -> None:
    assert printable("a\x00b\x1bc\u202ed\u2066e\x85f") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"
    assert printable("one\r\ntwo\rthree\tfour") == "one\ntwo\nthree\tfour"
    assert printable(None) == ""
    assert printable(7) == "7"


def test_count_text() -> None:
    assert count_text(1, "vulnerability") == "1 vulnerability"
    assert count_text(0, "vulnerability") == "0 vulnerabilities"
    assert count_text(3, "location") == "3 locations"


def test_targets_text() -> None:
    assert targets_text(("a", "b")) == "a, b"
    assert targets_text(("a", "b", "c", "d", "e")) == "a, b, c and 2 more"


def test_view_of_the_sample_report(report: Report) -> None:
    view = build_view(report)
    assert [c.name for c in view.severities] == list(SEVERITIES)
    assert {c.name: c.count for c in view.severities} == {
        "critical": 1, "high": 1, "medium": 1, "low": 0, "unscored": 1,
    }  # fmt: skip
    assert [c.name for c in view.statuses] == list(STATUSES)
    assert all(c.count == 1 for c in view.statuses if c.name != "vulnerable")
    assert dict(view.totals) == {
        "services": 6, "vulnerabilities": 4, "locations": 8, "hosts up": 3, "hosts down": 1,
    }  # fmt: skip
    assert view.incomplete
    assert ("Finished", "not finished") in view.facts
    by_status = {s.status: s for s in view.services}
    for status in ("unknown", "unchecked", "unversioned"):
        assert not by_status[status].checked
        assert by_status[status].meaning.startswith("NOT CHECKED")
        assert by_status[status].group.notes, f"{status} must say why"
    assert by_status["clean"].checked
    assert ("Version", "not detected") in by_status["unversioned"].facts
    apache = view.services[0]
    assert apache.label == "Apache httpd 2.4.49"
    assert apache.max_severity == "critical"
    assert apache.max_score == 9.8
    assert [loc.address for loc in view.locations(apache)] == ["192.0.2.10", "2001:db8::5"]
    assert [h.address for h in view.hosts()] == [
        "192.0.2.10", "192.0.2.20", "192.0.2.30", "2001:db8::5",
    ]  # fmt: skip
    assert set(STATUS_MEANING) == set(STATUSES)
