from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.glimpses import glimpse, to_json_compatible


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Product(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    product_id: str = Field(alias="productId")
    price: Decimal
    added: dt.date


@dataclasses.dataclass
class Line:
    sku: str
    qty: int
    when: dt.datetime


# --- to_json_compatible -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, True, False, 0, -3, 1.5, "text", ""])
def test_json_scalars_pass_through(value: Any) -> None:
    assert to_json_compatible(value) == value
    assert type(to_json_compatible(value)) is type(value)


def test_pydantic_instances_use_model_dump_json_mode_with_field_names() -> None:
    product = Product(productId="p-1", price=Decimal("6.49"), added=dt.date(2026, 1, 2))
    assert to_json_compatible(product) == {
        "product_id": "p-1",
        "price": "6.49",
        "added": "2026-01-02",
    }


def test_dataclass_instances_become_dicts_recursively() -> None:
    line = Line("s-1", 2, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert to_json_compatible({"line": line}) == {
        "line": {"sku": "s-1", "qty": 2, "when": "2026-01-02T03:04:05+00:00"}
    }


def test_dataclass_classes_are_not_treated_as_instances() -> None:
    with pytest.raises(SpecTypeError, match="type"):
        to_json_compatible(Line)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("6.490"), "6.490"),
        (Decimal("-0.5"), "-0.5"),
    ],
)
def test_decimals_become_fixed_point_strings(value: Decimal, expected: str) -> None:
    assert to_json_compatible(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 6, 1), "2026-06-01"),
        (dt.datetime(2026, 6, 1, 12, 30), "2026-06-01T12:30:00"),
        (dt.time(8, 15), "08:15:00"),
    ],
)
def test_dates_and_times_become_iso_strings(value: Any, expected: str) -> None:
    assert to_json_compatible(value) == expected


def test_mapping_keys_become_strings() -> None:
    assert to_json_compatible(
        {1: "a", Decimal("1E+1"): "b", dt.date(2026, 1, 1): "c", Color.RED: "d", None: "e"}
    ) == {"1": "a", "10": "b", "2026-01-01": "c", "red": "d", "None": "e"}


def test_tuples_sets_and_generators_become_lists() -> None:
    assert to_json_compatible((1, (2, 3))) == [1, [2, 3]]
    assert to_json_compatible({5}) == [5]
    assert to_json_compatible(frozenset({"x"})) == ["x"]
    assert to_json_compatible(i * 2 for i in range(3)) == [0, 2, 4]


def test_enums_become_their_values() -> None:
    assert to_json_compatible(Color.RED) == "red"
    level = to_json_compatible(Level.HIGH)
    assert level == 3
    assert type(level) is int


def test_other_pydantic_serialisable_objects_are_converted() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert to_json_compatible(ident) == "12345678-1234-5678-1234-567812345678"
    assert to_json_compatible(Path("/tmp/x")) == "/tmp/x"
    assert to_json_compatible(b"abc") == "abc"


def test_unconvertible_objects_raise_a_type_error_naming_the_type() -> None:
    class Widget:
        pass

    with pytest.raises(SpecTypeError, match="cannot convert a value of type Widget to JSON"):
        to_json_compatible({"nested": [Widget()]})


def test_nested_values_end_up_json_serialisable() -> None:
    value = {
        "products": [Product(productId="p", price=Decimal("1"), added=dt.date(2026, 1, 1))],
        "lines": (Line("s", 1, dt.datetime(2026, 1, 1)),),
        "tags": {"a"},
        7: Decimal("2.50"),
    }
    converted = to_json_compatible(value)
    assert converted == {
        "products": [{"product_id": "p", "price": "1", "added": "2026-01-01"}],
        "lines": [{"sku": "s", "qty": 1, "when": "2026-01-01T00:00:00"}],
        "tags": ["a"],
        "7": "2.50",
    }
    assert json.loads(json.dumps(converted)) == converted


# --- glimpse ------------------------------------------------------------------------------------


def test_glimpse_of_a_list_counts_and_samples_three_items_by_default() -> None:
    assert glimpse(["a", "b", "c", "d", "e"]) == {"count": 5, "sample": ["a", "b", "c"]}


