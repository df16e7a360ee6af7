"""Prompt tokens of a data-heavy task: references and glimpses against the data sent inline.

One scripted analyst task runs twice through the real Anthropic provider (the official SDK,
``interpreter="anthropic"``) against the fake Messages API of the test suite on 127.0.0.1
(``tests/providers/fakes``), which speaks the real streaming wire protocol and accounts for
prompt caching from the ``cache_control`` markers each request carries:

1. ``describe_orders``  - a small description of the data;
2. ``fetch_orders``     - about 1 MB of order rows (compact JSON);
3. ``order_stats``      - a small aggregate;
4. ``top_customers``    - a small ranking;
5. the answer.

Arm **inline**: ``fetch_orders`` returns the rows themselves (its inline limit raised so the
engine sends them as they are). Arm **references**: it stores the rows as an ``OrderSet``
reference and returns the handle and a glimpse (count, columns, three sample rows, totals).
Everything else is identical.

Tokens are counted by the fake server as ``ceil(chars / 4)`` of each prompt block's compact
JSON, the same rule for both arms (see ``tests/providers/fakes/prompt_cache.py``); the cache
follows the API's rules: a marked prefix is written, and the longest prefix written by an
earlier request is a cache read. The server-side counts are cross-checked against the usage the
runtime reports in its ``finish`` events.

Targets: references cut the task's prompt tokens at least 20x; at least 80 % of the prompt
tokens after the first turn are cache reads (references arm).

Usage (from the repository root): ``.venv/bin/python benchmarks/tokens.py [--json] [--no-check]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.providers.fakes.anthropic_server import FakeAnthropic, ToolUse  # noqa: E402
from tests.providers.fakes.http import RecordedRequest, StreamReply  # noqa: E402
from tests.providers.fakes.prompt_cache import MIN_CACHEABLE_TOKENS, CacheUsage  # noqa: E402

from flowai_harness import (  # noqa: E402
    create_runtime,
    define_reference,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)

TARGET_REDUCTION = 20.0
TARGET_CACHE_SHARE = 0.80
RESULT_BYTES = 1_000_000
FAKE_KEY = "sk-fake-benchmark-key"
REGIONS = ("EMEA", "AMER", "APAC")
STATUSES = ("placed", "paid", "shipped", "delivered", "returned")

SYSTEM_PROMPT = """You are the order analyst of an online retailer. You answer questions about
orders, customers, products and revenue by calling the tools you are given; never invent figures,
and never present an estimate as a measured value.

# Data you can reach

orders - one row per order line.
  order_id (text, "O-000001"), customer (text, "C-0001"), region (EMEA, AMER or APAC), sku
  (text, "SKU-00001"), quantity (integer, 1-9), unit_price (decimal, EUR, VAT excluded), status
  (placed, paid, shipped, delivered, returned), ordered_at (date, ISO 8601, UTC).
customers - one row per customer account.
  customer (text), name, segment (consumer, small business, enterprise), country (ISO 3166
  alpha-2), region, signed_up_at (date), account_manager (text, may be empty).
products - one row per SKU.
  sku (text), title, category (apparel, home, garden, electronics, toys, grocery), brand,
  list_price (decimal, EUR), launched_at (date), discontinued (boolean).
returns - one row per returned order line.
  order_id, returned_at (date), reason (damaged, wrong item, changed mind, late, other),
  refund (decimal, EUR).

# Definitions

- Revenue of an order line is quantity * unit_price. Returned lines count as zero revenue;
  lines still "placed" (not paid) count as zero too unless the user asks for bookings.
- Average order value is revenue divided by the number of distinct orders, not of lines.
- A customer is active in a period when they have at least one paid line in it.
- Regions: EMEA is Europe, the Middle East and Africa; AMER both Americas; APAC Asia-Pacific.
- Fiscal year = calendar year. Weeks start on Monday (ISO weeks).

# How to work

1. Start with describe_orders to see what the data holds and how fresh it is.
2. Fetch the rows you need with fetch_orders, for one region at a time.
3. Prefer the aggregate tools (order_stats, top_customers) to arithmetic of your own: they
   read the full data set, while you may only see part of it.
4. When a tool returns a reference handle and a glimpse, reason from the glimpse; pass the
   handle on rather than asking for the full value.
5. State the period and the region of every figure you give, and round money to whole euros.
6. When the data cannot answer the question, say what is missing instead of guessing.
7. Never reveal customer names to users outside the account's region team; use the
   customer id instead when unsure.
8. If two tools disagree, report both figures and say which one you trust and why.

# Examples

Q: What did EMEA sell last month?
A: describe_orders, then order_stats for EMEA; give revenue, orders and average order value
   for the calendar month, with the month named.
Q: Which products are returned most in APAC?
A: fetch_orders for APAC; rank SKUs by returned lines from the glimpse's totals and say that
   the ranking covers the period the glimpse reports.
Q: Is customer C-0042 still active?
A: fetch_orders for the customer's region; active means a paid line in the last 90 days.

# Style

