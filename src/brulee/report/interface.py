"""Renderers: the abstract Renderer every format implements, and the registry of formats."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from brulee.core.report import Report
from brulee.errors import ReportError
from brulee.util.files import atomic_path

# format name -> (module under brulee.report, class name, file extension)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "json": ("json", "JsonRenderer", "json"),
    "html": ("html", "HtmlRenderer", "html"),
    "md": ("markdown", "MarkdownRenderer", "md"),
    "tex": ("latex", "LatexRenderer", "tex"),
    "pdf": ("pdf", "PdfRenderer", "pdf"),
    "csv": ("csv", "CsvRenderer", "csv"),
    "sarif": ("sarif", "SarifRenderer", "sarif"),
    "defectdojo": ("defectdojo", "DefectDojoRenderer", "defectdojo.json"),
    "prometheus": ("prometheus", "PrometheusRenderer", "prom"),
    "openvex": ("openvex", "OpenVexRenderer", "openvex.json"),
}
FORMATS: tuple[str, ...] = tuple(_REGISTRY)
DEFAULT_FORMATS: tuple[str, ...] = ("json", "html")


class Renderer(ABC):
    """Writes one format. Escaping for that format is the renderer's job alone."""

    extension: str

    @abstractmethod
    def render(self, report: Report, path: Path) -> None:
        """Write the report to ``path``; raise ReportError when that is impossible."""


def renderer_for(name: str) -> Renderer:
    """The renderer for a format name; its module (and any optional dependency) loads now."""
    module_name, class_name, _ = _REGISTRY[name]
    module = importlib.import_module(f"brulee.report.{module_name}")
    renderer: Renderer = getattr(module, class_name)()
    return renderer


def extension_of(name: str) -> str:
    return _REGISTRY[name][2]


@contextmanager
def report_file(path: Path) -> Iterator[IO[str]]:
    """``path`` open for writing UTF-8 text (LF line ends, unencodable text replaced);
    ReportError naming it when it cannot be written."""
    try:
        with path.open("w", encoding="utf-8", errors="replace", newline="\n") as out:
            yield out
    except OSError as exc:
        raise ReportError(f"cannot write report {path}: {exc.strerror or exc}") from exc


def write_report(renderer: Renderer, report: Report, path: Path) -> None:
    """Render ``report`` to ``path`` through a private temporary file beside it, renamed over
    it once complete (:func:`brulee.util.files.atomic_path`): a symlink at ``path`` is
    replaced, never followed, and a failure leaves no partial file (a log the renderer kept,
    ``NAME.log``, is renamed after ``path``). ReportError naming ``path``
    when it cannot be written; other errors (HistoryError...) pass through."""
    try:
        with atomic_path(path) as part:
            try:
                renderer.render(report, part)
            except ReportError as exc:  # named the temporary file: name the report
                log = part.with_name(part.name + ".log")  # the PDF's TeX log, kept beside it
                if log.exists():
                    log.replace(path.with_name(path.name + ".log"))
                raise ReportError(str(exc).replace(str(part), str(path))) from exc
    except OSError as exc:
        raise ReportError(f"cannot write report {path}: {exc.strerror or exc}") from exc
