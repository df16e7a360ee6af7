"""Tool arguments: non-finite numbers and deep nesting are invalid arguments, never a crash."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.ports import ModelFinish, ModelRequest, ModelText, ModelToolCall
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import runtime_of, specialist


def _results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


def _recording_tool() -> tuple[Any, list[Any]]:
    seen: list[Any] = []

    @define_tool(
        "measure",
        {"type": "object", "properties": {"x": {"type": "number"}, "deep": {}}},
    )
    def measure(args: dict[str, Any], ctx: Any) -> Any:
        seen.append(args)
        return "ok"

    return measure, seen


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"x": float("nan")}, "x: nan is not a valid JSON number"),
        ({"x": float("inf")}, "x: inf is not a valid JSON number"),
        ({"deep": [1, {"y": float("-inf")}]}, "deep/1/y: -inf is not a valid JSON number"),
    ],
)
async def test_non_finite_numbers_are_invalid_arguments_the_model_can_correct(
    args: dict[str, Any], problem: str
) -> None:
    measure, seen = _recording_tool()
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("measure", args)])
        .add_turn(tool_calls=[("measure", {"x": 1.5})])
        .add_turn("done")
    )
    runtime = runtime_of(specialist("w", tools=[measure]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert _results(events) == [
        {
            "error": f"Invalid arguments for tool 'measure': {problem} (NaN and infinities are "
            f"not allowed)"
        },
        "ok",
    ]
    assert seen == [{"x": 1.5}]  # the handler never saw the NaN (as None or otherwise)


async def test_nan_parsed_from_model_json_is_rejected_too() -> None:
    measure, seen = _recording_tool()
    runtime = runtime_of(specialist("w", tools=[measure]), interpreter="scripted")
    # Python's json (like most provider SDKs) reads NaN and Infinity without complaint.
    prompt = '{"tool": "measure", "args": {"x": NaN}}'
    assert json.loads(prompt)["args"]["x"] != json.loads(prompt)["args"]["x"]
    events = await collect_events(runtime.run_specialist("w", prompt))
    [result] = _results(events)
    assert result["error"].startswith("Invalid arguments for tool 'measure': x: nan is not")
    assert seen == []


async def test_arguments_nested_up_to_the_limit_are_accepted_and_deeper_ones_refused() -> None:
    measure, seen = _recording_tool()
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("measure", {"deep": _nested(63)})])  # 64 levels with the object
        .add_turn(tool_calls=[("measure", {"deep": _nested(64)})])
        .add_turn("done")
    )
    runtime = runtime_of(specialist("w", tools=[measure]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    accepted, refused = _results(events)
    assert accepted == "ok" and len(seen) == 1
    assert refused == {
        "error": "Invalid arguments for tool 'measure': deep/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/"
        "0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/"
        "0/0/0: arguments are nested deeper than 64 levels"
    }


class _DeepCaller:
    """A ``ModelClient`` that calls ``measure`` once with the given arguments, then stops.

    Built by hand: the scripted test model copies its script recursively, which these
    arguments are too deep for.
    """

    live = False

    def __init__(self, args: Any) -> None:
        self.args = args
        self.requests: list[ModelRequest] = []

    def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        self.requests.append(request)
        first = len(self.requests) == 1

        async def parts() -> AsyncIterator[Any]:
            if first:
                yield ModelToolCall("call-1", "measure", self.args)
                yield ModelFinish("tool-calls")
            else:
                yield ModelText("done")
                yield ModelFinish("stop")

        return parts()


async def test_absurdly_deep_arguments_end_in_a_tool_error_not_a_recursion_error() -> None:
    measure, seen = _recording_tool()
    model = _DeepCaller({"deep": _nested(100_000)})
    runtime = runtime_of(specialist("w", tools=[measure], stateful=True), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    call, result = [e for e in events if e["type"] == "tool-invocation"]
    placeholder = "<arguments not shown: nested deeper than 64 levels>"
    assert call["args"] == placeholder and result["args"] == placeholder
    assert result["result"]["error"].endswith("arguments are nested deeper than 64 levels")
    assert events[-2]["type"] == "finish" and seen == []
    # the next request and the stateful agent's memory carry the placeholder
    assert model.requests[1].turns[0][0].arguments == placeholder
    await collect_events(runtime.run_specialist("w", "again", thread_id="t"))
    remembered = [
        interaction.arguments
        for message in model.requests[2].history
        for interaction in message.tool_interactions or []
    ]
    assert remembered == [placeholder]


async def test_the_depth_limit_is_configurable() -> None:
    measure, _ = _recording_tool()
    model = ScriptedModel().add_turn(tool_calls=[("measure", {"deep": [[1]]})]).add_turn("done")
    runtime = runtime_of(
        specialist("w", tools=[measure]), interpreter=model, limits={"tool_args_depth": 2}
    )
    events = await collect_events(runtime.run_specialist("w", "go"))
    [result] = _results(events)
    assert result == {
        "error": "Invalid arguments for tool 'measure': deep/0: arguments are nested deeper "
        "than 2 levels"
    }
