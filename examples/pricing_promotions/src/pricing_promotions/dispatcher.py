"""The action dispatcher: applies an approved pricing plan to the commerce service.

The runtime calls it from ``executePlan`` only after the plan gate is satisfied, with every
action as ``{kind, payload, references}`` and the referenced selections already resolved. All
actions of a plan run in one commerce transaction: if one is refused (a price under cost, an
unknown promotion), nothing is applied and the plan is marked failed with that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from pricing_promotions.commerce import CommerceService
from pricing_promotions.domain import PricingAction, ProductSelection

__all__ = ["make_dispatcher"]

Dispatcher = Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]

_ACTION = TypeAdapter(PricingAction)


def make_dispatcher(commerce: CommerceService) -> Dispatcher:
    """Build the dispatcher that writes approved actions to ``commerce``.

    Args:
        commerce: The service the plan's changes are applied to.

    Returns:
        ``dispatch(actions, ctx)``, raising ``ValueError`` (the plan then fails and nothing is
        written) for an unknown action kind, an invalid action, a missing selection or a
        change the commerce service refuses.
    """

    def dispatch(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        selections = ctx.get("resolved_refs", {}).get(ProductSelection.name, {})
        applied: list[dict[str, Any]] = []
        with commerce.transaction():
            for index, action in enumerate(actions):
                applied.append(_apply(commerce, index, action, selections))
        changed = {product_id for entry in applied for product_id in entry["productIds"]}
        return {
            "entitiesAffected": len(changed),
            "summary": f"Applied {len(applied)} pricing action(s) to {len(changed)} product(s).",
            "details": {"applied": applied},
        }

    return dispatch


def _apply(
    commerce: CommerceService,
    index: int,
    action: dict[str, Any],
    selections: dict[str, Any],
) -> dict[str, Any]:
    fields = {"kind": action.get("kind"), **action.get("payload", {})}
    if action.get("references"):
        fields["references"] = action["references"]
    try:
        typed = _ACTION.validate_python(fields)
    except ValueError as exc:
        raise ValueError(
            f"action #{index} ({fields['kind']!r}) is not a valid action: {exc}"
        ) from None
    if typed.kind == "price_change":
        product = commerce.set_price(typed.product_id, typed.new_price, typed.reason)
        return {"kind": typed.kind, "productIds": [typed.product_id], "price": product["price"]}
    if typed.kind == "promotion_launch":
        handle = typed.references[0]
        selection = selections.get(handle.id)
        if handle.kind != ProductSelection.name or selection is None:
            raise ValueError(
                f"action #{index} (promotion_launch) needs a resolved ProductSelection, "
                f"got reference {handle.kind}:{handle.id}"
            )
        promotion = commerce.launch_promotion(
            typed.name, selection["product_ids"], typed.discount_percent, typed.duration_days
        )
        return {
            "kind": typed.kind,
            "productIds": promotion["productIds"],
            "promotionId": promotion["promotionId"],
        }
    promotion = commerce.end_promotion(typed.promotion_id)
    return {
        "kind": typed.kind,
        "productIds": promotion["productIds"],
        "promotionId": promotion["promotionId"],
    }
