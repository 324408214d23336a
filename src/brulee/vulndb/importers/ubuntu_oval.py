"""Canonical's Ubuntu CVE OVAL (``com.ubuntu.<release>.cve.oval.xml``), read as a stream with the
hardened parser. A pure reader: it yields what the file says; ``importers.ubuntu`` stores it.

One file describes one release. Each ``<definition class="vulnerability">`` is a CVE that
Canonical tracks for the release (placeholders without a ``<reference source="CVE">``, such as
``CVE-2013-NNN1``, are skipped): its priority, public date and USN references, and per source
package a ``<criterion>`` whose comment states Canonical's status::

    openssh package in focal was vulnerable but has been fixed (note: '1:8.2p1-4ubuntu0.2').

The criterion points at a ``dpkginfo_test``; when the package is fixed the test has a
``dpkginfo_state`` whose ``evr`` is the fixed version, epoch included (``less than`` it is
vulnerable). Comment forms and the statuses they map to (the Ubuntu CVE tracker's words):

* ``was vulnerable but has been fixed`` -> ``released``; ``..., is related to the CVE in some way
  and has been fixed`` -> ``not-affected`` (fixed at that version, typically before the release);
  ``was vulnerable and has been fixed, but no release version available for it`` -> ``released``
  without a version;
* ``is affected and needs fixing`` -> ``needed``; ``is affected and may need fixing`` ->
  ``needs-triage``; ``is affected, but a decision has been made to defer addressing it`` ->
  ``deferred``; ``is affected. An update containing the fix has been completed and is pending
  publication`` -> ``pending`` (with a state when a version is given);
* ``PKG: while related to the CVE in some way, a decision has been made to ignore this issue`` ->
  ``ignored``.

Each may end with ``(note: '...')``. Criteria of other forms (the release check, kernel checks)
are skipped; a file in which no criterion has a known form is refused, as the format changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal

from lxml import etree

from brulee.util.xmlsafe import Element, forget, pull_parser, refusal
from brulee.vulndb.importers.base import CVE_ID, MAX_VERSION, Malformed, checked_release

Status = Literal[
    "released", "not-affected", "pending", "needed", "needs-triage", "deferred", "ignored"
]

OVAL = "{http://oval.mitre.org/XMLSchema/oval-definitions-5}"
COMMON = "{http://oval.mitre.org/XMLSchema/oval-common-5}"
LINUX = "{http://oval.mitre.org/XMLSchema/oval-definitions-5#linux}"
GENERATOR = "Canonical CVE OVAL Generator"
SNIFF_OVAL = re.compile(rb"<oval_definitions[\s>]")

_CHUNK = 1 << 16
_PACKAGE = r"(?P<package>[a-z0-9][a-z0-9.+-]*)"
_NOTE = r"(?: \(note: '(?P<note>.*)'\))?\."
_COMMENTS: tuple[tuple[Status, str], ...] = (
    ("released", rf"{_PACKAGE} package in \S+ was vulnerable but has been fixed"),
    ("released", rf"{_PACKAGE} package in \S+ was vulnerable and has been fixed, "
                 "but no release version available for it"),
    ("not-affected", rf"{_PACKAGE} package in \S+, is related to the CVE in some way and "
                     "has been fixed"),
    ("needed", rf"{_PACKAGE} package in \S+ is affected and needs fixing"),
    ("needs-triage", rf"{_PACKAGE} package in \S+ is affected and may need fixing"),
    ("deferred", rf"{_PACKAGE} package in \S+ is affected, but a decision has been made to "
                 "defer addressing it"),
    ("pending", rf"{_PACKAGE} package in \S+ is affected. An update containing the fix has "
                "been completed and is pending publication"),
    ("ignored", rf"{_PACKAGE}: while related to the CVE in some way, a decision has been "
                "made to ignore this issue"),
)  # fmt: skip
_FORMS = tuple((status, re.compile(pattern + _NOTE)) for status, pattern in _COMMENTS)
_DEFINITION_ID = re.compile(r"oval:com\.ubuntu\.(?P<release>[a-z]+):def:[0-9]+")
_USN = re.compile(r"USN-[0-9]+-[0-9]+")
_USN_ATTRIBUTE = re.compile(r"[0-9]+-[0-9]+")


@dataclass(frozen=True, slots=True)
class Header:
    """Which release the file describes and when Canonical generated it."""

    release: str
    """Code name: ``focal``."""
    generated: str
    """The generator's timestamp, ISO 8601 UTC: ``2021-08-31T04:30:15+00:00``."""
    generator_version: str


