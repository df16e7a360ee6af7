"""Running a saved eval from the Studio.

:func:`prepare_eval_run` loads the eval's tests in ``testCaseIds`` order, checks the mode's
target and opens the runtime's eval stream (every check that can fail before a sample runs
fails here, as an API error). :class:`EvalRun` drives that stream as a live run: each envelope
is recorded as a run event (operation ``eval``, thread ``eval:<evalId>``, artifacts trimmed to
``{runId, summary}``) and sent to viewers as ``event: <type>`` frames whose data is the
runtime envelope plus the Studio event fields (``kind`` ``eval.case.completed`` and friends).
On completion the artifact, every sample's trace and one thread per sample are stored; the eval
ends ``completed``, ``failed`` (``evalFailed``, sequence -1 when the stream itself broke) or
``cancelled``. A cancel asked for while the eval runs sticks: the eval ends ``cancelled`` even
when its last sample was already finishing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Final

from flowai_harness.evals.runner import EVAL_THREAD_PREFIX
from flowai_harness.studio.api_errors import StudioApiError, scrub_secrets
from flowai_harness.studio.apps import STUDIO_API_VERSION
from flowai_harness.studio.context import Workspace
from flowai_harness.studio.events_map import as_mapping, eval_record_thread
from flowai_harness.studio.live_runs import Frame, LiveRun
from flowai_harness.studio.store_chat import thread_title

__all__ = ["EVAL_EVENT_KINDS", "EvalRun", "prepare_eval_run", "studio_kind"]

logger = logging.getLogger("flowai_harness.studio")

#: The Studio event kind of each runtime eval envelope type.
EVAL_EVENT_KINDS: Final = {
    "evalStarted": "eval.started",
    "testCaseStarted": "eval.case.started",
    "sampleCompleted": "eval.sample.completed",
    "testCaseCompleted": "eval.case.completed",
    "evalCompleted": "eval.completed",
    "evalFailed": "eval.failed",
    "evalCancelled": "eval.cancelled",
}


def studio_kind(envelope_type: str) -> str:
    """The Studio event kind of a runtime eval envelope type."""
    return EVAL_EVENT_KINDS.get(envelope_type, "eval.event")


def _compact_payload(eval_id: str, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"evalId": eval_id}
    if kind == "testCaseStarted":
        payload["caseId"] = data.get("testCaseId")
    elif kind == "sampleCompleted":
        sample = data.get("sample") or {}
        payload.update(
            caseId=sample.get("testCaseId"),
            sampleIndex=sample.get("sampleIndex"),
            passed=sample.get("passed"),
            score=sample.get("aggregateScore"),
        )
    elif kind == "testCaseCompleted":
        case = data.get("testCase") or {}
        samples = case.get("samples") or []
        payload.update(
            caseId=case.get("testCaseId"),
            passed=bool(samples) and all(s.get("passed") for s in samples),
            score=case.get("aggregateScore"),
        )
    elif kind in ("evalStarted", "evalCompleted"):
        artifact = data.get("artifact") or {}
        payload.update(runId=artifact.get("runId"), summary=artifact.get("summary"))
    elif kind == "evalFailed":
        payload["error"] = data.get("error")
    elif kind == "evalCancelled":
        payload["reason"] = data.get("reason")
    return payload


def _trimmed(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if kind in ("evalStarted", "evalCompleted") and isinstance(data.get("artifact"), Mapping):
        artifact = data["artifact"]
        return {"artifact": {"runId": artifact.get("runId"), "summary": artifact.get("summary")}}
    return dict(data)


def _bad_request(code: str, message: str, details: Mapping[str, Any] | None = None) -> Exception:
    return StudioApiError(400, code, message, details)


def _refusal_text(exc: Exception) -> str:
    """The runtime's own words for a refused eval request (not a validation-report dump)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        messages = [
            str(error.get("msg", "")).removeprefix("Value error, ") for error in exc.errors()
        ]
        return scrub_secrets("; ".join(message for message in messages if message))
    return scrub_secrets(str(exc))


async def prepare_eval_run(workspace: Workspace, row: Mapping[str, Any]) -> tuple[Any, str]:
    """Check a saved eval and open its runtime stream.

    Returns:
        ``(stream, entry_agent)``.

    Raises:
        StudioApiError: 400 ``eval.unknown_test_case`` / ``eval.no_test_cases`` /
            ``eval.invalid_target_agent`` / ``eval.run_failed``; 409 ``eval.no_runtime_binding``.
    """
    tests = []
    for test_id in row.get("testCaseIds") or []:
        try:
            test = await workspace.store.get_test_case(str(test_id))
        except KeyError:
            raise _bad_request(
                "eval.unknown_test_case",
                f"Eval `{row['id']}` names test `{test_id}`, which does not exist.",
                {"testId": test_id},
            ) from None
        tests.append(test["testCase"])
    if not tests:
        raise _bad_request("eval.no_test_cases", f"Eval `{row['id']}` has no test cases.")
    config = dict(row.get("config") or {})
    spec = workspace.binding.runtime_spec
    mode = config.get("mode", "sequential")
    roles = {"sequential": "coordinator", "planner": "planner", "executor": "executor"}
    if mode == "specialist":
        target = config.get("targetAgentId")
        agent = next((a for a in spec.agents if a.name == target), None)
        if agent is None or agent.role != "specialist":
            raise _bad_request(
                "eval.invalid_target_agent",
                f"Specialist mode needs `config.targetAgentId` naming a registered specialist; "
                f"got {target!r}.",
                {"targetAgentId": target},
            )
        entry = agent.name
    else:
        role = roles.get(str(mode), "coordinator")
        entry = next((a.name for a in spec.agents if a.role == role), "")
    runtime = await workspace.runtime(code="eval.no_runtime_binding")
    request: dict[str, Any] = {
        "tenantId": runtime.resource_id,
        "workspaceId": workspace.key,
        "config": config,
        "testCases": tests,
    }
    if row.get("scorerPreset") is not None:
        request["scorerPreset"] = row["scorerPreset"]
    try:
        stream = runtime.stream_eval(request)
    except (ValueError, TypeError) as exc:
        raise _bad_request("eval.run_failed", _refusal_text(exc)) from None
    return stream, entry


