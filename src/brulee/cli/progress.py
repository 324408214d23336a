"""One live progress display on standard error, for whatever takes time.

The stages report ``(label, done, total)``: ``"download NAME"`` in bytes (total when known),
``"import NAME"`` in records, ``"fetch NAME"`` in CVEs (the NVD API), ``"read reports"`` in
reports (merge). The current label is one line: a bar when the total is known, the amount, and
for downloads the rate. Off with ``--no-progress`` or ``--quiet``, or when standard error is not
a terminal (CI logs, cron mail, a pipe): then nothing is drawn and the callback costs nothing.
"""

from __future__ import annotations

import argparse
from types import TracebackType
from typing import Self

from rich import filesize
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

_UNITS = {"download": "bytes", "import": "records", "fetch": "CVEs", "read": "reports"}


def add_no_progress(parser: argparse.ArgumentParser) -> None:
    """The ``--no-progress`` option."""
    parser.add_argument(
        "--no-progress", action="store_true",
        help="no progress display (none either when stderr is not a terminal)",
    )  # fmt: skip


def progress_wanted(args: argparse.Namespace, console: Console) -> bool:
    """Draw progress: stderr is a terminal and neither --no-progress nor --quiet was given."""
    quiet = getattr(args, "quiet", False) or getattr(args, "no_progress", False)
    return console.is_terminal and not quiet


def amount_text(unit: str, done: float, total: float | None, speed: float | None) -> str:
    """``3.2/40.0 MB · 1.1 MB/s`` for bytes, ``120,000 records`` (``/ 300,000``) for counts."""
    if unit == "bytes":
        text = filesize.decimal(int(done))
        if total:
            text = f"{text} of {filesize.decimal(int(total))}"
        return text + (f" · {filesize.decimal(int(speed))}/s" if speed else "")
    return f"{int(done):,}" + (f" of {int(total):,}" if total else "") + f" {unit}"


class _Amount(ProgressColumn):
    def render(self, task: Task) -> Text:
        unit = str(task.fields.get("unit", ""))
        return Text(amount_text(unit, task.completed, task.total, task.speed))


class Activity:
    """The progress callback of downloads, imports and merges, drawn with rich on ``console``;
    a context manager that clears the display at its end. Disabled, it does nothing."""

    def __init__(self, console: Console, enabled: bool) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), _Amount(), TimeElapsedColumn(),
            console=console, transient=True,
        ) if enabled else None  # fmt: skip
        self._current: tuple[str, TaskID] | None = None

    def __call__(self, label: str, done: int, total: int | None) -> None:
        """``label``'s progress: ``done`` of ``total`` (None: unknown). The stages do one thing
        at a time: a new label replaces the line of the previous one."""
        bar = self._bar
        if bar is None:
            return
        if self._current is None or self._current[0] != label:
            if self._current is not None:
                bar.remove_task(self._current[1])
            unit = _UNITS.get(label.split(" ", 1)[0], "")
            task = bar.add_task(label, total=total, completed=done, unit=unit)
            self._current = (label, task)
        bar.update(self._current[1], completed=done, total=total)

    def records(self, name: str, count: int) -> None:
        """The importers' callback: ``count`` records of ``name`` read so far."""
        self(f"import {name}", count, None)

    def __enter__(self) -> Self:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
