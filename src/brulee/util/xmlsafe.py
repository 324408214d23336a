"""Hardened streaming XML for attacker-influenced files (Nmap XML, Canonical's OVAL): entities
are never resolved, DTDs never loaded, nothing is fetched from the network, and a document that
declares entities or references an external DTD is refused outright (XXE, entity expansion)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from lxml import etree

HARDENED: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
"""lxml parser options that keep a document from reaching outside itself."""

Element = Any  # lxml's _Element; lxml-stubs cannot express the pull parser's element type.
Event = Literal["start", "end"]


def pull_parser(events: Iterable[Event], tag: Iterable[str] | None = None) -> etree.XMLPullParser:
    """A hardened pull parser reporting ``events`` (for the elements ``tag`` names, or all)."""
    return etree.XMLPullParser(events=tuple(events), tag=tag, **HARDENED)


def refusal(element: Element) -> str | None:
    """Why the document holding ``element`` must be refused (its DOCTYPE references an external
    DTD or declares entities), or None. Call it on the root's start event."""
    docinfo = element.getroottree().docinfo
    if docinfo.system_url or docinfo.public_id:
        return "refused: the DOCTYPE references an external DTD"
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        return "refused: the DOCTYPE declares entities (XXE or entity expansion)"
    return None


def forget(element: Element) -> None:
    """Free a processed element and the siblings read before it, so that memory stays flat."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]
