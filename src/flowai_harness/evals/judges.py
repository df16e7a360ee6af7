"""Judge runs: a live model decides whether a final response satisfies a judge scorer.

One judge call per judge scorer per sample: a single user message, no tools, one
turn, bounded by the sample timeout. Judges fail closed: any failure becomes a failed verdict
with an ``errorKind`` (it counts in the weights and fails a ``required`` scorer). The verdict
entry handed to the scorer also carries ``judgeRun`` (provider, model and SHA-256 hashes of the
prompt and of its context) and, when asked for, ``judgeTrace`` (prompt and response).

Judges talk to the model through the same ``ModelClient`` port as agents, so any live provider
the runtime has can judge; the offline interpreters (noop, scripted, testing mock) cannot, and
with them every judge scorer fails closed with ``judge_provider_unavailable`` while the eval
itself completes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from flowai_harness._model_answer import ask_model, json_object_in, question
from flowai_harness.engine.compiled import CompiledRuntime
from flowai_harness.errors import HarnessError, ProviderError, SpecValueError
from flowai_harness.events import TokenUsage
from flowai_harness.ports import ModelClient
from flowai_harness.specs.agents import ModelSpec, resolve_model_provider
from flowai_harness.specs.evals import (
    EvalConfig,
    EvalTestCase,
    JudgeVerdict,
    ModelInvocation,
    ResponseScorer,
)

__all__ = [
    "JUDGE_AGENT",
    "JudgeErrorKind",
    "JudgeFailure",
    "JudgeModel",
    "JudgeOutcome",
    "build_judge_prompt",
    "judge_scorers",
    "parse_verdict",
    "run_judge",
    "select_judge_model",
]

#: The agent name of judge model invocations.
JUDGE_AGENT = "judge"

JudgeErrorKind = Literal[
    "judge_no_text",
    "judge_invalid_json",
    "judge_invalid_schema",
    "judge_provider_unavailable",
    "judge_execution_failed",
]

_DEFAULT_RUBRIC = {
    0: "The response fails to satisfy the instructions.",
    1: "The response satisfies the instructions.",
}
_SYSTEM_PROMPT = (
    "You are an evaluation judge. You read one final response of an AI agent and decide "
    "whether it satisfies the given instructions, choosing a rubric score. Reply with one JSON "
    "object and nothing else."
)


@dataclass(frozen=True, slots=True)
class JudgeModel:
    """The model judges use; ``client`` is ``None`` when no judge-capable client serves its
    provider, and ``unavailable`` then says why."""

    provider: str
    model: str
    client: ModelClient | None
    unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeOutcome:
    """One judge run: the verdict entry for ``extra.finalResponseJudgeVerdicts`` and the call."""

    entry: dict[str, Any]
    invocation: ModelInvocation | None


class JudgeFailure(HarnessError):
    """A judge reply or call failed; ``kind`` is the ``errorKind`` of the failed verdict."""

    def __init__(self, kind: JudgeErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def judge_scorers(case: EvalTestCase) -> list[ResponseScorer]:
    """The judge scorers of ``case``'s final-response eval, in authored order."""
    if case.final_response is None:
        return []
    return [scorer for scorer in case.final_response.scorers if scorer.method == "judge"]


