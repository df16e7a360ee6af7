"""Cassettes: every model turn of a runtime's runs, written down to be played back offline.

``create_runtime(..., record="run.jsonl")`` wraps each model client in a
:class:`RecordingClient` and gives the engine a :class:`CassetteWriter`. The file is JSON
lines, one object per line, in the order things happened:

* ``{"kind": "run", "entry", "entryAgent", "prompt", "threadId"}`` when a run starts
  (``entry``: ``"query"`` or ``"specialist"``);
* ``{"kind": "turn", "live", "request", "parts"}`` for each model turn, in the order the
  requests were made (a sub-agent's turns come after the turn of the agent that called it):
  ``request`` is the digest of what the model was asked (:func:`request_digest`), ``parts``
  what it streamed back (:func:`part_to_wire`);
* ``{"kind": "end", "status"}`` when the run ends.

``flowai_harness.testing.ReplayModel`` plays a cassette back. A cassette holds prompts, tool
arguments and results as the model saw them, never credentials (those stay in the provider
client).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.events import LatencySummary, TokenUsage, ToolTiming, json_copy
from flowai_harness.ports import (
    Message,
    ModelClient,
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolInteraction,
)

__all__ = [
    "NO_CASSETTE",
    "CassetteWriter",
    "NoCassette",
    "RecordingClient",
    "open_cassette",
    "part_from_wire",
    "part_to_wire",
    "request_digest",
]

log = logging.getLogger("flowai_harness.cassette")


# --------------------------------------------------------------------------- digests


def _interaction(item: ToolInteraction) -> dict[str, Any]:
    return {
        "id": item.call_id,
        "name": item.tool_name,
        "arguments": item.arguments,
        "result": item.result,
        "isError": item.is_error,
    }


def _history(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_interactions:
        out["toolInteractions"] = [_interaction(i) for i in message.tool_interactions]
    return out


def request_digest(request: ModelRequest) -> dict[str, Any]:
    """The JSON digest of one model request: agent, model, messages and tools.

    Messages are the system prompt, the stored history, the user prompt, then each earlier
    turn of the invocation (its text and tool calls with their results), as the model sees
    them. Two requests with equal digests ask the model the same thing.
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system_prompt}]
    messages += [_history(m) for m in request.history]
    messages.append({"role": "user", "content": request.prompt})
    for index, turn in enumerate(request.turns):
        text = request.assistant_texts[index] if index < len(request.assistant_texts) else ""
        messages.append(
            {"role": "assistant", "content": text, "toolCalls": [_interaction(i) for i in turn]}
        )
    digest: dict[str, Any] = json_copy(
        {
            "agent": request.agent,
            "model": request.model,
            "provider": request.provider,
            "turn": request.turn,
            "messages": messages,
            "tools": [
                {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
                for t in request.tools
            ],
        }
    )
    return digest


# --------------------------------------------------------------------------- parts


def _usage_to_wire(usage: TokenUsage) -> dict[str, Any]:
    out: dict[str, Any] = dict(usage.to_dict())
    if usage.cost_usd is not None:
        out["costUsd"] = usage.cost_usd
    return out


def _usage_from_wire(data: Mapping[str, Any]) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=int(data.get("promptTokens", 0)),
        completion_tokens=int(data.get("completionTokens", 0)),
        cache_read_input_tokens=int(data.get("cacheReadInputTokens", 0)),
        cache_creation_input_tokens=int(data.get("cacheCreationInputTokens", 0)),
        cost_usd=data.get("costUsd"),
    )


def _latency_to_wire(summary: LatencySummary) -> dict[str, Any]:
    data: dict[str, Any] = dict(summary.to_dict()["data"])
    return data


def _latency_from_wire(data: Mapping[str, Any]) -> LatencySummary:
    phases = data.get("phases") or {}
    return LatencySummary(
        total_duration_ms=int(data.get("totalDurationMs", 0)),
        llm_time_ms=int(phases.get("llmTimeMs", 0)),
        tool_time_ms=int(phases.get("toolTimeMs", 0)),
        sub_agent_time_ms=int(phases.get("subAgentTimeMs", 0)),
        llm_calls=int(phases.get("llmCalls", 0)),
        tool_timings=[
            ToolTiming(t["toolName"], t["toolCallId"], t["durationMs"], t["status"])
            for t in data.get("toolTimings") or []
        ],
        retry_count=int(data.get("retryCount", 0)),
        had_timeout=bool(data.get("hadTimeout", False)),
        ttft_ms=data.get("ttftMs"),
        retry_events=list(data.get("retryEvents") or []),
    )


def part_to_wire(part: ModelPart) -> dict[str, Any]:
    """The JSON form of one streamed model part."""
    match part:
        case ModelText(text):
            return {"text": text}
        case ModelReasoning(text):
            return {"reasoning": text}
        case ModelToolCall(call_id, name, args):
            return {"toolCall": {"id": call_id, "name": name, "args": json_copy(args)}}
        case ModelFinish(reason, usage, retry_count):
            finish = {"reason": reason, "usage": _usage_to_wire(usage), "retryCount": retry_count}
            return {"finish": finish}
        case ModelError(message, code):
            return {"error": {"message": message, "code": code}}
        case ModelLatency(summary):
            return {"latency": _latency_to_wire(summary)}
    raise SpecTypeError(f"not a model part: {type(part).__name__}")


