"""A rule-following stand-in for the language model, so the planner runs without an API key.

A :class:`flowai_harness.testing.ScriptedModel` whose ``respond`` callback plays each agent
from the request and the tool results so far, using the same tools a live model gets: the
analyst searches the catalog and runs read-only SQL through ``execute_query``; the planner
reads the replenishment policy document from the catalog (its body comes from the knowledge
ingested with ``data knowledge ingest``), calls ``find_stockout_risks`` and stores a plan; the
executor calls ``executePlan``. Requests it understands:

* questions - "What are the days of cover by channel?", "Which online products are at risk?";
* "Replenish online products under 7 days of cover" (``retail`` works too; ``to 30 days``
  overrides the policy's target cover; ``draft`` stops before execution);
* "Transfer 20 sku-203 from wh-online to wh-retail".
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from flowai_harness.testing import ModelTurn, ScriptedModel, ToolCallStep
from inventory_planning.agents import ANALYST, COORDINATOR, EXECUTOR, PLANNER
from inventory_planning.domain import PLAN_SPEC_NAME

__all__ = ["COVER_BY_CHANNEL_SQL", "offline_model"]

COVER_BY_CHANNEL_SQL = """
WITH demand_window AS (SELECT COUNT(DISTINCT day) AS days FROM fact_daily_demand),
demand AS (
    SELECT channel_id, SUM(units) * 1.0 / (SELECT days FROM demand_window) AS daily_units
    FROM fact_daily_demand GROUP BY channel_id
),
stock AS (
    SELECT c.channel_id, SUM(k.on_hand) AS on_hand, SUM(k.on_order) AS on_order
    FROM dim_channels c JOIN fact_stock k ON k.warehouse_id = c.warehouse_id
    GROUP BY c.channel_id
)
SELECT s.channel_id, s.on_hand, s.on_order, ROUND(d.daily_units, 1) AS daily_units,
       ROUND((s.on_hand + s.on_order) / d.daily_units, 1) AS days_of_cover
FROM stock s JOIN demand d ON d.channel_id = s.channel_id
ORDER BY s.channel_id
""".strip()

_PLANNING = re.compile(r"\b(replenish\w*|reorder\w*|restock\w*|transfer\w*)\b", re.IGNORECASE)
_REORDER = re.compile(r"\b(replenish\w*|reorder\w*|restock\w*)\b", re.IGNORECASE)
_DRAFT_ONLY = re.compile(r"\b(draft|propose)\b", re.IGNORECASE)
_CHANNEL = re.compile(r"\b(online|retail)\b", re.IGNORECASE)
_THRESHOLD = re.compile(r"\bunder\s+(\d{1,3})\s+days?\b", re.IGNORECASE)
_TARGET = re.compile(r"\bto\s+(\d{1,3})\s+days?\b", re.IGNORECASE)
_TRANSFER = re.compile(
    r"\btransfer\s+(\d+)\s+(?:units?\s+of\s+)?(sku-\d+)\s+from\s+(wh-[a-z]+)\s+to\s+(wh-[a-z]+)",
    re.IGNORECASE,
)
_PLAN_ID = re.compile(r"\breplenishment-plan-[0-9a-f]{8}\b")


class _Request(Protocol):
    agent: str
    prompt: str
    turns: list[list[Any]]


def offline_model() -> ScriptedModel:
    """Return the offline stand-in model."""
    return ScriptedModel(respond=_respond)


def _respond(request: _Request) -> ModelTurn:
    done = [call for turn in request.turns for call in turn]
    play = {
        COORDINATOR: _coordinator,
        ANALYST: _analyst,
        PLANNER: _planner,
        EXECUTOR: _executor,
    }.get(request.agent)
    if play is None:
        return ModelTurn(text=f"The offline model has no part for agent {request.agent!r}.")
    return play(request.prompt, done)


def _call(*steps: tuple[str, dict[str, Any]]) -> ModelTurn:
    return ModelTurn(tool_calls=[ToolCallStep(name, args) for name, args in steps])


def _error_text(result: Any) -> str:
    if isinstance(result, dict):
        return str(result.get("error") or result.get("message") or result)
    return str(result)


def _coordinator(prompt: str, done: list[Any]) -> ModelTurn:
    if not done:
        target = PLANNER if _PLANNING.search(prompt) else ANALYST
        return _call(("call_agent", {"agent": target, "prompt": prompt}))
    last = done[-1]
    agent = last.arguments.get("agent")
    if last.is_error:
        return ModelTurn(text=f"{agent} could not finish: {_error_text(last.result)}")
    response = str(last.result.get("response", ""))
    plan_id = _PLAN_ID.search(response)
    if agent == PLANNER and plan_id and not _DRAFT_ONLY.search(prompt):
        execute = f"Execute plan {plan_id.group(0)}."
        return _call(("call_agent", {"agent": EXECUTOR, "prompt": execute}))
    return ModelTurn(text=response)


def _analyst(prompt: str, done: list[Any]) -> ModelTurn:
    if not done:
        return _call(("search_catalog", {"query": "days of cover stock demand channel"}))
    if len(done) == 1:
        return _call(
            ("execute_query", {"sql": COVER_BY_CHANNEL_SQL, "purpose": "days of cover by channel"})
        )
    search, query = done[0], done[-1]
    if query.is_error:
        return ModelTurn(text=f"The query failed: {_error_text(query.result)}")
    lines = [
        f"- {row['channel_id']}: {row['days_of_cover']} days of cover ({row['on_hand']} on "
        f"hand, {row['on_order']} on order, {row['daily_units']} units/day)"
        for row in query.result["rows"]
    ]
    tables = sorted(
        {
            hit.get("details", {}).get("table_name") or hit["name"]
            for hit in ([] if search.is_error else search.result.get("results", []))
            if hit["kind"] in ("table", "column")
        }
    )
    sources = f"\nTables used: {', '.join(tables)}." if tables else ""
    return ModelTurn(text="Days of cover by channel:\n" + "\n".join(lines) + sources)


def _planner(prompt: str, done: list[Any]) -> ModelTurn:
    channel_match = _CHANNEL.search(prompt)
    channel = channel_match.group(1).lower() if channel_match else "online"
    threshold_match = _THRESHOLD.search(prompt)
    threshold = float(threshold_match.group(1)) if threshold_match else 7.0
    transfers = _TRANSFER.findall(prompt)
    reorder = bool(_REORDER.search(prompt))
    if not (reorder or transfers):
        return ModelTurn(text="Ask me to replenish a channel or to transfer stock.")
    called = {call.tool_name: call for call in done}
    if not done:
        steps = [
            (
                "search_catalog",
                {"query": "replenishment policy target cover", "kinds": ["document"], "limit": 3},
            )
        ]
        if reorder:
            steps.append(
                ("find_stockout_risks", {"channel": channel, "max_days_of_cover": threshold})
            )
        return _call(*steps)
    if "storePlan" in called:
        return _report_stored(called["storePlan"])
    failures = [_error_text(call.result) for call in done if call.is_error]
    if failures:
        return ModelTurn(text="I could not prepare the scenario: " + "; ".join(failures))
    risks = called.get("find_stockout_risks")
    if risks is not None and risks.result["reference"] is None and not transfers:
        return ModelTurn(
            text=f"No {channel} product is under {threshold:g} days of cover; nothing to plan."
        )
    policy_docs = called["search_catalog"].result.get("results", [])
    if "get_catalog_entities" not in called and policy_docs:
        return _call(("get_catalog_entities", {"refs": [{"id": policy_docs[0]["id"]}]}))
    target = _target_cover(prompt, channel, called.get("get_catalog_entities"))
    return _call(("storePlan", _plan(channel, threshold, target, risks, transfers)))


def _target_cover(prompt: str, channel: str, policy: Any) -> int:
    """The target cover: asked for explicitly, else the policy document's, else 14 days."""
    asked = _TARGET.search(prompt)
    if asked:
        return int(asked.group(1))
    entities = [] if policy is None else policy.result.get("entities", [])
    text = " ".join(str(entity.get("description", "")) for entity in entities)
    found = re.search(rf"\b{channel}\b[^.\n]*?(\d+)\s+days of cover", text, re.IGNORECASE)
    return int(found.group(1)) if found else 14


