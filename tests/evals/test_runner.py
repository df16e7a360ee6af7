"""Running evals on a runtime (evals/runner.py), selection and bounds enforced."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from flowai_harness import (
    EvalArtifact,
    EvalRequest,
    HarnessEvalEventEnvelope,
    ResponseScorer,
    TestingConfig,
    create_runtime,
    define_coordinator,
    define_eval_config,
    define_eval_request,
    define_executor,
    define_expected_action,
    define_expected_actions,
    define_final_response_eval,
    define_plan,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
    define_test_case,
    define_tool,
    define_trajectory_scorer_config,
)
from flowai_harness.errors import RunError, SpecTypeError
from flowai_harness.evals import runner
from flowai_harness.handle import Runtime
from flowai_harness.ports import ModelRequest
from flowai_harness.testing import ModelTurn, ScriptedModel, ToolCallStep
from tests.waiting import wait_for_other_tasks, wait_until

TENANT = define_tenant("acme", "v1")
MODEL = "claude-haiku-4-5"
MOCK = "All good."


def mock_runtime(**kwargs: Any) -> Runtime:
    agents = [
        define_coordinator("desk", model=MODEL, prompt="route", routes=["helper"]),
        define_specialist("helper", model=MODEL, prompt="help"),
    ]
    spec = define_runtime(TENANT, agents=agents)
    return create_runtime(spec, testing=TestingConfig(mock_response=MOCK), **kwargs)


def contains(text: str) -> Any:
    return define_final_response_eval(scorers=[ResponseScorer.contains(id="has", text=text)])


def request_of(runtime: Any, cases: list[Any], **config: Any) -> EvalRequest:
    config.setdefault("samples_per_case", 1)
    return define_eval_request(
        runtime, workspace_id="ws", test_cases=cases, config=define_eval_config(**config)
    )


def probe_case(case_id: str) -> Any:
    """A case for ``probe_runtime``: one ``probe`` call expected."""
    return define_test_case(case_id, "go", expected_trajectory=["probe"])


async def envelopes_of(stream: Any) -> list[dict[str, Any]]:
    return [envelope async for envelope in stream]


def probe_runtime(
    *, sleep: float = 0.05, approval: str = "never", calls: int = 1
) -> tuple[Runtime, dict[str, int]]:
    """A specialist ``probe_agent`` whose model calls the async tool ``probe`` ``calls`` times.

    The returned counters record how many probes ran and the most that ran at once.
    """
    stats = {"running": 0, "max": 0, "ran": 0}

    @define_tool("probe", {}, approval=approval)
    async def probe(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        stats["running"] += 1
        stats["max"] = max(stats["max"], stats["running"])
        try:
            await asyncio.sleep(sleep)
        finally:
            stats["running"] -= 1
        stats["ran"] += 1
        return {"ok": True}

    def respond(request: ModelRequest) -> ModelTurn:
        if request.turn <= calls:
            return ModelTurn(tool_calls=[ToolCallStep("probe", {})])
        return ModelTurn(text="probed")

    agent = define_specialist("probe_agent", model=MODEL, prompt="probe", tools=[probe])
    spec = define_runtime(TENANT, agents=[agent])
    return create_runtime(spec, interpreter=ScriptedModel(respond=respond)), stats


# --------------------------------------------------------------------------- request forms


@pytest.mark.parametrize("form", ["model", "json", "mapping", "model_dump"])
async def test_run_eval_accepts_every_request_form(form: str) -> None:
    runtime = mock_runtime()
    request = request_of(runtime, [define_test_case("a", "hi", final_response=contains("good"))])

    class Dumpable:
        def model_dump(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs["by_alias"] is True
            return request.model_dump(**kwargs)

    given: Any = {
        "model": request,
        "json": json.dumps(request.to_wire()),
        "mapping": request.to_wire(),
        "model_dump": Dumpable(),
    }[form]
    artifact = await runtime.run_eval(given)
    assert artifact["summary"]["passed"] == 1
    EvalArtifact.model_validate(artifact)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("{not json", "eval_request is not valid JSON"),
        ("[1, 2]", "must describe a JSON object; got list"),
        (42, "eval_request must be an EvalRequest, a mapping"),
        ({"tenantId": "acme"}, "the required key 'workspace_id' is missing"),
    ],
)
def test_unparsable_requests_raise_value_error_at_call_time(given: Any, message: str) -> None:
    runtime = mock_runtime()
    with pytest.raises(ValueError, match=message):
        runtime.run_eval(given)
    with pytest.raises(ValueError, match=message):
        runtime.stream_eval(given)


def test_a_request_for_another_tenant_is_refused() -> None:
    runtime = mock_runtime()
    wire = request_of(runtime, [define_test_case("a", "hi")]).to_wire()
    wire["tenantId"] = "globex"
    with pytest.raises(ValueError, match="tenant 'globex' does not match the runtime tenant"):
        runtime.run_eval(wire)


# --------------------------------------------------------------------------- modes


def roles_runtime(**kwargs: Any) -> Runtime:
    plan = define_plan("Promo", {"type": "object", "properties": {"actions": {"type": "array"}}})
    agents = [
        define_specialist("first_specialist", model=MODEL, prompt="s"),
        define_planner("planner_one", model=MODEL, prompt="p", plan=plan),
        define_executor("executor_one", model=MODEL, prompt="e", plan=plan),
        define_executor("executor_two", model=MODEL, prompt="e", plan=plan),
    ]
    return create_runtime(define_runtime(TENANT, agents=agents), **kwargs)


@pytest.mark.parametrize(
    ("mode", "target", "entry"),
    [
        ("planner", None, "planner_one"),
        ("executor", None, "executor_one"),
        ("specialist", "first_specialist", "first_specialist"),
    ],
)
async def test_each_mode_starts_at_its_entry_agent(
    mode: str, target: str | None, entry: str
) -> None:
    seen: list[dict[str, Any]] = []
    runtime = roles_runtime(event_hooks=[seen.append])
    case = define_test_case("a", "go", expected_trajectory=[])
    request = request_of(runtime, [case], mode=mode, target_agent_id=target)
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    first = seen[0]
    assert first["type"] == "tool-agent"
    assert (first["agentName"], first["toolInvocationId"]) == (entry, f"entry-{entry}")
    assert sample["threadId"] == f"eval-{artifact['runId']}-a-0"
    assert sample["trace"]["threadId"] == sample["threadId"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mode": "sequential"}, "mode 'sequential' evaluates the coordinator, but the runtime"),
        ({"mode": "specialist", "target_agent_id": "nobody"}, "'nobody' is not an agent"),
        ({"mode": "specialist", "target_agent_id": "planner_one"}, "is a planner, not a"),
        ({"mode": "testCaseBuilder"}, "mode 'testCaseBuilder' is only available offline"),
    ],
)
def test_a_mode_without_its_entry_agent_is_refused(config: dict[str, Any], message: str) -> None:
    runtime = roles_runtime()
    request = request_of(runtime, [define_test_case("a", "go", expected_trajectory=[])], **config)
    with pytest.raises(ValueError, match=message):
        runtime.run_eval(request)


def test_the_trajectory_only_preset_is_refused_at_run_time() -> None:
    runtime = mock_runtime()
    request = define_eval_request(
        runtime,
        workspace_id="ws",
        test_cases=[define_test_case("a", "go")],
        scorer_preset="trajectory_only",
        config=define_eval_config(samples_per_case=1),
    )
    with pytest.raises(ValueError, match="'trajectory_only' is only available offline"):
        runtime.run_eval(request)


# --------------------------------------------------------------------------- capture


async def test_approval_gates_are_bypassed_and_the_trajectory_is_captured() -> None:
    runtime, stats = probe_runtime(approval="always", calls=2)
    case = define_test_case("probe-twice", "go", expected_trajectory=["probe", "probe"])
    request = request_of(runtime, [case], mode="specialist", target_agent_id="probe_agent")
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    assert stats["ran"] == 2
    assert runtime.pending_approvals() == []
    assert sample["actualTrajectory"] == ["probe", "probe"]
    assert sample["passed"] is True
    assert [c["scorerName"] for c in sample["componentScores"]] == ["trajectory", "composite"]
    tools = [e for e in sample["metadata"]["trajectoryEvents"] if e["kind"] == "tool"]
    assert [(e["name"], e["agent"], e["depth"]) for e in tools] == [
        ("probe", "probe_agent", 1),
        ("probe", "probe_agent", 1),
    ]
    assert sample["responseText"] == "probed"


def sub_agent_runtime() -> tuple[Runtime, ScriptedModel]:
    @define_tool("lookup", {"sku": str})
    def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"sku": args["sku"], "price": 4.5}

    model = ScriptedModel()
    agents = [
        define_coordinator("desk", model=MODEL, prompt="route", routes=["pricing"]),
        define_specialist("pricing", model=MODEL, prompt="price", tools=[lookup]),
    ]
    return create_runtime(define_runtime(TENANT, agents=agents), interpreter=model), model


def queue_sub_agent_turns(model: ScriptedModel) -> None:
    model.add_turn(
        tool_calls=[("call_agent", {"agent": "pricing", "prompt": "A-1?"})], agent="desk"
    )
    model.add_turn(tool_calls=[("lookup", {"sku": "A-1"})], agent="pricing")
    model.add_turn("It costs 4.50", agent="pricing")
    model.add_turn("The price of A-1 is 4.50.", agent="desk")


@pytest.mark.parametrize(
    ("include_sub_agents", "trajectory"),
    [(False, ["call_agent"]), (True, ["call_agent", "lookup"])],
)
async def test_sub_agent_tools_count_only_when_the_scorer_config_includes_them(
    include_sub_agents: bool, trajectory: list[str]
) -> None:
    runtime, model = sub_agent_runtime()
    queue_sub_agent_turns(model)
    case = define_test_case("price", "price of A-1?", expected_trajectory=["call_agent"])
    request = request_of(
        runtime,
        [case],
        scorer_config=define_trajectory_scorer_config(include_sub_agents=include_sub_agents),
    )
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    model.assert_all_used()
    assert sample["actualTrajectory"] == trajectory
    assert sample["passed"] is (not include_sub_agents)
    # only the entry agent's own text is the response
    assert sample["responseText"] == "The price of A-1 is 4.50."
    assert [i["agent"] for i in sample["modelInvocations"]] == ["pricing", "desk"]


async def test_planned_and_executed_actions_are_captured_and_scored() -> None:
    plan = define_plan("Promo", {"type": "object", "properties": {"actions": {"type": "array"}}})
    dispatched: list[Any] = []

    def dispatcher(actions: list[Any], ctx: Any) -> dict[str, Any]:
        dispatched.append(actions)
        return {"entitiesAffected": 1, "summary": "ok", "details": None}

    agents = [
        define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
        define_planner("planner", model=MODEL, prompt="plan", plan=plan),
        define_executor(
            "executor", model=MODEL, prompt="run", plan=plan, approval={"plans": "always"}
        ),
    ]
    runtime = create_runtime(
        define_runtime(TENANT, agents=agents),
        interpreter="scripted",
        action_dispatcher=dispatcher,
    )
    body = {"actions": [{"kind": "discount", "pct": 5}]}

    def script(*calls: tuple[str, Any]) -> str:
        return json.dumps({"script": [{"tool": name, "args": args} for name, args in calls]})

    prompt = script(
        (
            "call_agent",
            {
                "agent": "planner",
                "prompt": script(
                    ("storePlan", {"specName": "Promo", "planId": "p1", "body": body})
                ),
            },
        ),
        ("call_agent", {"agent": "executor", "prompt": script(("executePlan", {"planId": "p1"}))}),
    )
    expected = define_expected_actions(
        planned_actions=[define_expected_action("discount", {"pct": 5})],
        executed_actions=[define_expected_action("discount", {"pct": 5})],
    )
    case = define_test_case(
        "promo", prompt, expected_actions=expected, expected_trajectory=["call_agent"] * 2
    )
    artifact = await runtime.run_eval(request_of(runtime, [case]))
    (sample,) = artifact["testCases"][0]["samples"]
    action = {"type": "discount", "payload": {"pct": 5}}
    assert sample["plannedActions"] == [action]
    assert sample["resolvedActions"] == [action]
    assert len(dispatched) == 1  # the plan gate ("always") was bypassed
    scores = {c["scorerName"]: c["score"] for c in sample["componentScores"]}
    assert scores == {
        "trajectory": 1.0,
        "planned_actions": 1.0,
        "executed_actions": 1.0,
        "composite": 1.0,
    }


async def test_an_entry_agent_failure_fails_the_sample_without_scores() -> None:
    model = ScriptedModel().add_turn(error="upstream exploded")
    agents = [define_specialist("solo", model=MODEL, prompt="s")]
    runtime = create_runtime(define_runtime(TENANT, agents=agents), interpreter=model)
    case = define_test_case("a", "go", expected_trajectory=[])
    request = request_of(runtime, [case], mode="specialist", target_agent_id="solo")
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["passed"] is False
    assert sample["aggregateScore"] == 0.0
    assert sample["componentScores"] == []
    assert sample["error"] == "upstream exploded"
    trace = runtime.get_trace(sample["trace"]["traceId"])
    assert trace is not None
    assert (trace["status"], trace["stage"], trace["error"]) == (
        "failed",
        "run",
        "upstream exploded",
    )
    assert artifact["summary"]["failed"] == 1


# --------------------------------------------------------------------------- selection


async def test_tags_filter_and_test_case_ids_select_the_cases_that_run() -> None:
    runtime = mock_runtime()
    cases = [
        define_test_case("a", "one", tags=["smoke"]),
        define_test_case("b", "two", tags=["slow"]),
        define_test_case("c", "three", tags=["smoke", "slow"]),
        define_test_case("d", "four"),
    ]
    by_tag = await runtime.run_eval(request_of(runtime, cases, tags_filter=["smoke"]))
    assert [c["testCaseId"] for c in by_tag["testCases"]] == ["a", "c"]
    assert by_tag["summary"]["totalTestCases"] == 2
    assert by_tag["summary"]["skipped"] == 2

    by_id = await runtime.run_eval(request_of(runtime, cases, test_case_ids=["d", "b"]))
    assert [c["testCaseId"] for c in by_id["testCases"]] == ["b", "d"]

    both = await runtime.run_eval(
        request_of(runtime, cases, tags_filter=["slow"], test_case_ids=["a", "c"])
    )
    assert [c["testCaseId"] for c in both["testCases"]] == ["c"]
    threads = {t["scope"]["testCaseId"] for t in runtime.list_traces(eval_run_id=both["runId"])}
    assert threads == {"c"}


# --------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize(("concurrency", "expected_max"), [(1, 1), (3, 3), (10, 6)])
async def test_samples_of_a_case_run_at_most_concurrency_at_once(
    concurrency: int, expected_max: int
) -> None:
    runtime, stats = probe_runtime(sleep=0.05)
    request = request_of(
        runtime,
        [probe_case("a")],
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=6,
        concurrency=concurrency,
    )
    artifact = await runtime.run_eval(request)
    assert stats["ran"] == 6
    assert stats["max"] == expected_max
    samples = artifact["testCases"][0]["samples"]
    assert [s["sampleIndex"] for s in samples] == list(range(6))
    assert len({s["threadId"] for s in samples}) == 6


async def test_cases_run_one_after_another() -> None:
    runtime, stats = probe_runtime(sleep=0.02)
    cases = [probe_case(name) for name in ("a", "b", "c")]
    request = request_of(
        runtime,
        cases,
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=2,
        concurrency=2,
    )
    await runtime.run_eval(request)
    assert stats["ran"] == 6
    assert stats["max"] == 2


# --------------------------------------------------------------------------- timeouts


async def test_a_sample_over_its_timeout_fails_and_the_eval_goes_on() -> None:
    runtime, _ = probe_runtime(sleep=30)
    request = request_of(
        runtime,
        [probe_case("slow")],
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=2,
        concurrency=2,
        timeout_per_sample_secs=0.2,
    )
    started = time.perf_counter()
    artifact = await runtime.run_eval(request)
    assert time.perf_counter() - started < 5
    for sample in artifact["testCases"][0]["samples"]:
        assert sample["passed"] is False
        assert sample["error"] == "sample timed out after 0.2s"
        assert sample["componentScores"] == []
        trace = runtime.get_trace(sample["trace"]["traceId"])
        assert trace is not None and trace["status"] == "timedOut"
        assert trace["steps"][0]["toolName"] == "probe"
        assert trace["steps"][0]["result"] is None  # cancelled mid-call
    assert artifact["summary"]["failed"] == 1


# --------------------------------------------------------------------------- envelopes


async def test_envelopes_come_in_order_with_sequences_from_zero() -> None:
    runtime = mock_runtime()
    cases = [define_test_case("a", "one"), define_test_case("b", "two")]
    stream = runtime.stream_eval(request_of(runtime, cases, samples_per_case=2))
    envelopes = await envelopes_of(stream)
    assert [e["type"] for e in envelopes] == [
        "evalStarted",
        "testCaseStarted",
        "sampleCompleted",
        "sampleCompleted",
        "testCaseCompleted",
        "testCaseStarted",
        "sampleCompleted",
        "sampleCompleted",
        "testCaseCompleted",
        "evalCompleted",
    ]
    assert [e["sequence"] for e in envelopes] == list(range(len(envelopes)))
    assert {e["runId"] for e in envelopes} == {stream.run_id}
    for envelope in envelopes:
        assert set(envelope) == {"runId", "sequence", "type", "data"}
        HarnessEvalEventEnvelope.model_validate(envelope)
    started = envelopes[0]["data"]["artifact"]
    assert started["testCases"] == []
    assert started["summary"]["totalTestCases"] == 0
    assert envelopes[1]["data"] == {"testCaseId": "a"}
    assert envelopes[4]["data"]["testCase"]["testCaseId"] == "a"
    final = EvalArtifact.model_validate(envelopes[-1]["data"]["artifact"])
    assert final.run_id == stream.run_id
    assert [c.test_case_id for c in final.test_cases] == ["a", "b"]


async def test_cancel_ends_the_stream_with_eval_cancelled() -> None:
    runtime, stats = probe_runtime(sleep=30)
    request = request_of(
        runtime,
        [probe_case("a"), probe_case("b")],
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=4,
        concurrency=2,
    )
    stream = runtime.stream_eval(request)
    seen = [await anext(stream), await anext(stream)]
    assert [e["type"] for e in seen] == ["evalStarted", "testCaseStarted"]
    nxt = asyncio.ensure_future(anext(stream))
    await wait_until(lambda: stats["running"] == 2)  # two samples are inside the probe tool
    stream.cancel("operator stop")
    last = await asyncio.wait_for(nxt, 5)
    assert (last["type"], last["data"], last["sequence"]) == (
        "evalCancelled",
        {"reason": "operator stop"},
        2,
    )
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    await wait_until(lambda: stats["running"] == 0)
    statuses = [t["status"] for t in runtime.list_traces(eval_run_id=stream.run_id)]
    assert statuses == ["cancelled", "cancelled"]


async def test_closing_the_stream_stops_scheduling_samples() -> None:
    runtime, stats = probe_runtime(sleep=0.05)
    request = request_of(
        runtime,
        [probe_case("a")],
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=8,
        concurrency=1,
    )
    stream = runtime.stream_eval(request)
    async for envelope in stream:
        if envelope["type"] == "sampleCompleted":
            break
    await stream.aclose()
    await wait_for_other_tasks()  # a sample scheduled after the close would still be running
    assert stats["ran"] == 1
    assert stats["running"] == 0


async def test_a_defect_ends_the_eval_with_one_eval_failed_and_run_eval_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("scorer table")

    monkeypatch.setattr(runner, "score_with_plan", broken)
    runtime = mock_runtime()
    request = request_of(runtime, [define_test_case("a", "go")])
    envelopes = await envelopes_of(runtime.stream_eval(request))
    assert [e["type"] for e in envelopes] == ["evalStarted", "testCaseStarted", "evalFailed"]
    assert envelopes[-1]["data"]["error"] == "internal error: KeyError: 'scorer table'"
    with pytest.raises(RunError, match=r"eval eval-.* failed: internal error: KeyError"):
        await runtime.run_eval(request)


async def test_an_event_hook_that_raises_does_not_fail_the_sample() -> None:
    def hook(event: dict[str, Any]) -> None:
        if event["type"] == "step-start":
            raise RuntimeError("hook bug")

    runtime = mock_runtime(event_hooks=[hook])
    request = request_of(runtime, [define_test_case("a", "go", final_response=contains(MOCK))])
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["passed"] is True
    assert sample["error"] is None


# --------------------------------------------------------------------------- traces


async def test_traces_are_recorded_per_sample_and_filtered() -> None:
    runtime, _ = probe_runtime(sleep=0)
    cases = [probe_case("a"), probe_case("b")]
    config = {"mode": "specialist", "target_agent_id": "probe_agent", "samples_per_case": 2}
    first = await runtime.run_eval(request_of(runtime, cases, **config))
    second = await runtime.run_eval(request_of(runtime, cases, **config))

    assert len(runtime.list_traces()) == 8
    run_traces = runtime.list_traces(eval_run_id=first["runId"])
    assert len(run_traces) == 4
    assert {t["scope"]["evalRunId"] for t in run_traces} == {first["runId"]}
    assert len(runtime.list_traces(test_case_id="a")) == 4
    assert len(runtime.list_traces(eval_run_id=second["runId"], test_case_id="b")) == 2
    sample = second["testCases"][1]["samples"][1]
    (by_thread,) = runtime.list_traces(thread_id=sample["threadId"])
    assert by_thread["traceId"] == sample["trace"]["traceId"]
    assert runtime.list_traces(eval_run_id=first["runId"], thread_id=sample["threadId"]) == []

    trace = runtime.get_trace(sample["trace"]["traceId"])
    assert trace == by_thread
    assert trace is not None
    assert trace["status"] == "completed"
    assert trace["scope"] == {
        "evalRunId": second["runId"],
        "testCaseId": "b",
        "threadId": sample["threadId"],
        "sampleIndex": 1,
    }
    assert (trace["tenantId"], trace["workspaceId"]) == ("acme", "ws")
    assert trace["provenance"] == {
        "kind": "eval_sample",
        "evalRunId": second["runId"],
        "testCaseId": "b",
        "sampleIndex": 1,
        "mode": "specialist",
        "entryAgent": "probe_agent",
    }
    (step,) = trace["steps"]
    assert step["ordinal"] == 0 and step["toolName"] == "probe"
    assert step["arguments"] == {"kind": "inline", "value": {}}
    assert step["result"] == {"kind": "inline", "value": {"ok": True}}
    trace["steps"].clear()  # a copy: the record is unchanged
    assert runtime.get_trace(sample["trace"]["traceId"])["steps"]  # type: ignore[index]
    assert runtime.get_trace("trace-unknown") is None


def test_trace_arguments_are_type_checked() -> None:
    runtime = mock_runtime()
    with pytest.raises(SpecTypeError, match="trace_id must be a string, got int"):
        runtime.get_trace(7)  # type: ignore[arg-type]
    with pytest.raises(SpecTypeError, match="thread_id must be a string or None, got int"):
        runtime.list_traces(thread_id=3)  # type: ignore[arg-type]
    assert runtime.list_traces() == []


# --------------------------------------------------------------------------- judges


def judge_case(**scorer: Any) -> Any:
    judge = ResponseScorer.judge(id="polite", instructions="The answer must be polite.", **scorer)
    return define_test_case(
        "j", "hello?", final_response=define_final_response_eval(scorers=[judge])
    )


async def test_judge_scorers_on_an_offline_interpreter_fail_closed_and_the_eval_completes() -> None:
    runtime = mock_runtime()
    artifact = await runtime.run_eval(request_of(runtime, [judge_case()]))
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["finalResponseEval"]["passed"] is False
    (entry,) = sample["finalResponseEval"]["responseScorers"]
    assert entry["passed"] is False
    assert entry["details"]["errorKind"] == "judge_provider_unavailable"
    assert "judge-capable interpreter" in entry["reason"]
    assert [i for i in sample["modelInvocations"] if i["agent"] == "judge"] == []


def live_runtime(judge_reply: str) -> tuple[Runtime, list[ModelRequest]]:
    judged: list[ModelRequest] = []

    def respond(request: ModelRequest) -> ModelTurn:
        if request.agent == "judge":
            judged.append(request)
            return ModelTurn(text=judge_reply)
        return ModelTurn(text="Hello, dear customer!")

    agents = [define_specialist("greeter", model=MODEL, prompt="greet")]
    model = ScriptedModel(respond=respond, live=True)
    return create_runtime(define_runtime(TENANT, agents=agents), interpreter=model), judged


async def test_a_live_judge_decides_the_final_response() -> None:
    reply = '```json\n{"passed": true, "selected_rubric_score": 1, "reason": "Polite."}\n```'
    runtime, judged = live_runtime(reply)
    request = request_of(
        runtime,
        [judge_case()],
        mode="specialist",
        target_agent_id="greeter",
        scorer_config={"finalResponse": {"includeJudgeTrace": True}},
    )
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["passed"] is True
    (request_seen,) = judged
    assert request_seen.tools == [] and request_seen.max_turns == 1
    assert "Hello, dear customer!" in request_seen.prompt
    (scorer,) = sample["finalResponseEval"]["responseScorers"]
    assert scorer["reason"] == "Polite."
    details = scorer["details"]
    assert details["verdict"] == {"passed": True, "selected_rubric_score": 1, "reason": "Polite."}
    assert details["judgeRun"]["schemaVersion"] == 1
    assert details["judgeRun"]["model"] == MODEL
    assert len(details["judgeRun"]["promptSha256"]) == 64
    assert details["judgeTrace"] == {"prompt": request_seen.prompt, "response": reply}
    assert [i["agent"] for i in sample["modelInvocations"]] == ["greeter", "judge"]


async def test_a_judge_reply_that_is_not_json_fails_closed() -> None:
    runtime, _ = live_runtime("looks polite to me")
    request = request_of(
        runtime, [judge_case(required=True)], mode="specialist", target_agent_id="greeter"
    )
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["passed"] is False
    evaluation = sample["finalResponseEval"]
    assert evaluation["requiredFailed"] == ["polite"]
    (scorer,) = evaluation["responseScorers"]
    assert scorer["details"]["errorKind"] == "judge_invalid_json"
    assert "judgeTrace" not in scorer["details"]


async def test_cancelling_the_caller_of_run_eval_cancels_its_samples() -> None:
    runtime, stats = probe_runtime(sleep=30)
    request = request_of(
        runtime,
        [probe_case("a")],
        mode="specialist",
        target_agent_id="probe_agent",
        samples_per_case=3,
        concurrency=3,
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(runtime.run_eval(request), 0.2)
    await wait_until(lambda: stats["running"] == 0)
    assert [t["status"] for t in runtime.list_traces()] == ["cancelled"] * 3


def test_run_eval_sync_is_exported_lazily_from_the_evals_package() -> None:
    from flowai_harness import evals

    assert evals.run_eval_sync is runner.run_eval_sync


def test_run_eval_sync_needs_a_runtime() -> None:
    with pytest.raises(TypeError, match="run_eval_sync needs a Runtime from create_runtime; got"):
        runner.run_eval_sync(object(), {})
