"""The action dispatcher: turns an approved replenishment plan into purchase orders and transfers.

``reorder`` actions order every product of their hydrated ``StockoutRiskSet`` up to the target
cover (rounded up to the supplier's minimum order); ``transfer`` actions are checked against the
stock in the source warehouse. A plan's writes share one platform transaction, so a refused
action leaves the platform as it was and the plan is marked failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from inventory_planning.domain import ReplenishmentAction, StockoutRiskSet
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.stock import StockError, StockReader, order_quantity

__all__ = ["make_dispatcher"]

Dispatcher = Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]

_ACTION = TypeAdapter(ReplenishmentAction)


def make_dispatcher(platform: PlanningPlatform, stock: StockReader) -> Dispatcher:
    """Build the dispatcher writing approved actions to ``platform``.

    Args:
        platform: Where purchase orders and transfers are recorded.
        stock: Read-only stock, to check transfers against.

    Returns:
        ``dispatch(actions, ctx)``; it raises ``ValueError`` (nothing is written, the plan
        fails) for an invalid or unknown action, a missing risk set, or an impossible transfer.
    """

    def dispatch(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        risk_sets = ctx.get("resolved_refs", {}).get(StockoutRiskSet.name, {})
        orders: list[dict[str, Any]] = []
        transfers: list[dict[str, Any]] = []
        with platform.transaction():
            for index, action in enumerate(actions):
                typed = _typed(index, action)
                if typed.kind == "reorder":
                    orders += _reorder(platform, index, typed, risk_sets)
                else:
                    transfers.append(_transfer(platform, stock, typed))
        products = {entry["productId"] for entry in orders + transfers}
        return {
            "entitiesAffected": len(orders) + len(transfers),
            "summary": f"Placed {len(orders)} purchase order(s) and booked {len(transfers)} "
            f"transfer(s) for {len(products)} product(s).",
            "details": {"purchaseOrders": orders, "transfers": transfers},
        }

    return dispatch


def _typed(index: int, action: dict[str, Any]) -> Any:
    fields = {"kind": action.get("kind"), **action.get("payload", {})}
    if action.get("references"):
        fields["references"] = action["references"]
    try:
        return _ACTION.validate_python(fields)
    except ValueError as exc:
        raise ValueError(
            f"action #{index} ({fields['kind']!r}) is not a valid action: {exc}"
        ) from None


def _reorder(
    platform: PlanningPlatform, index: int, action: Any, risk_sets: dict[str, Any]
) -> list[dict[str, Any]]:
    handle = action.references[0]
    risk_set = risk_sets.get(handle.id)
    if handle.kind != StockoutRiskSet.name or risk_set is None:
        raise ValueError(
            f"action #{index} (reorder) needs a resolved StockoutRiskSet, "
            f"got reference {handle.kind}:{handle.id}"
        )
    orders = []
    for item in risk_set["items"]:
        units = order_quantity(item, action.target_days_of_cover)
        if units:
            orders.append(
                platform.place_order(
                    item["product_id"],
                    item["supplier_id"],
                    item["warehouse_id"],
                    units,
                    action.reason,
                )
            )
    return orders


def _transfer(platform: PlanningPlatform, stock: StockReader, action: Any) -> dict[str, Any]:
    if action.from_warehouse_id == action.to_warehouse_id:
        raise StockError(f"transfer of {action.product_id} has the same source and destination")
    available = stock.on_hand(action.product_id, action.from_warehouse_id)
    # the destination must stock the product as well; on_hand raises when it does not
    stock.on_hand(action.product_id, action.to_warehouse_id)
    if action.units > available:
        raise StockError(
            f"transfer of {action.units} x {action.product_id} exceeds the {available} on hand "
            f"in {action.from_warehouse_id}"
        )
    return platform.book_transfer(
        action.product_id,
        action.from_warehouse_id,
        action.to_warehouse_id,
        action.units,
        action.reason,
    )
