"""Durable runs (docs/decisions.md): runs stopped at a gate are answered and resumed elsewhere.

"Process A" is a runtime whose stream is dropped at an approval gate without an answer (then the
runtime is closed): the store is left as a crash leaves it. "Process B" is a fresh runtime over
the same store: it answers the approval (no gate of its own waits for it) and resumes the run.
Tools and the action dispatcher must have run exactly once in total, and the run's event log
must read as one contiguous stream.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.durable_helpers import (
    Effects,
    approval_id,
    at_plan_gate,
    at_tool_gate,
    crash,
    fast_polling,
    plan_runtime,
    refunds,
    run_until,
    sequences,
    sqlite_kv,
    tool_runtime,
)
from tests.engine.plan_helpers import execute as execute_step
from tests.engine.plan_helpers import flow, normalised, status_changes, store, tool_results
from tests.storage.conftest import (  # noqa: F401  (fixtures used through kv_descriptor)
    DURABLE_BACKENDS,
    kv_descriptor,
    postgres_tables,
    redis_prefixes,
)
from tests.waiting import wait_until

PLAN_FLOW = flow(store("p-1"), execute_step("p-1"))
ALL_EFFECTS = [("audit", "o-1"), ("refund", "o-1"), ("audit", "o-2"), ("refund", "o-2")]
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture(params=DURABLE_BACKENDS)
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh durable store of each kind: SQLite, and the real PostgreSQL and Redis."""
    return kv_descriptor(str(request.param), request, tmp_path)


@pytest.fixture
def sqlite(tmp_path: Path) -> dict[str, Any]:
    """A fresh SQLite store."""
    return sqlite_kv(tmp_path)


def comparable(events: list[dict[str, Any]]) -> list[Any]:
    """Events with contiguous sequences, random ids renamed and timestamps blanked."""

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        if isinstance(value, str):
            return _TIMESTAMP.sub("<time>", value)
        return value

    return [blank(e) for e in normalised(events)]


async def uninterrupted(build: Any, prompt: str, answer: str, *, query: bool) -> Any:
    """The events of the same run in one piece (in-memory store, answered in-stream)."""
    effects = Effects()
    runtime = build(None, effects)
    stream = runtime.query(prompt, "t-1") if query else runtime.run_specialist("w", prompt, "t-1")
    return await collect_events(stream, runtime, approve=answer), effects


# --------------------------------------------------------------------------- the main scenarios


async def test_a_run_stopped_at_a_tool_gate_is_answered_and_resumed_from_another_runtime(
    kv: dict[str, Any],
) -> None:
    effects = Effects()
    first = tool_runtime(kv, effects)
    stream = first.run_specialist("w", refunds("o-1", "o-2"), thread_id="t-1")
    run_id = stream.run_id
    assert run_id is not None and run_id.startswith("run-")
    before = await run_until(stream, at_tool_gate)
    request = approval_id(before)
    del stream
    await crash(first)
    assert effects.calls == [("audit", "o-1")]

    second = tool_runtime(kv, effects)
    record = await second.get_run(run_id)
    assert record is not None
    assert (record["status"], record["lastSequence"]) == ("waiting_approval", len(before))
    assert second.pending_approvals() == []  # no gate of this process waits for it
    pending = await second.list_pending_approvals()
    assert [(p["id"], p["runId"], p["target"]) for p in pending] == [(request, run_id, "refund")]
    await second.respond_to_approval(request, "approve")
    assert await second.list_pending_approvals() == []

    after = await collect_events(second.resume_run(run_id), second, approve="approve")
    assert effects.calls == ALL_EFFECTS
    # Only what the first stream had not delivered, numbered after it.
    assert sequences(after) == list(range(len(before) + 1, len(before) + len(after) + 1))
    assert after[0]["type"] == "approval-decision" and after[0]["data"]["id"] == request
    assert after[-1]["type"] == "tool-agent" and after[-1]["state"] == "result"
    assert after[-1]["toolInvocationId"] == before[0]["toolInvocationId"]  # the same entry id
    assert await second.run_events(run_id) == before + after
    assert await second.run_events(run_id, after_sequence=len(before)) == after
    record = await second.get_run(run_id)
    assert record is not None
    assert (record["status"], record["resumeCount"]) == ("completed", 1)
    assert record["lastSequence"] == len(before) + len(after)

    reference, reference_effects = await uninterrupted(
        tool_runtime, refunds("o-1", "o-2"), "approve", query=False
    )
    assert comparable(before + after) == comparable(reference)
    assert reference_effects.calls == effects.calls
    await second.aclose()


