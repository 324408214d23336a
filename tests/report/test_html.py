"""HTML: golden file, escaping and CSP checked statically; then the real thing in Chromium."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lxml.html
import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, Route, sync_playwright

from brulee.report.html import HtmlRenderer
from brulee.report.interface import Report
from tests.report.conftest import CLEAN, CONDITION, HOSTILE, TRAVERSAL

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SERVICES = 6
LOCATIONS = 8


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
    assert len(doc.xpath("//svg//rect[@fill]")) == 5
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
    assert [total.findtext("b"), total.findtext("span")] == ["2", "known exploited (KEV)"]
    (kev,) = doc.xpath("//section[@id='kev'][@class='card alert']")
    assert "fix them first" in kev.text_content()
    rows = kev.xpath(".//tbody/tr")
    assert [_cells(r) for r in rows] == [
        [
            "CVE-2021-41773 ransomware", "2021-11-03", "high", "7.5 (v3.1)", "94.4% (p99)",
            f"1. Apache httpd 2.4.49 tcp 2. {HOSTILE} {HOSTILE} tcp conditional",
        ],
        [
            "CVE-2021-42013", "2021-11-03", "high", "7.5 (v3.1)", "0.040% (p10)",
            f"2. {HOSTILE} {HOSTILE} tcp",
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
        "4 vulnerabilities (1 known exploited) · 2 locations",
    ]
    rows = apache.xpath(".//table[@class='vulns']/tbody/tr")
    assert [_cells(r)[:5] for r in rows] == [
        ["CVE-2021-41773", "KEV 2021-11-03 ransomware", "high", "7.5 (v3.1)", "94.4% (p99)"],
        ["CVE-2021-44790", "", "critical", "9.8 (v3.1)", "12.3% (p95)"],
        ["CVE-2021-33193 conditional", "", "medium", "5.3 (v3.1)", "0.51% (p76)"],
        ["CVE-2024-40898", "", "unscored", "n/a", "n/a"],
    ]
    assert [r.get("class") for r in rows] == [None, None, "conditional", None]
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
    assert [_cells(r)[3:5] for r in index] == [
        ["critical", "1"], ["high", "2"], ["", ""], ["", ""], ["", ""], ["", ""],
    ]  # fmt: skip


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
    page.fill("#filter-text", "openssh")
    assert seen.labels(visible_only=True) == ["openssh 8.9p1"]
    assert page.locator("#index-body tr:visible").count() == 1
    page.fill("#filter-text", "CVE-2021-33193")
    assert seen.labels(visible_only=True) == ["apache httpd 2.4.49"]
    page.fill("#filter-text", "2001:db8::5")  # a location
    assert len(seen.labels(visible_only=True)) == 3
    page.fill("#filter-text", "")
    assert len(seen.labels(visible_only=True)) == SERVICES
    page.select_option("#filter-severity", "critical")
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
    page.select_option("#sort", "kev")  # the hostile service has two KEV vulnerabilities
    assert seen.labels()[:3] == [urgent[1], "apache httpd 2.4.49", "acme snmp agent 3.1"]
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
    seen.assert_quiet()