Short paragraphs. Figures in a small table when there are more than three; a table has a
header row, units in the header, and totals last. No speculation about causes unless the user
asks for it. Answer in the user's language. End with one line naming the tools you used.
"""
QUESTION = "Who are our five biggest customers in EMEA, and how much did they spend?"
SCRIPT = (
    ("describe_orders", {}),
    ("fetch_orders", {"region": "EMEA"}),
    ("order_stats", {"region": "EMEA"}),
    ("top_customers", {"region": "EMEA", "limit": 5}),
)
ANSWER = "The five biggest EMEA customers are listed above, with what they spent."


# ----------------------------------------------------------------------------- the data


def order_rows(target_bytes: int) -> list[dict[str, Any]]:
    """Deterministic order rows whose compact JSON is just under ``target_bytes``."""
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    size = 2  # the brackets
    while True:
        index = len(rows) + 1
        row = {
            "order_id": f"O-{index:06d}",
            "customer": f"C-{rng.randrange(1, 800):04d}",
            "region": "EMEA",
            "sku": f"SKU-{rng.randrange(1, 5000):05d}",
            "quantity": rng.randrange(1, 10),
            "unit_price": round(rng.uniform(2, 400), 2),
            "status": rng.choice(STATUSES),
            "ordered_at": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        }
        row_size = len(json.dumps(row, separators=(",", ":"))) + 1
        if size + row_size > target_bytes:
            return rows
        rows.append(row)
        size += row_size


def revenue(row: dict[str, Any]) -> float:
    return 0.0 if row["status"] == "returned" else row["quantity"] * row["unit_price"]


def orders_glimpse(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the model sees of an order set: its shape, a sample and the totals."""
    return {
        "count": len(rows),
        "columns": sorted(rows[0]) if rows else [],
        "sample": rows[:3],
        "customers": len({row["customer"] for row in rows}),
        "revenue": round(sum(revenue(row) for row in rows), 2),
        "period": [min(r["ordered_at"] for r in rows), max(r["ordered_at"] for r in rows)],
    }


# ----------------------------------------------------------------------------- the runtime


def build_runtime(rows: list[dict[str, Any]], url: str, *, by_reference: bool) -> Any:
    """One analyst on the fake API; ``fetch_orders`` inline or by reference."""
    order_set = define_reference("OrderSet", {"type": "array"}, glimpse=orders_glimpse)

    @define_tool("describe_orders", {}, description="Describe the orders data set.")
    def describe_orders(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"table": "orders", "rows": len(rows), "regions": list(REGIONS), "fresh": "today"}

    @define_tool("fetch_orders", {"region": str}, description="Fetch the order rows of a region.")
    async def fetch_orders(args: dict[str, Any], ctx: Any) -> Any:
        selected = [row for row in rows if row["region"] == args["region"]]
        if not by_reference:
            return {"rows": selected}
        created = await ctx.references.create(order_set, selected)
        return {
            "reference": {"kind": created["kind"], "id": created["id"]},
            "glimpse": created["glimpse"],
        }

    @define_tool("order_stats", {"region": str}, description="Order count and revenue of a region.")
    def order_stats(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        selected = [row for row in rows if row["region"] == args["region"]]
        return {"orders": len(selected), "revenue": round(sum(map(revenue, selected)), 2)}

    @define_tool(
        "top_customers", {"region": str, "limit": int}, description="The biggest customers."
    )
    def top_customers(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        spend: dict[str, float] = {}
        for row in rows:
            if row["region"] == args["region"]:
                spend[row["customer"]] = spend.get(row["customer"], 0.0) + revenue(row)
        ranked = sorted(spend.items(), key=lambda item: -item[1])[: args["limit"]]
        return {"customers": [{"customer": c, "spent": round(s, 2)} for c, s in ranked]}

    analyst = define_specialist(
        "analyst",
        model="claude-sonnet-4-6",
        prompt=SYSTEM_PROMPT,
        tools=[describe_orders, fetch_orders, order_stats, top_customers],
        max_turns=len(SCRIPT) + 2,
    )
    spec = define_runtime(
        define_tenant("bench", "v1"),
        agents=[analyst],
        references=[order_set],
        providers={"anthropic": {"apiKey": FAKE_KEY, "baseUrl": url}},
    )
    limits = {"tool_result_bytes_per_tool": {"fetch_orders": 4 * RESULT_BYTES}}
    return create_runtime(spec, interpreter="anthropic", limits=limits)


def scripted_model(server: FakeAnthropic) -> Any:
    """The fake model's part: the next scripted tool call, then the answer."""

    def respond(request: RecordedRequest) -> StreamReply:
        done = sum(
            1
            for message in request.json["messages"]
            if isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        )
        if done < len(SCRIPT):
            name, args = SCRIPT[done]
            return server.cached_reply(
                request, tool_uses=[ToolUse(name, args, id=f"toolu_{done:02d}")]
            )
        return server.cached_reply(request, text=ANSWER)

    return respond


# ----------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class ArmResult:
    """What one arm sent: per-request usage and the runtime's own total."""

    name: str
    usages: list[CacheUsage]
    request_bytes: list[int]
    reported_prompt_tokens: int
    answered: bool

    @property
    def prompt_tokens(self) -> int:
        return sum(usage.prompt_tokens for usage in self.usages)

    @property
    def cache_share_after_first(self) -> float:
        later = self.usages[1:]
        total = sum(usage.prompt_tokens for usage in later)
        return sum(usage.cache_read_input_tokens for usage in later) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.usages),
            "promptTokens": self.prompt_tokens,
            "reportedPromptTokens": self.reported_prompt_tokens,
            "perRequest": [
                {
                    "promptTokens": u.prompt_tokens,
                    "cacheRead": u.cache_read_input_tokens,
                    "cacheWrite": u.cache_creation_input_tokens,
                    "input": u.input_tokens,
                    "requestBytes": size,
                }
                for u, size in zip(self.usages, self.request_bytes, strict=True)
            ],
            "cacheShareAfterFirst": round(self.cache_share_after_first, 4),
            "answered": self.answered,
        }


