"""NVD applicability: does a CVE's ``configurations`` apply to a service Nmap found?

NVD's rules, applied exactly: configurations are OR-ed; a configuration's nodes are joined by
its ``operator`` and a node's ``cpeMatch`` entries by the node's (both default to OR);
``negate`` inverts a node or configuration. Each entry is a CPE match string with optional
``versionStart/End Including/Excluding`` bounds; ``*`` in an attribute means any value, so
``openssh:7.4:*`` covers 7.4p1 while ``openssh:9.9:-`` is 9.9 without update.

The scan cannot know everything, so every entry is judged in three-valued logic: true, false,
or unknown, combined as Kleene logic (AND takes the least, OR the greatest value):

* An entry naming one of the service's vendor:product pairs is judged against the service's
  version (:func:`_match_point`). The scan knows that version, so the answer is true or false,
  except for an Nmap version range that straddles the criterion (:func:`_match_span`) or a
  criterion restricting an attribute the scan cannot see (edition, language, sw_edition,
  target_sw, target_hw, other): those are unknown.
* Any other entry is a condition on the platform, judged against the platform CPEs in the
  evidence (:func:`_match_platform`): confirmed (true), contradicted (false), or unknown.

A configuration applies to the service only if a ``vulnerable: true`` entry naming the service
(outside negated nodes and configurations) holds in a satisfied branch: an OR takes the branch
that holds it, an AND needs every node. A ``vulnerable: false`` entry is a platform condition
and never the vulnerable component, even when it names the service's product. True gives
``certain``; unknown gives ``conditional`` with the unknown conditions named in
``unverified``; the best configuration wins, the first among equals.

A service without a version matches only criteria that name every version (``*``, no bounds,
any update). Malformed data never raises (:mod:`brulee.match.criteria` compiles what it can).
NVD's legacy encodings are read as the CVEs' descriptions say (:mod:`brulee.match.legacy`),
and a reason names the rule it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from brulee.core.cpe import ANY, NA, Cpe, VendorProduct
from brulee.match.criteria import Configuration, Criterion, Key, Node, compile_configurations
from brulee.match.legacy import LETTER_RELEASE, read_legacy
from brulee.match.versions import NmapVersion, is_prerelease, letter_base, version_key

Confidence = Literal["certain", "conditional"]

_FALSE, _UNKNOWN, _TRUE = 0, 1, 2
_UMBRELLA_OS = frozenset({("linux", "linux_kernel")})
"""OS CPEs that many distributions share: they neither contradict nor are contradicted."""
_EXCLUSIVE_PARTS = frozenset({"o", "h"})
"""A host runs one OS on one piece of hardware; applications can sit side by side."""


@dataclass(frozen=True, slots=True)
class Applicability:
    """Why a CVE applies: ``certain``, or ``conditional`` on what ``unverified`` names.

    Each ``unverified`` item must hold for the CVE to apply; alternatives within one item are
    joined by `` or ``.
    """

    confidence: Confidence
    reason: str
    unverified: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Subject:
    """A version to judge criteria against, as comparison keys.

    ``version`` is the CPE version field, ``full`` version and update together, ``base`` the
    version with a pre-release update kept (``1.0rc1``) and a post-release one dropped
    (``7.4p1`` -> ``7.4``), ``letter`` the base of a letter release (``5.0.51a`` -> ``5.0.51``).
    A range has ``low``/``high`` (None: open end) and no ``version``.
    """

    label: str
    version: Key | None = None
    full: Key = ()
    base: Key = ()
    update: str = ""
    is_range: bool = False
    low: Key | None = None
    high: Key | None = None
    letter: Key | None = None

    @classmethod
    def point(cls, version: str, update: str, label: str) -> _Subject:
        full = f"{version}-{update}" if update else version
        base = full if is_prerelease(update) else version
        letter = None if update else letter_base(version)
        return cls(
            label,
            version_key(version),
            version_key(full),
            version_key(base),
            update,
            letter=version_key(letter) if letter else None,
        )

    @classmethod
    def of(cls, nmap: NmapVersion) -> _Subject:
        if nmap.is_range:
            low = version_key(nmap.low) if nmap.low else None
            high = version_key(nmap.high) if nmap.high else None
            return cls(nmap.label, is_range=True, low=low, high=high)
        if not nmap.version:
            return cls("any version (none detected)")
        return cls.point(nmap.version, nmap.update, nmap.label)


@dataclass(frozen=True, slots=True)
class _Platform:
    cpe: Cpe
    subject: _Subject | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the scan knows about one service.

    ``products``: the service's NVD vendor:product names (:func:`brulee.cpe.nvd_products`);
    ``version``: its parsed Nmap version; ``platform``: the OS, hardware and other CPEs seen on
    the same host and service (facts, not OS-detection guesses), possibly none.
    """

    products: frozenset[VendorProduct]
    version: NmapVersion
    platform: tuple[Cpe, ...] = ()
    _subject: _Subject = field(init=False, repr=False, compare=False)
    _platform: tuple[_Platform, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_subject", _Subject.of(self.version))
        object.__setattr__(self, "_platform", tuple(_platform_fact(c) for c in self.platform))


def _platform_fact(cpe: Cpe) -> _Platform:
    if cpe.version in (ANY, NA):
        return _Platform(cpe, None)
    update = "" if cpe.update in (ANY, NA) else cpe.update
    return _Platform(cpe, _Subject.point(cpe.version, update, cpe.version))


@dataclass(frozen=True, slots=True)
class CompiledConfigurations:
    """A CVE's configurations, compiled once (build it once per CVE and cache it)."""

    configurations: tuple[Configuration, ...]

    @classmethod
    def compile(cls, configurations: object) -> CompiledConfigurations:
        """Compile NVD 2.0 ``configurations`` JSON, skipping what is malformed, and read its
        legacy encodings as their descriptions say."""
        return cls(read_legacy(compile_configurations(configurations)))

    @property
    def products(self) -> frozenset[VendorProduct]:
        """The vendor:product pairs of the vulnerable components."""
        return frozenset().union(*(c.vulnerable_pairs for c in self.configurations))

    def evaluate(self, evidence: Evidence) -> Applicability | None:
        """Whether the CVE applies to the service in ``evidence``, and why; None if not."""
        best, chosen = _FALSE, None
        for configuration in self.configurations:
            level = _configuration_level(configuration, evidence)
            if level > best:
                best, chosen = level, configuration
                if level == _TRUE:
                    break
        if chosen is None:
            return None
        return _explain(chosen, evidence, best)


def evaluate(configurations: list[dict[str, Any]], evidence: Evidence) -> Applicability | None:
    """Compile ``configurations`` and evaluate them (prefer a cached CompiledConfigurations)."""
    return CompiledConfigurations.compile(configurations).evaluate(evidence)


# -- Evaluation ------------------------------------------------------------------------------


def _configuration_level(configuration: Configuration, evidence: Evidence) -> int:
    """How surely the service is the vulnerable component of a satisfied branch."""
    products = evidence.products
    if configuration.negate or configuration.vulnerable_pairs.isdisjoint(products):
        return _FALSE
    if not configuration.is_and:
        best = _FALSE
        for node in configuration.nodes:
            if not node.negate and not node.vulnerable_pairs.isdisjoint(products):
                best = max(
                    best,
                    _node_values(node, evidence)[1]
                    if node.is_and
                    else _service_hit(node, evidence),
                )
                if best == _TRUE:
                    break
        return best
    value, hit = _TRUE, _FALSE
    for node in configuration.nodes:
        node_value, node_hit = _node_values(node, evidence)
        value, hit = min(value, node_value), max(hit, node_hit)
        if value == _FALSE:
            return _FALSE
    return min(value, hit)


def _service_hit(node: Node, evidence: Evidence) -> int:
    """For an OR node: how surely one of its vulnerable entries matches the service."""
    subject, products = evidence._subject, evidence.products
    best = _FALSE
    if subject.version is None:
        candidates: tuple[Criterion, ...] = node.criteria
    else:
        candidates = (
            *node.scan,
            *node.index.get(subject.version, ()),
            *node.index.get(subject.full, ()),
            *(node.index.get(subject.letter, ()) if subject.letter else ()),
        )
    for criterion in candidates:
        if criterion.vulnerable and criterion.pair in products:
            best = max(best, _match_service(criterion, subject))
            if best == _TRUE:
                break
    return best


def _node_values(node: Node, evidence: Evidence) -> tuple[int, int]:
    """(truth of the node, how surely the service is its vulnerable component)."""
    products = evidence.products
    value = _TRUE if node.is_and else _FALSE
    hit = _FALSE
    for criterion in node.criteria:
        result = _judge(criterion, evidence)
        if criterion.vulnerable and criterion.pair in products:
            hit = max(hit, result)
        if node.is_and:
            value = min(value, result)
            if value == _FALSE:
                break
        else:
            value = max(value, result)
            if hit == _TRUE:
                break
    if node.negate:
        return _TRUE - value, _FALSE
    return value, min(value, hit)


def _judge(criterion: Criterion, evidence: Evidence) -> int:
    if criterion.pair in evidence.products:
        return _match_service(criterion, evidence._subject)
    if not evidence._platform:
        return _UNKNOWN
    return _match_platform(criterion, evidence._platform)


def _match_service(criterion: Criterion, subject: _Subject) -> int:
    if subject.is_range:
        result = _match_span(criterion, subject)
    elif subject.version is None:
        result = _TRUE if criterion.every_version else _FALSE
    else:
        result = _match_point(criterion, subject)
    return _UNKNOWN if result == _TRUE and criterion.restricted else result


def _match_point(criterion: Criterion, subject: _Subject) -> int:
    """One version against one criterion (policy in the docstrings of the pieces)."""
    if criterion.version_na:
        return _FALSE
    if criterion.exact is not None:
        if not _exact_matches(criterion, subject):
            return _FALSE
    elif not _update_matches(criterion.update, subject.update):
        return _FALSE
    return _TRUE if _within_bounds(criterion, subject.full, subject.base) else _FALSE


def _exact_matches(criterion: Criterion, subject: _Subject) -> bool:
    """Exact version: ``7.4:*`` matches any 7.4 (7.4p1 too; a letter release where the entry
    ``letters``), ``9.9:-`` only a 9.9 without update, ``9.9:p1`` only 9.9p1. NVD's older
    entries carry the suffix in the version (``4.3p2``): those match version and update
    together."""
    update = criterion.update
    if update == ANY:
        return criterion.exact in (subject.version, subject.full) or (
            criterion.letters and criterion.exact == subject.letter
        )
    if update == NA:
        return criterion.exact == subject.version and not subject.update
    return criterion.exact_full == subject.full


def _update_matches(update: str, subject_update: str) -> bool:
    if update == ANY:
        return True
    if update == NA:
        return not subject_update
    return update == subject_update


def _within_bounds(criterion: Criterion, full: Key, base: Key) -> bool:
    """Range bounds compare the version without a post-release update (``versionEndIncluding
    7.3`` holds for 7.3p1, as NVD compares the CPE version field only) unless the bound itself
    carries a suffix (``versionEndIncluding 1.3.5b``): then version and update together."""
    if criterion.start is not None:
        key = full if criterion.start_full else base
        if key < criterion.start or (key == criterion.start and not criterion.start_including):
            return False
    if criterion.end is not None:
        key = full if criterion.end_full else base
        if key > criterion.end or (key == criterion.end and not criterion.end_including):
            return False
    return True


def _match_span(criterion: Criterion, subject: _Subject) -> int:
    """An Nmap version range: true only if every version of the range matches, false if none
    can, unknown (so ``conditional``) when the range straddles the criterion."""
    low, high = subject.low, subject.high
    if criterion.version_na:
        return _FALSE
    if criterion.exact is not None:
        target = criterion.exact_full or criterion.exact
        if (low is not None and target < low) or (high is not None and target > high):
            return _FALSE
        return _TRUE if low == high == target else _UNKNOWN
    if _below_start(criterion, high) or _above_end(criterion, low):
        return _FALSE
    whole = _covers(criterion, low) and _covers(criterion, high)
    return _TRUE if whole and criterion.update == ANY else _UNKNOWN


def _below_start(criterion: Criterion, key: Key | None) -> bool:
    start = criterion.start
    if start is None or key is None:
        return False
    return key < start or (key == start and not criterion.start_including)


def _above_end(criterion: Criterion, key: Key | None) -> bool:
    end = criterion.end
    if end is None or key is None:
        return False
    return key > end or (key == end and not criterion.end_including)


def _covers(criterion: Criterion, key: Key | None) -> bool:
    if key is None:
        return False
    return not _below_start(criterion, key) and not _above_end(criterion, key)


def _match_platform(criterion: Criterion, platform: tuple[_Platform, ...]) -> int:
    """A platform condition against the platform facts.

    True when a fact with the same vendor:product satisfies it (version and restricted
    attributes included); unknown while a fact lacks what it would need (an OS CPE without
    version). False, for an OS or hardware condition only, when the facts show another release
    of that product, or an OS or hardware of another vendor (``linux:linux_kernel`` excepted on
    either side, as every distribution runs it). Otherwise unknown: the scan cannot see every
    application on a host, so their absence proves nothing.
    """
    cpe = criterion.cpe
    exclusive = cpe.part in _EXCLUSIVE_PARTS
    same = [fact for fact in platform if fact.cpe.vendor_product == criterion.pair]
    results = [_match_fact(criterion, fact) for fact in same]
    if results:
        best = max(results)
        return best if best != _FALSE or exclusive else _UNKNOWN
    if exclusive and criterion.pair not in _UMBRELLA_OS:
        for fact in platform:
            other = fact.cpe
            if (
                other.part == cpe.part
                and other.vendor != cpe.vendor
                and other.vendor_product not in _UMBRELLA_OS
            ):
                return _FALSE
    return _UNKNOWN


def _match_fact(criterion: Criterion, fact: _Platform) -> int:
    """One platform fact against one condition. A fact without version satisfies a ``-``
    (not applicable) version, as hardware CPEs have, and leaves any other version unknown."""
    result = _TRUE
    for name, value in criterion.restricted:
        seen = getattr(fact.cpe, name)
        if seen in (ANY, NA):
            result = _UNKNOWN
        elif seen != value:
            return _FALSE
    if criterion.version_na:
        return result if fact.subject is None else _FALSE
    if fact.subject is None:
        return result if criterion.every_version else _UNKNOWN
    return min(result, _match_point(criterion, fact.subject))


# -- Explanation (only for the configuration that applies) -----------------------------------


def _explain(configuration: Configuration, evidence: Evidence, level: int) -> Applicability:
    subject = evidence._subject
    nodes = [(node, _node_values(node, evidence)) for node in configuration.nodes]
    home = max(nodes, key=lambda item: item[1][1])[0]
    criterion, result = _vulnerable_component(home, evidence)
    verb = "matches" if result == _TRUE else "may match"
    reason = f"{criterion.description} {verb} {subject.label}{_rule_note(criterion, subject)}"
    doubts = [] if result == _TRUE else [_doubt(criterion, subject)]
    if home.is_and:
        unverified = doubts + _unknowns(home, evidence, skip=criterion)
    else:
        unverified = (
            [" or ".join(doubts + _unknowns(home, evidence, skip=criterion))] if doubts else []
        )
    if configuration.is_and:
        for node, (value, _) in nodes:
            if node is not home and value == _UNKNOWN:
                unverified.extend(_unknowns(node, evidence))
    confidence: Confidence = "certain" if level == _TRUE else "conditional"
    return Applicability(confidence, reason, tuple(unverified))


def _vulnerable_component(node: Node, evidence: Evidence) -> tuple[Criterion, int]:
    """The entry that makes the service the vulnerable component: the surest, and among equals
    the first read literally (a legacy-encoding rule is named only where it was needed)."""
    judged = [
        (criterion, _judge(criterion, evidence))
        for criterion in node.criteria
        if criterion.vulnerable and criterion.pair in evidence.products
    ]
    subject = evidence._subject
    return max(judged, key=lambda item: (item[1], not _rules(item[0], subject)))


def _unknowns(node: Node, evidence: Evidence, skip: Criterion | None = None) -> list[str]:
    """The conditions that keep ``node`` from being true: an AND node's one by one, an OR
    node's alternatives as one item, a negated node's as one ``not (...)`` item."""
    unknown = [
        c.description for c in node.criteria if c is not skip and _judge(c, evidence) == _UNKNOWN
    ]
    if not unknown or (node.is_and and not node.negate):
        return unknown
    joined = (" and " if node.is_and else " or ").join(unknown)
    return [f"not ({joined})" if node.negate else joined]


def _rules(criterion: Criterion, subject: _Subject) -> tuple[str, ...]:
    """The legacy-encoding rules by which ``criterion`` matches ``subject``."""
    literal = criterion.exact in (subject.version, subject.full)
    if criterion.letters and criterion.exact == subject.letter and not literal:
        return (*criterion.rules, LETTER_RELEASE)
    return criterion.rules


def _rule_note(criterion: Criterion, subject: _Subject) -> str:
    rules = _rules(criterion, subject)
    if LETTER_RELEASE in rules:
        return (
            f" (rule {LETTER_RELEASE}: {subject.label} is a letter release of "
            f"{criterion.cpe.version}, inside the span the CVE lists)"
        )
    return f" (rule {', '.join(rules)}: read as {criterion.reading})" if rules else ""


def _doubt(criterion: Criterion, subject: _Subject) -> str:
    if subject.is_range and _match_span(criterion, subject) == _UNKNOWN:
        return f"Nmap version range {subject.label} is only partly within {criterion.description}"
    attributes = ", ".join(f"{name} {value}" for name, value in criterion.restricted)
    return f"{attributes} (required by {criterion.description}; not detected by the scan)"
