"""JSON conversions: canonical text for reference ids, compact text, callback results."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowai_harness.engine.jsonvalues import canonical_json, compact_json, to_json

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | finite_floats | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


# --------------------------------------------------------------------------- canonical_json


@given(json_values)
def test_canonical_json_parses_back_to_the_same_value(value: Any) -> None:
    assert json.loads(canonical_json(value)) == value


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8), st.randoms())
def test_canonical_json_does_not_depend_on_key_order(
    value: dict[str, Any], rnd: random.Random
) -> None:
    items = list(value.items())
    rnd.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(value)


json_values_without_floats = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values_without_floats)
def test_canonical_json_matches_sorted_compact_json_dumps_without_floats(value: Any) -> None:
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


@given(finite_floats)
def test_canonical_floats_round_trip_exactly(value: float) -> None:
    text = canonical_json(value)
    assert float(text) == value
    assert math.copysign(1.0, float(text)) == math.copysign(1.0, value)
    assert "+" not in text and "e-0" not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (100.0, "100.0"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (123.456, "123.456"),
        (1e15, "1000000000000000.0"),
        (1234567890123456.0, "1234567890123456.0"),
        (1e16, "1e16"),
        (1.5e300, "1.5e300"),
        (0.001, "0.001"),
        (1e-5, "0.00001"),
        (1.2e-5, "0.000012"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
    ],
)
def test_canonical_floats_follow_the_reference_engines_layout(value: float, text: str) -> None:
    assert canonical_json(value) == text


def test_canonical_json_is_compact_sorted_and_keeps_utf8_raw() -> None:
    value = {"z": [1, True, None], "a": {"é": 'ü\n"q"', "b": 2.0}}
    assert canonical_json(value) == '{"a":{"b":2.0,"é":"ü\\n\\"q\\""},"z":[1,true,null]}'


def test_canonical_json_escapes_control_characters_like_serde() -> None:
    assert canonical_json("\x01\t\x1f\x7f") == '"\\u0001\\t\\u001f\x7f"'


def test_canonical_json_writes_tuples_as_arrays() -> None:
    assert canonical_json({"t": (1, 2)}) == '{"t":[1,2]}'


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"x": object()}, {1, 2}])
def test_canonical_json_refuses_non_json_values(bad: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(bad)


# --------------------------------------------------------------------------- compact_json


@given(json_values)
def test_compact_json_parses_back_and_sorts_keys(value: Any) -> None:
    text = compact_json(value)
    assert json.loads(text) == value
    assert text == compact_json(json.loads(text))


def test_compact_json_handles_integers_beyond_64_bits() -> None:
    assert compact_json({"b": 2**70, "a": "é"}) == '{"a":"é","b":1180591620717411303424}'


# --------------------------------------------------------------------------- to_json


class Item(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(populate_by_name=True)
    item_name: str = pydantic.Field(alias="itemName")
    price: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


@given(json_values)
def test_to_json_returns_an_equal_copy_of_json_values(value: Any) -> None:
    out = to_json(value)
    assert out == value
    if isinstance(value, dict | list) and value:
        assert out is not value


def test_to_json_dumps_pydantic_models_by_field_name() -> None:
    assert to_json(Item(itemName="tea", price=2.5)) == {"item_name": "tea", "price": 2.5}
    assert to_json([Item(item_name="x", price=1)]) == [{"item_name": "x", "price": 1.0}]


def test_to_json_turns_tuples_into_lists_and_keys_into_strings() -> None:
    assert to_json({"t": (1, 2), 3: "x"}) == {"t": [1, 2], "3": "x"}


def test_to_json_keeps_big_integers() -> None:
    assert to_json({"n": 2**80}) == {"n": 2**80}


def test_to_json_copies_so_later_mutation_does_not_leak() -> None:
    value = {"rows": [1, 2]}
    out = to_json(value)
    value["rows"].append(3)
    assert out == {"rows": [1, 2]}


@pytest.mark.parametrize(
    "bad",
    [
        float("nan"),
        float("-inf"),
        {"x": float("nan")},
        [1.0, [float("inf")]],
        {1, 2},
        {"x": object()},
    ],
)
def test_to_json_refuses_values_that_are_not_json(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        to_json(bad)


def test_to_json_accepts_a_null_that_is_really_null() -> None:
    assert to_json({"x": None, "y": [None, 1.5]}) == {"x": None, "y": [None, 1.5]}


def test_to_json_of_a_dataclass_is_its_field_dict() -> None:
    assert to_json(Point(1, 2)) == {"x": 1, "y": 2}
