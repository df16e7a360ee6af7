"""The offline interpreters: ``noop``, the testing mock, and ``scripted``.

They need no network and no provider configuration, and produce exactly the event sequences of
the reference interpreters (with each tool call and result reported once, see docs/decisions.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.events import LatencySummary, TokenUsage
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelPart,
    ModelRequest,
    ModelText,
    ModelToolCall,
)

__all__ = ["MockClient", "NoopClient", "ScriptedClient", "parse_script"]


class NoopClient:
    """Starts and finishes every invocation immediately: no text, no tools, zero usage."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Yield a single ``stop`` finish."""
        yield ModelFinish("stop")


class MockClient:
    """Streams a canned response (``TestingConfig(mock_response=...)``)."""

    live = False

    def __init__(self, response: str) -> None:
        self.response = response

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Echo the prompt, send the canned text, a zero latency summary, and finish 50/25."""
        yield ModelText(f"Received: {request.prompt}\n\n")
        yield ModelText(self.response)
        yield ModelLatency(LatencySummary(llm_calls=1))
        yield ModelFinish("stop", TokenUsage(prompt_tokens=50, completion_tokens=25))


def parse_script(prompt: str) -> list[tuple[str, Any]] | None:
    """Return the ``(tool, args)`` calls of a scripted prompt, or ``None`` for echo mode.

    Accepted forms: ``{"tool": name, "args": ...}`` and ``{"script": [{"tool", "args"}, ...]}``;
    ``args`` defaults to ``null``; extra keys are ignored.
    """
    try:
        data = json.loads(prompt)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("tool"), str):
        return [(data["tool"], data.get("args"))]
    script = data.get("script")
    if isinstance(script, list) and all(
        isinstance(step, dict) and isinstance(step.get("tool"), str) for step in script
    ):
        return [(step["tool"], step.get("args")) for step in script]
    return None


class ScriptedClient:
    """Replays tool calls written in the prompt through the agent's real dispatcher."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Call each scripted tool in order; echo each successful result as compact JSON."""
        calls = parse_script(request.prompt)
        if calls is None:
            yield ModelText(request.prompt)
            yield ModelFinish("stop")
            return
        if not request.tools:
            yield ModelError("scripted interpreter has no dispatcher")
            return
        for index, (name, args) in enumerate(calls, start=1):
            call_id = f"scripted-tool-{index}"
            yield ModelToolCall(call_id, name, args)
            outcome = request.tool_results.get(call_id)
            if outcome is not None and not outcome.is_error:
                yield ModelText(compact_json(outcome.content))
        yield ModelFinish("stop")
