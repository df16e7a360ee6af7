"""Running evaluations through a live runtime.

An eval run takes the request's selected test cases one after another; the samples of a case
run ``config.concurrency`` at a time, each on its own thread ``eval-<runId>-<caseId>-<index>``
at the mode's entry agent (invocation id ``entry-<agent>``) with every approval gate bypassed,
bounded by ``config.timeout_per_sample_secs``. Each finished run is judged (judge scorers),
scored with the request's scoring plan, and recorded as a trace. Progress is a stream of
envelopes ``{runId, sequence, type, data}`` numbered from 0: ``evalStarted``, then per case
``testCaseStarted``, one ``sampleCompleted`` per sample (in completion order), and
``testCaseCompleted``, then ``evalCompleted`` with the artifact; or a single ``evalFailed`` /
``evalCancelled`` instead of the rest.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Final

from flowai_harness._clock import utc_micros
from flowai_harness.engine.core import EngineCore
from flowai_harness.errors import RunError, SpecTypeError
from flowai_harness.evals.aggregation import (
    case_aggregate_score,
    pass_at_k,
    sample_cost,
    sample_passed,
    summarize_eval,
)
from flowai_harness.evals.judges import judge_scorers, run_judge
from flowai_harness.evals.scoring import score_with_plan
from flowai_harness.evals.setup import EvalSetup, parse_eval_request, prepare_eval
from flowai_harness.evals.traces import SampleCapture, TraceStatus, TraceStore
from flowai_harness.specs.evals import (
    JUDGE_VERDICTS_EXTRA_KEY,
    ArtifactMetadata,
    EvalArtifact,
    EvalArtifactSummary,
    EvalEventType,
    EvalTestCase,
    HarnessEvalEventEnvelope,
    ModelInvocation,
    RawSampleOutput,
    SampleArtifact,
    SampleLatency,
    SampleTrace,
    TestCaseArtifact,
    TokenUsageSummary,
)

__all__ = [
    "EVAL_THREAD_PREFIX",
    "EvalEventStream",
    "collect_artifact",
    "open_eval_stream",
    "run_eval_sync",
]

#: Prefix of an eval run id (``eval-<uuid>``) and of its sample threads
#: (``eval-<runId>-<caseId>-<index>``): a thread id with it belongs to an eval.
EVAL_THREAD_PREFIX: Final = "eval-"

log = logging.getLogger("flowai_harness.evals")

_DEFAULT_CANCEL_REASON = "cancelled by the caller"
#: A sample fails when its event stream raises this many times in a row.
_MAX_STREAM_ERRORS = 100


class _EvalAborted(RunError):
    """The eval cannot go on; the message becomes the ``evalFailed`` error."""


# --------------------------------------------------------------------------- one sample


@dataclass(slots=True)
class _SampleRun:
    """The mutable state of one sample while it runs."""

    case: EvalTestCase
    index: int
    thread_id: str
    trace_id: str
    capture: SampleCapture
    started_at: str
    status: TraceStatus = "completed"
    stage: str = "run"
    error: str | None = None
    run_ms: int = 0


class _Execution:
    """One eval run: schedules samples, scores them and produces the envelopes."""

    def __init__(
        self,
        runtime: EngineCore,
        setup: EvalSetup,
        traces: TraceStore,
        run_id: str,
        cancel: asyncio.Event,
    ) -> None:
        self.runtime = runtime
        self.setup = setup
        self.config = setup.request.config
        self.traces = traces
        self.run_id = run_id
        self.cancel = cancel
        self.cancel_reason = _DEFAULT_CANCEL_REASON
        self.sequence = 0

    # ------------------------------------------------------------------ envelopes

    def _envelope(self, kind: EvalEventType, data: dict[str, Any]) -> dict[str, Any]:
        # data holds models (artifacts, samples) that pydantic takes without revalidating
        envelope = HarnessEvalEventEnvelope(
            run_id=self.run_id, sequence=self.sequence, event={"type": kind, "data": data}
        )
        self.sequence += 1
        return envelope.to_wire()

    def _artifact(
        self, cases: list[TestCaseArtifact], summary: EvalArtifactSummary
    ) -> EvalArtifact:
        request = self.setup.request
        return EvalArtifact(
            run_id=self.run_id,
            tenant_id=request.tenant_id,
            workspace_id=request.workspace_id,
            mode=self.config.mode,
            summary=summary,
            test_cases=cases,
            metadata=ArtifactMetadata(
                scorer_preset=self.setup.scoring.preset,
                score_weights=dict(self.setup.scoring.weights),
            ),
        )

    async def envelopes(self) -> AsyncGenerator[dict[str, Any], None]:
        """Run the eval, yielding its envelope dicts."""
        started = self._artifact([], EvalArtifactSummary())
        yield self._envelope("evalStarted", {"artifact": started})
        try:
            done: list[TestCaseArtifact] = []
            for case in self.setup.cases:
                if self.cancel.is_set():
                    break
                yield self._envelope("testCaseStarted", {"testCaseId": case.id})
                samples: list[SampleArtifact] = []
                # aclosing: closing this stream must cancel the case's running samples now.
                async with aclosing(self._run_case(case)) as finished:
                    async for sample in finished:
                        samples.append(sample)
                        yield self._envelope("sampleCompleted", {"sample": sample})
                if self.cancel.is_set():
                    break
                artifact = self._case_artifact(case, samples)
                done.append(artifact)
                yield self._envelope("testCaseCompleted", {"testCase": artifact})
            if self.cancel.is_set():
                yield self._envelope("evalCancelled", {"reason": self.cancel_reason})
                return
            summary = summarize_eval(
                done,
                pass_threshold=self.config.pass_threshold,
                aggregation_strategy=self.config.aggregation_strategy,
                k_values=self.config.k_values,
                skipped=len(self.setup.request.test_cases) - len(self.setup.cases),
            )
            yield self._envelope("evalCompleted", {"artifact": self._artifact(done, summary)})
        except _EvalAborted as error:
            yield self._envelope("evalFailed", {"error": str(error)})
        except Exception as error:  # a defect must end the stream with evalFailed, not hang
            message = f"internal error: {type(error).__name__}: {error}"
            yield self._envelope("evalFailed", {"error": message})

    def _case_artifact(self, case: EvalTestCase, samples: list[SampleArtifact]) -> TestCaseArtifact:
        ordered = sorted(samples, key=lambda sample: sample.sample_index)
        passed = sum(sample.passed for sample in ordered)
        return TestCaseArtifact(
            test_case_id=case.id,
            input=case.input,
            samples=ordered,
            pass_at_k=[pass_at_k(len(ordered), passed, k) for k in self.config.k_values],
            aggregate_score=case_aggregate_score(ordered, self.config.aggregation_strategy),
        )

    # ------------------------------------------------------------------ scheduling

    async def _run_case(self, case: EvalTestCase) -> AsyncGenerator[SampleArtifact, None]:
        """Run the samples of ``case``, at most ``concurrency`` at once; yield as they finish."""
        waiting = list(range(self.config.samples_per_case))
        running: dict[asyncio.Task[SampleArtifact], int] = {}
        cancelled: asyncio.Future[Any] = asyncio.ensure_future(self.cancel.wait())
        try:
            while waiting or running:
                while waiting and len(running) < self.config.concurrency:
                    index = waiting.pop(0)
                    running[asyncio.create_task(self._run_sample(case, index))] = index
                watched: set[asyncio.Future[Any]] = {cancelled, *running}
                await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if self.cancel.is_set():
                    return
                finished = sorted((t for t in running if t.done()), key=lambda t: running[t])
                for task in finished:
                    del running[task]
                    yield task.result()
        finally:
            cancelled.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(cancelled, *running, return_exceptions=True)

    # ------------------------------------------------------------------ samples

    async def _run_sample(self, case: EvalTestCase, index: int) -> SampleArtifact:
        entry = self.setup.entry_agent
        sample = _SampleRun(
            case=case,
            index=index,
            thread_id=f"{EVAL_THREAD_PREFIX}{self.run_id}-{case.id}-{index}",
            trace_id=f"trace-{uuid.uuid4()}",
            capture=SampleCapture(entry, f"entry-{entry}", self.setup.agent_models),
            started_at=utc_micros(),
        )
        try:
            await self._execute(sample)
            if sample.capture.approval_requested:
                raise _EvalAborted(
                    f"internal error: an approval was requested in sample {index} of test case "
                    f"{case.id!r}, but eval runs bypass every approval gate"
                )
            artifact = await self._finish(sample)
        except asyncio.CancelledError:
            sample.status, sample.error = "cancelled", "the eval was cancelled"
            self._record_trace(sample)
            raise
        self._record_trace(sample)
        return artifact

    async def _execute(self, sample: _SampleRun) -> None:
        """Run the entry agent for one sample and capture its events, within the timeout."""
        entry = self.setup.entry_agent
        stream = self.runtime._stream(
            entry,
            sample.case.input,
            sample.thread_id,
            invocation_id=f"entry-{entry}",
            approval_mode="bypass",
        )
        capture = sample.capture
        limit = self.config.timeout_per_sample_secs
        deadline = asyncio.timeout(limit)
        failures = 0
        try:
            async with deadline:
                while not capture.approval_requested and failures < _MAX_STREAM_ERRORS:
                    try:
                        event = await anext(stream)
                    except StopAsyncIteration:
                        break
                    except Exception as error:  # an event hook raised; that event is lost
                        failures += 1
                        sample.error = f"the event stream raised {type(error).__name__}: {error}"
                        log.warning(
                            "eval %s sample %s: %s", self.run_id, sample.thread_id, sample.error
                        )
                        continue
                    failures = 0
                    capture.observe(event)
        except TimeoutError:
            if not deadline.expired():
                raise
            sample.status = "timedOut"
            sample.error = f"sample timed out after {limit}s"
        finally:
            await stream.aclose()
            sample.run_ms = capture.elapsed_ms()
        if sample.status == "timedOut":
            return
        if failures >= _MAX_STREAM_ERRORS:
            sample.status = "failed"
            return
        sample.error = None
        if capture.error is not None:
            sample.status, sample.error = "failed", capture.error
        elif capture.had_step_errors:
            sample.status = "partial"

    async def _judge(self, sample: _SampleRun) -> tuple[dict[str, Any], list[ModelInvocation]]:
        judge = self.setup.judge
        text = sample.capture.response_text
        scorers = judge_scorers(sample.case)
        if judge is None or not scorers or not text:
            return {}, []
        sample.stage = "judging"
        include_trace = (
            self.config.scorer_config is not None
            and self.config.scorer_config.final_response_config.include_judge_trace
        )
        verdicts: dict[str, Any] = {}
        invocations: list[ModelInvocation] = []
        for scorer in scorers:
            outcome = await run_judge(
                judge,
                scorer,
                case=sample.case,
                sample_index=sample.index,
                final_response=text,
                timeout_secs=self.config.timeout_per_sample_secs,
                include_trace=include_trace,
            )
            verdicts[scorer.id] = outcome.entry
            if outcome.invocation is not None:
                invocations.append(outcome.invocation)
        return verdicts, invocations

    async def _finish(self, sample: _SampleRun) -> SampleArtifact:
        """Judge and score a finished run (or report its failure) as a sample artifact."""
        capture = sample.capture
        scorer_config = self.config.scorer_config
        include_sub_agents = (
            scorer_config is not None and scorer_config.trajectory_config.include_sub_agents
        )
        extra: dict[str, Any] = {
            "trajectoryEvents": capture.trajectory_events,
            "plannedActions": capture.planned_actions,
            "resolvedActions": capture.resolved_actions,
        }
        invocations = [
            ModelInvocation(
                agent=i.agent,
                provider=i.provider,
                model=i.model,
                input_tokens=i.input_tokens,
                output_tokens=i.output_tokens,
                cached_tokens=i.cached_tokens,
                cache_creation_tokens=i.cache_creation_tokens,
                estimated_cost_usd=i.estimated_cost_usd,
            )
            for i in capture.invocations
        ]
        fields: dict[str, Any] = {"passed": False, "aggregate_score": 0.0, "error": sample.error}
        if sample.error is None:
            verdicts, judged = await self._judge(sample)
            invocations += judged
            if verdicts:
                extra[JUDGE_VERDICTS_EXTRA_KEY] = verdicts
            sample.stage = "scoring"
            output = RawSampleOutput(
                actual_trajectory=capture.trajectory(include_sub_agents=include_sub_agents),
                response_text=capture.response_text or None,
                extra=extra,
            )
            scored = score_with_plan(sample.case, output, self.setup.scoring, scorer_config)
            response = scored.component("final_response")
            details = response.details if response is not None else None
            fields = {
                "passed": sample_passed(scored.aggregate, self.config.pass_threshold),
                "aggregate_score": scored.aggregate,
                "component_scores": scored.component_scores,
                "final_response_eval": details
                if details and "verdictSchemaVersion" in details
                else None,
            }
            sample.stage = "scored"
        return SampleArtifact(
            sample_index=sample.index,
            response_text=capture.response_text,
            actual_trajectory=capture.trajectory(include_sub_agents=include_sub_agents),
            planned_actions=capture.planned_actions,
            resolved_actions=capture.resolved_actions,
            duration_ms=capture.elapsed_ms(),
            model_invocations=invocations,
            token_usage=_token_usage(invocations),
            cost=sample_cost(invocations),
            latency=SampleLatency(
                total_ms=sample.run_ms,
                first_token_ms=capture.first_text_ms,
                model_ms=capture.model_ms,
                tool_ms=capture.tool_ms,
            ),
            thread_id=sample.thread_id,
            trace=SampleTrace(
                trace_id=sample.trace_id,
                thread_id=sample.thread_id,
                metadata={"status": sample.status, "stepCount": len(capture.steps)},
            ),
            metadata=extra,
            **fields,
        )

    def _record_trace(self, sample: _SampleRun) -> None:
        request = self.setup.request
        capture = sample.capture
        self.traces.record(
            {
                "traceId": sample.trace_id,
                "tenantId": request.tenant_id,
                "workspaceId": request.workspace_id,
                "status": sample.status,
                "stage": sample.stage,
                "scope": {
                    "evalRunId": self.run_id,
                    "testCaseId": sample.case.id,
                    "threadId": sample.thread_id,
                    "sampleIndex": sample.index,
                },
                "provenance": {
                    "kind": "eval_sample",
                    "evalRunId": self.run_id,
                    "testCaseId": sample.case.id,
                    "sampleIndex": sample.index,
                    "mode": self.config.mode,
                    "entryAgent": self.setup.entry_agent,
                },
                "input": sample.case.input,
                "responseText": capture.response_text,
                "steps": capture.trace_steps(),
                "error": sample.error,
                "startedAt": sample.started_at,
                "completedAt": utc_micros(),
                "durationMs": capture.elapsed_ms(),
            }
        )


# --------------------------------------------------------------------------- the stream


class EvalEventStream:
    """The async iterator returned by ``Runtime.stream_eval``: envelope dicts, single use.

    The eval starts on the first ``__anext__``. ``aclose()`` (or dropping the stream) stops it:
    no new sample starts and running samples are cancelled. ``cancel(reason)`` ends it
    politely: running samples are cancelled and the stream's last envelope is
    ``evalCancelled{reason}``.
    """

    def __init__(self, runtime: EngineCore, setup: EvalSetup, traces: TraceStore) -> None:
        self.run_id = f"{EVAL_THREAD_PREFIX}{uuid.uuid4()}"
        self._cancel = asyncio.Event()
        self._execution = _Execution(runtime, setup, traces, self.run_id, self._cancel)
        self._envelopes: AsyncGenerator[dict[str, Any], None] | None = None
        self._closed = False

    def __aiter__(self) -> EvalEventStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._closed:
            raise StopAsyncIteration
        if self._envelopes is None:
            self._envelopes = self._execution.envelopes()
        try:
            return await anext(self._envelopes)
        except StopAsyncIteration:
            self._closed = True
            raise

    def cancel(self, reason: str = _DEFAULT_CANCEL_REASON) -> None:
        """Stop the eval; the stream then ends with ``evalCancelled{reason}``."""
        self._execution.cancel_reason = reason
        self._cancel.set()

    async def aclose(self) -> None:
        """Stop the eval now and wait until its running samples are cancelled."""
        self._closed = True
        if self._envelopes is not None:
            await self._envelopes.aclose()


def open_eval_stream(runtime: EngineCore, eval_request: Any, traces: TraceStore) -> EvalEventStream:
    """Parse and check ``eval_request`` now; return the stream that runs it.

    Raises:
        SpecValueError: see :func:`parse_eval_request` and :func:`prepare_eval`.
    """
    setup = prepare_eval(runtime, parse_eval_request(eval_request))
    return EvalEventStream(runtime, setup, traces)


async def collect_artifact(
    stream: AsyncIterator[dict[str, Any]] | EvalEventStream,
) -> dict[str, Any]:
    """Run an eval stream to its end and return the artifact of ``evalCompleted``.

    Raises:
        RunError: the eval failed (``evalFailed``) or was cancelled (``evalCancelled``).
    """
    run_id = getattr(stream, "run_id", "eval")
    try:
        async for envelope in stream:
            kind, data = envelope["type"], envelope["data"]
            if kind == "evalCompleted":
                artifact: dict[str, Any] = data["artifact"]
                return artifact
            if kind == "evalFailed":
                raise RunError(f"eval {run_id} failed: {data['error']}")
            if kind == "evalCancelled":
                raise RunError(f"eval {run_id} was cancelled: {data['reason']}")
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    raise RunError(f"eval {run_id} ended without an evalCompleted event")


def run_eval_sync(runtime: Any, request: Any) -> EvalArtifact:
    """Run an eval to completion from synchronous code.

    Args:
        runtime: A runtime from ``create_runtime``.
        request: The eval request (any form ``Runtime.run_eval`` accepts).

    Returns:
        The validated :class:`EvalArtifact`.

    Raises:
        RunError: called from a running event loop (``await runtime.run_eval(request)``
            there), or the eval failed or was cancelled.
        SpecTypeError: ``runtime`` has no ``run_eval`` method.
        ValueError: the request is invalid for this runtime.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RunError(
            "run_eval_sync cannot run inside a running event loop; use "
            "`await runtime.run_eval(request)` instead"
        )
    run_eval = getattr(runtime, "run_eval", None)
    if not callable(run_eval):
        raise SpecTypeError(
            f"run_eval_sync needs a Runtime from create_runtime; got {type(runtime).__name__}"
        )

    async def main() -> Any:
        return await run_eval(request)

    return EvalArtifact.model_validate(asyncio.run(main()))


def _token_usage(invocations: list[ModelInvocation]) -> TokenUsageSummary:
    """The tokens of a sample's model calls, summed."""
    usage = TokenUsageSummary()
    for invocation in invocations:
        usage = usage + TokenUsageSummary(
            input_tokens=invocation.input_tokens,
            output_tokens=invocation.output_tokens,
            cached_tokens=invocation.cached_tokens,
            cache_creation_tokens=invocation.cache_creation_tokens,
        )
    return usage
