"""The Debian security tracker's files: DSA and DLA lists, the source package -> CPE list and the
CPE aliases. Pure parsers over lines of text; ``sources.debian`` stores what they yield.

Advisory list (``data/DSA/list``, ``data/DLA/list``), newest first::

    [22 Aug 2018] DSA-4280-1 openssh - security update
        {CVE-2018-15473}
        [stretch] - openssh 1:7.4p1-10+deb9u4
        [woody] - spamassassin <not-affected> (not vulnerable according to DSA)
        NOTE: fixed in testing at time of DSA

A release line gives either the fixed version, verbatim, with an optional parenthesised remark
(``(medium)``, ``(bug #332424; medium)``), or a status in angle brackets (``<not-affected>``,
``<unfixed>``, ``<end-of-life>``) with an optional reason. ``NOTE:`` lines are free text for
humans (a few old ones imitate a release line); they are skipped.

CPE list (``data/CPE/list``): ``openssh;cpe:/a:openssh:openssh``, one per line. CPE aliases
(``data/CPE/aliases``): blocks of CPE names, one per line, separated by blank lines; ``#`` starts a
comment (whole entries are commented out that way).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

from brulee.core.cpe import index_name, vendor_product_of
from brulee.vulndb.importers.base import MAX_VERSION

AdvisoryKind = Literal["dsa", "dla"]

SNIFF_ADVISORY = re.compile(rb"\[\d\d [A-Z][a-z]{2} \d{4}\] (DSA|DLA)-\d")
SNIFF_CPE_LIST = re.compile(rb"[a-z0-9][^;\s]*;+cpe:")
SNIFF_CPE_ALIAS = re.compile(rb"cpe:[/2]")

_HEADER = re.compile(r"\[(\d\d) ([A-Z][a-z]{2}) (\d{4})\] (DSA|DLA)-(\d+(?:-\d+)?)(?:\s+(.*?))?\s*")
_TITLE_SEPARATOR = re.compile(r"(?:^|\s)--?(?:\s|$)")
_CVES = re.compile(r"\{\s*((?:CVE-\d{4}-\d{4,}(?:\s+|(?=\})))*)\}")
_RELEASE = re.compile(
    r"\[([a-z][a-z0-9-]*)\] - ([a-z0-9][a-z0-9.+~-]*)\s+(?:<([a-z][a-z-]*)>|([0-9A-Za-z.+~:-]+))"
    r"(?:\s+\((.*)\))?\s*"
)
_PACKAGE_CPE = re.compile(r"([a-z0-9][a-z0-9.+~-]*);+(\S+)")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


class DebianSyntaxError(ValueError):
    """Content that does not fit the file's layout; ``str()`` starts with ``line N:`` when one
    line is at fault."""

    def __init__(self, line: int | None, problem: str) -> None:
        super().__init__(problem if line is None else f"line {line}: {problem}")


@dataclass(frozen=True, slots=True)
class ReleaseEntry:
    """One ``[release] - package version-or-status`` line of an advisory."""

    release: str
    package: str
    fixed_version: str | None
    """Verbatim (``1:7.4p1-10+deb9u4``); None when the line gives a status."""
    status: str
    """``fixed`` (a version is given), else the word in angle brackets: ``not-affected``,
    ``unfixed``, ``end-of-life``..."""
    note: str | None
    """The parenthesised remark, without the parentheses: ``medium``, ``Vulnerable code not
    present``."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """One DSA or DLA with its CVEs and release lines."""

    id: str
    """``DSA-4280-1``, ``DLA-3380-1``; a few old ones have no revision (``DSA-1304``)."""
    kind: AdvisoryKind
    date: str
    """ISO ``2018-08-22``."""
    package: str
    """The first name in the header (``openssh``); '' when it names none. Multi-package
    advisories name more; the release lines name the source package exactly."""
    title: str
    """The header text after the package names and the ``-`` separator (``security update``)."""
    cves: tuple[str, ...]
    entries: tuple[ReleaseEntry, ...]
    line: int
    """Line number of the header."""


def parse_advisories(lines: Iterable[str], kind: AdvisoryKind) -> Iterator[Advisory]:
    """The advisories of a DSA (``kind`` "dsa") or DLA list, in file order.

    Raises DebianSyntaxError for a line that fits no part of the layout, an advisory of the
    other kind, a repeated advisory id or a release line repeated within one advisory.
    """
    current: _Pending | None = None
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if not line[0].isspace():
            if current is not None:
                yield current.advisory()
            current = _header(line, number, kind)
            if current.id in seen:
                problem = f"{current.id} appears twice (first at line {seen[current.id]})"
                raise DebianSyntaxError(number, problem)
            seen[current.id] = number
        elif current is None:
            raise DebianSyntaxError(number, "an indented line before the first advisory header")
        else:
            current.add(line.strip(), number)
    if current is None:
        raise DebianSyntaxError(None, "no advisory in the file")
    yield current.advisory()


class _Pending:
    """An advisory whose lines are being read."""

    def __init__(self, ident: str, kind: AdvisoryKind, day: str, text: str, line: int) -> None:
        self.id, self.kind, self.date, self.line = ident, kind, day, line
        self.package, self.title = _split_title(text)
        self.cves: dict[str, None] = {}
        self.entries: dict[tuple[str, str], ReleaseEntry] = {}

    def add(self, text: str, number: int) -> None:
        if text.startswith("NOTE:"):
            return
        if text.startswith("{"):
            found = _CVES.fullmatch(text)
            if not found:
                raise DebianSyntaxError(number, f"not a list of CVE ids: {_cut(text)!r}")
            self.cves.update(dict.fromkeys(found[1].split()))
            return
        entry = _release_entry(text, number)
        key = (entry.release, entry.package)
        if key in self.entries:
            raise DebianSyntaxError(
                number, f"{self.id} has a second [{entry.release}] line for {entry.package}"
            )
        self.entries[key] = entry

    def advisory(self) -> Advisory:
        return Advisory(
            self.id, self.kind, self.date, self.package, self.title,
            tuple(self.cves), tuple(self.entries.values()), self.line,
        )  # fmt: skip


def _header(line: str, number: int, kind: AdvisoryKind) -> _Pending:
    found = _HEADER.fullmatch(line)
    if not found:
        raise DebianSyntaxError(
            number, f"not an advisory header `[dd Mon yyyy] {kind.upper()}-n-n package - title`: "
            f"{_cut(line)!r}"
        )  # fmt: skip
    day, month, year, prefix, serial, text = found.groups()
    if prefix.lower() != kind:
        raise DebianSyntaxError(number, f"{prefix}-{serial} in a {kind.upper()} list")
    try:
        iso = _iso_date(day, month, year)
    except (KeyError, ValueError) as exc:
        raise DebianSyntaxError(number, f"[{day} {month} {year}] is not a date") from exc
    return _Pending(f"{prefix}-{serial}", kind, iso, text or "", number)


@functools.lru_cache(maxsize=1024)
def _iso_date(day: str, month: str, year: str) -> str:
    return date(int(year), _MONTHS[month], int(day)).isoformat()


def _split_title(text: str) -> tuple[str, str]:
    """``openssh - security update`` -> (``openssh``, ``security update``)."""
    separator = _TITLE_SEPARATOR.search(text)
    if separator:
        names, title = text[: separator.start()].split(), text[separator.end() :].strip()
    else:
        names = text.split(maxsplit=1)
        title = names[1] if len(names) > 1 else ""
    return (names[0] if names else ""), title


def _release_entry(text: str, number: int) -> ReleaseEntry:
    found = _RELEASE.fullmatch(text)
    if not found:
        expected = (
            "not a release line `[release] - package version` (or `<status>`)"
            if text.startswith("[")
            else "not a CVE list `{CVE-...}`, a release line or a NOTE"
        )
        raise DebianSyntaxError(number, f"{expected}: {_cut(text)!r}")
    release, package, status, version, note = found.groups()
    if version and len(version) > MAX_VERSION:
        raise DebianSyntaxError(number, f"a version of {len(version):,} characters: {_cut(text)!r}")
    return ReleaseEntry(release, package, version, status or "fixed", note)


def parse_cpe_list(lines: Iterable[str]) -> Iterator[tuple[int, str, str, str]]:
    """(line number, source package, vendor, product) for each ``package;cpe`` line.

    Vendor and product are as the NVD index stores them (percent-decoded, unquoted, lowercase:
    ``gtk%2b`` -> ``gtk+``). The real list has one ``package;;cpe`` line: extra
    separators are accepted.
    """
    found_any = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        found = _PACKAGE_CPE.fullmatch(line)
        pair = _vendor_product(found[2]) if found else None
        if found is None or pair is None:
            raise DebianSyntaxError(
                number, f"not a `source-package;cpe:/a:vendor:product` line: {_cut(line)!r}"
            )
        found_any = True
        yield number, found[1], pair[0], pair[1]
    if not found_any:
        raise DebianSyntaxError(None, "no `package;cpe` line in the file")


def parse_cpe_aliases(lines: Iterable[str]) -> Iterator[tuple[tuple[str, str], ...]]:
    """Each block of CPE names as (vendor, product) pairs, in file order, without repeats.

    Blank lines end a block; comment lines do not (nor do they add to it).
    """
    block: dict[tuple[str, str], None] = {}
    found_any = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if block:
                yield tuple(block)
                found_any, block = True, {}
            continue
        pair = _vendor_product(line)
        if pair is None:
            raise DebianSyntaxError(
                number, f"not a CPE name `cpe:/a:vendor:product`: {_cut(line)!r}"
            )
        block[pair] = None
    if block:
        yield tuple(block)
    elif not found_any:
        raise DebianSyntaxError(None, "no CPE name in the file")


def _vendor_product(name: str) -> tuple[str, str] | None:
    """``vendor_product_of`` as the index stores it: the tracker quotes some characters inside
    percent-encoding too (``xerces-c%5c%2b%5c%2b`` is ``xerces-c++``)."""
    pair = vendor_product_of(name)
    return None if pair is None else (index_name(pair[0]), index_name(pair[1]))


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."
