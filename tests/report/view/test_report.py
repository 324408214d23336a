"""The values every human-readable report derives from a Report."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from brulee.core.report import Report
from brulee.core.vulnerability import SEVERITIES
from brulee.report.view.report import INCOMPLETE, build_view, targets_text
from brulee.report.view.services import STATUS_MEANING, STATUSES, Tally
from tests.report.conftest import FIXED_REASON, UBUNTU_EVIDENCE


def test_targets_text() -> None:
    assert targets_text(("a", "b")) == "a, b"
    assert targets_text(("a", "b", "c", "d", "e")) == "a, b, c and 2 more"


def test_the_banner_says_why_a_scan_is_incomplete(report: Report) -> None:
    def banner(**run: Any) -> tuple[bool, str]:
        settled = replace(report.scan.run, incomplete=False, failed=False, timed_out=0)
        view = build_view(replace(report, scan=replace(report.scan, run=replace(settled, **run))))
        return view.incomplete, view.incomplete_text

    assert banner() == (False, INCOMPLETE)  # shown only when incomplete
    assert banner(incomplete=True) == (True, INCOMPLETE)
    failed, text = banner(failed=True)
    assert failed and text.startswith("INCOMPLETE scan: Nmap failed")
    partial, text = banner(timed_out=3)
    assert partial and text.startswith("INCOMPLETE scan: Nmap gave up on 3 hosts (--host-timeout)")


def test_view_of_the_sample_report(report: Report) -> None:
    view = build_view(report)
    assert [c.name for c in view.severities] == list(SEVERITIES)
    # Certain and possible findings are counted apart, on one scale.
    assert {c.name: c.count for c in view.severities} == {
        "critical": 1, "high": 1, "medium": 1, "low": 0, "unscored": 0,
    }  # fmt: skip
    assert {c.name: c.count for c in view.possible_severities} == {
        "critical": 1, "high": 3, "medium": 2, "low": 0, "unscored": 1,
    }  # fmt: skip
    # one scale: the largest certain + possible sum (high: 1 + 3) is the full bar
    assert [c.share for c in view.possible_severities][:2] == [1 / 4, 3 / 4]
    assert [c.share for c in view.severities][:2] == [1 / 4, 1 / 4]
    assert [c.name for c in view.statuses] == list(STATUSES)
    statuses = {c.name: c.count for c in view.statuses}
    assert statuses.pop("vulnerable") == statuses.pop("possibly-vulnerable") == 2
    assert all(count == 1 for count in statuses.values())
    assert view.totals == (
        ("known exploited (KEV)", 1), ("services", 8), ("vulnerabilities", 3),
        ("possible vulnerabilities", 7), ("locations", 10), ("hosts up", 3), ("hosts down", 1),
    )  # fmt: skip
    # Fix first: KEV CVEs certain somewhere; the hostile banner's are possible, shown apart.
    assert [k.vuln.vuln.id for k in view.kev] == ["CVE-2021-41773"]
    assert view.kev[0].vuln.vuln.confidence == "certain"
    assert [x.vuln.confidence for _, x in view.kev[0].where] == ["certain", "conditional"]
    assert [k.vuln.vuln.id for k in view.kev_possible] == ["CVE-2021-42013"]
    assert "not in the fix-first list" in view.kev_possible_lead
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
    assert (apache.max_score, apache.possible_score) == (9.8, 5.3)
    stretch = view.services[1]  # a 9.8 among its unverified backports: not its score
    assert (stretch.max_score, stretch.possible_score) == (5.9, 9.8)
    assert apache.kev_count == 1
    assert apache.summary == (
        "2 vulnerabilities (1 known exploited) \u00b7 2 possible \u00b7 2 locations"
    )
    assert [x.conditional for x in apache.vulns] == [False, False, True, False]
    assert not any(x.unverified for x in apache.vulns)
    assert (apache.distribution, apache.backports, apache.fixed) == ("", (), ())
    where = [(s.number, x.vuln.confidence) for s, x in view.kev[0].where]
    assert where == [(1, "certain"), (3, "conditional")]
    assert view.kev_lead.endswith("fix them first.")
    assert [loc.address for loc in view.locations(apache)] == ["192.0.2.10", "2001:db8::5"]
    assert [h.address for h in view.hosts()] == [
        "192.0.2.10", "192.0.2.20", "192.0.2.30", "2001:db8::5",
    ]  # fmt: skip
    assert set(STATUS_MEANING) == set(STATUSES)


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
        Tally(4, "unverified backports (kept, among the possible)", "unverified"),
        Tally(1, "fixed by the distribution (set aside, not counted)", "fixed"),
    )
    assert sum(c.count for c in view.severities) == dict(view.totals)["vulnerabilities"] == 3
    possible = sum(c.count for c in view.possible_severities)
    assert possible == dict(view.totals)["possible vulnerabilities"] == 7
    by_label = {s.label: s for s in view.services}
    ssh = by_label["OpenSSH 7.4p1 Debian 10+deb9u4"]
    assert ssh.number == 2
    assert ssh.distribution == "Debian stretch, package revision 10+deb9u4"
    assert ssh.distribution_evidence == 'version "7.4p1 Debian 10+deb9u4"'
    assert [(t.count, t.text) for t in ssh.backports] == [
        (1, "fixed by the distribution"), (1, "still open"), (2, "unverified backport"),
    ]  # fmt: skip
    assert [x.unverified for x in ssh.vulns] == [True, True, False]
    assert ssh.summary == "1 vulnerability \u00b7 2 possible \u00b7 1 location"
    assert [(f.vuln.id, f.detail) for f in ssh.fixed] == [("CVE-2018-15473", FIXED_REASON)]
    nginx = by_label["nginx 1.14.0"]
    assert (nginx.distribution, nginx.distribution_evidence) == ("Ubuntu", UBUNTU_EVIDENCE)
    assert [t.count for t in nginx.backports] == [0, 0, 2]
    assert nginx.fixed == ()
    unchecked = by_label["OpenSSH 8.9p1"]
    assert unchecked.distribution == "Ubuntu, package revision 3ubuntu0.6"
    assert unchecked.backports == ()  # not checked: no counts that could read as "none open"