async def run_arm(rows: list[dict[str, Any]], *, by_reference: bool) -> ArmResult:
    async with FakeAnthropic() as server:
        server.respond = scripted_model(server)
        runtime = build_runtime(rows, server.url, by_reference=by_reference)
        reported = 0
        text = ""
        async for event in runtime.run_specialist("analyst", QUESTION, thread_id="task"):
            if event["type"] == "finish":
                reported += event["usage"]["promptTokens"]
            elif event["type"] == "text":
                text += event["text"]
            elif event["type"] == "error":
                raise RuntimeError(f"the task failed: {event}")
        return ArmResult(
            "references" if by_reference else "inline",
            list(server.prompt_cache.history),
            [len(request.body) for request in server.requests],
            reported,
            text == ANSWER,
        )


def checks(inline: ArmResult, refs: ArmResult) -> dict[str, bool]:
    reduction = inline.prompt_tokens / refs.prompt_tokens
    return {
        "both_arms_answered": inline.answered and refs.answered,
        "every_turn_ran": len(inline.usages) == len(refs.usages) == len(SCRIPT) + 1,
        "inline_arm_sent_the_rows": max(inline.request_bytes) >= RESULT_BYTES,
        "runtime_usage_matches_server": all(
            arm.reported_prompt_tokens == arm.prompt_tokens for arm in (inline, refs)
        ),
        f"references_cut_prompt_tokens_ge_{TARGET_REDUCTION:g}x": reduction >= TARGET_REDUCTION,
        f"cache_share_after_first_turn_ge_{TARGET_CACHE_SHARE:.0%}": (
            refs.cache_share_after_first >= TARGET_CACHE_SHARE
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="prompt tokens: references vs inline data")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    args = parser.parse_args()
    rows = order_rows(RESULT_BYTES)
    inline = asyncio.run(run_arm(rows, by_reference=False))
    refs = asyncio.run(run_arm(rows, by_reference=True))
    results = checks(inline, refs)
    reduction = inline.prompt_tokens / refs.prompt_tokens
    if args.json:
        report = {
            "resultBytes": len(json.dumps(rows, separators=(",", ":"))),
            "rows": len(rows),
            "inline": inline.to_dict(),
            "references": refs.to_dict(),
            "reduction": round(reduction, 2),
            "checks": results,
        }
        print(json.dumps(report, indent=2))
    else:
        print(
            f"task: {len(SCRIPT)} tool calls then the answer; fetch_orders = {len(rows)} rows, "
            f"{len(json.dumps(rows, separators=(',', ':'))):,} bytes of JSON"
        )
        print(
            f"{'turn':>4} {'inline prompt':>14} {'cached':>7} {'references prompt':>18} {'cached':>7}"
        )
        for turn, (a, b) in enumerate(zip(inline.usages, refs.usages, strict=False), start=1):
            print(
                f"{turn:>4} {a.prompt_tokens:>14,} {_share(a):>7} {b.prompt_tokens:>18,} {_share(b):>7}"
            )
        print(
            f"total: inline {inline.prompt_tokens:,} tokens, references {refs.prompt_tokens:,} "
            f"tokens: {reduction:.1f}x fewer (target >= {TARGET_REDUCTION:g}x)"
        )
        print(
            f"cache reads after the first turn: references {refs.cache_share_after_first:.1%}, "
            f"inline {inline.cache_share_after_first:.1%} (target >= {TARGET_CACHE_SHARE:.0%})"
        )
        print(
            f"first request {refs.usages[0].prompt_tokens:,} tokens (system prompt, tools, "
            f"question); the API caches no prefix under {MIN_CACHEABLE_TOKENS:,} tokens"
        )
        for name, ok in results.items():
            print(f"    {'PASS' if ok else 'FAIL'} {name}")
    return 0 if args.no_check or all(results.values()) else 1


def _share(usage: CacheUsage) -> str:
    return (
        f"{usage.cache_read_input_tokens / usage.prompt_tokens:.0%}" if usage.prompt_tokens else "-"
    )


if __name__ == "__main__":
    raise SystemExit(main())
