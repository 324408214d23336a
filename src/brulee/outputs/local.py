"""A directory as a Sink: ``brulee merge`` reads local sources through the same API as buckets."""

from __future__ import annotations

import builtins
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from brulee.errors import OutputError
from brulee.outputs.interface import Sink, local_files
from brulee.util.files import atomic_path


class LocalSink(Sink):
    """A directory; keys are POSIX paths relative to it. ``publish`` copies a tree into it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def publish(self, local_dir: Path) -> builtins.list[str]:
        files = local_files(local_dir)
        if self.root.resolve() == local_dir.resolve():
            return [str(path) for path, _ in files]
        done = []
        for path, rel in files:
            target = self.root / rel
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(target) as part:
                    shutil.copyfile(path, part)
            except OSError as exc:
                raise OutputError(f"copying {rel} to {self.root}: {exc.strerror or exc}") from exc
            done.append(str(target))
        return done

    def list(self, suffix: str = ".json") -> Iterator[str]:
        if not self.root.is_dir():
            raise OutputError(f"listing {self.root}: not a directory")
        yield from (rel for _, rel in local_files(self.root) if rel.endswith(suffix))

    def open(self, key: str) -> BinaryIO:
        parts = PurePosixPath(key).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise OutputError(f"reading {key} from {self.root}: not a key under this directory")
        try:
            return self.root.joinpath(*parts).open("rb")
        except OSError as exc:
            raise OutputError(f"reading {key} from {self.root}: {exc.strerror or exc}") from exc