@dataclass(frozen=True, slots=True)
class Criterion:
    """Canonical's status of one source package for the definition's CVE."""

    package: str
    status: Status
    note: str | None
    """The ``(note: '...')`` text: the fixed version, a date, a reason."""
    test_ref: str


@dataclass(frozen=True, slots=True)
class Definition:
    """One CVE tracked for the release."""

    cve: str
    priority: str
    """Canonical's priority, lowercase: ``negligible``, ``low``, ``medium``, ``high``..."""
    public_date: str
    usns: tuple[str, ...]
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class DpkgTest:
    """A ``dpkginfo_test``: the state a package must satisfy (none: any version matches)."""

    id: str
    state_ref: str | None


@dataclass(frozen=True, slots=True)
class DpkgState:
    """A ``dpkginfo_state``: the version bound (``evr``) and how it applies."""

    id: str
    evr: str
    operation: str


Record = Header | Definition | DpkgTest | DpkgState


def read_oval(stream: IO[bytes]) -> Iterator[Record]:
    """The records of one CVE OVAL file: its Header first (once the first definition is read),
    then each vulnerability Definition, Test and State in file order.

    Raises Malformed for a document that is not well-formed or is truncated, declares entities
    or references a DTD, has another root, is not Canonical's CVE OVAL, mixes releases, or holds
    no package status brulee can read.
    """
    reader = _Reader()
    for event, element in _events(stream):
        yield from reader.on(event, element)
    reader.finish()


def _events(stream: IO[bytes]) -> Iterator[tuple[str, Element]]:
    parser = pull_parser(("start", "end"))
    try:
        while chunk := stream.read(_CHUNK):
            parser.feed(chunk)
            yield from parser.read_events()
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise Malformed(f"not well-formed XML, or cut off ({exc})") from exc
    yield from parser.read_events()


class _Reader:
    """Turns parser events into records, keeping only the element being read."""

    def __init__(self) -> None:
        self.depth = 0
        self.generator: tuple[str, str, str] | None = None
        self.header: Header | None = None
        self.known_statuses = 0

    def on(self, event: str, element: Element) -> Iterator[Record]:
        if event == "start":
            if self.depth == 0:
                _check_root(element)
            self.depth += 1
            return
        self.depth -= 1
        if self.depth == 1:
            if element.tag == f"{OVAL}generator":
                self.generator = _generator(element)
            forget(element)
        elif self.depth == 2 and element.getparent().tag != f"{OVAL}generator":
            yield from self._record(element)
            forget(element)

    def _record(self, element: Element) -> Iterator[Record]:
        tag = element.tag
        if tag == f"{OVAL}definition":
            header = self._header(element.get("id", ""))
            if self.header is None:
                self.header = header
                yield header
            definition = _definition(element) if element.get("class") == "vulnerability" else None
            if definition is not None:
                self.known_statuses += len(definition.criteria)
                yield definition
        elif tag == f"{LINUX}dpkginfo_test":
            state = element.find(f"{LINUX}state")
            yield DpkgTest(_id(element), None if state is None else state.get("state_ref"))
        elif tag == f"{LINUX}dpkginfo_state":
            evr = element.find(f"{LINUX}evr")
            if evr is None or not (evr.text or "").strip():
                raise Malformed(f"dpkginfo_state {_id(element)} has no evr version")
            if len(evr.text.strip()) > MAX_VERSION:
                raise Malformed(
                    f"dpkginfo_state {_id(element)}: evr of {len(evr.text):,} characters"
                )
            yield DpkgState(_id(element), evr.text.strip(), evr.get("operation", "equals"))

    def _header(self, definition_id: str) -> Header:
        found = _DEFINITION_ID.fullmatch(definition_id)
        if found is None:
            raise Malformed(f"definition id {definition_id[:80]!r} is not Canonical's")
        if self.header is not None:
            if found["release"] != self.header.release:
                raise Malformed(
                    f"definitions of two releases ({self.header.release}, {found['release']})"
                )
            return self.header
        if self.generator is None:
            raise Malformed("no <generator> before the definitions")
        product, version, timestamp = self.generator
        if product != GENERATOR:
            raise Malformed(f"generated by {product[:60]!r}, not the {GENERATOR}")
        return Header(found["release"], timestamp, version)

    def finish(self) -> None:
        """Raise Malformed if the file held no definition, or no status brulee can read."""
        if self.header is None:
            raise Malformed("no OVAL definition in the file")
        if not self.known_statuses:
            raise Malformed("no package status in a form brulee knows (has the format changed?)")


