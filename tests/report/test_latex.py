"""LaTeX: golden file, the one escaping function, and the shape of the document."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from brulee.core.report import Report
from brulee.report.latex import LatexRenderer, tex_escape, tex_name, tex_url
from brulee.report.view.text import Raw
from tests.report.conftest import UBUNTU_EVIDENCE


@pytest.fixture
def tex(report: Report, tmp_path: Path) -> str:
    path = tmp_path / "report.tex"
    LatexRenderer().render(report, path)
    return path.read_text(encoding="utf-8")


def test_matches_golden(report: Report, tmp_path: Path, check_golden: Callable[..., None]) -> None:
    path = tmp_path / "report.tex"
    LatexRenderer().render(report, path)
    check_golden(path, "report.tex")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("\\", r"\textbackslash{}"),
        ("{}", r"\{\}"),
        ("$&#%", r"\$\&\bk{}\#\%"),
        ("^~", r"\textasciicircum{}\textasciitilde{}"),
        ("a_b", r"a\_\bk{}b"),
        ("<>", r"\textless{}\textgreater{}"),
        ("|", r"\textbar{}"),
        ("\"'`", r"\textquotedbl{}\textquotesingle{}\textasciigrave{}"),
        ("--x,,y", "-{}-x,{},y"),
        ("one\ntwo\tthree", "one two three"),
        ("café Ωmega 中", r"café \unichar{03A9}mega \unichar{4E2D}"),
        ("\x00\u202e", r"\unichar{FFFD}\unichar{FFFD}"),
        ("2.4.49", "2.4.49"),
        ("host.example", r"host.\bk{}example"),
        ("a" * 30, r"aaaaaaaa\bk{}aaaaaaaa\bk{}aaaaaaaa\bk{}aaaaaa"),
        (7, "7"),
        (9.5, "9.5"),
    ],
)
def test_escape(text: object, escaped: str) -> None:
    assert tex_escape(text) == escaped


def test_escape_leaves_no_active_character(hostile: str) -> None:
    """Remove every command the escaping may emit: no special character may be left."""
    printable = "".join(chr(c) for c in range(32, 127)) + hostile
    escaped = tex_escape(printable)
    commands = r"\\(?:text[a-z]+|bk)\{\}|\\unichar\{[0-9A-F]+\}|\\[{}$&#%_]|\{\}|\{[][]\}"
    residue = re.sub(commands, "", escaped)
    assert not set(residue) & set("\\{}$&#^_%~")
    assert r"\input" not in escaped


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("[dc1]", "{[}dc1{]}"), ("[2001:db8::1]:22", "{[}2001:\\bk{}db8:\\bk{}:\\bk{}1{]}:\\bk{}22"),
     ("*dc2", "{}*dc2"), ("a*b", "a*b")],
)  # fmt: skip
def test_a_row_break_cannot_read_a_cell_as_its_arguments(text: str, escaped: str) -> None:
    """``\\`` then ``[dc1]`` was read as a length (the PDF failed) and ``*`` vanished."""
    assert tex_escape(text) == escaped


def test_urls_and_names() -> None:
    assert tex_url("https://x.test/a%20b#c") == r"https://x.test/a\%20b\#c"
    assert tex_url("javascript:alert(1)") == ""
    assert tex_url("https://x.test/\\input{/etc/passwd}") == (
        r"https://x.test/\%5Cinput\%7B/etc/passwd\%7D"
    )
    assert tex_name("0a1b-2c}") == "0a1b2c"
    assert tex_escape(Raw(r"\textbf{x}")) == r"\textbf{x}"


def test_standalone_document(tex: str) -> None:
    assert tex.startswith(r"\documentclass[10pt,a4paper]{article}")
    assert tex.rstrip().endswith(r"\end{document}")
    for package in (r"[T1]{fontenc}", "{lmodern}", "{longtable", "{hyperref}", "{xcolor}"):
        assert package in tex
    assert "fontawesome" not in tex


def test_hostile_text_is_escaped(tex: str) -> None:
    assert r"\input" not in tex
    assert "<script>" not in tex
    assert "javascript" not in tex
    literal = (
        r"(\textbackslash{}input\{/\bk{}etc/\bk{}passwd\}\textless{}script\textgreater{}"
        r"alert(1)\textless{}/\bk{}script\textgreater{}=\bk{}cmd\textbar{}\bk{}"
        r"\textquotesingle{}/\bk{}C calc\textquotesingle{}!A0)"
    )
    assert tex.count(literal) >= 10


def test_content(tex: str) -> None:
    assert r"\href{https://nvd.nist.gov/vuln/detail/CVE-2021-41773}{CVE-2021-41773}" in tex
    assert "INCOMPLETE scan" in tex
    for status in ("unknown", "unchecked", "unversioned"):
        assert rf"\textbf{{Status: {status}}} --- NOT CHECKED" in tex
    assert "2001:\\bk{}db8:\\bk{}:\\bk{}5" in tex
    assert r"\textbf{Status: clean} --- checked: no known CVE applies to this version." in tex


def test_database_kev_epss_and_confidence(tex: str) -> None:
    assert "Vulnerability data & 2,299 CVEs, NVD data to 2024-03-17; CISA KEV" in tex
    assert r"\alerttotal{1}{known exploited (KEV)}" in tex
    assert r"\subsection*{Known exploited vulnerabilities (CISA KEV)}" in tex
    assert r"{CVE-2021-41773}}\newline\badge{ransomware} & 2021-11-03 & \badge{high}" in tex
    kev = r"\badge{kev}\newline{\footnotesize 2021-11-03}\newline\badge{ransomware} & \badge{high}"
    assert tex.count(kev + r" & 7.5 (v3.1) & 94.4\% (p99) & ") == 2  # Apache, EVIL
    assert r"& \badge{critical} & 9.8 (v3.1) & 12.3\% (p95) &" in tex
    assert r"& 0.040\% (p10) &" in tex
    # conditional: 33193 on Apache, 41773 on EVIL (in its table and in the KEV list)
    assert tex.count(r"\badge{conditional}") == 3
    assert tex.count(r"\textbf{\textcolor{c-conditional-ink}{Confidence: CONDITIONAL}}") == 2
    assert tex.count(r"\textbf{Confidence: certain}") == 3
    assert "CISA KEV: added 2021-11-03, remediation due 2021-11-17; known to be used in" in tex
    assert r"\textbf{EPSS}: FIRST" in tex  # the legend


def _service(tex: str, heading: str) -> str:
    """A service's section: from its heading to the next bookmark."""
    start = tex.index(r"{}" + heading + " ")
    return tex[start : tex.index(r"\pdfbookmark", start)]


