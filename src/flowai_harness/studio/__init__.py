"""Studio: the local web app for a flowai-harness runtime, and how to declare the app it serves.

Names load on first access, so ``import flowai_harness.studio`` never pulls in the web stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AppImportError",
    "FlowAIApp",
    "StudioStore",
    "WorkspaceRuntimeBinding",
    "create_studio_app",
    "create_studio_server",
    "define_app",
    "define_workspace_runtime",
    "resolve_app_reference",
    "run_studio_server",
]

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        ("FlowAIApp", "WorkspaceRuntimeBinding", "define_app", "define_workspace_runtime"),
        "flowai_harness.studio.apps",
    ),
    **dict.fromkeys(
        ("AppImportError", "resolve_app_reference"), "flowai_harness.studio.import_resolver"
    ),
    **dict.fromkeys(
        ("create_studio_app", "create_studio_server", "run_studio_server"),
        "flowai_harness.studio.server",
    ),
    "StudioStore": "flowai_harness.studio.store",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowai_harness.studio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - static view of the lazy exports
    from flowai_harness.studio.apps import (
        FlowAIApp,
        WorkspaceRuntimeBinding,
        define_app,
        define_workspace_runtime,
    )
    from flowai_harness.studio.import_resolver import AppImportError, resolve_app_reference
    from flowai_harness.studio.server import (
        create_studio_app,
        create_studio_server,
        run_studio_server,
    )
    from flowai_harness.studio.store import StudioStore
