"""Turn every schema input the public API accepts into one plain JSON Schema dict.

Plans, references and tools accept a JSON Schema dict, a type map (``{"q": str, "n": int}``), a
pydantic model class or any other type hint. :func:`normalize_schema` maps all of them to a JSON
Schema whose local ``$defs`` references are inlined, so the engine and the model providers see a
self-contained document.

Recursive definitions cannot be inlined. A reference to a definition that takes part in a cycle
stays a ``$ref`` and, in that case only, the definitions it needs are kept under a top-level
``$defs``. A reference at the root itself is always expanded so the top level stays concrete (a
provider needs ``"type": "object"`` there). Deciding by cycle membership, not by the path walked,
makes normalisation idempotent: normalising an already normalised schema returns it unchanged.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter

from flowai_harness.errors import SpecTypeError, SpecValueError

__all__ = ["normalize_schema"]

_JSON_SCHEMA_MARKERS = ("$schema", "properties", "$ref", "type")
_DEFS_PREFIX = "#/$defs/"
_SCALAR_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}

# A schema body plus the (cyclic) definitions its remaining ``$ref``s point to.
_Fragment = tuple[dict[str, Any], dict[str, Any]]


def normalize_schema(schema: Any) -> dict[str, Any]:
    """Normalise a schema input into a self-contained JSON Schema dict.

    Args:
        schema: One of

            * a JSON Schema dict (any dict holding ``$schema``, ``properties``, ``$ref`` or
              ``type``); it is deep-copied and its local ``$defs`` references are inlined;
            * a type map such as ``{"query": str, "limit": int | None}``; every key becomes a
              required property;
            * a pydantic ``BaseModel`` subclass (``model_json_schema()``, alias names);
            * any other type hint pydantic understands (``list[str]``, a dataclass, a
              ``TypedDict``...).

    Returns:
        A new JSON Schema dict; the caller's input is never mutated.

    Raises:
        SpecValueError: a JSON Schema dict whose ``type`` is not a string or a list of strings, or
            whose ``properties`` is not a mapping.
        SpecTypeError: a type map with a non-string key, or an input pydantic cannot turn into a
            JSON Schema (message ``unsupported schema input: ...``).
    """
    body, defs = _fragment(schema)
    if defs:
        body["$defs"] = defs
    return body


def _fragment(schema: Any) -> _Fragment:
    if isinstance(schema, Mapping):
        if any(marker in schema for marker in _JSON_SCHEMA_MARKERS):
            return _json_schema_fragment(schema)
        return _type_map_fragment(schema)
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            generated = schema.model_json_schema()
        else:
            generated = TypeAdapter(schema).json_schema()
    except Exception as exc:
        raise SpecTypeError(
            f"unsupported schema input: {schema!r} (expected a JSON Schema dict, a type map, a "
            f"pydantic model class or a type hint pydantic can describe; {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]})"
        ) from exc
    return _inline_refs(generated)


def _json_schema_fragment(schema: Mapping[str, Any]) -> _Fragment:
    schema_type = schema.get("type")
    if "type" in schema and not (
        isinstance(schema_type, str)
        or (isinstance(schema_type, list) and all(isinstance(t, str) for t in schema_type))
    ):
        raise SpecValueError(
            f"schema 'type' must be a string or a list of strings; got {schema_type!r}"
        )
    if "properties" in schema and not isinstance(schema["properties"], Mapping):
        raise SpecValueError(
            "schema 'properties' must be an object mapping property names to schemas; "
            f"got {type(schema['properties']).__name__}"
        )
    return _inline_refs(copy.deepcopy(dict(schema)))


def _type_map_fragment(type_map: Mapping[Any, Any]) -> _Fragment:
    properties: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    for key, hint in type_map.items():
        if not isinstance(key, str):
            raise SpecTypeError(
                f"type map keys must be strings (property names); got {key!r} "
                f"of type {type(key).__name__}"
            )
        properties[key] = _merge_defs(defs, _hint_fragment(hint))
    return {"type": "object", "properties": properties, "required": list(properties)}, defs


def _hint_fragment(hint: Any) -> _Fragment:
    """Apply the type-map value rules to one value of a type map."""
    if isinstance(hint, Mapping):
        return _fragment(hint)
    if isinstance(hint, type) and hint in _SCALAR_TYPES:
        return {"type": _SCALAR_TYPES[hint]}, {}
    origin = typing.get_origin(hint)
    if hint is dict or origin is dict:
        return {"type": "object"}, {}
    if hint is list or origin is list:
        args = typing.get_args(hint)
        if not args:
            return {"type": "array", "items": {}}, {}
        defs: dict[str, Any] = {}
        items = _merge_defs(defs, _hint_fragment(args[0]))
        return {"type": "array", "items": items}, defs
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if type(None) in args:
            rest = tuple(arg for arg in args if arg is not type(None))
            inner = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
            defs = {}
            branch = _merge_defs(defs, _hint_fragment(inner))
            return {"anyOf": [branch, {"type": "null"}]}, defs
    try:
        return _inline_refs(TypeAdapter(hint).json_schema())
    except Exception:
        # The documented fallback for type-map values pydantic cannot describe.
        return {"type": "object"}, {}


def _merge_defs(into: dict[str, Any], fragment: _Fragment) -> dict[str, Any]:
    """Hoist a fragment's definitions into ``into``, renaming clashing names; return its body."""
    body, defs = fragment
    renames: dict[str, str] = {}
    for name, definition in defs.items():
        if name in into and into[name] != definition:
            suffix = 2
            while f"{name}_{suffix}" in into or f"{name}_{suffix}" in defs:
                suffix += 1
            renames[name] = f"{name}_{suffix}"
    for name, definition in defs.items():
        into[renames.get(name, name)] = _rename_refs(definition, renames)
    result: dict[str, Any] = _rename_refs(body, renames)
    return result


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if not renames:
        return node
    if isinstance(node, dict):
        renamed = {key: _rename_refs(value, renames) for key, value in node.items()}
        name = _local_def_name(node.get("$ref"))
        if name is not None and name in renames:
            renamed["$ref"] = _DEFS_PREFIX + _escape_pointer(renames[name])
        return renamed
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _inline_refs(schema: dict[str, Any]) -> _Fragment:
    """Inline local ``$defs`` references; return the body and the cyclic definitions it needs."""
    raw_defs = schema.get("$defs")
    definitions: dict[str, Any] = dict(raw_defs) if isinstance(raw_defs, Mapping) else {}
    root = {key: value for key, value in schema.items() if key != "$defs"}
    cyclic = _cyclic_names(definitions)
    body = _expand(root, definitions, cyclic, expand_cyclic=True)
    needed: dict[str, Any] = {}
    pending = _refs_in(body) & cyclic
    while pending:
        name = pending.pop()
        needed[name] = _expand(definitions[name], definitions, cyclic, expand_cyclic=False)
        pending |= (_refs_in(needed[name]) & cyclic) - needed.keys()
    # Keep the definitions in their original order so the output is stable.
    return body, {name: needed[name] for name in definitions if name in needed}


