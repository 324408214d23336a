"""One NVD ``cpeMatch`` entry judged against what the scan saw, in three-valued logic.

An entry naming the service's product is judged against the service's version
(:func:`match_service`): a point (:func:`match_point`) is true or false; an Nmap version range
that straddles the entry (:func:`match_span`) or an attribute the scan cannot see (edition,
language, sw_edition, target_sw, target_hw, other) is unknown. Any other entry is a platform
condition, judged against the platform CPEs the scan saw (:func:`match_platform`).
:mod:`brulee.match.configurations` combines the entries of a CVE's configurations.
"""

from __future__ import annotations

from dataclasses import dataclass

from brulee.core.cpe import ANY, NA, Cpe
from brulee.match.criteria import Criterion, Key
from brulee.match.legacy import LETTER_RELEASE
from brulee.match.versions import NmapVersion, is_prerelease, letter_base, version_key

FALSE, UNKNOWN, TRUE = 0, 1, 2
"""Kleene's three values, ordered: AND takes the least, OR the greatest."""
_UMBRELLA_OS = frozenset({("linux", "linux_kernel")})
"""OS CPEs that many distributions share: they neither contradict nor are contradicted."""
_EXCLUSIVE_PARTS = frozenset({"o", "h"})
"""A host runs one OS on one piece of hardware; applications can sit side by side."""


@dataclass(frozen=True, slots=True)
class Subject:
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
    def point(cls, version: str, update: str, label: str) -> Subject:
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
    def of(cls, nmap: NmapVersion) -> Subject:
        if nmap.is_range:
            low = version_key(nmap.low) if nmap.low else None
            high = version_key(nmap.high) if nmap.high else None
            return cls(nmap.label, is_range=True, low=low, high=high)
        if not nmap.version:
            return cls("any version (none detected)")
        return cls.point(nmap.version, nmap.update, nmap.label)


@dataclass(frozen=True, slots=True)
class Platform:
    """A platform fact: a CPE the scan saw or derived, and what showed it (``origin``)."""

    cpe: Cpe
    subject: Subject | None
    origin: str = ""

    @property
    def shown(self) -> str:
        """The fact for a reader: ``cpe:2.3:o:debian:debian_linux:12:... (version "...")``."""
        return f"{self.cpe.to_uri()} ({self.origin})" if self.origin else self.cpe.to_uri()


def platform_fact(cpe: Cpe, origin: str = "") -> Platform:
    if cpe.version in (ANY, NA):
        return Platform(cpe, None, origin)
    update = "" if cpe.update in (ANY, NA) else cpe.update
    return Platform(cpe, Subject.point(cpe.version, update, cpe.version), origin)


_LINUX_VENDORS = frozenset(
    {"debian", "canonical", "redhat", "fedoraproject", "centos", "suse", "opensuse",
     "alpinelinux", "gentoo", "almalinux", "rockylinux"}
)  # fmt: skip
_OS_FAMILIES = {"microsoft": "Windows", "apple": "Apple", "freebsd": "FreeBSD",
                "openbsd": "OpenBSD", "netbsd": "NetBSD", "sun": "Solaris", "ibm": "AIX",
                "hp": "HP-UX"}  # fmt: skip
_SOLARIS = frozenset({"solaris", "sunos"})


def os_family(cpe: Cpe) -> str | None:
    """The OS family an ``o`` CPE belongs to (``Linux``, ``Windows``...), None if not known:
    ``linux:linux_kernel`` and every distribution are Linux, ``microsoft:windows_*`` Windows.
    Two OS CPEs of different known families cannot both describe one host."""
    if cpe.part != "o":
        return None
    vendor, product = cpe.vendor_product
    if product in _SOLARIS:
        return "Solaris"
    if vendor == "linux" or "linux" in product:
        return "Linux"
    if vendor == "microsoft":
        return "Windows" if product.startswith("windows") else None
    if vendor in _LINUX_VENDORS:
        return "Linux"
    return _OS_FAMILIES.get(vendor)


def match_service(criterion: Criterion, subject: Subject) -> int:
    if subject.is_range:
        result = match_span(criterion, subject)
    elif subject.version is None:
        result = TRUE if criterion.every_version else FALSE
    else:
        result = match_point(criterion, subject)
    return UNKNOWN if result == TRUE and criterion.restricted else result


def match_point(criterion: Criterion, subject: Subject) -> int:
    """One version against one criterion (policy in the docstrings of the pieces)."""
    if criterion.version_na:
        return FALSE
    if criterion.exact is not None:
        if not _exact_matches(criterion, subject):
            return FALSE
    elif not _update_matches(criterion.update, subject.update):
        return FALSE
    return TRUE if _within_bounds(criterion, subject.full, subject.base) else FALSE


