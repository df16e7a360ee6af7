"""The seeded eval cases pass on the offline desk, and their checks catch a wrong answer."""

from __future__ import annotations

import pytest
from pricing_promotions.commerce import CommerceService
from pricing_promotions.eval_cases import CASES_BY_MODE, SPECIALIST_TARGET, all_cases
from pricing_promotions.runtime import build_runtime

from flowai_harness import (
    EvalTestCase,
    define_eval_config,
    define_eval_request,
    define_expected_action,
    define_expected_actions,
    run_eval_sync,
)


def _run(mode: str, cases: list[EvalTestCase]):
    with CommerceService() as commerce:
        return _run_on(commerce, mode, cases)


def _run_on(commerce: CommerceService, mode: str, cases: list[EvalTestCase]):
    runtime = build_runtime(commerce, interpreter="offline")
    config = define_eval_config(
        mode=mode,
        samples_per_case=1,
        concurrency=1,
        target_agent_id=SPECIALIST_TARGET if mode == "specialist" else None,
    )
    request = define_eval_request(runtime, workspace_id="default", test_cases=cases, config=config)
    return run_eval_sync(runtime, request)


def test_every_case_is_tagged_with_the_mode_it_belongs_to() -> None:
    assert len({case.id for case in all_cases()}) == len(all_cases())
    for mode, cases in CASES_BY_MODE.items():
        assert all(f"mode:{mode}" in (case.tags or []) for case in cases)


@pytest.mark.parametrize("mode", sorted(CASES_BY_MODE))
def test_cases_pass_on_the_offline_desk(mode: str) -> None:
    artifact = _run(mode, list(CASES_BY_MODE[mode]))
    failed = [
        (case.test_case_id, sample.component_scores)
        for case in artifact.test_cases
        for sample in case.samples
        if not sample.passed
    ]
    assert failed == []
    assert artifact.summary.passed == len(CASES_BY_MODE[mode])


def test_a_case_expecting_another_price_fails() -> None:
    (case, *_) = CASES_BY_MODE["planner"]
    other_price = define_expected_actions(
        planned_actions=[
            define_expected_action("price_change", {"product_id": "p-001", "new_price": 6.99})
        ],
        payload_match="subset",
    )
    wrong = EvalTestCase.model_validate(
        {
            **case.model_dump(by_alias=True, mode="json"),
            "structuredGroundTruth": other_price.model_dump(by_alias=True, mode="json"),
        }
    )
    artifact = _run("planner", [wrong])
    assert artifact.summary.failed == 1
    assert artifact.test_cases[0].samples[0].aggregate_score < 0.7
