"""``ScriptedModel``: a fake model that plays queued turns and records every request."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.errors import HarnessError
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
)

__all__ = ["ModelTurn", "ScriptedModel", "ToolCallStep", "UnusedTurnsError"]


class UnusedTurnsError(HarnessError, AssertionError):
    """``ScriptedModel.assert_all_used`` found turns the runs never asked for."""


@dataclass(frozen=True, slots=True)
class ToolCallStep:
    """A tool call the fake model makes."""

    name: str
    args: Any = None
    id: str | None = None


@dataclass(slots=True)
class ModelTurn:
    """One model turn: optional reasoning and text, then tool calls (or a final answer)."""

    text: str = ""
    tool_calls: list[ToolCallStep] = field(default_factory=list)
    reasoning: str = ""
    error: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    agent: str | None = None


class ScriptedModel:
    """A fake ``ModelClient`` driven by a queue of :class:`ModelTurn`.

    Turns are consumed in order; a turn with ``agent`` set is only played for that agent (the
    first queued turn for the asking agent wins). A turn with tool calls ends with finish reason
    ``tool-calls`` so the engine asks again with the results; a turn without them ends the
    invocation. When the queue runs dry the model answers ``default_text`` (or fails with a
    clear error if ``strict``). With ``live=True`` the engine treats it like a provider and adds
    the cost and latency summaries a live model gets.

    Example:
        >>> model = ScriptedModel()
        >>> model.add_turn(tool_calls=[ToolCallStep("lookup", {"sku": "A-1"})])
        >>> model.add_turn(text="The price is 4.50")
        >>> runtime = create_runtime(spec, interpreter=model)  # doctest: +SKIP
    """

    live = False

    def __init__(
        self,
        turns: Iterable[ModelTurn] = (),
        *,
        default_text: str = "",
        strict: bool = True,
        respond: Callable[[ModelRequest], ModelTurn | None] | None = None,
        live: bool = False,
    ) -> None:
        self._turns: list[ModelTurn] = list(turns)
        self.live = live
        self.default_text = default_text
        self.strict = strict
        self.respond = respond
        #: a deep copy of every request, in the order they were made
        self.requests: list[ModelRequest] = []
        self._counter = 0

    def add_turn(
        self,
        text: str = "",
        *,
        tool_calls: Iterable[ToolCallStep | tuple[str, Any]] = (),
        reasoning: str = "",
        agent: str | None = None,
        error: str | None = None,
        usage: TokenUsage | None = None,
    ) -> ScriptedModel:
        """Queue one turn; ``tool_calls`` items are ``ToolCallStep`` or ``(name, args)``."""
        calls = [c if isinstance(c, ToolCallStep) else ToolCallStep(c[0], c[1]) for c in tool_calls]
        self._turns.append(ModelTurn(text, calls, reasoning, error, usage or TokenUsage(), agent))
        return self

    @property
    def remaining(self) -> int:
        """How many queued turns have not been played."""
        return len(self._turns)

    def assert_all_used(self) -> None:
        """Raise :class:`UnusedTurnsError` when queued turns were never played."""
        if self._turns:
            raise UnusedTurnsError(
                f"{len(self._turns)} scripted turn(s) were never used: "
                f"{[t.text or [c.name for c in t.tool_calls] for t in self._turns]}"
            )

    def _next_turn(self, request: ModelRequest) -> ModelTurn | None:
        if self.respond is not None:
            return self.respond(request)
        for index, turn in enumerate(self._turns):
            if turn.agent is None or turn.agent == request.agent:
                return self._turns.pop(index)
        return None

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Play the next queued turn for ``request.agent``."""
        self.requests.append(copy.deepcopy(request))
        turn = self._next_turn(request)
        if turn is None:
            if self.strict:
                yield ModelError(
                    f"ScriptedModel has no turn left for agent '{request.agent}' "
                    f"(turn {request.turn}); queue more with add_turn()"
                )
                return
            turn = ModelTurn(self.default_text)
        if turn.error is not None:
            yield ModelError(turn.error)
            return
        if turn.reasoning:
            yield ModelReasoning(turn.reasoning)
        if turn.text:
            yield ModelText(turn.text)
        for step in turn.tool_calls:
            self._counter += 1
            yield ModelToolCall(
                step.id or f"fake-call-{self._counter}", step.name, copy.deepcopy(step.args)
            )
        yield ModelFinish("tool-calls" if turn.tool_calls else "stop", turn.usage)
