"""Markdown: golden file, the escaping, and the document as a CommonMark parser reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt

from brulee.report.interface import Report
from brulee.report.markdown import MarkdownRenderer, md_escape, md_link
from brulee.report.view import Raw
from tests.report.conftest import CLEAN, CONDITION, HOSTILE, TRAVERSAL


@pytest.fixture
def markdown(report: Report, tmp_path: Path) -> Path:
    path = tmp_path / "report.md"
    MarkdownRenderer().render(report, path)
    return path


def _to_html(markdown: Path) -> lxml.html.HtmlElement:
    """The document as GitHub would parse it (CommonMark with GFM tables), as an HTML tree."""
    parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    rendered = parser.render(markdown.read_text(encoding="utf-8"))
    return lxml.html.fromstring(f"<div>{rendered}</div>")


def test_matches_golden(markdown: Path, check_golden: Callable[[Path, str], None]) -> None:
    check_golden(markdown, "report.md")


@pytest.mark.parametrize("char", list("\\`*_{}[]<>()#+-.!|~$&"))
def test_every_significant_character_is_escaped(char: str) -> None:
    assert md_escape(f"a{char}b") == f"a\\{char}b"


def test_line_breaks_stay_in_their_cell() -> None:
    assert md_escape("one\ntwo\r\nthree\tfour") == "one<br>two<br>three four"
    assert md_escape("\n# heading\n- item") == "<br>\\# heading<br>\\- item"
    assert md_escape(Raw("**raw**")) == "**raw**"


def test_links_only_for_http() -> None:
    assert md_link("CVE-1", "https://x.test/a(b)") == "[CVE\\-1](https://x.test/a%28b%29)"
    assert md_link("CVE-1", "javascript:alert(1)") == "CVE\\-1"


def test_hostile_text_renders_literally(markdown: Path, hostile: str) -> None:
    doc = _to_html(markdown)
    assert doc.xpath("//script | //img | //iframe") == []
    assert all(h.startswith("https://") for h in doc.xpath("//a/@href"))
    # product, version and extrainfo (facts), description, reason, exploits (vulns), hostname
    cells = doc.xpath("//td[text()=$h]", h=hostile)
    assert len(cells) >= 7
    notes = doc.xpath("//li[text()=$t]", t="Note: " + hostile)
    assert len(notes) == 1
    headings = doc.xpath("//h3[contains(text(), $h)]", h=f"{hostile} {hostile}")
    assert len(headings) == 1


def test_tables_keep_their_shape(markdown: Path) -> None:
    """A '|' in data must not add a column: every row has as many cells as its header."""
    doc = _to_html(markdown)
    tables = doc.xpath("//table")
    assert len(tables) >= 12
    for table in tables:
        width = len(table.xpath("./thead/tr/th"))
        assert all(len(row.xpath("./td")) == width for row in table.xpath("./tbody/tr"))


def test_content(markdown: Path) -> None:
    doc = _to_html(markdown)
    text = doc.text_content()
    assert "INCOMPLETE scan" in text
    assert "nmap stopped after 300 s" in text
    assert "45 days old" in text
    for status in ("UNKNOWN", "UNCHECKED", "UNVERSIONED"):
        assert f"Status: {status} · not checked" in text
    notices = [q.text_content().strip() for q in doc.xpath("//blockquote")]
    assert sum(n.startswith("NOT CHECKED") for n in notices) == 3
    assert text.count("This service is not known to be safe.") == 3
    assert "2001:db8::5" in text
    links = doc.xpath("//a/@href")
    assert "https://nvd.nist.gov/vuln/detail/CVE-2021-41773" in links
    hosts = doc.xpath("//h2[text()='Hosts']/following-sibling::table[1]/tbody/tr")
    assert len(hosts) == 4
    assert "Status: CLEAN · 0 vulnerabilities" in text
    assert "checked: no known CVE applies to this version." in notices
    assert f"Note: {CLEAN.note}" in doc.xpath("//li/text()")


def _rows(table: lxml.html.HtmlElement) -> list[list[str]]:
    """Each row's cells as text, line breaks as spaces."""
    return [
        [" ".join(" ".join(td.xpath(".//text()")).split()) for td in row.xpath("./td")]
        for row in table.xpath("./tbody/tr")
    ]


def test_database_kev_epss_and_confidence(markdown: Path) -> None:
    doc = _to_html(markdown)
    facts = dict(r[:2] for r in _rows(doc.xpath("//table")[0]))
    assert facts["Vulnerability data"].startswith("2,299 CVEs, NVD data to 2024-03-17; CISA KEV")
    totals = doc.xpath("//h2[text()='Summary']/following-sibling::table[1]")[0]
    assert totals.xpath("string(./thead/tr/th[1])") == "Known exploited (KEV)"
    assert _rows(totals)[0][0] == "2"
    kev = doc.xpath("//h3[starts-with(text(), 'Known exploited')]/following-sibling::table[1]")
    assert _rows(kev[0]) == [
        [
            "CVE-2021-41773 RANSOMWARE", "2021-11-03", "HIGH", "7.5 (v3.1)", "94.4% (p99)",
            f"1. Apache httpd 2.4.49 (tcp) 2. {HOSTILE} {HOSTILE} (tcp) CONDITIONAL",
        ],
        [
            "CVE-2021-42013", "2021-11-03", "HIGH", "7.5 (v3.1)", "0.040% (p10)",
            f"2. {HOSTILE} {HOSTILE} (tcp)",
        ],
    ]  # fmt: skip
    assert doc.xpath("//li/strong[text()='EPSS']")  # the legend
    apache = doc.xpath("//h3[starts-with(text(), '1. Apache httpd')]/following-sibling::table[2]")
    rows = _rows(apache[0])
    assert [r[:6] for r in rows] == [
        ["CVE-2021-41773", "KEV 2021-11-03 RANSOMWARE", "HIGH", "7.5 (v3.1)", "94.4% (p99)",
         "certain"],
        ["CVE-2021-44790", "", "CRITICAL", "9.8 (v3.1)", "12.3% (p95)", "certain"],
        ["CVE-2021-33193", "", "MEDIUM", "5.3 (v3.1)", "0.51% (p76)", "CONDITIONAL"],
        ["CVE-2024-40898", "", "UNSCORED", "n/a", "n/a", "reported"],
    ]  # fmt: skip
    assert rows[0][6].startswith(f"{TRAVERSAL.description} CISA KEV: added 2021-11-03, ")
    assert rows[2][7].endswith(f"only if {CONDITION} (not visible to the scan)")
    assert doc.xpath("//td/strong[text()='CONDITIONAL']")
    status = "Status: VULNERABLE · KNOWN EXPLOITED (KEV) · highest severity CRITICAL"
    assert status in doc.text_content()
