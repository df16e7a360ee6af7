"""A rule-following stand-in for the language model, so the desk runs without an API key.

It is a :class:`flowai_harness.testing.ScriptedModel` whose ``respond`` callback plays each
agent's part from the request text and the tool results so far: the coordinator routes, the
planner grounds itself with ``list_products``, selects products, and stores a ``PricingPlan``;
the executor calls ``executePlan``; the insights specialist reads sales and margins. Everything
else - tool dispatch, argument validation, references, plan storage, the approval gate and the
action dispatcher - is the real runtime. It understands the phrasings listed in
:mod:`pricing_promotions.requests`; a live model replaces it when a key is configured.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Protocol

from flowai_harness.testing import ModelTurn, ScriptedModel, ToolCallStep
from pricing_promotions.agents import COORDINATOR, EXECUTOR, INSIGHTS, PLANNER
from pricing_promotions.domain import PLAN_SPEC_NAME
from pricing_promotions.requests import PricingRequest, read_request

__all__ = ["offline_model"]

_PLAN_ID = re.compile(r"\bpricing-plan-\d+\b")
_HELP = (
    "I can plan price changes ('set p-001 to 6.49'), promotions ('a 15% promotion on snacks "
    "for 14 days') and promotion ends ('end promo-1'). Ask insights questions about sales "
    "and margins."
)


class _Request(Protocol):
    agent: str
    prompt: str
    turns: list[list[Any]]


def offline_model() -> ScriptedModel:
    """Return a fresh offline model (plan ids restart at ``pricing-plan-1``)."""
    return ScriptedModel(respond=_OfflineDesk().respond)


def _call(name: str, args: dict[str, Any]) -> ModelTurn:
    return ModelTurn(tool_calls=[ToolCallStep(name, args)])


def _error_text(result: Any) -> str:
    if isinstance(result, dict):
        return str(result.get("error") or result.get("message") or result)
    return str(result)


class _OfflineDesk:
    """Plays every agent of the desk; the only state is the plan-id counter."""

    def __init__(self) -> None:
        self._plan_numbers = itertools.count(1)

    def respond(self, request: _Request) -> ModelTurn:
        done = [call for turn in request.turns for call in turn]
        play = {
            COORDINATOR: self._coordinator,
            INSIGHTS: self._insights,
            PLANNER: self._planner,
            EXECUTOR: self._executor,
        }.get(request.agent)
        if play is None:
            return ModelTurn(text=f"The offline model has no part for agent {request.agent!r}.")
        return play(request.prompt, done)

    def _coordinator(self, prompt: str, done: list[Any]) -> ModelTurn:
        ask = read_request(prompt)
        if not done:
            target = PLANNER if ask.asks_for_changes else INSIGHTS
            return _call("call_agent", {"agent": target, "prompt": prompt})
        last = done[-1]
        agent = last.arguments.get("agent")
        if last.is_error:
            return ModelTurn(text=f"{agent} could not finish: {_error_text(last.result)}")
        response = str(last.result.get("response", ""))
        plan_id = _PLAN_ID.search(response)
        if agent == PLANNER and plan_id and not ask.draft_only:
            return _call(
                "call_agent", {"agent": EXECUTOR, "prompt": f"Execute plan {plan_id.group(0)}."}
            )
        return ModelTurn(text=response)

    def _planner(self, prompt: str, done: list[Any]) -> ModelTurn:
        ask = read_request(prompt)
        if not ask.asks_for_changes:
            return ModelTurn(text=_HELP)
        if not done:
            calls = [ToolCallStep("list_products", {})]
            calls += [
                ToolCallStep(
                    "select_products",
                    {"category": promo.category, "reason": f"{promo.name} promotion"},
                )
                for promo in ask.promotions
            ]
            return ModelTurn(tool_calls=calls)
        stored = [call for call in done if call.tool_name == "storePlan"]
        if stored:
            return _report_stored(stored[-1])
        failures = [_error_text(call.result) for call in done if call.is_error]
        if failures:
            return ModelTurn(text="I could not prepare the plan: " + "; ".join(failures))
        products = {item["productId"]: item for item in done[0].result["products"]}
        problems = _price_problems(ask, products)
        if problems:
            return ModelTurn(text="I did not store a plan: " + "; ".join(problems))
        selections = {
            call.arguments["category"]: call.result["reference"]
            for call in done
            if call.tool_name == "select_products"
        }
        body = {
            "rationale": f"Requested: {prompt.strip()}",
            "actions": _actions(ask, products, selections),
        }
        plan_id = f"pricing-plan-{next(self._plan_numbers)}"
        return _call("storePlan", {"specName": PLAN_SPEC_NAME, "planId": plan_id, "body": body})

    def _executor(self, prompt: str, done: list[Any]) -> ModelTurn:
        plan_id = _PLAN_ID.search(prompt)
        if plan_id is None:
            return ModelTurn(text="Tell me which plan to execute, e.g. 'Execute pricing-plan-1.'")
        if not done:
            return _call("executePlan", {"planId": plan_id.group(0)})
        result = done[-1]
        if result.is_error:
            return ModelTurn(
                text=f"Plan {plan_id.group(0)} was not applied: {_error_text(result.result)}"
            )
        if result.result.get("rejected"):
            return ModelTurn(text=f"Plan {plan_id.group(0)} was sent back for revision.")
        return ModelTurn(text=f"Plan {plan_id.group(0)} is live. {result.result['summary']}")

    def _insights(self, prompt: str, done: list[Any]) -> ModelTurn:
        if not done:
            return ModelTurn(
                tool_calls=[
                    ToolCallStep("sales_summary", {"weeks": 4}),
                    ToolCallStep("list_products", {}),
                    ToolCallStep("list_promotions", {"status": "active"}),
                ]
            )
        results = {call.tool_name: call.result for call in done if not call.is_error}
        if len(results) < 3:
            return ModelTurn(text="I could not read the sales data right now.")
        return ModelTurn(text=_insights_answer(results))


def _price_problems(ask: PricingRequest, products: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for product_id, price in ask.price_changes:
        product = products.get(product_id)
        if product is None:
            problems.append(f"{product_id} is not a product (known: {sorted(products)})")
        elif price <= product["unitCost"]:
            problems.append(
                f"{price:.2f} for {product_id} is not above its unit cost {product['unitCost']:.2f}"
            )
    return problems


def _actions(
    ask: PricingRequest,
    products: dict[str, dict[str, Any]],
    selections: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = [
        {
            "kind": "price_change",
            "product_id": product_id,
            "new_price": price,
            "reason": f"Requested change from {products[product_id]['price']:.2f}.",
        }
        for product_id, price in ask.price_changes
    ]
    actions += [
        {
            "kind": "promotion_launch",
            "name": promo.name,
            "discount_percent": promo.discount_percent,
            "duration_days": promo.duration_days,
            "references": [selections[promo.category]],
        }
        for promo in ask.promotions
    ]
    actions += [
        {"kind": "promotion_end", "promotion_id": promo_id, "reason": "Requested early end."}
        for promo_id in ask.promotion_ends
    ]
    return actions


def _report_stored(call: Any) -> ModelTurn:
    if call.is_error:
        return ModelTurn(text=f"Could not store the plan: {_error_text(call.result)}")
    kinds = [action["kind"] for action in call.arguments["body"]["actions"]]
    return ModelTurn(
        text=f"Stored plan {call.arguments['planId']} with {len(kinds)} action(s) "
        f"({', '.join(kinds)}). It needs approval before anything changes."
    )


def _insights_answer(results: dict[str, Any]) -> str:
    sales = results["sales_summary"]
    top = sales["products"][0]
    lowest = min(results["list_products"]["products"], key=lambda item: item["marginPercent"])
    categories = ", ".join(
        f"{name} ${total:,.2f}" for name, total in sales["revenueByCategory"].items()
    )
    active = results["list_promotions"]["promotions"]
    promotions = ", ".join(f"{p['promotionId']} {p['name']}" for p in active) or "none"
    return (
        f"Over the last {sales['weeks']} weeks revenue was ${sales['totalRevenue']:,.2f}. "
        f"Top product by revenue: {top['name']} ({top['productId']}), ${top['revenue']:,.2f} "
        f"from {top['units']} units. Lowest margin: {lowest['name']} ({lowest['productId']}) "
        f"at {lowest['marginPercent']}%. Revenue by category: {categories}. "
        f"Active promotions: {promotions}."
    )