def select_judge_model(compiled: CompiledRuntime, config: EvalConfig) -> JudgeModel:
    """Choose the judge model: ``config.model`` (+ ``provider``), else the coordinator's model,
    else the first agent's.

    The client is the one serving an agent on the judge's provider; a runtime whose agents all
    share one client (an offline interpreter or a ``ModelClient`` object) uses that client.

    Args:
        compiled: The runtime's compiled agents.
        config: The eval config.

    Returns:
        The :class:`JudgeModel`. Its ``client`` is ``None`` when no client serves the provider
        or the client is an offline interpreter (noop, scripted, testing mock, or a
        ``ModelClient`` that is not live): the judge runs then fail closed with
        ``judge_provider_unavailable``.

    Raises:
        SpecValueError: the runtime has no agent to take the model from.
    """
    agents = list(compiled.agents.values())
    if not agents:
        raise SpecValueError("judge scorers need a model, and the runtime has no agent")
    source = compiled.agents[compiled.coordinator] if compiled.coordinator else agents[0]
    if config.model is not None:
        model = config.model
        provider = resolve_model_provider(ModelSpec(id=config.model, provider=config.provider))
    else:
        model = source.model
        provider = config.provider or source.provider
    client = next((a.client for a in agents if a.provider == provider), None)
    if client is None and len({id(a.client) for a in agents}) == 1:
        client = agents[0].client
    if client is not None and getattr(client, "live", False):
        return JudgeModel(provider=provider, model=model, client=client)
    # The answer of an offline interpreter (a mock response) must never count as a verdict.
    why = (
        "no model client serves it in this runtime"
        if client is None
        else "this runtime answers with an offline interpreter: noop, scripted or the testing mock"
    )
    unavailable = (
        f"cannot execute judge scorer: provider {provider!r} is not configured as a "
        f"judge-capable interpreter ({why})"
    )
    return JudgeModel(provider=provider, model=model, client=None, unavailable=unavailable)


