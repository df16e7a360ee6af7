"""A full coordinator -> planner -> executor run with a plan approval, on fake live APIs.

The fakes answer like a model would: each agent (recognised by its system prompt) makes its
tool call on its first turn and answers with text once the tool result is in the conversation.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_runtime,
)
from flowai_harness.testing import collect_events

from .conftest import SECRET_KEY
from .fakes.anthropic_server import FakeAnthropic, ToolUse, anthropic_reply
from .fakes.http import RecordedRequest, Reply
from .fakes.openai_server import FakeOpenAI, FunctionCall, openai_reply
from .support import TENANT, assert_no_secret, of_type

PLAN = define_plan(
    "Promo",
    {"type": "object", "properties": {"actions": {"type": "array"}}, "required": ["actions"]},
)
PLAN_BODY = {"actions": [{"kind": "discount", "sku": "A-1", "percent": 10}]}


def _spec(planner_model: Any = "claude-haiku-4-5", providers: dict[str, Any] | None = None) -> Any:
    return define_runtime(
        TENANT,
        agents=[
            define_coordinator(
                "coordinator",
                model="claude-sonnet-4-6",
                routes=["planner", "executor"],
                prompt="You coordinate promotions.",
            ),
            define_planner(
                "planner", model=planner_model, plan=PLAN, prompt="You plan promotions."
            ),
            define_executor(
                "executor",
                model="claude-haiku-4-5",
                plan=PLAN,
                prompt="You execute approved promotion plans.",
            ),
        ],
        plans=[PLAN],
        providers=providers,
    )


def _anthropic_model(request: RecordedRequest) -> Reply:
    body = request.json
    system = body["system"][0]["text"]
    results = sum(
        1
        for m in body["messages"]
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    )
    if "You coordinate" in system:
        if results == 0:
            return anthropic_reply(
                text="Planning first.",
                tool_uses=[
                    ToolUse(
                        "call_agent", {"agent": "planner", "prompt": "Plan a 10% discount on A-1."}
                    )
                ],
            )
        if results == 1:
            return anthropic_reply(
                tool_uses=[
                    ToolUse("call_agent", {"agent": "executor", "prompt": "Execute plan promo-1."})
                ]
            )
        return anthropic_reply(text="The discount is live.", input_tokens=300)
    if "You plan" in system:
        if results == 0:
            return anthropic_reply(
                tool_uses=[
                    ToolUse(
                        "storePlan", {"specName": "Promo", "planId": "promo-1", "body": PLAN_BODY}
                    )
                ]
            )
        return anthropic_reply(text="Stored plan promo-1.")
    if results == 0:
        return anthropic_reply(
            thinking=["Run it."], tool_uses=[ToolUse("executePlan", {"planId": "promo-1"})]
        )
    return anthropic_reply(text="Executed promo-1.")


def _openai_planner(request: RecordedRequest) -> Reply:
    messages = request.json["messages"]
    if not any(m["role"] == "tool" for m in messages):
        return openai_reply(
            calls=[
                FunctionCall(
                    "storePlan", {"specName": "Promo", "planId": "promo-1", "body": PLAN_BODY}
                )
            ]
        )
    return openai_reply(text="Stored plan promo-1 (gpt).")


async def _run(runtime: Any) -> list[dict[str, Any]]:
    events = await asyncio.wait_for(
        collect_events(
            runtime.query("Run a 10% promo on A-1", thread_id="promo-thread"),
            runtime,
            approve="approve",
        ),
        30,
    )
    assert_no_secret(events)
    return events


def _frames(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["agentName"], e["state"]) for e in of_type(events, "tool-agent")]


async def test_coordinator_planner_executor_with_approval_on_anthropic(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.respond = _anthropic_model
    dispatched: list[Any] = []

    def dispatcher(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        dispatched.append(actions)
        return {"entitiesAffected": 1, "summary": "discount applied", "details": None}

    spec = _spec(providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": anthropic_fake.url}})
    runtime = create_runtime(spec, interpreter="anthropic", action_dispatcher=dispatcher)
    events = await _run(runtime)

    assert of_type(events, "error") == []
    assert _frames(events) == [
        ("coordinator", "call"),
        ("planner", "call"),
        ("planner", "result"),
        ("executor", "call"),
        ("executor", "result"),
        ("coordinator", "result"),
    ]
    assert dispatched == [
        [{"kind": "discount", "payload": {"sku": "A-1", "percent": 10}, "references": []}]
    ]
    approval = of_type(events, "approval-required")[0]["data"]
    assert approval["kind"] == "plan" and approval["threadId"] == "promo-thread-executor"
    statuses = [(e["data"]["from"], e["data"]["to"]) for e in of_type(events, "plan-status-change")]
    assert statuses[:2] == [("draft", "pending_approval"), ("pending_approval", "approved")]
    assert [e["text"] for e in of_type(events, "reasoning")] == ["Run it."]

    summaries = of_type(events, "data-cost-summary")
    assert [
        (s["data"]["agents"][0]["agentName"], s["data"]["agents"][0]["model"]) for s in summaries
    ] == [
        ("planner", "claude-haiku-4-5"),
        ("executor", "claude-haiku-4-5"),
        ("coordinator", "claude-sonnet-4-6"),
    ]
    assert all(s["data"]["totalCostUsd"] > 0 for s in summaries)
    assert [e["finishReason"] for e in of_type(events, "finish")] == ["stop"] * 3
    # cost and latency summaries come right before each finish
    for index, event in enumerate(events):
        if event["type"] == "finish":
            assert [e["type"] for e in events[index - 2 : index]] == [
                "data-cost-summary",
                "data-latency-summary",
            ]

    call_results = [
        e["result"]
        for e in of_type(events, "tool-invocation")
        if e["state"] == "result" and e["toolName"] == "call_agent"
    ]
    assert call_results[0] == {
        "agent": "planner",
        "response": "Stored plan promo-1.",
        "model": "claude-haiku-4-5",
    }
    assert call_results[1]["response"] == "Executed promo-1."
    assert len(anthropic_fake.requests) == 7
    # the executor's second request carries the executePlan result with resolved actions
    executor_last = [
        b for b in anthropic_fake.message_bodies if b["system"][0]["text"].startswith("You execute")
    ][-1]
    result_text = executor_last["messages"][-1]["content"][0]["content"][0]["text"]
    assert json.loads(result_text)["entitiesAffected"] == 1


async def test_agents_on_different_providers_share_one_live_run(
    anthropic_fake: FakeAnthropic, openai_fake: FakeOpenAI
) -> None:
    anthropic_fake.respond = _anthropic_model
    openai_fake.respond = _openai_planner
    spec = _spec(
        planner_model="gpt-4o",
        providers={
            "anthropic": {"apiKey": SECRET_KEY, "baseUrl": anthropic_fake.url},
            "openai-compatible": {"apiKey": SECRET_KEY, "baseUrl": openai_fake.base_url},
        },
    )
    runtime = create_runtime(spec, interpreter="anthropic")
    events = await _run(runtime)
    assert of_type(events, "error") == []
    assert len(openai_fake.requests) == 2
    planner_summary = of_type(events, "data-cost-summary")[0]["data"]["agents"][0]
    assert (planner_summary["agentName"], planner_summary["model"]) == ("planner", "gpt-4o")
    call_results = [
        e["result"]
        for e in of_type(events, "tool-invocation")
        if e["state"] == "result" and e["toolName"] == "call_agent"
    ]
    assert call_results[0]["response"] == "Stored plan promo-1 (gpt)."


async def test_stateful_coordinator_sends_its_history_on_the_next_query(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.respond = _anthropic_model
    spec = _spec(providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": anthropic_fake.url}})
    runtime = create_runtime(spec, interpreter="anthropic")
    await _run(runtime)
    anthropic_fake.respond = None
    anthropic_fake.queue(anthropic_reply(text="Yes, it is live."))
    await asyncio.wait_for(
        collect_events(runtime.query("Is it live?", thread_id="promo-thread"), runtime), 30
    )
    messages = anthropic_fake.message_bodies[-1]["messages"]
    kinds = [(m["role"], [b["type"] for b in m["content"]]) for m in messages]
    assert kinds[0] == ("user", ["text"])
    assert kinds[1] == ("assistant", ["tool_use", "tool_use"])
    assert kinds[2] == ("user", ["tool_result", "tool_result"])
    assert kinds[3] == ("assistant", ["text"])
    assert kinds[-1] == ("user", ["text"])
    assert messages[3]["content"][0]["text"] == "Planning first.The discount is live."
