"""Expected/resolved actions and ground truth (specs/evals/actions.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.evals import (
    ActionGroundTruth,
    ExpectedAction,
    GroundTruth,
    ResolvedAction,
    define_action_ground_truth,
    define_expected_action,
    define_expected_actions,
    define_ground_truth,
    define_resolved_action,
)


def test_define_expected_action_dumps_type_and_payload() -> None:
    action = define_expected_action("price_change", {"productId": "p-001", "newPrice": 6.49})
    assert action.to_wire() == {
        "type": "price_change",
        "payload": {"productId": "p-001", "newPrice": 6.49},
    }


def test_define_resolved_action_has_the_same_wire_shape() -> None:
    action = define_resolved_action("price_change", {"productId": "p-001"})
    assert isinstance(action, ResolvedAction)
    assert action.to_wire() == {"type": "price_change", "payload": {"productId": "p-001"}}


def test_missing_payload_becomes_an_empty_object() -> None:
    assert define_expected_action("refresh").to_wire() == {"type": "refresh", "payload": {}}
    assert ExpectedAction.model_validate({"type": "refresh", "payload": None}).payload == {}


def test_payload_tuples_become_lists() -> None:
    action = define_expected_action("tag", {"ids": ("a", "b")})
    assert action.payload == {"ids": ["a", "b"]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"ids": {1, 2}}, "payload.ids must be JSON-compatible"),
        ({"price": float("nan")}, "payload.price must be a finite number"),
        ({1: "x"}, "JSON object keys must be strings"),
    ],
)
def test_payload_must_be_json_compatible(payload: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        define_expected_action("price_change", payload)


def test_action_type_must_not_be_blank() -> None:
    with pytest.raises(ValidationError, match="expected a non-blank string"):
        define_expected_action("  ")


def test_action_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        ExpectedAction.model_validate({"type": "a", "payload": {}, "kind": "a"})


def test_define_expected_actions_snapshot_matches_guides() -> None:
    truth = define_expected_actions(
        planned_actions=[define_expected_action("price_change", {"productId": "p-001"})],
        payload_match="subset",
    )
    assert truth.to_wire() == {
        "kind": "structured",
        "data": {
            "kind": "flat",
            "plannedActions": [{"type": "price_change", "payload": {"productId": "p-001"}}],
            "executedActions": [],
            "payloadMatch": "subset",
        },
    }


def test_define_expected_actions_defaults_to_exact_payload_match() -> None:
    truth = define_expected_actions(executed_actions=[{"type": "a", "payload": {"x": 1}}])
    assert truth.to_wire()["data"] == {
        "kind": "flat",
        "plannedActions": [],
        "executedActions": [{"type": "a", "payload": {"x": 1}}],
        "payloadMatch": "exact",
    }


def test_define_expected_actions_accepts_resolved_actions_in_a_bucket() -> None:
    truth = define_expected_actions(planned_actions=[define_resolved_action("a", {"k": 1})])
    assert truth.actions is not None
    assert truth.actions.planned_actions == [ExpectedAction(type="a", payload={"k": 1})]


@pytest.mark.parametrize(
    "buckets",
    [{}, {"planned_actions": []}, {"planned_actions": [], "executed_actions": None}],
)
def test_define_expected_actions_needs_a_non_empty_bucket(buckets: dict[str, object]) -> None:
    with pytest.raises(
        ValidationError,
        match="expected actions must declare at least one of planned_actions or executed_actions",
    ):
        define_expected_actions(**buckets)  # type: ignore[arg-type]


def test_define_expected_actions_rejects_an_unknown_payload_match() -> None:
    with pytest.raises(ValidationError, match=r"payload_match|payloadMatch"):
        define_expected_actions(
            planned_actions=[define_expected_action("a")],
            payload_match="fuzzy",  # type: ignore[arg-type]
        )


def test_define_expected_actions_rejects_a_bucket_that_is_not_a_list() -> None:
    with pytest.raises(ValidationError, match="must be a list of actions"):
        define_expected_actions(planned_actions={"type": "a"})  # type: ignore[arg-type]


def test_define_action_ground_truth_equals_define_expected_actions() -> None:
    kwargs = {"planned_actions": [define_expected_action("a", {"x": 1})], "payload_match": "subset"}
    assert define_action_ground_truth(**kwargs) == define_expected_actions(**kwargs)  # type: ignore[arg-type]


def test_define_action_ground_truth_only_knows_the_flat_kind() -> None:
    with pytest.raises(ValidationError, match="Input should be 'flat'"):
        define_action_ground_truth(
            planned_actions=[define_expected_action("a")],
            kind="nested",  # type: ignore[arg-type]
        )


def test_define_ground_truth_wraps_a_mapping() -> None:
    truth = define_ground_truth({"answer": 42, "items": ["a"]})
    assert truth.to_wire() == {"kind": "structured", "data": {"answer": 42, "items": ["a"]}}
    assert truth.actions is None


def test_define_ground_truth_keeps_the_schema_identifier_as_given() -> None:
    truth = define_ground_truth({"answer": 42}, schema="quiz.answer.v1")
    assert truth.schema_ == "quiz.answer.v1"
    assert truth.to_wire() == {
        "kind": "structured",
        "data": {"answer": 42},
        "schema": "quiz.answer.v1",
    }


def test_ground_truth_schema_must_be_a_string_identifier() -> None:
    with pytest.raises(ValidationError, match="schema must be a string identifier"):
        define_ground_truth({"answer": 42}, schema={"answer": int})  # type: ignore[arg-type]


def test_define_ground_truth_rejects_a_non_mapping_payload() -> None:
    with pytest.raises(SpecTypeError, match="payload must be a mapping, got list"):
        define_ground_truth([1, 2])  # type: ignore[arg-type]


def test_define_ground_truth_only_knows_the_structured_kind() -> None:
    with pytest.raises(SpecValueError, match="kind must be 'structured', got 'flat'"):
        define_ground_truth({"a": 1}, kind="flat")  # type: ignore[arg-type]


def test_define_ground_truth_validates_flat_payloads_as_actions() -> None:
    truth = define_ground_truth(
        {"kind": "flat", "plannedActions": [{"type": "a", "payload": {"x": 1}}]}
    )
    assert truth.actions == ActionGroundTruth(
        planned_actions=[ExpectedAction(type="a", payload={"x": 1})]
    )
    with pytest.raises(ValidationError, match=r"payloadMatch|payload_match"):
        define_ground_truth({"kind": "flat", "payloadMatch": "fuzzy"})
    with pytest.raises(ValidationError, match="unknown key"):
        define_ground_truth({"kind": "flat", "plannedActions": [], "extraKey": 1})


def test_ground_truth_with_another_data_kind_stays_free_form() -> None:
    truth = GroundTruth.model_validate({"kind": "structured", "data": {"kind": "table", "rows": 2}})
    assert truth.actions is None
    assert truth.payload == {"kind": "table", "rows": 2}


def test_ground_truth_accepts_its_payload_under_payload_or_data() -> None:
    by_payload = GroundTruth.model_validate({"kind": "structured", "payload": {"rows": 2}})
    by_data = GroundTruth.model_validate({"kind": "structured", "data": {"rows": 2}})
    assert by_payload == by_data
    assert by_payload.to_wire() == {"kind": "structured", "data": {"rows": 2}}
    with pytest.raises(ValidationError, match="'payload' or 'data', not both"):
        GroundTruth.model_validate({"kind": "structured", "payload": {}, "data": {}})


def test_empty_flat_ground_truth_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="at least one of planned_actions or executed"):
        GroundTruth.model_validate(
            {"kind": "structured", "data": {"kind": "flat", "plannedActions": []}}
        )


def test_ground_truth_rejects_another_kind_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="'structured'"):
        GroundTruth.model_validate({"kind": "flat", "data": {}})
    with pytest.raises(ValidationError, match="unknown key"):
        GroundTruth.model_validate({"kind": "structured", "data": {}, "notes": "x"})


def test_ground_truth_round_trips_through_the_wire() -> None:
    truth = define_expected_actions(
        planned_actions=[define_expected_action("a", {"x": [1, {"y": None}]})],
        executed_actions=[define_expected_action("b")],
    )
    assert GroundTruth.model_validate(truth.to_wire()) == truth
    with_schema = define_ground_truth({"n": 1}, schema="counts.v2")
    assert GroundTruth.model_validate(with_schema.to_wire()) == with_schema


def test_define_expected_actions_rejects_a_lone_action_instead_of_a_list() -> None:
    with pytest.raises(ValidationError, match="must be a list of actions, got ExpectedAction"):
        define_expected_actions(planned_actions=define_expected_action("a"))  # type: ignore[arg-type]
