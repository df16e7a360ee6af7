"""One question to a model, without tools: the text of its answer, or the JSON object in it.

Eval judges and the data jobs (profiling enrichment, knowledge extraction) ask a model one
question through the same :class:`~flowai_harness.ports.ModelClient` port agents use, so a live
provider's retries, fallback models, timeouts and prices apply to them as they do to agents.
A tool call in the answer gets an error result (no tool is offered), and the turn goes on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flowai_harness.errors import ProviderError
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelRequest,
    ModelText,
    ModelToolCall,
    error_outcome,
)

__all__ = [
    "ModelAnswer",
    "ask_for_json",
    "ask_model",
    "json_object_in",
    "question",
]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """The text a model answered and the tokens the turn used."""

    text: str
    usage: TokenUsage


def question(*, agent: str, provider: str, model: str, system: str, prompt: str) -> ModelRequest:
    """Return the request of a one-turn question without tools.

    Args:
        agent: Who asks, as the client's errors and logs name it (``"judge"``).
        provider: The provider key the model routes to.
        model: The model id.
        system: The system prompt.
        prompt: The user message.
    """
    return ModelRequest(
        agent=agent,
        model=model,
        provider=provider,
        system_prompt=system,
        prompt=prompt,
        history=[],
        tools=[],
        turn=1,
        max_turns=1,
    )


async def ask_model(client: ModelClient, request: ModelRequest) -> ModelAnswer:
    """Stream one turn of ``request`` and collect its text.

    Returns:
        The text and the usage of the finish (zero usage if the stream ended without one).

    Raises:
        ProviderError: The client reported a model error; the message is the client's, which
            live providers keep free of API keys.
    """
    text: list[str] = []
    stream = client.stream_turn(request)
    try:
        async for part in stream:
            if isinstance(part, ModelText):
                text.append(part.text)
            elif isinstance(part, ModelToolCall):
                request.tool_results[part.id] = error_outcome(
                    f"tools are not available to {request.agent}"
                )
            elif isinstance(part, ModelError):
                raise ProviderError(part.message)
            elif isinstance(part, ModelFinish):
                return ModelAnswer("".join(text), part.usage)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    return ModelAnswer("".join(text), TokenUsage())


def json_object_in(text: str) -> dict[str, Any]:
    """Return the JSON object of a model answer: bare, in a fenced code block, or the outermost
    ``{...}`` of text around it.

    Raises:
        ValueError: No JSON object could be read.
    """
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError("the answer holds no JSON object")


async def ask_for_json(client: ModelClient, request: ModelRequest) -> dict[str, Any]:
    """Ask one question and return the JSON object of the answer.

    Raises:
        ProviderError: The model failed, or its answer holds no JSON object.
    """
    answer = await ask_model(client, request)
    try:
        return json_object_in(answer.text)
    except ValueError as exc:
        raise ProviderError(f"the model's answer was not usable: {exc}") from None
