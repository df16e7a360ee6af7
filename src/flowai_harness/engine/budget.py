"""Run budgets: what one run may spend, what it has spent, and the check made before each call.

A :class:`RunBudget` caps four things over a whole run (every agent invocation of it, the
sub-agents reached through ``call_agent`` included): priced cost in USD, tokens (prompt plus
completion), tool calls, and wall-clock seconds. :class:`RunUsage` counts what the run has
used; the turn loop and tool dispatch update it on every run, budget or not, because every
``approval-required`` event shows it (``runUsage``).

The limits are checked before every model call and every tool call. A limit is reached when
the amount used is at or above it: the call is refused and the run stops with an ``error``
event of code ``budget_exceeded``. The call that crosses a limit is never cut short; the next
one is refused. Once per limit, the first check that finds 80 % of it used emits a
``data-budget-warning`` event.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.events import BudgetWarning, TokenUsage

if TYPE_CHECKING:
    from flowai_harness.engine.emit import EventSink

__all__ = [
    "BUDGET_EXCEEDED",
    "NO_BUDGET",
    "WARNING_FRACTION",
    "BudgetMeter",
    "RunBudget",
    "RunUsage",
    "UnlimitedMeter",
    "meter_for",
    "parse_budget",
]

log = logging.getLogger("flowai_harness.budget")

#: the ``code`` of the ``error`` event of a run stopped by its budget
BUDGET_EXCEEDED = "budget_exceeded"
#: the share of a limit at which ``data-budget-warning`` is emitted
WARNING_FRACTION = 0.8

# snake_case name -> (camelCase name, unit shown in messages, whole numbers only)
_KEYS: dict[str, tuple[str, str, bool]] = {
    "max_cost_usd": ("maxCostUsd", "USD", False),
    "max_tokens": ("maxTokens", "tokens", True),
    "max_tool_calls": ("maxToolCalls", "tool calls", True),
    "max_duration_secs": ("maxDurationSecs", "seconds", False),
}
_BY_CAMEL = {camel: snake for snake, (camel, _, _) in _KEYS.items()}


@dataclass(frozen=True, slots=True)
class RunBudget:
    """The limits of one run; ``None`` means no limit on that amount."""

    max_cost_usd: float | None = None
    max_tokens: int | None = None
    max_tool_calls: int | None = None
    max_duration_secs: float | None = None

    @property
    def unlimited(self) -> bool:
        """Whether no limit is set."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def merged(self, override: Mapping[str, Any] | None) -> RunBudget:
        """This budget with the keys of a per-call ``override`` replacing its own.

        A key of ``override`` set to ``None`` removes that limit; keys it does not name keep
        this budget's value.

        Raises:
            SpecTypeError: ``override`` is not a mapping, or a value is not a number.
            ConfigurationError: an unknown key, or a value that is not positive.
        """
        if override is None:
            return self
        return replace(self, **_parse_items(override, "budget"))

    def to_dict(self) -> dict[str, float | int]:
        """Return the camelCase wire form of the limits that are set."""
        return {
            camel: value
            for snake, (camel, _, _) in _KEYS.items()
            if (value := getattr(self, snake)) is not None
        }


def parse_budget(value: Mapping[str, Any] | RunBudget | None, where: str = "budget") -> RunBudget:
    """Check a budget mapping (snake_case or camelCase keys) and return its typed form.

    Args:
        value: ``{"max_cost_usd": 0.5, "max_tokens": 20000, "max_tool_calls": 30,
            "max_duration_secs": 120}`` (any subset; camelCase keys are accepted too), a
            :class:`RunBudget`, or ``None`` (no limit).
        where: The argument name used in error messages.

    Raises:
        SpecTypeError: ``value`` is not a mapping, or a limit is not a number.
        ConfigurationError: an unknown key, a key given twice (snake and camel), or a limit
            that is not a positive finite number (a whole one for tokens and tool calls).
    """
    if value is None:
        return RunBudget()
    if isinstance(value, RunBudget):
        return value
    return RunBudget(**_parse_items(value, where))


