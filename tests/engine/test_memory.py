"""Conversation memory of stateful agents in the KV port (one KV record per agent and thread)."""

from __future__ import annotations

from typing import Any

from flowai_harness import define_tool
from flowai_harness.engine.memory import append_turn, load_history
from flowai_harness.ports import Message, ToolInteraction
from flowai_harness.providers.deterministic import NoopClient
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.testing import ScriptedModel, ToolCallStep, collect_events
from tests.engine.helpers import coordinator, engine_runtime, specialist


async def test_append_turn_writes_the_documented_layout() -> None:
    kv = MemoryKeyValueStore()
    await append_turn(kv, "acme", "t", "c", "hi", "hello", [])
    await append_turn(
        kv,
        "acme",
        "t",
        "c",
        "look",
        "found",
        [ToolInteraction("k-1", "lookup", {"sku": "A"}, {"price": 4.5})],
    )
    assert await kv.list_keys("acme", "") == ["agent-memory:t:c"]
    assert await kv.get("acme", "agent-memory:t:c") == {
        "messages": [
            {"role": "user", "content": "hi", "tool_interactions": None},
            {"role": "assistant", "content": "hello", "tool_interactions": None},
            {"role": "user", "content": "look", "tool_interactions": None},
            {
                "role": "assistant",
                "content": "found",
                "tool_interactions": [
                    {
                        "callId": "k-1",
                        "toolName": "lookup",
                        "arguments": {"sku": "A"},
                        "result": {"price": 4.5},
                    },
                ],
            },
        ]
    }


async def test_load_history_reads_back_messages_with_interactions() -> None:
    kv = MemoryKeyValueStore()
    interaction = ToolInteraction("k-1", "lookup", {"sku": "A"}, {"price": 4.5})
    await append_turn(kv, "acme", "t", "c", "look", "found", [interaction])
    assert await load_history(kv, "acme", "t", "c") == [
        Message("user", "look", None),
        Message("assistant", "found", [interaction]),
    ]


async def test_history_is_scoped_by_tenant_thread_and_agent() -> None:
    kv = MemoryKeyValueStore()
    await append_turn(kv, "acme", "t", "c", "hi", "hello", [])
    assert await load_history(kv, "globex", "t", "c") == []
    assert await load_history(kv, "acme", "t2", "c") == []
    assert await load_history(kv, "acme", "t", "w") == []
    assert len(await load_history(kv, "acme", "t", "c")) == 2


async def test_missing_or_malformed_memory_is_an_empty_history() -> None:
    kv = MemoryKeyValueStore()
    assert await load_history(kv, "acme", "t", "c") == []
    await kv.put("acme", "agent-memory:t:c", ["not", "an", "object"])
    assert await load_history(kv, "acme", "t", "c") == []


async def test_noop_stateful_entry_agent_stores_an_empty_assistant_message() -> None:
    kv = MemoryKeyValueStore()
    runtime = engine_runtime(coordinator(["w"]), specialist("w"), client=NoopClient(), kv=kv)
    await collect_events(runtime.query("hi", thread_id="t"))
    assert await kv.get("acme", "agent-memory:t:c") == {
        "messages": [
            {"role": "user", "content": "hi", "tool_interactions": None},
            {"role": "assistant", "content": "", "tool_interactions": None},
        ]
    }


async def test_stateless_agents_write_no_memory() -> None:
    kv = MemoryKeyValueStore()
    runtime = engine_runtime(specialist("w"), client=NoopClient(), kv=kv)
    await collect_events(runtime.run_specialist("w", "hi", thread_id="t"))
    assert await kv.list_keys("acme", "agent-memory:") == []


async def test_sub_agent_memory_lives_on_the_derived_thread() -> None:
    @define_tool("tick", {})
    def tick(args: dict[str, Any], ctx: Any) -> int:
        return 1

    kv = MemoryKeyValueStore()
    model = ScriptedModel()
    model.add_turn(
        agent="c", tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": "sub"})]
    )
    model.add_turn(agent="w", tool_calls=[ToolCallStep("tick", {}, id="k-9")])
    model.add_turn(agent="w", text="sub done")
    model.add_turn(agent="c", text="all done")
    runtime = engine_runtime(
        coordinator(["w"]), specialist("w", tools=[tick], stateful=True), client=model, kv=kv
    )
    await collect_events(runtime.query("top", thread_id="t"))
    assert await kv.list_keys("acme", "agent-memory:") == ["agent-memory:t-w:w", "agent-memory:t:c"]
    stored = await kv.get("acme", "agent-memory:t-w:w")
    assert stored["messages"][1] == {
        "role": "assistant",
        "content": "sub done",
        "tool_interactions": [{"callId": "k-9", "toolName": "tick", "arguments": {}, "result": 1}],
    }
    top = await kv.get("acme", "agent-memory:t:c")
    assert top["messages"][1]["content"] == "all done"
    assert top["messages"][1]["tool_interactions"][0]["result"] == {
        "agent": "w",
        "response": "sub done",
        "model": "claude-haiku-4-5",
    }


class BrokenMemoryStore(MemoryKeyValueStore):
    """Fails every read of agent memory."""

    async def get(self, tenant: str, key: str) -> Any | None:
        if key.startswith("agent-memory:"):
            raise OSError("disk on fire")
        return await super().get(tenant, key)


async def test_memory_failure_of_the_entry_agent_ends_the_run_with_an_internal_error() -> None:
    runtime = engine_runtime(
        coordinator(["w"]), specialist("w"), client=NoopClient(), kv=BrokenMemoryStore()
    )
    events = await collect_events(runtime.query("hi", thread_id="t"))
    assert [e["type"] for e in events] == ["tool-agent", "error"]
    assert events[1]["error"] == {
        "message": "internal error: OSError: disk on fire",
        "code": "internal",
    }


async def test_memory_failure_of_a_sub_agent_is_an_error_result_for_the_caller() -> None:
    model = ScriptedModel()
    model.add_turn(
        agent="c", tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": "x"})]
    )
    model.add_turn(agent="c", text="carried on")
    # only the sub-agent is stateful, so only its memory read fails
    runtime = engine_runtime(
        coordinator(["w"], stateful=False),
        specialist("w", stateful=True),
        client=model,
        kv=BrokenMemoryStore(),
    )
    events = await collect_events(runtime.query("hi", thread_id="t"))
    result = next(e for e in events if e["type"] == "tool-invocation" and e["state"] == "result")
    assert result["result"] == {"error": "Internal sub-agent error: OSError: disk on fire"}
    assert events[-1]["agentName"] == "c" and events[-1]["state"] == "result"
