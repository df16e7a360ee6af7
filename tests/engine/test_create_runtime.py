"""``create_runtime``: every argument check, with its error message."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from flowai_harness import (
    Runtime,
    TestingConfig,
    create_runtime,
    define_reference,
    define_runtime,
    define_tool,
)
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import TENANT, coordinator, executor, script, specialist


def _lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"]}


LOOKUP = define_tool("lookup", {"sku": str}).bind(_lookup)
UNBOUND = define_tool("lookup", {"sku": str})


def _spec(*agents: Any, **kwargs: Any) -> Any:
    return define_runtime(TENANT, agents=list(agents or [specialist("w")]), **kwargs)


# --------------------------------------------------------------------------- spec and tenant


def test_runtime_tenant_is_the_spec_tenant_resource_id() -> None:
    runtime = create_runtime(_spec())
    assert isinstance(runtime, Runtime)
    assert runtime.resource_id == "acme"


async def test_spec_may_be_given_as_its_wire_mapping() -> None:
    runtime = create_runtime(_spec(coordinator(["w"]), specialist("w")).to_wire())
    assert runtime.resource_id == "acme"
    events = await collect_events(runtime.query("hi", thread_id="t"))
    assert [e["type"] for e in events] == ["tool-agent", "step-start", "finish", "tool-agent"]


def test_invalid_spec_mapping_raises_pydantic_validation_error() -> None:
    with pytest.raises(pydantic.ValidationError):
        create_runtime({"tenant": {"resourceId": "acme", "version": "v1"}, "agentz": []})


def test_data_environment_for_another_tenant_is_refused() -> None:
    with pytest.raises(ValueError, match="tenant"):
        create_runtime(_spec(), data_environment={"tenant_id": "other"})


def test_data_environment_for_the_same_tenant_is_accepted() -> None:
    runtime = create_runtime(
        _spec(), data_environment={"tenant_id": "acme", "kv": {"kind": "memory"}}
    )
    assert runtime.resource_id == "acme"


@pytest.mark.parametrize(
    ("env", "error", "message"),
    [
        ({"kv": {"kind": "nope"}}, ValueError, "does not support kind 'nope'; expected one of"),
        ({"kv": "memory"}, TypeError, "must be a mapping with a 'kind' key"),
        ({"catalog_search": {}}, ValueError, "index_path"),
    ],
)
def test_invalid_data_environment_is_refused(env: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        create_runtime(_spec(), data_environment=env)


# --------------------------------------------------------------------------- services


def test_services_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="services must be a mapping"):
        create_runtime(_spec(), services=[("db", 1)])  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", 3, None])
def test_service_names_must_be_non_empty_strings(key: Any) -> None:
    with pytest.raises(SpecTypeError, match="service names must be non-empty strings"):
        create_runtime(_spec(), services={key: object()})


@pytest.mark.parametrize("key", ["tool_use_id", "services", "references"])
def test_reserved_service_names_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match=f"service name '{key}' is reserved") as info:
        create_runtime(_spec(), services={key: object()})
    assert not isinstance(info.value, TypeError)


# --------------------------------------------------------------------------- tools


def test_agent_tool_without_handler_is_refused_naming_binding_and_agent() -> None:
    with pytest.raises(
        ValueError, match=r"^tool binding 'lookup' for agent 'w' has no Python handler; attach one"
    ):
        create_runtime(_spec(specialist("w", tools=[UNBOUND])))


def test_missing_handler_message_names_the_binding_id() -> None:
    tool = define_tool("lookup", {"sku": str}, binding_id="lookup-v2")
    with pytest.raises(
        ValueError,
        match=r"^tool binding 'lookup-v2' for agent 'w' has no Python handler; attach one",
    ):
        create_runtime(_spec(specialist("w", tools=[tool])))


async def test_tool_bindings_argument_supplies_the_handler_of_an_agent_tool() -> None:
    runtime = create_runtime(
        _spec(specialist("w", tools=[UNBOUND])), tool_bindings=[LOOKUP], interpreter="scripted"
    )
    events = await collect_events(
        runtime.run_specialist("w", '{"tool": "lookup", "args": {"sku": "A"}}')
    )
    assert events[3]["result"] == {"sku": "A"}


def test_tool_bindings_must_be_tool_specs() -> None:
    with pytest.raises(TypeError, match="tool_bindings must contain ToolSpec values"):
        create_runtime(_spec(), tool_bindings=[_lookup])  # type: ignore[list-item]


def test_python_tool_named_like_a_role_builtin_collides() -> None:
    tool = define_tool("call_agent", {"agent": str, "prompt": str}).bind(_lookup)
    agents = [coordinator(["w"], tools=[tool]), specialist("w")]
    with pytest.raises(ValueError, match="two tools named 'call_agent'"):
        create_runtime(_spec(*agents))


def test_python_tool_named_like_a_toolkit_tool_collides() -> None:
    tool = define_tool("resolveRef", {"kind": str, "id": str}).bind(_lookup)
    with pytest.raises(ValueError, match="two tools named 'resolveRef'"):
        create_runtime(_spec(executor(tools=[tool])))


# --------------------------------------------------------------------------- approvals


def test_dynamic_tool_approval_without_predicate_is_refused() -> None:
    tool = define_tool("lookup", {"sku": str}, approval={"kind": "dynamic", "value": "big"}).bind(
        _lookup
    )
    with pytest.raises(ValueError, match=r"^dynamic approval predicate 'big' is not registered$"):
        create_runtime(_spec(specialist("w", tools=[tool])))


def _approved_skus(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["payload"]["sku"] for e in events if e["type"] == "approval-required"]


def _looked_up(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


async def test_dynamic_tool_approval_with_registered_predicate_is_accepted() -> None:
    asked: list[dict[str, Any]] = []

    def big(args: dict[str, Any], ctx: Any) -> bool:
        asked.append(args)
        return bool(args["sku"] == "big")

    tool = define_tool("lookup", {"sku": str}, approval={"kind": "dynamic", "value": "big"}).bind(
        _lookup
    )
    runtime = create_runtime(
        _spec(specialist("w", tools=[tool])),
        interpreter="scripted",
        approval_predicates={"big": big},
    )
    prompt = script(("lookup", {"sku": "small"}), ("lookup", {"sku": "big"}))
    events = await collect_events(runtime.run_specialist("w", prompt), runtime, approve="approve")
    assert asked == [{"sku": "small"}, {"sku": "big"}]
    assert _approved_skus(events) == ["big"]
    assert _looked_up(events) == [{"sku": "small"}, {"sku": "big"}]


async def test_callable_tool_approval_registers_itself() -> None:
    asked: list[dict[str, Any]] = []

    def gate(args: dict[str, Any], ctx: Any) -> bool:
        asked.append(args)
        return bool(args["sku"] == "big")

    tool = define_tool("lookup", {"sku": str}, approval=gate).bind(_lookup)
    runtime = create_runtime(_spec(specialist("w", tools=[tool])), interpreter="scripted")
    prompt = script(("lookup", {"sku": "big"}), ("lookup", {"sku": "small"}))
    events = await collect_events(runtime.run_specialist("w", prompt), runtime, approve="reject")
    assert asked == [{"sku": "big"}, {"sku": "small"}]
    assert _approved_skus(events) == ["big"]
    assert _looked_up(events)[1] == {"sku": "small"}  # the rejected call did not run


def test_dynamic_runtime_floor_without_predicate_is_refused() -> None:
    spec = _spec(
        approval_policies={"plans": {"kind": "dynamic", "value": "plan-check"}, "tools": "never"}
    )
    with pytest.raises(
        ValueError, match=r"^dynamic approval predicate 'plan-check' is not registered$"
    ):
        create_runtime(spec)


def test_dynamic_agent_override_without_predicate_is_refused() -> None:
    spec = _spec(
        approval_overrides={"agents": {"w": {"tools": {"kind": "dynamic", "value": "w-tools"}}}}
    )
    with pytest.raises(ValueError, match="predicate 'w-tools' is not registered"):
        create_runtime(spec)


@pytest.mark.parametrize(
    ("predicates", "message"),
    [
        ({"": lambda a, c: True}, "keys must be non-empty strings"),
        ({"p": "not callable"}, "approval predicate 'p' must be callable"),
    ],
)
def test_approval_predicates_are_checked(predicates: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        create_runtime(_spec(), approval_predicates=predicates)


# --------------------------------------------------------------------------- callbacks


def test_event_hooks_must_be_callables() -> None:
    with pytest.raises(TypeError, match="event_hooks must contain callables"):
        create_runtime(_spec(), event_hooks=["print"])  # type: ignore[list-item]


def test_action_dispatcher_must_be_callable() -> None:
    with pytest.raises(TypeError, match="action_dispatcher must be callable"):
        create_runtime(_spec(), action_dispatcher="dispatch")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- testing


@pytest.mark.parametrize("interpreter", ["scripted", "anthropic"])
def test_testing_with_a_non_default_interpreter_is_refused(interpreter: Any) -> None:
    with pytest.raises(
        ValueError,
        match="create_runtime accepts either testing or a non-default interpreter, not both",
    ):
        create_runtime(_spec(), testing=TestingConfig(mock_response="M"), interpreter=interpreter)


def test_testing_with_a_model_client_interpreter_is_refused() -> None:
    with pytest.raises(ValueError, match="either testing or a non-default interpreter"):
        create_runtime(_spec(), testing={"mock_response": "M"}, interpreter=ScriptedModel())


def test_testing_with_unknown_keys_names_them() -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['delay', 'extra'\]"):
        create_runtime(_spec(), testing={"mock_response": "M", "extra": 1, "delay": 2})


def test_testing_without_mock_response_is_refused() -> None:
    with pytest.raises(ValueError, match="requires the key 'mock_response'"):
        create_runtime(_spec(), testing={})  # type: ignore[typeddict-item]


def test_testing_mock_response_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="mock_response must be a string; got int"):
        create_runtime(_spec(), testing={"mock_response": 5})  # type: ignore[typeddict-item]


def test_testing_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="testing must be a TestingConfig mapping"):
        create_runtime(_spec(), testing="M")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- interpreter


def test_unknown_interpreter_is_refused_listing_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown interpreter 'gemini'; expected one of: noop"):
        create_runtime(_spec(), interpreter="gemini")  # type: ignore[arg-type]


def test_interpreter_object_without_stream_turn_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="ModelClient object with a stream_turn method"):
        create_runtime(_spec(), interpreter=object())  # type: ignore[arg-type]


def test_anthropic_without_provider_entry_asks_for_an_api_key() -> None:
    with pytest.raises(ValueError, match="needs providers\\['anthropic'\\] with an 'apiKey'"):
        create_runtime(_spec(), interpreter="anthropic")


def test_anthropic_with_unset_api_key_env_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWAI_TEST_UNSET_KEY", raising=False)
    spec = _spec(providers={"anthropic": {"apiKeyEnv": "FLOWAI_TEST_UNSET_KEY"}})
    with pytest.raises(ValueError, match="'FLOWAI_TEST_UNSET_KEY', which is not set"):
        create_runtime(spec, interpreter="anthropic")


@pytest.mark.parametrize("interpreter", ["noop", "scripted"])
@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gpt-4o", "anthropic.claude-v2", "llama-3"])
def test_offline_interpreters_need_no_provider_entry(interpreter: Any, model: str) -> None:
    from flowai_harness import define_specialist

    agent = define_specialist("w", model=model, prompt="p")
    runtime = create_runtime(define_runtime(TENANT, agents=[agent]), interpreter=interpreter)
    assert runtime.agent_names == ["w"]


async def test_testing_needs_no_provider_entry() -> None:
    runtime = create_runtime(_spec(), testing={"mock_response": "M"})
    events = await collect_events(runtime.run_specialist("w", "hi"))
    assert "".join(e["text"] for e in events if e["type"] == "text").endswith("M")
    assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"


# --------------------------------------------------------------------------- engine build


def _wire(**agent_changes: Any) -> dict[str, Any]:
    wire = _spec().to_wire()
    wire["agents"][0].update(agent_changes)
    return wire


def test_agent_toolkit_missing_from_spec_toolkits_is_refused() -> None:
    with pytest.raises(ValueError, match="agent 'w' uses unknown toolkit id 'references'"):
        create_runtime(_wire(toolkits=["references"]))


def test_catalog_toolkit_without_catalog_search_is_refused() -> None:
    with pytest.raises(ValueError, match="catalog search is not configured"):
        create_runtime(_spec(specialist("w", toolkits=["catalog"])))


def test_plans_toolkit_narrowed_to_a_forbidden_tool_is_refused() -> None:
    wire = _wire(toolkits=["plans"])
    wire["toolkits"] = [{"id": "plans", "config": {"tools": ["storePlan"]}}]
    with pytest.raises(ValueError, match="toolkit 'plans' tools are scoped by agent role"):
        create_runtime(wire)


async def test_each_runtime_gets_its_own_in_memory_store() -> None:
    ref = define_reference("note", {"text": str})
    spec = _spec(references=[ref])
    first, second = create_runtime(spec), create_runtime(spec)
    handle = await first.create_reference(ref, {"text": "hi"})
    assert await first.resolve_reference(handle) == {"text": "hi"}
    with pytest.raises(ValueError, match="reference not found"):
        await second.resolve_reference(handle)


def test_configuration_errors_are_value_errors_of_the_harness_tree() -> None:
    with pytest.raises(ConfigurationError):
        create_runtime(_spec(specialist("w", tools=[UNBOUND])))


@pytest.mark.parametrize("config", [{"apiKey": "sk-secret-123"}, {"apiKeyEnv": "FLOWAI_TEST_KEY"}])
def test_api_keys_never_appear_in_create_runtime_errors(
    config: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWAI_TEST_KEY", "sk-secret-123")
    spec = _spec(providers={"anthropic": config})
    try:
        create_runtime(spec, interpreter="anthropic")
    except ValueError as exc:  # a build without the live adapter refuses, but never leaks
        assert "sk-secret-123" not in str(exc)
        assert "apiKey" not in str(exc)  # the key check itself passed
