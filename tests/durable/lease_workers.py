"""Worker processes and runtimes of the lease tests (workers start with ``multiprocessing``
spawn, so everything here is importable and picklable).

``fleet_runtime`` builds one worker: coordinator ``c`` routing to ``w`` (tools ``audit``,
``block`` and ``pause``), ``planner`` and ``executor`` (``Promo`` plans, no plan gate), with a
dispatcher. Side effects go to a JSON-lines file shared by every process, so a test can count
them across workers, including one killed with SIGKILL. ``block`` and the dispatcher block
until the file ``<effects>.go`` exists (never, in a worker the test kills).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
    define_specialist,
    define_tool,
)
from flowai_harness.handle import Runtime
from tests.engine.durable_helpers import MODEL, TENANT
from tests.engine.plan_helpers import PROMO, execute, flow, script, store

__all__ = [
    "answer_approvals",
    "fleet_runtime",
    "hold_thread",
    "pause_on_thread",
    "plan_flow",
    "run_and_log",
    "tool_flow",
]


def _note(effects: str, *fields: Any) -> None:
    with open(effects, "a", encoding="utf-8") as file:
        file.write(json.dumps([*fields, os.getpid(), time.time()]) + "\n")
        file.flush()


def _wait_go(effects: str, timeout: float = 30.0) -> None:
    go = Path(effects + ".go")
    deadline = time.monotonic() + timeout
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{go} never appeared")
        time.sleep(0.01)


def fleet_runtime(
    kv: dict[str, Any], effects: str, *, durability: dict[str, Any] | None = None
) -> Runtime:
    """One worker of the fleet over the shared store ``kv`` (see the module docstring)."""

    def audit(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        _note(effects, "audit", args["order"])
        return {"audited": args["order"]}

    def block(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        _note(effects, "block", args["order"])
        _wait_go(effects)
        return {"blocked": args["order"]}

    def pause(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        _note(effects, "pause-start", args["order"])
        time.sleep(0.15)
        _note(effects, "pause-end", args["order"])
        return {"paused": args["order"]}

    def refund(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        _note(effects, "refund", args["order"])
        return {"refunded": args["order"]}

    def dispatcher(actions: list[Any], ctx: Any, idempotency_key: str) -> dict[str, Any]:
        _note(effects, "dispatch", idempotency_key)
        _wait_go(effects)
        return {"entitiesAffected": len(actions), "summary": "applied"}

    tools = [
        define_tool("audit", {"order": str}, approval="never")(audit),
        define_tool("block", {"order": str}, approval="never")(block),
        define_tool("pause", {"order": str}, approval="never")(pause),
        define_tool("refund", {"order": str}, approval="always")(refund),
    ]
    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator(
                "c", model=MODEL, prompt="route", routes=["w", "planner", "executor"]
            ),
            define_specialist("w", model=MODEL, prompt="work", tools=tools),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO),
            define_executor(
                "executor", model=MODEL, prompt="execute", plan=PROMO, approval={"plans": "never"}
            ),
        ],
    )
    return create_runtime(
        spec,
        interpreter="scripted",
        action_dispatcher=dispatcher,
        data_environment={"kv": kv},
        durability=durability,
    )


def tool_flow(*steps: tuple[str, str]) -> str:
    """A specialist ``w`` prompt calling each ``(tool, order)`` in turn."""
    return script(*[(tool, {"order": order}) for tool, order in steps])


def plan_flow(plan_id: str) -> str:
    """A coordinator prompt: store plan ``plan_id``, then execute it."""
    return flow(store(plan_id), execute(plan_id))


def run_and_log(
    kv: dict[str, Any],
    effects: str,
    seen: str,
    specialist: bool,
    prompt: str,
    thread_id: str,
    lease_secs: float,
) -> None:
    """Run one query, appending every event the client sees to ``seen`` as it arrives (the
    test kills this process at some point)."""

    async def main() -> None:
        runtime = fleet_runtime(kv, effects, durability={"lease_secs": lease_secs})
        stream = (
            runtime.run_specialist("w", prompt, thread_id)
            if specialist
            else runtime.query(prompt, thread_id)
        )
        with open(seen, "a", encoding="utf-8") as file:
            file.write(json.dumps({"runId": stream.run_id}) + "\n")
            file.flush()
            async for event in stream:
                file.write(json.dumps(event) + "\n")
                file.flush()
        await runtime.aclose()

    asyncio.run(main())


def pause_on_thread(
    kv: dict[str, Any], effects: str, thread_id: str, rounds: int, barrier: Any, results: Any
) -> None:
    """Once every worker is ready, run ``rounds`` queries calling ``pause`` on ``thread_id``
    at once (enqueue policy); report each run's last event type."""

    async def one(number: int) -> str:
        prompt = tool_flow(("pause", f"{os.getpid()}-{number}"))
        events = [e async for e in runtime.run_specialist("w", prompt, thread_id)]
        return str(events[-1]["type"]) if events else "none"

    async def main() -> None:
        nonlocal runtime
        runtime = fleet_runtime(kv, effects, durability={"lease_secs": 5})
        await asyncio.to_thread(barrier.wait, 60)
        for last in await asyncio.gather(*(one(n) for n in range(rounds))):
            results.put(last)
        await runtime.aclose()

    runtime: Any = None
    asyncio.run(main())


def hold_thread(kv: dict[str, Any], effects: str, thread_id: str) -> None:
    """Run ``block`` on ``thread_id`` until the test creates the go file."""

    async def main() -> None:
        runtime = fleet_runtime(kv, effects, durability={"lease_secs": 5})
        async for _ in runtime.run_specialist("w", tool_flow(("block", "held")), thread_id):
            pass
        await runtime.aclose()

    asyncio.run(main())


def answer_approvals(kv: dict[str, Any], effects: str, requests: Any, answered: Any) -> None:
    """Answer each approval id read from ``requests`` (until ``None``); report the wall time
    taken just before each answer was written."""

    async def main() -> None:
        runtime = fleet_runtime(kv, effects)
        answered.put(("ready", 0.0))
        while True:
            approval_id = await asyncio.to_thread(requests.get, True, 120)
            if approval_id is None:
                break
            started = time.time()
            await runtime.respond_to_approval(approval_id, "approve")
            answered.put((approval_id, started))
        await runtime.aclose()

    asyncio.run(main())
