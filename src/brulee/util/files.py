"""Files that appear whole or not at all: written beside their destination, then renamed.

Every file brulee leaves for others (reports, Nmap's XML and target lists, copies into a
directory sink) is written through :func:`atomic_path`: a fresh temporary file created in the
destination directory (``O_CREAT | O_EXCL``, mode 0600 whatever the umask, a hidden name ending
in ``.part``), flushed to disk, then renamed over the destination. So:

- a reader never sees half a file, and an interrupted run (SIGTERM, SIGKILL, a full disk)
  leaves at most a hidden ``.NAME.XXXXXXXX.part`` file, never one named like an output;
- a symlink at the destination is replaced by the file, never followed: its target is
  untouched;
- the files are private to their owner (0600).

Every file brulee reads whole (target lists, configuration, suppressions, VEX) is read through
:func:`read_bounded`: at most one byte more than its limit, so ``/dev/zero`` or a huge file
given by mistake is refused, never held in memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PART_SUFFIX = ".part"
"""How the temporary files end (hidden, and named like no output)."""


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A new, empty, private temporary file beside ``path`` for the ``with`` block to write;
    renamed over ``path`` when the block ends normally, removed when it raises. OSError when the
    temporary file cannot be created or the rename fails (the temporary file is then removed)."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PART_SUFFIX, dir=path.parent)
    os.close(handle)
    part = Path(name)
    try:
        yield part
        part.chmod(0o600)  # private even if the block replaced it (LaTeX's PDF is moved in)
        with part.open("rb") as written:  # on disk before the name points at it
            os.fsync(written.fileno())
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as part:
        part.write_text(text, encoding="utf-8")


class TooLarge(Exception):
    """A file holds more than its reader allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {size_text(limit)}")
        self.limit = limit


def size_text(size: int) -> str:
    """``16 MiB``, ``256 KiB``, ``100 bytes``: a limit in the largest whole binary unit."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} bytes"


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the file at ``path``; TooLarge when it holds more than ``limit`` (only
    ``limit + 1`` bytes are read). OSError as raised."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data
