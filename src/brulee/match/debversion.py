"""Debian package versions, parsed and ordered exactly as dpkg does (Debian Policy 5.6.12).

A version is ``[epoch:]upstream_version[-debian_revision]``:

* ``epoch`` is a decimal number before the *first* colon, 0 when absent;
* ``debian_revision`` is everything after the *last* hyphen, empty when there is none (dpkg
  orders an absent revision like ``0``);
* ``upstream_version`` is the rest: it must start with a digit and may hold letters, digits and
  ``. + ~``, plus ``-`` (only when a revision follows) and ``:`` (only after an epoch); the
  revision may hold letters, digits and ``. + ~``.

Ordering (dpkg's ``verrevcmp``): epochs compare numerically; then upstream versions, then
revisions, each by alternating runs: the leading non-digit run compares character by
character, where ``~`` sorts before everything (even the end of the run), then the end of the
run, then letters (by ASCII), then all other characters (by ASCII); the following digit run
compares numerically (an absent run counts as 0). So ``1.0~rc1 < 1.0 < 1.0+b1 < 1.0.1``,
``1.0~~ < 1.0~`` and ``1:1.0 > 2.0``.

Parsing is stricter than ``dpkg --compare-versions``, which only warns about a version that does
not start with a digit or holds an invalid character: such text is rejected here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_EPOCH = re.compile(r"[0-9]+")
_UPSTREAM = re.compile(r"[0-9][A-Za-z0-9.+~:-]*")
_REVISION = re.compile(r"[A-Za-z0-9.+~]+")
_DIGITS = frozenset("0123456789")
_RUNS = re.compile(r"([^0-9]*)([0-9]*)")
_MAX_EPOCH = 2**31 - 1
"""dpkg stores the epoch in an ``int``."""


class DebianVersionError(ValueError):
    """Text that is not a valid Debian package version."""


@dataclass(frozen=True, slots=True, eq=False)
class DebianVersion:
    """A Debian package version; ``==``, ``<`` and ``hash`` follow dpkg's ordering.

    Versions that dpkg considers equal are equal here too (``1.0 == 1.00 == 0:1.0-0``).
    """

    epoch: int
    upstream: str
    revision: str = ""

    @classmethod
    def parse(cls, text: str) -> DebianVersion:
        """Parse ``text``; raise :class:`DebianVersionError` if it is not a valid version."""
        return _parse(text)

    def __str__(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch else ""
        revision = f"-{self.revision}" if self.revision else ""
        return f"{epoch}{self.upstream}{revision}"

    def _compare(self, other: DebianVersion) -> int:
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        return _verrevcmp(self.upstream, other.upstream) or _verrevcmp(
            self.revision, other.revision
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._compare(other) == 0

    def __hash__(self) -> int:
        return hash((self.epoch, _canonical(self.upstream), _canonical(self.revision)))

    def __lt__(self, other: DebianVersion) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._compare(other) < 0

    def __le__(self, other: DebianVersion) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._compare(other) <= 0

    def __gt__(self, other: DebianVersion) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._compare(other) > 0

    def __ge__(self, other: DebianVersion) -> bool:
        if not isinstance(other, DebianVersion):
            return NotImplemented
        return self._compare(other) >= 0


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` is lower than, equal to or higher than ``b`` (dpkg order).

    Raises :class:`DebianVersionError` if either is not a valid version.
    """
    return _parse(a)._compare(_parse(b))


@lru_cache(maxsize=65536)
def _parse(text: str) -> DebianVersion:
    version = text.strip()
    if not version:
        raise DebianVersionError("empty version")
    if any(ch.isspace() for ch in version):
        raise DebianVersionError(f"version with embedded spaces: {text!r}")
    epoch = 0
    if ":" in version:
        epoch_text, version = version.split(":", 1)
        if not _EPOCH.fullmatch(epoch_text) or int(epoch_text) > _MAX_EPOCH:
            raise DebianVersionError(f"invalid epoch in version: {text!r}")
        epoch = int(epoch_text)
    upstream, hyphen, revision = version.rpartition("-")
    if not hyphen:
        upstream, revision = version, ""
    elif not revision:
        raise DebianVersionError(f"empty revision in version: {text!r}")
    elif not _REVISION.fullmatch(revision):
        raise DebianVersionError(f"invalid revision in version: {text!r}")
    if not _UPSTREAM.fullmatch(upstream):
        raise DebianVersionError(f"invalid upstream version in version: {text!r}")
    return DebianVersion(epoch, upstream, revision)


def _order(ch: str) -> int:
    """dpkg's weight of one character of a non-digit run."""
    if ch == "~":
        return -1
    if ch.isascii() and ch.isalpha():
        return ord(ch)
    return ord(ch) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's comparison of two upstream versions or two revisions: -1, 0 or 1."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and a[i] not in _DIGITS) or (j < len(b) and b[j] not in _DIGITS):
            ac = _order(a[i]) if i < len(a) and a[i] not in _DIGITS else 0
            bc = _order(b[j]) if j < len(b) and b[j] not in _DIGITS else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        start_a = i
        while i < len(a) and a[i] in _DIGITS:
            i += 1
        start_b = j
        while j < len(b) and b[j] in _DIGITS:
            j += 1
        number_a = int(a[start_a:i] or "0")
        number_b = int(b[start_b:j] or "0")
        if number_a != number_b:
            return -1 if number_a < number_b else 1
    return 0


def _canonical(part: str) -> tuple[tuple[str, int], ...]:
    """A form equal for exactly the strings :func:`_verrevcmp` finds equal (for hashing)."""
    runs = [(text, int(number or "0")) for text, number in _RUNS.findall(part)]
    while runs and runs[-1] == ("", 0):
        runs.pop()
    return tuple(runs)
