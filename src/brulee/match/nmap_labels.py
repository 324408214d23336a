"""Nmap's version artefacts: versions that a match line of ``nmap-service-probes`` writes itself.

Most of Nmap's match lines capture the version from the banner (``v/$1/``). Some write a fixed
label instead, recognised from a fingerprint of the reply: Samba's ``v/4.6.2/`` is what every
Samba from 4.6.2 on answers, PostgreSQL's ``v/9.6.0 or later/`` or ``v/12.1 - 12.2/`` name the
releases whose error message Nmap knows. Such a label is not the running version:

* a label that is already a range (``X - Y``, ``X or later``, ``3.X - 4.X``) is read as one by
  :func:`brulee.match.versions.parse_nmap_version`;
* a single version ``L`` is a range too: from ``L`` up to the lowest label of the same product
  above ``L`` (the next fingerprint Nmap knows), or open-ended when ``L`` is the product's
  highest label (Samba ``4.6.2``: ``4.6.2`` or later).

A service is taken for a label when its product and version equal a label's and its extrainfo
fits that line's ``i/.../`` template (a line without one gives none), so a version captured
from a banner that happens to equal a label elsewhere (``Apache/2.2.9 (Debian)``) stays a
version.

The labels come from the installed ``nmap-service-probes`` (read once per file state, streamed,
bounded), else from the table packaged from Nmap 7.93's (``brulee/data/nmap-labels.json``,
written by ``scripts/update-nmap-labels``, which says what it was built from).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from brulee.match.versions import NmapVersion, parse_nmap_version, version_key

PROBES_PATHS: tuple[Path, ...] = (
    Path("/usr/share/nmap/nmap-service-probes"),
    Path("/usr/local/share/nmap/nmap-service-probes"),
)
"""Where Nmap's packages install the probes file (``$NMAPDIR`` is looked at first)."""
MAX_PROBES_BYTES = 32 * 1024 * 1024
"""A probes file larger than this is not read (Nmap 7.93's is 2.5 MB)."""
MAX_LINE = 64 * 1024
_MAX_FIELD = 256
_MAX_EXTRAINFO = 1024
_FIELD = re.compile(r"\s*(?:(?P<cpe>cpe:)|(?P<name>[pvihod]))(?P<delim>[^\w\s])")
_SUBSTITUTION = re.compile(r"\$(?:\d|P\(\d\)|SUBST\(\d,\"[^\"]*\",\"[^\"]*\"\)|I\(\d,\"[<>]\"\))")


class ProbesError(ValueError):
    """A probes file that cannot be read as one (too large, unreadable)."""


@dataclass(frozen=True, slots=True)
class Label:
    """A literal version of one match line, and the extrainfo that line gives: ``info`` is a
    pattern (its substitutions match anything), ``None`` when the line gives no extrainfo."""

    version: str
    info: str | None = None

    def fits(self, extrainfo: str) -> bool:
        """Whether a service's ``extrainfo`` can come from this line (one longer than any
        banner field Nmap writes is not matched against the pattern at all)."""
        if self.info is None:
            return not extrainfo
        if len(extrainfo) > _MAX_EXTRAINFO:
            return False
        return _glob_match(_SUBSTITUTION.split(self.info), extrainfo)


@dataclass(frozen=True, slots=True)
class LabelTable:
    """Nmap's literal version labels by product name, and where they were read from."""

    labels: dict[str, tuple[Label, ...]]
    source: str

    def reading(self, product: str, version: str, extrainfo: str = "") -> NmapVersion:
        """Nmap's ``version`` of ``product`` as :func:`parse_nmap_version` reads it, except that
        a literal label (see the module docstring) is the range of versions it stands for."""
        parsed = parse_nmap_version(product, version)
        labels = self.labels.get(product, ())
        if not parsed.version or not any(
            label.version == version and label.fits(extrainfo) for label in labels
        ):
            return parsed
        low = parsed.label.lower()
        above = sorted(
            (end for end in (_low_end(product, label.version) for label in labels) if end),
            key=version_key,
        )
        high = next((end for end in above if version_key(end) > version_key(low)), "")
        span = f"{product} {low} to {high}" if high else f"every {product} from {low} on"
        return replace(
            parsed,
            version="",
            update="",
            is_range=True,
            low=low,
            high=high,
            fingerprint=f"Nmap's fingerprint says {version} for {span}",
        )


def _low_end(product: str, label: str) -> str:
    """The lowest version a label names: a range's low end, or the version itself."""
    parsed = parse_nmap_version(product, label)
    return parsed.low if parsed.is_range else parsed.label.lower()


def _glob_match(literals: list[str], text: str) -> bool:
    """Whether ``text`` is ``literals`` joined by any strings (each substitution of a template
    matches anything): the first literal starts it, the last ends it, the others follow in
    order, each at its first place (which is enough for such patterns; linear, no regex)."""
    if len(literals) == 1:
        return text == literals[0]
    first, last = literals[0], literals[-1]
    if len(text) < len(first) + len(last) or not text.startswith(first):
        return False
    position, end = len(first), len(text) - len(last)
    for literal in literals[1:-1]:
        found = text.find(literal, position, end)
        if found < 0:
            return False
        position = found + len(literal)
    return text.endswith(last)


