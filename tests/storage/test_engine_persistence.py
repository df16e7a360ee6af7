"""A runtime on a durable KV store leaves references, plans and memory for the next runtime.

Two runtimes built from the same ``data_environment.kv`` stand for two processes (or a restart):
what the first one stored must be there for the second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_reference,
    define_runtime,
)
from flowai_harness.errors import ReferenceNotFoundError
from flowai_harness.handle import Runtime
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.plan_helpers import (
    ONE_ACTION,
    PROMO,
    TENANT,
    execute,
    flow,
    script,
    store,
    tool_results,
)
from tests.storage.conformance import eventually
from tests.storage.conftest import DURABLE_BACKENDS, kv_descriptor

TEXT_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
NOTE = define_reference("note", TEXT_SCHEMA)
MEMO = define_reference("memo", TEXT_SCHEMA, ttl_ms=300)


def runtime_spec() -> RuntimeSpec:
    return define_runtime(
        TENANT,
        agents=[
            define_coordinator(
                "c", model="claude-sonnet-4-6", prompt="route", routes=["planner", "executor"]
            ),
            define_planner("planner", model="claude-sonnet-4-6", prompt="plan", plan=PROMO),
            define_executor("executor", model="claude-sonnet-4-6", prompt="execute", plan=PROMO),
        ],
        references=[NOTE, MEMO],
    )


def open_runtime(
    kv: dict[str, Any], interpreter: Any = "scripted", dispatched: list[Any] | None = None
) -> Runtime:
    def dispatcher(actions: list[Any], ctx: Any) -> dict[str, Any]:
        (dispatched if dispatched is not None else []).append(actions)
        return {"entitiesAffected": len(actions), "summary": "ok"}

    return create_runtime(
        runtime_spec(),
        interpreter=interpreter,
        action_dispatcher=dispatcher,
        data_environment={"kv": kv},
    )


async def close(*runtimes: Runtime) -> None:
    # The runtime handle has no close yet; its store is released here.
    for runtime in runtimes:
        await runtime._compiled.kv.close()


@pytest.fixture(params=DURABLE_BACKENDS)
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh durable ``kv`` descriptor (file, table or key prefix) of each kind in turn."""
    return kv_descriptor(str(request.param), request, tmp_path)


async def test_references_plans_and_memory_survive_into_a_second_runtime(
    kv: dict[str, Any],
) -> None:
    first = open_runtime(kv)
    handle = await first.create_reference(NOTE, {"text": "kept across runtimes"})
    events = await collect_events(
        first.query(
            flow(store("draft-plan"), store("done-plan"), execute("done-plan")), thread_id="t"
        ),
        first,
        approve="approve",
    )
    assert not [e for e in events if e["type"] == "error"], events
    memory = await first._compiled.kv.get(TENANT.resource_id, "agent-memory:t:c")
    assert memory is not None and len(memory["messages"]) == 2

    # A second runtime on the same store: a new process, or the same one after a restart.
    dispatched: list[Any] = []
    second = open_runtime(kv, dispatched=dispatched)
    assert await second.resolve_reference(handle) == {"text": "kept across runtimes"}
    assert await second.reference_glimpse(handle) == {}
    read = script(("getPlan", {"planId": "draft-plan"}), ("getPlan", {"planId": "done-plan"}))
    events = await collect_events(
        second.query(flow(("call_agent", {"agent": "planner", "prompt": read})), thread_id="t2"),
        second,
        approve="approve",
    )
    draft, done = tool_results(events, "getPlan")
    assert (draft["id"], draft["status"]) == ("draft-plan", "draft")
    assert (done["id"], done["status"]) == ("done-plan", "executed")
    assert [a["payload"] for a in draft["actions"]] == [
        {k: v for k, v in a.items() if k != "kind"} for a in ONE_ACTION["actions"]
    ]

    # The plan drafted by the first runtime is approved and dispatched by the second one.
    await collect_events(
        second.query(flow(execute("draft-plan")), thread_id="t3"), second, approve="approve"
    )
    assert len(dispatched) == 1
    third = open_runtime(kv)
    events = await collect_events(
        third.query(
            flow(
                (
                    "call_agent",
                    {"agent": "planner", "prompt": script(("getPlan", {"planId": "draft-plan"}))},
                )
            ),
            thread_id="t4",
        ),
        third,
    )
    assert tool_results(events, "getPlan")[0]["status"] == "executed"
    await close(first, second, third)


async def test_a_stateful_agent_replays_memory_written_by_another_runtime(
    kv: dict[str, Any],
) -> None:
    first = open_runtime(kv, interpreter=ScriptedModel(default_text="first answer", strict=False))
    await collect_events(first.query("remember the number 42", thread_id="chat"), first)

    model = ScriptedModel(default_text="second answer", strict=False)
    second = open_runtime(kv, interpreter=model)
    await collect_events(second.query("what was the number?", thread_id="chat"), second)
    history = model.requests[0].history
    assert [(m.role, m.content) for m in history] == [
        ("user", "remember the number 42"),
        ("assistant", "first answer"),
    ]
    stored = await second._compiled.kv.get(TENANT.resource_id, "agent-memory:chat:c")
    assert [m["content"] for m in stored["messages"]] == [
        "remember the number 42",
        "first answer",
        "what was the number?",
        "second answer",
    ]
    await close(first, second)


async def test_a_reference_ttl_holds_for_every_runtime(kv: dict[str, Any]) -> None:
    first = open_runtime(kv)
    handle = await first.create_reference(MEMO, {"text": "short-lived"})
    second = open_runtime(kv)
    assert await second.resolve_reference(handle) == {"text": "short-lived"}

    async def expired() -> bool:
        try:
            await second.resolve_reference(handle)
        except ReferenceNotFoundError:
            return True
        return False

    await eventually(expired)
    with pytest.raises(ReferenceNotFoundError):
        await first.resolve_reference(handle)
    await close(first, second)
