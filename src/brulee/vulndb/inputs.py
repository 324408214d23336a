"""Reading import files: plain, gzip- or bzip2-compressed, hashed and counted as they are read,
and recognised by their content."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from brulee.util.boundedjson import events
from brulee.vulndb.files import Readable
from brulee.vulndb.importers.base import JSON_DEPTH, Malformed
from brulee.vulndb.importers.debian_lists import SNIFF_ADVISORY, SNIFF_CPE_ALIAS, SNIFF_CPE_LIST
from brulee.vulndb.importers.nvd import NvdShape
from brulee.vulndb.importers.ubuntu_oval import SNIFF_OVAL

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Shape = NvdShape | Literal["kev", "epss", "debian-dsa", "debian-dla", "debian-cpe",
                           "debian-cpe-aliases", "ubuntu-oval"]  # fmt: skip
"""What a file holds, as :func:`sniff` recognises it."""

_GZIP_MAGIC = b"\x1f\x8b"
_BZIP2_MAGIC = b"BZh"
_CHUNK = 1 << 16
_SCALARS = frozenset({"string", "number", "boolean", "null"})
_HEADER_FIELD = 1 << 10
"""Longest top-level text field kept (a date, a version, a title)."""
_EXPECTED = (
    "expected an NVD 2.0 feed or API page, a CVE record, the CISA KEV catalog, an EPSS CSV, a "
    "Debian security tracker file (DSA or DLA list, CPE list, CPE aliases) or Canonical's Ubuntu "
    "CVE OVAL (com.ubuntu.RELEASE.cve.oval.xml)"
)


class _Counted(io.RawIOBase):
    """A reader that hashes and counts the bytes passing through it."""

    def __init__(self, stream: Readable) -> None:
        super().__init__()
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._stream.read(len(view))
        view[: len(data)] = data
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


@dataclass(frozen=True, slots=True)
class Input:
    """An open input file: ``content`` is the decompressed byte stream."""

    content: io.BufferedReader
    file: _Counted
    data: _Counted

    def finish(self) -> tuple[str, int, str, int]:
        """Read to the end; return sha256 and size of the file and of its content."""
        while self.content.read(_CHUNK):
            pass
        while self.file.read(_CHUNK):
            pass
        return (
            self.file.sha256.hexdigest(),
            self.file.size,
            self.data.sha256.hexdigest(),
            self.data.size,
        )


@contextlib.contextmanager
def open_input(path: Path) -> Iterator[Input]:
    """Open ``path``, decompressing it if it is gzip or bzip2; Malformed if named .gz or .bz2
    and it is not so compressed."""
    with path.open("rb") as raw:
        head = raw.peek(3)[:3]
        is_gzip, is_bzip2 = head[:2] == _GZIP_MAGIC, head == _BZIP2_MAGIC
        if path.name.endswith(".gz") and not is_gzip:
            raise Malformed("named .gz but not gzip-compressed")
        if path.name.endswith(".bz2") and not is_bzip2:
            raise Malformed("named .bz2 but not bzip2-compressed")
        file = _Counted(raw)
        data = file
        if is_gzip:
            data = _Counted(gzip.GzipFile(fileobj=file, mode="rb"))
        elif is_bzip2:
            data = _Counted(bz2.BZ2File(file, mode="rb"))
        yield Input(io.BufferedReader(data, _CHUNK), file, data)


def sniff(path: Path) -> tuple[Shape, dict[str, Any]]:
    """Recognise a file by its content; return its shape and top-level header fields."""
    with open_input(path) as source:
        debian = _sniff_debian(source.content.peek(_CHUNK)[:_CHUNK])
        if debian:
            return debian, {}
        head = source.content.peek(64).lstrip()
        if head.startswith(b"{"):
            return _sniff_json(source.content)
        if head.startswith((b"#", b"cve,", b"CVE-")):
            return "epss", {}
        if head.startswith(b"<") and SNIFF_OVAL.search(source.content.peek(_CHUNK)[:_CHUNK]):
            return "ubuntu-oval", {}
    if not head:
        raise Malformed("empty file")
    raise Malformed(
        f"not a JSON object, an EPSS CSV, a Debian tracker list or an OVAL file; {_EXPECTED}"
    )


def _sniff_debian(head: bytes) -> Shape | None:
    """A Debian tracker file by its first line that is neither blank nor a ``#`` comment."""
    for raw in head.splitlines():
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        if advisory := SNIFF_ADVISORY.match(line):
            return "debian-dsa" if advisory[1] == b"DSA" else "debian-dla"
        if SNIFF_CPE_LIST.match(line):
            return "debian-cpe"
        if SNIFF_CPE_ALIAS.match(line):
            return "debian-cpe-aliases"
        return None
    return None


def _sniff_json(stream: IO[bytes]) -> tuple[Shape, dict[str, Any]]:
    """The shape of a JSON file by its first record, and its top-level scalars read before it."""
    header: dict[str, Any] = {}
    key = ""
    for depth, event, value in events(stream, max_depth=JSON_DEPTH):
        if depth == 1:
            if event == "map_key":
                key = value
                if key in ("cve", "id"):
                    return ("nvd-record" if key == "cve" else "nvd-cve"), header
            elif event in _SCALARS:
                if isinstance(value, str) and len(value) > _HEADER_FIELD:
                    raise Malformed(f"the top-level field {key!r} is too long")
                header[key] = value
            elif event == "end_array" and key == "vulnerabilities":
                return _empty_list_shape(header), header
        elif depth == 3 and key == "vulnerabilities" and event == "map_key":
            return ("nvd" if value == "cve" else "kev"), header
    raise Malformed(f"JSON without CVE records; {_EXPECTED}")


def _empty_list_shape(header: Mapping[str, Any]) -> Shape:
    if "catalogVersion" in header:
        return "kev"
    if header.get("format") == "NVD_CVE":
        return "nvd"
    raise Malformed("an empty `vulnerabilities` list in neither an NVD nor a KEV file")
