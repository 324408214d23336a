"""Markdown: golden file, the escaping, and the document as a CommonMark parser reads it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import cast

import lxml.html
import pytest
from markdown_it import MarkdownIt

from brulee.core.report import Report
from brulee.report.markdown import MarkdownRenderer, md_escape, md_link
from brulee.report.view.text import Raw
from tests.report.conftest import (
    CLEAN,
    CONDITION,
    FIXED_REASON,
    HOSTILE,
    NO_STRETCH_ADVISORY,
    REMEDIATION,
    TRAVERSAL,
    TREND,
    UBUNTU_EVIDENCE,
)


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


@pytest.mark.parametrize(
    "text",
    ["CVE-2011-2523", "10.0.0.3", "2001:db8::5", "7.4p1 Debian 10+deb9u4", "OpenSSH_7.4p1",
     "Apache/2.4.49 (Unix) {x} !a #1 +2 -3 AT&T 50%", "1.2.3 x", "a - b > c = d"],
)  # fmt: skip
def test_plain_text_reads_as_it_is(text: str) -> None:
    """Ids, addresses, versions and ordinary punctuation are not escaped: grep finds them."""
    assert md_escape(text) == text


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a\\b", "a\\\\b"), ("a`b", "a\\`b"), ("a*b*", "a\\*b\\*"), ("[x](y)", "\\[x\\](y)"),
        ("<b>", "\\<b>"), ("a|b", "a\\|b"), ("~~x~~", "\\~\\~x\\~\\~"), ("$x$", "\\$x\\$"),
        ("_x_", "\\_x\\_"), ("&amp; &#60;", "\\&amp; \\&#60;"), ("# x #", "\\# x \\#"),
        ("> x", "\\> x"), ("- x", "\\- x"), ("+ x", "\\+ x"), ("---", "\\---"), ("=", "\\="),
        ("12. x", "12\\. x"), ("1)", "1\\)"),
    ],
)  # fmt: skip
def test_markup_is_escaped_where_it_stands(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


TRICKY = [
    HOSTILE, "# x", "## x ##", "> x", "- x", "+ x", "* x", "1. x", "3) x", "---", "***", "___",
    "===", "```", "~~~ x", "    x", "<https://x.test>", "<b>x</b>", "<!-- x -->", "[x](https://x.test)",
    "![x](https://x.test/i.png)", "[x]: https://x.test", "*x* _y_ **z** __w__", "`x`", "~~x~~",
    "a\\*b\\", "&amp; &lt; &#60; &#x3c;", "x|y", "|", "\\|", "snake_case_name", "x #", "#",
]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("where", ["# {}", "- {}", "> {}", "{}", "| a |\n| --- |\n| {} |"])
def test_renders_as_literal_text_in_every_block(text: str, where: str) -> None:
    """Rendered by a CommonMark parser (GFM tables and strikethrough), the escaped text in a
    heading, list item, quote, paragraph or table cell is the original text, with no markup."""
    parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    html = parser.render(where.format(md_escape(text)))
    doc = lxml.html.fromstring(f"<div>{html}</div>")
    found = doc.xpath("//h1 | //li | //blockquote/p | ./p | //td")
    (leaf,) = cast("list[lxml.html.HtmlElement]", found)
    assert leaf.text_content() == text.strip()
    assert len(leaf) == 0  # no element inside: no link, image, emphasis, code or HTML


def test_line_breaks_stay_in_their_cell() -> None:
    assert md_escape("one\ntwo\r\nthree\tfour") == "one<br>two<br>three four"
    assert md_escape("x\n# heading\n- item\n") == "x<br># heading<br>- item"
    assert md_escape(Raw("**raw**")) == "**raw**"


def test_links_only_for_http() -> None:
    assert md_link("CVE-1", "https://x.test/a(b)") == "[CVE-1](https://x.test/a%28b%29)"
    assert md_link("[CVE-1]", "javascript:alert(1)") == "\\[CVE-1\\]"


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
    assert _rows(totals)[0][0] == "1"  # certain ones only
    kev = doc.xpath("//h3[starts-with(text(), 'Known exploited')]/following-sibling::table[1]")
    assert _rows(kev[0]) == [
        [
            "CVE-2021-41773 RANSOMWARE", "2021-11-03", "HIGH", "7.5 (v3.1)", "94.4% (p99)",
            f"1. Apache httpd 2.4.49 (tcp) 3. {HOSTILE} {HOSTILE} (tcp) CONDITIONAL",
        ],
    ]  # fmt: skip
    lead = "//p[strong/text()='Possibly known exploited.']"
    possible = doc.xpath(lead + "/following-sibling::table[1]")
    assert _rows(possible[0]) == [
        [
            "CVE-2021-42013", "2021-11-03", "HIGH", "7.5 (v3.1)", "0.040% (p10)",
            f"3. {HOSTILE} {HOSTILE} (tcp) REPORTED",
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
        ["CVE-2024-40898", "", "UNSCORED", "n/a", "n/a", "REPORTED"],
    ]  # fmt: skip
    assert rows[0][6].startswith(f"{TRAVERSAL.description} CISA KEV: added 2021-11-03, ")
    assert rows[2][7].endswith(f"only if {CONDITION} (not visible to the scan)")
    assert doc.xpath("//td/strong[text()='CONDITIONAL']")
    status = "Status: VULNERABLE · KNOWN EXPLOITED (KEV) · highest severity CRITICAL"
    assert status in doc.text_content()


def _section(doc: lxml.html.HtmlElement, heading: str) -> list[lxml.html.HtmlElement]:
    """The elements after the service heading that starts with ``heading``, up to the next."""
    (h3,) = doc.xpath("//h3[starts-with(text(), $h)]", h=heading)
    found = []
    for element in h3.itersiblings():
        if element.tag in ("h2", "h3"):
            break
        found.append(element)
    return found


def _flat(element: lxml.html.HtmlElement) -> str:
    return " ".join(" ".join(element.xpath(".//text()")).split())


def _paragraph(section: list[lxml.html.HtmlElement], start: str) -> lxml.html.HtmlElement:
    (found,) = [e for e in section if e.tag == "p" and e.text_content().startswith(start)]
    return found


def test_distribution_backports(markdown: Path, hostile: str) -> None:
    doc = _to_html(markdown)
    ssh = _section(doc, "2. OpenSSH 7.4p1 Debian 10+deb9u4")
    distro = _paragraph(ssh, "Distribution:")
    assert _flat(distro) == (
        'Distribution: Debian stretch, package revision 10+deb9u4 · seen in version "7.4p1 '
        'Debian 10+deb9u4" 1 fixed by the distribution · 1 still open · 2 unverified backport'
    )
    assert distro.xpath("./br")  # the counts on a line of their own
    assert distro.xpath("./strong/text()") == ["Distribution:", "1", "1", "2"]
    tables = [e for e in ssh if e.tag == "table"]
    vulns = _rows(tables[1])
    assert [r[0] for r in vulns] == ["CVE-2023-38408", "CVE-2020-15778", "CVE-2019-6111"]
    assert [r[5] for r in vulns] == ["UNVERIFIED BACKPORT", "UNVERIFIED BACKPORT", "certain"]
    assert tables[1].xpath(".//td/strong[text()='UNVERIFIED BACKPORT']")
    assert vulns[0][7].endswith(NO_STRETCH_ADVISORY)
    assert f"Remediation: {REMEDIATION}" in vulns[2][6]
    assert not any("Remediation" in r[6] for r in vulns[:2])
    # the set-aside list: after the vulnerability table, before the locations, in no table
    fixed = _paragraph(ssh, "Fixed by the distribution (1)")
    assert fixed.xpath("./em")
    position = ssh.index(fixed)
    assert ssh.index(tables[1]) < position < ssh.index(tables[2])
    (items,) = [e for e in ssh if e.tag == "ul"]
    assert [li.text_content() for li in items] == [f"CVE-2018-15473: {FIXED_REASON}"]
    assert items.xpath(".//a/@href") == ["https://nvd.nist.gov/vuln/detail/CVE-2018-15473"]
    assert not any("CVE-2018-15473" in c for t in tables for r in _rows(t) for c in r)

    nginx = _section(doc, "4. nginx 1.14.0")
    distro = _paragraph(nginx, "Distribution:")
    assert _flat(distro) == (
        f"Distribution: Ubuntu · seen in {UBUNTU_EVIDENCE} "
        "0 fixed by the distribution · 0 still open · 2 unverified backport"
    )
    assert hostile in distro.text_content()
    assert not distro.xpath(".//script")
    vulns = _rows([e for e in nginx if e.tag == "table"][1])
    assert [r[5] for r in vulns] == ["UNVERIFIED BACKPORT", "UNVERIFIED BACKPORT"]
    assert not any(e.text_content().startswith("Fixed by") for e in nginx)

    unchecked = _section(doc, "6. OpenSSH 8.9p1")
    assert _paragraph(unchecked, "Distribution:").text_content() == (
        'Distribution: Ubuntu, package revision 3ubuntu0.6 · seen in extrainfo "Ubuntu 3ubuntu0.6"'
    )


def test_summary_backport_totals_and_legend(markdown: Path) -> None:
    doc = _to_html(markdown)
    (line,) = doc.xpath("//p[starts-with(text(), 'Distribution backports:')]")
    assert line.text_content() == (
        "Distribution backports: 4 unverified backports (kept, among the possible) · "
        "1 fixed by the distribution (set aside, not counted)"
    )
    totals = doc.xpath("//h2[text()='Summary']/following-sibling::table[1]")[0]
    headers = totals.xpath("./thead/tr/th/text()")
    assert _rows(totals)[0][headers.index("Vulnerabilities")] == "3"
    assert _rows(totals)[0][headers.index("Possible vulnerabilities")] == "7"
    severities = doc.xpath("//h2[text()='Summary']/following-sibling::table[2]")[0]
    assert sum(int(r[1]) for r in _rows(severities)) == 3
    assert sum(int(r[2]) for r in _rows(severities)) == 7
    legend = doc.xpath("//li[strong/text()='Confidence']")[0].text_content()
    assert "UNVERIFIED BACKPORT: kept but uncertain" in legend
    assert doc.xpath("//li/strong[text()='Distribution']")


def test_trend_table(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "trended.md"
    MarkdownRenderer().render(replace(report, trend=TREND), path)
    doc = _to_html(path)
    (table,) = doc.xpath("//h2[text()='Trend']/following-sibling::table[1]")
    assert table.xpath("./thead/tr/th/text()") == [
        "Scan", "Date", "Critical", "High", "Medium", "Low", "Unscored", "Open", "New", "Fixed",
    ]  # fmt: skip
    assert _rows(table)[2] == ["#13", "2026-11-15T08:00:00+00:00", "0", "3", "5", "0", "0", "8",
                               "0", "6"]  # fmt: skip
    assert "11 then 8 now; this scan 0 new, 6 fixed." in doc.text_content()
