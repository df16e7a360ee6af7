"""One JSON-answering Anthropic call, shared by profiling enrichment and knowledge extraction.

The official ``anthropic`` SDK is imported on first use (extra ``flowai-harness[anthropic]``).
The answer's text is parsed as one JSON object (a fenced code block is accepted). Every failure
(HTTP error, timeout, no JSON) becomes a :class:`~flowai_harness.errors.ProviderError` whose
message never contains the API key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.errors import MissingDependencyError, ProviderError

__all__ = ["AnthropicSettings", "ask_json"]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class AnthropicSettings:
    """How to reach Anthropic: key, model, optional base URL, time limit and retries."""

    api_key: str = field(repr=False)
    model: str
    base_url: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    max_tokens: int = 4096

    def scrub(self, text: str) -> str:
        """Mask the API key in ``text``."""
        return text.replace(self.api_key, "***") if self.api_key else text


def _anthropic() -> Any:
    try:
        import anthropic
    except ImportError as exc:
        raise MissingDependencyError(
            "LLM enrichment needs the anthropic SDK; install it with: "
            "pip install 'flowai-harness[anthropic]'"
        ) from exc
    return anthropic


def parse_json_object(text: str) -> dict[str, Any]:
    """Return the JSON object in a model answer (bare, fenced, or surrounded by prose).

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


async def ask_json(settings: AnthropicSettings, system: str, prompt: str) -> dict[str, Any]:
    """Send one message and return the JSON object of the answer.

    Args:
        settings: Key, model, base URL, timeout (seconds) and retries of the call.
        system: The system prompt.
        prompt: The user message.

    Returns:
        The parsed JSON object.

    Raises:
        MissingDependencyError: The ``anthropic`` SDK is not installed.
        ProviderError: The call failed after its retries, or the answer was not a JSON object.
    """
    anthropic = _anthropic()
    client = anthropic.AsyncAnthropic(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )
    try:
        message = await client.messages.create(
            model=settings.model,
            max_tokens=settings.max_tokens,
            system=system,
            messages=[{"role": "user", "content": prompt}],
        )
    except anthropic.APIError as exc:
        status = getattr(exc, "status_code", None)
        where = f"HTTP {status}" if status else type(exc).__name__
        raise ProviderError(
            f"anthropic request failed ({where}): {settings.scrub(str(exc))[:300]}"
        ) from None
    finally:
        await client.close()
    text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
    try:
        return parse_json_object(text)
    except ValueError as exc:
        raise ProviderError(f"anthropic answer was not usable: {exc}") from None
