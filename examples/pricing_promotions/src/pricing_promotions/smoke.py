"""Offline smoke run: ``python -m pricing_promotions.smoke``.

Sends one change request through coordinator -> planner -> executor with the offline model,
approves the plan when the gate asks, and prints what the commerce service holds afterwards.
Exits 0 when the commerce service changed and no error event arrived, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from pricing_promotions.commerce import CommerceService
from pricing_promotions.runtime import INTERPRETERS, build_runtime

__all__ = ["DEFAULT_REQUEST", "describe", "main", "run"]

DEFAULT_REQUEST = "Set p-001 to 6.49 and launch a 15% promotion on snacks for 14 days."


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
    if kind == "text":
        return f"text  {event['text'][:100]!r}"
    if kind == "error":
        return f"ERROR {event['error']['message']}"
    return kind


def holdings(commerce: CommerceService) -> list[str]:
    """What the commerce service holds, as printable lines."""
    lines = ["commerce service now holds:", "  prices:"]
    changed = {change["productId"]: change for change in commerce.price_changes()}
    for product in commerce.products():
        was = changed.get(product["productId"])
        note = f" (was {was['oldPrice']:.2f})" if was else ""
        lines.append(
            f"    {product['productId']} {product['name']:<22} {product['price']:.2f}{note}"
        )
    lines.append("  promotions:")
    for promo in commerce.promotions():
        lines.append(
            f"    {promo['promotionId']} {promo['name']!r} {promo['discountPercent']}% off "
            f"{', '.join(promo['productIds'])} ({promo['startsOn']} to {promo['endsOn']}, "
            f"{promo['status']})"
        )
    if not commerce.promotions():
        lines.append("    (none)")
    return lines


async def run(commerce: CommerceService, request: str, interpreter: str = "offline") -> int:
    """Run ``request`` on the desk, approving every gate; return a process exit code."""
    runtime = build_runtime(commerce, interpreter=interpreter)
    before = commerce.snapshot()
    errors = 0
    async for event in runtime.query(request, thread_id="pricing-smoke"):
        print(f"[{event['sequence']:>3}] {describe(event)}")
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(
                event["data"]["id"], "approve", feedback="Approved by the smoke run."
            )
        elif event["type"] == "error":
            errors += 1
    print("\n".join(holdings(commerce)))
    applied = commerce.snapshot() != before
    return 0 if applied and not errors else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m pricing_promotions.smoke``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--request", default=DEFAULT_REQUEST, help="the change request to send")
    parser.add_argument(
        "--db", default=":memory:", help="commerce database file (default: a throwaway one)"
    )
    parser.add_argument("--interpreter", choices=INTERPRETERS, default="offline")
    args = parser.parse_args(argv)
    commerce = CommerceService(args.db)
    try:
        return asyncio.run(run(commerce, args.request, args.interpreter))
    finally:
        commerce.close()


if __name__ == "__main__":
    raise SystemExit(main())
