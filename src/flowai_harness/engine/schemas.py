"""Compiled JSON Schema validators, built once per schema and reused on every call.

Valid values (the hot path: every tool call) are checked by ``jsonschema-rs``, a compiled
validator that answers in well under a microsecond. Only when a value is invalid is the pure
Python ``jsonschema`` library asked to explain why, so error messages stay stable and readable.
Both are imported on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.jsonvalues import compact_json

__all__ = ["SchemaValidator", "compile_schema"]

_CACHE: dict[str, SchemaValidator] = {}


class SchemaValidator:
    """Validates JSON values against one JSON Schema (draft 2020-12 unless ``$schema`` says)."""

    __slots__ = ("_explainer", "_fast", "_schema", "_shape")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        # Unconstrained schemas are common (``{}``, ``{"type": "object"}``); check them without
        # building a validator.
        plain = dict(schema)
        self._shape = "any" if not plain else "object" if plain == {"type": "object"} else "full"
        self._schema = plain
        self._fast: Any = None
        self._explainer: Any = None
        if self._shape == "full":
            try:
                import jsonschema_rs
            except ImportError:  # no wheel for this platform: the pure-Python path does it all
                self._explainer = _explainer_for(plain)
            else:
                try:
                    self._fast = jsonschema_rs.validator_for(plain)
                except jsonschema_rs.ValidationError as exc:
                    from jsonschema.exceptions import SchemaError

                    raise SchemaError(str(exc).splitlines()[0]) from None

    def errors(self, value: Any) -> list[str]:
        """Return human-readable problems with ``value`` (empty when valid), at most five."""
        if self._shape == "any":
            return []
        if self._shape == "object":
            return [] if isinstance(value, dict) else [f"<root>: {value!r} is not of type 'object'"]
        if self._fast is not None and self._fast.is_valid(value):
            return []
        if self._explainer is None:
            self._explainer = _explainer_for(self._schema)
        problems = []
        for error in self._explainer.iter_errors(value):
            path = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{path or '<root>'}: {error.message}")
            if len(problems) == 5:
                break
        return problems


def _explainer_for(schema: Mapping[str, Any]) -> Any:
    from jsonschema import Draft202012Validator, validators

    cls = validators.validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


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
