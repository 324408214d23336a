"""NVD ``configurations`` compiled for evaluation (:mod:`brulee.match.configurations`).

A configuration's nodes are joined by its ``operator`` and a node's ``cpeMatch`` entries by the
node's (both default to OR); ``negate`` inverts a node or configuration. Each entry is a CPE
match string with optional ``versionStart/End Including/Excluding`` bounds, compiled into
version comparison keys once (entries recur across CVEs: they are cached).

Malformed data never raises: an entry, node or configuration that cannot be read (missing or
mistyped keys, a bad CPE, both bounds of one side, an unknown operator) is skipped where
skipping cannot widen a match (inside an OR), and makes its parent unsatisfiable where it could
(inside an AND).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from brulee.core.cpe import ANY, NA, Cpe, CpeError, VendorProduct, parse_cpe
from brulee.match.versions import Segment, is_numeric, version_key

Key = tuple[Segment, ...]

_BOUNDS = (
    "versionStartIncluding",
    "versionStartExcluding",
    "versionEndIncluding",
    "versionEndExcluding",
)
_RESTRICTABLE = ("edition", "language", "sw_edition", "target_sw", "target_hw", "other")


@dataclass(frozen=True, slots=True)
class Criterion:
    """One compiled ``cpeMatch`` entry."""

    description: str
    vulnerable: bool
    cpe: Cpe
    pair: VendorProduct
    version_na: bool
    update: str
    exact: Key | None
    exact_full: Key | None
    start: Key | None
    start_including: bool
    start_full: bool
    end: Key | None
    end_including: bool
    end_full: bool
    restricted: tuple[tuple[str, str], ...]
    bounds: tuple[tuple[str, str], ...] = ()
    """The entry's ``version...`` bounds as NVD wrote them: (name, value)."""
    rules: tuple[str, ...] = ()
    """The legacy-encoding rules that change how it is read (:mod:`brulee.match.legacy`)."""
    reading: str = ""
    """Its bounds as those rules read them (``versionEndIncluding 7.2p2``); '' if unchanged."""
    letters: bool = False
    """An exact entry for a base version that also covers the base's letter releases."""

    @property
    def every_version(self) -> bool:
        """Names every version: ``*``, no bounds, any update."""
        return (
            self.exact is None
            and not self.version_na
            and self.start is None
            and self.end is None
            and self.update == ANY
        )


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled node; ``index`` maps exact version keys to the vulnerable entries naming
    them, ``scan`` lists the other vulnerable entries (ranges, ``*``): together they find the
    service's entries without reading every enumerated version."""

    is_and: bool
    negate: bool
    criteria: tuple[Criterion, ...]
    vulnerable_pairs: frozenset[VendorProduct]
    index: dict[Key, tuple[Criterion, ...]] = field(compare=False)
    scan: tuple[Criterion, ...]

    @classmethod
    def of(cls, is_and: bool, negate: bool, criteria: tuple[Criterion, ...]) -> Node:
        index: dict[Key, list[Criterion]] = {}
        scan: list[Criterion] = []
        for criterion in criteria:
            if not criterion.vulnerable:
                continue
            if criterion.exact is None or criterion.start is not None or criterion.end is not None:
                scan.append(criterion)
                continue
            for key in {criterion.exact, criterion.exact_full or criterion.exact}:
                index.setdefault(key, []).append(criterion)
        return cls(
            is_and,
            negate,
            criteria,
            frozenset(c.pair for c in criteria if c.vulnerable),
            {key: tuple(entries) for key, entries in index.items()},
            tuple(scan),
        )


@dataclass(frozen=True, slots=True)
class Configuration:
    """A compiled configuration, and the vendor:product pairs of its vulnerable entries."""

    is_and: bool
    negate: bool
    nodes: tuple[Node, ...]
    vulnerable_pairs: frozenset[VendorProduct]


def compile_configurations(configurations: object) -> tuple[Configuration, ...]:
    """NVD 2.0 ``configurations`` JSON compiled, what is malformed skipped."""
    if not isinstance(configurations, list):
        return ()
    compiled = (_compile_configuration(raw) for raw in configurations)
    return tuple(c for c in compiled if c is not None)


def _operator_is_and(raw: dict[str, Any]) -> bool | None:
    operator = raw.get("operator", "OR")
    if operator is None:
        return False
    if not isinstance(operator, str) or operator.upper() not in ("AND", "OR"):
        return None
    return operator.upper() == "AND"


def _compile_configuration(raw: object) -> Configuration | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        return None
    is_and = _operator_is_and(raw)
    if is_and is None:
        return None
    nodes = [_compile_node(node) for node in raw["nodes"]]
    if is_and and None in nodes:
        return None
    kept = tuple(node for node in nodes if node is not None)
    if not kept:
        return None
    pairs = frozenset().union(*(node.vulnerable_pairs for node in kept))
    return Configuration(is_and, raw.get("negate") is True, kept, pairs)


def _compile_node(raw: object) -> Node | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("cpeMatch"), list):
        return None
    is_and = _operator_is_and(raw)
    if is_and is None:
        return None
    criteria = [_compile_criterion(entry) for entry in raw["cpeMatch"]]
    if is_and and None in criteria:
        return None
    kept = tuple(c for c in criteria if c is not None)
    return Node.of(is_and, raw.get("negate") is True, kept) if kept else None


def _compile_criterion(raw: object) -> Criterion | None:
    if not isinstance(raw, dict):
        return None
    text, vulnerable = raw.get("criteria"), raw.get("vulnerable")
    bounds = tuple((name, raw[name]) for name in _BOUNDS if name in raw)
    if not isinstance(text, str) or not isinstance(vulnerable, bool):
        return None
    if not all(isinstance(value, str) and value.strip() for _, value in bounds):
        return None
    return _criterion(text, vulnerable, bounds)


@lru_cache(maxsize=65536)
def _criterion(
    text: str, vulnerable: bool, bounds: tuple[tuple[str, str], ...]
) -> Criterion | None:
    """Compile one entry (cached: the same entries recur across CVEs)."""
    named = dict(bounds)
    if len(named.keys() & {"versionStartIncluding", "versionStartExcluding"}) > 1:
        return None
    if len(named.keys() & {"versionEndIncluding", "versionEndExcluding"}) > 1:
        return None
    try:
        cpe = parse_cpe(text)
    except CpeError:
        return None
    if ANY in cpe.vendor_product:
        return None
    start = named.get("versionStartIncluding") or named.get("versionStartExcluding")
    end = named.get("versionEndIncluding") or named.get("versionEndExcluding")
    exact = cpe.version not in (ANY, NA)
    return Criterion(
        description=" ".join([text, *(f"{name} {value}" for name, value in bounds)]),
        vulnerable=vulnerable,
        cpe=cpe,
        pair=cpe.vendor_product,
        version_na=cpe.version == NA,
        update=cpe.update,
        exact=version_key(cpe.version) if exact else None,
        exact_full=version_key(f"{cpe.version}-{cpe.update}")
        if exact and cpe.update not in (ANY, NA)
        else None,
        start=version_key(start) if start else None,
        start_including="versionStartIncluding" in named,
        start_full=start is not None and not is_numeric(start),
        end=version_key(end) if end else None,
        end_including="versionEndIncluding" in named,
        end_full=end is not None and not is_numeric(end),
        restricted=tuple(
            (name, getattr(cpe, name))
            for name in _RESTRICTABLE
            if getattr(cpe, name) not in (ANY, NA)
        ),
        bounds=bounds,
    )