async def test_a_run_stopped_at_a_plan_gate_is_dispatched_once_after_resuming(
    kv: dict[str, Any],
) -> None:
    effects = Effects()
    first = plan_runtime(kv, effects)
    stream = first.query(PLAN_FLOW, thread_id="t-1")
    run_id = stream.run_id
    assert run_id is not None
    before = await run_until(stream, at_plan_gate)
    request = approval_id(before)
    del stream
    await crash(first)

    second = plan_runtime(kv, effects)
    await second.respond_to_approval(request, "approve")
    after = await collect_events(second.query("", "t-1", resume=run_id), second)
    assert len(effects.of("dispatch")) == 1
    assert status_changes(after) == [
        ("pending_approval", "approved"),
        ("approved", "executing"),
        ("executing", "executed"),
    ]
    assert tool_results(after, "executePlan")[0]["entitiesAffected"] == 1
    # The sub-agents keep their invocation ids (the call_agent call ids) across the resume.
    executor_calls = [e for e in before if e["type"] == "tool-agent" and e["state"] == "call"]
    executor_results = [e for e in after if e["type"] == "tool-agent" and e["state"] == "result"]
    assert executor_results[0]["toolInvocationId"] == executor_calls[-1]["toolInvocationId"]
    assert executor_results[-1]["toolInvocationId"] == before[0]["toolInvocationId"]
    log = await second.run_events(run_id)
    assert sequences(log) == list(range(1, len(log) + 1))
    assert log == before + after
    plan = await second._compiled.kv.get("acme", "plan:p-1")
    assert plan["status"] == "executed"

    reference, reference_effects = await uninterrupted(
        plan_runtime, PLAN_FLOW, "approve", query=True
    )
    assert comparable(before + after) == comparable(reference)
    assert reference_effects.of("dispatch") == effects.of("dispatch")
    await second.aclose()


@pytest.mark.parametrize("outcome", ["reject", "revise"])
@pytest.mark.parametrize("channel", ["tool", "plan"])
async def test_a_refusal_recorded_across_runtimes_gives_the_live_result(
    sqlite: dict[str, Any], outcome: str, channel: str
) -> None:
    build, prompt, stop = (
        (tool_runtime, refunds("o-1"), at_tool_gate)
        if channel == "tool"
        else (plan_runtime, PLAN_FLOW, at_plan_gate)
    )
    effects = Effects()
    first = build(sqlite, effects)
    stream = (
        first.query(prompt, "t-1")
        if channel == "plan"
        else first.run_specialist("w", prompt, "t-1")
    )
    run_id = stream.run_id
    before = await run_until(stream, stop)
    request = approval_id(before)
    del stream
    await crash(first)

    second = build(sqlite, effects)
    await second.respond_to_approval(request, outcome, feedback="not now")
    after = await collect_events(second.resume_run(run_id), second)
    assert effects.of("refund") == [] and effects.of("dispatch") == []

    reference_runtime = build(None, Effects())
    reference_stream = (
        reference_runtime.query(prompt, "t-1")
        if channel == "plan"
        else reference_runtime.run_specialist("w", prompt, "t-1")
    )
    reference = await collect_events(
        reference_stream, reference_runtime, approve=outcome, feedback="not now"
    )
    assert comparable(before + after) == comparable(reference)
    if channel == "plan":
        plan = await second._compiled.kv.get("acme", "plan:p-1")
        assert plan["status"] == "draft"
    await second.aclose()


async def test_a_resumed_run_without_a_decision_asks_again_with_the_same_approval(
    sqlite: dict[str, Any],
) -> None:
    effects = Effects()
    first = plan_runtime(sqlite, effects)
    stream = first.query(PLAN_FLOW, thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_plan_gate)
    del stream
    await crash(first)

    second = plan_runtime(sqlite, effects)
    after = await collect_events(second.resume_run(run_id), second, approve="approve")
    # The waiting gate shows its request again: same id, same sequence numbers as before.
    assert after[:2] == before[-2:]
    assert after[2]["type"] == "approval-decision"
    assert after[2]["data"]["id"] == approval_id(before)
    assert after[2]["sequence"] == before[-1]["sequence"] + 1
    assert len(effects.of("dispatch")) == 1
    log = await second.run_events(run_id)
    assert sequences(log) == list(range(1, len(log) + 1))
    assert log == before + after[2:]
    await second.aclose()


