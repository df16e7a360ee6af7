"""Checks on a model's tool arguments that JSON Schema validation does not make.

* Numbers must be finite. ``NaN`` and infinities are not JSON, yet a provider's JSON parser
  accepts them and a ``number`` schema lets them through; serialized again they would reach
  the handler (and the events, and the memory) as ``null``.
* Nesting is bounded. Deeply nested arguments would otherwise end in a ``RecursionError`` in
  the validator, the event copy or the store, far from the tool call that caused it.

Both problems become a tool error the model can correct, like a schema violation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["ScreenedArgs", "screen_args"]


@dataclass(frozen=True, slots=True)
class ScreenedArgs:
    """The outcome of :func:`screen_args`."""

    #: the arguments as events and memory show them (a placeholder when too deep to show)
    shown: Any
    #: what is wrong with them, or ``None``
    problem: str | None = None


def screen_args(args: Any, max_depth: int) -> ScreenedArgs:
    """Check ``args`` for non-finite numbers and for nesting deeper than ``max_depth``.

    The walk is iterative, so even arguments nested far deeper than the interpreter's
    recursion limit are reported instead of crashing the check.
    """
    if not isinstance(args, dict | list | float):
        return ScreenedArgs(args)
    if _plainly_fine(args, max_depth):
        return ScreenedArgs(args)
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(args, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return ScreenedArgs(
                    args,
                    f"{_path(path)}: {value!r} is not a valid JSON number (NaN and infinities "
                    f"are not allowed)",
                )
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list | tuple):
            items = enumerate(value)
        else:
            continue
        if depth >= max_depth:
            return ScreenedArgs(
                f"<arguments not shown: nested deeper than {max_depth} levels>",
                f"{_path(path)}: arguments are nested deeper than {max_depth} levels",
            )
        stack.extend(
            (item, depth + 1, (*path, key))
            for key, item in items
            if isinstance(item, dict | list | tuple | float)
        )
    return ScreenedArgs(args)


def _plainly_fine(args: Any, max_depth: int) -> bool:
    """The fast path of every call: one compact serialization settles most arguments.

    Nesting cannot be deeper than the number of brackets, and a non-finite float can only hide
    behind a ``null`` (orjson writes them so). Both counts may include characters inside strings,
    which only sends the arguments to the full walk.
    """
    try:
        raw = orjson.dumps(args)
    except TypeError:  # too deep for orjson, or not plain JSON: walk it
        return False
    return b"null" not in raw and raw.count(b"[") + raw.count(b"{") <= max_depth


def _path(path: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in path) or "<root>"
