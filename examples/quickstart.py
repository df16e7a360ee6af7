"""The quickstart app: a coordinator routes a change request to a planner and an executor.

Run it with ``scripts/main.sh`` (or ``python -m examples.quickstart``). With ``ANTHROPIC_API_KEY``
(or ``OPENAI_API_KEY``) set it runs against the live model; without a key it stays offline: the
``scripted`` interpreter replays the tool calls written in the prompt through the real runtime
(tools, references, plan storage, the approval gate and the action dispatcher all run for real).
``--interpreter scripted|noop|anthropic|openai`` chooses explicitly.

What happens:
1. The host stores the three items to change as an ``ItemSet`` reference (the model only ever
   sees its glimpse).
2. The coordinator hands off to the planner, which searches items and stores a typed
   ``ChangePlan`` whose action points at the reference.
3. The coordinator hands off to the executor, which calls ``executePlan``; the plan gate asks
   the host for approval, the host approves, and the action dispatcher receives the action with
   the reference already hydrated to the full list of ids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any, Literal

from pydantic import BaseModel, Field

from flowai_harness import (
    Runtime,
    TaggedUnion,
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_reference,
    define_runtime,
    define_tenant,
    define_tool,
    glimpse,
    layered_prompt,
)

# ----------------------------------------------------------------------------- domain

DOMAIN_KNOWLEDGE = {
    "statuses": ["open", "in_progress", "done"],
    "owners": ["ops-team", "data-team"],
    "rule": "Every change must reference the ItemSet it applies to.",
}


class ItemSetPayload(BaseModel):
    """The items a change applies to."""

    item_ids: list[str]


ItemSet = define_reference(
    "ItemSet",
    ItemSetPayload,
    ttl_ms=60 * 60 * 1000,
    glimpse=lambda value: {"itemCount": len(value.item_ids), "preview": value.item_ids[:3]},
)


class RefHandle(BaseModel):
    """A reference handle carried by an action."""

    kind: str
    id: str


class StatusUpdate(BaseModel):
    """Move one item to a new status."""

    kind: str = "status_update"
    item_id: str
    status: Literal["open", "in_progress", "done"]
    references: list[RefHandle] = Field(default_factory=list)


class OwnerAssignment(BaseModel):
    """Assign items to an owner."""

    kind: str = "owner_assignment"
    item_ids: list[str]
    owner: str
    references: list[RefHandle] = Field(default_factory=list)


ChangeAction = TaggedUnion(StatusUpdate, OwnerAssignment)


class ChangePlanBody(BaseModel):
    """What the planner stores."""

    target_ref: RefHandle
    rationale: str
    actions: list[ChangeAction]  # type: ignore[valid-type]


ChangePlan = define_plan("ChangePlan", ChangePlanBody, display_aliases={"draft": "Proposed"})


class Directory:
    """A tiny in-memory item directory, handed to tools as the ``directory`` service."""

    def __init__(self) -> None:
        self.items = [
            {"id": "item-1", "title": "Refresh revenue dashboard", "status": "open"},
            {"id": "item-2", "title": "Backfill revenue table", "status": "open"},
            {"id": "item-3", "title": "Audit revenue metric", "status": "in_progress"},
        ]

    def search(self, term: str, limit: int) -> list[dict[str, Any]]:
        """Return up to ``limit`` items whose title contains ``term``."""
        term = term.lower()
        return [item for item in self.items if term in item["title"].lower()][:limit]


@define_tool(
    "search_items",
    {"query": str, "limit": int},
    description="Search the item directory by a term in the title.",
)
def search_items(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    found = ctx.directory.search(args["query"], args["limit"])
    return {
        "items": found,
        "glimpse": glimpse({"resultCount": len(found), "preview": [i["id"] for i in found[:3]]}),
    }


# ----------------------------------------------------------------------------- agents


def default_interpreter() -> str:
    """``anthropic`` or ``openai`` when that provider's API key is set, else ``scripted``."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai"
    return "scripted"


