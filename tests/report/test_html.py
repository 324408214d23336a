"""HTML: golden file, escaping and CSP checked statically; then the real thing in Chromium."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import lxml.html
import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, Route, sync_playwright

from brulee.core.report import Report
from brulee.report.html import HtmlRenderer
from tests.report.conftest import (
    CLEAN,
    CONDITION,
    FIXED_REASON,
    HOSTILE,
    NO_STRETCH_ADVISORY,
    NO_UBUNTU_DATA,
    REMEDIATION,
    TRAVERSAL,
    TREND,
    UBUNTU_EVIDENCE,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SERVICES = 8
LOCATIONS = 10
STRETCH_LABEL = "openssh 7.4p1 debian 10+deb9u4"


@pytest.fixture
def html(report: Report, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    HtmlRenderer().render(report, path)
    return path


def _doc(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def test_matches_golden(html: Path, check_golden: Callable[[Path, str], None]) -> None:
    check_golden(html, "report.html")


def test_hostile_text_is_only_ever_text(html: Path, hostile: str) -> None:
    raw = html.read_text(encoding="utf-8")
    assert "<script>alert" not in raw
    assert "javascript:" not in raw.lower()
    assert raw.count("<script") == 1
    doc = _doc(html)
    assert len(doc.xpath("//script")) == 1
    assert doc.xpath("//@style | //@*[starts-with(name(), 'on')]") == []
    assert all(h.startswith(("https://", "#svc-")) for h in doc.xpath("//a/@href"))
    # product, version and extrainfo (dd), hostname (td), description (p), note (li)
    holders = {e.tag for e in doc.xpath("//*[text()=$h]", h=hostile)}
    assert {"dd", "td", "p", "li"} <= holders
    assert hostile + " " + hostile in doc.text_content()  # the label: product + version


def test_csp_forbids_network_and_admits_only_its_own_style_and_script(html: Path) -> None:
    doc = _doc(html)
    (csp,) = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert csp.startswith("default-src 'none';")
    assert "unsafe" not in csp
    assert "http" not in csp
    for tag in ("style", "script"):
        (element,) = doc.xpath(f"//{tag}")
        digest = base64.b64encode(hashlib.sha256(element.text.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in csp


def test_unchecked_services_say_so_and_why(html: Path) -> None:
    doc = _doc(html)
    for status in ("unknown", "unchecked", "unversioned"):
        (article,) = doc.xpath("//article[@data-status=$s]", s=status)
        text = article.text_content()
        assert f"Status: {status}" in text
        assert "NOT CHECKED" in text
        assert "not known to be safe" in text
        assert article.xpath(".//ul[@class='notes']/li")
    (clean,) = doc.xpath("//article[@data-status='clean']")
    text = clean.text_content()
    assert "Status: clean" in text
    assert "checked: no known CVE applies to this version" in text
    assert "not known to be safe" not in text
    assert clean.xpath(".//ul[@class='notes']/li[text()=$n]", n=CLEAN.note)
    assert clean.xpath(".//p[@class='notice ok']")


def test_summary_scan_and_hosts(html: Path) -> None:
    doc = _doc(html)
    assert "INCOMPLETE scan" in doc.xpath("//*[@id='incomplete']")[0].text_content()
    assert "host timeout" in doc.xpath("//*[@id='scan-errors']")[0].text_content()
    assert "45 days old" in doc.xpath("//*[@id='scan-warnings']")[0].text_content()
    # 5 certain bars, and a pale one for each severity with possible findings
    assert len(doc.xpath("//svg//rect[@fill]")) == 5 + 4
    assert len(doc.xpath("//svg//rect[@fill-opacity]")) == 4
    assert len(doc.xpath("//table[@class='hosts']/tbody/tr")) == 4
    assert len(doc.xpath("//div[@class='locs']//tbody/tr")) == LOCATIONS
    links = doc.xpath("//a[text()='CVE-2021-41773']/@href")  # KEV list, Apache, EVIL
    assert links == ["https://nvd.nist.gov/vuln/detail/CVE-2021-41773"] * 3
    assert doc.xpath("//td[@class='id'][text()='CVE-2021-42013']")  # javascript: url: no link


def _text_of(element: lxml.html.HtmlElement) -> str:
    """The element's text, each text node (a line, a paragraph, a badge) apart."""
    return " ".join(" ".join(element.xpath(".//text()")).split())


def _cells(row: lxml.html.HtmlElement) -> list[str]:
    return [_text_of(td) for td in row.xpath("./td")]


