"""NVD applicability: does a CVE's ``configurations`` apply to a service Nmap found?

NVD's rules, applied exactly: configurations are OR-ed; a configuration's nodes are joined by
its ``operator`` and a node's ``cpeMatch`` entries by the node's (both default to OR);
``negate`` inverts a node or configuration. Each entry is a CPE match string with optional
``versionStart/End Including/Excluding`` bounds; ``*`` in an attribute means any value, so
``openssh:7.4:*`` covers 7.4p1 while ``openssh:9.9:-`` is 9.9 without update.

The scan cannot know everything, so every entry is judged in three-valued logic: true, false,
or unknown, combined as Kleene logic (AND takes the least, OR the greatest value):

* An entry naming one of the service's vendor:product pairs is judged against the service's
  version (:mod:`brulee.match.entries`). The scan knows that version, so the answer is true or
  false, except for an Nmap version range that straddles the criterion or a criterion
  restricting an attribute the scan cannot see (edition, language, sw_edition, target_sw,
  target_hw, other): those are unknown.
* Any other entry is a condition on the platform, judged against the platform CPEs in the
  evidence (Nmap's, and those the service's distribution marks and ostype imply: a Debian
  banner contradicts a Red Hat condition, a Linux host a Windows one), confirmed (true),
  contradicted (false), or unknown.

A configuration applies to the service only if a ``vulnerable: true`` entry naming the service
(outside negated nodes and configurations) holds in a satisfied branch: an OR takes the branch
that holds it, an AND needs every node. A ``vulnerable: false`` entry is a platform condition
and never the vulnerable component, even when it names the service's product. True gives
``certain``; unknown gives ``conditional`` with the unknown conditions named in
``unverified``, or ``version-range`` when what is unknown is where in an Nmap range (or label,
:mod:`brulee.match.nmap_labels`) the running version lies. An entry naming every version
(``*``, no bounds) that alone makes a configuration apply gives ``unbounded``: NVD does not say
which versions are affected. The surest configuration wins, the first among equals, and a
certain versioned one over an unbounded one; :meth:`CompiledConfigurations.contradicted` names
the platform conditions the scan contradicts, for ``brulee explain``.

A service without a version matches only criteria that name every version (``*``, no bounds,
any update). Malformed data never raises (:mod:`brulee.match.criteria` compiles what it can).
NVD's legacy encodings are read as the CVEs' descriptions say (:mod:`brulee.match.legacy`),
and a reason names the rule it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from brulee.core.cpe import Cpe, VendorProduct
from brulee.core.vulnerability import CONFIDENCE_RANK
from brulee.match.criteria import Configuration, Criterion, Node, compile_configurations
from brulee.match.entries import (
    FALSE,
    TRUE,
    UNKNOWN,
    Platform,
    Subject,
    doubt,
    match_platform,
    match_service,
    match_span,
    platform_fact,
    rule_note,
    rules_applied,
)
from brulee.match.legacy import read_legacy
from brulee.match.versions import NmapVersion

Confidence = Literal["certain", "conditional", "version-range", "unbounded"]


@dataclass(frozen=True, slots=True)
class Applicability:
    """Why a CVE applies: ``certain``; ``conditional`` on what ``unverified`` names;
    ``version-range`` when the service's version is a range (an Nmap label) that the CVE covers
    only in part; ``unbounded`` when the entry that matches names every version, with no bound.

    Each ``unverified`` item must hold for the CVE to apply; alternatives within one item are
    joined by `` or ``.
    """

    confidence: Confidence
    reason: str
    unverified: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """One vulnerable entry naming the service's product, judged against the service: NVD's
    text, how the legacy-encoding rules read it (``rules``, ``reading``; empty when literal),
    and the verdict."""

    criterion: str
    rules: tuple[str, ...]
    reading: str
    verdict: Literal["matches", "may match", "does not match"]


_VERDICTS: dict[int, Literal["matches", "may match", "does not match"]] = {
    TRUE: "matches", UNKNOWN: "may match", FALSE: "does not match",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the scan knows about one service.

    ``products``: the service's NVD vendor:product names (:func:`brulee.cpe.nvd_products`);
    ``version``: its parsed Nmap version; ``platform``: the OS, hardware and other CPEs seen on
    the same host and service or derived from what Nmap reported (the distribution a banner
    names, the ostype), facts, not OS-detection guesses, possibly none; ``origins``: for each,
    what showed it ("" when it is one of Nmap's CPEs).
    """

    products: frozenset[VendorProduct]
    version: NmapVersion
    platform: tuple[Cpe, ...] = ()
    origins: tuple[str, ...] = ()
    _subject: Subject = field(init=False, repr=False, compare=False)
    _platform: tuple[Platform, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_subject", Subject.of(self.version))
        origins = self.origins + ("",) * (len(self.platform) - len(self.origins))
        facts = tuple(platform_fact(c, o) for c, o in zip(self.platform, origins, strict=False))
        object.__setattr__(self, "_platform", facts)


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
        """Whether the CVE applies to the service in ``evidence``, and why; None if not. The
        surest configuration wins, the first among equals; a certain one that names every
        version (``unbounded``) only when no other is certain."""
        best, chosen = FALSE, None
        for configuration in self.configurations:
            level = _configuration_level(configuration, evidence)
            if level > best:
                best, chosen = level, _explain(configuration, evidence, level)
            elif level == TRUE and chosen is not None and chosen.confidence == "unbounded":
                chosen = min(chosen, _explain(configuration, evidence, level), key=_rank)
            if chosen is not None and chosen.confidence == "certain":
                break
        return chosen

    def contradicted(self, evidence: Evidence) -> tuple[str, ...]:
        """The OS and hardware conditions the scan contradicts, node by node, in the
        configurations where an entry naming the service matches it: what drops the CVE
        (``brulee explain`` says it), with the facts that contradict them."""
        found: dict[str, None] = {}
        for configuration in self.configurations:
            named = [
                c for node in configuration.nodes for c in node.criteria
                if c.vulnerable and c.pair in evidence.products
            ]  # fmt: skip
            if not any(_judge(c, evidence) != FALSE for c in named):
                continue
            for node in configuration.nodes:
                conditions = [
                    c for c in node.criteria
                    if c.pair not in evidence.products and c.cpe.part in ("o", "h")
                    and _judge(c, evidence) == FALSE
                ]  # fmt: skip
                if conditions:
                    found[_contradiction(conditions, evidence)] = None
        return tuple(found)

    def trace(self, evidence: Evidence) -> tuple[EntryVerdict, ...]:
        """Every vulnerable entry naming one of the service's products, judged as
        :meth:`evaluate` judges it (what ``brulee explain`` shows)."""
        subject = evidence._subject
        return tuple(
            EntryVerdict(
                criterion.description,
                rules_applied(criterion, subject),
                criterion.reading,
                _VERDICTS[_judge(criterion, evidence)],
            )
            for configuration in self.configurations
            for node in configuration.nodes
            for criterion in node.criteria
            if criterion.vulnerable and criterion.pair in evidence.products
        )


def evaluate(configurations: list[dict[str, Any]], evidence: Evidence) -> Applicability | None:
    """Compile ``configurations`` and evaluate them (prefer a cached CompiledConfigurations)."""
    return CompiledConfigurations.compile(configurations).evaluate(evidence)


# -- Evaluation ------------------------------------------------------------------------------


def _configuration_level(configuration: Configuration, evidence: Evidence) -> int:
    """How surely the service is the vulnerable component of a satisfied branch."""
    products = evidence.products
    if configuration.negate or configuration.vulnerable_pairs.isdisjoint(products):
        return FALSE
    if not configuration.is_and:
        best = FALSE
        for node in configuration.nodes:
            if not node.negate and not node.vulnerable_pairs.isdisjoint(products):
                best = max(
                    best,
                    _node_values(node, evidence)[1]
                    if node.is_and
                    else _service_hit(node, evidence),
                )
                if best == TRUE:
                    break
        return best
    value, hit = TRUE, FALSE
    for node in configuration.nodes:
        node_value, node_hit = _node_values(node, evidence)
        value, hit = min(value, node_value), max(hit, node_hit)
        if value == FALSE:
            return FALSE
    return min(value, hit)


def _service_hit(node: Node, evidence: Evidence) -> int:
    """For an OR node: how surely one of its vulnerable entries matches the service."""
    subject, products = evidence._subject, evidence.products
    best = FALSE
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
            best = max(best, match_service(criterion, subject))
            if best == TRUE:
                break
    return best


def _node_values(node: Node, evidence: Evidence) -> tuple[int, int]:
    """(truth of the node, how surely the service is its vulnerable component)."""
    products = evidence.products
    value = TRUE if node.is_and else FALSE
    hit = FALSE
    for criterion in node.criteria:
        result = _judge(criterion, evidence)
        if criterion.vulnerable and criterion.pair in products:
            hit = max(hit, result)
        if node.is_and:
            value = min(value, result)
            if value == FALSE:
                break
        else:
            value = max(value, result)
            if hit == TRUE:
                break
    if node.negate:
        return TRUE - value, FALSE
    return value, min(value, hit)


def _judge(criterion: Criterion, evidence: Evidence) -> int:
    if criterion.pair in evidence.products:
        return match_service(criterion, evidence._subject)
    if not evidence._platform:
        return UNKNOWN
    return match_platform(criterion, evidence._platform)


# -- Explanation (only for the configuration that applies) -----------------------------------


def _explain(configuration: Configuration, evidence: Evidence, level: int) -> Applicability:
    subject = evidence._subject
    nodes = [(node, _node_values(node, evidence)) for node in configuration.nodes]
    home = max(nodes, key=lambda item: item[1][1])[0]
    criterion, result = _vulnerable_component(home, evidence)
    verb = "matches" if result == TRUE else "may match"
    reason = f"{criterion.description} {verb} {subject.label}{rule_note(criterion, subject)}"
    partial = subject.is_range and match_span(criterion, subject) == UNKNOWN
    doubts = [] if result == TRUE or partial else [doubt(criterion, subject)]
    if home.is_and:
        unverified = doubts + _unknowns(home, evidence, skip=criterion)
    else:
        unverified = (
            [" or ".join(doubts + _unknowns(home, evidence, skip=criterion))] if doubts else []
        )
    if configuration.is_and:
        for node, (value, _) in nodes:
            if node is not home and value == UNKNOWN:
                unverified.extend(_unknowns(node, evidence))
    confidence: Confidence = "certain" if level == TRUE else "conditional"
    if criterion.every_version and not (configuration.is_and or home.is_and):
        # Nothing scopes it: an AND would add a platform condition (RHEL for CVE-2008-3844).
        confidence = "unbounded"
        reason += (
            f"; NVD lists every version of {criterion.cpe.vendor}:{criterion.cpe.product} "
            "for this CVE, with no version bound, so it does not say which versions are affected"
        )
    elif partial:
        confidence = "version-range"
        said = evidence.version.fingerprint or f"Nmap reports a range, {subject.label}"
        reason += (
            f"; {said}, so the running version is unknown, and the CVE applies to only part of "
            "that range"
        )
    return Applicability(confidence, reason, tuple(unverified))


def _contradiction(conditions: list[Criterion], evidence: Evidence) -> str:
    """``A or B or C (and 7 more), which the scan contradicts: it shows F (origin)``."""
    listed = " or ".join(c.description for c in conditions[:_LISTED])
    if len(conditions) > _LISTED:
        listed += f" (and {len(conditions) - _LISTED} more)"
    parts = {c.cpe.part for c in conditions}
    shown = "; ".join(f.shown for f in evidence._platform if f.cpe.part in parts)
    return f"{listed}, which the scan contradicts: it shows {shown}"


_LISTED = 3


def _rank(applies: Applicability) -> int:
    return CONFIDENCE_RANK[applies.confidence]


def _vulnerable_component(node: Node, evidence: Evidence) -> tuple[Criterion, int]:
    """The entry that makes the service the vulnerable component: the surest, and among equals
    the first read literally (a legacy-encoding rule is named only where it was needed)."""
    judged = [
        (criterion, _judge(criterion, evidence))
        for criterion in node.criteria
        if criterion.vulnerable and criterion.pair in evidence.products
    ]
    subject = evidence._subject
    return max(
        judged,
        key=lambda item: (item[1], not item[0].every_version, not rules_applied(item[0], subject)),
    )


def _unknowns(node: Node, evidence: Evidence, skip: Criterion | None = None) -> list[str]:
    """The conditions that keep ``node`` from being true: an AND node's one by one, an OR
    node's alternatives as one item, a negated node's as one ``not (...)`` item."""
    unknown = [
        c.description for c in node.criteria if c is not skip and _judge(c, evidence) == UNKNOWN
    ]
    if not unknown or (node.is_and and not node.negate):
        return unknown
    joined = (" and " if node.is_and else " or ").join(unknown)
    return [f"not ({joined})" if node.negate else joined]
