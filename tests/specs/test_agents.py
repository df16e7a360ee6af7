from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import flowai_harness.agents as public_agents
from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs import agents as agents_module
from flowai_harness.specs.agents import (
    AGENT_ROLES,
    DEFAULT_MAX_TURNS,
    AgentSpec,
    ModelSpec,
    define_coordinator,
    define_executor,
    define_planner,
    define_specialist,
    resolve_model_provider,
)
from flowai_harness.specs.approvals import ApprovalPolicyPatch
from flowai_harness.specs.plans import PlanSpec, define_plan
from flowai_harness.specs.prompts import layered_prompt
from flowai_harness.specs.tools import define_tool

MODEL = "claude-sonnet-4-6"
PLAN = define_plan("Promo", {"type": "object", "properties": {"actions": {"type": "array"}}})
LOOKUP = define_tool("lookup", {"q": str}, "Look up an item")


def agent_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "worker",
        "role": "specialist",
        "model": MODEL,
        "system_prompt": "Do the work.",
    }
    fields.update(overrides)
    return fields


# -- ModelSpec -----------------------------------------------------------------------------------


def test_model_spec_wire_keeps_a_null_provider() -> None:
    assert ModelSpec(id=MODEL).to_wire() == {"id": MODEL, "provider": None}


def test_model_spec_validates_a_bare_string_as_the_id() -> None:
    assert ModelSpec.model_validate("gpt-4o") == ModelSpec(id="gpt-4o")


def test_model_spec_accepts_a_mapping_with_provider() -> None:
    spec = ModelSpec.model_validate({"id": "gpt-4o", "provider": "openai"})
    assert spec.to_wire() == {"id": "gpt-4o", "provider": "openai"}


def test_model_spec_rejects_an_empty_id() -> None:
    with pytest.raises(ValidationError, match="id"):
        ModelSpec(id="")


def test_model_spec_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="region"):
        ModelSpec.model_validate({"id": MODEL, "region": "eu"})


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        (ModelSpec(id="claude-sonnet-4-6"), "anthropic"),
        (ModelSpec(id="anthropic.claude-3-haiku"), "bedrock"),
        (ModelSpec(id="us.anthropic.claude-3-haiku"), "bedrock"),
        (ModelSpec(id="gpt-4o"), "openai-compatible"),
        (ModelSpec(id="o1-mini"), "openai-compatible"),
        (ModelSpec(id="o3-mini"), "openai-compatible"),
        (ModelSpec(id="llama-3.1-70b"), "anthropic"),
        (ModelSpec(id="o4-mini"), "anthropic"),
        (ModelSpec(id="gpt-4o", provider="openrouter"), "openrouter"),
        (ModelSpec(id="claude-sonnet-4-6", provider="bedrock"), "bedrock"),
    ],
)
def test_resolve_model_provider_routes_by_explicit_provider_then_id_prefix(
    model: ModelSpec, provider: str
) -> None:
    assert resolve_model_provider(model) == provider


def test_default_max_turns_per_role() -> None:
    assert dict(DEFAULT_MAX_TURNS) == {
        "coordinator": 12,
        "planner": 8,
        "executor": 4,
        "specialist": 12,
    }
    assert set(DEFAULT_MAX_TURNS) == set(AGENT_ROLES)


# -- AgentSpec -----------------------------------------------------------------------------------


def test_agent_spec_wire_matches_the_documented_example() -> None:
    spec = AgentSpec(**agent_fields(system_prompt="..."))
    assert spec.to_wire() == {
        "name": "worker",
        "role": "specialist",
        "stateful": False,
        "model": {"id": MODEL, "provider": None},
        "systemPrompt": "...",
        "routes": [],
        "toolkits": [],
    }


def test_agent_spec_wire_includes_max_turns_only_when_set() -> None:
    assert "maxTurns" not in AgentSpec(**agent_fields()).to_wire()
    assert AgentSpec(**agent_fields(max_turns=3)).to_wire()["maxTurns"] == 3


def test_agent_spec_python_dump_also_omits_unset_max_turns() -> None:
    assert "max_turns" not in AgentSpec(**agent_fields()).model_dump()