def _parse_items(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecTypeError(
            f"{where} must be a mapping such as {{'max_tokens': 20000}}; got {type(value).__name__}"
        )
    out: dict[str, Any] = {}
    for key, limit in value.items():
        snake = key if key in _KEYS else _BY_CAMEL.get(key) if isinstance(key, str) else None
        if snake is None:
            accepted = ", ".join(f"{s} ({c})" for s, (c, _, _) in _KEYS.items())
            raise ConfigurationError(f"{where} has unknown key {key!r}; accepted keys: {accepted}")
        if snake in out:
            raise ConfigurationError(
                f"{where} sets {snake} twice (as {snake} and as {_KEYS[snake][0]}); use one"
            )
        out[snake] = _check_limit(snake, limit, where)
    return out


def _check_limit(key: str, limit: Any, where: str) -> float | int | None:
    if limit is None:
        return None
    whole = _KEYS[key][2]
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        kind = "an integer" if whole else "a number"
        raise SpecTypeError(f"{where}.{key} must be {kind}; got {type(limit).__name__}")
    if whole and not isinstance(limit, int):
        raise SpecTypeError(f"{where}.{key} must be an integer; got {limit!r}")
    if not math.isfinite(limit) or limit <= 0:
        raise ConfigurationError(f"{where}.{key} must be greater than 0; got {limit!r}")
    return limit


@dataclass(slots=True)
class RunUsage:
    """What one run has used so far, across all its agent invocations."""

    tokens: TokenUsage = field(default_factory=TokenUsage)
    model_calls: int = 0
    #: tool calls dispatched, the one being dispatched included
    tool_calls: int = 0
    started: float = field(default_factory=time.monotonic)
    #: some model call had no known price, so ``cost_usd`` undercounts
    unpriced_calls: int = 0

    def add_model_call(self, usage: TokenUsage) -> None:
        """Count one finished model call and what it used."""
        self.model_calls += 1
        self.tokens.add(usage)
        if usage.cost_usd is None:
            self.unpriced_calls += 1

    @property
    def elapsed_secs(self) -> float:
        """Wall-clock seconds since the run started."""
        return time.monotonic() - self.started

    def to_dict(self) -> dict[str, Any]:
        """Return the ``runUsage`` wire form (``costUsd`` only when some call was priced).

        No wall-clock time: a resumed durable run replays its turns and tool calls, so it
        counts the same usage again and shows the same ``approval-required`` event again.
        """
        out: dict[str, Any] = dict(self.tokens.to_dict())
        if self.tokens.cost_usd is not None:
            out["costUsd"] = round(self.tokens.cost_usd, 8)
        out["modelCalls"] = self.model_calls
        out["toolCalls"] = self.tool_calls
        return out


class BudgetMeter:
    """Checks one run's usage against its budget before each model and tool call."""

    __slots__ = ("_budget", "_warned", "exceeded")

    #: some limit is set: the engine asks :meth:`check` before each call
    limited = True

    def __init__(self, budget: RunBudget) -> None:
        self._budget = budget
        self._warned: set[str] = set()
        #: the message of the limit that stopped the run, once one did
        self.exceeded: str | None = None

    @property
    def budget(self) -> RunBudget:
        """The limits being enforced."""
        return self._budget

    async def check(
        self, usage: RunUsage, sink: EventSink, *, tool_call: bool, prior_calls: int | None = None
    ) -> str | None:
        """Return why the next call is refused, or ``None``; emit any warning that is due.

        Args:
            usage: The run's usage so far.
            sink: Where a ``data-budget-warning`` goes.
            tool_call: The next call is a tool call (a model call otherwise); only tool calls
                are refused by ``max_tool_calls``, since a model call makes none by itself.
            prior_calls: For a tool call, how many tool calls the run dispatched before it
                (default: every counted call but the last). Calls of one turn that run at
                the same time are all counted before the first is checked, so each is checked
                against its own position.
        """
        if self.exceeded is not None:
            return self.exceeded
        if prior_calls is None:
            prior_calls = usage.tool_calls - 1
        for key, used, limit in self._amounts(usage, prior_calls if tool_call else None):
            if used >= limit:
                self.exceeded = _exceeded_message(key, used, limit)
                return self.exceeded
            if used >= WARNING_FRACTION * limit and key not in self._warned:
                self._warned.add(key)
                await sink.emit(BudgetWarning(key, used, limit, usage.to_dict()))
        return None

    def _amounts(self, usage: RunUsage, prior_calls: int | None) -> list[tuple[str, float, float]]:
        budget = self._budget
        out: list[tuple[str, float, float]] = []
        if budget.max_cost_usd is not None:
            if usage.unpriced_calls and "unpriced" not in self._warned:
                self._warned.add("unpriced")
                log.warning(
                    "a run has max_cost_usd set but %d model call(s) had no known price; "
                    "their cost is not counted",
                    usage.unpriced_calls,
                )
            out.append(("max_cost_usd", usage.tokens.cost_usd or 0.0, budget.max_cost_usd))
        if budget.max_tokens is not None:
            out.append(("max_tokens", usage.tokens.total_tokens, budget.max_tokens))
        if budget.max_tool_calls is not None and prior_calls is not None:
            # the call being checked is counted already: compare the calls made before it
            out.append(("max_tool_calls", prior_calls, budget.max_tool_calls))
        if budget.max_duration_secs is not None:
            out.append(("max_duration_secs", usage.elapsed_secs, budget.max_duration_secs))
        return out


def _exceeded_message(key: str, used: float, limit: float) -> str:
    unit = _KEYS[key][1]
    if key == "max_cost_usd":
        amount = f"{used:.6f} USD used"
    elif key == "max_duration_secs":
        amount = f"{used:.1f} seconds elapsed"
    else:
        amount = f"{int(used)} {unit} used"
    return f"budget exceeded: {key} is {limit:g} {unit}, and the run has {amount}"


class UnlimitedMeter:
    """The meter of a run without a budget: every call is allowed, nothing is computed."""

    __slots__ = ()

    #: never set: nothing stops an unlimited run
    exceeded: str | None = None
    #: no limit: the engine skips the check
    limited = False

    async def check(
        self, usage: RunUsage, sink: EventSink, *, tool_call: bool, prior_calls: int | None = None
    ) -> None:
        """Allow the call."""
        return None


NO_BUDGET = UnlimitedMeter()


def meter_for(budget: RunBudget) -> BudgetMeter | UnlimitedMeter:
    """The meter of a new run under ``budget`` (the shared do-nothing one when unlimited)."""
    return NO_BUDGET if budget.unlimited else BudgetMeter(budget)
