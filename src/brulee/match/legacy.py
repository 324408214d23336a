"""NVD's legacy encodings, read as the CVEs' own descriptions say.

NVD's older records encode some version facts in ways that, read literally, miss versions the
description names. brulee follows the description in three known patterns, deliberately, and
every finding that rests on one names it in its reason (``RULES``):

* ``UPDATE_IN_RANGE``: a range entry whose version is ``*`` and whose update names one patch
  level is read as version and update together, for any update: ``openssh:*:p2`` with
  ``versionEndIncluding 7.2`` is OpenSSH through 7.2p2 (CVE-2015-8325), not only the p2 builds
  up to 7.2. A packaging revision (Gentoo's ``r1`` in CVE-2017-15945, "dev-db/mysql packages
  before 5.6.36-r1") is not a patch level of the product: it keeps the literal reading.
* ``BRANCH_START``: where one node holds several such entries for one product on different
  branches, each but the lowest starts at its own major.minor, so a fixed build of an older
  branch is not reported: BIND's ``*:p1`` to 9.9.7 and ``*:p2`` to 9.10.2 (CVE-2015-5477, "9.x
  before 9.9.7-P2 and 9.10.x before 9.10.2-P3") leave 9.9.8-P2 out.
* ``LETTER_RELEASE``: an exact entry for a base version B with any update (``mysql:5.0.51:*``)
  also covers B's letter releases (``5.0.51a``) when the CVE lists no letter release of B for
  the product and names a later release of B's branch (``5.0.60``, or a range ending there): the
  letter release lies inside the span the CVE lists (CVE-2008-3963, "MySQL 5.0 before 5.0.66").
  A CVE that lists letter releases (OpenSSL's CVE-2017-3731: 1.0.2 to 1.0.2j, "before 1.0.2k")
  or nothing later on the branch (CVE-2015-0291: OpenSSL 1.0.2 only, "before 1.0.2a") is read
  literally.

Every other entry keeps NVD's literal reading (``7.4:p1``, ``9.9:-``, ``*``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from brulee.core.cpe import ANY, NA, VendorProduct
from brulee.match.criteria import Configuration, Criterion, Key, Node
from brulee.match.versions import letter_base, version_key

UPDATE_IN_RANGE = "update-in-range"
BRANCH_START = "branch-start"
LETTER_RELEASE = "letter-release"
RULES: dict[str, str] = {
    UPDATE_IN_RANGE: "a range whose version is * and whose update is a patch level is read as "
    "version and update together, for any update (CVE-2015-8325: openssh *:p2 up to 7.2 is "
    "OpenSSH through 7.2p2)",
    BRANCH_START: "several such ranges for one product in one node: each but the lowest starts "
    "at its own major.minor branch (CVE-2015-5477: BIND *:p1 up to 9.9.7, *:p2 from 9.10 up to "
    "9.10.2)",
    LETTER_RELEASE: "an exact entry for a base version covers the base's letter releases when "
    "the CVE lists none of them and names a later release of the branch (CVE-2008-3963: "
    "mysql 5.0.51:* covers MySQL 5.0.51a)",
}
"""Each rule a reason can name, with its documented example."""

_PACKAGING_REVISION = re.compile(r"r\d+")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_ENDS = ("versionEndIncluding", "versionEndExcluding")

Branch = tuple[VendorProduct, tuple[int, int]]


def read_legacy(configurations: tuple[Configuration, ...]) -> tuple[Configuration, ...]:
    """A CVE's compiled configurations with the legacy encodings read as described above."""
    tops, lettered = _survey(configurations)
    read = []
    for configuration in configurations:
        nodes = tuple(_node(node, tops, lettered) for node in configuration.nodes)
        read.append(replace(configuration, nodes=nodes))
    return tuple(read)


def _survey(
    configurations: tuple[Configuration, ...],
) -> tuple[dict[Branch, Key], set[tuple[VendorProduct, str]]]:
    """Over the CVE's vulnerable entries: the highest release named on each product's branch
    (exact versions and range ends), and the bases whose letter releases it names."""
    tops: dict[Branch, Key] = {}
    lettered: set[tuple[VendorProduct, str]] = set()
    for configuration in configurations:
        for node in configuration.nodes:
            for criterion in node.criteria:
                if not criterion.vulnerable:
                    continue
                named = [v for k, v in criterion.bounds if k in _ENDS]
                if criterion.exact is not None:
                    named.append(criterion.cpe.version)
                for version in named:
                    base, branch, key = _facts(version)
                    if base:
                        lettered.add((criterion.pair, base))
                    if branch is not None and key is not None:
                        top = tops.get((criterion.pair, branch))
                        tops[criterion.pair, branch] = key if top is None else max(top, key)
    return tops, lettered


