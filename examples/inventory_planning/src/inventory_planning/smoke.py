"""Smoke run: ``python -m inventory_planning.smoke [--dir .inventory]``.

Needs the working directory prepared by the README's commands (seed, profile, ingest, index).
Asks the analyst for days of cover by channel (catalog search + ``execute_query``), then asks
for a replenishment of the online stockout risks, approves the plan, and prints the purchase
orders the planning platform now holds. Exits 0 when both runs finished without an error event
and the approved plan placed at least one order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from flowai_harness import Runtime
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.runtime import INTERPRETERS, build_runtime
from inventory_planning.workdir import WorkDir

__all__ = ["PLAN_REQUEST", "QUESTION", "describe", "main"]

QUESTION = "What are the days of cover by channel?"
PLAN_REQUEST = "Replenish online products under 7 days of cover."


def describe(event: dict[str, Any]) -> str:
    """One readable line for a runtime event."""
    kind = str(event["type"])
    if kind == "tool-agent":
        return f"agent {event['state']:<6} {event['agentName']}"
    if kind == "tool-invocation":
        detail = json.dumps(event.get("result"))[:90] if event["state"] == "result" else ""
        return f"tool  {event['state']:<6} {event['toolName']} {detail}".rstrip()
    if kind == "approval-required":
        return f"approval required: {event['data']['kind']} {event['data']['target']}"
    if kind == "approval-decision":
        return f"approval decision: {event['data']['outcome']['outcome']}"
    if kind == "plan-status-change":
        data = event["data"]
        return f"plan {data['planId']}: {data['from']} -> {data['to']}"
    if kind == "error":
        return f"ERROR {event['error']['message']}"
    return kind


async def _ask(runtime: Runtime, prompt: str, thread_id: str) -> tuple[int, int, str]:
    """Run one request, approving every gate; returns (events, errors, final text)."""
    count = errors = 0
    final = ""
    print(f"> {prompt}")
    async for event in runtime.query(prompt, thread_id=thread_id):
        count += 1
        if event["type"] == "text":
            final = event["text"]
            continue
        if event["type"] not in ("step-start", "finish"):
            print(f"  [{event['sequence']:>3}] {describe(event)}")
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(event["data"]["id"], "approve", feedback="smoke")
        elif event["type"] == "error":
            errors += 1
    print(final)
    return count, errors, final


async def run(workdir: WorkDir, interpreter: str = "offline") -> int:
    """Run the two smoke requests on ``workdir``; returns a process exit code."""
    platform = PlanningPlatform(workdir.planning_db)
    try:
        orders_before = len(platform.purchase_orders())
        runtime = build_runtime(workdir, platform=platform, interpreter=interpreter)
        asked = await _ask(runtime, QUESTION, "smoke-question")
        planned = await _ask(runtime, PLAN_REQUEST, "smoke-plan")
        orders = platform.purchase_orders()
    finally:
        platform.close()
    print("planning platform purchase orders:")
    for order in orders:
        print(
            f"  po-{order['po_id']} {order['product_id']} x{order['units']} from "
            f"{order['supplier_id']} into {order['warehouse_id']}"
        )
    placed = len(orders) - orders_before
    ok = not (asked[1] or planned[1]) and "days of cover" in asked[2] and placed > 0
    print(
        f"smoke {'ok' if ok else 'FAILED'}: target database {workdir.target_db}; "
        f"catalog query {'ok' if 'days of cover' in asked[2] else 'failed'}; "
        f"platform orders placed: {placed}; runtime events: {asked[0] + planned[0]}"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m inventory_planning.smoke``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", default=None, help="working directory (default: .inventory)")
    parser.add_argument("--interpreter", choices=INTERPRETERS, default="offline")
    args = parser.parse_args(argv)
    return asyncio.run(run(WorkDir.at(args.dir), args.interpreter))


if __name__ == "__main__":
    raise SystemExit(main())
