"""Renderers: the typed Report they all receive, the abstract Renderer, and the registry."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from brulee.findings import ServiceGroup
from brulee.model import ScanRun
from brulee.spool import HostRecord, Location, Spool
from brulee.targets import Shard
from brulee.vulns.interface import SEVERITIES, Severity, Status

if TYPE_CHECKING:  # history builds on reports: only the types flow back
    from brulee.history.diff import Changes
    from brulee.history.suppressions import Applied

SCHEMA_VERSION = "1.0"

# format name -> (module under brulee.report, class name, file extension)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "json": ("json", "JsonRenderer", "json"),
    "html": ("html", "HtmlRenderer", "html"),
    "md": ("markdown", "MarkdownRenderer", "md"),
    "tex": ("latex", "LatexRenderer", "tex"),
    "pdf": ("pdf", "PdfRenderer", "pdf"),
    "csv": ("csv", "CsvRenderer", "csv"),
    "sarif": ("sarif", "SarifRenderer", "sarif"),
}
FORMATS: tuple[str, ...] = tuple(_REGISTRY)
DEFAULT_FORMATS: tuple[str, ...] = ("json", "html")


@dataclass(frozen=True, slots=True)
class PartSummary:
    """One scan (usually one shard of one site) among those a merged report was built from."""

    source: str
    """The report it was read from (a path or an object URL)."""
    site: str
    shard: Shard | None
    started: str
    finished: str
    incomplete: bool
    """Its Nmap run was cut off: it covers only the hosts completed."""
    hosts_up: int
    hosts_down: int
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    nmap_version: str = ""
    database: str = ""
    database_date: str = ""
    generated: str = ""
    tool_version: str = ""

    @property
    def label(self) -> str:
        """``site dc1, shard 3/16``; the source when it has neither site nor shard."""
        words = [f"site {self.site}"] if self.site else []
        words += [f"shard {self.shard}"] if self.shard else []
        return ", ".join(words) or self.source


@dataclass(frozen=True, slots=True)
class MissingShard:
    """A shard of a site that no merged report covers."""

    site: str
    index: int
    count: int


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """What was scanned, how, and when; plus the tool that wrote the report."""

    run: ScanRun
    targets: tuple[str, ...]
    generated: str
    tool_version: str
    inputs: tuple[str, ...] = ()
    """Nmap XML files the report was built from."""
    warnings: tuple[str, ...] = ()
    database: str = ""
    """What the vulnerability data is (counts, dates, coverage); '' when none was used."""
    database_date: str = ""
    """How current the NVD data is (ISO 8601)."""
    shard: Shard | None = None
    """The slice of the targets this scan covered (``--shard I/N``), if any."""
    site: str = ""
    """A label for where the scan ran (``--site``), for fleet merges."""
    parts: tuple[PartSummary, ...] = ()
    """The scans a merged report (``brulee merge``) was built from; () for a single scan."""
    missing_shards: tuple[MissingShard, ...] = ()
    """Shards of a merged report's sites that none of its parts covers."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a renderer needs. Per-host data is streamed from the spool, in address order."""

    scan: ScanSummary
    services: tuple[ServiceGroup, ...]
    spool: Spool
    changes: Changes | None = None
    """What changed since the previous scan of the same scope (None: no previous scan)."""
    suppressed: Applied | None = None
    """What the suppression file took out of the main sections, and its expired entries."""
    history_id: int | None = None
    """This scan's id in the history store, when it was recorded."""

    def locations(self, group: ServiceGroup) -> Iterator[Location]:
        return self.spool.locations(group.key)

    def hosts(self) -> Iterator[HostRecord]:
        return self.spool.hosts()

    def severity_counts(self) -> dict[Severity, int]:
        """Distinct vulnerabilities per severity, over all services."""
        best: dict[str, Severity] = {}
        for group in self.services:
            for vuln in group.vulnerabilities:
                best.setdefault(vuln.id, vuln.severity)
        return {name: sum(1 for s in best.values() if s == name) for name in SEVERITIES}

    def status_counts(self) -> dict[Status, int]:
        counts: dict[Status, int] = {}
        for group in self.services:
            counts[group.status] = counts.get(group.status, 0) + 1
        return counts


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
