"""JSON from outside, read within bounds."""

from __future__ import annotations

import io
import json
import time

import pytest

from brulee.util.boundedjson import JsonError, events, iter_items, load_json


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


def test_items_are_those_ijson_names_by_prefix() -> None:
    data = b'{"head": 1, "list": [{"cve": {"id": 1}}, {"cve": {"id": 2, "x": [[]]}}], "tail": [3]}'
    assert list(iter_items(io.BytesIO(data), "list.item.cve", max_depth=6)) == [
        {"id": 1}, {"id": 2, "x": [[]]},
    ]  # fmt: skip
    assert list(iter_items(io.BytesIO(data), "tail.item", max_depth=6)) == [3]
    assert list(iter_items(io.BytesIO(data), "", max_depth=6)) == [json.loads(data)]


def test_a_deep_record_is_refused_by_its_number_fast_and_in_little_memory() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    data = b'{"list": [{"ok": 1}, {"deep": ' + deep + b"}]}"
    started = time.perf_counter()
    with pytest.raises(JsonError, match=r"^nested deeper than 8 levels in record 2 \(list.item\)$"):
        list(iter_items(io.BytesIO(data), "list.item", max_depth=8))
    assert time.perf_counter() - started < 1.0


def test_a_long_string_is_refused() -> None:
    with pytest.raises(JsonError, match="a string of more than 10 characters"):
        load_json(b'["' + b"x" * 11 + b'"]', max_depth=2, max_string=10)
    with pytest.raises(JsonError, match="a string of more than 10 characters"):
        load_json(b'{"' + b"k" * 11 + b'": 1}', max_depth=2, max_string=10)
    assert load_json(b'["' + b"x" * 10 + b'"]', max_depth=2, max_string=10) == ["x" * 10]


def test_events_carry_their_depth() -> None:
    found = list(events(io.BytesIO(b'{"a": [1]}'), max_depth=2))
    assert found == [
        (0, "start_map", None), (1, "map_key", "a"), (1, "start_array", None),
        (2, "number", 1), (1, "end_array", None), (0, "end_map", None),
    ]  # fmt: skip
