"""The stored form of model parts in a durable run's journal (``part`` entries)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flowai_harness.events import LatencySummary, TokenUsage, ToolTiming, json_copy
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelPart,
    ModelReasoning,
    ModelText,
    ModelToolCall,
)

__all__ = ["decode_part", "encode_part"]


def encode_part(part: ModelPart) -> dict[str, Any]:
    """Return the stored form of one model part."""
    if isinstance(part, ModelText):
        return {"text": part.text}
    if isinstance(part, ModelToolCall):
        return {"call": {"id": part.id, "name": part.name, "args": json_copy(part.args)}}
    if isinstance(part, ModelReasoning):
        return {"reasoning": part.text}
    if isinstance(part, ModelFinish):
        usage = asdict(part.usage)
        return {"finish": {"reason": part.reason, "usage": usage, "retryCount": part.retry_count}}
    if isinstance(part, ModelLatency):
        return {"latency": asdict(part.summary)}
    return {"error": {"message": part.message, "code": part.code}}


def decode_part(stored: dict[str, Any]) -> ModelPart:
    """Return the model part of a stored form written by :func:`encode_part`.

    Raises:
        ValueError: the stored form is not one of the known parts.
    """
    if "text" in stored:
        return ModelText(str(stored["text"]))
    if "call" in stored:
        call = stored["call"]
        return ModelToolCall(str(call["id"]), str(call["name"]), call.get("args"))
    if "reasoning" in stored:
        return ModelReasoning(str(stored["reasoning"]))
    if "finish" in stored:
        finish = stored["finish"]
        return ModelFinish(
            finish["reason"], TokenUsage(**finish.get("usage") or {}), finish.get("retryCount", 0)
        )
    if "latency" in stored:
        data = dict(stored["latency"])
        data["tool_timings"] = [ToolTiming(**t) for t in data.get("tool_timings") or []]
        return ModelLatency(LatencySummary(**data))
    if "error" in stored:
        error = stored["error"]
        return ModelError(str(error.get("message")), error.get("code"))
    raise ValueError(f"unknown journaled model part: {sorted(stored)}")