def test_database_and_known_exploited_summary(html: Path) -> None:
    doc = _doc(html)
    (data,) = doc.xpath("//*[@id='scan']//dt[text()='Vulnerability data']/following-sibling::dd[1]")
    assert data.text.startswith("2,299 CVEs, NVD data to 2024-03-17; CISA KEV 2024.03.15; EPSS")
    (total,) = doc.xpath("//div[@class='total kev alert']")
    assert [total.findtext("b"), total.findtext("span")] == ["1", "known exploited (KEV)"]
    (kev,) = doc.xpath("//section[@id='kev'][@class='card alert']")
    assert "fix them first" in kev.text_content()
    rows = kev.xpath(".//table[@class='kevs']/tbody/tr")
    assert [_cells(r) for r in rows] == [
        [
            "CVE-2021-41773 ransomware", "2021-11-03", "high", "7.5 (v3.1)", "94.4% (p99)",
            f"1. Apache httpd 2.4.49 tcp 3. {HOSTILE} {HOSTILE} tcp conditional",
        ],
    ]  # fmt: skip
    # A KEV CVE that is possible wherever found is shown apart, labelled, not to fix first.
    assert "Possibly known exploited" in _text_of(kev.xpath(".//h3[@id='kev-possible']")[0])
    rows = kev.xpath(".//table[@class='kevs possible']/tbody/tr")
    assert [_cells(r) for r in rows] == [
        [
            "CVE-2021-42013", "2021-11-03", "high", "7.5 (v3.1)", "0.040% (p10)",
            f"3. {HOSTILE} {HOSTILE} tcp reported",
        ],
    ]  # fmt: skip
    assert "EPSS" in _text_of(doc.xpath("//*[@id='legend']")[0])


def test_vulnerability_rows_show_kev_epss_and_confidence(html: Path) -> None:
    doc = _doc(html)
    (apache,) = doc.xpath("//article[@data-label='apache httpd 2.4.49']")
    chips = [_text_of(c) for c in apache.xpath(".//div[@class='chips']/*")]
    # the highest severity, not the first vulnerability's (known exploited come first)
    assert chips == [
        "KEV",
        "critical",
        "vulnerable",
        "2 vulnerabilities (1 known exploited) · 2 possible · 2 locations",
    ]
    rows = apache.xpath(".//table[@class='vulns']/tbody/tr")
    assert [_cells(r)[:5] for r in rows] == [
        ["CVE-2021-41773", "KEV 2021-11-03 ransomware", "high", "7.5 (v3.1)", "94.4% (p99)"],
        ["CVE-2021-44790", "", "critical", "9.8 (v3.1)", "12.3% (p95)"],
        ["CVE-2021-33193 conditional", "", "medium", "5.3 (v3.1)", "0.51% (p76)"],
        ["CVE-2024-40898 reported", "", "unscored", "n/a", "n/a"],  # possible: marked
    ]
    assert [r.get("class") for r in rows] == [None, None, "conditional", "possible"]
    assert [len(r.xpath(".//span[@class='badge c-conditional']")) for r in rows] == [0, 0, 1, 0]
    details = [_cells(r)[5] for r in rows]
    assert details[0].startswith(
        f"{TRAVERSAL.description} CISA KEV: added 2021-11-03, remediation due 2021-11-17; known "
        "to be used in ransomware campaigns. Required action: Apply updates per vendor "
        "instructions. Confidence: certain"
    )
    assert "Confidence: conditional — cpe:2.3:a:apache:http_server" in details[2]
    assert details[2].endswith(f"only if {CONDITION} (not visible to the scan)")
    assert "Confidence: reported" in details[3]
    index = doc.xpath("//tbody[@id='index-body']/tr")
    # Certain findings' severity and KEV count; a possibly vulnerable service says "possibly".
    assert [_cells(r)[3:5] for r in index] == [
        ["critical", "1"], ["medium", ""], ["possibly high", ""], ["possibly high", ""],
        ["", ""], ["", ""], ["", ""], ["", ""],
    ]  # fmt: skip


def _article(doc: lxml.html.HtmlElement, label: str) -> lxml.html.HtmlElement:
    (article,) = doc.xpath("//article[@data-label=$l]", l=label)
    return article


