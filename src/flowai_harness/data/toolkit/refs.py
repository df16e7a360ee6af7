"""Catalog references: exact resolution of ``{id | qualified_name | name, kind?}``.

``id`` resolves directly; ``qualified_name`` by exact match over public kinds (or ``kind``);
``name`` by exact match and needs ``kind``. Matching trims and ignores case. More than one
distinct match is ambiguous: the ref is treated as missing and the candidates are reported.
``special`` entries are never resolved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowai_harness.data.catalog.entries import (
    PUBLIC_KINDS,
    SEARCHABLE_STORAGE_KINDS,
    CatalogEntry,
    storage_kind,
)
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.toolkit.inputs import ToolInputError

__all__ = [
    "AMBIGUOUS",
    "CatalogRef",
    "RefResolution",
    "classify_filter_string",
    "parse_ref",
    "resolve_ref",
    "resolve_refs",
]

EXACTLY_ONE = "exactly_one_of_id_qualified_name_or_name_required"
SPECIAL_RESERVED = "special_kind_is_reserved"
NO_MATCHING_ID = "no_matching_id"
NO_MATCHING_ENTITY = "no_matching_public_entity"
KIND_REQUIRED = "kind_required_for_name_reference"
#: Code of a ref that matched several entities.
AMBIGUOUS = "ambiguous_reference"

_REF_KEYS = ("id", "qualified_name", "name", "kind")
_HEX_ID = re.compile(r"[0-9a-fA-F]{64}")
_ID_PREFIXES = (
    "table:",
    "column:",
    "enum:",
    "relationship:",
    "metric:",
    "knowledge:",
    "document:",
    "data_quality_finding:",
)


@dataclass(frozen=True, slots=True)
class CatalogRef:
    """A parsed reference; ``kind`` is a public kind."""

    id: str | None = None
    qualified_name: str | None = None
    name: str | None = None
    kind: str | None = None

    def to_dict(self) -> dict[str, str]:
        """Return the set fields, as the model wrote them."""
        return {key: value for key in _REF_KEYS if (value := getattr(self, key)) is not None}


@dataclass(frozen=True, slots=True)
class RefResolution:
    """The outcome of resolving one ref: the entry, or a failure code (and candidates)."""

    ref: CatalogRef
    entry: CatalogEntry | None = None
    code: str | None = None
    candidates: tuple[str, ...] = ()

    def missing(self) -> dict[str, Any]:
        """Return the ``missing[]`` item: ``{ref, code, candidates?}``."""
        item: dict[str, Any] = {"ref": self.ref.to_dict(), "code": self.code}
        if self.candidates:
            item["candidates"] = list(self.candidates)
        return item

    def describe(self) -> str:
        """A one-line reason for warnings."""
        label = ", ".join(f"{k}={v!r}" for k, v in self.ref.to_dict().items())
        extra = f" (candidates: {', '.join(self.candidates)})" if self.candidates else ""
        return f"ref {{{label}}} did not resolve: {self.code}{extra}"


def parse_ref(raw: Any, where: str) -> CatalogRef:
    """Parse a ref object strictly (unknown keys and non-string values are invalid input).

    Raises:
        ToolInputError: ``raw`` is not an object, has an unknown key or a non-string value, or
            ``kind`` is not a kind.
    """
    if not isinstance(raw, Mapping):
        raise ToolInputError(f"{where} must be an object with id, qualified_name or name")
    unknown = sorted(str(key) for key in raw if key not in _REF_KEYS)
    if unknown:
        raise ToolInputError(
            f"{where} has unknown field(s) {unknown}; expected: id, qualified_name, name, kind"
        )
    values: dict[str, str | None] = {}
    for key in _REF_KEYS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ToolInputError(f"{where}.{key} must be a string")
        values[key] = value
    kind = values["kind"]
    if kind is not None and kind not in PUBLIC_KINDS and kind != "special":
        raise ToolInputError(f"{where}.kind {kind!r} is not one of: {', '.join(PUBLIC_KINDS)}")
    return CatalogRef(values["id"], values["qualified_name"], values["name"], kind)


def classify_filter_string(value: str, kind: str | None) -> CatalogRef:
    """Turn a filter string into a ref: an id if it is 64 hex characters or has a kind prefix
    (``table:``, ``column:``, …), a qualified name if it contains ``.``, else a name."""
    text = value.strip()
    if _HEX_ID.fullmatch(text) or text.lower().startswith(_ID_PREFIXES):
        return CatalogRef(id=text, kind=kind)
    if "." in text:
        return CatalogRef(qualified_name=text, kind=kind)
    return CatalogRef(name=text, kind=kind)


def _precheck(ref: CatalogRef) -> str | None:
    given = [v for v in (ref.id, ref.qualified_name, ref.name) if v is not None and v.strip()]
    if len(given) != 1:
        return EXACTLY_ONE
    if ref.kind == "special":
        return SPECIAL_RESERVED
    if ref.name is not None and ref.name.strip() and ref.kind is None:
        return KIND_REQUIRED
    return None


def _kinds_of(ref: CatalogRef) -> list[str]:
    return [storage_kind(ref.kind)] if ref.kind else list(SEARCHABLE_STORAGE_KINDS)


async def resolve_ref(catalog: CatalogStore, scope: CatalogScope, ref: CatalogRef) -> RefResolution:
    """Resolve one ref against ``catalog`` in ``scope``."""
    return (await resolve_refs(catalog, scope, [ref]))[0]


async def resolve_refs(
    catalog: CatalogStore, scope: CatalogScope, refs: Sequence[CatalogRef]
) -> list[RefResolution]:
    """Resolve refs in order (ids fetched in one batch)."""
    by_id = await catalog.get_entries(
        scope, [r.id.strip() for r in refs if r.id is not None and r.id.strip()]
    )
    out: list[RefResolution] = []
    for ref in refs:
        problem = _precheck(ref)
        if problem is not None:
            out.append(RefResolution(ref, code=problem))
            continue
        if ref.id is not None and ref.id.strip():
            entry = by_id.get(ref.id.strip())
            ok = (
                entry is not None
                and not entry.is_special
                and (ref.kind is None or entry.kind == ref.kind)
            )
            out.append(RefResolution(ref, entry) if ok else RefResolution(ref, code=NO_MATCHING_ID))
            continue
        if ref.qualified_name is not None:
            found = await catalog.find_entries(
                scope, "qualified_name", ref.qualified_name, _kinds_of(ref)
            )
        else:
            found = await catalog.find_entries(scope, "name", str(ref.name), _kinds_of(ref))
        found = [entry for entry in found if not entry.is_special]
        if not found:
            out.append(RefResolution(ref, code=NO_MATCHING_ENTITY))
        elif len(found) > 1:
            out.append(
                RefResolution(ref, code=AMBIGUOUS, candidates=tuple(e.id for e in found[:10]))
            )
        else:
            out.append(RefResolution(ref, found[0]))
    return out
