"""Renderers: the abstract Renderer every format implements, and the registry of formats."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path

from brulee.core.report import Report

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
