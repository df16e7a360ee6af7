"""The Studio payload TypedDicts (studio/payloads.py) against the contract's schemas, and the
payloads their builders make against the TypedDicts."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import get_type_hints, is_typeddict

from flowai_harness.studio import payloads
from flowai_harness.studio.capabilities import capability_registry
from flowai_harness.studio.routes.approvals import approval_summary
from flowai_harness.studio.routes.discovery import status_body

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "contract" / "openapi.json").read_text(encoding="utf-8")
)["components"]["schemas"]


def _keys(shape: Any) -> frozenset[str]:
    return shape.__required_keys__ | shape.__optional_keys__


@pytest.mark.parametrize("name", payloads.__all__)
def test_a_payload_type_has_every_field_of_its_contract_schema(name: str) -> None:
    shape = getattr(payloads, name)
    schema = SCHEMAS[name]
    assert set(schema.get("required", ())) <= shape.__required_keys__
    assert set(schema["properties"]) <= _keys(shape)
    hints = get_type_hints(shape)
    for key, field in schema["properties"].items():
        if typing.get_origin(hints[key]) is typing.Literal and "enum" in field:
            assert set(typing.get_args(hints[key])) <= set(field["enum"]), key


def _fits(value: Any, shape: Any) -> None:
    assert is_typeddict(shape)
    assert shape.__required_keys__ <= set(value) <= _keys(shape), (value, shape)
    hints = get_type_hints(shape)
    for key, item in value.items():
        if is_typeddict(hints[key]):
            _fits(item, hints[key])
        elif typing.get_origin(hints[key]) is typing.Literal:
            assert item in typing.get_args(hints[key]), (key, item)


def test_the_built_payloads_fit_their_types() -> None:
    _fits(status_body(), payloads.StatusResponse)
    for has_data in (True, False):
        for row in capability_registry(["chat.stream", "data.sources"], has_data=has_data):
            _fits(row, payloads.CapabilitySummary)
    row = {"approvalId": "a1", "payload": {"kind": "plan", "title": "Ship it"}}
    _fits(approval_summary("default", row), payloads.ApprovalSummary)
    assert approval_summary("default", {"approvalId": "a2", "payload": {"kind": 3}})["kind"] == (
        "custom"
    )