def _canonical_json(value: Any, *, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _rubric(scorer: ResponseScorer) -> dict[int, str]:
    return dict(scorer.rubric) if scorer.rubric is not None else dict(_DEFAULT_RUBRIC)


def build_judge_prompt(
    scorer: ResponseScorer, runtime_context: Mapping[str, Any], final_response: str
) -> str:
    """The judge's single user message.

    Args:
        scorer: The judge scorer.
        runtime_context: ``{"testCaseId", "sampleIndex", "input"}``.
        final_response: The response being judged.

    Returns:
        The prompt text: scorer id, instructions, rubric, reference response, authored and
        runtime context, the final response and the JSON shape to answer with.
    """
    rubric = _rubric(scorer)
    sections = [
        f"# Scorer\n{scorer.id}",
        f"# Instructions\n{scorer.instructions}",
        "# Rubric\n" + "\n".join(f"{score}: {text}" for score, text in sorted(rubric.items())),
    ]
    if scorer.reference_response is not None:
        sections.append(f"# Reference response\n{scorer.reference_response}")
    if scorer.context is not None:
        sections.append(f"# Context\n{_canonical_json(scorer.context, pretty=True)}")
    sections += [
        f"# Runtime context\n{_canonical_json(dict(runtime_context), pretty=True)}",
        f"# Final response\n{final_response}",
        "# Answer\nReply with exactly one JSON object of this shape:\n"
        '{"passed": <true when the score is 1>, "selected_rubric_score": <0 or 1>, '
        '"reason": "<one or two sentences>"}',
    ]
    return "\n\n".join(sections)


def _context_hash(
    scorer: ResponseScorer, runtime_context: Mapping[str, Any], final_response: str
) -> str:
    context = {
        "scorerId": scorer.id,
        "instructions": scorer.instructions,
        "referenceResponse": scorer.reference_response,
        "rubric": {str(score): text for score, text in _rubric(scorer).items()},
        "context": scorer.context,
        "runtimeContext": dict(runtime_context),
        "finalResponse": final_response,
    }
    return hashlib.sha256(_canonical_json(context).encode()).hexdigest()


def parse_verdict(text: str) -> JudgeVerdict:
    """Read a judge's reply: a JSON object, bare or in a fenced code block.

    Args:
        text: The model's reply.

    Returns:
        The :class:`JudgeVerdict` (``passed`` derived from the score when left out).

    Raises:
        JudgeFailure: no text, no JSON object, or an object of the wrong shape.
    """
    stripped = text.strip()
    if not stripped:
        raise JudgeFailure("judge_no_text", "the judge returned no text")
    try:
        data = json_object_in(stripped)
    except ValueError:
        raise JudgeFailure("judge_invalid_json", "the judge reply is not a JSON object") from None
    try:
        return JudgeVerdict.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "verdict"
        raise JudgeFailure(
            "judge_invalid_schema", f"the judge verdict is invalid: {where}: {first['msg']}"
        ) from None


async def _ask(judge: JudgeModel, client: ModelClient, prompt: str) -> tuple[str, TokenUsage]:
    request = question(
        agent=JUDGE_AGENT,
        provider=judge.provider,
        model=judge.model,
        system=_SYSTEM_PROMPT,
        prompt=prompt,
    )
    try:
        answer = await ask_model(client, request)
    except ProviderError as error:
        raise JudgeFailure("judge_execution_failed", f"the judge model failed: {error}") from None
    return answer.text, answer.usage


async def run_judge(
    judge: JudgeModel,
    scorer: ResponseScorer,
    *,
    case: EvalTestCase,
    sample_index: int,
    final_response: str,
    timeout_secs: float,
    include_trace: bool,
) -> JudgeOutcome:
    """Ask the judge model about one response; never raises for a judge failure.

    Args:
        judge: The judge model.
        scorer: The judge scorer.
        case: The test case (its id and input go into the runtime context).
        sample_index: The sample's index.
        final_response: The response to judge.
        timeout_secs: Bound of the judge call.
        include_trace: Keep the prompt and the response in ``judgeTrace``.

    Returns:
        The verdict entry (a failed verdict with ``errorKind`` when anything went wrong) and
        the model invocation, if the model answered.
    """
    runtime_context = {"testCaseId": case.id, "sampleIndex": sample_index, "input": case.input}
    prompt = build_judge_prompt(scorer, runtime_context, final_response)
    judge_run = {
        "schemaVersion": 1,
        "provider": judge.provider,
        "model": judge.model,
        "promptSha256": hashlib.sha256(prompt.encode()).hexdigest(),
        "contextSha256": _context_hash(scorer, runtime_context, final_response),
    }
    reply = ""
    invocation: ModelInvocation | None = None
    try:
        reply, usage = await _ask_within(judge, prompt, timeout_secs)
        invocation = ModelInvocation(
            agent=JUDGE_AGENT,
            provider=judge.provider,
            model=judge.model,
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.completion_tokens,
            cached_tokens=usage.cache_read_input_tokens,
            cache_creation_tokens=usage.cache_creation_input_tokens,
            # priced by live providers that know the model's price
            estimated_cost_usd=getattr(usage, "cost_usd", None),
        )
        entry: dict[str, Any] = parse_verdict(reply).to_wire()
    except JudgeFailure as failure:
        entry = {
            "passed": False,
            "selected_rubric_score": 0,
            "reason": f"Judge failed closed: {failure}",
            "errorKind": failure.kind,
        }
    entry["judgeRun"] = judge_run
    if include_trace:
        entry["judgeTrace"] = {"prompt": prompt, "response": reply}
    return JudgeOutcome(entry=entry, invocation=invocation)


async def _ask_within(
    judge: JudgeModel, prompt: str, timeout_secs: float
) -> tuple[str, TokenUsage]:
    """The judge's reply and usage within ``timeout_secs``; every failure is a
    :class:`JudgeFailure`."""
    if judge.client is None:
        raise JudgeFailure(
            "judge_provider_unavailable",
            judge.unavailable
            or f"cannot execute judge scorer: provider {judge.provider!r} is not configured "
            "as a judge-capable interpreter",
        )
    try:
        async with asyncio.timeout(timeout_secs):
            return await _ask(judge, judge.client, prompt)
    except TimeoutError:
        raise JudgeFailure(
            "judge_execution_failed", f"the judge call timed out after {timeout_secs}s"
        ) from None
    except JudgeFailure:
        raise
    except Exception as error:  # a provider failure must not end the eval
        raise JudgeFailure(
            "judge_execution_failed",
            f"the judge call raised {type(error).__name__}: {error}",
        ) from None
