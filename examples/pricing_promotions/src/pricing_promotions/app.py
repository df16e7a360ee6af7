"""The Studio app: ``flowai-harness dev --app pricing_promotions.app:app``.

One workspace (``default``). The runtime is built on first use: it opens the commerce database
(``PRICING_COMMERCE_DB``, default ``.flowai/pricing-commerce.db`` under the directory Studio is
started from, next to Studio's own state) and uses the live Anthropic model when
``ANTHROPIC_API_KEY`` is set, otherwise the offline stand-in model, so chat, approvals and evals
all work without a key.
"""

from __future__ import annotations

import os
from pathlib import Path

from flowai_harness import FlowAIApp, Runtime, define_app
from pricing_promotions.agents import build_spec
from pricing_promotions.commerce import CommerceService
from pricing_promotions.runtime import build_runtime

__all__ = ["APP_NAME", "app", "commerce_db_path", "create_app"]

APP_NAME = "pricing-promotions"


def commerce_db_path() -> Path:
    """Where the Studio app keeps the commerce database."""
    return Path(os.environ.get("PRICING_COMMERCE_DB", ".flowai/pricing-commerce.db"))


def create_app(
    commerce: CommerceService | None = None, interpreter: str | None = None
) -> FlowAIApp:
    """Declare the pricing desk Studio app.

    Args:
        commerce: The commerce service (the caller closes it); ``None`` opens
            :func:`commerce_db_path` when the runtime is first needed, for the process's life.
        interpreter: ``offline`` or ``anthropic``; ``None`` picks by ``ANTHROPIC_API_KEY``.

    Returns:
        The app, with its runtime built lazily on the first Studio request.
    """

    def runtime_factory() -> Runtime:
        service = commerce if commerce is not None else CommerceService(commerce_db_path())
        return build_runtime(service, interpreter=interpreter)

    return define_app(
        name=APP_NAME,
        description="Pricing and promotions desk: insights, typed plans, approvals.",
        metadata={"example": "pricing_promotions"},
        runtime_spec=build_spec(),
        runtime_factory=runtime_factory,
    )


app = create_app()