def _plan(
    channel: str, threshold: float, target: int, risks: Any, transfers: list[tuple[str, ...]]
) -> dict[str, Any]:
    actions: list[dict[str, Any]] = []
    if risks is not None and risks.result["reference"] is not None:
        actions.append(
            {
                "kind": "reorder",
                "target_days_of_cover": target,
                "reason": f"{channel} products under {threshold:g} days of cover; policy "
                f"target {target} days.",
                "references": [risks.result["reference"]],
            }
        )
    actions += [
        {
            "kind": "transfer",
            "product_id": product.lower(),
            "from_warehouse_id": source.lower(),
            "to_warehouse_id": destination.lower(),
            "units": int(units),
            "reason": "Requested transfer.",
        }
        for units, product, source, destination in transfers
    ]
    return {
        "specName": PLAN_SPEC_NAME,
        "planId": f"replenishment-plan-{uuid.uuid4().hex[:8]}",
        "body": {
            "objective": f"Cover {channel} demand for {target} days.",
            "assumptions": ["Demand continues at the average of the last 28 days."],
            "actions": actions,
        },
    }


def _report_stored(call: Any) -> ModelTurn:
    if call.is_error:
        return ModelTurn(text=f"Could not store the plan: {_error_text(call.result)}")
    kinds = [action["kind"] for action in call.arguments["body"]["actions"]]
    return ModelTurn(
        text=f"Stored plan {call.arguments['planId']} with {len(kinds)} action(s) "
        f"({', '.join(kinds)}). It needs approval before any order is placed."
    )


def _executor(prompt: str, done: list[Any]) -> ModelTurn:
    plan_id = _PLAN_ID.search(prompt)
    if plan_id is None:
        return ModelTurn(text="Tell me which plan to execute, e.g. 'Execute plan <id>.'")
    if not done:
        return _call(("executePlan", {"planId": plan_id.group(0)}))
    result = done[-1]
    if result.is_error:
        return ModelTurn(
            text=f"Plan {plan_id.group(0)} was not executed: {_error_text(result.result)}"
        )
    if result.result.get("rejected"):
        return ModelTurn(text=f"Plan {plan_id.group(0)} was sent back for revision.")
    return ModelTurn(text=f"Plan {plan_id.group(0)} executed. {result.result['summary']}")