def test_distribution_evidence_counts_and_markers(html: Path) -> None:
    doc = _doc(html)
    ssh = _article(doc, STRETCH_LABEL)
    (distro,) = ssh.xpath(".//div[@class='distro']")
    assert _text_of(distro) == (
        "Distribution: Debian stretch, package revision 10+deb9u4 · seen in "
        'version "7.4p1 Debian 10+deb9u4" '
        "1 fixed by the distribution 1 still open 2 unverified backport"
    )
    tallies = distro.xpath(".//span[starts-with(@class, 'tally')]/@class")
    assert tallies == ["tally fixed", "tally open", "tally unverified"]
    rows = ssh.xpath(".//table[@class='vulns']/tbody/tr")
    assert [_cells(r)[0] for r in rows] == [
        "CVE-2023-38408 unverified backport", "CVE-2020-15778 unverified backport",
        "CVE-2019-6111",
    ]  # fmt: skip
    assert [r.get("class") for r in rows] == ["unverified", "unverified", None]
    badges = [r.xpath(".//span[@class='badge c-unverified-backport']") for r in rows]
    assert [len(b) for b in badges] == [1, 1, 0]
    assert all(not r.xpath(".//span[@class='badge c-conditional']") for r in rows)
    details = [_cells(r)[5] for r in rows]
    assert "Confidence: unverified-backport — cpe:2.3:a:openbsd:openssh" in details[0]
    assert NO_STRETCH_ADVISORY in details[0]
    assert rows[0].xpath(".//span[@class='conf conf-unverified-backport']")
    # the remediation: an actionable line of its own, under the one finding that has it
    assert [len(r.xpath(".//p[@class='remedy']")) for r in rows] == [0, 0, 1]
    (remedy,) = rows[2].xpath(".//p[@class='remedy']")
    assert _text_of(remedy) == f"Remediation: {REMEDIATION}"
    # set aside: listed after the table, never in it
    (fixed,) = ssh.xpath(".//div[@class='fixed-list']")
    assert fixed.getprevious().get("class") == "vulns"
    assert _text_of(fixed.find("h4")) == (
        "Fixed by the distribution (1) set aside: not findings, not counted"
    )
    assert [_text_of(li) for li in fixed.xpath(".//li")] == [f"CVE-2018-15473 {FIXED_REASON}"]
    assert fixed.xpath(".//a/@href") == ["https://nvd.nist.gov/vuln/detail/CVE-2018-15473"]
    assert "CVE-2018-15473" not in _text_of(ssh.xpath(".//table[@class='vulns']")[0])
    assert ssh.get("data-vulns") == "3"


def test_unverified_only_and_unchecked_distributions(html: Path, hostile: str) -> None:
    doc = _doc(html)
    nginx = _article(doc, "nginx 1.14.0")
    (distro,) = nginx.xpath(".//div[@class='distro']")
    (evidence,) = distro.xpath(".//code")
    assert evidence.text == UBUNTU_EVIDENCE  # hostile banner text, literal
    assert hostile in evidence.text
    assert _text_of(distro.xpath(".//p[@class='tallies']")[0]) == (
        "0 fixed by the distribution 0 still open 2 unverified backport"
    )
    assert distro.xpath(".//span[@class='tally fixed zero']")
    rows = nginx.xpath(".//table[@class='vulns']/tbody/tr")
    assert [r.get("class") for r in rows] == ["unverified", "unverified"]
    assert all(NO_UBUNTU_DATA in _cells(r)[5] for r in rows)
    assert not nginx.xpath(".//div[@class='fixed-list'] | .//p[@class='remedy']")
    # not checked: the distribution is shown, but no counts that would read as "none open"
    unchecked = _article(doc, "openssh 8.9p1")
    (distro,) = unchecked.xpath(".//div[@class='distro']")
    assert _text_of(distro) == (
        'Distribution: Ubuntu, package revision 3ubuntu0.6 · seen in extrainfo "Ubuntu 3ubuntu0.6"'
    )
    assert not distro.xpath(".//p[@class='tallies']")
    assert not _article(doc, "apache httpd 2.4.49").xpath(".//div[@class='distro']")


def test_summary_backport_totals_and_legend(html: Path) -> None:
    doc = _doc(html)
    (line,) = doc.xpath("//section[@id='summary']//p[@id='backports']")
    assert _text_of(line) == (
        "Distribution backports 4 unverified backports (kept, among the possible) "
        "1 fixed by the distribution (set aside, not counted)"
    )
    totals = {t.findtext("span"): t.findtext("b") for t in doc.xpath("//div[@class='totals']/div")}
    assert totals["vulnerabilities"] == "3"  # the set-aside CVE is not one of them
    assert totals["possible vulnerabilities"] == "7"
    counts = doc.xpath("//svg/text[position() mod 2 = 0]/text()")
    assert counts == ["1 +1", "1 +3", "1 +2", "0", "0 +1"]  # certain +possible
    legend = _text_of(doc.xpath("//*[@id='legend']")[0])
    assert "UNVERIFIED BACKPORT: kept but uncertain" in legend
    assert "fixed by distribution: the distribution's advisory fixed it" in legend


