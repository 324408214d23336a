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
