"""Fencing at a tool's start, deterministically: a worker whose run another worker claimed
(while this one was frozen, say) must not start its next Python tool.

The model client below plays the other worker: right before it yields the second tool call,
it claims the run's lease in the store (as ``recover_runs`` elsewhere would, bumping the
fencing epoch). The run's next write, the journal entry saying the tool starts, is refused;
the tool must then not run, and the stream ends with ``run_taken_over``. (The chaos suite's
duplicated tool calls around woken workers on Postgres are not explained by this path: it
holds on both stores.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tool
from flowai_harness.handle import Runtime
from flowai_harness.ports import ModelFinish, ModelPart, ModelRequest, ModelToolCall
from tests.engine.durable_helpers import MODEL, TENANT

LEASE_PREFIX = "run-lease:"


class _Thief:
    """Calls ``step`` twice in one turn; claims the run's lease before the second call."""

    live = False

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        yield ModelToolCall("c1", "step", {"key": "first"})
        assert self.runtime is not None
        kv, tenant = self.runtime._compiled.kv, self.runtime.resource_id
        (key,) = await kv.list_keys(tenant, LEASE_PREFIX)
        current = await kv.get(tenant, key)
        assert isinstance(current, dict)
        claimed = {**current, "owner": "another-worker", "epoch": current["epoch"] + 1}
        assert await kv.compare_and_set(tenant, key, current, claimed)
        yield ModelToolCall("c2", "step", {"key": "second"})
        yield ModelFinish("stop")


async def test_a_worker_whose_run_was_claimed_does_not_start_its_next_tool(
    shared_kv: dict[str, Any],
) -> None:
    ran: list[str] = []

    def step(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        ran.append(args["key"])
        return {"ran": args["key"]}

    thief = _Thief()
    spec = define_runtime(
        TENANT,
        agents=[
            define_specialist(
                "w",
                model=MODEL,
                prompt="work",
                tools=[define_tool("step", {"key": str}, approval="never")(step)],
            )
        ],
    )
    runtime = create_runtime(
        spec,
        interpreter=thief,
        data_environment={"kv": shared_kv},
        durability={"lease_secs": 30, "recover": False},
    )
    thief.runtime = runtime
    try:
        events = [e async for e in runtime.run_specialist("w", "go", "t1")]
    finally:
        await runtime.aclose()
    assert ran == ["first"]
    assert events[-1]["type"] == "error"
    assert events[-1]["error"].get("code") == "run_taken_over"