def _exact_matches(criterion: Criterion, subject: Subject) -> bool:
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


def match_span(criterion: Criterion, subject: Subject) -> int:
    """An Nmap version range: true only if every version of the range matches, false if none
    can, unknown (so ``conditional``) when the range straddles the criterion."""
    low, high = subject.low, subject.high
    if criterion.version_na:
        return FALSE
    if criterion.exact is not None:
        target = criterion.exact_full or criterion.exact
        if (low is not None and target < low) or (high is not None and target > high):
            return FALSE
        return TRUE if low == high == target else UNKNOWN
    if _below_start(criterion, high) or _above_end(criterion, low):
        return FALSE
    # An open end is covered only by a criterion without a bound on that side.
    whole = (criterion.start is None if low is None else _covers(criterion, low)) and (
        criterion.end is None if high is None else _covers(criterion, high)
    )
    return TRUE if whole and criterion.update == ANY else UNKNOWN


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


def _covers(criterion: Criterion, key: Key) -> bool:
    return not _below_start(criterion, key) and not _above_end(criterion, key)


def match_platform(criterion: Criterion, platform: tuple[Platform, ...]) -> int:
    """A platform condition against the platform facts.

    True when a fact with the same vendor:product satisfies it (version and restricted
    attributes included); unknown while a fact lacks what it would need (an OS CPE without
    version). False, for an OS or hardware condition only, when the facts show another release
    of that product, an OS or hardware of another vendor (``linux:linux_kernel`` excepted on
    either side, as every distribution runs it), or an OS of another family (:func:`os_family`:
    Windows against ``linux:linux_kernel``). Otherwise unknown: the scan cannot see every
    application on a host, so their absence proves nothing.
    """
    cpe = criterion.cpe
    exclusive = cpe.part in _EXCLUSIVE_PARTS
    if contradicting(criterion, platform):
        return FALSE
    same = [fact for fact in platform if fact.cpe.vendor_product == criterion.pair]
    results = [_match_fact(criterion, fact) for fact in same]
    if results:
        best = max(results)
        return best if best != FALSE or exclusive else UNKNOWN
    if exclusive and criterion.pair not in _UMBRELLA_OS:
        for fact in platform:
            other = fact.cpe
            if (
                other.part == cpe.part
                and other.vendor != cpe.vendor
                and other.vendor_product not in _UMBRELLA_OS
            ):
                return FALSE
    return UNKNOWN


def contradicting(criterion: Criterion, platform: tuple[Platform, ...]) -> tuple[Platform, ...]:
    """The OS facts of another OS family than the condition's (Windows against a Linux host)."""
    family = os_family(criterion.cpe)
    if family is None:
        return ()
    return tuple(fact for fact in platform if os_family(fact.cpe) not in (None, family))


def _match_fact(criterion: Criterion, fact: Platform) -> int:
    """One platform fact against one condition. A fact without version satisfies a ``-``
    (not applicable) version, as hardware CPEs have, and leaves any other version unknown."""
    result = TRUE
    for name, value in criterion.restricted:
        seen = getattr(fact.cpe, name)
        if seen in (ANY, NA):
            result = UNKNOWN
        elif seen != value:
            return FALSE
    if criterion.version_na:
        return result if fact.subject is None else FALSE
    if fact.subject is None:
        return result if criterion.every_version else UNKNOWN
    return min(result, match_point(criterion, fact.subject))


def rules_applied(criterion: Criterion, subject: Subject) -> tuple[str, ...]:
    """The legacy-encoding rules by which ``criterion`` matches ``subject``."""
    literal = criterion.exact in (subject.version, subject.full)
    if criterion.letters and criterion.exact == subject.letter and not literal:
        return (*criterion.rules, LETTER_RELEASE)
    return criterion.rules


def rule_note(criterion: Criterion, subject: Subject) -> str:
    rules = rules_applied(criterion, subject)
    if LETTER_RELEASE in rules:
        return (
            f" (rule {LETTER_RELEASE}: {subject.label} is a letter release of "
            f"{criterion.cpe.version}, inside the span the CVE lists)"
        )
    return f" (rule {', '.join(rules)}: read as {criterion.reading})" if rules else ""


def doubt(criterion: Criterion, subject: Subject) -> str:
    """What keeps ``criterion`` from matching surely: attributes the scan cannot see (a range
    the criterion straddles is said by the ``version-range`` confidence instead)."""
    attributes = ", ".join(f"{name} {value}" for name, value in criterion.restricted)
    return f"{attributes} (required by {criterion.description}; not detected by the scan)"
