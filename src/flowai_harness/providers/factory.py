"""Choose the model client for each provider key of a runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.errors import ConfigurationError
from flowai_harness.ports import ModelClient

__all__ = ["build_model_clients"]


def build_model_clients(
    spec_wire: Mapping[str, Any], interpreter: str, mock_response: str | None
) -> dict[str, ModelClient]:
    """Return the clients keyed by provider name (``"*"`` serves every provider).

    Offline interpreters serve every agent whatever its model, so they need no ``providers``
    entry in the spec.
    """
    from flowai_harness.providers.deterministic import MockClient, NoopClient, ScriptedClient

    if mock_response is not None:
        return {"*": MockClient(mock_response)}
    if interpreter == "noop":
        return {"*": NoopClient()}
    if interpreter == "scripted":
        return {"*": ScriptedClient()}
    raise ConfigurationError(
        f"interpreter {interpreter!r} needs a live provider adapter, which this build of "
        f"flowai-harness does not ship yet; use 'noop', 'scripted' or testing=..."
    )
