"""The hardened XML pull parser: no entity, no DTD, no network, and memory freed as it goes."""

from __future__ import annotations

import pytest

from brulee.util.xmlsafe import Element, forget, pull_parser, refusal


def _root_refusal(document: bytes) -> str | None:
    parser = pull_parser(("start",))
    parser.feed(document)
    _, root = next(iter(parser.read_events()))
    return refusal(root)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (b"<a><b/></a>", None),
        (b"<!DOCTYPE a><a/>", None),
        (
            b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a/>',
            "refused: the DOCTYPE declares entities (XXE or entity expansion)",
        ),
        (
            b'<!DOCTYPE a [<!ENTITY l0 "lol"><!ENTITY l1 "&l0;&l0;">]><a/>',
            "refused: the DOCTYPE declares entities (XXE or entity expansion)",
        ),
        (
            b'<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>',
            "refused: the DOCTYPE references an external DTD",
        ),
    ],
)
def test_refusal(document: bytes, why: str | None) -> None:
    assert _root_refusal(document) == why


def test_entities_are_never_expanded() -> None:
    parser = pull_parser(("end",), ("b",))
    parser.feed(b'<!DOCTYPE a [<!ENTITY x "expanded">]><a><b>&x;</b></a>')
    parser.close()
    ((_, b),) = parser.read_events()
    element: Element = b
    assert "expanded" not in (element.text or "")


def test_forget_frees_the_element_and_what_came_before() -> None:
    parser = pull_parser(("end",), ("b",))
    parser.feed(b"<a>" + b"<b><c>text</c></b>" * 5 + b"</a>")
    parser.close()
    last: Element = None
    for _, element in parser.read_events():
        forget(element)
        last = element
    assert last is not None and len(last) == 0
    assert len(last.getparent()) == 1  # only the last <b> is left, emptied
