"""Size limits on what tools exchange with the model: ``create_runtime(..., limits={...})``.

A tool's result goes into the model's context, the run's events and the agent's memory, and a
tool's arguments come from a model that may have been steered by hostile input. These limits
bound both:

===============================  =============  ==============================================
key (snake_case or camelCase)    default        meaning
===============================  =============  ==============================================
``tool_result_bytes``            1 MiB          largest result (compact UTF-8 JSON) sent inline;
                                                a larger one is stored as a ``tool_result``
                                                reference and the model gets a glimpse
``tool_result_bytes_per_tool``   ``{}``         per-tool override of ``tool_result_bytes``,
                                                by tool name
``stored_result_bytes``          256 MiB        largest result stored as a reference; above
                                                it (or ``None``: no limit) the call is a tool
                                                error naming the size and the limit
``stored_result_ttl_ms``         24 hours       expiry of those references (``None``: never)
``tool_args_depth``              64             deepest nesting of tool arguments accepted
===============================  =============  ==============================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from flowai_harness.errors import ConfigurationError, SpecTypeError

__all__ = ["DEFAULT_LIMITS", "TOOL_RESULT_KIND", "RuntimeLimits", "parse_limits"]

MIB = 1024 * 1024

#: The reference kind of tool results stored because they were too large to send inline.
TOOL_RESULT_KIND = "tool_result"


@dataclass(frozen=True, slots=True)
class RuntimeLimits:
    """The checked limits of one runtime (see the module docstring for each field)."""

    tool_result_bytes: int = MIB
    tool_result_bytes_per_tool: Mapping[str, int] = field(default_factory=dict)
    stored_result_bytes: int | None = 256 * MIB
    stored_result_ttl_ms: int | None = 24 * 60 * 60 * 1000
    tool_args_depth: int = 64

    def result_cap(self, tool: str) -> int:
        """The inline byte limit for results of the tool named ``tool``."""
        return self.tool_result_bytes_per_tool.get(tool, self.tool_result_bytes)


DEFAULT_LIMITS = RuntimeLimits()

_CAMEL = {
    "toolResultBytes": "tool_result_bytes",
    "toolResultBytesPerTool": "tool_result_bytes_per_tool",
    "storedResultBytes": "stored_result_bytes",
    "storedResultTtlMs": "stored_result_ttl_ms",
    "toolArgsDepth": "tool_args_depth",
}
_OPTIONAL = frozenset({"stored_result_bytes", "stored_result_ttl_ms"})
_MINIMUM = {"stored_result_ttl_ms": 0}


def parse_limits(value: Mapping[str, Any] | RuntimeLimits | None) -> RuntimeLimits:
    """Check a ``limits`` argument and return the limits with defaults filled in.

    Args:
        value: ``None`` (all defaults), a :class:`RuntimeLimits`, or a mapping of some of its
            fields (snake_case or camelCase keys).

    Raises:
        SpecTypeError: ``value`` is not a mapping, or a limit is not an integer.
        ConfigurationError: an unknown key, a key given twice, or a limit out of range.
    """
    if value is None:
        return DEFAULT_LIMITS
    if isinstance(value, RuntimeLimits):
        return value
    if not isinstance(value, Mapping):
        raise SpecTypeError(f"limits must be a mapping of limit name to value; got {_kind(value)}")
    known = {f.name for f in fields(RuntimeLimits)}
    given: dict[str, Any] = {}
    for key, item in value.items():
        name = _CAMEL.get(key, key) if isinstance(key, str) else key
        if name not in known:
            raise ConfigurationError(
                f"limits has an unknown key {key!r}; known keys: {', '.join(sorted(known))}"
            )
        if name in given:
            raise ConfigurationError(f"limits gives {name!r} twice (snake_case and camelCase)")
        given[name] = item
    for name, item in given.items():
        if name == "tool_result_bytes_per_tool":
            given[name] = _per_tool(item)
        elif not (item is None and name in _OPTIONAL):
            given[name] = _count(f"limits.{name}", item, _MINIMUM.get(name, 1))
    return RuntimeLimits(**given)


def _per_tool(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise SpecTypeError(
            f"limits.tool_result_bytes_per_tool must be a mapping of tool name to bytes; "
            f"got {_kind(value)}"
        )
    out: dict[str, int] = {}
    for tool, item in value.items():
        if not isinstance(tool, str) or not tool:
            raise SpecTypeError(
                f"limits.tool_result_bytes_per_tool keys must be tool names; got {tool!r}"
            )
        out[tool] = _count(f"limits.tool_result_bytes_per_tool[{tool!r}]", item, 1)
    return out


def _count(what: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecTypeError(f"{what} must be an integer; got {_kind(value)}")
    if value < minimum:
        raise ConfigurationError(f"{what} must be at least {minimum}; got {value}")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__
