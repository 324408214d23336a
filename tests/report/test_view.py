"""The values every human-readable report derives from a Report."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brulee.core.report import Report
from brulee.core.vulnerability import SEVERITIES, EpssScore, Vulnerability
from brulee.report.view import (
    STATUS_MEANING,
    STATUSES,
    Tally,
    build_view,
    count_text,
    epss_text,
    fixed_view,
    kev_text,
    printable,
    safe_url,
    targets_text,
)
from tests.report.conftest import FIXED_REASON, TRAVERSAL, UBUNTU_EVIDENCE


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
        "critical": 2, "high": 4, "medium": 3, "low": 0, "unscored": 1,
    }  # fmt: skip
    assert [c.name for c in view.statuses] == list(STATUSES)
    assert all(c.count == 1 for c in view.statuses if c.name != "vulnerable")
    assert view.totals == (
        ("known exploited (KEV)", 2), ("services", 8), ("vulnerabilities", 10),
        ("locations", 10), ("hosts up", 3), ("hosts down", 1),
    )  # fmt: skip
    assert view.incomplete
    assert ("Finished", "not finished") in view.facts
    assert dict(view.facts)["Vulnerability data"] == report.scan.database
    by_status = {s.status: s for s in view.services}
    for status in ("unknown", "unchecked", "unversioned"):
        assert not by_status[status].checked
        assert by_status[status].meaning.startswith("NOT CHECKED")
        assert by_status[status].group.notes, f"{status} must say why"
    assert by_status["clean"].checked
    assert ("Version", "not detected") in by_status["unversioned"].facts
    apache = view.services[0]
    assert apache.label == "Apache httpd 2.4.49"
    assert apache.vulns[0].vuln.severity == "high"  # known exploited, so listed first
    assert apache.max_severity == "critical"
    assert apache.max_score == 9.8
    assert apache.kev_count == 1
    assert apache.summary == "4 vulnerabilities (1 known exploited) \u00b7 2 locations"
    assert [x.conditional for x in apache.vulns] == [False, False, True, False]
    assert not any(x.unverified for x in apache.vulns)
    assert (apache.distribution, apache.backports, apache.fixed) == ("", (), ())
    assert [k.vuln.vuln.id for k in view.kev] == ["CVE-2021-41773", "CVE-2021-42013"]
    where = [(s.number, x.vuln.confidence) for s, x in view.kev[0].where]
    assert where == [(1, "certain"), (3, "conditional")]
    assert view.kev_lead.endswith("fix them first.")
    assert [loc.address for loc in view.locations(apache)] == ["192.0.2.10", "2001:db8::5"]
    assert [h.address for h in view.hosts()] == [
        "192.0.2.10", "192.0.2.20", "192.0.2.30", "2001:db8::5",
    ]  # fmt: skip
    assert set(STATUS_MEANING) == set(STATUSES)


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


def test_kev_lead_and_subtitle_without_kev_or_targets(report: Report) -> None:
    services = tuple(
        replace(g, vulnerabilities=tuple(replace(v, kev=None) for v in g.vulnerabilities))
        for g in report.services
    )
    plain = replace(report, services=services, scan=replace(report.scan, targets=()))
    view = build_view(plain)
    assert view.kev == ()
    assert view.totals[0] == ("known exploited (KEV)", 0)
    assert view.kev_lead == "None of the vulnerabilities found is in CISA's KEV catalog."
    assert view.subtitle == "scan.xml"
    assert build_view(replace(plain, scan=replace(plain.scan, database=""))).kev_lead == (
        "No KEV data: no vulnerability database was used."
    )


def test_distribution_backports(report: Report) -> None:
    view = build_view(report)
    # distinct ids over all services; the set-aside one is no vulnerability (not in the chart)
    assert view.backports == (
        Tally(4, "unverified backports (kept, counted above)", "unverified"),
        Tally(1, "fixed by the distribution (set aside, not counted)", "fixed"),
    )
    assert sum(c.count for c in view.severities) == dict(view.totals)["vulnerabilities"] == 10
    by_label = {s.label: s for s in view.services}
    ssh = by_label["OpenSSH 7.4p1 Debian 10+deb9u4"]
    assert ssh.number == 2
    assert ssh.distribution == "Debian stretch, package revision 10+deb9u4"
    assert ssh.distribution_evidence == 'version "7.4p1 Debian 10+deb9u4"'
    assert [(t.count, t.text) for t in ssh.backports] == [
        (1, "fixed by the distribution"), (1, "still open"), (2, "unverified backport"),
    ]  # fmt: skip
    assert [x.unverified for x in ssh.vulns] == [True, True, False]
    assert ssh.summary == "3 vulnerabilities \u00b7 1 location"
    assert [(f.vuln.id, f.detail) for f in ssh.fixed] == [("CVE-2018-15473", FIXED_REASON)]
    nginx = by_label["nginx 1.14.0"]
    assert (nginx.distribution, nginx.distribution_evidence) == ("Ubuntu", UBUNTU_EVIDENCE)
    assert [t.count for t in nginx.backports] == [0, 0, 2]
    assert nginx.fixed == ()
    unchecked = by_label["OpenSSH 8.9p1"]
    assert unchecked.distribution == "Ubuntu, package revision 3ubuntu0.6"
    assert unchecked.backports == ()  # not checked: no counts that could read as "none open"


def test_fixed_view_names_the_advisory_once() -> None:
    fixed = Vulnerability("CVE-2000-0001", "low", confidence="fixed-by-distribution")
    named = replace(fixed, advisory="DSA-1-1", reason="DSA-1-1 (2000-01-01): fixed in 1.0-1")
    assert fixed_view(named).detail == "DSA-1-1 (2000-01-01): fixed in 1.0-1"
    assert fixed_view(replace(named, reason="fixed in 1.0-1")).detail == "DSA-1-1: fixed in 1.0-1"
    assert fixed_view(replace(named, reason="")).detail == "DSA-1-1"
    assert fixed_view(replace(fixed, reason="fixed upstream")).detail == "fixed upstream"
