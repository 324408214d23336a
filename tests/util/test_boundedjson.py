"""JSON from outside, read within bounds."""

from __future__ import annotations

import pytest

from brulee.util.boundedjson import JsonError, load_json


def test_values_read_as_json_says() -> None:
    assert load_json(b'{"a": [1, 2.5, {"b": null}], "c": "\\u00e9", "d": true}', max_depth=3) == {
        "a": [1, 2.5, {"b": None}], "c": "\u00e9", "d": True,
    }  # fmt: skip
    assert load_json(b'"text"', max_depth=1) == "text"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[[[[1]]]]", "nested deeper than 3 levels"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 3 levels"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"a": NaN}', "not valid JSON (lexical error"),
        (b"", "not valid JSON (parse error: premature EOF)"),
        (b"[1] [2]", "trailing garbage"),
        (b'["\xff"]', "not valid JSON"),
    ],
)
def test_bad_or_unbounded_json_is_refused_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(JsonError) as caught:
        load_json(data, max_depth=3)
    assert message in str(caught.value) and str(caught.value).isprintable()
