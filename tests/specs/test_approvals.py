from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.approvals import (
    ApprovalOverrides,
    ApprovalPolicies,
    ApprovalPolicyPatch,
    apply_patch,
    normalize_approval_rule,
    parse_agent_approval,
)

# -- normalize_approval_rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("never", {"kind": "never"}),
        ("always", {"kind": "always"}),
        ({"kind": "never"}, {"kind": "never"}),
        ({"kind": "always"}, {"kind": "always"}),
        ({"kind": "always", "value": "ignored", "extra": 1}, {"kind": "always"}),
        (
            {"kind": "dynamic", "value": "needs_review"},
            {"kind": "dynamic", "value": "needs_review"},
        ),
        (
            {"kind": "dynamic", "value": "needs_review", "note": "x"},
            {"kind": "dynamic", "value": "needs_review"},
        ),
    ],
)
def test_rule_forms_normalise_to_wire(value: Any, expected: dict[str, str]) -> None:
    assert normalize_approval_rule(value, field="rule") == expected


def test_rule_none_is_rejected_as_must_not_be_null() -> None:
    with pytest.raises(SpecValueError, match="rule must not be null"):
        normalize_approval_rule(None, field="rule")


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "dynamic"},
        {"kind": "dynamic", "value": ""},
        {"kind": "dynamic", "value": "   "},
        {"kind": "dynamic", "value": 3},
        {"kind": "dynamic", "value": None},
    ],
)
def test_dynamic_rule_without_non_empty_string_value_is_rejected(value: Any) -> None:
    with pytest.raises(SpecValueError, match=r"my_field .*dynamic.*non-empty string 'value'"):
        normalize_approval_rule(value, field="my_field")


@pytest.mark.parametrize(
    "value",
    ["sometimes", "default", "dynamic", "", {"kind": "maybe"}, {}, 1, True, ["never"]],
)
def test_unsupported_rule_is_rejected_naming_field_and_accepted_forms(value: Any) -> None:
    with pytest.raises(SpecValueError) as info:
        normalize_approval_rule(value, field="my_field")
    message = str(info.value)
    assert message.startswith("my_field ")
    assert "'never', 'always'" in message
    assert "{'kind': 'dynamic', 'value': '<predicate id>'}" in message


def test_rule_errors_are_value_errors() -> None:
    assert issubclass(SpecValueError, ValueError)
    with pytest.raises(ValueError):
        normalize_approval_rule("sometimes", field="x")


@given(st.text(min_size=1).filter(lambda s: s.strip() != ""))
def test_dynamic_rule_keeps_any_non_blank_predicate_id(predicate_id: str) -> None:
    rule = {"kind": "dynamic", "value": predicate_id}
    assert normalize_approval_rule(rule, field="x") == rule


# -- ApprovalPolicies ---------------------------------------------------------------------------


def test_policies_default_wire_is_plans_always_tools_never() -> None:
    assert ApprovalPolicies().to_wire() == {
        "plans": {"kind": "always"},
        "tools": {"kind": "never"},
    }


def test_policies_normalise_both_channels() -> None:
    policies = ApprovalPolicies(plans="never", tools={"kind": "dynamic", "value": "p"})
    assert policies.to_wire() == {
        "plans": {"kind": "never"},
        "tools": {"kind": "dynamic", "value": "p"},
    }


def test_policies_reject_null_channel_with_must_not_be_null() -> None:
    with pytest.raises(ValidationError, match=r"approval_policies\.plans must not be null"):
        ApprovalPolicies(plans=None)


def test_policies_reject_invalid_rule() -> None:
    with pytest.raises(
        ValidationError, match=r"approval_policies\.tools has invalid approval rule"
    ):
        ApprovalPolicies(tools="sometimes")


def test_policies_reject_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        ApprovalPolicies.model_validate({"plans": "never", "agents": {}})


def test_policies_round_trip_through_wire() -> None:
    policies = ApprovalPolicies(plans="never", tools="always")
    assert ApprovalPolicies.model_validate(policies.to_wire()) == policies


def test_policies_are_frozen() -> None:
    with pytest.raises(ValidationError):
        ApprovalPolicies().plans = {"kind": "never"}  # type: ignore[misc]


# -- ApprovalPolicyPatch ------------------------------------------------------------------------


def test_patch_wire_drops_unset_channels() -> None:
    assert ApprovalPolicyPatch().to_wire() == {}
    assert ApprovalPolicyPatch(tools="always").to_wire() == {"tools": {"kind": "always"}}
    assert ApprovalPolicyPatch(plans={"kind": "never", "x": 1}, tools="always").to_wire() == {
        "plans": {"kind": "never"},
        "tools": {"kind": "always"},
    }


def test_patch_rejects_default_literal() -> None:
    with pytest.raises(
        ValidationError, match=r"'default' is only accepted by the define_\* helpers"
    ):
        ApprovalPolicyPatch(plans="default")


def test_patch_rejects_invalid_rule() -> None:
    with pytest.raises(
        ValidationError, match=r"approval_policies\.tools has invalid approval rule"
    ):
        ApprovalPolicyPatch(tools="sometimes")


def test_patch_rejects_unknown_channel() -> None:
    with pytest.raises(ValidationError):
        ApprovalPolicyPatch.model_validate({"tool": "always"})


_rules = st.one_of(
    st.sampled_from(["never", "always"]),
    st.builds(
        lambda v: {"kind": "dynamic", "value": v},
        st.text(min_size=1).filter(lambda s: s.strip() != ""),
    ),
)


