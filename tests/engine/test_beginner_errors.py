"""Runtime mistakes a newcomer makes get an error naming the problem and the fix.

A tool without a handler, a misspelled specialist, a service the runtime was not given, a plain
``for`` over the event stream and an approval id that is not pending.
"""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_plan,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.errors import (
    ApprovalNotFoundError,
    ConfigurationError,
    MissingServiceError,
    SpecTypeError,
    UnknownAgentError,
)
from flowai_harness.testing import ScriptedModel, collect_events

NOISE = ("pydantic", "input_value", "errors.pydantic.dev", "Traceback")


def assert_plain(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in {text!r}"


def runtime_with(*agents: Any, **options: Any) -> Any:
    return create_runtime(
        define_runtime(define_tenant("acme", "v1"), agents=list(agents)), **options
    )


def greeter() -> Any:
    return define_specialist("greeter", model="claude-haiku-4-5", prompt="Greet.")


def test_a_tool_without_a_handler_says_how_to_attach_one() -> None:
    lookup = define_tool("lookup", {"sku": str})
    agent = define_specialist("pricing", model="claude-haiku-4-5", prompt="p", tools=[lookup])
    with pytest.raises(ConfigurationError) as caught:
        runtime_with(agent)
    text = str(caught.value)
    assert text.startswith("tool binding 'lookup' for agent 'pricing' has no Python handler; ")
    assert "tool.bind(handler)" in text
    assert "create_runtime(spec, tool_bindings=[tool])" in text
    assert_plain(text)


def test_a_misspelled_specialist_raises_at_the_call_with_the_close_name() -> None:
    runtime = runtime_with(greeter())
    with pytest.raises(UnknownAgentError) as caught:
        runtime.run_specialist("greter", "hi")
    assert str(caught.value) == (
        "specialist 'greter' not found; did you mean 'greeter'? The specialists of this runtime "
        "are ['greeter']: pass one of them to run_specialist, or add the agent to "
        "define_runtime(agents=[...])"
    )


async def test_a_service_the_runtime_was_not_given_names_services_of_create_runtime() -> None:
    lookup = define_tool("lookup", {"sku": str})

    @lookup
    def priced(args: dict[str, Any], ctx: Any) -> Any:
        return ctx.prices[args["sku"]]

    agent = define_specialist("pricing", model="claude-haiku-4-5", prompt="p", tools=[priced])
    model = ScriptedModel()
    model.add_turn(tool_calls=[("lookup", {"sku": "A-1"})])
    model.add_turn("No price.")
    runtime = runtime_with(agent, interpreter=model, services={"price": {"A-1": 4.5}})
    events = await collect_events(runtime.run_specialist("pricing", "price of A-1?"), runtime)
    [result] = [e["result"] for e in events if e.get("state") == "result" and "result" in e]
    assert result == {
        "error": "MissingServiceError: the tool context has no service 'prices'; did you mean "
        "'price'? Services given: ['price']. Services come from "
        "create_runtime(spec, services={'prices': ...})"
    }


def test_the_missing_service_error_is_a_key_error_and_an_attribute_error() -> None:
    error = MissingServiceError("the tool context has no service 'db'")
    assert isinstance(error, KeyError)
    assert isinstance(error, AttributeError)
    assert str(error) == "the tool context has no service 'db'"  # not KeyError's quoted repr


def test_a_plain_for_over_the_event_stream_says_to_use_async_for() -> None:
    runtime = runtime_with(greeter())
    stream = runtime.run_specialist("greeter", "hi")
    with pytest.raises(TypeError) as caught:
        for _event in stream:
            pass
    assert isinstance(caught.value, SpecTypeError)
    text = str(caught.value)
    assert "async for event in runtime.query(...)" in text
    assert "asyncio.run(" in text


async def test_an_unknown_approval_id_points_to_list_pending_approvals() -> None:
    runtime = runtime_with(greeter())
    with pytest.raises(ApprovalNotFoundError) as caught:
        await runtime.respond_to_approval("appr-typo", "approve")
    text = str(caught.value)
    assert text.startswith("approval not found: appr-typo; ")
    assert "await runtime.list_pending_approvals()" in text


def test_a_misspelled_approval_outcome_suggests_the_valid_one() -> None:
    runtime = runtime_with(greeter())
    with pytest.raises(ValueError) as caught:
        runtime.respond_to_approval("appr-1", "approved")
    assert str(caught.value) == (
        "approval outcome must be one of 'approve', 'reject', 'revise'; got 'approved'; "
        "did you mean 'approve'?"
    )


def test_a_misspelled_interpreter_suggests_the_valid_one() -> None:
    with pytest.raises(ConfigurationError) as caught:
        runtime_with(greeter(), interpreter="antropic")
    assert str(caught.value) == (
        "unknown interpreter 'antropic'; expected one of: noop, scripted, anthropic, openai; "
        "did you mean 'anthropic'?"
    )


async def test_run_specialist_on_a_planner_says_how_a_planner_is_started() -> None:
    plan = define_plan("Change", {"type": "object"})
    planner = define_planner("drafter", model="claude-haiku-4-5", prompt="p", plan=plan)
    desk = define_coordinator("desk", model="claude-sonnet-4-6", prompt="p", routes=["drafter"])
    runtime = runtime_with(desk, planner)
    events = await collect_events(runtime.run_specialist("drafter", "hi"))
    assert [e["error"]["message"] for e in events] == [
        "agent 'drafter' is not a specialist; it is a planner: it runs when the coordinator "
        "routes to it (runtime.query(prompt, thread_id))"
    ]
