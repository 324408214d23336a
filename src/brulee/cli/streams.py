"""Where a command's reports go (a directory, a bucket, one file, standard output) and what it
reads from standard input (``-iL -``, ``brulee report -``).

Reports are always rendered into a directory. For one file or standard output that directory is
a scratch one (beside the file, so that the file is moved into place in one rename; in the
system's temporary directory for standard output), removed once the report is delivered. Every
message goes to standard error, so that ``-o -`` leaves nothing but the report on standard output.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from brulee.errors import OutputError, TargetError, UsageError
from brulee.outputs import Sink, sink_from_url
from brulee.pipeline import Written, make_output_dir
from brulee.report.interface import FORMATS, extension_of
from brulee.scan.targets import MAX_TARGET_LIST_BYTES, Spec, parse_target_lines
from brulee.util.files import size_text

log = logging.getLogger(__name__)
STDIO = "-"
MAX_STDIN_XML = 1 << 30
"""Largest Nmap XML read from standard input (bytes)."""
STDOUT_NAME = Path("<standard output>")
"""How the report written to standard output is named in the summary."""
_CHUNK = 1 << 20


def _suffix(fmt: str) -> str:
    """The last part of a format's file extension: ``json`` for ``defectdojo.json``."""
    return extension_of(fmt).rsplit(".", 1)[-1]


def _format_of(name: str) -> str | None:
    """The format a file name asks for by its extension (``report.sarif`` -> sarif), or None."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name.lstrip(".") else ""
    return next((f for f in FORMATS if _suffix(f) == suffix), None)


@dataclass(frozen=True, slots=True)
class Output:
    """Where a command renders its reports, and where they go from there."""

    directory: Path
    """The directory the reports (and a scan's nmap/ XML) are written to."""
    formats: tuple[str, ...]
    sink: Sink | None = None
    """A bucket that receives the directory."""
    file: Path | None = None
    """The one report's destination: the directory is a scratch one."""
    stdout: bool = False
    """The one report goes to standard output: the directory is a scratch one."""

    @property
    def scratch(self) -> bool:
        return self.stdout or self.file is not None

    @property
    def location(self) -> str:
        """Where the history says the reports went: the file, standard output, or '' (the
        directory)."""
        return str(self.file or (STDOUT_NAME if self.stdout else ""))

    def deliver(self, written: Written, out: BinaryIO | None = None) -> Written:
        """Move the one report to its file or copy it to standard output (``out``), then remove
        the scratch directory; ``written`` as the user sees it. A no-op for a directory."""
        if not self.scratch:
            return written
        sent = self._send(out)
        shutil.rmtree(self.directory, ignore_errors=True)
        return replace(written, files=(sent,) if sent else ())

    def salvage(self, out: BinaryIO | None = None) -> None:
        """After a failure: deliver the one report if it was written (partial results are data);
        the scratch directory stays if anything is left in it (the raw Nmap XML the error may
        point to), named in a warning."""
        if not self.scratch:
            return
        self._send(out)
        if any(self.directory.iterdir()):
            log.warning("working files kept in %s", self.directory)
        else:  # refused before anything was written
            self.directory.rmdir()

    def _send(self, out: BinaryIO | None) -> Path | None:
        (fmt,) = self.formats
        report = self.directory / f"report.{extension_of(fmt)}"
        if not report.is_file():
            return None
        try:
            if self.file is not None:
                report.replace(self.file)
            else:
                target = out or sys.stdout.buffer
                with report.open("rb") as source:
                    shutil.copyfileobj(source, target, _CHUNK)
                target.flush()
        except OSError as exc:
            where = self.file or "standard output"
            raise OutputError(f"cannot write {where}: {exc.strerror or exc}") from exc
        return self.file or STDOUT_NAME


def resolve_output(
    text: str | None,
    formats: tuple[str, ...],
    *,
    chosen: bool,
    default: Callable[[], Path],
    endpoint_url: str | None = None,
) -> Output:
    """Read ``-o``: ``-`` (standard output), ``FILE.EXT`` (one report), a directory or a bucket
    prefix; ``default()`` (which creates a directory of its own) when absent. ``chosen``: the
    formats were given (else a file's extension, or JSON for standard output, picks the one
    format). UsageError when one file is asked for with several formats or a format its
    extension contradicts."""
    if not text:
        return Output(default(), formats)
    sink = sink_from_url(text, endpoint_url=endpoint_url)
    if sink is not None:  # a local copy first, kept if the upload fails
        return Output(default(), formats, sink=sink)
    if text == STDIO:
        one = _one_format(formats, chosen, "json", "-o - writes one report to standard output")
        scratch = Path(tempfile.mkdtemp(prefix="brulee-"))
        return Output(scratch, one, stdout=True)
    path = Path(text)
    wanted = _format_of(path.name)
    if text.endswith(("/", "\\")) or path.is_dir() or wanted is None:
        return Output(path, formats)
    one = _one_format(formats, chosen, wanted, f"-o {text} writes one report")
    if _suffix(one[0]) != _suffix(wanted):
        raise UsageError(
            f"-o {text} is a .{_suffix(wanted)} file but the format is {one[0]}: "
            f"name it *.{_suffix(one[0])} or use -f {wanted}"
        )
    parent = make_output_dir(path.parent)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".brulee-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write in {parent}: {exc.strerror}") from exc
    return Output(scratch, one, file=path)


def _one_format(formats: tuple[str, ...], chosen: bool, fallback: str, what: str) -> tuple[str]:
    if not chosen:
        return (fallback,)
    if len(formats) != 1:
        raise UsageError(f"{what}: choose one format (-f {formats[0]}), not {','.join(formats)}")
    return (formats[0],)


def _stdin(stream: BinaryIO | None, what: str) -> BinaryIO:
    """``stream``, else standard input; UsageError when that is a terminal (nothing was piped:
    brulee would wait for typing)."""
    if stream is not None:
        return stream
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"- reads {what} from standard input, but nothing is piped into brulee")
    return sys.stdin.buffer


def read_stdin(limit: int, what: str, stream: BinaryIO | None = None) -> bytes:
    """All of standard input (``stream``), at most ``limit`` bytes; UsageError beyond that."""
    data = _stdin(stream, what).read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{what} on standard input is larger than {size_text(limit)}")
    return data


def stdin_targets(stream: BinaryIO | None = None) -> list[Spec]:
    """``-iL -``: the targets listed on standard input, one per line."""
    data = read_stdin(MAX_TARGET_LIST_BYTES, "the target list", stream)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TargetError(f"the target list on standard input is not UTF-8: {exc}") from exc
    return parse_target_lines(text, "<stdin>")


def stdin_xml(directory: Path, stream: BinaryIO | None = None, limit: int = MAX_STDIN_XML) -> Path:
    """``brulee report -``: the Nmap XML on standard input, kept as ``directory/nmap/stdin.xml``
    (the raw XML beside the reports, as a scan keeps it)."""
    target = make_output_dir(directory / "nmap") / "stdin.xml"
    source = _stdin(stream, "the Nmap XML")
    written = 0
    try:
        with target.open("wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UsageError(f"the Nmap XML on standard input is larger than {limit} bytes")
                out.write(chunk)
    except OSError as exc:
        raise OutputError(f"cannot keep standard input in {target}: {exc.strerror}") from exc
    return target
