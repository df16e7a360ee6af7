"""JSON conversions at the boundary between user callbacks and the engine.

* :func:`to_json` turns a callback's return value into plain JSON (pydantic models dumped with
  ``model_dump(mode="json")``), copying it so later mutation by user code cannot leak in.
* :func:`canonical_json` renders the key-sorted compact text used for content-addressed ids,
  formatting floats the way the reference engine does (``1e16``, ``1e-7``, ``0.00001``), so ids
  match across implementations.
* :func:`compact_json` is the key-sorted compact text used for scripted ``text`` events.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from flowai_harness.events import json_copy

__all__ = [
    "canonical_json",
    "compact_json",
    "decode_json",
    "encode_json",
    "json_copy",
    "to_json",
]

_SCALARS = (str, int, float, bool, type(None))


def to_json(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dicts, lists, str, numbers, bools, None).

    Raises:
        TypeError: the value (or something inside it) cannot be represented as JSON.
    """
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(f"Out of range float values are not JSON compliant: {value!r}")
        return value
    return decode_json(*encode_json(value))


def encode_json(value: Any) -> tuple[bytes, bool]:
    """Serialise ``value`` once to compact UTF-8 JSON bytes.

    Pydantic models (anywhere inside) are dumped with ``model_dump(mode="json")``.

    Returns:
        The bytes, and whether :func:`decode_json` may read them with orjson (``False`` when
        they hold integers beyond 64 bits, which only the ``json`` module keeps exact).

    Raises:
        TypeError: the value (or something inside it) cannot be represented as JSON.
    """
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        value = dump(mode="json")
    try:
        raw = orjson.dumps(value, default=_dump_model, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        # orjson refuses some things json accepts (e.g. integers beyond 64 bits); json is the
        # contract, so give it the last word.
        text = json.dumps(
            value, default=_dump_model, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        )
        return text.encode(), False
    # orjson writes NaN and infinities as null; a value that silently changes is worse than
    # an error, so look for them whenever a null could be one.
    if b"null" in raw:
        _reject_non_finite(value)
    return raw, True


def decode_json(raw: bytes, exact: bool = True) -> Any:
    """Parse bytes made by :func:`encode_json` (``exact`` as it returned)."""
    return orjson.loads(raw) if exact else json.loads(raw)


def _dump_model(value: Any) -> Any:
    """Serialise pydantic models nested anywhere inside a value (lists of models, ...)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump(mode="json")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _reject_non_finite(value: Any) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"Out of range float values are not JSON compliant: {value!r}")
    elif isinstance(value, dict):
        for item in value.values():
            _reject_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item)


def compact_json(value: Any) -> str:
    """Return compact JSON text with keys sorted at every level and UTF-8 kept raw."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits, which json handles
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )


def canonical_json(value: Any) -> str:
    """Return the canonical text used for content-addressed ids (see module docstring)."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_format_float(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _format_float(value: float) -> str:
    """Format a finite float with shortest round-trip digits and ryu's layout rules."""
    if not math.isfinite(value):
        raise TypeError(f"Out of range float values are not JSON compliant: {value!r}")
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # position of the decimal point relative to the start of ``digits``
    point = (
        len(whole.lstrip("0")) + exponent
        if whole.strip("0")
        else exponent - (len(frac) - len(frac.lstrip("0")))
    )
    digits = digits.rstrip("0") or "0"
    length = len(digits)
    if 0 <= length <= point <= 16:
        return f"{sign}{digits}{'0' * (point - length)}.0"
    if 0 < point <= 16:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * (-point)}{digits}"
    rest = f".{digits[1:]}" if length > 1 else ""
    return f"{sign}{digits[0]}{rest}e{point - 1}"