@pytest.mark.parametrize(
    ("role", "stateful"),
    [("coordinator", True), ("planner", True), ("executor", False), ("specialist", False)],
)
def test_agent_spec_fills_missing_or_null_stateful_from_the_role(role: str, stateful: bool) -> None:
    routes = ["other"] if role == "coordinator" else []
    assert AgentSpec(**agent_fields(role=role, routes=routes)).stateful is stateful
    assert AgentSpec(**agent_fields(role=role, routes=routes, stateful=None)).stateful is stateful


def test_agent_spec_keeps_an_explicit_stateful() -> None:
    assert AgentSpec(**agent_fields(stateful=True)).stateful is True
    assert AgentSpec(**agent_fields(role="planner", stateful=False)).stateful is False


def test_agent_spec_coordinator_without_routes_is_rejected() -> None:
    with pytest.raises(ValidationError, match="coordinator agents require at least one route"):
        AgentSpec(**agent_fields(role="coordinator"))


def test_agent_spec_coordinator_from_a_mapping_without_routes_is_rejected() -> None:
    data = {"name": "c", "role": "coordinator", "model": MODEL, "systemPrompt": "Route."}
    with pytest.raises(ValidationError, match="coordinator agents require at least one route"):
        AgentSpec.model_validate(data)


def test_agent_spec_accepts_camel_case_keys() -> None:
    spec = AgentSpec.model_validate(
        {
            "name": "w",
            "role": "specialist",
            "model": {"id": MODEL},
            "systemPrompt": "p",
            "maxTurns": 2,
            "approvalPolicies": {"tools": "always"},
            "toolApprovalPolicies": {"lookup": "always"},
            "promptCacheKey": "k",
        }
    )
    assert spec.max_turns == 2
    assert spec.approval_policies == ApprovalPolicyPatch(tools={"kind": "always"})
    assert spec.tool_approval_policies == {"lookup": {"kind": "always"}}
    assert spec.prompt_cache_key == "k"


def test_agent_spec_keeps_py_only_fields_off_the_wire() -> None:
    spec = AgentSpec(
        **agent_fields(
            role="executor",
            plan=PLAN,
            tools=(LOOKUP,),
            approval_policies={"plans": "never"},
            tool_approval_policies={"lookup": "always"},
            prompt_cache_key="abc",
        )
    )
    assert set(spec.to_wire()) == {
        "name",
        "role",
        "stateful",
        "model",
        "systemPrompt",
        "routes",
        "toolkits",
    }
    assert spec.plan == PLAN
    assert spec.tools == (LOOKUP,)


def test_agent_spec_coerces_a_string_model() -> None:
    assert AgentSpec(**agent_fields(model="gpt-4o")).model == ModelSpec(id="gpt-4o")


@pytest.mark.parametrize("max_turns", [0, -1, True, 1.5, "many"])
def test_agent_spec_rejects_max_turns_that_is_not_a_positive_int(max_turns: Any) -> None:
    with pytest.raises(ValidationError, match="max_turns"):
        AgentSpec(**agent_fields(max_turns=max_turns))


def test_agent_spec_rejects_an_empty_name() -> None:
    with pytest.raises(ValidationError, match="name"):
        AgentSpec(**agent_fields(name=""))


def test_agent_spec_rejects_an_unknown_role() -> None:
    with pytest.raises(ValidationError, match="role"):
        AgentSpec(**agent_fields(role="manager"))


def test_agent_spec_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="temperature"):
        AgentSpec(**agent_fields(temperature=0.2))


def test_agent_spec_is_frozen() -> None:
    spec = AgentSpec(**agent_fields())
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


