"""PDF: compiled for real by latexmk, read back with pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from brulee.core.report import PartSummary, Report
from brulee.core.scan import Host, Port, Service, Shard
from brulee.errors import ReportError
from brulee.findings.grouping import ServiceGrouper
from brulee.findings.spool import Spool
from brulee.report.latex import LatexRenderer
from brulee.report.pdf import INSTALL_HINT, PdfRenderer, compile_tex
from tests.report.conftest import (
    FIXED_REASON,
    OPENSSH,
    REMEDIATION,
    TREND,
    UBUNTU_EVIDENCE,
    UNCHECKED,
    UNKNOWN,
)

needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
    reason="latexmk or pdflatex is absent (apt-get install latexmk texlive-latex-extra lmodern)",
)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext is absent (apt-get install poppler-utils)"
)


def _text(pdf: Path, *options: str) -> str:
    return subprocess.run(
        ["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _squeezed(text: str) -> str:
    """Without whitespace: table cells may wrap a string anywhere TeX may break a line."""
    return re.sub(r"\s+", "", text)


def test_missing_latexmk_is_a_clear_error(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    target = tmp_path / "report.pdf"
    with pytest.raises(ReportError) as caught:
        PdfRenderer().render(report, target)
    assert str(caught.value) == INSTALL_HINT
    assert "\n" not in str(caught.value)
    assert "apt-get install" in str(caught.value)
    assert not target.exists()


@pytest.mark.tex
@needs_tex
@needs_poppler
def test_compiles_with_the_hostile_banner_as_literal_text(
    report: Report, tmp_path: Path, hostile: str
) -> None:
    target = tmp_path / "report.pdf"
    PdfRenderer().render(report, target)
    assert target.read_bytes().startswith(b"%PDF-")
    text = _text(target)
    if "root:x:0:0" in Path("/etc/passwd").read_text(encoding="utf-8", errors="replace"):
        assert "root:x:0:0" not in text
    assert "\\input{/etc/passwd}" in text
    assert re.search(r"in-\s*put", text) is None, "data must never be hyphenated"
    assert _squeezed(hostile) in _squeezed(text)
    for expected in (
        "Vulnerability report", "INCOMPLETE scan", "nmap stopped after 300 s", "45 days old",
        "CVE-2021-41773", "CVE-2021-33193", "CVE-2024-40898", "CRITICAL", "UNSCORED",
        "NOT CHECKED: no version was detected", "acme:snmp_agent is not in the vulnerability",
        "2001:db8::5", "161/udp", "Hosts",
        "Vulnerability data", "2,299 CVEs, NVD data to 2024-03-17; CISA KEV 2024.03.15",
        "Known exploited vulnerabilities (CISA KEV)", "known exploited (KEV)", "RANSOMWARE",
        "94.4% (p99)", "0.51% (p76)", "CISA KEV: added 2021-11-03, remediation due 2021-11-17",
        "Confidence: CONDITIONAL", "(not visible to the scan)",
        "Status: clean — checked: no known CVE applies to this version.",
        "Note: none of the 42 CVEs recorded for f5:nginx applies to 1.25.3",
    ):  # fmt: skip
        assert _squeezed(expected) in _squeezed(text), expected
    assert len(re.findall(r"^KEV$", text, re.MULTILINE)) >= 3  # the badges
    assert len(re.findall(r"\bCONDITIONAL\b", text)) >= 5  # legend, badges, confidence
    urls = subprocess.run(
        ["pdfinfo", "-url", str(target)], capture_output=True, text=True, check=True
    ).stdout
    assert "javascript" not in urls
    assert "https://nvd.nist.gov/vuln/detail/CVE-2021-41773" in urls
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.tex
@needs_tex
@needs_poppler
def test_distribution_backports(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    PdfRenderer().render(report, target)
    text = _text(target, "-layout")  # in reading order: the lines as laid out
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert (
        "Distribution backports: 4 unverified backports (kept, among the possible) "
        "1 fixed by the distribution (set aside, not counted)"
    ) in lines
    assert (
        'Distribution Debian stretch, package revision 10+deb9u4 seen in version "7.4p1 Debian '
        '10+deb9u4"'
    ) in lines
    assert "1 fixed by the distribution 1 still open 2 unverified backport" in lines
    assert "0 fixed by the distribution 0 still open 2 unverified backport" in lines
    assert (
        'Distribution Ubuntu, package revision 3ubuntu0.6 seen in extrainfo "Ubuntu 3ubuntu0.6"'
        in lines
    )
    assert "Fixed by the distribution (1) — set aside: not findings, not counted" in lines
    assert f"CVE-2018-15473 {FIXED_REASON}" in lines
    # markers: the stacked badge in the ID column (4) and the confidence in the details (4)
    assert len(re.findall(r"\bUNVERIFIED\s+BACKPORT\b", text)) >= 2 * 4 + 1  # + the legend
    assert text.count("Confidence: UNVERIFIED BACKPORT") == 4
    squeezed = _squeezed(text)
    assert _squeezed(f"Remediation: {REMEDIATION}") in squeezed
    assert _squeezed(f"Distribution Ubuntu seen in {UBUNTU_EVIDENCE}") in squeezed
    fixed_list = text.index("Fixed by the distribution (1)")
    assert text.index("CVE-2019-6111") < fixed_list < text.index("Locations: 1")
    assert text.count("CVE-2018-15473") == 1


@pytest.mark.tex
@needs_tex
@needs_poppler
def test_every_printable_character_survives(report: Report, tmp_path: Path) -> None:
    ascii_text = "".join(chr(c) for c in range(33, 127))
    extra = "café Straße Ørsted naïve €"
    group = report.services[0]
    odd = replace(group, service=replace(group.service, product=f"{ascii_text} {extra} 中"))
    target = tmp_path / "odd.pdf"
    PdfRenderer().render(replace(report, services=(odd, *report.services[1:])), target)
    text = _squeezed(_text(target))
    assert _squeezed(ascii_text) in text
    assert _squeezed(extra) in text
    assert "[U+4E2D]" in text


@pytest.mark.tex
@needs_tex
def test_tex_cannot_read_files_even_from_unescaped_input(tmp_path: Path) -> None:
    """Defence in depth: a raw \\input of /etc/passwd fails; the log is kept and named."""
    build = tmp_path / "build"
    build.mkdir()
    tex = build / "evil.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\input{/etc/passwd}\\end{document}\n")
    target = tmp_path / "evil.pdf"
    with pytest.raises(ReportError) as caught:
        compile_tex(tex, target)
    kept = tmp_path / "evil.pdf.log"
    assert str(caught.value).endswith(f"log kept at {kept}")
    assert "\n" not in str(caught.value)
    assert "Not reading from /etc/passwd (openin_any = p)" in kept.read_text()
    assert not target.exists()


@pytest.mark.tex
@needs_tex
def test_timeout_kills_latex(report: Report, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    with pytest.raises(ReportError, match=r"did not finish the PDF report within 0\.01 s"):
        PdfRenderer(timeout=0.01).render(report, target)
    assert not target.exists()
    assert (tmp_path / "report.pdf.log").exists()


def _part(site: str) -> PartSummary:
    return PartSummary(f"s3://b/{len(site)}/report.json", site, Shard(1, 1), "", "", False, 1, 0)


@pytest.mark.tex
@needs_tex
@needs_poppler
def test_cells_after_a_row_break_and_a_7000_port_host_compile(
    report: Report, tmp_path: Path
) -> None:
    """A cell starting with ``[`` after ``\\\\`` made LaTeX fail ("Missing number"); a host with
    7,000 open ports (a tarpit and ``-p-``) was one table row taller than a page: 69 of its
    ports were printed, the rest ran off the page."""
    tarpit = Service(name="http", product="tarpit")
    with Spool() as spool:
        grouper = ServiceGrouper(spool)
        grouper.add_host(Host("[dc1]", hostnames=("*dc2",)),
                         [(Port("tcp", 22, "open", "syn-ack", OPENSSH), UNCHECKED)])  # fmt: skip
        grouper.add_host(
            Host("192.0.2.99"),
            [(Port("tcp", p, "open", "syn-ack", tarpit), UNKNOWN) for p in range(1, 7001)],
        )
        scan = replace(report.scan, parts=(_part("[dc1]"), _part("*dc2")))
        target = tmp_path / "report.pdf"
        PdfRenderer().render(Report(scan=scan, services=grouper.groups(), spool=spool), target)
    text = _text(target)
    lines = text.splitlines()
    assert lines.count("[dc1]") >= 3  # the site, the host, its location
    assert lines.count("*dc2") >= 2  # the site, the hostname
    ports = [line for line in lines if re.fullmatch(r"\d+/tcp tarpit", line)]
    assert len(ports) == 7000 and ports[-1] == "7000/tcp tarpit"


@pytest.mark.tex
@needs_tex
@needs_poppler
def test_trend_chart_and_table(report: Report, tmp_path: Path) -> None:
    """The same chart as the HTML report (pgfplots: its legend and axis labels are text in the
    PDF), then its numbers; no trend section without a trend."""
    target = tmp_path / "report.pdf"
    PdfRenderer().render(replace(report, trend=TREND), target)
    text = _text(target, "-layout")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    start = lines.index("Trend")
    section = lines[start : lines.index("Services", start)]
    assert any("critical high medium" in line for line in section)  # the legend
    assert any("new fixed" in line for line in section)
    assert any(line.startswith("11-01 11-08 11-15") for line in section)  # the x axis
    assert any(line.startswith("#11 #12 #13") for line in section)
    assert "#13 2026-11-15 0 3 5 0 0 8 0 6" in section  # the table
    plain = tmp_path / "plain.tex"
    LatexRenderer().render(report, plain)
    assert "pgfplots" not in plain.read_text("utf-8")