def test_distribution_backports(tex: str, hostile: str) -> None:
    stretch = _service(tex, "2. OpenSSH 7.4p1 Debian 10+deb9u4")
    assert (
        r"{\small\fact{Distribution}{Debian stretch, package revision 10+deb9u4}"
        r"\textcolor{muted}{seen in version \textquotedbl{}7.4p1 Debian 10+deb9u4"
        r"\textquotedbl{}}\par}"
    ) in stretch
    assert (
        r"{\small\textbf{\textcolor{c-clean}{1}} fixed by the distribution\hspace{1.2em}"
        r"\textbf{\textcolor{c-vulnerable}{1}} still open\hspace{1.2em}"
        r"\textbf{\textcolor{c-unverified-backport-ink}{2}} unverified backport\par}"
    ) in stretch
    badge = r"\newline\badgeas{unverified-backport}{UNVERIFIED\\BACKPORT} & "
    assert stretch.count(badge) == 2
    assert stretch.count(r"{Confidence: UNVERIFIED BACKPORT}}") == 2
    assert (
        r"{\footnotesize\textbf{\textcolor{c-clean}{Remediation:}} upgrade the Debian stretch "
        r"package to 1:\bk{}7.4p1-10+deb9u5 or later (DSA-4387-1); this host runs "
        r"1:\bk{}7.4p1-10+deb9u4}\newline"
    ) in stretch
    # set aside after the vulnerability table, in a table of its own, never among the findings
    table, _, after = stretch.partition(r"\textbf{Fixed by the distribution {(}1)}")
    assert after
    assert "CVE-2018-15473" not in table
    assert (
        r"\textbf{\href{https://nvd.nist.gov/vuln/detail/CVE-2018-15473}{CVE-2018-15473}} & "
        r"DSA-4280-1 (2018-08-22): fixed in 1:\bk{}7.4p1-10+deb9u4; this host runs "
        r"1:\bk{}7.4p1-10+deb9u4 \\"
    ) in after
    assert r"\multicolumn{3}{@{}l}{\hd{Locations: 1}}" in after

    nginx = _service(tex, "4. nginx 1.14.0")
    evidence = tex_escape(UBUNTU_EVIDENCE)
    assert evidence.startswith(
        r"extrainfo \textquotedbl{}Ubuntu; Apache/\bk{}2.4.49 (\textbackslash{}input"
    )
    assert (
        rf"\fact{{Distribution}}{{Ubuntu}}\textcolor{{muted}}{{seen in {evidence}}}\par}}" in nginx
    )
    assert r"\textcolor{muted}{0} fixed by the distribution" in nginx
    assert nginx.count(r"\badgeas{unverified-backport}") == 2
    assert "Fixed by the distribution" not in nginx
    assert "Remediation" not in nginx


def test_summary_backport_totals_and_legend(tex: str) -> None:
    assert (
        r"{\small\textcolor{muted}{Distribution backports:}\hspace{1.2em}"
        r"\textbf{\textcolor{c-unverified-backport-ink}{4}} unverified backports (kept, among "
        r"the possible)\hspace{1.2em}\textbf{\textcolor{c-clean}{1}} fixed by the distribution "
        r"(set aside, not counted)\par}"
    ) in tex
    assert r"\total{3}{vulnerabilities}" in tex
    assert r"\total{7}{possible vulnerabilities}" in tex
    assert "UNVERIFIED BACKPORT: kept but uncertain" in tex
    assert r"\textbf{Distribution}: the distribution and package revision" in tex
