"""The evaluation methods of the public ``Runtime``: ``run_eval``, ``stream_eval`` and traces.

:class:`EvalMethods` is a mixin of :class:`flowai_harness.handle.Runtime`. Importing this module
is cheap: the runner (and the engine pieces it needs) loads on the first eval.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, cast

from flowai_harness.errors import SpecTypeError

if TYPE_CHECKING:
    from flowai_harness.engine.core import EngineCore
    from flowai_harness.evals.runner import EvalEventStream
    from flowai_harness.evals.traces import TraceStore

__all__ = ["EvalMethods"]


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise SpecTypeError(f"{name} must be a string or None, got {type(value).__name__}")
    return value


class EvalMethods:
    """Run evaluations on this runtime and read the traces they record (guides §4.8)."""

    _eval_trace_store: TraceStore | None = None

    def _eval_traces(self) -> TraceStore:
        store = self._eval_trace_store
        if store is None:
            from flowai_harness.evals.traces import TraceStore

            store = TraceStore()
            self._eval_trace_store = store
        return store

    def _open_eval(self, eval_request: Any) -> EvalEventStream:
        from flowai_harness.evals.runner import open_eval_stream

        return open_eval_stream(cast("EngineCore", self), eval_request, self._eval_traces())

    def run_eval(self, eval_request: Any) -> Awaitable[dict[str, Any]]:
        """Run an eval to completion and return its artifact.

        The request is parsed and checked when this method is called; the returned awaitable
        runs the samples.

        Args:
            eval_request: An ``EvalRequest``; a JSON string; an object with ``model_dump``
                (dumped ``by_alias``); or a mapping in camelCase wire form.

        Returns:
            An awaitable of the camelCase artifact dict (``EvalArtifact`` wire form).

        Raises:
            ValueError: the request cannot be parsed, names another tenant, uses an
                offline-only mode or preset, has weights that do not resolve, or the mode's
                entry agent is missing (raised at call time). A judge scorer on an offline
                interpreter does not raise: its verdict fails closed
                (``judge_provider_unavailable``).
            RunError: the eval failed or was cancelled (a ``RuntimeError``; when awaited).
        """
        from flowai_harness.evals.runner import collect_artifact

        return collect_artifact(self._open_eval(eval_request))

    def stream_eval(self, eval_request: Any) -> EvalEventStream:
        """Start an eval and stream its progress.

        Args:
            eval_request: As for :meth:`run_eval`.

        Returns:
            An async iterator of envelope dicts ``{"runId", "sequence", "type", "data"}``
            (``sequence`` from 0): ``evalStarted``, ``testCaseStarted``, ``sampleCompleted``,
            ``testCaseCompleted``, then ``evalCompleted`` (or one ``evalFailed`` /
            ``evalCancelled``). Closing or dropping it stops scheduling samples.

        Raises:
            ValueError: as for :meth:`run_eval`, at call time.
        """
        return self._open_eval(eval_request)

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """Return the trace an eval sample recorded, or ``None`` for an unknown id.

        Args:
            trace_id: A sample's ``trace.traceId``.

        Returns:
            ``{"traceId", "tenantId", "workspaceId", "status", "stage", "scope",
            "provenance", "input", "responseText", "steps", "error", "startedAt",
            "completedAt", "durationMs"}`` or ``None``. ``scope`` holds the sample's ids
            ``{"evalRunId", "testCaseId", "threadId", "sampleIndex"}``; ``provenance`` is
            ``{"kind": "eval_sample", "evalRunId", "testCaseId", "sampleIndex", "mode",
            "entryAgent"}``; each step is ``{"ordinal", "toolName", "toolCallId", "agent",
            "depth", "arguments", "result", "error"}`` with ``{"kind": "inline", "value"}``
            (or ``{"kind": "omitted", "reason"}``) payloads.

        Raises:
            SpecTypeError: ``trace_id`` is not a string.
        """
        if not isinstance(trace_id, str):
            raise SpecTypeError(f"trace_id must be a string, got {type(trace_id).__name__}")
        return self._eval_traces().get(trace_id)

    def list_traces(
        self,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the recorded traces matching every given filter, oldest first.

        Args:
            eval_run_id: Keep traces of this eval run (``runId``).
            test_case_id: Keep traces of this test case.
            thread_id: Keep the trace of this sample thread.

        Returns:
            The trace dicts (see :meth:`get_trace`).

        Raises:
            SpecTypeError: a filter is neither a string nor ``None``.
        """
        return self._eval_traces().select(
            eval_run_id=_optional_text(eval_run_id, "eval_run_id"),
            test_case_id=_optional_text(test_case_id, "test_case_id"),
            thread_id=_optional_text(thread_id, "thread_id"),
        )
