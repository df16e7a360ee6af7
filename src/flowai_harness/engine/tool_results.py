"""The byte limit on tool results: a result too large for the model's context becomes a reference.

A result is measured as compact UTF-8 JSON, serialized once. Up to the limit
(``limits.tool_result_bytes``, or the tool's entry in ``limits.tool_result_bytes_per_tool``) it
is sent inline exactly as before. Above it, the serialized bytes are stored as a
``tool_result`` reference and the model (and the ``tool-invocation`` result event, and the
agent's memory) get a small envelope instead::

    {"kind": "tool_result", "id": "<24 hex>", "oversized": true,
     "glimpse": {"bytes": 52428800, "type": "array", "count": 1000000,
                 "preview": "[{\\"id\\":1,..."},
     "message": "the result of tool 'export' is 52428800 bytes (50.0 MiB), above ..."}

Host code reads the full value with ``Runtime.resolve_reference`` (or ``ctx.references``);
the model can read the glimpse again with ``glimpseRef``. A result that cannot be stored
(above ``limits.stored_result_bytes``, or the store fails) is a tool error naming its size and
the limit. ``resolveRef`` never stores: reading back a value above the limit is an error
pointing at ``glimpseRef``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

import orjson

from flowai_harness.engine.context import AgentScope
from flowai_harness.engine.jsonvalues import decode_json, encode_json
from flowai_harness.ports import ToolOutcome, error_outcome

__all__ = ["bound_outcome", "bound_value"]

_PREVIEW_BYTES = 512
_GLIMPSE_KEYS = 20
_KEY_CHARS = 64
_JSON_TYPES = {ord("{"): "object", ord("["): "array", ord('"'): "string"}
#: built-in tools whose oversized results are refused rather than stored again
_NEVER_STORED = frozenset({"resolveRef"})


async def bound_value(scope: AgentScope, tool: str, value: Any) -> ToolOutcome:
    """Turn a Python tool's return value into its outcome, within the result limit.

    Raises:
        TypeError: the value cannot be represented as JSON (reported by the caller).
    """
    raw, exact = encode_json(value)
    if len(raw) <= scope.run.runtime.limits.result_cap(tool):
        return ToolOutcome(decode_json(raw, exact))
    return await _oversized(scope, tool, raw, value, is_error=False)


async def bound_outcome(scope: AgentScope, tool: str, outcome: ToolOutcome) -> ToolOutcome:
    """Return a built-in tool's ``outcome``, or its envelope when above the result limit."""
    content = outcome.content
    if content is None or isinstance(content, bool | int | float):
        return outcome
    try:
        raw = orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits: measure them the slow way
        raw, _ = encode_json(content)
    if len(raw) <= scope.run.runtime.limits.result_cap(tool):
        return outcome
    return await _oversized(scope, tool, raw, content, is_error=outcome.is_error)


async def _oversized(
    scope: AgentScope, tool: str, raw: bytes, value: Any, *, is_error: bool
) -> ToolOutcome:
    run = scope.run
    limits = run.runtime.limits
    size = len(raw)
    over = (
        f"the result of tool '{tool}' is {_size(size)}, above the "
        f"{_size(limits.result_cap(tool))} limit for tool results sent to the model"
    )
    if tool in _NEVER_STORED:
        return error_outcome(
            f"{over}; read its glimpse with glimpseRef instead (host code can read the whole "
            f"value with Runtime.resolve_reference)"
        )
    stored_cap = limits.stored_result_bytes
    if stored_cap is not None and size > stored_cap:
        return error_outcome(
            f"{over}, and above the {_size(stored_cap)} limit for storing it as a reference; "
            f"return less data (for example a page, a sample or a summary)"
        )
    glimpse = _glimpse(value, raw)
    try:
        handle = await run.references.store_encoded(run.tenant, raw, glimpse)
    except Exception as exc:  # the store is down or refuses the value
        return error_outcome(
            f"{over}, and storing it as a reference failed: {type(exc).__name__}: {exc}"
        )
    message = (
        f"{over}: it was stored as reference kind={handle['kind']} id={handle['id']} and only "
        f"a glimpse is shown"
    )
    return ToolOutcome({**handle, "oversized": True, "message": message}, is_error=is_error)


def _glimpse(value: Any, raw: bytes) -> dict[str, Any]:
    """A small description of a large result: its size, shape and first bytes."""
    glimpse: dict[str, Any] = {"bytes": len(raw), "type": _JSON_TYPES.get(raw[0], "value")}
    if isinstance(value, Mapping):
        glimpse["keyCount"] = len(value)
        glimpse["keys"] = [str(key)[:_KEY_CHARS] for key in islice(value, _GLIMPSE_KEYS)]
    elif isinstance(value, list | tuple):
        glimpse["count"] = len(value)
    elif isinstance(value, str):
        glimpse["length"] = len(value)
    # A cut inside a multi-byte character drops its partial bytes.
    glimpse["preview"] = raw[:_PREVIEW_BYTES].decode("utf-8", "ignore") + "..."
    return glimpse


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if count >= scale:
            return f"{count} bytes ({count / scale:.1f} {unit})"
    return f"{count} bytes"
