"""Build the catalog toolkit's handlers from a data environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["catalog_tool_handlers"]


def catalog_tool_handlers(
    env: Mapping[str, Any] | None, resource_id: str
) -> dict[str, Callable[..., Any]]:
    """Return handlers for the catalog tools the environment can serve, keyed by tool name.

    Tools without a backend are left out; the engine then answers them with a clear error
    naming the missing ``data_environment`` section.
    """
    return {}
