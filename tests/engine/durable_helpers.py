"""Builders for the durable-run tests: runtimes over one store, side-effect counters, crashes.

Two runtimes built over the same durable ``data_environment.kv`` stand for two processes. The
first ("process A") runs until a gate, then its stream and the runtime are dropped without an
answer, which leaves the store exactly as a crash would; the second ("process B") answers the
approval and resumes the run.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.handle import Runtime
from tests.engine.plan_helpers import PROMO
from tests.waiting import other_tasks, wait_until

TENANT = define_tenant("acme", "v1")
MODEL = "claude-sonnet-4-6"


def sqlite_kv(directory: Path) -> dict[str, Any]:
    """A ``data_environment.kv`` descriptor of a SQLite file in ``directory``."""
    return {"kind": "sqlite", "url": f"sqlite:{directory / 'runs.db'}"}


class Effects:
    """Counts every side effect the tools and the dispatcher had, across runtimes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.calls: list[tuple[str, Any]] = []

    def record(self, name: str, value: Any) -> None:
        """Note one side effect (also appended to the file, for other processes)."""
        self.calls.append((name, value))
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps([name, value]) + "\n")

    def of(self, name: str) -> list[Any]:
        """The values of every side effect named ``name``."""
        return [value for kind, value in self.calls if kind == name]

    @staticmethod
    def read(path: Path) -> list[tuple[str, Any]]:
        """The side effects written to ``path`` by any process."""
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines()]  # type: ignore[misc]


def tool_runtime(
    kv: dict[str, Any] | None,
    effects: Effects,
    *,
    interpreter: Any = "scripted",
    refund_approval: Any = "always",
    slow: asyncio.Event | None = None,
) -> Runtime:
    """Specialist ``w`` with ``audit`` (no approval), ``refund`` (gated) and ``slow`` tools."""

    def audit(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        effects.record("audit", args["order"])
        return {"audited": args["order"]}

    def refund(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        effects.record("refund", args["order"])
        return {"refunded": args["order"]}

    async def wait_forever(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        effects.record("slow", args["order"])
        await (slow or asyncio.Event()).wait()
        return {"slow": args["order"]}

    tools = [
        define_tool("audit", {"order": str}, approval="never")(audit),
        define_tool("refund", {"order": str}, approval=refund_approval)(refund),
        define_tool("slow", {"order": str}, approval="never")(wait_forever),
    ]
    spec = define_runtime(
        TENANT, agents=[define_specialist("w", model=MODEL, prompt="refunds", tools=tools)]
    )
    environment = {"kv": kv} if kv is not None else None
    return create_runtime(spec, interpreter=interpreter, data_environment=environment)


def plan_runtime(
    kv: dict[str, Any] | None, effects: Effects, *, interpreter: Any = "scripted"
) -> Runtime:
    """Coordinator ``c`` routing to ``planner`` and ``executor`` (Promo plans, gated)."""

    def dispatcher(actions: list[Any], ctx: Any) -> dict[str, Any]:
        effects.record("dispatch", actions)
        return {"entitiesAffected": len(actions), "summary": "applied"}

    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO),
            define_executor("executor", model=MODEL, prompt="execute", plan=PROMO),
        ],
    )
    environment = {"kv": kv} if kv is not None else None
    return create_runtime(
        spec, interpreter=interpreter, action_dispatcher=dispatcher, data_environment=environment
    )


def fast_polling(runtime: Runtime, seconds: float = 0.02) -> Runtime:
    """Make the runtime's waiting gates look in the store more often (tests only)."""
    runtime._runs.poll_secs = seconds  # type: ignore[attr-defined]
    return runtime


async def run_until(
    stream: AsyncIterator[dict[str, Any]], stop: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    """Iterate ``stream`` up to and including the first event for which ``stop`` is true."""
    events = []
    async for event in stream:
        events.append(event)
        if stop(event):
            return events
    raise AssertionError(f"the stream ended before the awaited event: {events}")


def at_tool_gate(event: dict[str, Any]) -> bool:
    """The event a tool gate waits after."""
    return event["type"] == "approval-required"


def at_plan_gate(event: dict[str, Any]) -> bool:
    """The last event a plan gate emits before it waits."""
    return event["type"] == "plan-status-change" and event["data"]["to"] == "pending_approval"


async def crash(runtime: Runtime) -> None:
    """ "Process A" dies: the caller has deleted its stream (unanswered, not cancelled).

    Dropping a stream suspends its run: the run task is cancelled, but nothing more is written
    for it, so the store is left as a crash leaves it. The runtime's store is then released.
    """
    gc.collect()
    await wait_until(lambda: not _run_tasks(), message=lambda: f"runs still going: {_run_tasks()}")
    await runtime.aclose()


def _run_tasks() -> list[asyncio.Task[Any]]:
    """The tasks still driving a run (a stream's background task), on this loop."""
    return [
        task
        for task in other_tasks()
        if getattr(task.get_coro(), "__qualname__", "") == "_run_body"
    ]


def approval_id(events: list[dict[str, Any]]) -> str:
    """The id of the (first) approval requested in ``events``."""
    return next(e["data"]["id"] for e in events if e["type"] == "approval-required")


def sequences(events: list[dict[str, Any]]) -> list[int]:
    """The ``sequence`` of every event."""
    return [e["sequence"] for e in events]


def refunds(*orders: str) -> str:
    """A scripted prompt: audit, then refund, each order in turn."""
    steps = []
    for order in orders:
        steps.append({"tool": "audit", "args": {"order": order}})
        steps.append({"tool": "refund", "args": {"order": order}})
    return json.dumps({"script": steps})
