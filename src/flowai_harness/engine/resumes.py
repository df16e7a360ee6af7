"""What resuming a run checks, and how a resumed (or taken over) run is let go.

Helpers of :mod:`flowai_harness.engine.core`: the argument checks of its public methods, why a
run cannot be resumed, the ``run_taken_over`` end of a stream whose run another worker claimed,
and giving back the lease of a claimed run that is not resumed after all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import Any

from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.leases import RunLease
from flowai_harness.engine.runlog import FINAL_STATUSES, StoredRun
from flowai_harness.errors import SpecTypeError
from flowai_harness.events import ErrorEvent

__all__ = [
    "give_back",
    "report_takeover",
    "require_str",
    "resume_problem",
    "run_id_arg",
    "unreadable",
]

log = logging.getLogger("flowai_harness.runs")


def resume_problem(
    run_id: str,
    stored: StoredRun | None,
    thread_id: str | None,
    prompt: str | None,
    *,
    durable: bool,
    agents: Collection[str],
) -> str | None:
    """Why run ``run_id`` (``stored``, as read) cannot be resumed here, or ``None``."""
    if stored is None:
        return f"run not found: {run_id}"
    record = stored.record
    if not durable or not record.durable:
        return (
            f"run {run_id} cannot be resumed: runs are journaled only with a durable "
            f"key-value store (data_environment.kv of kind sqlite, postgres or redis)"
        )
    if record.status in FINAL_STATUSES:
        return (
            f"run {run_id} is {record.status} and cannot be resumed (only running or "
            f"waiting_approval runs can)"
        )
    if thread_id is not None and thread_id != record.thread_id:
        return f"run {run_id} belongs to thread '{record.thread_id}', not '{thread_id}'"
    if prompt and prompt != record.prompt:
        return (
            f"run {run_id} was started with another prompt; pass its prompt or an empty "
            f"string to resume it"
        )
    if record.entry_agent not in agents:
        return (
            f"run {run_id} cannot be resumed: its entry agent '{record.entry_agent}' is not "
            f"in this runtime's spec"
        )
    return None


def require_str(name: str, value: Any, *, optional: bool = False) -> None:
    """Raise a ``TypeError`` naming the argument unless ``value`` is a string (or ``None``)."""
    if isinstance(value, str) or (optional and value is None):
        return
    expected = "a string or None" if optional else "a string"
    raise SpecTypeError(f"{name} must be {expected}; got {type(value).__name__}")


def run_id_arg(run_id: Any) -> str:
    """``run_id`` itself, checked to be a string."""
    if not isinstance(run_id, str):
        raise SpecTypeError(f"run_id must be a string; got {type(run_id).__name__}")
    return run_id


def unreadable(run_id: str, exc: Exception) -> str:
    """The message of a resume that could not read the run."""
    return f"run {run_id} cannot be resumed: reading it failed: {type(exc).__name__}: {exc}"


async def report_takeover(sink: EventSink, run_id: str) -> None:
    """End the stream of a run another worker took over with an ``error`` saying so."""
    task = asyncio.current_task()
    if task is not None:
        while task.cancelling():
            task.uncancel()
    with contextlib.suppress(ConnectionError):
        await sink.emit(
            ErrorEvent(
                f"run {run_id} taken over by another worker: this worker lost the run's lease "
                f"(it was presumed dead), so it stopped; the run goes on in the other worker",
                code="run_taken_over",
            )
        )


async def give_back(lease: RunLease | None, stored: StoredRun | None) -> None:
    """Let go of a claimed run that is not resumed after all: an ended (or unknown) run's lease
    is deleted, any other is left suspended for an explicit resume."""
    if lease is None or lease.value is None:
        return
    try:
        if stored is None or stored.record.status in FINAL_STATUSES:
            await lease.write((), final=True)
        else:
            await lease.suspend()
    except Exception as exc:  # the lease then expires, and recovery finds the problem again
        log.warning("could not release the lease of %s: %s", lease.run_id, exc)