def test_known_exploited_list_marks_an_unverified_backport(report: Report, tmp_path: Path) -> None:
    apache = report.services[0]
    unsure = tuple(
        replace(v, confidence="unverified-backport") if v.kev else v for v in apache.vulnerabilities
    )
    path = tmp_path / "report.html"
    HtmlRenderer().render(
        replace(report, services=(replace(apache, vulnerabilities=unsure),)), path
    )
    (row,) = _doc(path).xpath("//section[@id='kev']//tbody/tr")
    assert _cells(row)[5] == "1. Apache httpd 2.4.49 tcp unverified backport"


# ----------------------------------------------------------------------------- in Chromium


@dataclass
class Visit:
    """A page and everything it tried to do."""

    page: Page
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def labels(self, visible_only: bool = False) -> list[str]:
        return [
            str(article.get_attribute("data-label"))
            for article in self.page.locator("article.service").all()
            if article.is_visible() or not visible_only
        ]

    def assert_quiet(self) -> None:
        """No network attempt, no dialog, no script error or CSP violation."""
        assert self.blocked == []
        assert all(url.startswith(("file:", "data:")) for url in self.requests), self.requests
        assert self.dialogs == []
        assert self.errors == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visit(browser: Browser, html: Path) -> Iterator[Callable[[bool], Visit]]:
    contexts = []

    def open_report(javascript: bool) -> Visit:
        context = browser.new_context(java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)

        def route(route: Route) -> None:
            if route.request.url.startswith(("file:", "data:")):
                route.continue_()
            else:
                seen.blocked.append(route.request.url)
                route.abort()

        def dialog(dialog: Dialog) -> None:
            seen.dialogs.append(dialog.message)
            dialog.dismiss()

        def request(request: Request) -> None:
            seen.requests.append(request.url)

        context.route("**/*", route)
        page.on("request", request)
        page.on("dialog", dialog)
        page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.goto(html.as_uri(), wait_until="load")
        return seen

    yield open_report
    for context in contexts:
        context.close()