def test_glimpse_sample_items_are_json_friendly() -> None:
    assert glimpse([Decimal("1E+1"), dt.date(2026, 1, 1)], max_items=5) == {
        "count": 2,
        "sample": ["10", "2026-01-01"],
    }


def test_glimpse_of_a_mapping_is_that_dict() -> None:
    assert glimpse({"itemCount": 3, 1: (1, 2)}) == {"itemCount": 3, "1": [1, 2]}


def test_glimpse_of_a_pydantic_instance_is_its_json_dump() -> None:
    product = Product(productId="p-1", price=Decimal("2"), added=dt.date(2026, 1, 1))
    assert glimpse(product) == {"product_id": "p-1", "price": "2", "added": "2026-01-01"}


def test_glimpse_of_a_dataclass_is_its_dict() -> None:
    line = Line("s", 1, dt.datetime(2026, 1, 1))
    assert glimpse(line) == {"sku": "s", "qty": 1, "when": "2026-01-01T00:00:00"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", {"value": "hello"}),
        (b"hi", {"value": "hi"}),
        (42, {"value": 42}),
        (None, {"value": None}),
        (Decimal("1.50"), {"value": "1.50"}),
        (dt.date(2026, 1, 1), {"value": "2026-01-01"}),
        (Color.RED, {"value": "red"}),
    ],
)
def test_glimpse_of_a_scalar_wraps_it_in_value(value: Any, expected: dict[str, Any]) -> None:
    assert glimpse(value) == expected


def test_glimpse_of_sets_tuples_and_generators_uses_count_and_sample() -> None:
    assert glimpse((1, 2)) == {"count": 2, "sample": [1, 2]}
    assert glimpse({9}) == {"count": 1, "sample": [9]}
    assert glimpse((n for n in range(10)), max_items=2) == {"count": 10, "sample": [0, 1]}


def test_glimpse_with_zero_max_items_has_an_empty_sample() -> None:
    assert glimpse([1, 2], max_items=0) == {"count": 2, "sample": []}


def test_glimpse_rejects_negative_max_items() -> None:
    with pytest.raises(SpecValueError, match="max_items must be >= 0; got -1") as exc:
        glimpse([1], max_items=-1)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_glimpse_rejects_non_integer_max_items(bad: Any) -> None:
    with pytest.raises(SpecTypeError, match="max_items must be an integer"):
        glimpse([1], max_items=bad)


def test_glimpse_only_converts_sampled_items() -> None:
    class Widget:
        pass

    # An item outside the sample is never converted, so it cannot fail the glimpse.
    assert glimpse([1, Widget()], max_items=1) == {"count": 2, "sample": [1]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@given(
    items=st.lists(json_values, max_size=12), max_items=st.integers(0, 15), as_tuple=st.booleans()
)
def test_glimpse_of_a_sequence_has_count_and_bounded_sample(
    items: list[Any], max_items: int, as_tuple: bool
) -> None:
    value = tuple(items) if as_tuple else items
    result = glimpse(value, max_items=max_items)
    assert set(result) == {"count", "sample"}
    assert result["count"] == len(items)
    assert len(result["sample"]) == min(len(items), max_items)
    assert result["sample"] == to_json_compatible(items[:max_items])


@given(st.dictionaries(st.text(max_size=5) | st.integers(), json_values, max_size=5))
def test_glimpse_of_a_mapping_has_string_keys_and_is_json_serialisable(
    mapping: dict[Any, Any],
) -> None:
    result = glimpse(mapping)
    assert all(isinstance(key, str) for key in result)
    assert len(result) <= len(mapping)
    json.dumps(result)


@given(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text())
def test_glimpse_of_a_json_scalar_is_value(scalar: Any) -> None:
    assert glimpse(scalar) == {"value": scalar}


def test_a_model_with_an_unserialisable_field_raises_a_type_error() -> None:
    class Holder(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)

        thing: object

    class Widget:
        pass

    with pytest.raises(SpecTypeError, match="cannot convert Holder to JSON"):
        to_json_compatible(Holder(thing=Widget()))
