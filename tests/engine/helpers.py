"""Shared builders and event normalisation for the engine test suite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from flowai_harness import (
    ToolSpec,
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
)
from flowai_harness.engine.builtins import engine_tool_handlers
from flowai_harness.engine.compiled import EngineInputs, compile_runtime
from flowai_harness.handle import Runtime
from flowai_harness.ports import KeyValueStore, ModelClient
from flowai_harness.storage.memory import MemoryKeyValueStore

TENANT = define_tenant("acme", "v1")
MODEL = "claude-haiku-4-5"
INV_RE = re.compile(r"^inv-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

ZERO_USAGE = {
    "promptTokens": 0,
    "completionTokens": 0,
    "cacheReadInputTokens": 0,
    "cacheCreationInputTokens": 0,
    "totalTokens": 0,
}
PROMO_PLAN = define_plan(
    "Promo",
    {"type": "object", "properties": {"actions": {"type": "array"}}, "required": ["actions"]},
)


def specialist(name: str = "w", tools: Iterable[ToolSpec] = (), **kwargs: Any) -> Any:
    """A specialist on the default model."""
    return define_specialist(name, model=MODEL, prompt=f"{name} prompt", tools=tools, **kwargs)


def coordinator(routes: Sequence[str], name: str = "c", **kwargs: Any) -> Any:
    """A coordinator on the default model."""
    return define_coordinator(name, model=MODEL, prompt="route", routes=routes, **kwargs)


def planner(name: str = "planner", **kwargs: Any) -> Any:
    """A planner of the Promo plan."""
    return define_planner(name, model=MODEL, prompt="plan", plan=PROMO_PLAN, **kwargs)


def executor(name: str = "executor", **kwargs: Any) -> Any:
    """An executor of the Promo plan."""
    return define_executor(name, model=MODEL, prompt="execute", plan=PROMO_PLAN, **kwargs)


def runtime_of(*agents: Any, interpreter: Any = "noop", **kwargs: Any) -> Runtime:
    """``create_runtime`` over a runtime spec holding ``agents``."""
    spec_kwargs = {
        k: kwargs.pop(k)
        for k in ("references", "plans", "approval_policies", "approval_overrides", "toolkits")
        if k in kwargs
    }
    spec = define_runtime(TENANT, agents=list(agents), **spec_kwargs)
    return create_runtime(spec, interpreter=interpreter, **kwargs)


def engine_runtime(
    *agents: Any,
    client: ModelClient,
    kv: KeyValueStore | None = None,
    stream_capacity: int = 256,
    services: dict[str, Any] | None = None,
    references: Sequence[Any] = (),
    event_hooks: Sequence[Any] = (),
) -> Runtime:
    """A ``Runtime`` built straight from the engine inputs (to set the stream capacity)."""
    spec = define_runtime(TENANT, agents=list(agents), references=list(references))
    inputs = EngineInputs(
        spec=spec,
        clients={"*": client},
        kv=kv or MemoryKeyValueStore(),
        builtin_handlers=engine_tool_handlers(),
        tools={t.binding_key: t for a in spec.agents for t in a.tools},
        services=services or {},
        event_hooks=event_hooks,
    )
    return Runtime(compile_runtime(inputs), stream_capacity=stream_capacity)


def script(*calls: tuple[str, Any]) -> str:
    """A scripted-interpreter prompt running ``calls`` in order."""
    return json.dumps({"script": [{"tool": name, "args": args} for name, args in calls]})


def snapshot(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check the sequence numbers, then return the events without them and with stable ids.

    ``sequence`` must be 1, 2, 3, ... and is dropped; every ``inv-<uuid4>`` id becomes ``INV``
    (``INV2``, ... for further distinct ones) and every approval id becomes ``APPROVAL-<n>``.
    Nothing else is changed.
    """
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    names: dict[str, str] = {}

    def rename(value: str, prefix: str) -> str:
        if value not in names:
            count = sum(1 for v in names.values() if v.startswith(prefix)) + 1
            names[value] = prefix if (prefix == "INV" and count == 1) else f"{prefix}{count}"
        return names[value]

    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k != "sequence"}
        inv = event.get("toolInvocationId")
        if isinstance(inv, str) and INV_RE.match(inv):
            event["toolInvocationId"] = rename(inv, "INV")
        if event["type"] in ("approval-required", "approval-decision"):
            data = dict(event["data"])
            assert UUID_RE.match(data["id"]), data["id"]
            data["id"] = rename(data["id"], "APPROVAL-")
            event["data"] = data
        out.append(event)
    return out


def run_usage(model_calls: int, tool_calls: int) -> dict[str, int]:
    """The ``runUsage`` of an approval asked by a run whose model reports no tokens."""
    return {**ZERO_USAGE, "modelCalls": model_calls, "toolCalls": tool_calls}


def types(events: list[dict[str, Any]]) -> list[str]:
    """The ``type`` of every event, with the state appended for tool events."""
    return [e["type"] + (f":{e['state']}" if "state" in e else "") for e in events]
