"""Compiled JSON Schema validators, built once per schema and reused on every call.

``jsonschema`` is imported on first use: it costs tens of milliseconds and many runtimes never
validate anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.jsonvalues import compact_json

__all__ = ["SchemaValidator", "compile_schema"]

_CACHE: dict[str, SchemaValidator] = {}


class SchemaValidator:
    """Validates JSON values against one JSON Schema (draft 2020-12 unless ``$schema`` says)."""

    __slots__ = ("_shape", "_validator")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        # Unconstrained schemas are common (``{}``, ``{"type": "object"}``); check them without
        # building a validator.
        plain = dict(schema)
        self._shape = "any" if not plain else "object" if plain == {"type": "object"} else "full"
        self._validator: Any = None
        if self._shape == "full":
            from jsonschema import Draft202012Validator, validators

            cls = validators.validator_for(schema, default=Draft202012Validator)
            cls.check_schema(schema)
            self._validator = cls(schema)

    def errors(self, value: Any) -> list[str]:
        """Return human-readable problems with ``value`` (empty when valid), at most five."""
        if self._shape == "any":
            return []
        if self._shape == "object":
            return [] if isinstance(value, dict) else [f"<root>: {value!r} is not of type 'object'"]
        problems = []
        for error in self._validator.iter_errors(value):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{path or '<root>'}: {error.message}")
            if len(problems) == 5:
                break
        return problems


def compile_schema(schema: Mapping[str, Any]) -> SchemaValidator:
    """Return the cached validator for ``schema``, compiling it on first use.

    Raises:
        jsonschema.SchemaError: the schema itself is invalid.
    """
    key = compact_json(schema)
    validator = _CACHE.get(key)
    if validator is None:
        validator = SchemaValidator(schema)
        _CACHE[key] = validator
    return validator
