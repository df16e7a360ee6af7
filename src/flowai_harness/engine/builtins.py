"""Handlers of the engine's built-in tools: routing (``call_agent``) and the reference tools.

:func:`engine_tool_handlers` is the table of every built-in the engine implements itself (the
plan tools live in :mod:`flowai_harness.engine.plans`); ``create_runtime`` hands it to the
compiler together with the adapters' handlers (the catalog tools), so the compiled runtime does
not import the code that runs on it. Each handler takes ``(call, args)`` with already-validated
``args`` and returns a :class:`ToolOutcome`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from flowai_harness.engine import plans
from flowai_harness.engine.context import ToolCall
from flowai_harness.engine.run import AgentFailed, invoke_agent
from flowai_harness.errors import HarnessError
from flowai_harness.ports import ToolOutcome, error_outcome

__all__ = ["engine_tool_handlers"]

Handler = Callable[[ToolCall, Any], Awaitable[ToolOutcome]]


async def call_agent(call: ToolCall, args: Any) -> ToolOutcome:
    """Hand off to a routed agent; its events stream inline, its answer comes back."""
    scope = call.scope
    target = args.get("agent") if isinstance(args, dict) else None
    if not isinstance(target, str) or not target:
        return error_outcome("Missing 'agent' name string")
    routes = list(scope.agent.routes)
    if target not in routes:
        return error_outcome(f"Agent '{target}' is not in this caller's allowed routes: {routes}")
    prompt = args.get("prompt")
    if not isinstance(prompt, str):
        return error_outcome("Missing 'prompt' string")
    run = scope.run
    if target not in run.runtime.agents:
        known = sorted(run.runtime.agents)
        return error_outcome(f"Unknown sub-agent '{target}'. Available agents: {known}")
    started = time.perf_counter()
    try:
        result = await invoke_agent(
            run,
            target,
            prompt,
            thread_id=f"{run.request_thread}-{target}",
            invocation_id=call.call_id,
            # the sub-invocation's place in a durable run's journal
            journal_key=scope.journal.child_key(),
        )
    except AgentFailed as exc:
        return error_outcome(f"Sub-agent failed: agent failed: {exc}")
    except ConnectionError:
        raise  # the consumer left; the run is ending
    except Exception as exc:  # e.g. the memory store failed; the caller keeps running
        return error_outcome(f"Internal sub-agent error: {type(exc).__name__}: {exc}")
    finally:
        scope.stats.sub_agent_time_ms += (time.perf_counter() - started) * 1000.0
    return ToolOutcome({"agent": result.agent, "response": result.response, "model": result.model})


async def resolve_ref(call: ToolCall, args: Any) -> ToolOutcome:
    """Return a reference's full value and glimpse."""
    run = call.scope.run
    try:
        record = await run.references.read(run.tenant, args["kind"], args["id"])
    except HarnessError as exc:
        return error_outcome(str(exc))
    return ToolOutcome(
        {"kind": args["kind"], "value": record["value"], "glimpse": record["glimpse"]}
    )


async def glimpse_ref(call: ToolCall, args: Any) -> ToolOutcome:
    """Return only a reference's glimpse."""
    run = call.scope.run
    try:
        record = await run.references.read(run.tenant, args["kind"], args["id"])
    except HarnessError as exc:
        return error_outcome(str(exc))
    return ToolOutcome({"kind": args["kind"], "glimpse": record["glimpse"]})


def engine_tool_handlers() -> dict[str, Handler]:
    """Return the handlers of the built-in tools the engine implements, by tool name."""
    return {
        "call_agent": call_agent,
        "resolveRef": resolve_ref,
        "glimpseRef": glimpse_ref,
        "storePlan": plans.store_plan,
        "getPlan": plans.get_plan,
        "executePlan": plans.execute_plan,
    }
