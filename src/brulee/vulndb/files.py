"""File helpers of updates, mirrors and exports: ``.part`` names, directories, atomic writes and
the sha256 of what is read."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Protocol

from brulee.errors import DatabaseError
from brulee.util.files import atomic_path

_CHUNK = 1 << 16


class Readable(Protocol):
    """A binary stream to read from (a file, a ``GzipFile``, a tar member...)."""

    def read(self, size: int = -1, /) -> bytes: ...


def part_path(target: Path) -> Path:
    """Where ``target`` is written before it is complete: ``.NAME.part`` beside it."""
    return target.with_name(f".{target.name}.part")


def make_dir(directory: Path) -> None:
    """Create ``directory`` and its parents; DatabaseError if it cannot be."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"cannot create {directory}: {exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it (see ``atomic_path``)."""
    with atomic_path(path) as part:
        part.write_bytes(data)


def read_hashed(
    stream: Readable, copy: IO[bytes] | None = None, head: bytes = b""
) -> tuple[str, int]:
    """Read ``stream`` to its end, writing it to ``copy`` if given; return its sha256 (lowercase
    hex) and size. ``head``: bytes already read from ``stream``, counted (and copied) first."""
    digest = hashlib.sha256(head)
    size = len(head)
    if copy is not None:
        copy.write(head)
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if copy is not None:
            copy.write(chunk)
    return digest.hexdigest(), size


def file_sha256(path: Path) -> tuple[str, int]:
    """sha256 (lowercase hex) and size of the file at ``path``."""
    with path.open("rb") as stream:
        return read_hashed(stream)
