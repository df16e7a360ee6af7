"""``compile_runtime``: construction checks of engine.md §0.2 on a raw wire spec."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowai_harness.engine.compiled import EngineInputs, compile_runtime
from flowai_harness.errors import ConfigurationError
from flowai_harness.providers.deterministic import NoopClient
from flowai_harness.storage.memory import MemoryKeyValueStore


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


def _compile(spec: dict[str, Any], **kwargs: Any) -> Any:
    inputs = EngineInputs(
        spec=spec,
        resource_id=kwargs.pop("resource_id", "acme"),
        clients=kwargs.pop("clients", {"*": NoopClient()}),
        kv=MemoryKeyValueStore(),
        **kwargs,
    )
    return compile_runtime(inputs)


def _changed(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    spec.update(changes)
    return spec


def test_a_valid_wire_spec_compiles_with_role_defaults() -> None:
    compiled = _compile(BASE)
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
        ([_agent("w", maxTurns=0)], "agent 'w' maxTurns must be >= 1"),
    ],
)
def test_topology_errors_are_configuration_errors(agents: list[Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _compile(_changed(agents=agents))


def test_tenant_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="resource_id mismatch with runtime tenant"):
        _compile(BASE, resource_id="other")


def test_overrides_naming_an_unknown_agent_are_refused() -> None:
    spec = _changed(approvalOverrides={"agents": {"ghost": {}}, "tools": {}})
    with pytest.raises(
        ValueError,
        match=r"approval_overrides references unknown agent\(s\): "
        r"\['ghost'\]",
    ):
        _compile(spec)


def test_duplicate_reference_kinds_are_refused() -> None:
    ref = {"name": "note", "schema": {"type": "object"}}
    with pytest.raises(ValueError, match="duplicate reference kind 'note'"):
        _compile(_changed(references=[ref, ref]))


def test_duplicate_plan_specs_are_refused() -> None:
    plan = {"name": "Promo", "schema": {"type": "object"}, "displayAliases": []}
    with pytest.raises(ValueError, match="duplicate plan spec 'Promo'"):
        _compile(_changed(plans=[plan, plan]))


def test_uncompilable_reference_schema_is_refused() -> None:
    ref = {"name": "note", "schema": {"type": "no-such-type"}}
    with pytest.raises(ValueError, match="reference 'note' has an invalid JSON Schema"):
        _compile(_changed(references=[ref]))


def test_provider_without_a_client_is_refused() -> None:
    with pytest.raises(ValueError, match="references provider 'anthropic'"):
        _compile(BASE, clients={"openai": NoopClient()})


def test_bound_tool_that_is_not_declared_is_refused() -> None:
    with pytest.raises(ValueError, match="tool binding 'lookup' for agent 'w' is not declared"):
        _compile(BASE, agent_tools={"w": ["lookup"]})


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
