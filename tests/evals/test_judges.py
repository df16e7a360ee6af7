"""Judge runs (evals/judges.py): model choice, prompt, parsing, fail-closed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness import (
    ResponseScorer,
    create_runtime,
    define_coordinator,
    define_eval_config,
    define_final_response_eval,
    define_runtime,
    define_specialist,
    define_tenant,
    define_test_case,
)
from flowai_harness.evals.judges import (
    JudgeFailure,
    JudgeModel,
    build_judge_prompt,
    parse_verdict,
    run_judge,
    select_judge_model,
)
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelPart,
    ModelRequest,
    ModelText,
    ModelToolCall,
)
from flowai_harness.testing import ScriptedModel

TENANT = define_tenant("acme", "v1")
SCORER = ResponseScorer.judge(
    id="polite",
    instructions="Be polite.",
    reference_response="Hello there!",
    context={"tone": "warm"},
)
CASE = define_test_case("greet", "hi", final_response=define_final_response_eval(scorers=[SCORER]))


def compiled_of(*agents: Any, interpreter: Any = "noop") -> Any:
    runtime = create_runtime(define_runtime(TENANT, agents=list(agents)), interpreter=interpreter)
    return runtime._compiled


def test_the_judge_uses_the_coordinator_model_by_default() -> None:
    live = ScriptedModel(live=True)
    compiled = compiled_of(
        define_specialist("s", model="claude-haiku-4-5", prompt="s"),
        define_coordinator("c", model="claude-sonnet-4-6", prompt="c", routes=["s"]),
        interpreter=live,
    )
    judge = select_judge_model(compiled, define_eval_config())
    assert (judge.model, judge.provider, judge.client) == ("claude-sonnet-4-6", "anthropic", live)


def test_the_config_model_and_provider_win() -> None:
    live = ScriptedModel(live=True)
    compiled = compiled_of(
        define_specialist("s", model="claude-haiku-4-5", prompt="s"), interpreter=live
    )
    judge = select_judge_model(compiled, define_eval_config(model="gpt-4o", provider="openai"))
    # every agent shares the one client, so it serves the judge's provider too
    assert (judge.model, judge.provider, judge.client) == ("gpt-4o", "openai", live)


def test_an_offline_interpreter_gives_a_judge_without_client() -> None:
    compiled = compiled_of(define_specialist("s", model="claude-haiku-4-5", prompt="s"))
    judge = select_judge_model(compiled, define_eval_config())
    assert judge.client is None
    assert judge.unavailable is not None
    assert "provider 'anthropic' is not configured as a judge-capable interpreter" in (
        judge.unavailable
    )


def test_the_prompt_lists_everything_the_judge_needs() -> None:
    prompt = build_judge_prompt(
        SCORER, {"testCaseId": "greet", "sampleIndex": 0, "input": "hi"}, "Hi friend"
    )
    for part in (
        "# Scorer\npolite",
        "# Instructions\nBe polite.",
        "0: The response fails to satisfy the instructions.",
        "1: The response satisfies the instructions.",
        "# Reference response\nHello there!",
        '"tone": "warm"',
        '"testCaseId": "greet"',
        "# Final response\nHi friend",
        '"selected_rubric_score": <0 or 1>',
    ):
        assert part in prompt


@pytest.mark.parametrize(
    "reply",
    [
        '{"passed": true, "selected_rubric_score": 1, "reason": "ok"}',
        'Verdict:\n```json\n{"selectedRubricScore": 1, "reason": "ok"}\n```',
        'Sure. {"passed": true, "selected_rubric_score": 1, "reason": "ok"} Done.',
    ],
)
def test_verdicts_are_read_bare_fenced_or_embedded(reply: str) -> None:
    verdict = parse_verdict(reply)
    assert (verdict.passed, verdict.selected_rubric_score, verdict.reason) == (True, 1, "ok")


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("   ", "judge_no_text"),
        ("it is fine", "judge_invalid_json"),
        ("[1]", "judge_invalid_json"),
        ('{"selected_rubric_score": 2, "reason": "?"}', "judge_invalid_schema"),
        ('{"passed": false, "selected_rubric_score": 1, "reason": "?"}', "judge_invalid_schema"),
    ],
)
def test_bad_replies_name_their_error_kind(reply: str, kind: str) -> None:
    with pytest.raises(JudgeFailure) as caught:
        parse_verdict(reply)
    assert caught.value.kind == kind


class StubClient:
    """A live client playing fixed parts (or hanging) for judge calls."""

    live = True

    def __init__(self, *parts: ModelPart, hang: bool = False) -> None:
        self.parts = parts
        self.hang = hang
        self.requests: list[ModelRequest] = []

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        self.requests.append(request)
        if self.hang:
            await asyncio.sleep(30)
        for part in self.parts:
            yield part
            if isinstance(part, ModelToolCall):
                assert request.tool_results[part.id].is_error


async def judged(client: Any, **kwargs: Any) -> Any:
    judge = JudgeModel(provider="anthropic", model="claude-sonnet-4-6", client=client)
    options = {"timeout_secs": 5.0, "include_trace": False, **kwargs}
    return await run_judge(
        judge, SCORER, case=CASE, sample_index=2, final_response="Hi friend", **options
    )


async def test_a_judge_run_reports_its_verdict_hashes_and_usage() -> None:
    client = StubClient(
        ModelToolCall("t1", "lookup", {}),
        ModelText('{"selected_rubric_score": 0, "reason": "curt"}'),
        ModelFinish("stop", TokenUsage(prompt_tokens=30, completion_tokens=9)),
    )
    outcome = await judged(client)
    (request,) = client.requests
    assert (request.agent, request.tools, request.max_turns) == ("judge", [], 1)
    entry = outcome.entry
    assert (entry["passed"], entry["selected_rubric_score"], entry["reason"]) == (False, 0, "curt")
    run = entry["judgeRun"]
    assert run["promptSha256"] == hashlib.sha256(request.prompt.encode()).hexdigest()
    again = await judged(StubClient(ModelText("{}"), ModelFinish("stop")))
    assert again.entry["judgeRun"]["contextSha256"] == run["contextSha256"]
    assert (outcome.invocation.agent, outcome.invocation.input_tokens) == ("judge", 30)


@pytest.mark.parametrize(
    ("client", "kind", "reason"),
    [
        (None, "judge_provider_unavailable", "is not configured as a judge-capable interpreter"),
        (StubClient(ModelError("overloaded")), "judge_execution_failed", "overloaded"),
        (StubClient(hang=True), "judge_execution_failed", "timed out after 0.05s"),
        (StubClient(ModelFinish("stop")), "judge_no_text", "returned no text"),
    ],
)
async def test_judge_failures_fail_closed(client: Any, kind: str, reason: str) -> None:
    outcome = await judged(client, timeout_secs=0.05, include_trace=True)
    entry = outcome.entry
    assert (entry["passed"], entry["selected_rubric_score"], entry["errorKind"]) == (False, 0, kind)
    assert reason in entry["reason"]
    assert entry["reason"].startswith("Judge failed closed: ")
    assert "prompt" in entry["judgeTrace"]