def build_runtime(interpreter: str = "scripted") -> tuple[Runtime, list[str]]:
    """Build the quickstart runtime; returns it with the dispatcher's log lines."""
    # Live OpenAI runs use an OpenAI model (QUICKSTART_OPENAI_MODEL overrides it).
    model = (
        os.environ.get("QUICKSTART_OPENAI_MODEL", "gpt-4.1")
        if interpreter == "openai"
        else "claude-sonnet-4-6"
    )
    coordinator = define_coordinator(
        "change_coordinator",
        model=model,
        routes=["change_planner", "change_executor"],
        approval={"plans": "always", "tools": "never"},
        prompt=layered_prompt(
            identity="You coordinate change requests for the item directory.",
            operational_rules=[
                "Send planning work to change_planner.",
                "Send approved plans to change_executor.",
            ],
        ),
    )
    planner = define_planner(
        "change_planner",
        model=model,
        plan=ChangePlan,
        tools=[search_items],
        prompt=layered_prompt(
            identity="You turn change requests into a typed ChangePlan.",
            domain_knowledge=DOMAIN_KNOWLEDGE,
            output_format="Call storePlan with specName ChangePlan.",
        ),
    )
    executor = define_executor(
        "change_executor",
        model=model,
        plan=ChangePlan,
        prompt=layered_prompt(identity="You execute approved ChangePlans with executePlan."),
    )
    spec = define_runtime(
        define_tenant("demo", "v1"),
        agents=[coordinator, planner, executor],
        references=[ItemSet],
        providers={
            "anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"},
            "openai-compatible": {"apiKeyEnv": "OPENAI_API_KEY"},
        },
    )
    log: list[str] = []

    def dispatch(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        resolved = ctx["resolved_refs"].get("ItemSet", {})
        item_count = sum(len(value["item_ids"]) for value in resolved.values()) or len(actions)
        line = f"dispatcher: applying {len(actions)} action(s) to {item_count} item(s)"
        log.append(line)
        print(line)
        return {
            "entitiesAffected": item_count,
            "summary": f"Applied {len(actions)} change(s) to {item_count} item(s).",
            "details": {
                "actions": [a["kind"] for a in actions],
                "resolvedRefs": {k: sorted(v) for k, v in ctx["resolved_refs"].items()},
            },
        }

    runtime = create_runtime(
        spec,
        interpreter=interpreter,  # type: ignore[arg-type]
        services={"directory": Directory()},
        action_dispatcher=dispatch,
    )
    return runtime, log


def scripted_request(item_set: dict[str, Any]) -> str:
    """The coordinator script: plan with search + storePlan, then execute the plan."""
    handle = {"kind": item_set["kind"], "id": item_set["id"]}
    planner_script = json.dumps(
        {
            "script": [
                {"tool": "search_items", "args": {"query": "revenue", "limit": 3}},
                {
                    "tool": "storePlan",
                    "args": {
                        "specName": "ChangePlan",
                        "planId": "change-plan-1",
                        "body": {
                            "target_ref": handle,
                            "rationale": "Hand the revenue work to the data team.",
                            "actions": [
                                {
                                    "kind": "owner_assignment",
                                    "item_ids": ["item-1", "item-2", "item-3"],
                                    "owner": "data-team",
                                    "references": [handle],
                                }
                            ],
                        },
                    },
                },
            ]
        }
    )
    executor_script = json.dumps({"tool": "executePlan", "args": {"planId": "change-plan-1"}})
    return json.dumps(
        {
            "script": [
                {
                    "tool": "call_agent",
                    "args": {"agent": "change_planner", "prompt": planner_script},
                },
                {
                    "tool": "call_agent",
                    "args": {"agent": "change_executor", "prompt": executor_script},
                },
            ]
        }
    )


def describe(event: dict[str, Any]) -> str:
    """One readable line per event."""
    kind = event["type"]
    if kind == "tool-agent":
        return f"agent {event['state']:<6} {event['agentName']}"
    if kind == "tool-invocation":
        detail = json.dumps(event.get("result"))[:100] if event["state"] == "result" else ""
        return f"tool  {event['state']:<6} {event['toolName']} {detail}".rstrip()
    if kind == "approval-required":
        data = event["data"]
        return f"approval required: {data['kind']} {data['target']}"
    if kind == "approval-decision":
        return f"approval decision: {event['data']['outcome']}"
    if kind == "plan-status-change":
        data = event["data"]
        return f"plan {data['planId']}: {data['from']} -> {data['to']}"
    if kind == "text":
        return f"text  {event['text'][:100]!r}"
    if kind == "finish":
        return f"finish ({event['finishReason']})"
    if kind == "error":
        return f"ERROR {event['error']['message']}"
    return kind


async def main(interpreter: str = "scripted") -> int:
    """Run the quickstart end to end; return a process exit code."""
    runtime, log = build_runtime(interpreter)
    item_set = await runtime.create_reference(
        ItemSet, ItemSetPayload(item_ids=["item-1", "item-2", "item-3"])
    )
    print(f"glimpse: {item_set['glimpse']}")
    prompt = (
        scripted_request(item_set)
        if interpreter == "scripted"
        else (
            f"Assign the revenue items to the data team. The items are in ItemSet {item_set['id']}."
        )
    )
    final_text = ""
    errors = 0
    async for event in runtime.query(prompt, thread_id="quickstart-1"):
        print(f"[{event['sequence']:>3}] {describe(event)}")
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(
                event["data"]["id"], "approve", feedback="Approved by the quickstart host."
            )
        elif event["type"] == "text":
            final_text = event["text"]
        elif event["type"] == "error":
            errors += 1
    print(f"final text: {final_text}")
    return 1 if errors or not log else 0


def cli() -> int:
    """Entry point of ``python -m examples.quickstart``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--interpreter",
        default=None,
        help="scripted (offline), noop, anthropic or openai; default: live when "
        "ANTHROPIC_API_KEY or OPENAI_API_KEY is set, else scripted",
    )
    args = parser.parse_args()
    return asyncio.run(main(args.interpreter or default_interpreter()))


if __name__ == "__main__":
    raise SystemExit(cli())
