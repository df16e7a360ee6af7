"""Workspace runtime bindings: one Studio workspace, its runtime spec and its live runtime.

A binding carries the static :class:`~flowai_harness.specs.runtime.RuntimeSpec` the Studio UI
inspects and a way to obtain the live runtime (a prebuilt handle or a zero-argument factory,
called lazily once). :func:`~flowai_harness.studio.apps.define_app` registers bindings by key.

This module must stay cheap to import: the engine loads only when a runtime is first built.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.studio.capabilities import (
    BASE_CAPABILITIES,
    DATA_CAPABILITIES,
    ENTERPRISE_CAPABILITIES,
    KNOWN_CAPABILITIES,
    LOCAL_CAPABILITIES,
    capability_registry,
)

if TYPE_CHECKING:
    from flowai_harness.handle import Runtime
    from flowai_harness.studio.payloads import CapabilitySummary

__all__ = [
    "BASE_CAPABILITIES",
    "DATA_CAPABILITIES",
    "ENTERPRISE_CAPABILITIES",
    "KNOWN_CAPABILITIES",
    "LOCAL_CAPABILITIES",
    "WorkspaceRuntimeBinding",
    "define_workspace_runtime",
]


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


def type_name(value: object) -> str:
    """Return the class name of ``value`` for error messages."""
    return type(value).__name__


def check_optional_text(field: str, value: object, *, allow_empty: bool) -> str | None:
    """Return ``value`` if it is ``None`` or a string (non-blank unless ``allow_empty``).

    Raises:
        SpecTypeError: ``value`` is neither ``None`` nor a string.
        SpecValueError: ``value`` is blank and ``allow_empty`` is false.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecTypeError(f"{field} must be a string or None, got {type_name(value)}")
    if not allow_empty and not value.strip():
        raise SpecValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def check_required_text(field: str, value: object) -> str:
    """Return ``value`` if it is a non-blank string.

    Raises:
        SpecTypeError: ``value`` is not a string.
        SpecValueError: ``value`` is blank.
    """
    if not isinstance(value, str):
        raise SpecTypeError(f"{field} must be a non-empty string, got {type_name(value)}")
    if not value.strip():
        raise SpecValueError(f"{field} must be a non-empty string, got {value!r}")
    return value


def check_metadata(value: object) -> Mapping[str, Any]:
    """Return a read-only copy of a JSON-serializable metadata mapping (``None`` -> empty).

    Raises:
        SpecTypeError: Not a mapping, a non-string key, or not JSON-serializable.
    """
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise SpecTypeError(f"metadata must be a mapping or None, got {type_name(value)}")
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
            f"capabilities must be a list of capability ids or None, got {type_name(value)}"
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
        f"got {type_name(value)}"
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
                f"got {type_name(runtime_factory)}"
            )
        spec = _check_runtime_spec(runtime_spec)
        self._runtime_spec = spec
        self._workspace_key = check_optional_text("workspace_key", workspace_key, allow_empty=False)
        self._display_name = check_optional_text("display_name", display_name, allow_empty=False)
        self._description = check_optional_text("description", description, allow_empty=True)
        checked_resource_id = check_optional_text("resource_id", resource_id, allow_empty=False)
        self._resource_id = checked_resource_id or spec.tenant.resource_id
        self._metadata = check_metadata(metadata)
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
        key = check_required_text("workspace_key", workspace_key)
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
        summary: dict[str, Any] = {
            "workspaceKey": self._registered_key(),
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

    def _registered_key(self) -> str:
        if self._workspace_key is None:
            raise SpecValueError(
                "binding has no workspace_key; register it with define_app(workspaces={...})"
            )
        return self._workspace_key

    @property
    def has_data_environment(self) -> bool:
        """Whether the workspace has a data environment (the data screens need one)."""
        return self._data_environment is not None

    def data_environment_json(self) -> str | None:
        """The normalized data environment as JSON text, or ``None`` without one."""
        if self._data_environment is None:
            return None
        return json.dumps(self._data_environment, sort_keys=True)

    def runtime_summary(self) -> dict[str, Any]:
        """Return the body of ``GET /api/workspaces/{key}/runtime``.

        Returns:
            ``{workspaceKey, tenant: {tenantId, version}, agents, providers, plans,
            references}``; provider credentials appear as references (``env``,
            ``secretRef``, ``serverManaged``, ``missing``), never as values.

        Raises:
            SpecValueError: The binding has no workspace key yet.
        """
        from flowai_harness.studio.inspection import runtime_summary

        return runtime_summary(self._registered_key(), self._runtime_spec)

    def capability_registry(self) -> list[CapabilitySummary]:
        """Every known capability id, enabled or not; disabled ones say why."""
        return capability_registry(self._capabilities, has_data=self._data_environment is not None)

    def agents_response(self) -> dict[str, Any]:
        """Return the body of ``GET /api/workspaces/{key}/agents``: ``{workspaceKey, agents}``.

        Raises:
            SpecValueError: The binding has no workspace key yet.
        """
        from flowai_harness.studio.inspection import agent_summary

        agents = [agent_summary(agent) for agent in self._runtime_spec.agents]
        return {"workspaceKey": self._registered_key(), "agents": agents}

    def eval_capabilities_response(self) -> dict[str, Any]:
        """Return the body of ``GET /api/workspaces/{key}/eval-capabilities``:
        ``{workspaceKey, modes}``.

        Raises:
            SpecValueError: The binding has no workspace key yet.
        """
        from flowai_harness.studio.inspection import eval_modes

        return {"workspaceKey": self._registered_key(), "modes": eval_modes(self._runtime_spec)}

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
