"""Strict parsing of catalog tool arguments, and the failures tools report.

The engine validates arguments against each tool's JSON Schema before a handler runs; the
handlers still parse strictly, so a direct call with bad input gets the same
``Invalid input: …`` tool error instead of an exception. Clamped integers are clamped, not
rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ToolFailure",
    "ToolInputError",
    "check_keys",
    "clamped_int",
    "optional_str",
    "ref_list",
    "string_list",
]


class ToolFailure(Exception):
    """A catalog tool cannot answer; the message becomes the tool error the model reads."""


class ToolInputError(ToolFailure):
    """A tool argument is malformed; the message becomes the ``Invalid input: …`` tool error."""

    def __init__(self, message: str, *, prefixed: bool = True) -> None:
        super().__init__(f"Invalid input: {message}" if prefixed else message)


def check_keys(
    args: Any, allowed: Sequence[str], required: Sequence[str], tool: str
) -> Mapping[str, Any]:
    """Check that ``args`` is an object with only ``allowed`` keys and every ``required`` one."""
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ToolInputError(f"{tool} arguments must be an object; got {type(args).__name__}")
    unknown = sorted(str(key) for key in args if key not in allowed)
    if unknown:
        raise ToolInputError(
            f"{tool} got unknown field(s) {unknown}; expected: {', '.join(allowed)}"
        )
    for key in required:
        if key not in args:
            raise ToolInputError(f"{tool}.{key} is required")
    return args


def clamped_int(
    args: Mapping[str, Any], key: str, default: int, low: int, high: int, tool: str
) -> int:
    """Return ``args[key]`` clamped to ``low..=high`` (``default`` when absent or null)."""
    value = args.get(key)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ToolInputError(f"{tool}.{key} must be an integer; got {value!r}")
    return max(low, min(value, high))


def optional_str(
    args: Mapping[str, Any], key: str, tool: str, *, blank_ok: bool = False
) -> str | None:
    """Return ``args[key]`` as a string, or ``None`` when absent or null."""
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolInputError(f"{tool}.{key} must be a string; got {type(value).__name__}")
    if not blank_ok and not value.strip():
        raise ToolInputError(f"{tool}.{key} must not be blank")
    return value


def string_list(args: Mapping[str, Any], key: str, tool: str) -> list[str] | None:
    """Return ``args[key]`` as a list of non-blank strings, or ``None`` when absent or null."""
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ToolInputError(f"{tool}.{key} must be a list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ToolInputError(f"{tool}.{key}[{index}] must be a non-blank string")
    return list(value)


def ref_list(args: Mapping[str, Any], key: str, max_items: int, tool: str) -> list[Any]:
    """Return ``args[key]`` as a list of 1..=``max_items`` items."""
    value = args.get(key)
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not (1 <= len(value) <= max_items)
    ):
        raise ToolInputError(f"{tool}.{key} must contain 1..={max_items} refs", prefixed=False)
    return list(value)
