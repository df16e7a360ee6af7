"""Declaring a Studio app: the workspace registry.

A :class:`FlowAIApp` maps workspace keys to
:class:`~flowai_harness.studio.workspaces.WorkspaceRuntimeBinding` objects (re-exported
here). The app-reference resolver, which returns a ``FlowAIApp``, lives in
:mod:`flowai_harness.studio.import_resolver` and imports this module, not the reverse.
This module must stay cheap to import: ``from flowai_harness import define_app`` loads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from flowai_harness.errors import HarnessError, SpecTypeError, SpecValueError
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.studio.workspaces import (
    WorkspaceRuntimeBinding,
    check_metadata,
    check_optional_text,
    check_required_text,
    define_workspace_runtime,
    type_name,
)

if TYPE_CHECKING:
    from flowai_harness.handle import Runtime

__all__ = [
    "DEFAULT_WORKSPACE_KEY",
    "STUDIO_API_VERSION",
    "FlowAIApp",
    "UnknownWorkspaceError",
    "WorkspaceRuntimeBinding",
    "define_app",
    "define_workspace_runtime",
]

STUDIO_API_VERSION: Final = "harness-studio/v1"
DEFAULT_WORKSPACE_KEY: Final = "default"


class UnknownWorkspaceError(HarnessError, KeyError):
    """``FlowAIApp.workspace`` was asked for a workspace key the app does not register."""

    def __init__(self, workspace_key: str, registered: Iterable[str]) -> None:
        super().__init__(workspace_key)
        self.workspace_key = workspace_key
        self.registered = tuple(registered)

    def __str__(self) -> str:
        known = ", ".join(repr(key) for key in self.registered)
        return f"workspace {self.workspace_key!r} is not registered; registered workspaces: {known}"


def _script_json(value: Any) -> str:
    # Safe inside an inline <script>: no "</script>", "<!--" or JS line terminators survive.
    text = json.dumps(value, ensure_ascii=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


class FlowAIApp:
    """A Studio app: named workspaces, each bound to a runtime. Build it with :func:`define_app`."""

    __slots__ = ("_default_workspace", "_description", "_metadata", "_name", "_workspaces")

    def __init__(
        self,
        *,
        name: str,
        workspaces: Mapping[str, WorkspaceRuntimeBinding],
        default_workspace: str = DEFAULT_WORKSPACE_KEY,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Validate and store an app; see :func:`define_app`."""
        self._name = check_required_text("name", name)
        self._workspaces = MappingProxyType(_check_workspaces(workspaces))
        if not isinstance(default_workspace, str):
            raise SpecTypeError(
                f"default_workspace must be a string, got {type_name(default_workspace)}"
            )
        if default_workspace not in self._workspaces:
            known = ", ".join(repr(key) for key in self._workspaces)
            raise SpecValueError(
                f"default_workspace {default_workspace!r} is not registered; "
                f"registered workspaces: {known}"
            )
        self._default_workspace = default_workspace
        self._description = check_optional_text("description", description, allow_empty=True)
        self._metadata = check_metadata(metadata)

    @property
    def name(self) -> str:
        """The app name."""
        return self._name

    @property
    def app_id(self) -> str:
        """The id that scopes every Studio store row (the app name)."""
        return self._name

    @property
    def default_workspace(self) -> str:
        """Key of the workspace the UI opens first and the alias routes use."""
        return self._default_workspace

    @property
    def workspaces(self) -> Mapping[str, WorkspaceRuntimeBinding]:
        """Read-only mapping of workspace key to binding, in registration order."""
        return self._workspaces

    @property
    def description(self) -> str | None:
        """Free-text description of the app."""
        return self._description

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Read-only user metadata."""
        return self._metadata

    def workspace(self, key: str) -> WorkspaceRuntimeBinding:
        """Return the binding registered under ``key``.

        Args:
            key: Workspace key.

        Returns:
            The binding.

        Raises:
            UnknownWorkspaceError: (a ``KeyError``) no workspace has that key.
        """
        try:
            return self._workspaces[key]
        except KeyError:
            raise UnknownWorkspaceError(key, self._workspaces) from None

    def default_binding(self) -> WorkspaceRuntimeBinding:
        """Return the binding of :attr:`default_workspace`."""
        return self._workspaces[self._default_workspace]

    def workspaces_response(self) -> dict[str, Any]:
        """Return the body of ``GET /api/workspaces``.

        Returns:
            ``{"defaultWorkspaceKey": ..., "workspaces": [WorkspaceSummary, ...]}``.
        """
        return {
            "defaultWorkspaceKey": self._default_workspace,
            "workspaces": [binding.workspace_summary() for binding in self._workspaces.values()],
        }

    def config_js(self, api_base_url: str = "/api") -> str:
        """Return the ``/__flowai_config.js`` script that configures the Studio UI.

        Args:
            api_base_url: Base URL of the Studio API as seen by the browser.

        Returns:
            ``window.__FLOWAI__ = {...};`` with ``apiBaseUrl``, ``appName``,
            ``defaultWorkspaceKey``, ``streamTransport`` and ``studioApiVersion``.
        """
        payload = {
            "apiBaseUrl": api_base_url,
            "appName": self._name,
            "defaultWorkspaceKey": self._default_workspace,
            "streamTransport": "sse",
            "studioApiVersion": STUDIO_API_VERSION,
        }
        return f"window.__FLOWAI__ = {_script_json(payload)};\n"

    def __repr__(self) -> str:
        return (
            f"FlowAIApp(name={self._name!r}, workspaces={list(self._workspaces)!r}, "
            f"default_workspace={self._default_workspace!r})"
        )


def _check_workspaces(workspaces: object) -> dict[str, WorkspaceRuntimeBinding]:
    if not isinstance(workspaces, Mapping):
        raise SpecTypeError(
            f"workspaces must be a mapping of workspace key to WorkspaceRuntimeBinding, "
            f"got {type_name(workspaces)}"
        )
    if not workspaces:
        raise SpecValueError("workspaces must register at least one workspace")
    registered: dict[str, WorkspaceRuntimeBinding] = {}
    for key, binding in workspaces.items():
        check_required_text("workspace key", key)
        if not isinstance(binding, WorkspaceRuntimeBinding):
            raise SpecTypeError(
                f"workspace {key!r} must be a WorkspaceRuntimeBinding "
                f"(from define_workspace_runtime), got {type_name(binding)}"
            )
        registered[key] = binding.with_workspace_key(key)
    return registered


def define_app(
    *,
    name: str,
    workspaces: Mapping[str, WorkspaceRuntimeBinding] | None = None,
    default_workspace: str = DEFAULT_WORKSPACE_KEY,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    runtime_spec: RuntimeSpec | Mapping[str, Any] | None = None,
    runtime_factory: Callable[[], Runtime] | None = None,
    runtime: Runtime | None = None,
    resource_id: str | None = None,
    capabilities: Iterable[str] | None = None,
    data_environment: Any = None,
    target_database_url: str | None = None,
) -> FlowAIApp:
    """Declare a Studio app.

    Pass either ``workspaces`` (key -> :func:`define_workspace_runtime` binding) or, as sugar for
    a single workspace, ``runtime_spec`` with the binding options: that creates the workspace
    ``default`` (display name ``"Default"``) and makes it the default.

    Args:
        name: Non-empty app name; also the app id that scopes Studio storage.
        workspaces: Workspace key -> binding.
        default_workspace: Key of the default workspace; must be registered. Forced to
            ``"default"`` with the ``runtime_spec`` sugar.
        description: Free text for the UI.
        metadata: JSON-serializable mapping, stored read-only.
        runtime_spec: Sugar: the spec of the single ``default`` workspace.
        runtime_factory: Sugar: see :func:`define_workspace_runtime`.
        runtime: Sugar: see :func:`define_workspace_runtime`.
        resource_id: Sugar: see :func:`define_workspace_runtime`.
        capabilities: Sugar: see :func:`define_workspace_runtime`; ignored with ``workspaces``.
        data_environment: Sugar: see :func:`define_workspace_runtime`.
        target_database_url: Sugar: see :func:`define_workspace_runtime`.

    Returns:
        The app.

    Raises:
        SpecValueError: Both or neither of ``workspaces``/``runtime_spec``; sugar options with
            ``workspaces``; empty name, mapping or key; unknown ``default_workspace``.
        SpecTypeError: A workspace value is not a binding, or another argument has the wrong
            type.
    """
    if (workspaces is None) == (runtime_spec is None):
        got = "both" if workspaces is not None else "neither"
        raise SpecValueError(
            f"define_app() takes exactly one of workspaces or runtime_spec, got {got}"
        )
    if workspaces is not None:
        _refuse_sugar_options(
            runtime_factory=runtime_factory,
            runtime=runtime,
            resource_id=resource_id,
            data_environment=data_environment,
            target_database_url=target_database_url,
        )
    else:
        assert runtime_spec is not None
        binding = WorkspaceRuntimeBinding(
            runtime_spec=runtime_spec,
            runtime_factory=runtime_factory,
            runtime=runtime,
            workspace_key=DEFAULT_WORKSPACE_KEY,
            resource_id=resource_id,
            capabilities=capabilities,
            data_environment=data_environment,
            target_database_url=target_database_url,
        )
        workspaces, default_workspace = {DEFAULT_WORKSPACE_KEY: binding}, DEFAULT_WORKSPACE_KEY
    return FlowAIApp(
        name=name,
        workspaces=workspaces,
        default_workspace=default_workspace,
        description=description,
        metadata=metadata,
    )


def _refuse_sugar_options(**sugar: object) -> None:
    """The single-workspace options of ``define_app`` do not combine with ``workspaces``."""
    given = [option for option, value in sugar.items() if value is not None]
    if given:
        raise SpecValueError(
            f"{', '.join(given)} only apply together with runtime_spec; with workspaces, "
            f"pass them to define_workspace_runtime() for each workspace"
        )