def part_from_wire(data: Mapping[str, Any]) -> ModelPart:
    """Rebuild a model part from :func:`part_to_wire`'s form.

    Raises:
        ConfigurationError: ``data`` is not a recorded model part.
    """
    if "text" in data:
        return ModelText(str(data["text"]))
    if "reasoning" in data:
        return ModelReasoning(str(data["reasoning"]))
    if "toolCall" in data:
        call = data["toolCall"]
        return ModelToolCall(str(call["id"]), str(call["name"]), json_copy(call.get("args")))
    if "finish" in data:
        finish = data["finish"]
        return ModelFinish(
            finish["reason"],
            _usage_from_wire(finish.get("usage") or {}),
            int(finish.get("retryCount", 0)),
        )
    if "error" in data:
        return ModelError(str(data["error"]["message"]), data["error"].get("code"))
    if "latency" in data:
        return ModelLatency(_latency_from_wire(data["latency"]))
    raise ConfigurationError(f"cassette has an unknown model part: {sorted(data)}")


# --------------------------------------------------------------------------- writing


class _Slot:
    """One turn being recorded; written once it and every turn before it are complete."""

    __slots__ = ("done", "entry")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.done = False


class CassetteWriter:
    """Appends a runtime's runs and model turns to one JSON-lines file.

    Turns are written in the order their requests were made: a turn that ends after a later
    one started (a sub-agent's turns finish inside their caller's turn) waits for it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: list[_Slot] = []
        self._lock = threading.Lock()

    def run_started(
        self, entry_agent: str, prompt: str, thread_id: str, *, via_query: bool
    ) -> None:
        """A run starts at ``entry_agent`` (the coordinator when ``via_query``)."""
        self._append(
            {
                "kind": "run",
                "entry": "query" if via_query else "specialist",
                "entryAgent": entry_agent,
                "prompt": prompt,
                "threadId": thread_id,
            }
        )

    def run_ended(self, status: str) -> None:
        """The current run ended with ``status``; every turn it started is written."""
        for slot in self._pending:
            slot.done = True
        self._append({"kind": "end", "status": status})

    def turn_started(self, request: ModelRequest, live: bool) -> _Slot:
        """Reserve the place of one turn (its digest is taken now, before it changes)."""
        slot = _Slot({"kind": "turn", "live": live, "request": request_digest(request)})
        slot.entry["parts"] = []
        self._pending.append(slot)
        return slot

    def turn_ended(self, slot: _Slot) -> None:
        """The turn of ``slot`` ended; write every complete turn at the front."""
        slot.done = True
        self._append(None)

    def _append(self, entry: dict[str, Any] | None) -> None:
        lines: list[bytes] = []
        while self._pending and self._pending[0].done:
            lines.append(orjson.dumps(self._pending.pop(0).entry))
        if entry is not None:
            lines.append(orjson.dumps(entry))
        if not lines:
            return
        try:
            with self._lock, self.path.open("ab") as out:
                out.write(b"\n".join(lines) + b"\n")
        except OSError as exc:  # recording must never break the run it records
            log.warning("could not write cassette %s: %s", self.path, exc)


class NoCassette:
    """The engine's cassette when nothing is recorded: every call does nothing."""

    __slots__ = ()

    def run_started(
        self, entry_agent: str, prompt: str, thread_id: str, *, via_query: bool
    ) -> None:
        """Nothing to record."""

    def run_ended(self, status: str) -> None:
        """Nothing to record."""


NO_CASSETTE = NoCassette()


class RecordingClient:
    """A model client that passes every turn through and writes it to a cassette."""

    __slots__ = ("_inner", "_writer", "live")

    def __init__(self, inner: ModelClient, writer: CassetteWriter) -> None:
        self._inner = inner
        self._writer = writer
        self.live = inner.live

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Stream ``inner``'s turn, recording each part."""
        slot = self._writer.turn_started(request, self.live)
        parts: list[dict[str, Any]] = slot.entry["parts"]
        stream = self._inner.stream_turn(request)
        try:
            async for part in stream:
                parts.append(part_to_wire(part))
                yield part
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            self._writer.turn_ended(slot)


def open_cassette(record: str | Path) -> CassetteWriter:
    """Check the ``record`` argument of ``create_runtime`` and start a new cassette there.

    An existing file is replaced: a cassette holds the runs of one runtime.

    Raises:
        SpecTypeError: ``record`` is not a path.
        ConfigurationError: its directory does not exist or the file cannot be written.
    """
    if not isinstance(record, str | Path) or not str(record).strip():
        raise SpecTypeError(
            f"record must be the path of a cassette file (str or Path); got {record!r}"
        )
    path = Path(record)
    if not path.parent.is_dir():
        raise ConfigurationError(
            f"record: the directory of cassette '{path}' does not exist; create it first"
        )
    try:
        path.write_bytes(b"")
    except OSError as exc:
        raise ConfigurationError(f"record: cannot write cassette '{path}': {exc}") from exc
    return CassetteWriter(path)
