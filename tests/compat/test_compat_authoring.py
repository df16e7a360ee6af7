"""Authoring and spec validation messages a program written against the reference relies on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_reference,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.specs.runtime import RuntimeSpec
from tests.engine.plan_helpers import execute, flow, plan_runtime, run, store, tool_results

TENANT = define_tenant("acme", "v1")
MODEL = "claude-sonnet-4-6"


def test_a_route_to_an_unregistered_agent_names_the_unknown_route_target() -> None:
    coordinator = define_coordinator(
        "scenario_coordinator", model=MODEL, prompt="route", routes=["missing_planner"]
    )
    with pytest.raises(ValidationError) as exc:
        RuntimeSpec(tenant=TENANT, agents=[coordinator])
    assert "agent 'scenario_coordinator' declares unknown route target 'missing_planner'" in str(
        exc.value
    )


def test_a_negative_ttl_is_reported_under_the_snake_case_field_name() -> None:
    with pytest.raises(ValidationError) as exc:
        define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=-1)
    assert "ttl_ms" in str(exc.value)
    assert exc.value.errors()[0]["loc"] == ("ttl_ms",)


def test_an_unregistered_dynamic_predicate_is_reported_before_a_missing_handler() -> None:
    guarded = define_tool(
        "guarded_tool",
        {"value": str},
        approval={"kind": "dynamic", "value": "missing_predicate"},
    )
    worker = define_specialist("worker", model=MODEL, prompt="work", tools=[guarded])
    spec = define_runtime(TENANT, agents=[worker])
    with pytest.raises(ValueError, match="missing_predicate") as exc:
        create_runtime(spec, interpreter="scripted")
    assert "dynamic approval predicate 'missing_predicate' is not registered" in str(exc.value)
    assert "handler" not in str(exc.value)


async def test_a_dispatcher_result_without_entities_affected_fails_execute_plan() -> None:
    def dispatcher(actions: Any, ctx: Any) -> dict[str, Any]:
        return {"summary": "applied everything"}

    runtime = plan_runtime(dispatcher=dispatcher, executor_approval={"plans": "never"})
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    [result] = tool_results(events, "executePlan")
    error = result["error"]
    assert "action_dispatcher must return None or an object" in error
    assert "entitiesAffected" in error
