"""Building the pricing desk runtime: spec + commerce service + dispatcher + model."""

from __future__ import annotations

import os
from typing import Any

from flowai_harness import Runtime, create_runtime
from pricing_promotions.agents import build_spec
from pricing_promotions.commerce import CommerceService
from pricing_promotions.dispatcher import make_dispatcher
from pricing_promotions.offline_model import offline_model

__all__ = ["INTERPRETERS", "build_runtime", "default_interpreter"]

#: what ``--interpreter`` accepts: the offline stand-in model, or a live provider
INTERPRETERS = ("offline", "anthropic")


def default_interpreter() -> str:
    """``anthropic`` when ``ANTHROPIC_API_KEY`` is set, else ``offline``."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "offline"


def build_runtime(commerce: CommerceService, *, interpreter: str | None = None) -> Runtime:
    """Create the desk runtime over ``commerce``.

    Args:
        commerce: The commerce service tools read and the dispatcher writes.
        interpreter: ``offline`` (the rule-following stand-in model, no key needed) or
            ``anthropic`` (needs ``ANTHROPIC_API_KEY``); ``None`` picks
            :func:`default_interpreter`.

    Returns:
        The runtime; its plans need an approval before the dispatcher writes.

    Raises:
        ValueError: an unknown interpreter, or a live one without its API key.
    """
    chosen = interpreter or default_interpreter()
    if chosen not in INTERPRETERS:
        raise ValueError(f"unknown interpreter {chosen!r}; expected one of {list(INTERPRETERS)}")
    model: Any = offline_model() if chosen == "offline" else chosen
    return create_runtime(
        build_spec(),
        interpreter=model,
        services={"commerce": commerce},
        action_dispatcher=make_dispatcher(commerce),
    )
