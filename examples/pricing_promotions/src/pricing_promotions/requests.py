"""Reading pricing requests written in plain English, for the offline stand-in model.

Only the offline model uses this; a live model reads requests itself. The phrasings understood
are the ones the README and the eval cases use:

* ``set p-001 to 6.49`` / ``reprice p-003 at 2.99`` - a price change;
* ``a 15% promotion on snacks for 14 days`` / ``20% off beverages`` - a promotion launch
  (``called "Name"`` names it; the duration defaults to 7 days);
* ``end promo-1`` - a promotion end;
* ``draft`` or ``propose`` anywhere - plan only, do not execute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["PricingRequest", "PromotionAsk", "read_request"]

_PRICE = re.compile(
    r"\b(p-\d{3})\b[^.;\n]*?\b(?:to|at)\s*\$?(\d+(?:\.\d{1,2})?)", flags=re.IGNORECASE
)
_PROMOTION = re.compile(
    r"(\d{1,2})\s*%\s*(?:off\s+(?:all\s+|our\s+)?(?P<off>[a-z]+)"
    r"|[^.;\n]*?\bpromotion\b[^.;\n]*?\bon\s+(?:all\s+|our\s+)?(?P<on>[a-z]+))",
    flags=re.IGNORECASE,
)
_DURATION = re.compile(r"\bfor\s+(\d{1,2})\s+days?\b", flags=re.IGNORECASE)
_NAME = re.compile(r"\b(?:called|named)\s+\"([^\"]+)\"", flags=re.IGNORECASE)
_END = re.compile(r"\b(?:end|stop)\s+(?:the\s+)?(?:promotion\s+)?(promo-\d+)", flags=re.IGNORECASE)
_DRAFT_ONLY = re.compile(r"\b(draft|propose)\b", flags=re.IGNORECASE)


@dataclass(frozen=True)
class PromotionAsk:
    """A promotion the request asks for."""

    category: str
    discount_percent: int
    duration_days: int
    name: str


@dataclass(frozen=True)
class PricingRequest:
    """What a request asks the desk to change."""

    price_changes: list[tuple[str, float]] = field(default_factory=list)
    promotions: list[PromotionAsk] = field(default_factory=list)
    promotion_ends: list[str] = field(default_factory=list)
    draft_only: bool = False

    @property
    def asks_for_changes(self) -> bool:
        """True when the request asks for at least one change (else it is a question)."""
        return bool(self.price_changes or self.promotions or self.promotion_ends)


def read_request(text: str) -> PricingRequest:
    """Find the price changes, promotions and promotion ends a request asks for."""
    duration = _DURATION.search(text)
    name = _NAME.search(text)
    promotions = []
    for match in _PROMOTION.finditer(text):
        category = (match.group("off") or match.group("on")).lower()
        percent = int(match.group(1))
        promotions.append(
            PromotionAsk(
                category=category,
                discount_percent=percent,
                duration_days=int(duration.group(1)) if duration else 7,
                name=name.group(1) if name else f"{category.title()} {percent}% off",
            )
        )
    return PricingRequest(
        price_changes=[(pid.lower(), float(price)) for pid, price in _PRICE.findall(text)],
        promotions=promotions,
        promotion_ends=[promo.lower() for promo in _END.findall(text)],
        draft_only=bool(_DRAFT_ONLY.search(text)),
    )
