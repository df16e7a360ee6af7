"""Runtime builders and event helpers shared by the live-provider tests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flowai_harness import (
    Runtime,
    ToolSpec,
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.testing import collect_events

from .conftest import SECRET_KEY

TENANT = define_tenant("acme", "v1")


@define_tool("lookup", {"sku": str}, description="Look up the price of a SKU.")
def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """A pricing tool."""
    return {"sku": args["sku"], "price": 4.5}


def fast_retries(**extra: Any) -> dict[str, Any]:
    """Provider config entries for quick retries in tests."""
    return {"retryInitialDelaySecs": 0.01, "retryMaxDelaySecs": 2.0, "timeoutSecs": 5.0, **extra}


def anthropic_runtime(
    base_url: str,
    *,
    model: str = "claude-sonnet-4-6",
    tools: Iterable[ToolSpec] = (lookup,),
    config: Mapping[str, Any] | None = None,
    name: str = "pricing",
) -> Runtime:
    """One specialist on the fake Anthropic API."""
    spec = define_runtime(
        TENANT,
        agents=[define_specialist(name, model=model, prompt="You price things.", tools=tools)],
        providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": base_url, **(config or {})}},
    )
    return create_runtime(spec, interpreter="anthropic")


def openai_runtime(
    base_url: str,
    *,
    model: str = "gpt-4o",
    tools: Iterable[ToolSpec] = (lookup,),
    config: Mapping[str, Any] | None = None,
    key: str = "openai-compatible",
    api_key: bool = True,
) -> Runtime:
    """One specialist on the fake OpenAI API."""
    provider: dict[str, Any] = {"baseUrl": base_url, **(config or {})}
    if api_key:
        provider["apiKey"] = SECRET_KEY
    spec = define_runtime(
        TENANT,
        agents=[
            define_specialist(
                "pricing",
                model={"id": model, "provider": key},
                prompt="You price things.",
                tools=tools,
            )
        ],
        providers={key: provider},
    )
    return create_runtime(spec, interpreter="openai")


async def run_pricing(runtime: Runtime, prompt: str = "price of A-1?") -> list[dict[str, Any]]:
    """Run the ``pricing`` specialist and collect its events."""
    return await collect_events(runtime.run_specialist("pricing", prompt, thread_id="t-1"), runtime)


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The events of one ``type``."""
    return [e for e in events if e["type"] == kind]


def texts(events: list[dict[str, Any]]) -> str:
    """All text deltas joined."""
    return "".join(e["text"] for e in of_type(events, "text"))


def assert_no_secret(*values: Any) -> None:
    """Fail if the test API key appears in any of ``values`` (events, logs, messages)."""
    for value in values:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        assert SECRET_KEY not in text