@lru_cache(maxsize=65536)
def _facts(version: str) -> tuple[str | None, tuple[int, int] | None, Key | None]:
    """(letter base, major.minor branch, key of the leading release) of a version's text."""
    release = _RELEASE.match(version)
    if release is None:
        return letter_base(version), None, None
    return letter_base(version), _branch(release.group()), version_key(release.group())


def _branch(release: str) -> tuple[int, int]:
    numbers = [int(n) for n in release.split(".")[:2]]
    return (numbers[0], numbers[1] if len(numbers) > 1 else 0)


def _node(node: Node, tops: dict[Branch, Key], lettered: set[tuple[VendorProduct, str]]) -> Node:
    criteria = tuple(_entry(c, tops, lettered) for c in node.criteria)
    criteria = _branch_starts(criteria)
    if all(new is old for new, old in zip(criteria, node.criteria, strict=True)):
        return node
    return Node.of(node.is_and, node.negate, criteria)


def _entry(
    criterion: Criterion, tops: dict[Branch, Key], lettered: set[tuple[VendorProduct, str]]
) -> Criterion:
    if not criterion.vulnerable:
        return criterion
    version, update = criterion.cpe.version, criterion.cpe.update
    if criterion.exact is None:
        ranged = criterion.end is not None and version == ANY
        if ranged and update not in (ANY, NA) and not _PACKAGING_REVISION.fullmatch(update):
            return _update_in_range(criterion)
        return criterion
    if update != ANY or not _RELEASE.fullmatch(version) or (criterion.pair, version) in lettered:
        return criterion
    _, branch, key = _facts(version)
    top = tops.get((criterion.pair, branch)) if branch is not None else None
    if top is None or key is None or top <= key:
        return criterion
    return _with_letters(criterion)


@lru_cache(maxsize=65536)
def _with_letters(criterion: Criterion) -> Criterion:
    return replace(criterion, letters=True)


@lru_cache(maxsize=4096)
def _update_in_range(criterion: Criterion) -> Criterion:
    """``*:p2`` up to ``7.2`` is up to ``7.2p2``, for any update."""
    update = criterion.cpe.update
    end = next(value for name, value in criterion.bounds if name in _ENDS)
    reading = " ".join(
        f"{name} {value}{update}" if name in _ENDS else f"{name} {value}"
        for name, value in criterion.bounds
    )
    return replace(
        criterion,
        update=ANY,
        end=version_key(f"{end}-{update}"),
        end_full=True,
        rules=(UPDATE_IN_RANGE,),
        reading=reading,
    )


def _branch_starts(criteria: tuple[Criterion, ...]) -> tuple[Criterion, ...]:
    """Among one product's ``UPDATE_IN_RANGE`` entries of a node, each whose branch differs
    from that of the entry with the lowest end, and has no start of its own, starts at its
    branch (``versionStartIncluding`` its major.minor)."""
    by_pair: dict[VendorProduct, list[Criterion]] = {}
    for criterion in criteria:
        if UPDATE_IN_RANGE in criterion.rules:
            by_pair.setdefault(criterion.pair, []).append(criterion)
    started: dict[int, Criterion] = {}
    for group in by_pair.values():
        branches = {c: _end_branch(c) for c in group}
        if len(set(branches.values())) < 2:
            continue
        lowest = branches[min(group, key=lambda c: c.end or ())]
        for criterion, branch in branches.items():
            if branch is None or branch == lowest or criterion.start is not None:
                continue
            text = f"{branch[0]}.{branch[1]}"
            started[id(criterion)] = replace(
                criterion,
                start=version_key(text),
                start_including=True,
                start_full=False,
                rules=(*criterion.rules, BRANCH_START),
                reading=f"versionStartIncluding {text} {criterion.reading}",
            )
    return tuple(started.get(id(c), c) for c in criteria) if started else criteria


def _end_branch(criterion: Criterion) -> tuple[int, int] | None:
    end = next(value for name, value in criterion.bounds if name in _ENDS)
    release = _RELEASE.match(end)
    return _branch(release.group()) if release else None
