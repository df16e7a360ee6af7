"""The data environment: which KV store, catalog, search index and target database a runtime uses.

This module parses and validates the configuration only; the backends live in the adapter layer
and read the camelCase wire dict produced by :func:`normalize_data_environment`. Helpers for
those backends are here too: :func:`resolve_url` (``url`` or ``url_env``),
:func:`scope_tenant_key` (the workspace tenant id) and :func:`redact_url` (for any message that
echoes a connection URL).

Wire decision: keys whose value is ``None`` are dropped; defaults are emitted (for example
``"ensureSchema": false``, ``"table": "kv_store"``, ``"prefix": "afw:"``, ``"schema": "public"``),
so a backend never needs to know the defaults. The exception is the optional target database
settings added beyond the reference descriptor (``allowedFunctions``, ``maxResultBytes``,
``allowPrivileged``, ``poolSize``, ``poolTimeoutSecs``): they appear on the wire only when set,
so a plain descriptor keeps the reference wire shape; their defaults are the ``TARGET_*``
constants exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypedDict

from pydantic import ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from flowai_harness.errors import DataEnvironmentError, SpecTypeError, SpecValueError
from flowai_harness.specs._descriptors import (
    DESCRIPTOR_KINDS,
    TARGET_MAX_RESULT_BYTES,
    TARGET_POOL_SIZE,
    TARGET_POOL_TIMEOUT_SECS,
    CatalogDescriptor,
    CatalogSearch,
    EmptyCatalog,
    EnvironmentModel,
    InlineCatalog,
    KvDescriptor,
    MemoryKv,
    PostgresCatalog,
    PostgresKv,
    PostgresTargetDatabase,
    RedisKv,
    SqliteCatalog,
    SqliteKv,
    SqliteTargetDatabase,
    TargetDatabaseDescriptor,
    check_identifier,
    check_url_scheme,
    describe_type,
    redact_url,
)
from flowai_harness.specs._problems import closest

__all__ = [
    "DEFAULT_WORKSPACE",
    "LEGACY_URL_PREFIXES",
    "TARGET_MAX_RESULT_BYTES",
    "TARGET_POOL_SIZE",
    "TARGET_POOL_TIMEOUT_SECS",
    "CatalogDescriptor",
    "CatalogSearch",
    "DataEnvironment",
    "DataEnvironmentConfig",
    "EmptyCatalog",
    "InlineCatalog",
    "KvDescriptor",
    "MemoryKv",
    "PostgresCatalog",
    "PostgresKv",
    "PostgresTargetDatabase",
    "RedisKv",
    "SqliteCatalog",
    "SqliteKv",
    "SqliteTargetDatabase",
    "TargetDatabaseDescriptor",
    "normalize_data_environment",
    "redact_url",
    "resolve_url",
    "scope_tenant_key",
]

DEFAULT_WORKSPACE = "default"
"""Workspace id used when ``workspace_id`` is not set."""

LEGACY_URL_PREFIXES = ("sqlite:", "postgres://", "postgresql://")
"""The only prefixes accepted by the legacy ``target_database_url`` shorthand."""

_STRING_KEYS = ("tenant_id", "workspace_id", "target_database_url", "target_database_schema")
_ID_KEYS = ("tenant_id", "workspace_id")


class DataEnvironmentConfig(TypedDict, total=False):
    """The ``data_environment`` mapping accepted by ``create_runtime`` and Studio bindings.

    Every key is optional; the camelCase spelling of each key (``tenantId``, ``catalogSearch``,
    ...) is accepted at runtime too. Descriptors are mappings with a ``kind`` key, see
    :class:`DataEnvironment` for the kinds and their fields.
    """

    tenant_id: str
    workspace_id: str
    kv: Mapping[str, Any]
    catalog: Mapping[str, Any]
    catalog_search: Mapping[str, Any]
    target_database: Mapping[str, Any]
    target_database_url: str
    target_database_schema: str


class DataEnvironment(EnvironmentModel):
    """A validated data environment; ``to_wire()`` is the camelCase dict the runtime consumes.

    ``tenant_id``/``workspace_id`` scope the data (non-blank); ``kv``, ``catalog`` and
    ``target_database`` are descriptors chosen by ``kind``; ``catalog_search`` configures the
    index; ``target_database_url`` (prefixes ``sqlite:``, ``postgres://``, ``postgresql://``) and
    ``target_database_schema`` are the legacy target shorthand, exclusive with
    ``target_database``. Unknown keys are rejected at every level.
    """

    tenant_id: str | None = None
    workspace_id: str | None = None
    kv: KvDescriptor | None = None
    catalog: CatalogDescriptor | None = None
    catalog_search: CatalogSearch | None = None
    target_database: TargetDatabaseDescriptor | None = None
    target_database_url: str | None = None
    target_database_schema: str | None = None

    @field_validator("tenant_id", "workspace_id")
    @classmethod
    def _id_not_blank(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(f"data_environment[{info.field_name!r}] must not be blank")
        return value

    @field_validator("kv", "catalog", "target_database", mode="before")
    @classmethod
    def _kind_supported(cls, value: Any, info: ValidationInfo) -> Any:
        # Replaces pydantic's generic discriminator error with the message the spec prescribes.
        if isinstance(value, Mapping):
            problem = _kind_problem(str(info.field_name), value.get("kind"))
            if problem is not None:
                raise ValueError(str(problem))
        return value

    @field_validator("target_database_url")
    @classmethod
    def _legacy_url_prefix(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(LEGACY_URL_PREFIXES):
            raise ValueError(
                "data_environment.target_database_url must start with one of: "
                f"{', '.join(LEGACY_URL_PREFIXES)}; got '{redact_url(url)}'"
            )
        return url

    @field_validator("target_database_schema")
    @classmethod
    def _schema_is_identifier(cls, schema: str | None) -> str | None:
        if schema is None:
            return None
        return check_identifier(schema, "data_environment.target_database_schema")

    def _check_fields_together(self) -> None:
        if self.target_database is not None and self.target_database_url is not None:
            raise ValueError(
                "data_environment accepts either target_database or target_database_url, not both"
            )


def normalize_data_environment(
    data_environment: Mapping[str, Any] | DataEnvironment | None,
    target_database_url: str | None = None,
    *,
    runtime_resource_id: str | None,
) -> dict[str, Any] | None:
    """Validate a data environment and return its camelCase wire dict.

    Checks run in this order: merge the ``target_database_url`` argument; type checks (ids, URL
    and schema must be strings); ids non-blank; ``tenant_id`` equal to the runtime tenant; each
    descriptor a mapping with a string ``kind`` of a supported kind; ``catalog_search`` a
    mapping; then full model validation. Keys may be snake_case or camelCase; ``None`` values
    count as absent.

    Args:
        data_environment: The environment mapping (see :class:`DataEnvironmentConfig`), a
            :class:`DataEnvironment`, or ``None``.
        target_database_url: Legacy target URL merged in as ``target_database_url``.
        runtime_resource_id: The runtime tenant that ``tenant_id`` must equal; ``None`` skips
            the check (CLI use).

    Returns:
        The wire dict (camelCase keys, ``None`` values dropped, defaults kept), or ``None`` when
        the environment is empty.

    Raises:
        SpecTypeError: The environment is not a mapping; an id, URL or schema is not a string; a
            descriptor is not a mapping or its ``kind`` not a string; ``catalog_search`` is not
            a mapping.
        SpecValueError: A key is given in both spellings; the URL argument conflicts with the
            environment; an id is blank; ``tenant_id`` differs from the runtime tenant; a
            ``kind`` is not supported.
        pydantic.ValidationError: Any other rule (unknown keys, url/url_env, both target forms,
            URL prefix, identifiers, field types).
    """
    environment = _snake_case_keys(data_environment)
    _merge_target_database_url(environment, target_database_url)
    _check_scalar_keys(environment)
    tenant = environment.get("tenant_id")
    if runtime_resource_id is not None and tenant is not None and tenant != runtime_resource_id:
        raise SpecValueError(
            f"data_environment.tenant_id must match the runtime tenant '{runtime_resource_id}'"
        )
    for section in DESCRIPTOR_KINDS:
        if section in environment:
            environment[section] = _checked_descriptor(section, environment[section])
    if "catalog_search" in environment:
        search = _as_mapping(environment["catalog_search"])
        if search is None:
            raise SpecTypeError(
                "data_environment['catalog_search'] must be a mapping with an index_path; "
                f"got {describe_type(environment['catalog_search'])}"
            )
        environment["catalog_search"] = search
    wire = DataEnvironment.model_validate(environment).to_wire()
    return wire or None


def resolve_url(descriptor_wire: Mapping[str, Any], *, section: str) -> str:
    """Return the connection URL of a descriptor: its ``url``, or the env var named by ``urlEnv``.

    Args:
        descriptor_wire: A descriptor in wire form (``url`` / ``urlEnv``; ``url_env`` also read).
        section: The section it came from (``kv``, ``catalog``, ``target_database``), named in
            errors.

    Returns:
        The URL. It may hold credentials: pass it through :func:`redact_url` before echoing it.

    Raises:
        DataEnvironmentError: Neither key is set, the named environment variable is unset or
            empty, or the URL it holds has a scheme the descriptor's kind does not take.
        SpecTypeError: ``url`` or ``urlEnv`` is not a string.
    """
    url = descriptor_wire.get("url")
    if url is not None:
        if not isinstance(url, str):
            raise SpecTypeError(
                f"data_environment.{section}.url must be a string; got {describe_type(url)}"
            )
        return url
    name = descriptor_wire.get("urlEnv", descriptor_wire.get("url_env"))
    if name is None:
        raise DataEnvironmentError(f"data_environment.{section} requires url_env or url")
    if not isinstance(name, str):
        raise SpecTypeError(
            f"data_environment.{section}.url_env must be a string; got {describe_type(name)}"
        )
    value = os.environ.get(name)
    if not value:
        raise DataEnvironmentError(
            f"environment variable {name} is not set for data_environment.{section}.url_env"
        )
    model = DESCRIPTOR_KINDS.get(section, {}).get(str(descriptor_wire.get("kind")))
    if model is not None:
        where = f"environment variable {name} (data_environment.{section}.url_env)"
        try:
            check_url_scheme(value, model, field=where)
        except ValueError as error:
            raise DataEnvironmentError(str(error)) from None
    return value


def scope_tenant_key(tenant: str, workspace: str) -> str:
    """Return the workspace tenant id under which KV bodies of a scope are stored.

    Args:
        tenant: The scope tenant (the runtime's ``resource_id``).
        workspace: The scope workspace id.

    Returns:
        ``tenant`` itself for workspace ``default``; otherwise
        ``<tenant>::workspace:<workspace>`` with ``%`` -> ``%25`` and ``:`` -> ``%3A`` escaped
        in each component, so distinct scopes never share a key.

    Raises:
        SpecTypeError: ``tenant`` or ``workspace`` is not a string.
    """
    for name, value in (("tenant", tenant), ("workspace", workspace)):
        if not isinstance(value, str):
            raise SpecTypeError(f"{name} must be a string; got {describe_type(value)}")
    if workspace == DEFAULT_WORKSPACE:
        return tenant
    return f"{_escape_scope_component(tenant)}::workspace:{_escape_scope_component(workspace)}"


def _escape_scope_component(component: str) -> str:
    return component.replace("%", "%25").replace(":", "%3A")


def _kind_list(section: str) -> str:
    return ", ".join(sorted(DESCRIPTOR_KINDS[section]))


def _kind_problem(section: str, kind: object) -> SpecTypeError | SpecValueError | None:
    """Return the error for a descriptor ``kind`` that is not a string or not supported."""
    if not isinstance(kind, str):
        return SpecTypeError(
            f"data_environment[{section!r}]['kind'] must be a string naming one of: "
            f"{_kind_list(section)}; got {describe_type(kind)}"
        )
    if kind not in DESCRIPTOR_KINDS[section]:
        match = closest(kind, DESCRIPTOR_KINDS[section])
        return SpecValueError(
            f"data_environment[{section!r}] does not support kind '{redact_url(kind)}'; "
            f"expected one of: {_kind_list(section)}"
            + (f"; did you mean {match!r}?" if match else "")
        )
    return None


def _as_mapping(value: Any) -> Mapping[str, Any] | None:
    """Return ``value`` as a mapping (models as their wire dict), or ``None`` if it is neither."""
    if isinstance(value, EnvironmentModel):
        return value.to_wire()
    return value if isinstance(value, Mapping) else None


_CAMEL_TO_SNAKE = {to_camel(name): name for name in DataEnvironment.model_fields}


def _snake_case_keys(data_environment: object) -> dict[str, Any]:
    """Copy the environment with top-level keys in snake_case and ``None`` values removed."""
    if data_environment is None:
        return {}
    source = _as_mapping(data_environment)
    if source is None:
        raise SpecTypeError(
            f"data_environment must be a mapping; got {describe_type(data_environment)}"
        )
    environment: dict[str, Any] = {}
    for key, value in source.items():
        snake = _CAMEL_TO_SNAKE.get(key, key) if isinstance(key, str) else key
        if snake in environment or (snake != key and snake in source):
            raise SpecValueError(
                f"data_environment sets both {snake!r} and {to_camel(snake)!r}; use one spelling"
            )
        if value is not None:
            environment[snake] = value
    return environment


def _merge_target_database_url(environment: dict[str, Any], url: object) -> None:
    if url is None:
        return
    if not isinstance(url, str):
        raise SpecTypeError(f"target_database_url must be a string; got {describe_type(url)}")
    if "target_database" in environment:
        raise SpecValueError(
            "target_database_url conflicts with data_environment.target_database; "
            "pass either a target_database descriptor or a target_database_url, not both"
        )
    existing = environment.get("target_database_url")
    if existing is not None and existing != url:
        shown = redact_url(existing) if isinstance(existing, str) else describe_type(existing)
        raise SpecValueError(
            f"target_database_url '{redact_url(url)}' conflicts with "
            f"data_environment.target_database_url '{shown}'"
        )
    environment["target_database_url"] = url


def _check_scalar_keys(environment: Mapping[str, Any]) -> None:
    for key in _STRING_KEYS:
        value = environment.get(key)
        if value is not None and not isinstance(value, str):
            raise SpecTypeError(
                f"data_environment[{key!r}] must be a string; got {describe_type(value)}"
            )
    for key in _ID_KEYS:
        value = environment.get(key)
        if value is not None and not value.strip():
            raise SpecValueError(f"data_environment[{key!r}] must not be blank")


def _checked_descriptor(section: str, value: object) -> Mapping[str, Any]:
    descriptor = _as_mapping(value)
    if descriptor is None:
        raise SpecTypeError(
            f"data_environment[{section!r}] must be a mapping with a 'kind' key; "
            f"got {describe_type(value)}"
        )
    problem = _kind_problem(section, descriptor.get("kind"))
    if problem is not None:
        raise problem
    return descriptor
