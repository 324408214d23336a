"""The "Changes since the previous scan" section and the suppressions appendix, in HTML,
Markdown, LaTeX and PDF; and ``brulee diff``'s standalone Markdown and HTML renderings."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import sync_playwright

from brulee.core.history import (
    LISTED,
    ChangedLocation,
    Changes,
    FindingChange,
    FindingGroup,
    HostGroup,
    PortChange,
    PortGroup,
    ScanRef,
)
from brulee.core.ports import PortSet
from brulee.core.report import Report
from brulee.core.suppression import Suppression
from brulee.core.vulnerability import Confidence
from brulee.history.suppressions import Suppressions, parse_suppression
from brulee.report.changes import changes_html, changes_markdown
from brulee.report.html import HtmlRenderer
from brulee.report.latex import LatexRenderer, tex_escape
from brulee.report.markdown import MarkdownRenderer
from brulee.report.pdf import PdfRenderer
from brulee.report.view.changes import changes_view
from brulee.report.view.report import build_view
from tests.report.conftest import HOSTILE
from tests.report.test_html import CHROMIUM, CHROMIUM_ARGS

REASON = "WAF <img src=x onerror=alert(9)> \\input{/etc/shadow} | *bold* [l](http://e) $x$"
HOSTNAME = "evil<marquee>.example.test"


def _ref(scan_id: int, when: str) -> ScanRef:
    return ScanRef(
        id=scan_id, recorded_at=when, scanned_at=when, kind="scan", scope="s", targets=(),
        started=when, finished=when, outcome="complete", hosts_up=3, hosts_down=0, site="",
        shard="", location="", ports=5, findings=9, scanned=PortSet.parse("tcp:1-1000"),
        options="",
    )  # fmt: skip


def _at(
    n: int, hostname: str = HOSTNAME, seen: str = "2024-04-01T10:00:00+00:00"
) -> ChangedLocation:
    return ChangedLocation(f"192.0.2.{20 + n}", hostname, "tcp", 8080, seen)


class Detail:
    """Every location of each group of a hand-made comparison, as the history store streams
    them."""

    def __init__(self, locations: dict[int, list[ChangedLocation]], hosts: list[str]) -> None:
        self.locations, self.hosts = locations, hosts

    def finding_locations(self, group: FindingGroup) -> Iterator[ChangedLocation]:
        return iter(self.locations[group.key])

    def port_locations(self, group: PortGroup) -> Iterator[ChangedLocation]:
        return iter(self.locations[group.key])

    def host_addresses(self, group: HostGroup) -> Iterator[str]:
        return iter(self.hosts)


EVERYWHERE = [_at(n) for n in range(12)]  # more than the human formats list
CLOSED = [
    ChangedLocation("192.0.2.10", "", "tcp", 21),
    ChangedLocation("192.0.2.10", "", "udp", 161),
]
LOCATIONS = {1: EVERYWHERE, 2: [_at(0)], 3: [_at(1)], 4: [_at(2, "web1")], 5: [_at(0)],
             6: CLOSED, 7: [_at(3, "web1")]}  # fmt: skip
NOTE = "Not used as the baseline: scan 10 (failed (Nmap reported an error))."


def _group(change: FindingChange, cve: str, severity: str, key: int, *, service: str = HOSTILE,
           kev: bool = False, confidence: Confidence = "certain") -> FindingGroup:  # fmt: skip
    where = LOCATIONS[key]
    return FindingGroup(change, cve, severity, 9.8, kev, confidence, service, len(where),  # type: ignore[arg-type]
                        tuple(where[:LISTED]), key)  # fmt: skip


def _ports(change: PortChange, service: str, key: int, previous: str = "") -> PortGroup:
    where = LOCATIONS[key]
    return PortGroup(change, service, previous, len(where), tuple(where[:LISTED]), key)


CHANGES = Changes(
    previous=_ref(11, "2024-04-20T10:00:00+00:00"),
    current=_ref(12, "2024-05-01T10:00:00+00:00"),
    notes=(NOTE,),
    findings=(
        _group("new", "CVE-2024-0001", "critical", 1, kev=True),
        _group("new", "CVE-2024-0002", "high", 2),
        _group("reappeared", "CVE-2023-0003", "medium", 3),
        _group("fixed", "CVE-2022-0004", "low", 4, service="vsftpd 2.3.4"),
    ),
    still_open=7,
    unknown=3,
    ports=(
        _ports("new", HOSTILE, 5),
        _ports("closed", "vsftpd 2.3.4", 6),
        _ports("changed", HOSTILE, 7, "Apache httpd 2.4.49"),
    ),
    hosts=(HostGroup("missing", 1, ("192.0.2.40",)),),
    detail=Detail(LOCATIONS, ["192.0.2.40"]),
)
HEADLINE = (
    "13 new, 1 reappeared, 1 fixed, 7 still open; 1 new port, 2 closed ports; "
    "1 changed version; 1 host not looked at again; 3 findings unknown"
)


def _entry(origin: str, **fields: object) -> Suppression:
    return parse_suppression({"author": "alice <a@example.test>", **fields}, origin=origin)


ENTRIES = Suppressions(
    (
        _entry("s.yaml:1", cve="CVE-2021-44790", reason=REASON, product="Apache httpd"),
        _entry("s.yaml:5", cve="CVE-2021-41773", reason="one host", host="192.0.2.10"),
        _entry("s.yaml:9", cve="CVE-2020-0001", reason="old", expires="2020-01-01"),
        _entry("s.yaml:13", cve="CVE-1999-0001", reason="nothing"),
    )
)


@pytest.fixture
def tracked(report: Report) -> Report:
    """The sample report with its changes and its suppressions applied."""
    applied = ENTRIES.apply(report.services, report.locations, date(2024, 5, 1))
    return replace(report, services=applied.groups, suppressed=applied, changes=CHANGES)


def _texts(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


# -- view --------------------------------------------------------------------------------------


def test_view(tracked: Report) -> None:
    v = build_view(tracked)
    assert v.changes is not None and v.suppressed is not None
    assert v.changes.headline == HEADLINE
    assert v.changes.previous == "scan 11 of 2024-04-20 10:00:00Z"
    assert v.changes.notes == (NOTE,)
    assert [t.name for t in v.changes.findings] == ["new", "reappeared", "fixed"]
    new = v.changes.findings[0].rows[0]
    assert (new.count, new.more, new.where[0]) == (
        "12",
        "and 7 more",
        f"192.0.2.20 ({HOSTNAME}) 8080/tcp",
    )
    assert len(new.where) == LISTED
    back = v.changes.findings[1].rows[0]
    assert back.where == (f"192.0.2.21 ({HOSTNAME}) 8080/tcp (first seen 2024-04-01, 30 days)",)
    fixed = v.changes.findings[2].rows[0]  # first seen to the fixing scan
    assert fixed.where == ("192.0.2.22 (web1) 8080/tcp (first seen 2024-04-01, 30 days)",)
    assert [t.name for t in v.changes.ports] == ["new", "closed", "changed"]
    assert v.changes.ports[2].rows[0].service == f"Apache httpd 2.4.49 -> {HOSTILE}"
    s = v.suppressed
    assert (s.complete, s.partial) == (1, 1)
    assert s.headline == (
        "1 finding suppressed, 1 more at some locations only (see appendix); "
        "1 suppression EXPIRED; 1 matched nothing"
    )
    items = {i.vuln.vuln.id: i for svc in s.services for i in svc.items}
    assert items["CVE-2021-44790"].complete
    assert items["CVE-2021-44790"].entries[0].reason == REASON
    partial = items["CVE-2021-41773"]
    assert not partial.complete and partial.extent == "1 of 2 locations"
    assert partial.locations == (("192.0.2.10 (web1.example.test) 80/tcp", "s.yaml:5"),)
    assert [e.cve for e in s.expired] == ["CVE-2020-0001"]
    assert s.expired[0].expires == "2020-01-01"
    assert [e.cve for e in s.stale] == ["CVE-1999-0001"]
    assert s.stale[0].scope == "everywhere"
    # completely suppressed: gone from the services
    ids = {v.id for g in tracked.services for v in g.vulnerabilities}
    assert "CVE-2021-44790" not in ids and "CVE-2021-41773" in ids


# A possible finding (SambaCry on Nmap's "4.6.2" label) that appeared: counted apart in the
# headline, marked with its confidence in every format, and no alert on its own.
SAMBACRY = _group("new", "CVE-2017-7494", "critical", 2, service="Samba smbd 4.6.2", kev=True,
                  confidence="version-range")  # fmt: skip
ONLY_POSSIBLE = replace(CHANGES, findings=(SAMBACRY, *CHANGES.groups("fixed")))


def test_possible_findings_are_counted_apart_and_raise_no_alert() -> None:
    view = changes_view(ONLY_POSSIBLE)
    assert view.headline.startswith("1 new (1 possible), 0 reappeared, 1 fixed, 7 still open;")
    assert not view.alert
    (row,) = view.findings[0].rows
    assert (row.id, row.possible, row.kev) == ("CVE-2017-7494", "version-range", True)
    established = changes_view(replace(ONLY_POSSIBLE, findings=(SAMBACRY, CHANGES.findings[1])))
    assert established.headline.startswith("2 new (1 possible), 0 reappeared, 0 fixed")
    assert established.alert
    assert changes_view(CHANGES).findings[0].rows[0].possible == ""


def test_possible_findings_are_marked_in_every_format(report: Report, tmp_path: Path) -> None:
    page: Any = lxml.html.fromstring(changes_html(ONLY_POSSIBLE))
    assert "alert" not in page.xpath('//*[@id="changes"]')[0].get("class")
    (cell,) = page.xpath('//details[@id="changes-new"]//tbody/tr/td[1]')
    assert _texts(cell) == "CVE-2017-7494 version-range"
    assert cell.xpath('.//span[contains(@class, "c-possible")]')
    md = _md_html(changes_markdown(ONLY_POSSIBLE))
    table = md.xpath("//h3[starts-with(., 'New findings')]/following::table[1]")[0]
    assert _texts(table.xpath(".//tbody/tr[1]/td[1]")[0]) == "CVE-2017-7494 VERSION-RANGE"
    assert "1 new (1 possible)" in _texts(md)
    path = tmp_path / "report.tex"
    LatexRenderer().render(replace(report, changes=ONLY_POSSIBLE), path)
    tex = path.read_text(encoding="utf-8")
    assert r"\textbf{CVE-2017-7494}\newline\badgeas{possible}{VERSION-RANGE}" in tex
    assert r"\notice{c-vulnerable}" not in tex.split(r"\section*{Changes since")[1][:400]


def test_no_sections_without_history_or_suppressions(report: Report) -> None:
    v = build_view(report)
    assert v.changes is None and v.suppressed is None


# -- HTML --------------------------------------------------------------------------------------


@pytest.fixture
def html(tracked: Report, tmp_path: Path) -> Path:
    path = tmp_path / "report.html"
    HtmlRenderer().render(tracked, path)
    return path


def test_html_sections_and_order(html: Path) -> None:
    doc = lxml.html.parse(str(html)).getroot()
    ids = [
        e.get("id")
        for e in doc.iter()
        if e.get("id") in ("summary", "kev", "changes", "services", "hosts", "suppressed")
    ]
    assert ids == ["summary", "kev", "changes", "services", "hosts", "suppressed"]
    (changes,) = doc.xpath('//*[@id="changes"]')
    assert _texts(changes.xpath('.//*[@id="changes-headline"]')[0]) == HEADLINE
    assert "alert" in changes.get("class")
    for name, rows in (("new", 2), ("reappeared", 1), ("fixed", 1), ("new-ports", 1),
                       ("closed-ports", 1), ("services", 1)):  # fmt: skip
        (details,) = changes.xpath(f'.//details[@id="changes-{name}"]')
        assert details.get("open") is not None
        assert len(details.xpath(".//tbody/tr")) == rows, name
    assert _texts(changes.xpath('.//*[contains(@class, "changes-note")]')[0]) == NOTE
    row = changes.xpath('.//details[@id="changes-new"]//tbody/tr')[0]
    cells = [_texts(td) for td in row.xpath("td")]
    assert cells[:5] == ["CVE-2024-0001", "critical", "KEV", HOSTILE, "12"]
    listed = "192.0.2.20 (evil<marquee>.example.test) 8080/tcp"
    assert cells[5].startswith(listed) and cells[5].endswith("and 7 more")
    assert len(row.xpath("td")[5].xpath(".//br")) == LISTED
    closed = changes.xpath('.//details[@id="changes-closed-ports"]//tbody/tr/td')
    assert [_texts(td) for td in closed] == [
        "vsftpd 2.3.4", "2", "192.0.2.10 21/tcp192.0.2.10 161/udp"
    ]  # fmt: skip
    change = changes.xpath('.//details[@id="changes-services"]//tbody/tr/td')
    assert _texts(change[0]) == f"Apache httpd 2.4.49 -> {HOSTILE}"
    missing = _texts(changes.xpath('.//*[@id="changes-missing"]')[0])
    assert "192.0.2.40" in missing and "unknown, not closed or fixed" in missing
    note = _texts(doc.xpath('//*[@id="suppressed-note"]')[0])
    assert note.startswith("1 finding suppressed")
    (appendix,) = doc.xpath('//*[@id="suppressed"]')
    text = _texts(appendix)
    assert REASON in text and "partial: 1 of 2 locations" in text
    assert len(appendix.xpath('.//table[@id="suppressed-expired-list"]/tbody/tr')) == 1
    assert len(appendix.xpath('.//table[@id="suppressed-stale-list"]/tbody/tr')) == 1
    # hostile strings are text, never markup
    assert not doc.xpath("//script[not(normalize-space(.)='') and contains(., 'alert')]")
    assert not doc.xpath("//img") and not doc.xpath("//marquee")


def test_html_hostile_text_stays_literal(html: Path) -> None:
    raw = html.read_text(encoding="utf-8")
    assert "<img" not in raw and "<marquee" not in raw
    assert "WAF &lt;img src=x onerror=alert(9)&gt;" in raw
    assert "evil&lt;marquee&gt;.example.test" in raw


def test_html_visible_without_javascript(html: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(html.as_uri(), wait_until="load")
            for selector in ("#changes-headline", "#changes-new tbody tr >> nth=1",
                             "#changes-fixed tbody tr", "#changes-services tbody tr",
                             "#changes-missing", "#suppressed-note", "#suppressed-list",
                             "#suppressed-expired-list", "#suppressed-stale-list"):  # fmt: skip
                assert page.locator(selector).is_visible(), selector
            assert (
                page.locator("#changes-new tbody tr").first.inner_text().startswith("CVE-2024-0001")
            )
            assert REASON in page.locator("#suppressed-list").inner_text()
        finally:
            browser.close()


def test_html_large_lists_collapse_unless_new(tracked: Report, tmp_path: Path) -> None:
    many = tuple(replace(CHANGES.ports[1], service=f"daemon {n}") for n in range(40))
    calm = replace(CHANGES, findings=CHANGES.groups("fixed"), ports=many)
    path = tmp_path / "calm.html"
    HtmlRenderer().render(replace(tracked, changes=calm), path)
    doc = lxml.html.parse(str(path)).getroot()
    (closed,) = doc.xpath('//details[@id="changes-closed-ports"]')
    assert closed.get("open") is None and len(closed.xpath(".//tbody/tr")) == 40
    assert "alert" not in doc.xpath('//*[@id="changes"]')[0].get("class")


# -- Markdown ----------------------------------------------------------------------------------


def _md_html(text: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(MarkdownIt("commonmark").enable("table").render(text))


def test_markdown(tracked: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    MarkdownRenderer().render(tracked, path)
    doc = _md_html(path.read_text(encoding="utf-8"))
    headings = [_texts(h) for h in doc.xpath("//h2")]
    assert headings.index("Changes since the previous scan") < headings.index("Services")
    assert headings[-1] == "Appendix: Suppressed findings"
    text = _texts(doc)
    assert HEADLINE in text
    assert "1 finding suppressed, 1 more at some locations only (see appendix)" in text
    h3 = [_texts(h) for h in doc.xpath("//h3")]
    for title in ("New findings (13)", "Reappeared findings (1)", "Fixed findings (1)",
                  "New ports (1)", "Closed ports (2)", "Changed service versions (1)",
                  "Expired suppressions (no longer applied) (1)",
                  "Stale suppressions (matched nothing) (1)"):  # fmt: skip
        assert title in h3
    assert NOTE in text
    table = doc.xpath("//h3[starts-with(., 'New findings')]/following::table[1]")[0]
    first = [_texts(td) for td in table.xpath(".//tbody/tr[1]/td")]
    assert first[0] == "CVE-2024-0001" and first[3] == HOSTILE and first[4] == "12"
    assert first[5].startswith(f"192.0.2.20 ({HOSTNAME}) 8080/tcp; 192.0.2.21")
    assert first[5].endswith("; and 7 more")
    appendix = doc.xpath("//h2[.='Appendix: Suppressed findings']/following::table[1]")[0]
    rows = appendix.xpath(".//tbody/tr")
    assert all(len(r.xpath("td")) == 9 for r in rows)
    assert REASON in _texts(appendix)
    assert not doc.xpath("//img|//marquee|//a[@href='http://e']|//script")


# -- LaTeX and PDF ------------------------------------------------------------------------------


def test_latex(tracked: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.tex"
    LatexRenderer().render(tracked, path)
    tex = path.read_text(encoding="utf-8")
    assert tex.index(r"\section*{Changes since the previous scan}") < tex.index(
        r"\section*{Services}"
    )
    assert tex.index(r"\section*{Hosts}") < tex.index("Appendix: Suppressed findings")
    assert r"\input{" not in tex
    assert tex_escape(REASON) in tex and tex_escape(HOSTILE) in tex
    assert r"\textbackslash{}input\{/\bk{}etc/\bk{}shadow\}" in tex


needs_pdf = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
    reason="latexmk or pdftotext is absent",
)


@needs_pdf
def test_pdf(tracked: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    PdfRenderer().render(tracked, path)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", " ", text)
    squeezed = re.sub(r"\s+", "", text)
    assert HEADLINE in flat
    for words in (
        "New findings (13)",
        "Fixed findings (1)",
        "Closed ports (2)",
        "Changed service versions (1)",
        "Not found up again: 1 host",
        "and 7 more",
        "Appendix: Suppressed findings",
        "Expired suppressions (no longer applied) (1)",
        "Stale suppressions (matched nothing) (1)",
        "partial: 1 of 2 locations",
        "1 finding suppressed, 1 more at some locations only (see appendix)",
    ):
        assert words in flat, words
    assert re.sub(r"\s+", "", REASON) in squeezed
    assert re.sub(r"\s+", "", HOSTILE) in squeezed
    assert flat.index("Changes since the previous scan") < flat.index("Appendix: Suppressed")


# -- brulee diff ---------------------------------------------------------------------------------


def test_changes_markdown() -> None:
    text = changes_markdown(CHANGES)
    assert text.startswith("# Changes between two scans\n\n## Changes since the previous scan")
    doc = _md_html(text)
    assert HEADLINE in _texts(doc)
    assert len(doc.xpath("//table")) == 6
    assert HOSTILE in _texts(doc) and not doc.xpath("//script|//marquee")


def test_changes_html(tmp_path: Path) -> None:
    page = changes_html(CHANGES)
    doc: Any = lxml.html.fromstring(page)
    (csp,) = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert "default-src 'none'" in csp and "script-src 'none'" in csp and "'sha256-" in csp
    assert not doc.xpath("//script") and not doc.xpath("//*[@style]")
    assert _texts(doc.xpath('//*[@id="changes-headline"]')[0]) == HEADLINE
    assert len(doc.xpath('//details[@id="changes-new"]//tbody/tr')) == 2
    assert "<marquee" not in page and HOSTILE in _texts(doc)
    nothing = replace(CHANGES, findings=(), ports=(), hosts=())
    empty = lxml.html.fromstring(changes_html(nothing))
    assert "Nothing changed: 7 findings still open." in _texts(empty)
    if CHROMIUM.exists():  # the style is admitted by its hash: the page is styled
        path = tmp_path / "diff.html"
        path.write_text(page, encoding="utf-8")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                p = browser.new_context(java_script_enabled=False).new_page()
                errors: list[str] = []
                p.on("console", lambda m: errors.append(m.text))
                p.goto(path.as_uri(), wait_until="load")
                background = p.evaluate(
                    "getComputedStyle(document.querySelector('.top')).backgroundColor"
                )
                assert background == "rgb(29, 39, 51)" and errors == []
                assert p.locator("#changes-new tbody tr").first.is_visible()
            finally:
                browser.close()


def test_cli_two_reports(tmp_path: Path) -> None:
    """Two real runs of ``brulee report`` with a history: the second has the changes section
    and the appendix."""
    from brulee.cli.main import main

    lab = Path(__file__).parents[1] / "assets" / "nmap" / "lab-basic.xml"
    changed = tmp_path / "changed.xml"
    lines = lab.read_text(encoding="utf-8").split("\n")
    text = "\n".join(lines)
    assert 'version="2.4.49"' in text
    changed.write_text(text.replace('version="2.4.49"', 'version="2.4.50"', 1), encoding="utf-8")
    suppressions = tmp_path / "s.yaml"
    suppressions.write_text(
        '- cve: CVE-1999-0001\n  reason: "<b>never</b>"\n  author: me\n', encoding="utf-8"
    )
    history = str(tmp_path / "h.db")
    assert (
        main(["report", str(lab), "-o", str(tmp_path / "a"), "-f", "md", "--history", history]) == 0
    )
    first = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    assert "Changes since the previous scan" not in first and "Appendix" not in first
    code = main(["report", str(changed), "-o", str(tmp_path / "b"), "-f", "md,html",
                 "--history", history, "--suppressions", str(suppressions)])  # fmt: skip
    assert code == 0
    second = (tmp_path / "b" / "report.md").read_text(encoding="utf-8")
    assert "## Changes since the previous scan" in second
    assert "1 changed version" in second
    assert "### Stale suppressions (matched nothing) (1)" in second
    assert "\\<b>never\\</b>" in second
    page = (tmp_path / "b" / "report.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;never&lt;/b&gt;" in page and 'id="changes-services"' in page


@pytest.fixture(autouse=True)
def _no_default_history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("BRULEE_HISTORY", str(tmp_path / "default-history.db"))
    yield
