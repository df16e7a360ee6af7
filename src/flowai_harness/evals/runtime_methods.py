"""Evaluations on one runtime: what ``run_eval``, ``stream_eval`` and the trace methods of the
public ``Runtime`` delegate to.

A :class:`RuntimeEvals` belongs to one runtime and keeps the traces its eval samples record.
The trace methods also read the run traces the runtime's
:class:`~flowai_harness.engine.trace_collector.TraceCollector` keeps (every ``query`` and
``run_specialist`` run). Importing this module is cheap: the runner (and the engine pieces it
needs) loads on the first eval.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import SpecTypeError, SpecValueError

if TYPE_CHECKING:
    from flowai_harness.engine.core import EngineCore
    from flowai_harness.engine.trace_collector import TraceCollector
    from flowai_harness.evals.runner import EvalEventStream
    from flowai_harness.evals.traces import TraceStore

__all__ = ["TRACE_KINDS", "RuntimeEvals"]

#: What ``list_traces(kind=...)`` selects: eval sample traces, or the traces of runs.
TRACE_KINDS = ("eval", "run")


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

    def _run_traces(self) -> TraceCollector | None:
        from flowai_harness.engine.trace_collector import TraceCollector

        observer = self._runtime._compiled.observer
        return observer if isinstance(observer, TraceCollector) else None

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """Return the trace of an eval sample (by its trace id) or of a run (by its run id),
        or ``None`` (``Runtime.get_trace``).

        Raises:
            SpecTypeError: ``trace_id`` is not a string.
        """
        if not isinstance(trace_id, str):
            raise SpecTypeError(f"trace_id must be a string, got {type(trace_id).__name__}")
        found = self._trace_store().get(trace_id)
        if found is None and (runs := self._run_traces()) is not None:
            found = runs.get(trace_id)
        return found

    def list_traces(
        self,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
        *,
        kind: str = "eval",
    ) -> list[dict[str, Any]]:
        """Return the recorded traces of ``kind`` matching every given filter, oldest first
        (``Runtime.list_traces``).

        Raises:
            SpecTypeError: a filter is neither a string nor ``None``.
            SpecValueError: ``kind`` is not ``"eval"`` or ``"run"``, or an eval filter is
                given with ``kind="run"``.
        """
        eval_run_id = _optional_text(eval_run_id, "eval_run_id")
        test_case_id = _optional_text(test_case_id, "test_case_id")
        thread_id = _optional_text(thread_id, "thread_id")
        if kind not in TRACE_KINDS:
            raise SpecValueError(f"kind must be 'eval' or 'run', got {kind!r}")
        if kind == "eval":
            return self._trace_store().select(
                eval_run_id=eval_run_id, test_case_id=test_case_id, thread_id=thread_id
            )
        if eval_run_id is not None or test_case_id is not None:
            raise SpecValueError(
                "eval_run_id and test_case_id select eval sample traces; run traces "
                "(kind='run') are filtered by thread_id only"
            )
        runs = self._run_traces()
        return [] if runs is None else runs.select(thread_id)
