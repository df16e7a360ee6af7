"""Worker processes of the multi-process race tests (started with ``multiprocessing`` spawn).

Each worker opens its own runtime over the shared store and, for every item, waits at a
barrier with the other workers, then races them; what it saw goes back on a queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
)
from flowai_harness.errors import ApprovalAlreadyResolvedError
from flowai_harness.handle import Runtime
from tests.engine.durable_helpers import MODEL, TENANT, Effects, tool_runtime
from tests.engine.plan_helpers import PROMO, execute, flow


def answer_approvals(
    kv: dict[str, Any], approval_ids: list[str], barrier: Any, results: Any, name: str
) -> None:
    """Answer each approval as soon as every worker is ready; report ``won`` or ``lost``."""

    async def main() -> None:
        runtime = tool_runtime(kv, Effects())
        try:
            for approval_id in approval_ids:
                await asyncio.to_thread(barrier.wait, 60)
                try:
                    await runtime.respond_to_approval(approval_id, "approve", feedback=name)
                except ApprovalAlreadyResolvedError:
                    results.put((name, approval_id, "lost"))
                else:
                    results.put((name, approval_id, "won"))
        finally:
            await runtime.aclose()

    asyncio.run(main())


def plan_runtime_on(kv: dict[str, Any], effects_path: str | None) -> Runtime:
    """Coordinator, planner and executor on ``Promo`` plans approved without a gate; the
    dispatcher appends the idempotency key it got to ``effects_path``."""

    def dispatcher(actions: list[Any], ctx: Any, idempotency_key: str) -> dict[str, Any]:
        if effects_path is not None:
            with open(effects_path, "a", encoding="utf-8") as file:
                file.write(idempotency_key + "\n")
        return {"entitiesAffected": len(actions), "summary": "applied"}

    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO),
            define_executor(
                "executor", model=MODEL, prompt="execute", plan=PROMO, approval={"plans": "never"}
            ),
        ],
    )
    return create_runtime(
        spec, interpreter="scripted", action_dispatcher=dispatcher, data_environment={"kv": kv}
    )


def execute_plans(
    kv: dict[str, Any],
    plan_ids: list[str],
    contenders: int,
    barrier: Any,
    results: Any,
    effects_path: str,
    name: str,
) -> None:
    """For each plan, once every process is ready, ``contenders`` runs call ``executePlan``
    on it at once; report each call's result."""

    async def contend(runtime: Runtime, plan_id: str, number: int) -> None:
        stream = runtime.query(flow(execute(plan_id)), thread_id=f"{name}-{number}-{plan_id}")
        events = [event async for event in stream]
        for event in events:
            if (
                event["type"] == "tool-invocation"
                and event.get("toolName") == "executePlan"
                and "result" in event
            ):
                results.put((name, plan_id, event["result"]))

    async def main() -> None:
        runtime = plan_runtime_on(kv, effects_path)
        try:
            for plan_id in plan_ids:
                await asyncio.to_thread(barrier.wait, 60)
                await asyncio.gather(*(contend(runtime, plan_id, n) for n in range(contenders)))
        finally:
            await runtime.aclose()

    asyncio.run(main())


def open_stores(descriptors: list[dict[str, Any]], barrier: Any, results: Any, name: str) -> None:
    """Open a store with ``ensure_schema`` on each descriptor as soon as every worker is ready."""
    from flowai_harness.storage.factory import open_key_value_store

    for descriptor in descriptors:
        barrier.wait(60)
        try:
            open_key_value_store({"kv": descriptor})
        except Exception as error:  # reported to the test, which names it
            results.put((name, descriptor["table"], f"{type(error).__name__}: {error}"))
        else:
            results.put((name, descriptor["table"], "ok"))