async def test_a_resumed_run_stopped_again_is_resumed_once_more(sqlite: dict[str, Any]) -> None:
    effects = Effects()
    first = tool_runtime(sqlite, effects)
    stream = first.run_specialist("w", refunds("o-1", "o-2"), thread_id="t-1")
    run_id = stream.run_id
    assert run_id is not None
    seen = await run_until(stream, at_tool_gate)
    del stream
    await crash(first)

    second = tool_runtime(sqlite, effects)
    await second.respond_to_approval(approval_id(seen), "approve")
    stream = second.resume_run(run_id)
    more = await run_until(stream, at_tool_gate)  # the second refund's gate
    del stream
    await crash(second)
    seen += more

    third = tool_runtime(sqlite, effects)
    await third.respond_to_approval(approval_id(more), "approve")
    rest = await collect_events(third.resume_run(run_id), third)
    assert effects.calls == ALL_EFFECTS
    assert await third.run_events(run_id) == seen + rest
    record = await third.get_run(run_id)
    assert record is not None and (record["status"], record["resumeCount"]) == ("completed", 2)
    await third.aclose()


# --------------------------------------------------------------------------- ScriptedModel


async def test_a_scripted_model_run_resumes_at_a_tool_gate_without_asking_the_model_again(
    sqlite: dict[str, Any],
) -> None:
    effects = Effects()
    model = ScriptedModel()
    model.add_turn("auditing", tool_calls=[("audit", {"order": "o-1"})])
    model.add_turn(tool_calls=[("refund", {"order": "o-1"})])
    model.add_turn("never reached")
    first = tool_runtime(sqlite, effects, interpreter=model)
    stream = first.run_specialist("w", "refund o-1", thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_tool_gate)
    del stream
    await crash(first)
    assert len(model.requests) == 2

    # Process B's model: an offline client is asked for the cut turn again (it must repeat
    # it), then for the rest. The first turn is replayed from the journal, not asked for.
    resumed = ScriptedModel()
    resumed.add_turn(tool_calls=[("refund", {"order": "o-1"})])
    resumed.add_turn("refunded o-1")
    second = tool_runtime(sqlite, effects, interpreter=resumed)
    await second.respond_to_approval(approval_id(before), "approve")
    after = await collect_events(second.resume_run(run_id), second)
    resumed.assert_all_used()
    assert [r.turn for r in resumed.requests] == [2, 3]
    last = resumed.requests[-1]
    assert [[i.tool_name for i in turn] for turn in last.turns] == [["audit"], ["refund"]]
    assert last.turns[1][0].result == {"refunded": "o-1"}
    assert effects.calls == [("audit", "o-1"), ("refund", "o-1")]
    assert [e["text"] for e in after if e["type"] == "text"] == ["refunded o-1"]
    log = await second.run_events(run_id)
    assert log == before + after
    await second.aclose()


async def test_a_scripted_model_run_resumes_at_a_plan_gate_of_a_sub_agent(
    sqlite: dict[str, Any],
) -> None:
    body = {"actions": [{"kind": "discount", "pct": 5}]}
    store_args = {"specName": "Promo", "planId": "p-1", "body": body}
    effects = Effects()
    model = ScriptedModel()
    model.add_turn(tool_calls=[("call_agent", {"agent": "planner", "prompt": "plan"})], agent="c")
    model.add_turn(tool_calls=[("storePlan", store_args)], agent="planner")
    model.add_turn("stored p-1", agent="planner")
    model.add_turn(tool_calls=[("call_agent", {"agent": "executor", "prompt": "go"})], agent="c")
    model.add_turn(tool_calls=[("executePlan", {"planId": "p-1"})], agent="executor")
    first = plan_runtime(sqlite, effects, interpreter=model)
    stream = first.query("promo please", thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_plan_gate)
    del stream
    await crash(first)

    resumed = ScriptedModel()
    resumed.add_turn(tool_calls=[("call_agent", {"agent": "executor", "prompt": "go"})], agent="c")
    resumed.add_turn(tool_calls=[("executePlan", {"planId": "p-1"})], agent="executor")
    resumed.add_turn("executed p-1", agent="executor")
    resumed.add_turn("all done", agent="c")
    second = plan_runtime(sqlite, effects, interpreter=resumed)
    await second.respond_to_approval(approval_id(before), "approve")
    after = await collect_events(second.resume_run(run_id), second)
    resumed.assert_all_used()
    # Innermost first: the coordinator's cut turn is finished once its call_agent returns.
    assert [(r.agent, r.turn) for r in resumed.requests] == [
        ("executor", 1),
        ("executor", 2),
        ("c", 2),
        ("c", 3),
    ]
    assert len(effects.of("dispatch")) == 1
    assert [e["text"] for e in after if e["type"] == "text"] == ["executed p-1", "all done"]
    memory = await second._compiled.kv.get("acme", "agent-memory:t-1:c")
    assert [m["content"] for m in memory["messages"]] == ["promo please", "all done"]
    log = await second.run_events(run_id)
    assert sequences(log) == list(range(1, len(log) + 1))
    await second.aclose()


