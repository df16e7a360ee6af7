"""``compile_runtime``: the typed spec compiled into the engine's tables, and its own checks.

The checks a spec can make alone (names, routes, the coordinator, turn budgets, overrides
naming agents) live in ``RuntimeSpec``; a wire dict given to ``create_runtime`` is validated
into one first, so it fails with the spec's message. The compiler adds the checks that need the
callbacks, the model clients and the data environment.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowai_harness import RuntimeSpec, create_runtime, define_tool
from flowai_harness.engine.approvals import ALWAYS, NEVER, Predicate
from flowai_harness.engine.builtins import engine_tool_handlers
from flowai_harness.engine.compiled import CompiledRuntime, EngineInputs, compile_runtime
from flowai_harness.errors import ConfigurationError
from flowai_harness.providers.deterministic import NoopClient
from flowai_harness.storage.memory import MemoryKeyValueStore
from tests.engine.helpers import TENANT, coordinator, executor, planner, runtime_of, specialist


def _agent(name: str, role: str = "specialist", **extra: Any) -> dict[str, Any]:
    agent = {
        "name": name,
        "role": role,
        "model": {"id": "claude-haiku-4-5", "provider": None},
        "systemPrompt": "p",
        "routes": [],
        "toolkits": [],
    }
    agent.update(extra)
    return agent


BASE: dict[str, Any] = {
    "tenant": {"resourceId": "acme", "version": "v1"},
    "agents": [_agent("c", "coordinator", routes=["w"]), _agent("w")],
    "references": [],
    "plans": [],
    "toolkits": [],
    "approvalPolicies": {"plans": {"kind": "always"}, "tools": {"kind": "never"}},
}


def _compile(spec: RuntimeSpec | dict[str, Any], **kwargs: Any) -> CompiledRuntime:
    inputs = EngineInputs(
        spec=spec if isinstance(spec, RuntimeSpec) else RuntimeSpec.model_validate(spec),
        clients=kwargs.pop("clients", {"*": NoopClient()}),
        kv=MemoryKeyValueStore(),
        builtin_handlers=kwargs.pop("builtin_handlers", engine_tool_handlers()),
        **kwargs,
    )
    return compile_runtime(inputs)


def _changed(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    spec.update(changes)
    return spec


def test_a_valid_spec_compiles_with_role_defaults() -> None:
    compiled = _compile(BASE)
    assert compiled.resource_id == "acme"
    assert compiled.coordinator == "c"
    assert list(compiled.agents) == ["c", "w"]
    assert list(compiled.agents["c"].tools) == ["call_agent"]
    assert compiled.agents["w"].tools == {}


@pytest.mark.parametrize(
    ("agents", "message"),
    [
        ([_agent("w"), _agent("w")], "duplicate agent name 'w'"),
        (
            [
                _agent("a", "coordinator", routes=["w"]),
                _agent("b", "coordinator", routes=["w"]),
                _agent("w"),
            ],
            "multiple coordinator agents are not supported",
        ),
        ([_agent("c", "coordinator")], "coordinator agents require at least one route"),
        ([_agent("w", routes=["w"])], "agent 'w' cannot route to itself"),
        ([_agent("w", routes=["ghost"])], "agent 'w' declares unknown route target 'ghost'"),
        (
            [_agent("c", "coordinator", routes=["w", "w"]), _agent("w")],
            "agent 'c' declares duplicate route 'w'",
        ),
        (
            [_agent("w", maxTurns=0)],
            r"agents\[0\]\.max_turns: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_wire_spec_with_a_topology_error_fails_with_the_spec_message(
    agents: list[Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_runtime(_changed(agents=agents))


def test_overrides_naming_an_unknown_agent_fail_with_the_spec_message() -> None:
    spec = _changed(approvalOverrides={"agents": {"ghost": {}}, "tools": {}})
    with pytest.raises(
        ValueError, match=r"approval_overrides references unknown agent\(s\): \['ghost'\]"
    ):
        create_runtime(spec)


def test_duplicate_reference_and_plan_kinds_fail_with_the_spec_message() -> None:
    ref = {"name": "note", "schema": {"type": "object"}}
    with pytest.raises(ValueError, match="duplicate reference name 'note'"):
        create_runtime(_changed(references=[ref, ref]))
    plan = {"name": "Promo", "schema": {"type": "object"}, "displayAliases": []}
    with pytest.raises(ValueError, match="duplicate plan name 'Promo'"):
        create_runtime(_changed(plans=[plan, plan]))


def test_uncompilable_reference_schema_is_refused() -> None:
    ref = {"name": "note", "schema": {"type": "no-such-type"}}
    with pytest.raises(ConfigurationError, match="reference 'note' has an invalid JSON Schema"):
        _compile(_changed(references=[ref]))


def test_provider_without_a_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="references provider 'anthropic'"):
        _compile(BASE, clients={"openai": NoopClient()})


def test_a_bound_tool_without_a_handler_is_refused() -> None:
    lookup = define_tool("lookup", {"sku": str})
    spec = runtime_spec(specialist("w", tools=[lookup]))
    with pytest.raises(
        ConfigurationError,
        match=r"^tool binding 'lookup' for agent 'w' has no Python handler; attach one",
    ):
        _compile(spec)


def test_a_built_in_tool_without_a_handler_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="built-in tool 'call_agent' of agent 'c'"):
        _compile(BASE, builtin_handlers={})


def test_per_role_turn_budgets_apply_when_max_turns_is_unset() -> None:
    agents = [
        _agent("c", "coordinator", routes=["p", "e", "s"]),
        _agent("p", "planner"),
        _agent("e", "executor"),
        _agent("s"),
        _agent("s2", maxTurns=3),
    ]
    compiled = _compile(_changed(agents=agents))
    budgets = {name: agent.max_turns for name, agent in compiled.agents.items()}
    assert budgets == {"c": 12, "p": 8, "e": 4, "s": 12, "s2": 3}


def test_missing_stateful_defaults_by_role() -> None:
    agents = [
        _agent("c", "coordinator", routes=["p", "e", "s"]),
        _agent("p", "planner"),
        _agent("e", "executor"),
        _agent("s", stateful=True),
    ]
    compiled = _compile(_changed(agents=agents))
    assert {n: a.stateful for n, a in compiled.agents.items()} == {
        "c": True,
        "p": True,
        "e": False,
        "s": True,
    }


def test_executor_gets_plan_and_reference_tools_by_default() -> None:
    compiled = _compile(_changed(agents=[_agent("e", "executor")]))
    assert list(compiled.agents["e"].tools) == [
        "getPlan",
        "executePlan",
        "resolveRef",
        "glimpseRef",
    ]


def test_toolkit_tools_equal_to_role_defaults_are_skipped_silently() -> None:
    spec = _changed(
        agents=[_agent("e", "executor", toolkits=["references", "plans"])],
        toolkits=[{"id": "references", "config": None}, {"id": "plans", "config": None}],
    )
    compiled = _compile(spec)
    assert list(compiled.agents["e"].tools) == [
        "getPlan",
        "executePlan",
        "resolveRef",
        "glimpseRef",
    ]


# --------------------------------------------------------------------------- approval rules


def _is_risky(args: Any, ctx: Any) -> bool:
    return True


def test_approval_rules_compile_to_typed_rules_most_specific_last() -> None:
    lookup = define_tool("lookup", {"sku": str}, approval=_is_risky).bind(lambda a, c: a)
    spec = runtime_spec(
        specialist("w", tools=[lookup], approval={"tools": "always"}),
        executor("e", approval={"plans": "never"}),
        planner("p", tool_approvals={"getPlan": "never"}),
        approval_policies={"tools": "always"},
    )
    compiled = _compile(spec, predicates={"lookup_approval": _is_risky})
    agents = compiled.agents
    assert agents["w"].tools["lookup"].approval_rule == Predicate("lookup_approval", _is_risky)
    assert agents["w"].tools["lookup"].approval_rule.predicate is _is_risky
    assert agents["e"].plan_rule is NEVER
    assert agents["e"].tools["getPlan"].approval_rule is ALWAYS
    assert agents["p"].plan_rule is ALWAYS
    assert agents["p"].tools["getPlan"].approval_rule is NEVER
    assert agents["p"].tools["storePlan"].approval_rule is ALWAYS


def test_a_dynamic_rule_without_a_registered_predicate_is_refused() -> None:
    spec = _changed(approvalPolicies={"plans": {"kind": "dynamic", "value": "risk"}})
    with pytest.raises(
        ConfigurationError, match=r"^dynamic approval predicate 'risk' is not registered$"
    ):
        _compile(spec)


# --------------------------------------------------------------------------- the wire boundary


def runtime_spec(*agents: Any, **kwargs: Any) -> RuntimeSpec:
    """A runtime spec of ``agents``, built with ``define_runtime``."""
    from flowai_harness import define_runtime

    return define_runtime(TENANT, agents=list(agents), **kwargs)


def _tables(compiled: CompiledRuntime) -> dict[str, Any]:
    """Everything of a compiled runtime that the wire carries, as plain comparable data."""
    return {
        "resource_id": compiled.resource_id,
        "coordinator": compiled.coordinator,
        "agents": {
            name: (
                agent.role,
                agent.stateful,
                agent.model,
                agent.provider,
                agent.system_prompt,
                agent.routes,
                agent.max_turns,
                agent.plan_rule,
                {tool: (t.definition, t.approval_rule) for tool, t in agent.tools.items()},
            )
            for name, agent in compiled.agents.items()
        },
        "references": {k: (r.name, r.ttl_ms) for k, r in compiled.references.items()},
        "plans": {k: (p.name, dict(p.display_aliases)) for k, p in compiled.plans.items()},
    }


def test_a_spec_and_its_wire_dict_compile_to_the_same_runtime() -> None:
    from flowai_harness import define_executor, define_plan, define_planner, define_reference

    plan = define_plan("Promo", {"actions": list[dict[str, str]]}, {"draft": "Proposed"})
    spec = runtime_spec(
        coordinator(["p", "e", "s"]),
        define_planner("p", model="claude-haiku-4-5", prompt="plan", plan=plan),
        define_executor(
            "e", model="gpt-4o", prompt="run", plan=plan, approval={"plans": "never"}, max_turns=2
        ),
        specialist("s", toolkits=["references"], stateful=True),
        references=[define_reference("note", {"text": str}, ttl_ms=60_000)],
        approval_overrides={"tools": {"s": {"glimpseRef": {"kind": "always"}}}},
    )
    wire = spec.to_wire()
    again = RuntimeSpec.model_validate(wire)
    assert again.to_wire() == wire
    assert again == RuntimeSpec.model_validate(again.to_wire())
    assert _tables(_compile(again)) == _tables(_compile(spec))


def test_create_runtime_validates_a_wire_dict_into_the_same_runtime_as_its_spec() -> None:
    spec = runtime_spec(coordinator(["w"]), specialist("w", toolkits=["references"]))
    from_spec = runtime_of(coordinator(["w"]), specialist("w", toolkits=["references"]))
    from_wire = create_runtime(spec.to_wire())
    assert _tables(from_wire._compiled) == _tables(from_spec._compiled)
