"""Evaluations on one runtime: what ``run_eval``, ``stream_eval`` and the trace methods of the
public ``Runtime`` delegate to.

A :class:`RuntimeEvals` belongs to one runtime and keeps the traces its eval samples record.
Importing this module is cheap: the runner (and the engine pieces it needs) loads on the first
eval.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import SpecTypeError

if TYPE_CHECKING:
    from flowai_harness.engine.core import EngineCore
    from flowai_harness.evals.runner import EvalEventStream
    from flowai_harness.evals.traces import TraceStore

__all__ = ["RuntimeEvals"]


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise SpecTypeError(f"{name} must be a string or None, got {type(value).__name__}")
    return value


class RuntimeEvals:
    """Run evaluations on one runtime and read the traces they record.

    Args:
        runtime: The runtime the samples run on.
    """

    __slots__ = ("_runtime", "_traces")

    def __init__(self, runtime: EngineCore) -> None:
        self._runtime = runtime
        self._traces: TraceStore | None = None

    def _trace_store(self) -> TraceStore:
        store = self._traces
        if store is None:
            from flowai_harness.evals.traces import TraceStore

            store = self._traces = TraceStore()
        return store

    def stream(self, eval_request: Any) -> EvalEventStream:
        """Check ``eval_request`` now and return the stream that runs it (``Runtime.stream_eval``).

        Raises:
            ValueError: the request is invalid for this runtime.
        """
        from flowai_harness.evals.runner import open_eval_stream

        return open_eval_stream(self._runtime, eval_request, self._trace_store())

    def run(self, eval_request: Any) -> Awaitable[dict[str, Any]]:
        """Check ``eval_request`` now; the awaitable runs it and returns the artifact
        (``Runtime.run_eval``).

        Raises:
            ValueError: the request is invalid for this runtime.
        """
        from flowai_harness.evals.runner import collect_artifact

        return collect_artifact(self.stream(eval_request))

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """Return the trace an eval sample recorded, or ``None`` (``Runtime.get_trace``).

        Raises:
            SpecTypeError: ``trace_id`` is not a string.
        """
        if not isinstance(trace_id, str):
            raise SpecTypeError(f"trace_id must be a string, got {type(trace_id).__name__}")
        return self._trace_store().get(trace_id)

    def list_traces(
        self,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the recorded traces matching every given filter, oldest first
        (``Runtime.list_traces``).

        Raises:
            SpecTypeError: a filter is neither a string nor ``None``.
        """
        return self._trace_store().select(
            eval_run_id=_optional_text(eval_run_id, "eval_run_id"),
            test_case_id=_optional_text(test_case_id, "test_case_id"),
            thread_id=_optional_text(thread_id, "thread_id"),
        )