async def test_a_live_model_continues_a_cut_turn_in_a_new_turn(sqlite: dict[str, Any]) -> None:
    effects = Effects()
    model = ScriptedModel(live=True)
    model.add_turn(tool_calls=[("refund", {"order": "o-1"}), ("audit", {"order": "o-9"})])
    first = tool_runtime(sqlite, effects, interpreter=model)
    stream = first.run_specialist("w", "refund o-1", thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_tool_gate)
    del stream
    await crash(first)

    # A live model cannot repeat a turn: the cut turn ends after its last journaled call, and
    # the model is asked for a new turn with that call's result.
    resumed = ScriptedModel(live=True)
    resumed.add_turn("refunded o-1")
    second = tool_runtime(sqlite, effects, interpreter=resumed)
    await second.respond_to_approval(approval_id(before), "approve")
    after = await collect_events(second.resume_run(run_id), second)
    resumed.assert_all_used()
    assert [r.turn for r in resumed.requests] == [2]
    assert [[i.tool_name for i in t] for t in resumed.requests[0].turns] == [["refund"]]
    assert effects.calls == [("refund", "o-1")]
    assert [e["type"] for e in after][-3:] == ["data-latency-summary", "finish", "tool-agent"]
    assert next(e for e in after if e["type"] == "finish")["finishReason"] == "stop"
    await second.aclose()


# --------------------------------------------------------------------------- cross-process gates


async def test_a_waiting_gate_picks_up_a_decision_made_by_another_runtime(
    sqlite: dict[str, Any],
) -> None:
    effects = Effects()
    first = fast_polling(tool_runtime(sqlite, effects))
    other = tool_runtime(sqlite, Effects())
    events = []
    async for event in first.run_specialist("w", refunds("o-1"), thread_id="t-1"):
        events.append(event)
        if event["type"] == "approval-required":
            await other.respond_to_approval(event["data"]["id"], "approve", feedback="ok")
    assert effects.calls == [("audit", "o-1"), ("refund", "o-1")]
    decision = next(e for e in events if e["type"] == "approval-decision")
    assert decision["data"]["feedback"] == "ok"
    assert first.pending_approvals() == []
    await first.aclose()
    await other.aclose()


async def test_answering_a_durable_approval_twice_or_from_another_tenant_is_refused(
    sqlite: dict[str, Any],
) -> None:
    from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
    from flowai_harness.errors import ApprovalAlreadyResolvedError, ApprovalNotFoundError

    effects = Effects()
    first = tool_runtime(sqlite, effects)
    stream = first.run_specialist("w", refunds("o-1"), thread_id="t-1")
    request = approval_id(await run_until(stream, at_tool_gate))
    del stream
    await crash(first)

    other_tenant = create_runtime(
        define_runtime(
            define_tenant("globex", "v1"),
            agents=[define_specialist("w", model="claude-haiku-4-5", prompt="p")],
        ),
        data_environment={"kv": sqlite},
    )
    with pytest.raises(ApprovalNotFoundError, match=f"approval not found: {request}"):
        await other_tenant.respond_to_approval(request, "approve")
    second = tool_runtime(sqlite, effects)
    with pytest.raises(ApprovalNotFoundError, match="approval not found: nope"):
        await second.respond_to_approval("nope", "approve")
    await second.respond_to_approval(request, "reject")
    with pytest.raises(ApprovalAlreadyResolvedError, match=f"already resolved: {request}"):
        await second.respond_to_approval(request, "approve")
    await other_tenant.aclose()
    await second.aclose()


