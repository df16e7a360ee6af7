"""Offline scoring of one sample: trajectory, actions, final response.

Everything here is pure and deterministic: no model calls, no I/O. Judge scorers read
precomputed verdicts from ``RawSampleOutput.extra["finalResponseJudgeVerdicts"]``; the eval
runner produces them and calls the same functions, so offline and live scores agree.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from flowai_harness.errors import SpecTypeError
from flowai_harness.evals.aggregation import sample_passed
from flowai_harness.specs.evals import (
    JUDGE_VERDICTS_EXTRA_KEY,
    EvalMode,
    EvalTestCase,
    ExpectedAction,
    JudgeVerdict,
    RawSampleOutput,
    ResolvedAction,
    ResponseScorer,
    ScoredSample,
    ScorerConfig,
    ScorerName,
    ScorerPreset,
    ScorerPresetName,
    ScorerResult,
    ScoreWeights,
    ScoringPlan,
    TrajectoryScorerConfig,
    resolve_scoring_plan,
)

__all__ = [
    "CONTAINS_MISS_REASON",
    "score_actions",
    "score_final_response",
    "score_sample",
    "score_trajectory",
    "score_with_plan",
]

#: The reason a missed ``contains`` scorer reports (the reference's exact wording).
CONTAINS_MISS_REASON = "The final response did not contain the required text."
_NO_RESPONSE_REASON = "The sample produced no final response text."
_JUDGE_RUNNER_KEYS = ("judgeRun", "errorKind", "judgeTrace")


class _Undecodable(ValueError):
    """A recognised ``extra`` value does not have the documented shape."""


def _coerce(model: type[BaseModel], value: Any, name: str) -> Any:
    if isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        return model.model_validate(value)
    raise SpecTypeError(
        f"{name} must be a {model.__name__} or its mapping, got {type(value).__name__}"
    )


def score_sample(
    test_case: EvalTestCase | Mapping[str, Any],
    output: RawSampleOutput | Mapping[str, Any],
    *,
    mode: EvalMode | None = None,
    score_weights: ScoreWeights | Mapping[str, float] | None = None,
    scorer_preset: ScorerPresetName | ScorerPreset | None = None,
    scorer_config: ScorerConfig | Mapping[str, Any] | None = None,
) -> ScoredSample:
    """Score one sample of one test case offline (no agent runs, no judge calls).

    The preset is ``scorer_preset``, else the mode's, else ``sequential``; weights are
    ``score_weights`` (or the preset's own), else the preset defaults; the trajectory scorer is
    always kept.

    Args:
        test_case: The :class:`EvalTestCase` (or its wire mapping).
        output: The sample's :class:`RawSampleOutput` (or its wire mapping).
        mode: Eval mode whose preset applies when ``scorer_preset`` is not given.
        score_weights: Explicit weights.
        scorer_preset: Preset name or :class:`ScorerPreset`.
        scorer_config: ``{"trajectory": {...}, "finalResponse": {...}}`` options.

    Returns:
        ``ScoredSample`` with each scorer's result and a final ``composite`` entry whose score
        is the aggregate. There is no pass/fail: compare the aggregate to your threshold.

    Raises:
        SpecTypeError: ``test_case`` or ``output`` has the wrong type.
        SpecValueError: the mode conflicts with the preset (``"mode 'planner' conflicts with
            scorerPreset 'executor'"``), ``trajectory_only`` is combined with a mode, weights
            are given twice, the weights do not resolve, or a specialist case has nothing to
            score (``"... has no scoreable expectations ..."``).
        pydantic.ValidationError: an invalid mapping input.
    """
    case: EvalTestCase = _coerce(EvalTestCase, test_case, "test_case")
    sample: RawSampleOutput = _coerce(RawSampleOutput, output, "output")
    config = (
        None if scorer_config is None else _coerce(ScorerConfig, scorer_config, "scorer_config")
    )
    plan = resolve_scoring_plan(
        [case], mode=mode, scorer_preset=scorer_preset, score_weights=score_weights, offline=True
    )
    return score_with_plan(case, sample, plan, config)


def score_with_plan(
    case: EvalTestCase,
    output: RawSampleOutput,
    plan: ScoringPlan,
    scorer_config: ScorerConfig | None = None,
) -> ScoredSample:
    """Score one sample with an already resolved plan (used by ``score_sample`` and the runner).

    Args:
        case: The test case.
        output: What the sample produced.
        plan: Preset and weights from ``resolve_scoring_plan`` / ``EvalRequest.scoring_plan``.
        scorer_config: Scorer options (defaults when ``None``).

    Returns:
        The :class:`ScoredSample`; its aggregate is the weighted mean of the kept scorers.
    """
    config = scorer_config or ScorerConfig()
    weights = plan.case_weights(case)
    results: list[ScorerResult] = []
    for name in weights:
        if name == "trajectory":
            results.append(score_trajectory(case, output, config.trajectory_config))
        elif name == "final_response":
            results.append(score_final_response(case, output))
        else:
            results.append(score_actions(case, output, name))
    weighted = sum(
        weight * result.score for weight, result in zip(weights.values(), results, strict=True)
    )
    aggregate = min(1.0, max(0.0, weighted))
    composite = ScorerResult(
        scorer_name="composite", score=aggregate, details={"weights": dict(weights)}
    )
    return ScoredSample(aggregate=aggregate, component_scores=[*results, composite])


# --- trajectory -----------------------------------------------------------------------------


def _project(
    output: RawSampleOutput, config: TrajectoryScorerConfig
) -> tuple[list[str], list[str], str]:
    """Return (observed, scored, source) tool names; the raw output is never mutated."""
    ignored = set(config.ignore_tools)
    events = output.extra.get("trajectoryEvents")
    if events is None:
        observed = list(output.actual_trajectory)
        return observed, [n for n in observed if n not in ignored], "actualTrajectory"
    if not isinstance(events, list):
        raise _Undecodable("extra.trajectoryEvents must be a list of events")
    observed, scored = [], []
    for index, event in enumerate(events):
        where = f"extra.trajectoryEvents[{index}]"
        if not isinstance(event, Mapping):
            raise _Undecodable(f"{where} must be an object")
        if event.get("kind") != "tool":
            continue
        name, depth = event.get("name"), event.get("depth", 1)
        if not isinstance(name, str) or not name:
            raise _Undecodable(f"{where} must have a non-empty string name")
        if not isinstance(depth, int) or isinstance(depth, bool):
            raise _Undecodable(f"{where} must have an integer depth")
        observed.append(name)
        if (depth <= 1 or config.include_sub_agents) and name not in ignored:
            scored.append(name)
    return observed, scored, "trajectoryEvents"


def _lcs_alignment(
    expected: Sequence[str], actual: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    rows, cols = len(expected), len(actual)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            if expected[i] == actual[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    matched_e, matched_a = set(), set()
    i = j = 0
    while i < rows and j < cols:
        if expected[i] == actual[j]:
            matched_e.add(i)
            matched_a.add(j)
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return (
        [expected[i] for i in sorted(matched_e)],
        [name for i, name in enumerate(expected) if i not in matched_e],
        [name for j, name in enumerate(actual) if j not in matched_a],
    )


def _multiset_alignment(
    expected: Sequence[str], actual: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    available = Counter(actual)
    matched, missing = [], []
    for name in expected:
        if available[name] > 0:
            available[name] -= 1
            matched.append(name)
        else:
            missing.append(name)
    claimed = Counter(matched)
    unexpected = []
    for name in actual:
        if claimed[name] > 0:
            claimed[name] -= 1
        else:
            unexpected.append(name)
    return matched, missing, unexpected


def _f_beta(precision: float, recall: float, beta: float) -> float:
    denominator = beta * beta * precision + recall
    return 0.0 if denominator == 0 else (1 + beta * beta) * precision * recall / denominator


def score_trajectory(
    case: EvalTestCase, output: RawSampleOutput, config: TrajectoryScorerConfig | None = None
) -> ScorerResult:
    """Binary trajectory score: 1.0 when the projected tool calls satisfy the case's mode.

    Args:
        case: The test case (``expected_trajectory`` ``None`` counts as ``[]``).
        output: The sample output (``extra.trajectoryEvents`` preferred over
            ``actual_trajectory``).
        config: Projection options (sub-agent tools, ignored tools).

    Returns:
        ``ScorerResult("trajectory")`` with details ``{mode, passed, expected, actual, matched,
        missing, unexpected, diagnostics, projection}``; 0.0 with ``error`` when
        ``trajectoryEvents`` cannot be decoded.
    """
    config = config or TrajectoryScorerConfig()
    expected = list(case.expected_trajectory or [])
    mode = case.trajectory_mode
    try:
        observed, actual, source = _project(output, config)
    except _Undecodable as error:
        failure = {"mode": mode, "passed": False, "expected": expected, "error": str(error)}
        return ScorerResult(scorer_name="trajectory", score=0.0, details=failure)
    ordered = mode in ("strict", "subsequence")
    align = _lcs_alignment if ordered else _multiset_alignment
    matched, missing, unexpected = align(expected, actual)
    passed = {
        "strict": actual == expected,
        "unordered": not missing and not unexpected,
        "subset": not unexpected,
        "superset": not missing,
        "subsequence": not missing,
    }[mode]
    if not expected and not actual:
        precision = recall = 1.0
    else:
        precision = len(matched) / len(actual) if actual else 0.0
        recall = len(matched) / len(expected) if expected else 0.0
    details: dict[str, Any] = {
        "mode": mode,
        "passed": passed,
        "expected": expected,
        "actual": actual,
        "matched": matched,
        "missing": missing,
        "unexpected": unexpected,
        "diagnostics": {
            "precision": precision,
            "recall": recall,
            "f1": _f_beta(precision, recall, 1.0),
            "f2": _f_beta(precision, recall, 2.0),
        },
        "projection": {
            "observedTrajectory": observed,
            "scoredTrajectory": actual,
            "source": source,
            "config": config.to_wire(),
        },
    }
    return ScorerResult(scorer_name="trajectory", score=1.0 if passed else 0.0, details=details)


# --- actions --------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """JSON value with integral floats as ints, so 1 and 1.0 compare and print alike."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _subset_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _subset_matches(item, actual[key]) for key, item in expected.items()
        )
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return False
        if all(_is_scalar(item) for item in expected):
            return Counter(map(_canonical_json, expected)) == Counter(map(_canonical_json, actual))
        return all(_subset_matches(e, a) for e, a in zip(expected, actual, strict=True))
    return _canonical_json(expected) == _canonical_json(actual)


def _action_matches(expected: ExpectedAction, actual: ResolvedAction, match: str) -> bool:
    if expected.type != actual.type:
        return False
    if match == "subset":
        return _subset_matches(expected.payload, actual.payload)
    return _canonical_json(expected.payload) == _canonical_json(actual.payload)


def _maximum_matching(candidates: list[list[int]]) -> dict[int, int]:
    """Maximum bipartite matching (augmenting paths); returns expected index -> actual index."""
    owner: dict[int, int] = {}

    def assign(i: int, seen: set[int]) -> bool:
        for j in candidates[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(candidates)):
        assign(i, set())
    return {i: j for j, i in owner.items()}


def _decode_actions(raw: Any, key: str) -> list[ResolvedAction]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Undecodable(f"extra.{key} must be a list of {{type, payload}} actions")
    actions = []
    for index, item in enumerate(raw):
        try:
            actions.append(ResolvedAction.model_validate(item))
        except ValidationError as error:
            raise _Undecodable(
                f"extra.{key}[{index}] is not a valid action: {_first_error(error)}"
            ) from None
    return actions


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{location}: {first['msg']}"


def _signature(action: ExpectedAction | ResolvedAction) -> str:
    return f"{action.type}:{_canonical_json(action.payload)}"


def _action_result(name: ScorerName, score: float, details: dict[str, Any]) -> ScorerResult:
    return ScorerResult(scorer_name=name, score=score, details=details)


def score_actions(
    case: EvalTestCase,
    output: RawSampleOutput,
    scorer: Literal["planned_actions", "executed_actions"],
) -> ScorerResult:
    """Score planned (``extra.plannedActions``) or executed (``extra.resolvedActions``) actions.

    Actions match on equal ``type`` and payload (``exact``: semantic JSON equality;
    ``subset``: expected keys present and matching recursively), one to one, order ignored.
    The score is F2 over matched / extra / missing (1.0 when all are zero).

    Args:
        case: The test case holding action ground truth.
        output: The sample output.
        scorer: ``"planned_actions"`` or ``"executed_actions"``.

    Returns:
        The :class:`ScorerResult`: 1.0 without ground truth or with an empty expected bucket;
        0.0 with ``error`` when the ground truth is not action ground truth or the actual
        actions cannot be decoded.
    """
    if case.structured_ground_truth is None:
        return _action_result(scorer, 1.0, {"configured": False, "pass": True})
    ground_truth = case.structured_ground_truth.actions
    if ground_truth is None:
        error = "the ground truth is not action ground truth (data kind 'flat')"
        return _action_result(scorer, 0.0, {"pass": False, "error": error, "issues": [error]})
    planned = scorer == "planned_actions"
    expected = ground_truth.planned_actions if planned else ground_truth.executed_actions
    match = ground_truth.payload_match
    if not expected:
        return _action_result(
            scorer, 1.0, {"configured": False, "pass": True, "payloadMatch": match}
        )
    key = "plannedActions" if planned else "resolvedActions"
    try:
        actual = _decode_actions(output.extra.get(key), key)
    except _Undecodable as error:
        message = str(error)
        failure = {"pass": False, "payloadMatch": match, "error": message, "issues": [message]}
        return _action_result(scorer, 0.0, failure)
    candidates = [
        [j for j, a in enumerate(actual) if _action_matches(e, a, match)] for e in expected
    ]
    pairs = _maximum_matching(candidates)
    claimed = set(pairs.values())
    actions = [
        {"signature": _signature(e), "status": "exact" if i in pairs else "missing"}
        for i, e in enumerate(expected)
    ]
    extras = [a for j, a in enumerate(actual) if j not in claimed]
    actions += [{"signature": _signature(a), "status": "extra"} for a in extras]
    found, missing, extra = len(pairs), len(expected) - len(pairs), len(extras)
    issues = [
        f"missing expected action {a['signature']}" for a in actions if a["status"] == "missing"
    ]
    issues += [f"unexpected action {_signature(a)}" for a in extras]
    weighted = 5 * found + 4 * missing + extra
    score = 1.0 if weighted == 0 else 5 * found / weighted
    details: dict[str, Any] = {
        "pass": missing == 0 and extra == 0,
        "payloadMatch": match,
        "actions": actions,
        "summary": {
            "totalExpected": len(expected),
            "totalActual": len(actual),
            "exactCount": found,
            "missingCount": missing,
            "extraCount": extra,
            "passRate": found / len(expected),
        },
        "issues": issues,
    }
    return _action_result(scorer, score, details)


# --- final response -------------------------------------------------------------------------


def _deterministic_check(scorer: ResponseScorer, text: str) -> tuple[bool, str, dict[str, Any]]:
    if scorer.method == "exact":
        expected = scorer.expected or ""
        passed = text == expected
        reason = "The final response {} the expected text exactly."
        return passed, reason.format("matched" if passed else "did not match"), {}
    if scorer.method == "contains":
        needle = scorer.text or ""
        haystack = text
        if not scorer.case_sensitive:
            needle, haystack = needle.lower(), haystack.lower()
        if needle in haystack:
            return True, "The final response contained the required text.", {}
        return False, CONTAINS_MISS_REASON, {}
    found = re.search(scorer.pattern or "", text)
    if found:
        return True, "The final response matched the pattern.", {"match": found.group(0)}
    return False, "The final response did not match the pattern.", {"match": None}


def _judge_check(scorer: ResponseScorer, verdicts: Any) -> tuple[bool, str, dict[str, Any]]:
    entry = verdicts.get(scorer.id) if isinstance(verdicts, Mapping) else None
    if entry is None:
        return (
            False,
            f"No judge verdict was recorded for scorer {scorer.id!r}.",
            {"missingVerdict": True},
        )
    if not isinstance(entry, Mapping):
        entry = {"verdict": entry}
    runner = {key: entry[key] for key in _JUDGE_RUNNER_KEYS if key in entry}
    fields = {key: value for key, value in entry.items() if key not in _JUDGE_RUNNER_KEYS}
    try:
        verdict = JudgeVerdict.model_validate(fields)
    except ValidationError as error:
        message = f"The judge verdict for scorer {scorer.id!r} is invalid: {_first_error(error)}"
        return False, message, {"errorKind": "judge_invalid_schema", **runner}
    return verdict.passed, verdict.reason, {"verdict": verdict.to_wire(), **runner}


def score_final_response(case: EvalTestCase, output: RawSampleOutput) -> ScorerResult:
    """Score the final response with the case's authored response scorers.

    ``score`` = passed weight / total weight; the eval passes when the score reaches
    ``pass_threshold`` and no ``required`` scorer failed; the component score is the
    ``effectiveScore`` (the score if passed, else 0). Judge scorers read their verdict from
    ``extra.finalResponseJudgeVerdicts[id]`` (runner keys ``judgeRun``, ``errorKind`` and
    ``judgeTrace`` beside the verdict are copied into the details); a missing verdict fails.

    Args:
        case: The test case.
        output: The sample output.

    Returns:
        ``ScorerResult("final_response")``: 1.0 with ``{"configured": false}`` when not
        authored; otherwise the ``finalResponseEval`` details.
    """
    spec = case.final_response
    if spec is None:
        return ScorerResult(scorer_name="final_response", score=1.0, details={"configured": False})
    text = output.response_text or ""
    verdicts = output.extra.get(JUDGE_VERDICTS_EXTRA_KEY)
    entries: list[dict[str, Any]] = []
    for scorer in spec.scorers:
        extra: dict[str, Any]
        if not text:
            passed, reason, extra = False, _NO_RESPONSE_REASON, {}
        elif scorer.method == "judge":
            passed, reason, extra = _judge_check(scorer, verdicts)
        else:
            passed, reason, extra = _deterministic_check(scorer, text)
        entries.append(
            {
                "id": scorer.id,
                "method": scorer.method,
                "passed": passed,
                "score": 1.0 if passed else 0.0,
                "required": scorer.required,
                "weight": scorer.weight,
                "reason": reason,
                "details": extra,
            }
        )
    total = sum(scorer.weight for scorer in spec.scorers)
    passed_weight = float(sum(entry["weight"] for entry in entries if entry["passed"]))
    score = passed_weight / total
    required_failed = [
        entry["id"] for entry in entries if entry["required"] and not entry["passed"]
    ]
    passed = bool(text) and sample_passed(score, spec.pass_threshold) and not required_failed
    effective = score if passed else 0.0
    details = {
        "verdictSchemaVersion": 1,
        "passed": passed,
        "score": score,
        "effectiveScore": effective,
        "passThreshold": spec.pass_threshold,
        "passedWeight": passed_weight,
        "totalWeight": total,
        "requiredFailed": required_failed,
        "responseScorers": entries,
    }
    return ScorerResult(scorer_name="final_response", score=effective, details=details)
