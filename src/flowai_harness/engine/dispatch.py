"""Tool dispatch: trace, argument validation, approval gate, guard, handler, UI channels.

Every tool call of every agent goes through :func:`dispatch_tool`, which emits exactly one
``tool-invocation`` call event and one result event with the same id. Nothing a tool does can
raise into the run: failures (``SystemExit``, ``KeyboardInterrupt`` and a ``CancelledError``
the run did not ask for included, see :mod:`~flowai_harness.engine.user_code`) become error
results the model can read and correct. Arguments are screened
(:mod:`~flowai_harness.engine.tool_args`) and results bounded in size
(:mod:`~flowai_harness.engine.tool_results`) on the way.

Dispatch is the live algorithm; the invocation's journal (:mod:`~flowai_harness.engine.journal`)
sees every call and every Python tool's start. A durable run's journal returns a journaled
outcome without running anything (the call was made before the run stopped), journals a new
outcome, and writes a Python tool's start to the store before its handler runs.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from flowai_harness.engine.approvals import approval_required
from flowai_harness.engine.budget import BUDGET_EXCEEDED
from flowai_harness.engine.context import AgentScope, ReferenceClient, ToolCall, ToolContext
from flowai_harness.engine.gates import GateClosed, wait_for_decision
from flowai_harness.engine.jsonvalues import compact_json, json_copy
from flowai_harness.engine.tool_args import ScreenedArgs, screen_args
from flowai_harness.engine.tool_results import bound_outcome, bound_value
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.events import (
    FlowUi,
    Text,
    ToolInvocationCall,
    ToolInvocationResult,
    ToolTiming,
)
from flowai_harness.ports import ToolOutcome, error_outcome

if TYPE_CHECKING:
    from flowai_harness.engine.compiled import EngineTool

__all__ = ["dispatch_tool", "rejected_outcome", "revise_outcome"]

_UI_KEYS = frozenset({"approvalDsl", "displaySummary", "_cardEmitted"})


def rejected_outcome(feedback: str | None) -> ToolOutcome:
    """The result of a tool call the host rejected; the model must not retry it."""
    return ToolOutcome(
        {
            "error": "approval_rejected",
            "rejected": True,
            "reason": feedback or "Approval rejected",
            "do_not_retry": True,
        },
        is_error=True,
    )


def revise_outcome(feedback: str | None, partial: Any) -> ToolOutcome:
    """The result of a tool call the host sent back for revision.

    Unlike the reference (which treats revise like reject), the handler does not
    run, and the model gets ``should_revise`` with the reviewer's feedback and partial, and may
    call the tool again with revised arguments (``do_not_retry`` is false).
    """
    return ToolOutcome(
        {
            "error": "approval_rejected",
            "rejected": True,
            "reason": feedback or "Approval rejected",
            "should_revise": True,
            "feedback": feedback,
            "partial": partial,
            "do_not_retry": False,
        },
        is_error=True,
    )


async def dispatch_tool(
    scope: AgentScope,
    call_id: str,
    name: str,
    args: Any,
    screened: ScreenedArgs | None = None,
) -> ToolOutcome:
    """Run one tool call of ``scope``'s agent and return its outcome.

    Args:
        scope: The agent invocation making the call.
        call_id: The tool-use id.
        name: The tool name.
        args: The model's arguments.
        screened: ``screen_args(args, ...)`` when the caller already made it (the turn loop
            also needs the arguments as shown).
    """
    run = scope.run
    if screened is None:
        screened = screen_args(args, run.runtime.limits.tool_args_depth)
    shown = screened.shown
    await run.sink.emit(ToolInvocationCall(call_id, name, shown))
    # Counted outside the live call, so a resumed durable run counts its replayed calls too;
    # the budget checks the call at its own position (calls of a turn may run at once).
    prior_calls = run.usage.tool_calls
    run.usage.tool_calls = prior_calls + 1
    # Tool timings only show in a live model's latency summary.
    timed = scope.agent.client.live
    started = time.perf_counter() if timed else 0.0
    live = _run_checked(scope, call_id, name, args, screened.problem, prior_calls)
    call = scope.journal.run_call(name, run.sink, live)
    outcome = await run.runtime.observer.tool(scope, call_id, name, shown, call)
    if timed:
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        scope.stats.tool_time_ms += elapsed_ms
        scope.stats.timings.append(
            ToolTiming(name, call_id, int(elapsed_ms), "error" if outcome.is_error else "completed")
        )
    content = outcome.content
    if isinstance(content, dict) and not _UI_KEYS.isdisjoint(content):
        content = dict(content)
        dsl = content.pop("approvalDsl", None)
        summary = content.pop("displaySummary", None)
        content.pop("_cardEmitted", None)
        if dsl is not None:
            await run.sink.emit(FlowUi(dsl if isinstance(dsl, str) else _stringify(dsl)))
        if isinstance(summary, str):
            await run.sink.emit(Text(summary))
        outcome = ToolOutcome(content, outcome.is_error)
    await run.sink.emit(ToolInvocationResult(call_id, name, shown, outcome.content))
    return outcome


async def _run_checked(
    scope: AgentScope,
    call_id: str,
    name: str,
    args: Any,
    problem: str | None,
    prior_calls: int,
) -> ToolOutcome:
    run = scope.run
    if run.meter.limited and (
        over_budget := await run.meter.check(
            run.usage, run.sink, tool_call=True, prior_calls=prior_calls
        )
    ):
        return ToolOutcome({"error": over_budget, "code": BUDGET_EXCEEDED}, is_error=True)
    tool = scope.agent.tools.get(name)
    if tool is None:
        return error_outcome(f"Unknown tool: {name}")
    prefix = "Invalid input" if tool.builtin else f"Invalid arguments for tool '{name}'"
    if problem is not None:
        return error_outcome(f"{prefix}: {problem}")
    if args is None and tool.definition.input_schema.get("type") == "object":
        args = {}
    problems = tool.validator.errors(args)
    if problems:
        return error_outcome(f"{prefix}: {'; '.join(problems)}")
    if run.cancelled:
        return error_outcome("Cancelled")
    # A resumed run takes the gate it had opened, whatever a predicate says now.
    if run.approval_mode != "bypass" and (
        scope.journal.has_gate("tool")
        or approval_required(
            tool.approval_rule, kind="tool", target=name, args=args, tenant=run.tenant
        )
    ):
        refusal = await _tool_gate(scope, call_id, tool, args)
        if refusal is not None:
            return refusal
    if tool.builtin:
        try:
            result: ToolOutcome = await tool.handler(ToolCall(scope, call_id, name), args)
        except BaseException as exc:  # a defect in a built-in must not end the run
            if not is_user_failure(exc):
                raise
            return error_outcome(describe_failure(exc))
        return await bound_outcome(scope, name, result)
    return await _run_python_tool(scope, call_id, name, tool, args)


async def _tool_gate(
    scope: AgentScope, call_id: str, tool: EngineTool, args: Any
) -> ToolOutcome | None:
    """Wait at the call's approval gate; ``None`` means approved."""
    run, name = scope.run, tool.definition.name
    if run.approval_mode == "refuse":
        return error_outcome(
            f"Tool '{name}' requires approval, which is not available in this mode"
        )
    try:
        decision = await wait_for_decision(
            scope, kind="tool", target=name, payload=args, correlation_id=call_id
        )
    except GateClosed:
        return error_outcome("Approval event sink closed before request was emitted")
    if decision.outcome == "revise":
        return revise_outcome(decision.feedback, decision.partial)
    if decision.outcome != "approve":
        return rejected_outcome(decision.feedback)
    return None


async def _run_python_tool(
    scope: AgentScope, call_id: str, name: str, tool: EngineTool, args: Any
) -> ToolOutcome:
    run = scope.run
    ctx = ToolContext(call_id, run.runtime.services, ReferenceClient(run.references, run.tenant))
    # The handler gets its own copy: the model's arguments also go to events and memory.
    args = json_copy(args)
    handler = tool.handler
    try:
        if tool.is_async:
            value = await scope.journal.run_handler(run.sink.sequence, handler(args, ctx))
        else:
            thread = asyncio.to_thread(handler, args, ctx)
            value = await scope.journal.run_handler(run.sink.sequence, thread)
            if hasattr(value, "__await__"):
                value = await value
        # inside the try: serializing runs user code too (model_dump, custom serializers)
        return await bound_value(scope, name, value)
    except BaseException as exc:
        if not is_user_failure(exc):
            raise  # the run itself is being cancelled
        return error_outcome(describe_failure(exc))


def _stringify(value: Any) -> str:
    try:
        return compact_json(value)
    except TypeError:
        return str(value)