async def test_a_tool_that_was_running_when_the_run_stopped_is_not_run_again(
    sqlite: dict[str, Any],
) -> None:
    import json

    effects = Effects()
    first = tool_runtime(sqlite, effects)
    prompt = json.dumps({"script": [{"tool": "slow", "args": {"order": "o-1"}}]})
    stream = first.run_specialist("w", prompt, thread_id="t-1")
    run_id = stream.run_id
    before = []
    async for event in stream:
        before.append(event)
        if event["type"] == "tool-invocation" and event["state"] == "call":
            break
    await wait_until(lambda: effects.of("slow"))  # the handler has started
    del stream
    await crash(first)

    second = tool_runtime(sqlite, effects)
    after = await collect_events(second.resume_run(run_id), second)
    assert effects.of("slow") == ["o-1"]
    (result,) = tool_results(after, "slow")
    assert result == {
        "error": "Interrupted: the run stopped while tool 'slow' was running; it was not run "
        "again, so whether it took effect is unknown"
    }
    record = await second.get_run(run_id)
    assert record is not None and record["status"] == "completed"
    await second.aclose()


# --------------------------------------------------------------------------- what cannot resume


async def test_a_cancelled_run_expires_its_approval_and_cannot_be_resumed(
    sqlite: dict[str, Any],
) -> None:
    effects = Effects()
    first = tool_runtime(sqlite, effects)
    stream = first.run_specialist("w", refunds("o-1"), thread_id="t-1")
    run_id = stream.run_id
    request = approval_id(await run_until(stream, at_tool_gate))
    await stream.aclose()
    record = await first.get_run(run_id)
    assert record is not None and record["status"] == "cancelled"
    assert await first.list_pending_approvals() == []
    events = await collect_events(first.resume_run(run_id), first)
    assert [e["error"]["message"] for e in events] == [
        f"run {run_id} is cancelled and cannot be resumed (only running or waiting_approval "
        f"runs can)"
    ]
    audit = await first._compiled.kv.get("acme", f"approval:{request}")
    assert audit["status"] == {"status": "expired", "reason": "cancelled"}
    assert audit["runId"] == run_id
    await first.aclose()


async def test_resuming_reports_every_problem_as_one_error_event(sqlite: dict[str, Any]) -> None:
    effects = Effects()
    runtime = tool_runtime(sqlite, effects)
    done = runtime.run_specialist("w", refunds(), thread_id="t-done")
    await collect_events(done, runtime)
    stream = runtime.run_specialist("w", refunds("o-1"), thread_id="t-1")
    waiting = stream.run_id
    await run_until(stream, at_tool_gate)

    async def problem(stream: Any) -> str:
        events = await collect_events(stream, runtime)
        assert len(events) == 1 and events[0]["sequence"] == 1, events
        return str(events[0]["error"]["message"])

    assert await problem(runtime.resume_run("run-missing")) == "run not found: run-missing"
    assert await problem(runtime.resume_run(str(done.run_id))) == (
        f"run {done.run_id} is completed and cannot be resumed (only running or "
        f"waiting_approval runs can)"
    )
    assert await problem(runtime.resume_run(str(waiting))) == (
        f"run {waiting} is already running in this process"
    )
    with pytest.raises(TypeError, match="resume must be a string or None; got int"):
        runtime.query("", "t-1", resume=123)  # type: ignore[arg-type]
    assert await problem(runtime.query("", "t-1", resume=" ")) == (
        "resume must be the id of a run (a non-empty string); got ' '"
    )
    await stream.aclose()
    await runtime.aclose()

    other = tool_runtime(sqlite, effects)
    crashed = other.run_specialist("w", refunds("o-2"), thread_id="t-2")
    crashed_id = str(crashed.run_id)
    await run_until(crashed, at_tool_gate)
    del crashed
    await crash(other)
    runtime = tool_runtime(sqlite, effects)
    assert await problem(runtime.query("", "t-other", resume=crashed_id)) == (
        f"run {crashed_id} belongs to thread 't-2', not 't-other'"
    )
    assert await problem(runtime.query("another prompt", "t-2", resume=crashed_id)) == (
        f"run {crashed_id} was started with another prompt; pass its prompt or an empty "
        f"string to resume it"
    )
    resumed = runtime.query(refunds("o-2"), "t-2", resume=crashed_id)
    assert resumed.run_id == crashed_id
    events = await collect_events(resumed, runtime, approve="approve")
    assert events[0]["type"] == "approval-required"  # asked again: nobody had answered
    assert effects.of("refund") == ["o-2"]
    await runtime.aclose()


