"""Tenant identity: the isolation key that scopes every piece of runtime state.

``resource_id`` namespaces references, plans, approvals, agent memory, events and data access;
``version`` labels the configuration. Take both from trusted host state, never from prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs._wire import WireModel

__all__ = ["TenantIdentity", "define_tenant"]


class TenantIdentity(WireModel):
    """Who a runtime works for: ``{"resourceId": ..., "version": ...}`` on the wire."""

    resource_id: str = Field(min_length=1)
    version: str = Field(min_length=1)

    @field_validator("resource_id")
    @classmethod
    def _reject_blank_resource_id(cls, value: str) -> str:
        if value and not value.strip():
            raise ValueError(f"resource_id must contain a non-whitespace character; got {value!r}")
        return value


def define_tenant(
    tenant: str | Mapping[str, Any] | TenantIdentity | None = None,
    /,
    version: str | None = None,
    *,
    resource_id: str | None = None,
    **kwargs: Any,
) -> TenantIdentity:
    """Build a :class:`TenantIdentity`.

    Examples: ``define_tenant("acme", "v1")``,
    ``define_tenant({"resourceId": "acme", "version": "v1"})``,
    ``define_tenant(existing, version="v2")``.

    Args:
        tenant: The resource id as a string, a mapping with ``resource_id``/``resourceId`` and
            ``version``, an existing ``TenantIdentity`` (copied through its wire dict), or
            ``None``.
        version: Overrides the version from ``tenant``.
        resource_id: Overrides the resource id from ``tenant``.
        **kwargs: Further fields, merged last (unknown names are rejected).

    Returns:
        A frozen ``TenantIdentity``.

    Raises:
        pydantic.ValidationError: a missing, empty or whitespace-only resource id, a missing or
            empty version, or an unknown field.
        SpecTypeError: ``tenant`` is not a string, mapping, ``TenantIdentity`` or ``None``.
    """
    data: dict[str, Any]
    if tenant is None:
        data = {}
    elif isinstance(tenant, TenantIdentity):
        data = tenant.to_wire()
    elif isinstance(tenant, str):
        data = {"resourceId": tenant}
    elif isinstance(tenant, Mapping):
        data = _with_camel_resource_id(dict(tenant))
    else:
        raise SpecTypeError(
            "tenant must be a resource id string, a mapping, a TenantIdentity or None; "
            f"got {type(tenant).__name__}"
        )
    if version is not None:
        data["version"] = version
    if resource_id is not None:
        data["resourceId"] = resource_id
    data.update(kwargs)
    return TenantIdentity.model_validate(data)


def _with_camel_resource_id(data: dict[str, Any]) -> dict[str, Any]:
    # The reference renames the key before validation, so with both spellings present the
    # snake_case value wins; pydantic alone would pick one silently.
    if "resource_id" in data:
        data["resourceId"] = data.pop("resource_id")
    return data
