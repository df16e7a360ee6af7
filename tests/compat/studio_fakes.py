"""A runtime double for the Studio compatibility tests, and the app around it.

:class:`ReplayRuntime` stands in for a runtime the Studio does not control: every chat turn
replays one scripted list of raw runtime event dicts from a plain async generator (no
``cancel()`` method), and approval answers are recorded. The app has a coordinator
``scenario_coordinator`` routing to the specialist ``insights`` and a ``planner``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from flowai_harness import (
    define_coordinator,
    define_plan,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
)
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.studio import FlowAIApp, StudioStore, create_studio_app, define_app
from flowai_harness.studio.apps import define_workspace_runtime

#: The base URL of in-process clients (the Studio answers only its own host names).
LOCAL_URL = "http://127.0.0.1"
W = "/api/workspaces/default"
COORDINATOR = "scenario_coordinator"

#: An event a replayed turn waits on forever (until the run is cancelled).
WAIT_FOREVER: dict[str, Any] = {"type": "__wait_forever__"}


def scenario_spec() -> RuntimeSpec:
    """Coordinator -> specialist ``insights``; a planner; an Anthropic key given inline."""
    plan = define_plan("price_plan", {"actions": list[dict[str, Any]]})
    return define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_coordinator(
                COORDINATOR, model="claude-sonnet-4-6", routes=["insights"], prompt="Route."
            ),
            define_specialist("insights", model="claude-haiku-4-5", prompt="Find insights."),
            define_planner("planner", model="claude-haiku-4-5", prompt="Plan.", plan=plan),
        ],
        providers={"anthropic": {"apiKey": "sk-ant-compat-not-a-real-key"}},
    )


class ReplayRuntime:
    """Chat turns replay scripted raw events; ``respond_to_approval`` calls are recorded."""

    def __init__(self, *turns: list[dict[str, Any]]) -> None:
        self.resource_id = "acme"
        self.turns = list(turns)
        self.answers: list[dict[str, Any]] = []

    async def _replay(self) -> AsyncIterator[dict[str, Any]]:
        events = self.turns.pop(0) if self.turns else []
        for event in events:
            if event is WAIT_FOREVER:
                await asyncio.Event().wait()
            yield event

    def query(self, prompt: str, thread_id: str) -> AsyncIterator[dict[str, Any]]:
        return self._replay()

    def run_specialist(
        self, agent: str, prompt: str, thread_id: str
    ) -> AsyncIterator[dict[str, Any]]:
        return self._replay()

    async def respond_to_approval(
        self, approval_id: str, outcome: str, feedback: str | None = None, partial: Any = None
    ) -> None:
        self.answers.append(
            {
                "approvalId": approval_id,
                "outcome": outcome,
                "feedback": feedback,
                "partial": partial,
            }
        )


def replay_app(runtime: ReplayRuntime) -> FlowAIApp:
    """One ``default`` workspace bound to ``runtime``."""
    return define_app(
        name="compat-studio",
        workspaces={
            "default": define_workspace_runtime(runtime_spec=scenario_spec(), runtime=runtime)  # type: ignore[arg-type]
        },
    )


@contextmanager
def client_for(app: FlowAIApp, store: StudioStore | None = None) -> Iterator[TestClient]:
    """A TestClient on the Studio of ``app`` (in-memory store unless one is given)."""
    options: dict[str, Any] = {"store": store} if store is not None else {"store_path": None}
    with TestClient(create_studio_app(app, **options), base_url=LOCAL_URL) as client:
        yield client


def text(value: str) -> dict[str, Any]:
    """A raw ``text`` event."""
    return {"type": "text", "text": value}


def tool(call_id: str, name: str, state: str, **fields: Any) -> dict[str, Any]:
    """A raw ``tool-invocation`` event (call id under ``toolCallId``)."""
    return {
        "type": "tool-invocation",
        "toolCallId": call_id,
        "toolName": name,
        "state": state,
        **fields,
    }


def sub_agent(name: str, call_id: str, state: str) -> dict[str, Any]:
    """A raw ``tool-agent`` event."""
    return {"type": "tool-agent", "agentName": name, "toolCallId": call_id, "state": state}
