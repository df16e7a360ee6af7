"""Building the inventory planner runtime on the example's data environment."""

from __future__ import annotations

import os
from typing import Any

from flowai_harness import Runtime, create_runtime
from inventory_planning.agents import build_spec
from inventory_planning.dispatcher import make_dispatcher
from inventory_planning.offline_model import offline_model
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.stock import StockReader
from inventory_planning.workdir import WorkDir

__all__ = ["INTERPRETERS", "build_runtime", "default_interpreter"]

#: what ``--interpreter`` accepts: the offline stand-in model, or the live Anthropic model
INTERPRETERS = ("offline", "anthropic")


def default_interpreter() -> str:
    """``anthropic`` when ``ANTHROPIC_API_KEY`` is set, else ``offline``."""
    return "anthropic" if os.environ.get("ANTHROPIC_API_KEY") else "offline"


def build_runtime(
    workdir: WorkDir,
    *,
    platform: PlanningPlatform | None = None,
    interpreter: str | None = None,
) -> Runtime:
    """Create the runtime over the data environment in ``workdir``.

    Args:
        workdir: The seeded working directory (``python -m inventory_planning.seed_db``); run
            the data commands of the README first so the catalog and its index exist.
        platform: Where approved plans are written; default ``workdir.planning_db``.
        interpreter: ``offline`` or ``anthropic``; ``None`` picks :func:`default_interpreter`.

    Returns:
        The runtime; plans need an approval before the dispatcher writes.

    Raises:
        ValueError: unknown interpreter, missing inventory database, or an invalid data
            environment.
    """
    chosen = interpreter or default_interpreter()
    if chosen not in INTERPRETERS:
        raise ValueError(f"unknown interpreter {chosen!r}; expected one of {list(INTERPRETERS)}")
    stock = StockReader(workdir.target_db)
    model: Any = offline_model() if chosen == "offline" else chosen
    return create_runtime(
        build_spec(),
        interpreter=model,
        data_environment=workdir.data_environment(),
        services={"stock": stock},
        action_dispatcher=make_dispatcher(platform or PlanningPlatform(workdir.planning_db), stock),
    )
