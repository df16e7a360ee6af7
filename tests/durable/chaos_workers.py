"""The worker process of the chaos test: starts its share of runs, answers approvals of any
run, recovers runs of dead workers, and kills itself with SIGKILL at random hook points.

Hook points (each with probability ``kill_rate``): in a tool handler before its side effect,
after it but before the handler returns, and in the dispatcher after its side effect. Every
side effect is one JSON line in the effects file: ``[kind, key, pid, time]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
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
from flowai_harness.errors import ApprovalError
from flowai_harness.handle import Runtime
from tests.engine.durable_helpers import MODEL, TENANT
from tests.engine.plan_helpers import PROMO, execute, flow, script, store

__all__ = ["chaos_worker", "run_prompt"]


def run_prompt(number: int) -> tuple[bool, str]:
    """Run ``number``'s prompt: ``(specialist, prompt)``; every third run stores and
    dispatches a plan, the others call ``audit``, the gated ``refund`` and ``audit`` again."""
    if number % 3 == 2:
        plan_id = f"plan-{number}"
        return False, flow(store(plan_id), execute(plan_id))
    steps = [
        ("audit", {"order": f"r{number}-a"}),
        ("refund", {"order": f"r{number}"}),
        ("audit", {"order": f"r{number}-b"}),
    ]
    return True, script(*steps)


class _Chaos:
    def __init__(self, effects: str, kill_rate: float, seed: int) -> None:
        self.effects = effects
        self.kill_rate = kill_rate
        self.random = random.Random(seed)

    def maybe_die(self) -> None:
        if self.random.random() < self.kill_rate:
            os.kill(os.getpid(), signal.SIGKILL)

    def note(self, kind: str, key: str) -> None:
        with open(self.effects, "a", encoding="utf-8") as file:
            file.write(json.dumps([kind, key, os.getpid(), time.time()]) + "\n")
            file.flush()


def _runtime(kv: dict[str, Any], chaos: _Chaos, lease_secs: float) -> Runtime:
    def tool(kind: str) -> Any:
        def handler(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            chaos.maybe_die()
            chaos.note(kind, args["order"])
            chaos.maybe_die()
            return {kind: args["order"]}

        return handler

    def dispatcher(actions: list[Any], ctx: Any, idempotency_key: str) -> dict[str, Any]:
        chaos.note("dispatch", idempotency_key.split(":")[0])
        chaos.maybe_die()
        return {"entitiesAffected": len(actions), "summary": "applied"}

    tools = [
        define_tool("audit", {"order": str}, approval="never")(tool("audit")),
        define_tool("refund", {"order": str}, approval="always")(tool("refund")),
    ]
    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
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
        durability={"lease_secs": lease_secs, "recover": True},
    )


def chaos_worker(
    kv: dict[str, Any],
    effects: str,
    runs: list[int],
    kill_rate: float,
    seed: int,
    stop: str,
    lease_secs: float,
) -> None:
    """Start every run of ``runs`` that has no record yet, then answer approvals and recover
    runs until the file ``stop`` exists."""
    chaos = _Chaos(effects, kill_rate, seed)

    async def drive(runtime: Runtime, number: int) -> None:
        specialist, prompt = run_prompt(number)
        thread = f"chaos-{number}"
        stream = (
            runtime.run_specialist("w", prompt, thread)
            if specialist
            else runtime.query(prompt, thread)
        )
        async for _ in stream:
            pass

    async def main() -> None:
        runtime = _runtime(kv, chaos, lease_secs)
        drivers = []
        for number in runs:
            if not await runtime.list_runs(f"chaos-{number}"):
                drivers.append(asyncio.ensure_future(drive(runtime, number)))
        while not Path(stop).exists():
            await runtime.recover_runs()
            for pending in await runtime.list_pending_approvals():
                if chaos.random.random() < 0.5:
                    try:
                        await runtime.respond_to_approval(pending["id"], "approve")
                    except ApprovalError:
                        pass  # another worker answered first
            await asyncio.sleep(0.05)
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        await runtime.aclose()

    asyncio.run(main())