async def test_runs_on_the_memory_store_have_records_but_no_log_and_cannot_resume() -> None:
    from flowai_harness.errors import SpecTypeError, SpecValueError

    effects = Effects()
    runtime = tool_runtime(None, effects)
    assert runtime.durable_runs is False
    stream = runtime.run_specialist("w", refunds("o-1"), thread_id="t-1")
    run_id = str(stream.run_id)
    assert await runtime.get_run(run_id) is None  # the record exists once the run has started
    events = await collect_events(stream, runtime, approve="approve")
    record = await runtime.get_run(run_id)
    assert record is not None
    assert {k: record[k] for k in ("status", "durable", "lastSequence", "threadId")} == {
        "status": "completed",
        "durable": False,
        "lastSequence": len(events),
        "threadId": "t-1",
    }
    assert record["entryInvocationId"] == events[0]["toolInvocationId"]
    assert [r["runId"] for r in await runtime.list_runs("t-1")] == [run_id]
    assert await runtime.list_runs("t-2") == []
    assert await runtime.run_events(run_id) == []
    resumed = await collect_events(runtime.resume_run(run_id), runtime)
    assert resumed[0]["error"]["message"].startswith(f"run {run_id} cannot be resumed: runs are")
    with pytest.raises(SpecValueError, match="run not found: run-x"):
        await runtime.run_events("run-x")
    with pytest.raises(SpecValueError, match="after_sequence must be 0 or more; got -1"):
        await runtime.run_events(run_id, after_sequence=-1)
    with pytest.raises(SpecTypeError, match="after_sequence must be an integer; got bool"):
        await runtime.run_events(run_id, after_sequence=True)
    with pytest.raises(SpecTypeError, match="run_id must be a string; got int"):
        await runtime.get_run(5)  # type: ignore[arg-type]
    with pytest.raises(SpecTypeError, match="thread_id must be a string or None; got int"):
        await runtime.list_runs(5)  # type: ignore[arg-type]


async def test_list_runs_returns_the_records_of_a_thread_oldest_first(
    sqlite: dict[str, Any],
) -> None:
    runtime = tool_runtime(sqlite, Effects())
    ids = []
    for thread in ("t-1", "t-2", "t-1"):
        stream = runtime.run_specialist("w", refunds(), thread_id=thread)
        ids.append(stream.run_id)
        await collect_events(stream, runtime)
    assert [r["runId"] for r in await runtime.list_runs("t-1")] == [ids[0], ids[2]]
    assert sorted(r["runId"] for r in await runtime.list_runs()) == sorted(ids)
    assert {r["status"] for r in await runtime.list_runs()} == {"completed"}
    await runtime.aclose()


async def test_an_approval_does_not_cover_a_plan_stored_again_while_the_run_was_stopped(
    sqlite: dict[str, Any],
) -> None:
    effects = Effects()
    first = plan_runtime(sqlite, effects)
    stream = first.query(PLAN_FLOW, thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_plan_gate)
    old = approval_id(before)
    del stream
    await crash(first)

    second = plan_runtime(sqlite, effects)
    replaced = {"actions": [{"kind": "discount", "pct": 9}]}
    await collect_events(second.query(flow(store("p-1", replaced)), thread_id="t-other"), second)
    await second.respond_to_approval(old, "approve")  # the reviewer saw the 5% plan

    after = await collect_events(second.resume_run(run_id), second, approve="approve")
    asked = after[0]
    assert asked["type"] == "approval-required" and asked["data"]["id"] != old
    assert asked["sequence"] == len(before) + 1  # new history, after the logged events
    assert asked["data"]["payload"]["actions"][0]["payload"] == {"pct": 9}
    assert [a[0]["payload"] for a in effects.of("dispatch")] == [{"pct": 9}]
    assert await second.run_events(run_id) == before + after
    await second.aclose()
