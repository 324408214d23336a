"""JSON from outside (a VEX document), read within bounds: nesting depth, no duplicate keys."""

from __future__ import annotations

import io
from typing import Any

import ijson  # its C (yajl2_c) backend when installed

_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = frozenset({"end_map", "end_array"})


class JsonError(ValueError):
    """Not JSON, or JSON beyond the bounds; the message says which (and where, when it can)."""


def load_json(data: bytes, *, max_depth: int) -> Any:
    """The value ``data`` holds. JsonError for invalid JSON (``NaN`` included), nesting deeper
    than ``max_depth`` and objects that repeat a key (which readers resolve differently)."""
    stack: list[Any] = []
    keys: list[str] = []
    root: Any = None
    try:
        for event, value in ijson.basic_parse(io.BytesIO(data), use_float=True):
            if event == "map_key":
                if value in stack[-1]:
                    raise JsonError(f"duplicate key {value!r}")
                keys[-1] = value
                continue
            if event in _CLOSE:
                stack.pop()
                keys.pop()
                continue
            opened = _OPEN.get(event)
            item = opened() if opened else value
            if not stack:
                root = item
            elif type(stack[-1]) is dict:
                stack[-1][keys[-1]] = item
            else:
                stack[-1].append(item)
            if opened:
                if len(stack) == max_depth:
                    raise JsonError(f"nested deeper than {max_depth} levels")
                stack.append(item)
                keys.append("")
    except ijson.JSONError as exc:
        raise JsonError(f"not valid JSON ({_first_line(exc)})") from exc
    return root


def _first_line(exc: Exception) -> str:
    """yajl's message without the excerpt of the input it appends (bytes, sometimes)."""
    text = exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__