# -- reading the probes file -----------------------------------------------------------------


def parse_probes(lines: Iterable[str]) -> dict[str, tuple[Label, ...]]:
    """The literal version labels of ``match``/``softmatch`` lines, by product name; lines whose
    product or version is captured from the banner (``$1``) are no label."""
    found: dict[str, dict[Label, None]] = {}
    for line in lines:
        if len(line) > MAX_LINE or not line.startswith(("match ", "softmatch ")):
            continue
        fields = _fields(line)
        product, version = fields.get("p", ""), fields.get("v", "")
        if not product or not version or "$" in product or "$" in version:
            continue
        found.setdefault(product, {})[Label(version, fields.get("i"))] = None
    return {product: tuple(labels) for product, labels in sorted(found.items())}


def _fields(line: str) -> dict[str, str]:
    """The version fields (``p``, ``v``, ``i``, ...) of one match line, after its pattern."""
    head = re.match(r"(?:soft)?match\s+\S+\s+m(?P<delim>\S)", line)
    if head is None:
        return {}
    end = line.find(head["delim"], head.end())
    if end < 0:
        return {}
    position = end + 1
    while position < len(line) and line[position] in "is":
        position += 1
    fields: dict[str, str] = {}
    while (field := _FIELD.match(line, position)) is not None:
        close = line.find(field["delim"], field.end())
        if close < 0:
            break
        if field["name"] and close - field.end() <= _MAX_FIELD:
            fields.setdefault(field["name"], line[field.end() : close])
        position = close + 1
        if field["cpe"] and line[position : position + 1] == "a":
            position += 1
    return fields


def _probe_lines(path: Path) -> Iterator[str]:
    with path.open("r", encoding="latin-1", newline="\n") as stream:
        yield from stream


def read_probes(path: Path) -> LabelTable:
    """The label table of the probes file at ``path``; raises :class:`ProbesError`."""
    try:
        size = path.stat().st_size
        if size > MAX_PROBES_BYTES:
            raise ProbesError(f"{path}: {size} bytes, more than a probes file has")
        return LabelTable(parse_probes(_probe_lines(path)), f"{path} ({_probes_id(path)})")
    except OSError as exc:
        raise ProbesError(f"{path}: cannot read it: {exc.strerror or exc}") from exc


def _probes_id(path: Path) -> str:
    """The ``$Id$`` line Nmap keeps at the top of the file (``nmap-service-probes 38429
    2022-08-30 ...``), or "unversioned"."""
    with path.open("r", encoding="latin-1") as stream:
        for _, line in zip(range(20), stream, strict=False):
            if match := re.search(r"\$Id: (?P<id>[^$]{1,120})\$", line):
                return match["id"].strip()
    return "unversioned"


def packaged() -> LabelTable:
    """The table packaged with brulee (from Nmap 7.93's probes file)."""
    raw = json.loads((files("brulee") / "data" / "nmap-labels.json").read_text(encoding="utf-8"))
    labels = {
        product: tuple(Label(version, info) for version, info in rows)
        for product, rows in raw["labels"].items()
    }
    origin = raw["provenance"]
    return LabelTable(
        labels, f"packaged table from Nmap {origin['nmap']} ({origin['probes']}, {origin['date']})"
    )


def installed_probes(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The installed probes file: ``$NMAPDIR``'s, else the first of :data:`PROBES_PATHS`."""
    nmapdir = environ.get("NMAPDIR", "")
    candidates = ((Path(nmapdir) / "nmap-service-probes",) if nmapdir else ()) + PROBES_PATHS
    return next((path for path in candidates if path.is_file()), None)


def nmap_labels(environ: Mapping[str, str] = os.environ) -> LabelTable:
    """The installed probes file's labels (the Nmap that scans), else the packaged table."""
    path = installed_probes(environ)
    if path is not None:
        try:
            state = path.stat()
            return _cached(path, state.st_size, state.st_mtime_ns)
        except (OSError, ProbesError):
            pass
    return _packaged()


@lru_cache(maxsize=4)
def _cached(path: Path, size: int, mtime: int) -> LabelTable:
    return read_probes(path)


@lru_cache(maxsize=1)
def _packaged() -> LabelTable:
    return packaged()


def write_table(probes: Path, nmap_version: str, out: Path) -> int:
    """Write the packaged table from ``probes`` (Nmap ``nmap_version``'s file) to ``out``;
    return the number of labels written."""
    table = read_probes(probes)
    rows = {
        product: [[label.version, label.info] for label in labels]
        for product, labels in table.labels.items()
    }
    document = {
        "provenance": {
            "nmap": nmap_version,
            "probes": _probes_id(probes),
            "date": datetime.now(UTC).date().isoformat(),
            "written_by": "scripts/update-nmap-labels",
        },
        "labels": rows,
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    out.write_text(text.replace('],"', '],\n"') + "\n", encoding="utf-8")
    return sum(len(labels) for labels in rows.values())
