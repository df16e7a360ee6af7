from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs.plans import (
    PLAN_STATUSES,
    PlanDisplayAlias,
    PlanSpec,
    PlanStatus,
    define_plan,
)
from flowai_harness.specs.schema import normalize_schema

PROMO_SCHEMA = {"type": "object", "properties": {"actions": {"type": "array"}}}


class ChangePlan(BaseModel):
    rationale: str
    actions: list[dict[str, Any]]


def test_plan_statuses_follow_the_literal() -> None:
    assert typing.get_args(PlanStatus) == PLAN_STATUSES
    assert PLAN_STATUSES == ("draft", "approved", "executing", "executed", "failed")


def test_define_plan_pins_the_wire_dict() -> None:
    plan = define_plan("Promo", PROMO_SCHEMA, {"draft": "Proposed"})
    assert plan.to_wire() == {
        "name": "Promo",
        "schema": {"type": "object", "properties": {"actions": {"type": "array"}}},
        "displayAliases": [{"status": "draft", "alias": "Proposed"}],
    }


def test_define_plan_without_aliases_has_an_empty_alias_list() -> None:
    assert define_plan("Promo", PROMO_SCHEMA).to_wire() == {
        "name": "Promo",
        "schema": PROMO_SCHEMA,
        "displayAliases": [],
    }


def test_none_display_aliases_become_an_empty_list() -> None:
    assert define_plan("Promo", PROMO_SCHEMA, None).display_aliases == []


def test_a_mapping_of_every_status_keeps_its_order() -> None:
    aliases = {status: status.title() for status in reversed(PLAN_STATUSES)}
    plan = define_plan("Promo", PROMO_SCHEMA, aliases)
    assert plan.to_wire()["displayAliases"] == [
        {"status": "failed", "alias": "Failed"},
        {"status": "executed", "alias": "Executed"},
        {"status": "executing", "alias": "Executing"},
        {"status": "approved", "alias": "Approved"},
        {"status": "draft", "alias": "Draft"},
    ]


def test_an_iterable_of_aliases_and_mappings_is_accepted() -> None:
    plan = define_plan(
        "Promo",
        PROMO_SCHEMA,
        (
            PlanDisplayAlias(status="draft", alias="Proposed"),
            {"status": "approved", "alias": "Signed off"},
        ),
    )
    assert plan.display_aliases == [
        PlanDisplayAlias(status="draft", alias="Proposed"),
        PlanDisplayAlias(status="approved", alias="Signed off"),
    ]


def test_a_single_display_alias_is_accepted() -> None:
    alias = PlanDisplayAlias(status="failed", alias="Broken")
    assert define_plan("Promo", PROMO_SCHEMA, alias).display_aliases == [alias]


@pytest.mark.parametrize(
    "aliases",
    [
        {"pending_approval": "Waiting"},
        [{"status": "pending_approval", "alias": "Waiting"}],
        {"Draft": "Proposed"},
        {1: "one"},
    ],
)
def test_an_unsupported_status_is_a_validation_error_listing_allowed_statuses(
    aliases: Any,
) -> None:
    with pytest.raises(ValidationError, match="unsupported plan display status") as exc:
        define_plan("Promo", PROMO_SCHEMA, aliases)
    assert "draft, approved, executing, executed, failed" in str(exc.value)


def test_plan_display_alias_rejects_unsupported_status_directly() -> None:
    with pytest.raises(ValidationError, match="unsupported plan display status 'done'"):
        PlanDisplayAlias(status="done", alias="Done")  # type: ignore[arg-type]


def test_plan_display_alias_wire_shape() -> None:
    assert PlanDisplayAlias(status="executed", alias="Done").to_wire() == {
        "status": "executed",
        "alias": "Done",
    }


@pytest.mark.parametrize("bad", ["draft", 5, b"draft"])
def test_display_aliases_of_the_wrong_shape_are_a_validation_error(bad: Any) -> None:
    with pytest.raises(ValidationError, match="display_aliases must be None, a"):
        define_plan("Promo", PROMO_SCHEMA, bad)


def test_a_repeated_status_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="duplicate plan display status 'draft'"):
        define_plan(
            "Promo",
            PROMO_SCHEMA,
            [{"status": "draft", "alias": "A"}, {"status": "draft", "alias": "B"}],
        )


def test_schema_is_normalised_from_a_pydantic_model() -> None:
    plan = define_plan("ChangePlan", ChangePlan)
    assert plan.schema_ == normalize_schema(ChangePlan)
    assert plan.to_wire()["schema"]["required"] == ["rationale", "actions"]


def test_schema_is_normalised_from_a_type_map() -> None:
    plan = define_plan("Simple", {"actions": list[dict[str, Any]]})
    assert plan.schema_ == {
        "type": "object",
        "properties": {"actions": {"type": "array", "items": {"type": "object"}}},
        "required": ["actions"],
    }


def test_malformed_json_schema_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="schema 'properties' must be an object"):
        define_plan("Promo", {"type": "object", "properties": ["actions"]})


def test_unsupported_schema_input_is_a_type_error() -> None:
    with pytest.raises(SpecTypeError, match="unsupported schema input"):
        define_plan("Promo", object())


def test_empty_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="name"):
        define_plan("", PROMO_SCHEMA)


def test_model_validate_accepts_camel_case_keys() -> None:
    plan = PlanSpec.model_validate(
        {
            "name": "Promo",
            "schema": PROMO_SCHEMA,
            "displayAliases": [{"status": "draft", "alias": "Proposed"}],
        }
    )
    assert plan == define_plan("Promo", PROMO_SCHEMA, {"draft": "Proposed"})


def test_model_validate_accepts_snake_case_keys() -> None:
    plan = PlanSpec.model_validate(
        {"name": "Promo", "schema_": PROMO_SCHEMA, "display_aliases": {"draft": "Proposed"}}
    )
    assert plan == define_plan("Promo", PROMO_SCHEMA, {"draft": "Proposed"})


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="description"):
        PlanSpec.model_validate({"name": "Promo", "schema": PROMO_SCHEMA, "description": "x"})
    with pytest.raises(ValidationError, match="label"):
        PlanDisplayAlias.model_validate({"status": "draft", "alias": "A", "label": "x"})


def test_plan_spec_is_frozen() -> None:
    plan = define_plan("Promo", PROMO_SCHEMA)
    with pytest.raises(ValidationError):
        plan.name = "Other"  # type: ignore[misc]


_aliases = st.dictionaries(st.sampled_from(PLAN_STATUSES), st.text(max_size=12), max_size=5)
_schemas = st.sampled_from(
    [
        PROMO_SCHEMA,
        ChangePlan,
        {"actions": list[dict[str, Any]], "rationale": str | None},
        {"type": "object", "properties": {"actions": {"type": "array", "minItems": 1}}},
    ]
)


@settings(deadline=None)
@given(
    name=st.text(min_size=1, max_size=20),
    schema=_schemas,
    aliases=_aliases,
    as_list=st.booleans(),
)
def test_plan_spec_round_trips_through_the_wire(
    name: str, schema: Any, aliases: dict[str, str], as_list: bool
) -> None:
    display: Any = (
        [{"status": status, "alias": alias} for status, alias in aliases.items()]
        if as_list
        else aliases
    )
    plan = define_plan(name, schema, display)
    wire = plan.to_wire()
    assert wire["displayAliases"] == [
        {"status": status, "alias": alias} for status, alias in aliases.items()
    ]
    assert PlanSpec.model_validate(wire) == plan
    assert PlanSpec.model_validate(json.loads(json.dumps(wire))) == plan
