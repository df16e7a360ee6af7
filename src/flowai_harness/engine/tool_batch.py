"""The tool calls of one model turn: dispatched as they stream in, several at once when allowed.

When a model asks for several tool calls in one turn, the calls are independent of each other
(the model only sees their results in its next request), so :class:`TurnCalls` runs them at the
same time, at most the agent's ``max_parallel_tool_calls`` at once. Each call still goes through
:func:`~flowai_harness.engine.dispatch.dispatch_tool`: its ``tool-invocation`` call event, then
its result event. The call events come in the order the model asked (calls start in that order);
the events of different calls interleave as they run (an approval request, a sub-agent's
stream, a result); the results go back to the model in the order it asked.

Calls run one after another, as each arrives, when

* the agent's limit is 1;
* the model client is offline (``live`` false): the port lets such a client read a call's
  outcome from ``request.tool_results`` as soon as it resumes after yielding the call (the
  scripted interpreter echoes it in the same turn), so the call must be done by then;
* the invocation's journal records the run by call position and event number (a durable run),
  which needs the calls in a fixed order to replay them.

The common turn with a single tool call pays nothing for this: a call is held until the next
part of the stream shows whether another call follows, and a lone call runs inline, with no
task.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from flowai_harness.engine.dispatch import dispatch_tool
from flowai_harness.engine.tool_args import ScreenedArgs, screen_args
from flowai_harness.ports import ModelRequest, ModelToolCall, ToolInteraction, ToolOutcome

if TYPE_CHECKING:
    from flowai_harness.engine.context import AgentScope

__all__ = ["TurnCalls"]


class TurnCalls:
    """The tool calls of one model turn, kept in the order the model asked for them."""

    __slots__ = (
        "_calls",
        "_concurrent",
        "_group",
        "_held",
        "_outcomes",
        "_request",
        "_scope",
        "_semaphore",
        "_tasks",
        "held",
    )

    def __init__(self, scope: AgentScope, request: ModelRequest, *, concurrent: bool) -> None:
        self._scope = scope
        self._request = request
        self._concurrent = concurrent
        self._calls: list[tuple[ModelToolCall, ScreenedArgs]] = []
        self._outcomes: list[ToolOutcome | None] = []
        #: a call waiting to see whether another one follows it (runs inline if none does)
        self._held: int | None = None
        #: whether a call is held: the turn loop then calls :meth:`run_held` on the next part
        self.held = False
        self._tasks: list[asyncio.Task[None]] = []
        self._semaphore: asyncio.Semaphore | None = None
        #: start time, tool time and sub-agent time when the calls running at once began
        self._group: tuple[float, float, float] | None = None

    async def add(self, part: ModelToolCall) -> None:
        """A tool call is complete in the stream: run it, start it, or hold it."""
        index = len(self._calls)
        screened = screen_args(part.args, self._scope.run.runtime.limits.tool_args_depth)
        self._calls.append((part, screened))
        if not self._concurrent:
            # the common path, kept flat: run it now (the client may read its outcome next)
            self._scope.journal.begin_call(self._request.turn, index)
            outcome = await dispatch_tool(self._scope, part.id, part.name, part.args, screened)
            self._outcomes.append(outcome)
            self._request.tool_results[part.id] = outcome
            return
        self._outcomes.append(None)
        if self._tasks:
            self._start(index)
        elif self._held is None:
            self._held = index
            self.held = True
        else:
            self._start(self._held)
            self._held = None
            self.held = False
            self._start(index)

    async def run_held(self) -> None:
        """Another kind of part came: the call held back was alone, it runs now."""
        index, self._held = self._held, None
        self.held = False
        if index is not None:
            await self._run_inline(index)

    async def finish(self) -> list[ToolInteraction]:
        """Wait for every call; return what each did, in the order the model asked."""
        await self.run_held()
        if self._tasks:
            await self._wait_all()
        interactions: list[ToolInteraction] = []
        for (part, screened), outcome in zip(self._calls, self._outcomes, strict=True):
            assert outcome is not None  # every call has run
            # Arguments too deep to show are replaced in memory and in the next request.
            interactions.append(
                ToolInteraction(
                    part.id, part.name, screened.shown, outcome.content, outcome.is_error
                )
            )
        return interactions

    async def cancel(self) -> None:
        """Stop the calls still running (the turn is being cancelled or failed)."""
        running = [task for task in self._tasks if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    # ------------------------------------------------------------------ running the calls

    async def _run_inline(self, index: int) -> None:
        part, screened = self._calls[index]
        self._scope.journal.begin_call(self._request.turn, index)
        outcome = await dispatch_tool(self._scope, part.id, part.name, part.args, screened)
        self._outcomes[index] = outcome
        # The client may read it as soon as it resumes (see the module docstring).
        self._request.tool_results[part.id] = outcome

    def _start(self, index: int) -> None:
        if self._semaphore is None:
            limit = self._scope.agent.max_parallel_tool_calls
            self._semaphore = asyncio.Semaphore(limit)
        if not self._tasks:
            stats = self._scope.stats
            self._group = (time.perf_counter(), stats.tool_time_ms, stats.sub_agent_time_ms)
        task = asyncio.get_running_loop().create_task(self._run_limited(index))
        self._tasks.append(task)

    async def _run_limited(self, index: int) -> None:
        assert self._semaphore is not None
        async with self._semaphore:
            part, screened = self._calls[index]
            self._scope.journal.begin_call(self._request.turn, index)
            outcome = await dispatch_tool(self._scope, part.id, part.name, part.args, screened)
            self._outcomes[index] = outcome

    async def _wait_all(self) -> None:
        """Wait for the calls running at once; the first that raises (the run is ending: its
        consumer left, or it is cancelled) stops the others."""
        tasks = self._tasks
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            failure = next(
                (e for t in done if not t.cancelled() and (e := t.exception()) is not None), None
            )
            if failure is not None:
                raise failure
            for task in tasks:
                task.result()  # a call cancelled from outside cancels the turn
        finally:
            await self.cancel()
        self._tasks = []
        for (part, _), outcome in zip(self._calls, self._outcomes, strict=True):
            if outcome is not None:
                self._request.tool_results[part.id] = outcome
        self._count_overlap()

    def _count_overlap(self) -> None:
        """Calls that ran at the same time count their wall time once in the latency summary."""
        if self._group is None:
            return
        started, tool_before, sub_before = self._group
        self._group = None
        stats = self._scope.stats
        wall_ms = (time.perf_counter() - started) * 1000.0
        tool_ms = stats.tool_time_ms - tool_before
        if tool_ms <= wall_ms or tool_ms <= 0.0:
            return
        share = wall_ms / tool_ms
        stats.tool_time_ms = tool_before + wall_ms
        stats.sub_agent_time_ms = sub_before + (stats.sub_agent_time_ms - sub_before) * share
