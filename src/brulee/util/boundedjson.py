"""JSON from outside (a VEX document, NVD feeds and API pages, the KEV catalog, export manifests),
read within bounds: nesting depth, string length, no duplicate keys, no ``NaN``.

ijson's own ``items``/``parse`` keep the dotted prefix of every open container, which grows with
the square of the nesting depth (a 200 KB file nested 100,000 deep took more than 23 GB): these
readers work from ``basic_parse`` events and refuse a document as soon as it goes beyond a bound.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import ijson  # its C (yajl2_c) backend when installed

_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = frozenset({"end_map", "end_array"})
_TEXT = frozenset({"string", "map_key"})
MAX_STRING = 1 << 20
"""Default cap on the length of one string or key (characters)."""


class JsonError(ValueError):
    """Not JSON, or JSON beyond the bounds; the message says which (and where, when it can)."""


def load_json(data: bytes, *, max_depth: int, max_string: int = MAX_STRING) -> Any:
    """The value ``data`` holds. JsonError for invalid JSON (``NaN`` included), nesting deeper
    than ``max_depth``, a string longer than ``max_string`` and objects that repeat a key (which
    readers resolve differently)."""
    (value,) = iter_items(io.BytesIO(data), "", max_depth=max_depth, max_string=max_string)
    return value


def events(
    stream: IO[bytes], *, max_depth: int, max_string: int = MAX_STRING
) -> Iterator[tuple[int, str, Any]]:
    """ijson's ``basic_parse`` events of ``stream`` with the depth each occurs at (0: the root
    value; a container's start and end events carry its own depth), within the bounds of
    :func:`load_json` (duplicate keys aside)."""
    depth = 0
    try:
        for event, value in ijson.basic_parse(stream, use_float=True):
            if event in _OPEN:
                if depth == max_depth:
                    raise JsonError(f"nested deeper than {max_depth} levels")
                yield depth, event, value
                depth += 1
                continue
            if event in _CLOSE:
                depth -= 1
            elif event in _TEXT and len(value) > max_string:
                raise JsonError(f"a string of more than {max_string:,} characters")
            yield depth, event, value
    except ijson.JSONError as exc:
        raise JsonError(f"not valid JSON ({_first_line(exc)})") from exc


def iter_items(
    stream: IO[bytes], prefix: str, *, max_depth: int, max_string: int = MAX_STRING
) -> Iterator[Any]:
    """Each value at ``prefix`` of ``stream``, as ``ijson.items`` names it (``a.item.b``; ``""``
    for the root value), built one at a time within the bounds of :func:`load_json`."""
    target = prefix.split(".") if prefix else []
    route: list[str] = []  # the prefix of the current position, outside the values built
    stack: list[Any] = []  # the containers of the value being built
    keys: list[str] = []
    item: Any = None
    count = 0
    try:
        for _, event, value in events(stream, max_depth=max_depth, max_string=max_string):
            if not stack:
                if event == "map_key":
                    route[-1] = value
                elif event in _CLOSE:
                    route.pop()
                elif route != target:
                    if event in _OPEN:
                        route.append("item" if event == "start_array" else "")
                elif event in _OPEN:
                    item = _OPEN[event]()
                    stack.append(item)
                    keys.append("")
                else:
                    count += 1
                    yield value
                continue
            if event == "map_key":
                if value in stack[-1]:
                    raise JsonError(f"duplicate key {value!r}")
                keys[-1] = value
                continue
            if event in _CLOSE:
                stack.pop()
                keys.pop()
                if not stack:
                    count += 1
                    yield item
                continue
            opened = _OPEN.get(event)
            child = opened() if opened else value
            if type(stack[-1]) is dict:
                stack[-1][keys[-1]] = child
            else:
                stack[-1].append(child)
            if opened:
                stack.append(child)
                keys.append("")
    except JsonError as exc:
        if not (stack and prefix):
            raise
        raise JsonError(f"{exc} in record {count + 1} ({prefix})") from exc


def _first_line(exc: Exception) -> str:
    """yajl's message without the excerpt of the input it appends (bytes, sometimes)."""
    text = exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