@pytest.mark.browser
def test_loads_nothing_and_runs_its_script_under_the_csp(
    visit: Callable[[bool], Visit], hostile: str
) -> None:
    seen = visit(True)
    page = seen.page
    assert page.locator("#controls").is_visible()  # the script ran
    assert page.locator("#shown").inner_text() == f"{SERVICES} of {SERVICES} services shown"
    header = page.eval_on_selector(".top", "e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(29, 39, 51)"  # the stylesheet applied
    assert hostile in page.inner_text("body")
    assert page.locator("script").count() == 1
    seen.assert_quiet()


@pytest.mark.browser
def test_filter_by_text_severity_and_status(visit: Callable[[bool], Visit]) -> None:
    seen = visit(True)
    page = seen.page
    page.fill("#filter-text", "8.9p1")
    assert seen.labels(visible_only=True) == ["openssh 8.9p1"]
    assert page.locator("#index-body tr:visible").count() == 1
    page.fill("#filter-text", "openssh")
    assert seen.labels(visible_only=True) == [STRETCH_LABEL, "openssh 8.9p1"]
    page.fill("#filter-text", "CVE-2021-33193")
    assert seen.labels(visible_only=True) == ["apache httpd 2.4.49"]
    page.fill("#filter-text", "2001:db8::5")  # a location
    assert len(seen.labels(visible_only=True)) == 3
    page.fill("#filter-text", "")
    assert len(seen.labels(visible_only=True)) == SERVICES
    page.select_option("#filter-severity", "critical")  # certain findings' severities
    assert seen.labels(visible_only=True) == ["apache httpd 2.4.49"]
    page.select_option("#filter-severity", "")
    page.select_option("#filter-status", "unversioned")
    assert seen.labels(visible_only=True) == ["mysql"]
    assert page.locator("#shown").inner_text() == f"1 of {SERVICES} services shown"
    seen.assert_quiet()


@pytest.mark.browser
def test_sorting_reorders_services_and_index(visit: Callable[[bool], Visit]) -> None:
    seen = visit(True)
    page = seen.page
    urgent = seen.labels()
    assert urgent[0] == "apache httpd 2.4.49"
    page.select_option("#sort", "name")
    assert seen.labels() == sorted(urgent)
    index = page.eval_on_selector_all("#index-body tr", "rows => rows.map(r => r.dataset.key)")
    articles = page.eval_on_selector_all("article.service", "a => a.map(e => e.dataset.key)")
    assert index == articles
    page.select_option("#sort", "locations")
    assert seen.labels()[:2] == ["apache httpd 2.4.49", "openssh 8.9p1"]
    # by certain KEV findings, then possible ones (the hostile service's two)
    page.select_option("#sort", "kev")
    assert seen.labels()[:3] == ["apache httpd 2.4.49", urgent[2], STRETCH_LABEL]
    # by the highest certain CVSS, then the highest possible one
    page.select_option("#sort", "severity")
    assert seen.labels()[:4] == ["apache httpd 2.4.49", STRETCH_LABEL, "nginx 1.14.0", urgent[2]]
    page.select_option("#sort", "urgency")
    assert seen.labels() == urgent
    seen.assert_quiet()


@pytest.mark.browser
def test_everything_is_readable_without_javascript(
    visit: Callable[[bool], Visit], hostile: str
) -> None:
    seen = visit(False)
    page = seen.page
    assert not page.locator("#controls").is_visible()
    assert len(seen.labels(visible_only=True)) == SERVICES
    rows = page.locator(".locs tbody tr")
    assert rows.count() == LOCATIONS
    assert all(row.is_visible() for row in rows.all())
    assert page.locator("table.hosts tbody tr:visible").count() == 4
    assert page.locator("#incomplete").is_visible()
    assert hostile in page.inner_text("body")
    fixed = page.locator(".fixed-list li")
    assert fixed.count() == 1
    assert fixed.first.is_visible()
    assert fixed.first.inner_text() == f"CVE-2018-15473 {FIXED_REASON}"
    assert page.locator(".remedy").first.is_visible()
    assert page.locator(".vulns .badge.c-unverified-backport").count() == 4
    assert all(b.is_visible() for b in page.locator(".vulns .badge.c-unverified-backport").all())
    evidence = page.locator("article.service .distro code").all()
    assert UBUNTU_EVIDENCE in [e.inner_text() for e in evidence]
    seen.assert_quiet()


# -- the trend chart ----------------------------------------------------------------------------


@pytest.fixture
def trended(report: Report, tmp_path: Path) -> Path:
    path = tmp_path / "trended.html"
    HtmlRenderer().render(replace(report, trend=TREND), path)
    return path


def test_trend_section_only_with_a_trend(html: Path, trended: Path) -> None:
    assert not _doc(html).xpath("//*[@id='trend']")
    doc = _doc(trended)
    (svg,) = doc.xpath("//section[@id='trend']/svg")
    assert svg.xpath("string(./title)") == "Open findings over the last 3 scans"
    assert svg.xpath("string(./desc)") == (
        "Open findings by severity over the last 3 scans of this scope, 2026-11-01 to 2026-11-15: "
        "11 then 8 now; this scan 0 new, 6 fixed."
    )
    assert [g.get("data-severity") for g in svg.xpath(".//g[@class='series']")] == [
        "critical",
        "high",
        "medium",  # low and unscored: none in any scan
    ]
    assert svg.xpath(".//g[@class='ticks']/text/text()") == ["0", "5", "10", "new", "fixed"]
    assert svg.xpath(".//rect[@class='new']/title/text()") == ["3 new"]
    assert svg.xpath(".//rect[@class='fixed']/title/text()") == ["6 fixed"]
    assert not doc.xpath("//svg//script | //svg//*[@href] | //svg//foreignObject")
    rows = [[td.text_content() for td in tr.xpath("./td")]
            for tr in doc.xpath("//table[@id='trend-table']/tbody/tr")]  # fmt: skip
    assert rows[0] == ["#11", "2026-11-01T08:00:00+00:00", "1", "4", "6", "0", "0", "11", "", ""]
    assert rows[2][-3:] == ["8", "0", "6"]


@pytest.mark.browser
def test_trend_chart_in_chromium(browser: Browser, trended: Path, tmp_path: Path) -> None:
    """Drawn without script and without any fetch: present, labelled, sized, coloured."""
    context = browser.new_context(java_script_enabled=False)
    blocked: list[str] = []

    def route(route: Route) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.goto(trended.as_uri(), wait_until="load")
    chart = page.get_by_role("img", name="Open findings over the last 3 scans")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] >= 300 and box["height"] >= 150
    shot = chart.screenshot(path=str(tmp_path / "trend.png"))
    assert shot.startswith(b"\x89PNG") and len(shot) > 2000  # a picture, not a blank box
    line = page.locator("#trend g[data-severity='critical'] polyline")
    assert line.evaluate("e => getComputedStyle(e).stroke") == "rgb(142, 27, 27)"
    assert line.evaluate("e => e.getTotalLength()") > 400
    labels = page.locator("#trend-chart text").all_text_contents()
    assert {"critical", "high", "medium", "new", "fixed", "11-01", "11-15", "#13"} <= set(labels)
    assert blocked == []
    context.close()