def test_agent_spec_normalises_tool_approval_policies() -> None:
    spec = AgentSpec(
        **agent_fields(
            tool_approval_policies={
                "a": "never",
                "b": {"kind": "always", "note": "x"},
                "c": {"kind": "dynamic", "value": "pred"},
            }
        )
    )
    assert spec.tool_approval_policies == {
        "a": {"kind": "never"},
        "b": {"kind": "always"},
        "c": {"kind": "dynamic", "value": "pred"},
    }


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"": "always"}, "non-empty tool names"),
        ({"t": None}, "must not be null"),
        ({"t": "sometimes"}, "sometimes"),
        ({"t": {"kind": "dynamic"}}, "non-empty string 'value'"),
        (["t"], "must be a mapping"),
    ],
)
def test_agent_spec_rejects_bad_tool_approval_policies(rules: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        AgentSpec(**agent_fields(tool_approval_policies=rules))


def test_agent_spec_rejects_the_default_keyword_in_its_approval_patch() -> None:
    with pytest.raises(ValidationError, match="default"):
        AgentSpec(**agent_fields(approval_policies={"tools": "default"}))


# -- define_* constructors -----------------------------------------------------------------------


def test_define_specialist_builds_the_documented_wire() -> None:
    spec = define_specialist("worker", model=MODEL, prompt="...")
    assert spec.to_wire() == {
        "name": "worker",
        "role": "specialist",
        "stateful": False,
        "model": {"id": MODEL, "provider": None},
        "systemPrompt": "...",
        "routes": [],
        "toolkits": [],
    }
    assert spec.prompt_cache_key is None
    assert spec.plan is None
    assert spec.tools == ()
    assert spec.approval_policies is None
    assert spec.tool_approval_policies == {}


def test_define_coordinator_sets_role_routes_and_stateful_default() -> None:
    spec = define_coordinator("c", model=MODEL, prompt="Route.", routes=("p", "w"))
    assert (spec.role, spec.routes, spec.stateful) == ("coordinator", ["p", "w"], True)


def test_define_coordinator_with_no_routes_raises_value_error_before_model_build() -> None:
    with pytest.raises(SpecValueError, match="define_coordinator requires at least one route"):
        define_coordinator("c", model=MODEL, prompt="Route.")
    # Raised before validation: even an invalid name reports the missing routes.
    with pytest.raises(SpecValueError, match="define_coordinator requires at least one route"):
        define_coordinator("", model=MODEL, prompt="Route.", routes=[])


def test_define_coordinator_error_is_not_a_pydantic_error() -> None:
    with pytest.raises(ValueError) as caught:
        define_coordinator("c", model=MODEL, prompt="Route.", routes=iter(()))
    assert not isinstance(caught.value, ValidationError)


def test_define_coordinator_rejects_routes_given_as_a_string() -> None:
    with pytest.raises(SpecTypeError, match="routes must be an iterable"):
        define_coordinator("c", model=MODEL, prompt="Route.", routes="planner")


def test_define_planner_and_executor_carry_the_plan_and_role_defaults() -> None:
    planner = define_planner("p", model=MODEL, prompt="Plan.", plan=PLAN)
    executor = define_executor("e", model=MODEL, prompt="Run.", plan=PLAN)
    assert (planner.role, planner.stateful, planner.plan) == ("planner", True, PLAN)
    assert (executor.role, executor.stateful, executor.plan) == ("executor", False, PLAN)


def test_define_planner_validates_a_plan_mapping_as_a_plan_spec() -> None:
    spec = define_planner(
        "p", model=MODEL, prompt="Plan.", plan={"name": "X", "schema": {"a": int}}
    )
    assert isinstance(spec.plan, PlanSpec)
    assert spec.plan.to_wire() == {
        "name": "X",
        "schema": {
            "type": "object",
            "properties": {"a": {"type": "integer"}},
            "required": ["a"],
        },
        "displayAliases": [],
    }


@pytest.mark.parametrize("constructor", [define_planner, define_executor])
@pytest.mark.parametrize("plan", [None, "Promo", 3])
def test_define_planner_and_executor_reject_a_plan_of_the_wrong_type(
    constructor: Any, plan: Any
) -> None:
    with pytest.raises(SpecTypeError, match="requires plan"):
        constructor("a", model=MODEL, prompt="p", plan=plan)


def test_define_planner_with_an_invalid_plan_mapping_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        define_planner("p", model=MODEL, prompt="Plan.", plan={"name": "X"})


def test_define_planner_without_plan_raises_type_error() -> None:
    with pytest.raises(TypeError, match="plan"):
        define_planner("p", model=MODEL, prompt="Plan.")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "constructor",
    [define_coordinator, define_planner, define_executor, define_specialist],
)
def test_every_constructor_requires_model_as_a_type_error(constructor: Any) -> None:
    extra: dict[str, Any] = {"routes": ["w"]} if constructor is define_coordinator else {}
    if constructor in (define_planner, define_executor):
        extra["plan"] = PLAN
    with pytest.raises(TypeError, match="model"):
        constructor("a", prompt="p", **extra)
    with pytest.raises(SpecTypeError, match="requires model"):
        constructor("a", model=None, prompt="p", **extra)
    with pytest.raises(SpecTypeError, match="requires model"):
        constructor("a", model=42, prompt="p", **extra)


