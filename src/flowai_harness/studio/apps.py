"""Declaring a Studio app: workspace runtime bindings, the app registry and app references.

A :class:`FlowAIApp` maps workspace keys to :class:`WorkspaceRuntimeBinding` objects. A binding
carries the static :class:`~flowai_harness.specs.runtime.RuntimeSpec` the UI inspects and a way to
obtain the live runtime (a prebuilt handle or a zero-argument factory, called lazily once).

This module must stay cheap to import: ``from flowai_harness import define_app`` loads it, so the
web stack and the engine are only imported when a runtime is actually built.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from flowai_harness.errors import ConfigurationError, HarnessError, SpecTypeError, SpecValueError
from flowai_harness.specs.runtime import RuntimeSpec

if TYPE_CHECKING:
    from flowai_harness.engine.runtime import Runtime

__all__ = [
    "BASE_CAPABILITIES",
    "DATA_CAPABILITIES",
    "ENTERPRISE_CAPABILITIES",
    "KNOWN_CAPABILITIES",
    "LOCAL_CAPABILITIES",
    "STUDIO_API_VERSION",
    "AppImportError",
    "AppImportErrorCode",
    "FlowAIApp",
    "UnknownWorkspaceError",
    "WorkspaceRuntimeBinding",
    "define_app",
    "define_workspace_runtime",
    "resolve_app_reference",
]

STUDIO_API_VERSION: Final = "harness-studio/v1"

BASE_CAPABILITIES: Final = (
    "runtime.inspect",
    "chat.stream",
    "approvals.decide",
    "runs.list",
    "traces.read",
    "tests.manage",
    "evals.run",
)
DATA_CAPABILITIES: Final = ("data.sources", "data.profile", "knowledge.ingest")
LOCAL_CAPABILITIES: Final = ("tools.inspect", "settings.local")
ENTERPRISE_CAPABILITIES: Final = tuple(
    f"enterprise.{name}"
    for name in (
        "orgAdmin",
        "rbac",
        "auditLogs",
        "secrets",
        "deployments",
        "usage",
        "policyControls",
        "workspaceGovernance",
    )
)
KNOWN_CAPABILITIES: Final = (
    BASE_CAPABILITIES + DATA_CAPABILITIES + LOCAL_CAPABILITIES + ENTERPRISE_CAPABILITIES
)

DEFAULT_WORKSPACE_KEY: Final = "default"

AppImportErrorCode = Literal[
    "app_import.invalid_reference",
    "app_import.module_failed",
    "app_import.symbol_missing",
    "app_import.invalid_type",
    "app_import.factory_failed",
]


class AppImportError(ConfigurationError):
    """An app reference ``package.module:symbol`` could not be resolved to a ``FlowAIApp``."""

    def __init__(
        self,
        *,
        reference: str,
        module: str | None,
        symbol: str | None,
        code: AppImportErrorCode,
        message: str,
    ) -> None:
        super().__init__(message)
        self.reference = reference
        self.module = module
        self.symbol = symbol
        self.code: AppImportErrorCode = code
        self.message = message

    def to_envelope(self) -> dict[str, Any]:
        """Return the Studio error envelope for this failure.

        Returns:
            ``{"error": {"code", "message", "retryable": False, "details": {...}}}`` where the
            details name the reference, module and symbol.
        """
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "retryable": False,
                "details": {
                    "reference": self.reference,
                    "module": self.module,
                    "symbol": self.symbol,
                },
            }
        }


class UnknownWorkspaceError(HarnessError, KeyError):
    """``FlowAIApp.workspace`` was asked for a workspace key the app does not register."""

    def __init__(self, workspace_key: str, registered: Iterable[str]) -> None:
        super().__init__(workspace_key)
        self.workspace_key = workspace_key
        self.registered = tuple(registered)

    def __str__(self) -> str:
        known = ", ".join(repr(key) for key in self.registered)
        return f"workspace {self.workspace_key!r} is not registered; registered workspaces: {known}"


class _RuntimeCell:
    """The lazily built runtime, shared by a binding and its re-keyed copies."""

    __slots__ = ("_factory", "_lock", "_runtime")

    def __init__(self, factory: Callable[[], Runtime] | None, runtime: Runtime | None) -> None:
        self._factory = factory
        self._runtime = runtime
        self._lock = threading.Lock()

    @property
    def constructed(self) -> bool:
        return self._runtime is not None

    def get(self) -> Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None:
                assert self._factory is not None  # a cell always has a factory or a runtime
                built = self._factory()
                if built is None:
                    raise SpecTypeError(
                        "runtime_factory returned None; it must return a Runtime "
                        "(for example from create_runtime(...))"
                    )
                self._runtime = built
            return self._runtime


def _default_factory(
    spec: RuntimeSpec, data_environment: Any, target_database_url: str | None
) -> Callable[[], Runtime]:
    def build() -> Runtime:
        # Imported here: the engine and its adapters load only when a runtime is first needed.
        from flowai_harness.assemble import create_runtime

        return create_runtime(
            spec, data_environment=data_environment, target_database_url=target_database_url
        )

    return build


def _type_name(value: object) -> str:
    return type(value).__name__


def _check_optional_text(field: str, value: object, *, allow_empty: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecTypeError(f"{field} must be a string or None, got {_type_name(value)}")
    if not allow_empty and not value.strip():
        raise SpecValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _check_required_text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise SpecTypeError(f"{field} must be a non-empty string, got {_type_name(value)}")
    if not value.strip():
        raise SpecValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _check_metadata(value: object) -> Mapping[str, Any]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise SpecTypeError(f"metadata must be a mapping or None, got {_type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise SpecTypeError(f"metadata keys must be strings, got {key!r}")
    copied = dict(value)
    try:
        json.dumps(copied)
    except (TypeError, ValueError) as exc:
        raise SpecTypeError(f"metadata must be JSON-serializable: {exc}") from exc
    return MappingProxyType(copied)


def _check_capabilities(value: object, *, has_data_environment: bool) -> tuple[str, ...]:
    default = BASE_CAPABILITIES + (DATA_CAPABILITIES if has_data_environment else ())
    if value is None:
        return default
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise SpecTypeError(
            f"capabilities must be a list of capability ids or None, got {_type_name(value)}"
        )
    chosen: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise SpecTypeError(f"capability ids must be strings, got {item!r}")
        if item not in KNOWN_CAPABILITIES:
            raise SpecValueError(
                f"unknown capability {item!r}; expected one of: {', '.join(KNOWN_CAPABILITIES)}"
            )
        if item not in chosen:
            chosen.append(item)
    # An empty list means "the defaults", as in the reference registry.
    return tuple(chosen) or default


def _check_runtime_spec(value: object) -> RuntimeSpec:
    if isinstance(value, RuntimeSpec):
        return value
    if isinstance(value, Mapping):
        return RuntimeSpec.model_validate(dict(value))
    raise SpecTypeError(
        f"runtime_spec must be a RuntimeSpec (from define_runtime) or a mapping, "
        f"got {_type_name(value)}"
    )


def _display_name_for(workspace_key: str | None) -> str:
    if workspace_key is None:
        return "Default"
    return workspace_key.replace("_", " ").replace("-", " ").title()


class WorkspaceRuntimeBinding:
    """One Studio workspace: the runtime spec shown in the UI and the live runtime behind it.

    Build it with :func:`define_workspace_runtime`. The runtime is built on the first
    :meth:`get_runtime` call, once, under a lock, and cached.
    """

    __slots__ = (
        "_capabilities",
        "_cell",
        "_data_environment",
        "_description",
        "_display_name",
        "_metadata",
        "_resource_id",
        "_runtime_spec",
        "_workspace_key",
    )

    def __init__(
        self,
        *,
        runtime_spec: RuntimeSpec | Mapping[str, Any],
        runtime_factory: Callable[[], Runtime] | None = None,
        runtime: Runtime | None = None,
        workspace_key: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        resource_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        capabilities: Iterable[str] | None = None,
        data_environment: Any = None,
        target_database_url: str | None = None,
    ) -> None:
        """Validate and store a workspace binding; see :func:`define_workspace_runtime`."""
        if runtime_factory is not None and runtime is not None:
            raise SpecValueError(
                "runtime_factory and runtime are mutually exclusive; pass a prebuilt runtime "
                "or a zero-argument factory, not both"
            )
        if runtime_factory is not None and not callable(runtime_factory):
            raise SpecTypeError(
                f"runtime_factory must be a zero-argument callable returning a Runtime, "
                f"got {_type_name(runtime_factory)}"
            )
        spec = _check_runtime_spec(runtime_spec)
        self._runtime_spec = spec
        self._workspace_key = _check_optional_text(
            "workspace_key", workspace_key, allow_empty=False
        )
        self._display_name = _check_optional_text("display_name", display_name, allow_empty=False)
        self._description = _check_optional_text("description", description, allow_empty=True)
        checked_resource_id = _check_optional_text("resource_id", resource_id, allow_empty=False)
        self._resource_id = checked_resource_id or spec.tenant.resource_id
        self._metadata = _check_metadata(metadata)
        self._data_environment: dict[str, Any] | None = None
        if data_environment is not None or target_database_url is not None:
            from flowai_harness.specs.data_environment import normalize_data_environment

            self._data_environment = normalize_data_environment(
                data_environment,
                target_database_url,
                runtime_resource_id=spec.tenant.resource_id,
            )
        self._capabilities = _check_capabilities(
            capabilities, has_data_environment=self._data_environment is not None
        )
        if runtime is None and runtime_factory is None:
            runtime_factory = _default_factory(spec, data_environment, target_database_url)
        self._cell = _RuntimeCell(runtime_factory, runtime)

    @property
    def runtime_spec(self) -> RuntimeSpec:
        """The static runtime spec the Studio UI inspects."""
        return self._runtime_spec

    @property
    def workspace_key(self) -> str | None:
        """The workspace key, or ``None`` until the binding is registered by ``define_app``."""
        return self._workspace_key

    @property
    def display_name(self) -> str:
        """The explicit display name, else one derived from the workspace key."""
        return self._display_name or _display_name_for(self._workspace_key)

    @property
    def description(self) -> str | None:
        """Free-text description shown in the workspace picker."""
        return self._description

    @property
    def resource_id(self) -> str:
        """The resource id shown for the workspace (defaults to the spec's tenant)."""
        return self._resource_id

    @property
    def metadata(self) -> Mapping[str, Any]:
        """Read-only user metadata."""
        return self._metadata

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Enabled capability ids, in declaration order."""
        return self._capabilities

    @property
    def data_environment(self) -> dict[str, Any] | None:
        """The normalized data-environment wire dict, or ``None`` without one."""
        return None if self._data_environment is None else dict(self._data_environment)

    @property
    def runtime_constructed(self) -> bool:
        """Whether the live runtime exists yet (always true for a prebuilt runtime)."""
        return self._cell.constructed

    def get_runtime(self) -> Runtime:
        """Return the live runtime, building it on first use (once, thread-safe).

        Returns:
            The prebuilt runtime, or the cached result of the factory.

        Raises:
            SpecTypeError: The factory returned ``None``.
        """
        return self._cell.get()

    def with_workspace_key(self, workspace_key: str) -> WorkspaceRuntimeBinding:
        """Return this binding registered under ``workspace_key``.

        The copy shares the runtime (built at most once for both).

        Args:
            workspace_key: Non-empty workspace key.

        Returns:
            ``self`` when the key is already set to ``workspace_key``, else a keyed copy.

        Raises:
            SpecTypeError: ``workspace_key`` is not a string.
            SpecValueError: ``workspace_key`` is empty, or the binding already has another key.
        """
        key = _check_required_text("workspace_key", workspace_key)
        if self._workspace_key == key:
            return self
        if self._workspace_key is not None:
            raise SpecValueError(
                f"binding already has workspace_key {self._workspace_key!r}; "
                f"it cannot be registered under {key!r}"
            )
        copy = object.__new__(WorkspaceRuntimeBinding)
        for slot in WorkspaceRuntimeBinding.__slots__:
            object.__setattr__(copy, slot, getattr(self, slot))
        copy._workspace_key = key
        return copy

    def workspace_summary(self) -> dict[str, Any]:
        """Return the ``WorkspaceSummary`` wire dict of ``GET /api/workspaces``.

        Returns:
            ``{workspaceKey, displayName, description?, status, resourceId, metadata,
            capabilities}``; ``description`` is omitted when unset. Never contains secrets.

        Raises:
            SpecValueError: The binding has no workspace key yet.
        """
        if self._workspace_key is None:
            raise SpecValueError(
                "binding has no workspace_key; register it with define_app(workspaces={...})"
            )
        summary: dict[str, Any] = {
            "workspaceKey": self._workspace_key,
            "displayName": self.display_name,
        }
        if self._description is not None:
            summary["description"] = self._description
        summary.update(
            status="ready",
            resourceId=self._resource_id,
            metadata=dict(self._metadata),
            capabilities=list(self._capabilities),
        )
        return summary

    def __repr__(self) -> str:
        # Data-environment URLs may carry passwords: keep them out of the repr.
        return (
            f"WorkspaceRuntimeBinding(workspace_key={self._workspace_key!r}, "
            f"display_name={self.display_name!r}, resource_id={self._resource_id!r}, "
            f"runtime_constructed={self.runtime_constructed})"
        )


def define_workspace_runtime(
    *,
    runtime_spec: RuntimeSpec | Mapping[str, Any],
    runtime_factory: Callable[[], Runtime] | None = None,
    runtime: Runtime | None = None,
    workspace_key: str | None = None,
    display_name: str | None = None,
    description: str | None = None,
    resource_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    capabilities: Iterable[str] | None = None,
    data_environment: Any = None,
    target_database_url: str | None = None,
) -> WorkspaceRuntimeBinding:
    """Bind a runtime spec (and how to build its runtime) to a Studio workspace.

    Args:
        runtime_spec: ``RuntimeSpec`` or a mapping validated into one.
        runtime_factory: Zero-argument callable returning the live runtime, called lazily once.
            Defaults to ``create_runtime(runtime_spec, data_environment=...,
            target_database_url=...)`` (the offline ``noop`` interpreter).
        runtime: A prebuilt runtime handle; exclusive with ``runtime_factory``.
        workspace_key: The workspace key; normally set by :func:`define_app`.
        display_name: Label in the UI; defaults to the key with ``_``/``-`` as spaces, title
            case (``"Default"`` without a key).
        description: Free text for the UI.
        resource_id: Resource id shown for the workspace; defaults to the spec's tenant.
        metadata: JSON-serializable mapping, stored read-only.
        capabilities: Enabled capability ids; ``None`` or empty means the base set, plus the
            data set when a data environment is configured.
        data_environment: Data environment descriptor, validated against the spec's tenant.
        target_database_url: Shortcut for the data environment's target database URL.

    Returns:
        The binding.

    Raises:
        SpecValueError: ``runtime_factory`` and ``runtime`` both given; empty key, name or
            resource id; unknown capability id; invalid data environment.
        SpecTypeError: An argument has the wrong type.
        pydantic.ValidationError: ``runtime_spec`` is a mapping that is not a valid spec.
    """
    return WorkspaceRuntimeBinding(
        runtime_spec=runtime_spec,
        runtime_factory=runtime_factory,
        runtime=runtime,
        workspace_key=workspace_key,
        display_name=display_name,
        description=description,
        resource_id=resource_id,
        metadata=metadata,
        capabilities=capabilities,
        data_environment=data_environment,
        target_database_url=target_database_url,
    )


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
        self._name = _check_required_text("name", name)
        self._workspaces = MappingProxyType(_check_workspaces(workspaces))
        if not isinstance(default_workspace, str):
            raise SpecTypeError(
                f"default_workspace must be a string, got {_type_name(default_workspace)}"
            )
        if default_workspace not in self._workspaces:
            known = ", ".join(repr(key) for key in self._workspaces)
            raise SpecValueError(
                f"default_workspace {default_workspace!r} is not registered; "
                f"registered workspaces: {known}"
            )
        self._default_workspace = default_workspace
        self._description = _check_optional_text("description", description, allow_empty=True)
        self._metadata = _check_metadata(metadata)

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
            f"got {_type_name(workspaces)}"
        )
    if not workspaces:
        raise SpecValueError("workspaces must register at least one workspace")
    registered: dict[str, WorkspaceRuntimeBinding] = {}
    for key, binding in workspaces.items():
        _check_required_text("workspace key", key)
        if not isinstance(binding, WorkspaceRuntimeBinding):
            raise SpecTypeError(
                f"workspace {key!r} must be a WorkspaceRuntimeBinding "
                f"(from define_workspace_runtime), got {_type_name(binding)}"
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
        sugar = {
            "runtime_factory": runtime_factory,
            "runtime": runtime,
            "resource_id": resource_id,
            "data_environment": data_environment,
            "target_database_url": target_database_url,
        }
        given = [option for option, value in sugar.items() if value is not None]
        if given:
            raise SpecValueError(
                f"{', '.join(given)} only apply together with runtime_spec; with workspaces, "
                f"pass them to define_workspace_runtime() for each workspace"
            )
        return FlowAIApp(
            name=name,
            workspaces=workspaces,
            default_workspace=default_workspace,
            description=description,
            metadata=metadata,
        )
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
    return FlowAIApp(
        name=name,
        workspaces={DEFAULT_WORKSPACE_KEY: binding},
        default_workspace=DEFAULT_WORKSPACE_KEY,
        description=description,
        metadata=metadata,
    )


def _split_reference(reference: str) -> tuple[str, str]:
    module_name, sep, symbol = reference.partition(":")
    if not sep or not module_name.strip() or not symbol.strip():
        raise AppImportError(
            reference=reference,
            module=module_name or None,
            symbol=symbol or None,
            code="app_import.invalid_reference",
            message=(
                f"app reference {reference!r} must look like 'package.module:symbol' "
                f"with a non-empty module and symbol"
            ),
        )
    return module_name.strip(), symbol.strip()


def _accepts_no_arguments(candidate: Callable[..., Any]) -> bool:
    try:
        signature = inspect.signature(candidate)
    except (TypeError, ValueError):
        return True  # some builtins have no signature: let the call decide
    try:
        signature.bind()
    except TypeError:
        return False
    return True


def resolve_app_reference(reference: str) -> FlowAIApp:
    """Import ``package.module:symbol`` and return the ``FlowAIApp`` it names.

    The current directory is put first on ``sys.path``. The symbol is looked up as one attribute
    (no dotted walk); if it is a callable other than an app it is called with no arguments.

    Args:
        reference: ``"package.module:symbol"``.

    Returns:
        The app.

    Raises:
        SpecTypeError: ``reference`` is not a string.
        AppImportError: Malformed reference (``app_import.invalid_reference``), the module
            failed to import (``app_import.module_failed``), the attribute is missing
            (``app_import.symbol_missing``), the factory raised (``app_import.factory_failed``)
            or the result is not a ``FlowAIApp`` (``app_import.invalid_type``).
    """
    if not isinstance(reference, str):
        raise SpecTypeError(
            f"app reference must be a string 'package.module:symbol', got {_type_name(reference)}"
        )
    module_name, symbol = _split_reference(reference)

    def fail(code: AppImportErrorCode, message: str) -> AppImportError:
        return AppImportError(
            reference=reference, module=module_name, symbol=symbol, code=code, message=message
        )

    cwd = os.getcwd()
    if not sys.path or sys.path[0] not in ("", cwd):
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise fail(
            "app_import.module_failed",
            f"could not import module {module_name!r} for app reference {reference!r}: "
            f"{type(exc).__name__}: {exc}",
        ) from exc
    try:
        target = getattr(module, symbol)
    except AttributeError:
        raise fail(
            "app_import.symbol_missing",
            f"module {module_name!r} has no attribute {symbol!r} (app reference {reference!r})",
        ) from None
    if callable(target) and not isinstance(target, FlowAIApp):
        if not _accepts_no_arguments(target):
            raise fail(
                "app_import.invalid_type",
                f"{reference!r} is a callable that needs arguments; expected a FlowAIApp "
                f"or a zero-argument callable returning one",
            )
        try:
            target = target()
        except Exception as exc:
            raise fail(
                "app_import.factory_failed",
                f"app factory {reference!r} raised {type(exc).__name__}: {exc}",
            ) from exc
    if not isinstance(target, FlowAIApp):
        raise fail(
            "app_import.invalid_type",
            f"{reference!r} resolved to {_type_name(target)}; expected a FlowAIApp "
            f"(from define_app) or a zero-argument callable returning one",
        )
    return target
