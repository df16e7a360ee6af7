"""Typed, tenant-scoped, content-addressed references stored in the key-value port.

The id of a reference is the hex of the first 12 bytes of SHA-256 over the canonical JSON of
``{"content": value, "owner": tenant}``: the same value in the same tenant always gets the same
id, and another tenant gets another id. Values are validated against the kind's schema before
anything is stored; the glimpse is computed once, host-side, and stored with the value.

The engine declares one kind of its own, ``tool_result`` (:data:`TOOL_RESULT_KIND`): a tool
result too large to send to the model inline is stored as one, already serialized
(:meth:`ReferenceRegistry.store_encoded`), and read back like any other reference. Its id is
computed the same way over the result's compact JSON as the tool produced it (object keys in
the tool's order), so storing it needs no second full copy of the value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from flowai_harness._clock import utc_seconds
from flowai_harness.engine.compiled import CompiledReference
from flowai_harness.engine.jsonvalues import canonical_json, to_json
from flowai_harness.engine.limits import TOOL_RESULT_KIND
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import ReferenceNotFoundError, ReferenceValidationError, SpecTypeError
from flowai_harness.ports import KeyValueStore

__all__ = ["TOOL_RESULT_KIND", "ReferenceRegistry", "reference_id"]


def reference_id(value: Any, tenant: str) -> str:
    """Return the content-addressed id of ``value`` for ``tenant`` (24 hex chars)."""
    text = canonical_json({"content": value, "owner": tenant})
    return hashlib.sha256(text.encode()).digest()[:12].hex()


class ReferenceRegistry:
    """Creates and reads references of the declared kinds."""

    __slots__ = ("_kinds", "_kv")

    def __init__(self, kinds: Mapping[str, CompiledReference], kv: KeyValueStore) -> None:
        self._kinds = kinds
        self._kv = kv

    def _kind(self, kind: str) -> CompiledReference:
        compiled = self._kinds.get(kind)
        if compiled is None:
            raise ReferenceValidationError(
                f"unknown reference kind: {kind} (declared kinds: {self._declared()})"
            )
        return compiled

    def _declared(self) -> list[str]:
        return sorted(kind for kind in self._kinds if kind != TOOL_RESULT_KIND)

    async def create(self, tenant: str, kind: str, value: Any, glimpse: Any) -> dict[str, Any]:
        """Validate and store a JSON ``value``; return ``{"kind", "id", "glimpse"}``."""
        compiled = self._kind(kind)
        problems = compiled.validator.errors(value)
        if problems:
            raise ReferenceValidationError(
                f"schema validation failed for kind '{kind}': {problems}"
            )
        ref_id = reference_id(value, tenant)
        record = {
            "kind": kind,
            "resourceId": tenant,
            "value": value,
            "glimpse": glimpse,
            "createdAt": utc_seconds(),
        }
        await self._kv.put(tenant, f"reference:{kind}:{ref_id}", record, compiled.ttl_ms)
        return {"kind": kind, "id": ref_id, "glimpse": glimpse}

    async def store_encoded(
        self, tenant: str, raw: bytes, glimpse: dict[str, Any]
    ) -> dict[str, Any]:
        """Store ``raw`` (compact JSON bytes of a tool result) as a ``tool_result`` reference.

        The bytes go to the store as they are (no parse, no second serialization).

        Returns:
            ``{"kind", "id", "glimpse"}``.
        """
        compiled = self._kind(TOOL_RESULT_KIND)
        digest = hashlib.sha256(b'{"content":')
        digest.update(raw)
        digest.update(b',"owner":' + orjson.dumps(tenant) + b"}")
        ref_id = digest.digest()[:12].hex()
        record = {
            "kind": TOOL_RESULT_KIND,
            "resourceId": tenant,
            "value": orjson.Fragment(raw),
            "glimpse": glimpse,
            "createdAt": utc_seconds(),
        }
        key = f"reference:{TOOL_RESULT_KIND}:{ref_id}"
        await self._kv.put(tenant, key, record, compiled.ttl_ms)
        return {"kind": TOOL_RESULT_KIND, "id": ref_id, "glimpse": glimpse}

    async def read(self, tenant: str, kind: str, ref_id: str) -> dict[str, Any]:
        """Return the stored record, or raise ``ReferenceNotFoundError``."""
        self._kind(kind)
        record = await self._kv.get(tenant, f"reference:{kind}:{ref_id}")
        # The kind is checked too: kind "a" with id "b:c" has the key of kind "a:b" with id "c".
        if (
            not isinstance(record, dict)
            or record.get("resourceId") != tenant
            or record.get("kind") != kind
        ):
            raise ReferenceNotFoundError(f"reference not found: kind={kind} id={ref_id}")
        return record

    # -- host-facing forms (Runtime methods and ctx.references) ---------------------------

    async def create_from_host(
        self, tenant: str, reference: Any, value: Any, glimpse: Any = None
    ) -> dict[str, Any]:
        """Create from a ``ReferenceSpec`` or kind string and an arbitrary Python value."""
        callback: Any = None
        if isinstance(reference, str):
            kind = reference
        else:
            name = getattr(reference, "name", None)
            callback = getattr(reference, "glimpse", None)
            if not isinstance(name, str):
                raise ReferenceValidationError(
                    "create_reference needs a ReferenceSpec or a non-empty kind string, got "
                    f"{type(reference).__name__}"
                )
            kind = name
        if not kind:
            raise ReferenceValidationError("reference kind must be a non-empty string")
        self._kind(kind)
        try:
            json_value = to_json(value)
        except (TypeError, ValueError) as exc:
            raise SpecTypeError(
                f"reference value for kind '{kind}' is not JSON-serialisable: {exc}"
            ) from exc
        if glimpse is None and callable(callback):
            try:
                glimpse = callback(value)
            except BaseException as exc:
                if not is_user_failure(exc):
                    raise
                raise ReferenceValidationError(
                    f"glimpse callback of reference kind '{kind}' raised {describe_failure(exc)}"
                ) from exc
        try:
            json_glimpse = {} if glimpse is None else to_json(glimpse)
        except (TypeError, ValueError) as exc:
            raise SpecTypeError(
                f"glimpse for kind '{kind}' is not JSON-serialisable: {exc}"
            ) from exc
        return await self.create(tenant, kind, json_value, json_glimpse)

    async def resolve_handle(self, tenant: str, ref: Any) -> Any:
        """Return the stored value of a handle (mapping or object with ``kind`` and ``id``)."""
        kind, ref_id = parse_handle(ref)
        return (await self.read(tenant, kind, ref_id))["value"]

    async def glimpse_handle(self, tenant: str, ref: Any) -> Any:
        """Return the stored glimpse of a handle."""
        kind, ref_id = parse_handle(ref)
        return (await self.read(tenant, kind, ref_id))["glimpse"]


def parse_handle(ref: Any) -> tuple[str, str]:
    """Return ``(kind, id)`` of a reference handle, or raise ``ReferenceValidationError``."""
    if isinstance(ref, Mapping):
        kind, ref_id = ref.get("kind"), ref.get("id")
    else:
        kind, ref_id = getattr(ref, "kind", None), getattr(ref, "id", None)
    if not isinstance(kind, str) or not kind or not isinstance(ref_id, str) or not ref_id:
        raise ReferenceValidationError(
            f"a reference handle needs non-empty string 'kind' and 'id', got {ref!r}"
        )
    return kind, ref_id
