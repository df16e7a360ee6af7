"""Durability options of a runtime whose runs are journaled in a durable store.

``create_runtime(..., durability={...})`` validates them here: the lease of a run's owner, the
background recovery of runs whose owner died, and what a second query on a busy thread does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.specs._wire import WireModel

__all__ = ["DurabilityOptions", "parse_durability"]

_KEYS = ("lease_secs", "recover", "thread_policy", "flush_window_ms", "retention_days")


class DurabilityOptions(WireModel):
    """How a durable runtime shares its runs with the other workers of its store.

    Attributes:
        lease_secs: How long a run's owner keeps the run without renewing its lease (a
            heartbeat renews it every third of that); a worker that dies gives its runs up
            after this long. Positive and finite; default 30.
        recover: Run a background sweeper that claims and resumes runs whose owner died
            (``None``: on whenever runs are journaled in a durable store).
        thread_policy: What a query on a thread another run is using does: ``"enqueue"``
            (default) waits for that run to end, ``"reject"`` fails at once with a
            ``thread_busy`` error.
        flush_window_ms: A durable run's events reach its stream only once committed to the
            store; events waiting for the next checkpoint are committed anyway once the oldest
            has waited this long (default 100; ``0`` commits every event at once). Smaller
            is snappier streaming, larger is fewer writes.
        retention_days: How long ``Runtime.prune()`` (called without ``older_than``) keeps
            ended runs (``None``: no default, ``prune`` needs ``older_than``).
    """

    lease_secs: float = Field(default=30.0, gt=0, allow_inf_nan=False, strict=True)
    recover: bool | None = Field(default=None, strict=True)
    thread_policy: Literal["enqueue", "reject"] = "enqueue"
    flush_window_ms: float = Field(default=100.0, ge=0, le=60_000, allow_inf_nan=False)
    retention_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)


def parse_durability(value: Mapping[str, Any] | DurabilityOptions | None) -> DurabilityOptions:
    """Return the options of a ``durability`` argument (``None``: the defaults).

    Raises:
        SpecTypeError: ``value`` is not a mapping.
        ConfigurationError: an unknown key, or a value of the wrong type or out of range (the
            message names the key and what it accepts).
    """
    if value is None:
        return DurabilityOptions()
    if isinstance(value, DurabilityOptions):
        return value
    if not isinstance(value, Mapping):
        raise SpecTypeError(
            f"durability must be a mapping such as {{'lease_secs': 30, 'recover': True, "
            f"'thread_policy': 'enqueue'}}; got {type(value).__name__}"
        )
    camel = {
        "leaseSecs": "lease_secs",
        "threadPolicy": "thread_policy",
        "flushWindowMs": "flush_window_ms",
        "retentionDays": "retention_days",
    }
    unknown = sorted(str(k) for k in value if camel.get(k, k) not in _KEYS)
    if unknown:
        raise ConfigurationError(
            f"durability has unknown key(s) {unknown}; the keys are {', '.join(_KEYS)}"
        )
    try:
        return DurabilityOptions.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"durability.{'.'.join(str(p) for p in error['loc'])}: {error['msg']} "
            f"(got {error.get('input')!r})"
            for error in exc.errors()
        )
        raise ConfigurationError(problems) from None