@given(st.one_of(st.none(), _rules), st.one_of(st.none(), _rules))
def test_patch_round_trips_through_wire(plans: Any, tools: Any) -> None:
    patch = ApprovalPolicyPatch(plans=plans, tools=tools)
    assert ApprovalPolicyPatch.model_validate(patch.to_wire()) == patch


# -- apply_patch --------------------------------------------------------------------------------


def test_apply_patch_without_patch_returns_policies_unchanged() -> None:
    floor = ApprovalPolicies()
    assert apply_patch(floor, None) is floor
    assert apply_patch(floor, ApprovalPolicyPatch()) is floor


def test_apply_patch_overrides_only_set_channels() -> None:
    floor = ApprovalPolicies(plans="always", tools="never")
    patched = apply_patch(floor, ApprovalPolicyPatch(tools="always"))
    assert patched.to_wire() == {"plans": {"kind": "always"}, "tools": {"kind": "always"}}
    patched = apply_patch(floor, ApprovalPolicyPatch(plans="never"))
    assert patched.to_wire() == {"plans": {"kind": "never"}, "tools": {"kind": "never"}}


# -- parse_agent_approval -----------------------------------------------------------------------


def test_agent_approval_none_is_none() -> None:
    assert parse_agent_approval(None) is None


def test_agent_approval_patch_is_returned_as_is() -> None:
    patch = ApprovalPolicyPatch(plans="never")
    assert parse_agent_approval(patch) is patch


def test_agent_approval_mapping_drops_default_channels() -> None:
    patch = parse_agent_approval({"plans": "default", "tools": "always"})
    assert patch == ApprovalPolicyPatch(tools="always")
    assert patch is not None
    assert patch.to_wire() == {"tools": {"kind": "always"}}


def test_agent_approval_all_default_gives_empty_patch() -> None:
    patch = parse_agent_approval({"plans": "default", "tools": "default"})
    assert patch == ApprovalPolicyPatch()


def test_agent_approval_mapping_with_bad_rule_is_validation_error() -> None:
    with pytest.raises(ValidationError, match="invalid approval rule"):
        parse_agent_approval({"plans": "sometimes"})


def test_agent_approval_mapping_with_unknown_channel_is_validation_error() -> None:
    with pytest.raises(ValidationError):
        parse_agent_approval({"actions": "always"})


def test_agent_approval_of_wrong_type_is_type_error() -> None:
    with pytest.raises(SpecTypeError, match="approval must be an ApprovalPolicyPatch"):
        parse_agent_approval("always")


# -- ApprovalOverrides --------------------------------------------------------------------------


def test_overrides_default_wire_is_two_empty_maps() -> None:
    assert ApprovalOverrides().to_wire() == {"agents": {}, "tools": {}}


def test_overrides_wire_normalises_patches_and_rules() -> None:
    overrides = ApprovalOverrides(
        agents={"executor": {"plans": "never"}, "planner": ApprovalPolicyPatch(tools="always")},
        tools={"executor": {"refund": "always", "lookup": {"kind": "dynamic", "value": "p"}}},
    )
    assert overrides.to_wire() == {
        "agents": {
            "executor": {"plans": {"kind": "never"}},
            "planner": {"tools": {"kind": "always"}},
        },
        "tools": {
            "executor": {
                "refund": {"kind": "always"},
                "lookup": {"kind": "dynamic", "value": "p"},
            }
        },
    }


def test_overrides_round_trip_through_wire() -> None:
    overrides = ApprovalOverrides(
        agents={"a": {"tools": "always"}}, tools={"a": {"t": {"kind": "never"}}}
    )
    assert ApprovalOverrides.model_validate(overrides.to_wire()) == overrides


@pytest.mark.parametrize("tools", [["a"], "a", 3, None])
def test_overrides_tools_not_a_mapping_is_type_error(tools: Any) -> None:
    with pytest.raises(TypeError, match=r"approval_overrides\.tools must be a mapping"):
        ApprovalOverrides(tools=tools)


def test_overrides_tools_inner_value_not_a_mapping_is_type_error() -> None:
    with pytest.raises(TypeError, match=r"approval_overrides.tools\['a'\] must be a mapping"):
        ApprovalOverrides(tools={"a": ["refund"]})


@pytest.mark.parametrize("agent", ["", "  ", 1])
def test_overrides_tools_agent_key_must_be_non_empty_string(agent: Any) -> None:
    with pytest.raises(ValueError, match="agent names must be non-empty strings"):
        ApprovalOverrides(tools={agent: {"t": "always"}})


@pytest.mark.parametrize("tool", ["", 2])
def test_overrides_tools_tool_key_must_be_non_empty_string(tool: Any) -> None:
    with pytest.raises(ValueError, match="tool names must be non-empty strings"):
        ApprovalOverrides(tools={"a": {tool: "always"}})


@pytest.mark.parametrize("agent", ["", " "])
def test_overrides_agents_key_must_be_non_empty_string(agent: str) -> None:
    with pytest.raises(ValidationError, match="agent names must be non-empty strings"):
        ApprovalOverrides(agents={agent: {"tools": "always"}})


def test_overrides_tool_rule_is_validated_with_its_location() -> None:
    with pytest.raises(
        ValidationError, match=r"approval_overrides.tools\['a'\]\['t'\] must not be null"
    ):
        ApprovalOverrides(tools={"a": {"t": None}})


def test_overrides_agent_patch_rejects_default() -> None:
    with pytest.raises(ValidationError, match="'default'"):
        ApprovalOverrides(agents={"a": {"tools": "default"}})