@pytest.mark.parametrize(
    "model",
    [MODEL, ModelSpec(id=MODEL), {"id": MODEL}, {"id": MODEL, "provider": None}],
)
def test_define_specialist_accepts_every_model_form(model: Any) -> None:
    assert define_specialist("w", model=model, prompt="p").model == ModelSpec(id=MODEL)


def test_define_specialist_rejects_a_bad_model_mapping_with_validation_error() -> None:
    with pytest.raises(ValidationError):
        define_specialist("w", model={"name": MODEL}, prompt="p")


def test_define_specialist_takes_text_and_cache_key_from_a_layered_prompt() -> None:
    prompt = layered_prompt(identity="You look things up.")
    spec = define_specialist("w", model=MODEL, prompt=prompt)
    assert spec.system_prompt == prompt.text
    assert spec.prompt_cache_key == prompt.cache_key


@pytest.mark.parametrize("prompt", [None, 3, ["a", "b"], b"bytes"])
def test_define_specialist_rejects_a_prompt_that_is_not_text(prompt: Any) -> None:
    with pytest.raises(SpecTypeError, match="prompt must be a str or a LayeredPrompt"):
        define_specialist("w", model=MODEL, prompt=prompt)


def test_define_specialist_without_prompt_raises_type_error() -> None:
    with pytest.raises(TypeError, match="prompt"):
        define_specialist("w", model=MODEL)  # type: ignore[call-arg]


def test_define_specialist_keeps_tools_as_a_tuple() -> None:
    spec = define_specialist("w", model=MODEL, prompt="p", tools=[LOOKUP])
    assert spec.tools == (LOOKUP,)


def test_define_specialist_rejects_a_non_tool_in_tools() -> None:
    with pytest.raises(ValidationError):
        define_specialist("w", model=MODEL, prompt="p", tools=[42])  # type: ignore[list-item]


def test_define_specialist_passes_stateful_and_max_turns() -> None:
    spec = define_specialist("w", model=MODEL, prompt="p", stateful=True, max_turns=5)
    assert (spec.stateful, spec.max_turns) == (True, 5)
    assert spec.to_wire()["maxTurns"] == 5


def test_define_specialist_rejects_max_turns_below_one() -> None:
    with pytest.raises(ValidationError, match="max_turns"):
        define_specialist("w", model=MODEL, prompt="p", max_turns=0)


def test_define_specialist_dedupes_toolkits_keeping_first_order() -> None:
    spec = define_specialist(
        "w", model=MODEL, prompt="p", toolkits=["catalog", "references", "catalog", "plans"]
    )
    assert spec.toolkits == ["catalog", "references", "plans"]


def test_define_specialist_rejects_toolkits_given_as_a_string() -> None:
    with pytest.raises(SpecTypeError, match="toolkits must be an iterable"):
        define_specialist("w", model=MODEL, prompt="p", toolkits="catalog")


def test_define_specialist_does_not_write_role_default_tools_into_toolkits() -> None:
    executor = define_executor("e", model=MODEL, prompt="p", plan=PLAN)
    coordinator = define_coordinator("c", model=MODEL, prompt="p", routes=["e"])
    assert executor.toolkits == []
    assert coordinator.toolkits == []


