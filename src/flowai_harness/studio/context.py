"""What every Studio route needs, handed to it through FastAPI dependencies.

Imports FastAPI (the dependencies are resolved from annotations at runtime), so only the server
and the route modules import this module.

:class:`StudioContext` is built once per Studio app by ``create_studio_app`` and kept on
``app.state``; routes never reach for module-level state. :func:`workspace_scope` resolves the
``{workspace_key}`` path parameter into a :class:`Workspace`: the binding, the store rows of that
workspace only, and the live runs registry.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from fastapi import Request

from flowai_harness.studio.api_errors import StudioApiError, scrub_secrets
from flowai_harness.studio.apps import FlowAIApp
from flowai_harness.studio.live_runs import RunRegistry
from flowai_harness.studio.store import StudioStore
from flowai_harness.studio.workspace_store import WorkspaceStore
from flowai_harness.studio.workspaces import WorkspaceRuntimeBinding

if TYPE_CHECKING:
    from flowai_harness.handle import Runtime
    from flowai_harness.studio.workspace_data import WorkspaceData

__all__ = [
    "IMPLEMENTATION_NAME",
    "StudioContext",
    "Workspace",
    "default_workspace_scope",
    "mint_id",
    "studio_context",
    "workspace_scope",
]

IMPLEMENTATION_NAME: Final = "py-flowai-harness"


def mint_id(prefix: str, hex_chars: int = 32) -> str:
    """A fresh id such as ``thread_<32hex>``, ``run_<32hex>``, ``tc-<8hex>``, ``eval-<32hex>``."""
    return f"{prefix}{secrets.token_hex(hex_chars // 2)}"


@dataclass
class StudioContext:
    """The state one Studio app shares between its routes."""

    app: FlowAIApp
    store: StudioStore
    runs: RunRegistry = field(default_factory=RunRegistry)
    serve_studio: bool = True
    static_dir: Any = None
    _data: dict[str, WorkspaceData] = field(default_factory=dict)

    def workspace(self, key: str) -> Workspace:
        """Return the scope of workspace ``key``.

        Raises:
            StudioApiError: 404 ``workspace.not_found``.
        """
        binding = self.app.workspaces.get(key)
        if binding is None:
            raise StudioApiError(
                404,
                "workspace.not_found",
                f"Workspace `{key}` was not found.",
                {"workspaceKey": key},
            )
        return Workspace(key, binding, self.store.workspace(self.app.app_id, key), self)

    def data_for(self, workspace: Workspace) -> WorkspaceData:
        """The data services of a workspace (built once, on first use)."""
        from flowai_harness.studio.workspace_data import WorkspaceData

        data = self._data.get(workspace.key)
        if data is None:
            data = WorkspaceData(workspace.binding)
            self._data[workspace.key] = data
        return data

    async def aclose(self) -> None:
        """Stop live runs and release data connections (the store is closed by its owner)."""
        await self.runs.shutdown()
        for data in self._data.values():
            await data.aclose()
        self._data.clear()


@dataclass
class Workspace:
    """One workspace as a route sees it."""

    key: str
    binding: WorkspaceRuntimeBinding
    store: WorkspaceStore
    context: StudioContext

    @property
    def runs(self) -> RunRegistry:
        """The live runs of the server."""
        return self.context.runs

    async def runtime(self, *, code: str = "runtime.unavailable") -> Runtime:
        """Return the workspace runtime, building it on first use (in a worker thread).

        Raises:
            StudioApiError: 409 with ``code`` when the runtime cannot be built.
        """
        binding = self.binding
        try:
            if binding.runtime_constructed:
                runtime = binding.get_runtime()
            else:
                runtime = await asyncio.to_thread(binding.get_runtime)
        except Exception as exc:
            raise StudioApiError(
                409,
                code,
                f"The runtime of workspace `{self.key}` could not be built: "
                f"{type(exc).__name__}: {scrub_secrets(str(exc))}",
                {"workspaceKey": self.key},
            ) from None
        return runtime

    def data(self) -> WorkspaceData:
        """The data services of this workspace."""
        return self.context.data_for(self)


def studio_context(request: Request) -> StudioContext:
    """FastAPI dependency: the Studio context of the app serving ``request``."""
    context = request.app.state.flowai_studio
    assert isinstance(context, StudioContext)
    return context


def workspace_scope(workspace_key: str, request: Request) -> Workspace:
    """FastAPI dependency: the workspace named by the ``{workspace_key}`` path parameter."""
    return studio_context(request).workspace(workspace_key)


def default_workspace_scope(request: Request) -> Workspace:
    """FastAPI dependency: the default workspace (for the alias routes)."""
    context = studio_context(request)
    return context.workspace(context.app.default_workspace)
