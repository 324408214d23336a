"""The fleet coverage section of a merged report (``brulee merge``), in every human format.

The merged report is the sample report with parts and missing shards: a site named with the
HOSTILE banner (shard 1/3 read, 2/3 interrupted with errors, 3/3 missing), a site with shards
2 and 5-7 of 8 missing, a complete site, and a part with neither site nor shard; sources are
bucket keys, one of them hostile, and one part's start time is hostile too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt
from playwright.sync_api import Browser, Page, sync_playwright

from brulee.core.report import MissingShard, PartSummary, Report
from brulee.core.scan import Shard
from brulee.findings.spool import Spool
from brulee.report.html import HtmlRenderer
from brulee.report.latex import LatexRenderer, tex_escape
from brulee.report.markdown import MarkdownRenderer
from brulee.report.pdf import PdfRenderer
from brulee.report.view.fleet import NO_SITE, source_root
from brulee.report.view.report import INCOMPLETE, build_view
from brulee.report.view.text import ranges_text, time_text
from tests.report.conftest import HOSTILE, build_report
from tests.report.test_html import CHROMIUM, CHROMIUM_ARGS

ROOT = "s3://fleet-results/2024-05-01/"
START = "2024-05-01T10:00:00+00:00"
END = "2024-05-01T10:20:00+00:00"


def _part(
    site: str, shard: Shard | None, key: str, *, incomplete: bool = False, **more: object
) -> PartSummary:
    fields: dict[str, object] = {
        "source": ROOT + key,
        "site": site,
        "shard": shard,
        "started": START,
        "finished": "" if incomplete else END,
        "incomplete": incomplete,
        "hosts_up": 12,
        "hosts_down": 3,
        **more,
    }
    return PartSummary(**fields)  # type: ignore[arg-type]


PARTS = (
    _part("", None, f"{HOSTILE}/report.json", started=HOSTILE),
    _part("dc-2", Shard(1, 2), "dc-2/1/report.json"),
    _part("dc-2", Shard(2, 2), "dc-2/2/report.json", errors=("nmap: 1 host timed out",)),
    _part("dc-3", Shard(1, 8), "dc-3/1/report.json"),
    _part("dc-3", Shard(3, 8), "dc-3/3/report.json"),
    _part("dc-3", Shard(4, 8), "dc-3/4/report.json"),
    _part("dc-3", Shard(8, 8), "dc-3/8/report.json"),
    _part(HOSTILE, Shard(1, 3), "h/1/report.json"),
    _part(HOSTILE, Shard(2, 3), "h/2/report.json", incomplete=True, errors=("a", "b")),
)
MISSING = (
    *(MissingShard("dc-3", i, 8) for i in (2, 5, 6, 7)),
    MissingShard(HOSTILE, 3, 3),
)
HOSTILE_LABEL = f"site {HOSTILE}, shard 2/3"


def merged_report(spool: Spool, parts: tuple[PartSummary, ...] = PARTS,
                  missing: tuple[MissingShard, ...] = MISSING) -> Report:  # fmt: skip
    """The sample report, as ``brulee merge`` would have written it from ``parts``."""
    report = build_report(spool)
    scan = replace(report.scan, inputs=(), targets=(), parts=parts, missing_shards=missing)
    return replace(report, scan=scan)


@pytest.fixture
def merged() -> Iterator[Report]:
    with Spool() as spool:
        yield merged_report(spool)


@pytest.fixture
def complete() -> Iterator[Report]:
    """Every shard read, none interrupted, and a run that finished."""
    with Spool() as spool:
        report = merged_report(spool, PARTS[1:3], ())
        run = replace(report.scan.run, incomplete=False, finished=END, errors=())
        yield replace(report, scan=replace(report.scan, run=run))


# ----------------------------------------------------------------------------------- view


def test_helpers() -> None:
    assert ranges_text([7, 2, 5, 6, 9, 10, 2]) == "2, 5-7, 9-10"
    assert ranges_text([]) == ""
    assert time_text("2024-05-01T12:00:05+02:00") == "2024-05-01 10:00:05Z"
    assert time_text("2024-05-01T12:00:05") == "2024-05-01 12:00:05"
    assert time_text(HOSTILE) == HOSTILE
    assert source_root(["s3://b/x/1/report.json", "s3://b/x/12/report.json"]) == "s3://b/x/"
    assert source_root(["/a/report.json"]) == "/a/"
    assert source_root(["a", "b"]) == ""
    assert source_root([]) == ""


def test_view_per_site_and_part(merged: Report) -> None:
    view = build_view(merged)
    fleet = view.fleet
    assert fleet is not None
    assert [(s.name, s.shards_text, s.missing_text, s.interrupted, s.with_errors, s.parts)
            for s in fleet.sites] == [
        (NO_SITE, "not sharded", "", (), 0, 1),
        (HOSTILE, "2 / 3", "3", ("2/3",), 1, 2),
        ("dc-2", "2 / 2", "", (), 1, 2),
        ("dc-3", "4 / 8", "2, 5-7", (), 0, 4),
    ]  # fmt: skip
    assert [s.complete for s in fleet.sites] == [True, False, True, False]
    assert [(m.site, m.shards, m.count, m.total) for m in fleet.missing] == [
        (f"site {HOSTILE}", "3", 1, 3),
        ("site dc-3", "2, 5-7", 4, 8),
    ]
    assert fleet.interrupted == ((f"site {HOSTILE}", "2/3"),)
    assert fleet.source_root == ROOT
    # every part and every missing shard, by site then shard
    rows = [(r.label, r.kind, r.status, r.source) for r in fleet.rows]
    assert rows[0] == (ROOT + f"{HOSTILE}/report.json", "complete", "complete",
                       f"{HOSTILE}/report.json")  # fmt: skip
    assert [r[0] for r in rows[1:]] == [
        f"site {HOSTILE}, shard 1/3", HOSTILE_LABEL, f"site {HOSTILE}, shard 3/3",
        "site dc-2, shard 1/2", "site dc-2, shard 2/2",
        *(f"site dc-3, shard {i}/8" for i in range(1, 9)),
    ]  # fmt: skip
    assert [r[1] for r in rows].count("missing") == 5
    assert rows[2][1:3] == ("incomplete", "INCOMPLETE (interrupted), 2 errors")
    assert rows[3] == (f"site {HOSTILE}, shard 3/3", "missing", "MISSING", "")
    assert rows[5][1:3] == ("errors", "1 error")
    assert rows[7] == ("site dc-3, shard 2/8", "missing", "MISSING", "")
    assert fleet.rows[0].started == HOSTILE
    assert fleet.rows[1].started == "2024-05-01 10:00:00Z"
    assert fleet.rows[2].finished == "not finished"
    assert (fleet.parts, fleet.expected, fleet.present, fleet.missing_count) == (9, 13, 8, 5)
    assert fleet.headline == ("9 parts, 4 sites: 8 of 13 shards present, 5 MISSING, 1 INTERRUPTED")
    assert view.incomplete
    assert view.incomplete_text.startswith(
        "INCOMPLETE fleet report: 5 of 13 shards are MISSING (at 2 sites) and 1 part was "
        "interrupted."
    )


def test_a_missing_shard_makes_the_report_incomplete_whatever_its_run_says(
    merged: Report,
) -> None:
    run = replace(merged.scan.run, incomplete=False, finished=END)
    view = build_view(replace(merged, scan=replace(merged.scan, run=run)))
    assert view.incomplete
    assert "MISSING" in view.incomplete_text


def test_complete_fleet_and_single_scan_views(complete: Report, report: Report) -> None:
    view = build_view(complete)
    assert view.fleet is not None
    assert view.fleet.complete
    assert not view.incomplete
    assert view.subtitle == "merged from 2 parts"
    assert view.fleet.headline == "2 parts, 1 site: 2 of 2 shards present, 0 MISSING, 0 interrupted"
    single = build_view(report)
    assert single.fleet is None
    assert single.incomplete_text == INCOMPLETE
    shard = build_view(replace(report, scan=replace(report.scan, shard=Shard(3, 16), site="dc1")))
    facts = dict(shard.facts)
    assert facts["Site"] == "dc1"
    assert facts["Shard"] == "3/16 (this report covers only that slice)"


# ----------------------------------------------------------------------------------- HTML


def _html(report: Report, path: Path) -> lxml.html.HtmlElement:
    HtmlRenderer().render(report, path)
    return lxml.html.fromstring(path.read_bytes())


def _text(element: lxml.html.HtmlElement) -> str:
    return " ".join(" ".join(element.xpath(".//text()")).split())


def test_html_section(merged: Report, tmp_path: Path) -> None:
    doc = _html(merged, tmp_path / "report.html")
    assert _text(doc.get_element_by_id("incomplete")).startswith("INCOMPLETE fleet report: 5 of")
    (fleet,) = doc.xpath("//section[@id='fleet']")
    assert fleet.get("class") == "card alert"
    # after the summary and known exploited list (the banner says it first), before services
    assert fleet.getprevious().get("id") == "kev"
    assert fleet.getnext().get("id") == "services"
    missing = fleet.get_element_by_id("missing-shards")
    assert _text(missing).startswith("MISSING: 5 shards")
    assert [li.text_content() for li in missing.xpath(".//li")] == [
        f"site {HOSTILE}: shard 3 of 3",
        "site dc-3: shards 2, 5-7 of 8",
    ]
    (li,) = fleet.get_element_by_id("interrupted-parts").xpath(".//li")
    assert li.text_content() == f"site {HOSTILE}: 2/3"
    sites = [[_text(td) for td in tr.xpath("./td")]
             for tr in fleet.xpath(".//table[@class='sites']/tbody/tr")]  # fmt: skip
    assert sites[1] == [HOSTILE, "missing shards", "2 / 3", "3", "2/3", "1", "2"]
    assert sites[3] == ["dc-3", "missing shards", "4 / 8", "2, 5-7", "", "", "4"]
    (details,) = fleet.xpath(".//details[@id='fleet-parts']")
    assert details.get("open") is not None
    assert _text(details.find("summary")) == (
        "Parts: 9 reports read, 5 shards MISSING, 1 interrupted, 2 with errors"
    )
    assert _text(details.xpath(".//p[@class='root']")[0]) == f"Sources under {ROOT}"
    rows = details.xpath(".//table[@class='parts']/tbody/tr")
    assert len(rows) == len(PARTS) + len(MISSING)
    assert [r.get("class") for r in rows].count("missing") == 5
    gap = rows[7]
    assert gap.get("class") == "missing"
    assert [_text(td) for td in gap.xpath("./td")] == [
        "site dc-3, shard 2/8", "", "", "", "", "MISSING", ""
    ]  # fmt: skip
    assert gap.xpath("./td/span[@class='badge c-vulnerable']")
    (cut,) = [r for r in rows if r.get("class") == "incomplete"]
    assert [_text(td) for td in cut.xpath("./td")] == [
        HOSTILE_LABEL, "2024-05-01 10:00:00Z", "not finished", "12", "3",
        "INCOMPLETE (interrupted), 2 errors", "h/2/report.json",
    ]  # fmt: skip


def test_html_hostile_labels_and_sources_stay_text(merged: Report, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    doc = _html(merged, path)
    raw = path.read_text(encoding="utf-8")
    assert "<script>alert" not in raw
    assert len(doc.xpath("//script")) == 1
    assert doc.xpath("//@style | //@*[starts-with(name(), 'on')]") == []
    fleet = doc.get_element_by_id("fleet")
    cells = {_text(td) for td in fleet.xpath(".//td")}
    assert {HOSTILE, HOSTILE_LABEL, f"{HOSTILE}/report.json"} <= cells
    assert fleet.xpath(".//td[@class='date'][text()=$h]", h=HOSTILE)  # the hostile start time
    assert fleet.xpath(".//li/strong[text()=$h]", h=f"site {HOSTILE}")


def test_html_complete_fleet_is_collapsed_and_calm(complete: Report, tmp_path: Path) -> None:
    doc = _html(complete, tmp_path / "report.html")
    assert not doc.xpath("//*[@id='incomplete']")
    fleet = doc.get_element_by_id("fleet")
    assert fleet.get("class") == "card"
    assert not fleet.xpath(".//*[@id='missing-shards' or @id='interrupted-parts']")
    assert fleet.xpath(".//details")[0].get("open") is None
    assert [_text(td) for td in fleet.xpath(".//table[@class='sites']/tbody/tr/td")][:3] == [
        "dc-2", "complete", "2 / 2"
    ]  # fmt: skip


def test_html_single_scan_has_no_fleet_section(report: Report, tmp_path: Path) -> None:
    assert not _html(report, tmp_path / "report.html").xpath("//*[@id='fleet']")


def test_html_a_thousand_parts_stay_compact(tmp_path: Path) -> None:
    parts = tuple(_part("dc-1", Shard(i, 1000), f"dc-1/{i:04}/report.json")
                  for i in range(1, 1001))  # fmt: skip
    with Spool() as spool:
        doc = _html(merged_report(spool, parts, ()), tmp_path / "report.html")
    fleet = doc.get_element_by_id("fleet")
    assert len(fleet.xpath(".//table[@class='sites']/tbody/tr")) == 1
    (details,) = fleet.xpath(".//details")
    assert details.get("open") is None  # complete: folded away
    rows = details.xpath(".//div[@class='scroll']/table/tbody/tr")
    assert len(rows) == 1000
    assert _text(rows[-1].xpath("./td")[-1]) == "1000/report.json"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser: Browser, path: Path, javascript: bool, errors: list[str]) -> Page:
    context = browser.new_context(java_script_enabled=javascript)
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
    )
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri(), wait_until="load")
    return page


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [False, True], ids=["js-off", "js-on"])
def test_missing_shards_are_visible_in_chromium(
    browser: Browser, merged: Report, tmp_path: Path, javascript: bool
) -> None:
    path = tmp_path / "report.html"
    HtmlRenderer().render(merged, path)
    errors: list[str] = []
    page = _open(browser, path, javascript, errors)
    try:
        assert page.locator("#incomplete").is_visible()
        assert "5 of 13 shards are MISSING" in page.locator("#incomplete").inner_text()
        missing = page.locator("#missing-shards")
        assert missing.is_visible()
        assert "site dc-3: shards 2, 5-7 of 8" in missing.inner_text()
        rows = page.locator("table.parts tbody tr.missing")
        assert rows.count() == 5
        assert all(row.is_visible() for row in rows.all())  # the details are open
        assert page.locator("table.parts tr.incomplete").is_visible()
        assert HOSTILE_LABEL in page.locator("table.parts").inner_text()
        colour = page.eval_on_selector(
            "table.parts tr.missing td", "e => getComputedStyle(e).backgroundColor"
        )
        assert colour == "rgb(253, 236, 236)"  # the stylesheet applied, under the CSP
        page.click("#fleet-parts > summary")  # folds with JavaScript off too
        assert not rows.first.is_visible()
        assert errors == []
    finally:
        page.context.close()


# ------------------------------------------------------------------------------- Markdown


def _markdown(report: Report, path: Path) -> lxml.html.HtmlElement:
    MarkdownRenderer().render(report, path)
    parser = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    return lxml.html.fromstring(f"<div>{parser.render(path.read_text(encoding='utf-8'))}</div>")


def _rows(table: lxml.html.HtmlElement) -> list[list[str]]:
    return [[_text(td) for td in tr.xpath("./td")] for tr in table.xpath("./tbody/tr")]


def _fleet(doc: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    (h2,) = doc.xpath("//h2[text()='Fleet coverage']")
    found = []
    for element in h2.itersiblings():
        if element.tag == "h2":
            assert element.text == "Services"
            break
        found.append(element)
    return found


def test_markdown_section(merged: Report, tmp_path: Path) -> None:
    doc = _markdown(merged, tmp_path / "report.md")
    assert doc.xpath("//script | //img | //iframe") == []
    section = _fleet(doc)
    assert _text(section[0]) == (
        "9 parts, 4 sites: 8 of 13 shards present, 5 MISSING, 1 INTERRUPTED"
    )
    caution, interrupted = [e for e in section if e.tag == "blockquote"]
    assert caution.text_content().split()[:6] == [
        "[!CAUTION]",
        "MISSING:",
        "5",
        "shards:",
        "no",
        "report",
    ]
    assert [li.text_content() for li in caution.xpath(".//li")] == [
        f"site {HOSTILE}: shard 3 of 3", "site dc-3: shards 2, 5-7 of 8"
    ]  # fmt: skip
    assert caution.xpath(".//li/strong[text()=$s]", s=f"site {HOSTILE}")
    assert _text(interrupted).startswith("[!WARNING] INTERRUPTED: 1 part")
    sites, parts = [e for e in section if e.tag == "table"]
    for table in (sites, parts):
        width = len(table.xpath("./thead/tr/th"))
        assert all(len(tr.xpath("./td")) == width for tr in table.xpath("./tbody/tr"))
    assert _rows(sites)[1] == [HOSTILE, "MISSING SHARDS", "2 / 3", "3", "2/3", "1", "2"]
    assert sites.xpath(".//td/strong[text()='2, 5-7']")
    rows = _rows(parts)
    assert len(rows) == len(PARTS) + len(MISSING)
    assert rows[0][:2] == [ROOT + f"{HOSTILE}/report.json", HOSTILE]
    assert rows[0][6] == f"{HOSTILE}/report.json"
    assert rows[7] == ["site dc-3, shard 2/8", "", "", "", "", "MISSING", ""]
    assert rows[2][0] == HOSTILE_LABEL
    assert rows[2][5] == "INCOMPLETE (interrupted), 2 errors"
    assert len(parts.xpath(".//td/strong[text()='MISSING']")) == 5
    (intro,) = [e for e in section if e.tag == "p" and e.text_content().startswith("Parts:")]
    assert intro.text_content().endswith(f"sources under {ROOT}")


def test_markdown_single_scan_has_no_fleet_section(report: Report, tmp_path: Path) -> None:
    assert not _markdown(report, tmp_path / "report.md").xpath("//h2[text()='Fleet coverage']")


# ---------------------------------------------------------------------------------- LaTeX


def _tex(report: Report, path: Path) -> str:
    LatexRenderer().render(report, path)
    return path.read_text(encoding="utf-8")


def test_tex_section(merged: Report, tmp_path: Path) -> None:
    tex = _tex(merged, tmp_path / "report.tex")
    assert r"\input{" not in tex
    assert "<script>" not in tex
    start = tex.index(r"\section*{Fleet coverage}")
    section = tex[start : tex.index(r"\section*{Services}")]
    assert tex.index(r"\subsection*{Known exploited vulnerabilities (CISA KEV)}") < start
    assert section.count(r"\rowcolor{errorbg}") == 5
    assert section.count(r"\rowcolor{noticebg}") == 1
    assert section.count(r"\textbf{\textcolor{c-vulnerable}{MISSING}}") == 5
    assert "MISSING: 5 shards ---" in section
    assert r"\textbf{site dc-3}: shards 2, 5-7 of 8\par}" in section
    hostile = tex_escape(HOSTILE)
    assert rf"\textbf{{site {hostile}}}: shard 3 of 3\par}}" in section
    assert rf"{hostile} & \badgeas{{vulnerable}}{{MISSING SHARDS}} & 2 / 3 & " in section
    assert rf"{tex_escape(HOSTILE_LABEL)} & " in section
    assert rf"& {tex_escape(HOSTILE + '/report.json')} \\" in section
    assert section.count(hostile) >= 8


def test_tex_single_scan_has_no_fleet_section(report: Report, tmp_path: Path) -> None:
    assert "Fleet coverage" not in _tex(report, tmp_path / "report.tex")


needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdftotext") is None,
    reason="latexmk or pdftotext is absent",
)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.tex
@needs_tex
def test_pdf_section(merged: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    PdfRenderer().render(merged, target)
    text = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(target), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "INCOMPLETE fleet report: 5 of 13 shards are MISSING (at 2 sites) and 1 part was" in (
        " ".join(lines)
    )
    assert "Fleet coverage" in lines
    assert "9 parts, 4 sites: 8 of 13 shards present, 5 MISSING, 1 INTERRUPTED" in lines
    assert any(line.startswith("MISSING: 5 shards — no report was read") for line in lines)
    assert "• site dc-3: shards 2, 5-7 of 8" in lines
    parts = "Parts: 9 reports read, 5 shards MISSING, 1 interrupted, 2 with errors"
    assert f"{parts}; sources under {ROOT}" in lines
    assert sum(line.startswith("site dc-3, shard") for line in lines) == 8
    assert sum(line.endswith("MISSING") for line in lines) == 5
    # cells wrap: compare without whitespace, each cell's text in one piece (-raw)
    squeezed = _squeezed(subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(target), "-"],
        capture_output=True, text=True, check=True,
    ).stdout)  # fmt: skip
    for hostile in (f"site {HOSTILE}: shard 3 of 3", f"{HOSTILE}/report.json", HOSTILE_LABEL):
        assert _squeezed(hostile) in squeezed, hostile
    # after the summary and known exploited list (the banner says it first), before services
    fleet = text.index("\nFleet coverage\n")
    assert text.index("Known exploited vulnerabilities (CISA") < fleet < text.index("\nServices\n")