def _check_root(element: Element) -> None:
    refused = refusal(element)
    if refused:
        raise Malformed(refused)
    if element.tag != f"{OVAL}oval_definitions":
        name = etree.QName(element).localname
        raise Malformed(f"root element <{name}> is not OVAL's <oval_definitions>")


def _id(element: Element) -> str:
    ident = element.get("id")
    if not ident:
        raise Malformed(f"an OVAL <{etree.QName(element).localname}> without id")
    return str(ident)


def _generator(element: Element) -> tuple[str, str, str]:
    product = (element.findtext(f"{COMMON}product_name") or "").strip()
    version = (element.findtext(f"{COMMON}product_version") or "").strip()
    stamp = (element.findtext(f"{COMMON}timestamp") or "").strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", stamp):
        raise Malformed(f"generator timestamp {stamp[:40]!r} is not YYYY-MM-DDTHH:MM:SS")
    try:
        checked_release(stamp, "generator timestamp", version, "generator product_version",
                        MAX_VERSION)  # fmt: skip
    except ValueError as exc:
        raise Malformed(str(exc)) from exc
    return product, version, f"{stamp}+00:00"


def _definition(element: Element) -> Definition | None:
    """The definition's CVE and statuses; None for Canonical's placeholders (``CVE-2013-NNN1``,
    no CVE reference), which no CVE database knows."""
    metadata = element.find(f"{OVAL}metadata")
    if metadata is None:
        raise Malformed(f"definition {_id(element)} has no metadata")
    cve = ""
    for reference in metadata.iterfind(f"{OVAL}reference"):
        if reference.get("source") == "CVE":
            cve = reference.get("ref_id", "")
            break
    if not CVE_ID.fullmatch(cve):
        return None
    advisory = metadata.find(f"{OVAL}advisory")
    priority = public = ""
    usns: dict[str, None] = {}
    if advisory is not None:
        priority = (advisory.findtext(f"{OVAL}severity") or "").strip().lower()
        public = (advisory.findtext(f"{OVAL}public_date") or "").strip()
        for ref in advisory.iterfind(f"{OVAL}ref"):
            usns.update(dict.fromkeys(_USN.findall(ref.text or "")))
        for tag in advisory.iterfind(f"{OVAL}cve"):
            found = _USN_ATTRIBUTE.findall(tag.get("usns", ""))
            usns.update(dict.fromkeys(f"USN-{usn}" for usn in found))
    criteria = tuple(
        criterion
        for node in element.iter(f"{OVAL}criterion")
        if (criterion := _criterion(node)) is not None
    )
    return Definition(cve, priority, public, tuple(usns), criteria)


def _criterion(node: Element) -> Criterion | None:
    comment = node.get("comment", "")
    for status, form in _FORMS:
        found = form.fullmatch(comment)
        if found:
            note = found["note"].strip() if found["note"] else None
            return Criterion(found["package"], status, note or None, node.get("test_ref", ""))
    return None
