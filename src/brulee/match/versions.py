"""Version parsing, total ordering, and normalisation of the versions Nmap reports.

Ordering policy (:func:`parse_version`): a version is cut into runs of digits and runs of
letters; ``.``, ``-``, ``_``, ``+``, ``~``, spaces and other punctuation only separate runs, so
``9.11.5-P4`` and ``9.11.5p4`` are the same version. Runs then compare left to right:

* numbers compare numerically (``2.4.9 < 2.4.29``), and trailing zeros of the leading numeric
  part do not count (``1.0 == 1.0.0``, ``1.0rc1 == 1.0.0rc1``);
* a pre-release tag sorts *before* the release it precedes (``1.0rc1 < 1.0``,
  ``1.0-beta2 < 1.0``): the words ``dev``/``snapshot`` < ``alpha`` < ``beta`` <
  ``milestone`` < ``pre``/``preview`` < ``rc``, and the single letters ``a``, ``b``, ``m``
  when a number follows them (``9.7.2b1`` is a beta, ``9.0.0.M3`` a milestone);
* any other letters are a post-release: ``1.0.2 < 1.0.2a < 1.0.2k < 1.0.2za``,
  ``7.4 < 7.4p1 < 7.4p2 < 7.5``; between themselves such letters compare as text;
* a post-release sorts before a further numeric segment (``1.3.5b < 1.3.5.1``);
* a whole segment ``x`` is a wildcard that sorts above every concrete value at its place, so
  ``4.x`` is the highest of all ``4.*`` versions (Nmap writes ranges such as ``3.X - 4.X``);
* a leading ``v`` before a digit is ignored (``v1.2 == 1.2``).

The order is total: any two parsed versions compare, however odd their text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

Segment = tuple[int, int, str]
"""One comparable run: (rank, number, text). Ranks order the kinds of runs, see below."""

_PRE, _END, _POST, _NUM, _WILD = 0, 1, 2, 3, 4
_END_OF_VERSION: Segment = (_END, 0, "")
"""Closes every key, so that plain tuple comparison orders ``1.0rc1 < 1.0 < 1.0p1 < 1.0.1``."""
_WILD_MARK = "\x00"
_RUN = re.compile(r"\d+|[a-z]+|\x00")
_WILDCARD_SEGMENT = re.compile(r"(?:^|(?<=[.\-_ ]))x(?=$|[.\-_ ])")
_PRE_WORDS = {
    "dev": 0,
    "snapshot": 0,
    "alpha": 1,
    "beta": 2,
    "milestone": 3,
    "pre": 4,
    "preview": 4,
    "rc": 5,
}
_PRE_LETTERS = {"a": 1, "b": 2, "m": 3}


class VersionError(ValueError):
    """Text that holds no version (no digit at all)."""


@dataclass(frozen=True, slots=True, order=True)
class Version:
    """A parsed version: ordered and compared by ``key``; ``text`` is kept for display."""

    key: tuple[Segment, ...] = field(repr=False)
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version:
    """Parse ``text`` into a :class:`Version`; raise :class:`VersionError` if it has no digit."""
    if not any(ch.isdigit() for ch in text):
        raise VersionError(f"not a version: {text!r}")
    return Version(version_key(text), text)


@lru_cache(maxsize=65536)
def version_key(text: str) -> tuple[Segment, ...]:
    """The ordering key of ``text`` (see the module docstring for the rules)."""
    lowered = _WILDCARD_SEGMENT.sub(_WILD_MARK, text.strip().lower())
    runs = _RUN.findall(lowered)
    if len(runs) > 1 and runs[0] == "v" and runs[1].isdigit():
        runs = runs[1:]
    following = [*runs[1:], ""]
    segments = [_segment(run, after) for run, after in zip(runs, following, strict=False)]
    return (*_strip_release_zeros(segments), _END_OF_VERSION)


_MAX_DIGITS = 64
"""A numeric run longer than this (only hostile data has one) counts as one huge number: every
such run compares equal, above any real version number, and ``int`` never sees thousands of
digits (Python refuses over 4,300)."""
_HUGE = 10**_MAX_DIGITS


def _segment(run: str, following: str) -> Segment:
    if run.isdigit():
        digits = run.lstrip("0") or "0"
        return (_NUM, int(digits) if len(digits) <= _MAX_DIGITS else _HUGE, "")
    if run == _WILD_MARK:
        return (_WILD, 0, "")
    if run in _PRE_WORDS:
        return (_PRE, _PRE_WORDS[run], "")
    if run in _PRE_LETTERS and following.isdigit():
        return (_PRE, _PRE_LETTERS[run], "")
    return (_POST, 0, run)


def _strip_release_zeros(segments: list[Segment]) -> list[Segment]:
    """Drop trailing zeros of the leading numeric run (keeping one segment)."""
    run = 0
    while run < len(segments) and segments[run][0] == _NUM:
        run += 1
    end = run
    while end > 1 and segments[end - 1] == (_NUM, 0, ""):
        end -= 1
    return segments[:end] + segments[run:]


def is_numeric(text: str) -> bool:
    """Whether ``text`` has digit runs only (``9.3``, not ``9.3p2`` or ``1.3.5b``)."""
    return all(segment[0] == _NUM for segment in version_key(text)[:-1])


_LETTER_RELEASE = re.compile(r"(?P<base>\d+(?:\.\d+)*)(?P<letters>[a-z]{1,2})")


def letter_base(text: str) -> str | None:
    """The base of a letter release (``5.0.51a`` -> ``5.0.51``, ``0.9.8za`` -> ``0.9.8``); None
    for anything else (``1.0rc``, a pre-release word, is not a letter release)."""
    match = _LETTER_RELEASE.fullmatch(text.strip().lower())
    if not match or match["letters"] in _PRE_WORDS:
        return None
    return match["base"]


def is_prerelease(text: str) -> bool:
    """Whether ``text`` (an update such as ``rc1`` or ``beta``) starts with a pre-release tag."""
    return version_key(text)[0][0] == _PRE


# -- Nmap's version strings ------------------------------------------------------------------

_RANGE_OPEN_HIGH = re.compile(r"^(?P<low>\S+)\s+or\s+(?:later|newer|higher|above)$", re.I)
_RANGE_OPEN_LOW = re.compile(r"^(?P<high>\S+)\s+or\s+(?:earlier|older|lower|below)$", re.I)
_MARIADB = re.compile(r"^(?:5\.5\.5-)?(?P<upstream>\d[\w.]*)-mariadb(?:[-_~+](?P<rest>.*))?$", re.I)
_UPSTREAM = re.compile(r"^v?(?P<base>\d[0-9A-Za-z._]*)(?P<rest>.*)$")
_QUALIFIER = re.compile(r"^(?:[psabm]\d+|(?:rc|beta|alpha|pre|dev|milestone)\d*)$", re.I)

_PATCH_UPDATE = re.compile(r"^(?P<version>\d[\d.]*?)[-_.]?(?P<update>p\d+)$", re.I)
_BIND_UPDATE = re.compile(
    r"^(?P<version>\d[\d.]*?)[-_.]?(?P<update>(?:p|s|rc|b|a|beta|alpha)\d+(?:[-_.]?\w+)*)$", re.I
)
_LETTER_UPDATE = re.compile(r"^(?P<version>\d[\d.]*?)[-_.]?(?P<update>[a-z]+\d*)$", re.I)
_PRERELEASE_UPDATE = re.compile(
    r"^(?P<version>\d[\d.]*?)[-_.]?(?P<update>(?:alpha|beta|rc|pre|dev|milestone)\d*|m\d+)$", re.I
)
_UPDATE_CONVENTIONS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"\bopenssh\b", re.I), _PATCH_UPDATE),
    (re.compile(r"\bbind\b", re.I), _BIND_UPDATE),
    (re.compile(r"\bproftpd\b", re.I), _LETTER_UPDATE),
)
"""Products whose NVD CPEs carry a release suffix in the *update* field, as NVD writes them:
OpenSSH ``7.4:p1``, BIND ``9.11.5:p4`` / ``9.12.0:rc1`` / ``9.9.3:s1``, ProFTPD ``1.3.5:b``.
Every other product keeps letter releases in the version (OpenSSL ``1.0.2k``, Samba
``3.0.21a``) and splits off pre-release tags only (``1.0-beta2`` -> ``1.0`` + ``beta2``)."""


@dataclass(frozen=True, slots=True)
class NmapVersion:
    """What Nmap's version string says, normalised to NVD's CPE fields.

    ``version`` and ``update`` are the CPE version and update fields (``update`` lowercase,
    empty when there is none); ``suffix`` is distribution packaging, kept apart because NVD
    matches upstream versions only. A range (``9.6.0 - 9.6.4``) has ``is_range`` set, an empty
    ``version`` and its ends in ``low``/``high`` (an empty end is unbounded).
    """

    raw: str
    version: str = ""
    update: str = ""
    suffix: str = ""
    is_range: bool = False
    low: str = ""
    high: str = ""
    fingerprint: str = ""
    """Set when Nmap wrote a single version that is a fixed label of its match line
    (:mod:`brulee.match.nmap_labels`): what the label stands for."""

    @property
    def known(self) -> bool:
        """Whether Nmap reported a usable version (a single one or a range)."""
        return bool(self.version) or self.is_range

    @property
    def label(self) -> str:
        """Upstream version for display: ``7.4p1``, ``9.11.5p4``; a range as Nmap wrote it."""
        if self.is_range:
            return self.raw
        return f"{self.version}{self.update}"


def parse_nmap_version(product: str, version: str) -> NmapVersion:
    """Normalise Nmap's ``version`` for ``product`` (Nmap's product name).

    * Distribution suffixes are split off: ``7.4p1 Debian 10+deb9u7`` -> ``7.4p1`` +
      ``Debian 10+deb9u7``; ``9.11.5-P4-5.1+deb10u5`` -> ``9.11.5-P4`` + ``5.1+deb10u5``
      (dash-separated parts stay upstream only while they are release qualifiers such as
      ``P4``, ``S1``, ``rc1``, ``beta2``).
    * MariaDB's MySQL-protocol version ``5.5.5-10.1.26-MariaDB-0+deb9u1`` is ``10.1.26``.
    * The update field follows NVD's convention for the product (see
      ``_UPDATE_CONVENTIONS``): OpenSSH ``7.4p1`` -> ``7.4`` + ``p1``.
    * Ranges: ``A - B``, ``A or later``, ``A or earlier``; alternatives joined by ``or``
      (``9.4.13 - 9.4.15 or 9.4.22 - 9.4.26``) are reduced to their hull, lowest to highest,
      which can only widen the range; a version with an ``x`` segment (``5.X``) is the range
      of everything it covers.
    * Text without a leading digit gives an unknown version (``known`` is false).
    """
    raw = version.strip()
    span = _parse_range(raw)
    if span is not None:
        return NmapVersion(raw, is_range=True, low=span[0], high=span[1])
    upstream, suffix = split_suffix(raw)
    if not upstream:
        return NmapVersion(raw, suffix=suffix)
    if _WILDCARD_SEGMENT.search(upstream.lower()):
        return NmapVersion(
            raw, suffix=suffix, is_range=True, low=_lower_end(upstream), high=upstream.lower()
        )
    base, update = split_update(product, upstream)
    return NmapVersion(raw, base, update, suffix)


def split_suffix(text: str) -> tuple[str, str]:
    """Split ``text`` into its upstream version and the packaging suffix after it."""
    mariadb = _MARIADB.match(text)
    if mariadb:
        return mariadb["upstream"], (mariadb["rest"] or "").strip()
    match = _UPSTREAM.match(text)
    if not match:
        return "", text
    upstream, rest = match["base"], match["rest"]
    while rest.startswith("-"):
        part = rest[1:].split("-", 1)[0]
        head = re.match(r"[0-9A-Za-z]+", part)
        if not head or head.group() != part or not _QUALIFIER.match(part):
            break
        upstream += "-" + part
        rest = rest[1 + len(part) :]
    return upstream, rest.lstrip(" -+~_").strip()


def split_update(product: str, upstream: str) -> tuple[str, str]:
    """Split an upstream version into NVD's (version, update) for Nmap's ``product`` name."""
    pattern = next(
        (convention for name, convention in _UPDATE_CONVENTIONS if name.search(product)),
        _PRERELEASE_UPDATE,
    )
    match = pattern.match(upstream)
    if not match:
        return upstream.lower(), ""
    return match["version"].lower(), match["update"].lower()


def _parse_range(text: str) -> tuple[str, str] | None:
    """(low, high) of a range written by Nmap, ``""`` for an open end; None if not a range."""
    if match := _RANGE_OPEN_HIGH.match(text):
        return _lower_end(match["low"]), ""
    if match := _RANGE_OPEN_LOW.match(text):
        return "", match["high"].lower()
    alternatives = re.split(r"\s+or\s+", text, flags=re.I)
    if " - " not in text and len(alternatives) == 1:
        return None
    ends: list[str] = []
    for alternative in alternatives:
        ends.extend(part.strip() for part in alternative.split(" - "))
    if not all(ends) or not all(end[0].isdigit() for end in ends):
        return None
    lows = [_lower_end(end) for end in ends]
    low = min(lows, key=version_key)
    high = max((end.lower() for end in ends), key=version_key)
    return low, high


def _lower_end(text: str) -> str:
    """The lowest version a range end covers: ``3.X`` -> ``3``."""
    lowered = text.lower()
    match = _WILDCARD_SEGMENT.search(lowered)
    return lowered[: match.start()].rstrip(".-_ ") if match else lowered
