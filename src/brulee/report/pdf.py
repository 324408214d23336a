"""PDF: the LaTeX report compiled by latexmk and pdfLaTeX in a throwaway, locked-down directory.

TeX runs without shell escape and with ``openin_any=p``/``openout_any=p``, so that even a
document that escaped its escaping could neither read nor write files outside its directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from brulee.core.report import Report
from brulee.errors import ReportError
from brulee.report.interface import Renderer
from brulee.report.latex import LatexRenderer

TIMEOUT = 300.0
"""Seconds latexmk may take before it is killed."""

INSTALL_HINT = (
    "PDF output needs latexmk and TeX Live: apt-get install latexmk texlive-latex-base "
    "texlive-latex-recommended texlive-latex-extra lmodern"
)


def tex_environment() -> dict[str, str]:
    """The process environment, with kpathsea's file access and shell escape locked down."""
    return {**os.environ, "openin_any": "p", "openout_any": "p", "shell_escape": "f"}


def _kept_log(tex: Path, pdf: Path, output: str) -> Path:
    """Save TeX's log and latexmk's output next to ``pdf``; return where."""
    log = tex.with_suffix(".log")
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    kept = pdf.with_name(pdf.name + ".log")
    kept.write_text(f"{text}\n--- latexmk output ---\n{output}", encoding="utf-8")
    return kept


def _first_error(log: Path) -> str:
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("! "):
            return line[2:].strip()[:120]
    return "no TeX error line"


def compile_tex(tex: Path, pdf: Path, timeout: float = TIMEOUT) -> None:
    """Compile ``tex`` in its own directory and move the PDF to ``pdf``.

    Raises ReportError when TeX is missing, fails or times out; its log is then kept next to
    ``pdf`` (as ``<name>.pdf.log``) and named in the message.
    """
    latexmk = shutil.which("latexmk")
    if latexmk is None or shutil.which("pdflatex") is None:
        raise ReportError(INSTALL_HINT)
    argv = [
        latexmk, "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
        "-norc", tex.name,
    ]  # fmt: skip
    with subprocess.Popen(
        argv,
        cwd=tex.parent,
        env=tex_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # so that a timeout kills pdflatex too
    ) as proc:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            kept = _kept_log(tex, pdf, output)
            raise ReportError(
                f"LaTeX did not finish the PDF report within {timeout:g} s; log kept at {kept}"
            ) from None
    built = tex.with_suffix(".pdf")
    if proc.returncode != 0 or not built.exists():
        kept = _kept_log(tex, pdf, output)
        raise ReportError(
            f"LaTeX failed to compile the PDF report ({_first_error(kept)}); log kept at {kept}"
        )
    try:
        shutil.move(built, pdf)
    except OSError as exc:
        raise ReportError(f"cannot write report {pdf}: {exc.strerror or exc}") from exc


class PdfRenderer(Renderer):
    """The LaTeX report, compiled to PDF."""

    extension = "pdf"

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout

    def render(self, report: Report, path: Path) -> None:
        if shutil.which("latexmk") is None:
            raise ReportError(INSTALL_HINT)
        with tempfile.TemporaryDirectory(prefix="brulee-pdf-") as tmp:
            tex = Path(tmp) / "report.tex"
            LatexRenderer().render(report, tex)
            compile_tex(tex, path, self.timeout)