def _expand(
    node: Any, definitions: Mapping[str, Any], cyclic: set[str], *, expand_cyclic: bool
) -> Any:
    """Return a fresh copy of ``node`` with every non-cyclic local reference replaced."""
    if isinstance(node, list):
        return [_expand(item, definitions, cyclic, expand_cyclic=False) for item in node]
    if not isinstance(node, dict):
        return node
    name = _local_def_name(node.get("$ref"))
    siblings = {
        key: _expand(value, definitions, cyclic, expand_cyclic=False)
        for key, value in node.items()
        if key != "$ref" or name is None
    }
    if name is None or name not in definitions or (name in cyclic and not expand_cyclic):
        if name is not None:
            siblings = {"$ref": node["$ref"], **siblings}
        return siblings
    target = _expand(definitions[name], definitions, cyclic, expand_cyclic=False)
    if not isinstance(target, dict):
        return siblings or target
    # Keywords written next to a ``$ref`` (a field description, a default) refine the target.
    return {**target, **siblings}


def _cyclic_names(definitions: Mapping[str, Any]) -> set[str]:
    edges = {name: _refs_in(body) & definitions.keys() for name, body in definitions.items()}
    cyclic: set[str] = set()
    for start in definitions:
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            current = stack.pop()
            if current == start:
                cyclic.add(start)
                break
            if current not in seen:
                seen.add(current)
                stack.extend(edges[current])
    return cyclic


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            name = _local_def_name(current.get("$ref"))
            if name is not None:
                found.add(name)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def _local_def_name(ref: Any) -> str | None:
    if not isinstance(ref, str) or not ref.startswith(_DEFS_PREFIX):
        return None
    token = ref[len(_DEFS_PREFIX) :]
    if "/" in token:
        return None
    return token.replace("~1", "/").replace("~0", "~")


def _escape_pointer(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
