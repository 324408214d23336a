"""Atomic, private files: a symlink replaced (its target untouched), mode 0600 whatever the
umask, nothing left behind by a failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from brulee.util.files import (
    PART_SUFFIX,
    TooLarge,
    atomic_path,
    read_bounded,
    size_text,
    write_text_atomic,
)


def test_the_file_appears_only_when_complete_and_private(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    old = os.umask(0)
    try:
        with atomic_path(target) as part:
            assert part.parent == tmp_path
            assert part.name.startswith(".report.csv.") and part.name.endswith(PART_SUFFIX)
            part.write_text("a,b\n", encoding="utf-8")
            assert not target.exists()
    finally:
        os.umask(old)
    assert target.read_text("utf-8") == "a,b\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_a_symlink_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "out" / "report.json"
    link.parent.mkdir()
    link.symlink_to(victim)
    write_text_atomic(link, "{}\n")
    assert victim.read_text("utf-8") == "keep me\n"
    assert not link.is_symlink()
    assert link.read_text("utf-8") == "{}\n"


def test_a_failure_leaves_neither_file_nor_part(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as part:
        part.write_text('{"half": ', encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text("utf-8") == "previous\n"  # the previous file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_file_moved_in_by_the_block_is_private_too(tmp_path: Path) -> None:
    built = tmp_path / "built.pdf"  # as LaTeX's PDF, moved over the temporary file
    built.write_bytes(b"%PDF-1.5\n")
    built.chmod(0o644)
    with atomic_path(tmp_path / "report.pdf") as part:
        built.replace(part)
    assert stat.S_IMODE((tmp_path / "report.pdf").stat().st_mode) == 0o600


def test_read_bounded_reads_one_byte_past_its_limit_at_most(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(path, 10) == b"x" * 10
    with pytest.raises(TooLarge, match=r"^larger than 9 bytes$"):
        read_bounded(path, 9)
    with pytest.raises(TooLarge, match=r"^larger than 1 MiB$"):
        read_bounded(Path("/dev/zero"), 1 << 20)
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "missing", 10)


def test_size_text_names_the_largest_whole_unit() -> None:
    assert [size_text(n) for n in (16 << 20, 256 << 10, 1 << 30, 1000, 1536)] == [
        "16 MiB", "256 KiB", "1 GiB", "1000 bytes", "1536 bytes"
    ]  # fmt: skip
