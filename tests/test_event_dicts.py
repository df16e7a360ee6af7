"""The dict form of every runtime event fits its TypedDict (flowai_harness.event_dicts): the keys
it always has, the ones it may have, nothing else, nested ones included."""

from __future__ import annotations

import sys
import typing
from typing import Any

import pytest
from typing_extensions import get_type_hints, is_typeddict

from flowai_harness import define_tool, event_dicts, events
from flowai_harness.engine.plan_store import AliasedPlanStatusChange
from flowai_harness.testing import collect_events
from tests.engine.helpers import runtime_of, script, specialist

USAGE = events.TokenUsage(10, 5, 2, 1)
REQUEST = events.ApprovalRequest("ap-1", "tool", "t", {"x": 1}, "tenant:v1", "th")
FULL_REQUEST = events.ApprovalRequest(
    "ap-1", "plan", "p", {"x": 1}, "tenant:v1", "th", "corr", {"g": 1}, {"toolCalls": 1}
)
TIMING = events.ToolTiming("t", "c1", 12, "completed", 40)

# Each event class with its fields at their fewest and at their most.
SAMPLES: dict[type[Any], list[events.RuntimeEvent]] = {
    events.Text: [events.Text("hi")],
    events.Reasoning: [events.Reasoning("hmm")],
    events.StepStart: [events.StepStart()],
    events.ToolInvocationCall: [events.ToolInvocationCall("c1", "t", {"x": 1})],
    events.ToolInvocationResult: [events.ToolInvocationResult("c1", "t", {"x": 1}, {"y": 2})],
    events.ToolProgress: [
        events.ToolProgress("t", "load", 1, 3),
        events.ToolProgress("t", "load", 1, 3, tool_call_id="c1", milestone={"rows": 5}),
    ],
    events.ToolAgent: [events.ToolAgent("w", "inv-1", "call")],
    events.ToolAgentUsage: [events.ToolAgentUsage("w", "m", USAGE)],
    events.ApprovalRequired: [
        events.ApprovalRequired(REQUEST),
        events.ApprovalRequired(FULL_REQUEST),
    ],
    events.ApprovalDecision: [
        events.ApprovalDecision("ap-1", "approve"),
        events.ApprovalDecision("ap-1", "revise", feedback="smaller", partial={"x": 2}),
    ],
    events.PlanStatusChange: [events.PlanStatusChange("p1", "draft", "approved")],
    AliasedPlanStatusChange: [
        AliasedPlanStatusChange("p1", "draft", "approved"),
        AliasedPlanStatusChange("p1", "draft", "approved", from_alias="Draft", to_alias="OK"),
    ],
    events.FlowUi: [events.FlowUi("dsl")],
    events.FileRegistered: [events.FileRegistered("f1", "a.csv", "th", "2026-01-01T00:00:00Z")],
    events.CostSummary: [
        events.CostSummary([], USAGE),
        events.CostSummary([{"agentName": "w"}], USAGE, total_cost_usd=0.25),
    ],
    events.BudgetWarning: [events.BudgetWarning("max_tokens", 80, 100, {"tokens": 80})],
    events.LatencySummary: [
        events.LatencySummary(),
        events.LatencySummary(
            5,
            3,
            1,
            1,
            2,
            [TIMING, events.ToolTiming("t", "c2", 1, "error")],
            1,
            True,
            40,
            [{"attempt": 1}],
        ),
    ],
    events.Finish: [events.Finish("stop", USAGE)],
    events.ErrorEvent: [events.ErrorEvent("bad"), events.ErrorEvent("bad", code="budget_exceeded")],
    events.CustomEvent: [events.CustomEvent("mine", {"a": [1]})],
}


def _event_classes() -> set[type[Any]]:
    found: set[type[Any]] = set()
    pending: list[type[Any]] = [events.RuntimeEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # A slots dataclass replaces its class; the first one may linger among the subclasses.
        if "type" in cls.__dict__ and getattr(sys.modules[cls.__module__], cls.__name__) is cls:
            found.add(cls)
    return found


def _wire_type(cls: type[Any]) -> Any:
    """The TypedDict an event class declares (``class Text(RuntimeEvent[TextEventDict])``)."""
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is events.RuntimeEvent:
                return typing.get_args(base)[0]
    raise AssertionError(f"{cls.__name__} does not name its TypedDict")


def _fits(value: Any, shape: Any, where: str) -> None:
    """Assert that ``value`` has the keys of the TypedDict ``shape`` (recursively)."""
    if is_typeddict(shape):
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        keys = set(value)
        missing = shape.__required_keys__ - keys
        extra = keys - shape.__required_keys__ - shape.__optional_keys__
        assert not missing and not extra, f"{where}: missing {missing}, unexpected {extra}"
        hints = get_type_hints(shape)
        for key, item in value.items():
            _fits(item, hints[key], f"{where}.{key}")
    elif typing.get_origin(shape) is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for index, item in enumerate(value):
            _fits(item, typing.get_args(shape)[0], f"{where}[{index}]")
    elif typing.get_origin(shape) is typing.Literal:
        assert value in typing.get_args(shape), f"{where}: {value!r} not in {shape}"


def _shape_of(event: dict[str, Any]) -> Any:
    """The TypedDict of a streamed event, picked by its ``type`` (and ``state``)."""
    candidates = [
        member
        for member in typing.get_args(event_dicts.EventDict)
        if event["type"] in typing.get_args(get_type_hints(member)["type"])
        and (
            "state" not in get_type_hints(member)
            or event.get("state") in typing.get_args(get_type_hints(member)["state"])
        )
    ]
    assert len(candidates) == 1, (event, candidates)
    return candidates[0]


def test_every_event_class_has_samples() -> None:
    assert _event_classes() == set(SAMPLES)


@pytest.mark.parametrize(
    "event", [e for samples in SAMPLES.values() for e in samples], ids=lambda e: repr(e)[:60]
)
def test_the_dict_of_an_event_fits_its_typed_dict(event: events.RuntimeEvent) -> None:
    shape = _wire_type(type(event))
    _fits(event.to_dict(), shape, type(event).__name__)
    numbered = event.to_dict(7)
    _fits(numbered, shape, type(event).__name__)
    assert numbered["sequence"] == 7
    assert numbered["type"] == type(event).type
    assert _shape_of(numbered) is shape


def test_a_typed_dict_that_lost_a_key_is_caught() -> None:
    with pytest.raises(AssertionError, match="missing"):
        _fits({"type": "text"}, event_dicts.TextEventDict, "text")
    with pytest.raises(AssertionError, match="unexpected"):
        _fits({"type": "text", "text": "a", "extra": 1}, event_dicts.TextEventDict, "text")
    with pytest.raises(AssertionError, match="unexpected"):
        _fits(
            {"type": "error", "error": {"message": "m", "oops": 1}},
            event_dicts.ErrorEventDict,
            "error",
        )


@define_tool("t", {"x": int})
def echo_x(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"got": args["x"]}


@define_tool("gated", {"x": int}, approval="always")
def gated(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"done": args["x"]}


async def test_every_event_of_a_scripted_run_fits_the_union() -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x, gated]), interpreter="scripted")
    prompt = script(("t", {"x": 1}), ("gated", {"x": 2}), ("t", {"x": "not a number"}))
    streamed = await collect_events(runtime.run_specialist("w", prompt), runtime, approve="approve")
    assert {"tool-invocation", "approval-required", "approval-decision", "finish"} <= {
        e["type"] for e in streamed
    }
    for event in streamed:
        _fits(event, _shape_of(event), event["type"])
