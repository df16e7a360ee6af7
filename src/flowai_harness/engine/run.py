"""One agent invocation: the frame, the memory, and the turn loop.

The turn loop is a small driver over typed outcomes: each model turn ends as
:class:`NextTurn` (tools ran; ask the model again), :class:`FinalAnswer` or :class:`Failed`.

The loop is the live algorithm. Each invocation has its part of the run's journal
(:mod:`flowai_harness.engine.journal`): the loop asks it for the model client of each turn,
announces each tool call to it before dispatching it, and tells it when memory was appended. A
durable run's journal records all of that, and replays it when the run is resumed.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.engine.budget import BUDGET_EXCEEDED
from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.engine.journal import ROOT_INVOCATION, NullInvocation
from flowai_harness.engine.memory import append_turn, load_history
from flowai_harness.engine.tool_batch import TurnCalls
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.events import (
    CostSummary,
    ErrorEvent,
    Finish,
    FinishReason,
    LatencySummary,
    Reasoning,
    StepStart,
    Text,
    TokenUsage,
    ToolAgent,
)
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolInteraction,
)

__all__ = ["AgentFailed", "InvocationResult", "invoke_agent"]

log = logging.getLogger("flowai_harness.engine")


class AgentFailed(Exception):
    """An agent invocation ended with an error (already emitted as an ``error`` event)."""


@dataclass(slots=True)
class InvocationResult:
    """What a successful invocation returns to its caller."""

    agent: str
    invocation_id: str
    response: str
    usage: TokenUsage
    model: str


@dataclass(slots=True)
class NextTurn:
    """The model called tools and wants their results."""

    usage: TokenUsage
    interactions: list[ToolInteraction]
    reason: FinishReason = "tool-calls"
    #: this turn's retries and time to first token (live clients), for observers
    latency: LatencySummary | None = None


@dataclass(slots=True)
class FinalAnswer:
    """The model finished."""

    usage: TokenUsage
    reason: FinishReason
    latency: LatencySummary | None = None


@dataclass(slots=True)
class Failed:
    """The model (or the budget) failed the invocation."""

    message: str
    code: str | None = None


@dataclass(slots=True)
class _Transcript:
    text: list[str] = field(default_factory=list)
    interactions: list[ToolInteraction] = field(default_factory=list)
    #: per-turn latency parts of a live client (retries, timeouts, time to first token)
    latencies: list[LatencySummary] = field(default_factory=list)


async def invoke_agent(
    run: RunContext,
    agent_name: str,
    prompt: str,
    *,
    thread_id: str,
    invocation_id: str | None = None,
    journal_key: str = ROOT_INVOCATION,
) -> InvocationResult:
    """Run one framed agent invocation and return its answer.

    Args:
        run: The request the invocation belongs to.
        agent_name: The agent to run.
        prompt: Its user message (blank becomes ``"Hello"``).
        thread_id: The thread its memory lives on.
        invocation_id: The ``toolInvocationId`` of its ``tool-agent`` events
            (``inv-<uuid4>`` when ``None``).
        journal_key: Its position in the run's journal.

    Raises:
        AgentFailed: the invocation failed; its ``error`` event has been emitted.
    """
    agent = run.runtime.agents[agent_name]
    inv_id = invocation_id or f"inv-{uuid.uuid4()}"
    await run.sink.emit(ToolAgent(agent.name, inv_id, "call"))
    kv = run.runtime.kv
    history = await load_history(kv, run.tenant, thread_id, agent.name) if agent.stateful else []
    prompt = prompt if prompt.strip() else "Hello"
    journal = run.journal.invocation(journal_key)
    scope = AgentScope(run, agent, thread_id, journal=journal)
    request = ModelRequest(
        agent=agent.name,
        model=agent.model,
        provider=agent.provider,
        system_prompt=agent.system_prompt,
        prompt=prompt,
        history=history,
        tools=agent.tool_definitions,
        turn=0,
        max_turns=agent.max_turns,
    )
    transcript = _Transcript()
    started = time.perf_counter()
    loop = _turn_loop(scope, request, transcript)
    outcome = await run.runtime.observer.agent(scope, inv_id, loop)
    if isinstance(outcome, Failed):
        await run.sink.emit(ErrorEvent(outcome.message, outcome.code))
        raise AgentFailed(outcome.message)
    if agent.client.live:
        await _emit_summaries(scope, outcome, started, request.turn, transcript.latencies)
    elif outcome.latency is not None:
        await run.sink.emit(outcome.latency)
    await run.sink.emit(Finish(outcome.reason, outcome.usage))
    response = "".join(transcript.text)
    if agent.stateful and not journal.memory_appended:
        # Sub-agents started by calls of one turn run at the same time; two invocations of
        # one agent on one thread must not both read the memory before either wrote it.
        async with run.memory_locks.hold(f"{thread_id}\n{agent.name}"):
            if journal.writes_memory:  # the record and the journal's note in one write
                await append_turn(
                    kv,
                    run.tenant,
                    thread_id,
                    agent.name,
                    prompt,
                    response,
                    transcript.interactions,
                    record=journal.record_memory,
                )
            else:
                await append_turn(
                    kv, run.tenant, thread_id, agent.name, prompt, response, transcript.interactions
                )
        if not journal.writes_memory:
            await journal.record_memory()
    await run.sink.emit(ToolAgent(agent.name, inv_id, "result"))
    return InvocationResult(agent.name, inv_id, response, outcome.usage, agent.model)


async def _turn_loop(
    scope: AgentScope, request: ModelRequest, transcript: _Transcript
) -> FinalAnswer | Failed:
    """The turn loop: ask the model until it finishes, fails, or exhausts its budget."""
    run = scope.run
    total = TokenUsage()
    while request.turn < request.max_turns:
        # ``limited`` first: a run without a budget (most runs) pays no await per turn.
        if run.meter.limited and (
            refusal := await run.meter.check(run.usage, run.sink, tool_call=False)
        ):
            return Failed(refusal, code=BUDGET_EXCEEDED)
        request.turn += 1
        await run.sink.emit(StepStart())
        step = await run.runtime.observer.chat(scope, request, _turn(scope, request, transcript))
        if isinstance(step, Failed):
            return step
        total.add(step.usage)
        run.usage.add_model_call(step.usage)
        if isinstance(step, FinalAnswer):
            return FinalAnswer(total, step.reason, step.latency)
        request.turns.append(step.interactions)
        request.tool_results.clear()
    return Failed(
        f"MaxTurnError: (reached max turn limit: {request.max_turns}) agent "
        f"'{request.agent}' was still calling tools",
        code="max_turns",
    )


async def _turn(
    scope: AgentScope, request: ModelRequest, transcript: _Transcript
) -> NextTurn | FinalAnswer | Failed:
    """Stream one model turn, dispatching each tool call as soon as it is complete."""
    run = scope.run
    turn_text: list[str] = []
    latency: LatencySummary | None = None
    client = scope.journal.client(scope.agent.client)
    calls = TurnCalls(scope, request, concurrent=_concurrent_calls(scope, client))
    stream = client.stream_turn(request)
    try:
        while True:
            try:
                part = await anext(stream)
            except StopAsyncIteration:
                break
            except BaseException as exc:  # a client bug or an untranslated vendor error
                if not is_user_failure(exc):
                    raise
                transcript.interactions += await calls.finish()
                return Failed(
                    f"model client for agent '{request.agent}' raised {describe_failure(exc)}",
                    code="model_error",
                )
            if isinstance(part, ModelToolCall):
                await calls.add(part)
                continue
            if calls.held:
                await calls.run_held()
            if isinstance(part, ModelText):
                turn_text.append(part.text)
                transcript.text.append(part.text)
                await run.sink.emit(Text(part.text))
            elif isinstance(part, ModelReasoning):
                await run.sink.emit(Reasoning(part.text))
            elif isinstance(part, ModelLatency):
                latency = part.summary
                transcript.latencies.append(part.summary)
            elif isinstance(part, ModelFinish):
                request.assistant_texts.append("".join(turn_text))
                interactions = await calls.finish()
                transcript.interactions += interactions
                if part.reason == "tool-calls" and interactions:
                    return NextTurn(part.usage, interactions, latency=latency)
                return FinalAnswer(part.usage, part.reason, latency)
            elif isinstance(part, ModelError):
                transcript.interactions += await calls.finish()
                return Failed(part.message, part.code)
        transcript.interactions += await calls.finish()
    finally:
        await calls.cancel()
        await _close_stream(stream)
    request.assistant_texts.append("".join(turn_text))
    return Failed(f"model stream for agent '{request.agent}' ended without a finish")


def _concurrent_calls(scope: AgentScope, client: ModelClient) -> bool:
    """Whether this turn's tool calls may run at the same time (see
    :mod:`~flowai_harness.engine.tool_batch`): a live model, a limit above 1, and a journal
    without a cursor on the call being dispatched (a run that records nothing)."""
    return (
        client.live
        and scope.agent.max_parallel_tool_calls > 1
        and isinstance(scope.journal, NullInvocation)
    )


async def _close_stream(stream: Any) -> None:
    # Any AsyncIterator satisfies the port; only generators have ``aclose``. A client that
    # fails while closing has already given its answer (or its failure) for this turn.
    aclose = getattr(stream, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except BaseException as exc:
        if not is_user_failure(exc):
            raise
        log.warning("closing a model stream raised %s", describe_failure(exc))


async def _emit_summaries(
    scope: AgentScope,
    outcome: FinalAnswer,
    started: float,
    llm_calls: int,
    turns: list[LatencySummary],
) -> None:
    agent = scope.agent
    usage = outcome.usage
    entry: dict[str, Any] = {
        "agentName": agent.name,
        "model": agent.model,
        "usage": usage.to_dict(),
    }
    if usage.cost_usd is not None:
        entry["costUsd"] = round(usage.cost_usd, 8)
    await scope.run.sink.emit(
        CostSummary(
            agents=[entry],
            usage=usage,
            total_cost_usd=None if usage.cost_usd is None else round(usage.cost_usd, 8),
        )
    )
    total_ms = (time.perf_counter() - started) * 1000.0
    stats = scope.stats
    await scope.run.sink.emit(
        LatencySummary(
            total_duration_ms=int(total_ms),
            llm_time_ms=max(0, int(total_ms - stats.tool_time_ms)),
            tool_time_ms=int(stats.tool_time_ms - stats.sub_agent_time_ms),
            sub_agent_time_ms=int(stats.sub_agent_time_ms),
            llm_calls=llm_calls,
            tool_timings=list(stats.timings),
            retry_count=sum(t.retry_count for t in turns),
            had_timeout=any(t.had_timeout for t in turns),
            ttft_ms=turns[0].ttft_ms if turns else None,
            retry_events=[event for t in turns for event in t.retry_events],
        )
    )