def test_define_specialist_normalises_tool_approvals() -> None:
    spec = define_specialist(
        "w",
        model=MODEL,
        prompt="p",
        tool_approvals={
            "execute_query": "always",
            "lookup": {"kind": "never"},
            "risky": {"kind": "dynamic", "value": "risky_check"},
        },
    )
    assert spec.tool_approval_policies == {
        "execute_query": {"kind": "always"},
        "lookup": {"kind": "never"},
        "risky": {"kind": "dynamic", "value": "risky_check"},
    }


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        ({"": "always"}, "tool_approvals keys must be non-empty tool names"),
        ({3: "always"}, "tool_approvals keys must be non-empty tool names"),
        ({"t": None}, "must not be null"),
        ({"t": "sometimes"}, r"tool_approvals\['t'\]"),
        ({"t": {"kind": "dynamic", "value": ""}}, "non-empty string 'value'"),
    ],
)
def test_define_specialist_rejects_bad_tool_approvals_with_value_error(
    rules: Any, fragment: str
) -> None:
    with pytest.raises(SpecValueError, match=fragment) as caught:
        define_specialist("w", model=MODEL, prompt="p", tool_approvals=rules)
    assert not isinstance(caught.value, ValidationError)


def test_define_specialist_rejects_tool_approvals_that_are_not_a_mapping() -> None:
    with pytest.raises(SpecTypeError, match="tool_approvals must be a mapping"):
        define_specialist("w", model=MODEL, prompt="p", tool_approvals=["t"])  # type: ignore[arg-type]


def test_define_specialist_drops_default_approval_channels() -> None:
    spec = define_specialist(
        "w", model=MODEL, prompt="p", approval={"plans": "default", "tools": "always"}
    )
    assert spec.approval_policies == ApprovalPolicyPatch(tools={"kind": "always"})
    assert spec.approval_policies.to_wire() == {"tools": {"kind": "always"}}


def test_define_specialist_with_only_default_channels_gets_an_empty_patch() -> None:
    spec = define_specialist(
        "w", model=MODEL, prompt="p", approval={"plans": "default", "tools": "default"}
    )
    assert spec.approval_policies == ApprovalPolicyPatch()


def test_define_specialist_accepts_an_approval_patch_object() -> None:
    patch = ApprovalPolicyPatch(plans="never")
    assert (
        define_specialist("w", model=MODEL, prompt="p", approval=patch).approval_policies == patch
    )


def test_define_specialist_rejects_an_invalid_approval_channel() -> None:
    with pytest.raises(ValidationError, match="sometimes"):
        define_specialist("w", model=MODEL, prompt="p", approval={"tools": "sometimes"})


def test_define_specialist_rejects_an_empty_name() -> None:
    with pytest.raises(ValidationError, match="name"):
        define_specialist("", model=MODEL, prompt="p")


def test_public_agents_module_re_exports_the_constructors_and_models() -> None:
    assert public_agents.define_coordinator is define_coordinator
    assert public_agents.define_planner is define_planner
    assert public_agents.define_executor is define_executor
    assert public_agents.define_specialist is define_specialist
    assert public_agents.AgentSpec is AgentSpec
    assert public_agents.ModelSpec is ModelSpec
    assert set(public_agents.__all__) == {
        "AgentSpec",
        "ModelSpec",
        "define_coordinator",
        "define_executor",
        "define_planner",
        "define_specialist",
    }
    assert set(agents_module.__all__) >= set(public_agents.__all__)


# -- round trip ----------------------------------------------------------------------------------

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)


@st.composite
def agent_specs(draw: st.DrawFn) -> AgentSpec:
    role = draw(st.sampled_from(AGENT_ROLES))
    routes = draw(st.lists(names, unique=True, max_size=3))
    if role == "coordinator" and not routes:
        routes = ["helper"]
    return AgentSpec(
        name=draw(names),
        role=role,
        stateful=draw(st.none() | st.booleans()),
        model=ModelSpec(id=draw(names), provider=draw(st.none() | names)),
        system_prompt=draw(st.text(max_size=40)),
        routes=routes,
        toolkits=draw(st.lists(names, unique=True, max_size=3)),
        max_turns=draw(st.none() | st.integers(min_value=1, max_value=100)),
    )


@given(agent_specs())
def test_agent_spec_wire_round_trips(spec: AgentSpec) -> None:
    wire = spec.to_wire()
    again = AgentSpec.model_validate(wire)
    assert again == spec
    assert again.to_wire() == wire
