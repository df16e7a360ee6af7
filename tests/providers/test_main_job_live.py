"""The main job goes live when a key is set: run it against the fake Anthropic API.

This is the README's ``ANTHROPIC_API_KEY=... scripts/main.sh`` with ``ANTHROPIC_BASE_URL``
pointing at a fake that answers like a model following the quickstart's instructions.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from .conftest import SECRET_KEY
from .fakes.anthropic_server import FakeAnthropic, ToolUse, anthropic_reply
from .fakes.http import RecordedRequest, Reply

REPO_ROOT = Path(__file__).resolve().parents[2]
_ITEM_SET = re.compile(r"ItemSet ([0-9a-f]{24})")


def _first_user_text(request: RecordedRequest) -> str:
    first = request.json["messages"][0]["content"]
    return "".join(block.get("text", "") for block in first)


def _quickstart_model(request: RecordedRequest) -> Reply:
    body = request.json
    system = body["system"][0]["text"]
    results = sum(
        1 for m in body["messages"] for b in m["content"] if b.get("type") == "tool_result"
    )
    found = _ITEM_SET.search(_first_user_text(request))
    item_set = found.group(1) if found else "missing"
    if "You coordinate change requests" in system:
        if results == 0:
            return anthropic_reply(
                tool_uses=[
                    ToolUse(
                        "call_agent",
                        {
                            "agent": "change_planner",
                            "prompt": f"Assign ItemSet {item_set} to data-team.",
                        },
                    )
                ]
            )
        if results == 1:
            return anthropic_reply(
                tool_uses=[
                    ToolUse(
                        "call_agent",
                        {"agent": "change_executor", "prompt": "Execute plan change-plan-1."},
                    )
                ]
            )
        return anthropic_reply(text="The revenue items now belong to the data team.")
    if "typed ChangePlan" in system:
        if results == 0:
            return anthropic_reply(
                tool_uses=[ToolUse("search_items", {"query": "revenue", "limit": 3})]
            )
        if results == 1:
            handle = {"kind": "ItemSet", "id": item_set}
            return anthropic_reply(
                tool_uses=[
                    ToolUse(
                        "storePlan",
                        {
                            "specName": "ChangePlan",
                            "planId": "change-plan-1",
                            "body": {
                                "target_ref": handle,
                                "rationale": "Data team owns revenue.",
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
                    )
                ]
            )
        return anthropic_reply(text="Stored change-plan-1.")
    if results == 0:
        return anthropic_reply(tool_uses=[ToolUse("executePlan", {"planId": "change-plan-1"})])
    return anthropic_reply(text="Executed change-plan-1.")


async def test_main_job_runs_live_when_the_anthropic_key_is_set(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.respond = _quickstart_model
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env.update({"ANTHROPIC_API_KEY": SECRET_KEY, "ANTHROPIC_BASE_URL": anthropic_fake.url})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.quickstart",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    output = stdout.decode() + stderr.decode()
    assert process.returncode == 0, output
    assert "dispatcher: applying 1 action(s) to 3 item(s)" in output
    assert "approval required: plan change-plan-1" in output
    assert "data-cost-summary" in output
    assert "ERROR" not in output
    assert SECRET_KEY not in output
    assert len(anthropic_fake.requests) == 8