class EvalRun:
    """The driver of one eval run; pass :meth:`drive` to ``RunRegistry.start``."""

    def __init__(self, workspace: Workspace, eval_id: str, stream: Any, entry_agent: str) -> None:
        self.workspace = workspace
        self.eval_id = eval_id
        self.stream = stream
        self.entry_agent = entry_agent
        self.run_id: str = str(getattr(stream, "run_id", "")) or f"{EVAL_THREAD_PREFIX}{eval_id}"
        self.thread_id = eval_record_thread(eval_id)
        self.artifact: dict[str, Any] | None = None
        self.error: str | None = None
        self.seq = 0

    def frame_data(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """The SSE data of one runtime envelope: the envelope plus the Studio event fields."""
        kind = str(envelope.get("type", ""))
        data = as_mapping(envelope.get("data"))
        return {
            **envelope,
            "schemaVersion": STUDIO_API_VERSION,
            "workspaceKey": self.workspace.key,
            "threadId": self.thread_id,
            "seq": self.seq,
            "kind": studio_kind(kind),
            "payload": _compact_payload(self.eval_id, kind, data),
        }

    async def _record(self, live: LiveRun, envelope: Mapping[str, Any]) -> None:
        self.seq += 1
        kind = str(envelope.get("type", ""))
        frame = self.frame_data(envelope)
        data = as_mapping(envelope.get("data"))
        stored = {**frame, "data": _trimmed(kind, data)}
        await self.workspace.store.append_run_event(
            thread_id=self.thread_id,
            run_id=self.run_id,
            seq=self.seq,
            kind=kind,
            event=stored,
            raw_event=stored,
            operation="eval",
            agent_id=self.entry_agent,
        )
        await live.publish(Frame(kind, frame))

    async def drive(self, live: LiveRun) -> None:
        """Run the eval stream to its end and persist what it produced."""
        store = self.workspace.store
        live.on_cancel(lambda reason: self.stream.cancel(reason))
        await store.update_eval_run_status(self.eval_id, "running")
        status = "cancelled"
        try:
            async for envelope in self.stream:
                kind = envelope.get("type")
                await self._record(live, envelope)
                if kind == "evalCompleted":
                    self.artifact = dict(envelope["data"]["artifact"])
                    status = "completed"
                elif kind == "evalFailed":
                    self.error = str(envelope["data"].get("error", "eval failed"))
                    status = "failed"
                elif kind == "evalCancelled":
                    self.error = f"eval cancelled: {envelope['data'].get('reason', '')}"
        except Exception as exc:
            self.error = scrub_secrets(f"{type(exc).__name__}: {exc}")
            status = "failed"
            failed = {
                "runId": self.run_id,
                "sequence": -1,
                "type": "evalFailed",
                "data": {"error": self.error},
            }
            try:
                await self._record(live, failed)
            except Exception:
                logger.exception("could not record the failure of eval run %s", self.run_id)
        finally:
            aclose = getattr(self.stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if self.artifact is not None:
            try:
                await self._persist(self.artifact)
            except Exception as exc:
                logger.exception("could not store the artifact of eval run %s", self.run_id)
                self.error = f"could not store the eval artifact: {exc}"
                status = "failed"
        if live.cancel_requested:
            status = "cancelled"
        if status == "cancelled" and self.error is None:
            self.error = "eval ended without completing"
        with contextlib.suppress(KeyError):  # the eval was deleted while it ran
            await store.update_eval_run_status(self.eval_id, status)

    async def _persist(self, artifact: Mapping[str, Any]) -> None:
        store = self.workspace.store
        await store.append_eval_artifact(self.eval_id, self.run_id, artifact)
        runtime = await self.workspace.runtime()
        for case in artifact.get("testCases") or []:
            prompt = str(case.get("input", ""))
            for sample in case.get("samples") or []:
                trace_ref = sample.get("trace") or {}
                trace = None
                if trace_ref.get("traceId"):
                    trace = runtime.get_trace(str(trace_ref["traceId"]))
                if isinstance(trace, dict):
                    await store.upsert_trace(trace)
                thread_id = sample.get("threadId") or trace_ref.get("threadId")
                if not thread_id:
                    continue
                metadata = {
                    "source": "eval",
                    "runId": self.run_id,
                    "evalId": self.eval_id,
                    "testCaseId": case.get("testCaseId"),
                    "sampleIndex": sample.get("sampleIndex"),
                }
                await store.upsert_thread(str(thread_id), thread_title(prompt or str(thread_id)))
                await store.append_message(str(thread_id), "user", prompt, metadata)
                answer = sample.get("responseText") or ""
                await store.append_message(str(thread_id), "assistant", str(answer), metadata)
