"""The small pieces of text every format shows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brulee.core.vulnerability import EpssScore, Vulnerability
from brulee.report.view.text import epss_text, kev_text, printable, safe_url
from tests.report.conftest import TRAVERSAL


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


def _vuln(epss: EpssScore | None = None) -> Vulnerability:
    return Vulnerability("CVE-2000-0001", "low", epss=epss)


@pytest.mark.parametrize(
    ("score", "percentile", "text"),
    [
        (0.94432, 0.99917, "94.4% (p99)"),
        (0.99992, 0.99986, "99.9% (p99)"),  # truncated: never 100% unless certain
        (1.0, 1.0, "100.0% (p100)"),
        (0.944, 0.5, "94.4% (p50)"),  # no binary rounding error: not 94.3%
        (0.01, 0.29, "1.0% (p29)"),
        (0.00512, 0.76543, "0.51% (p76)"),
        (0.0004, 0.1, "0.040% (p10)"),
        (0.0, 0.0, "0.000% (p0)"),
    ],
)
def test_epss_text(score: float, percentile: float, text: str) -> None:
    assert epss_text(_vuln(epss=EpssScore(score, percentile))) == text


def test_epss_and_kev_text_without_data() -> None:
    assert epss_text(_vuln()) == ""
    assert kev_text(_vuln()) == ""


def test_kev_text() -> None:
    assert kev_text(TRAVERSAL) == (
        "CISA KEV: added 2021-11-03, remediation due 2021-11-17; known to be used in ransomware "
        "campaigns. Required action: Apply updates per vendor instructions."
    )
    assert TRAVERSAL.kev is not None
    quiet = replace(TRAVERSAL.kev, due_date="", known_ransomware="Unknown", required_action="")
    assert kev_text(replace(TRAVERSAL, kev=quiet)) == "CISA KEV: added 2021-11-03."
