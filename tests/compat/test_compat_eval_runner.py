"""Scoring rules and eval runs as a program written against the reference sees them."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness import (
    RawSampleOutput,
    ResponseScorer,
    TestingConfig,
    create_runtime,
    define_coordinator,
    define_eval_config,
    define_eval_request,
    define_final_response_eval,
    define_runtime,
    define_specialist,
    define_tenant,
    define_test_case,
    define_tool,
    score_sample,
)
from flowai_harness.testing import ModelTurn, ScriptedModel, ToolCallStep

TENANT = define_tenant("acme", "v1")
MODEL = "claude-haiku-4-5"


def test_a_specialist_case_with_nothing_to_score_says_no_scoreable_expectations() -> None:
    case = define_test_case("tc-empty", "What is new?")
    with pytest.raises(ValueError, match="no scoreable expectations") as exc:
        score_sample(case, RawSampleOutput(response_text="Nothing."), mode="specialist")
    assert "specialist eval test case 'tc-empty' has no scoreable expectations" in str(exc.value)


def test_an_explicit_final_response_weight_needs_a_final_response_in_camel_case() -> None:
    case = define_test_case("tc-1", "hi", expected_trajectory=[])
    with pytest.raises(ValueError, match="finalResponse") as exc:
        score_sample(
            case,
            RawSampleOutput(response_text="hello"),
            mode="specialist",
            score_weights={"final_response": 1.0},
        )
    assert "specialist scorer 'final_response' requires test case 'tc-1'" in str(exc.value)


@pytest.mark.parametrize(
    ("mode", "preset"), [("specialist", "sequential"), ("planner", "executor")]
)
def test_a_preset_contradicting_the_mode_conflicts(mode: Any, preset: Any) -> None:
    case = define_test_case("tc-1", "hi", expected_trajectory=[])
    with pytest.raises(ValueError, match="conflicts") as exc:
        score_sample(case, RawSampleOutput(), mode=mode, scorer_preset=preset)
    assert f"mode '{mode}' conflicts with scorerPreset '{preset}'" in str(exc.value)


def test_trajectory_only_with_a_mode_is_valid_only_without_mode() -> None:
    case = define_test_case("tc-1", "hi", expected_trajectory=[])
    with pytest.raises(ValueError, match="scorerPreset='trajectory_only' is valid only when mode"):
        score_sample(case, RawSampleOutput(), mode="planner", scorer_preset="trajectory_only")


def _judge_request(runtime: Any) -> Any:
    judge = ResponseScorer.judge(
        id="matches_reference", instructions="The answer must match the reference."
    )
    case = define_test_case(
        "tc-judge", "hi", final_response=define_final_response_eval(scorers=[judge])
    )
    config = define_eval_config(samples_per_case=1)
    return define_eval_request(runtime, workspace_id="ws", test_cases=[case], config=config)


@pytest.mark.parametrize(
    "make",
    [
        lambda spec: create_runtime(spec, testing=TestingConfig(mock_response="A verdict? No.")),
        lambda spec: create_runtime(spec, interpreter="scripted"),
    ],
    ids=["testing-mock", "scripted"],
)
async def test_judge_scorers_on_an_offline_interpreter_fail_closed_and_the_run_completes(
    make: Any,
) -> None:
    agents = [
        define_coordinator("desk", model=MODEL, prompt="route", routes=["helper"]),
        define_specialist("helper", model=MODEL, prompt="help"),
    ]
    runtime = make(define_runtime(TENANT, agents=agents))
    artifact = await runtime.run_eval(_judge_request(runtime))
    (sample,) = artifact["testCases"][0]["samples"]
    assert sample["finalResponseEval"]["passed"] is False
    (judged,) = sample["finalResponseEval"]["responseScorers"]
    assert judged["passed"] is False
    assert judged["details"]["errorKind"] == "judge_provider_unavailable"
    assert "judge-capable interpreter" in judged["reason"]
    assert all(i["agent"] != "judge" for i in sample["modelInvocations"])


async def test_an_eval_trace_carries_its_ids_in_scope() -> None:
    @define_tool("echo", {"value": str})
    def echo(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"echo": args["value"]}

    def respond(request: Any) -> ModelTurn:
        if request.turn == 1:
            return ModelTurn(tool_calls=[ToolCallStep("echo", {"value": "hello"})])
        return ModelTurn(text="echoed")

    agent = define_specialist("echoer", model=MODEL, prompt="echo", tools=[echo])
    runtime = create_runtime(
        define_runtime(TENANT, agents=[agent]), interpreter=ScriptedModel(respond=respond)
    )
    config = define_eval_config(mode="specialist", target_agent_id="echoer", samples_per_case=1)
    request = define_eval_request(
        runtime,
        workspace_id="ws",
        test_cases=[define_test_case("tc-1", "say hello", expected_trajectory=["echo"])],
        config=config,
    )
    artifact = await runtime.run_eval(request)
    (sample,) = artifact["testCases"][0]["samples"]
    trace = runtime.get_trace(sample["trace"]["traceId"])
    assert trace is not None
    assert trace["traceId"].startswith("trace-")
    assert trace["status"] == "completed"
    assert trace["scope"]["evalRunId"] == artifact["runId"]
    assert trace["scope"]["testCaseId"] == "tc-1"
    assert trace["scope"]["threadId"] == sample["threadId"]
    assert trace["scope"]["sampleIndex"] == 0
    (step,) = trace["steps"]
    assert step["toolName"] == "echo"
    assert step["arguments"]["value"] == {"value": "hello"}
    assert step["result"]["value"] == {"echo": "hello"}
