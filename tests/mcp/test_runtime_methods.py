"""The MCP methods of the public Runtime and the functions they delegate to
(src/flowai_harness/_mcp_serving/runtime_methods.py)."""

from __future__ import annotations

import inspect
import math
import sys
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness._mcp_serving import runtime_methods
from flowai_harness.errors import ConfigurationError, MissingDependencyError, SpecTypeError
from flowai_harness.handle import Runtime
from tests.mcp.sample_app import TOOL_NAMES


def test_the_public_runtime_has_the_mcp_methods(runtime: Any) -> None:
    assert isinstance(runtime, Runtime)
    for name in ("list_mcp_tools", "serve_mcp_stdio", "serve_mcp_http"):
        method = inspect.signature(getattr(runtime, name))
        function = inspect.signature(getattr(runtime_methods, name))
        # the method is the function with the runtime bound: same parameters, same defaults
        assert list(function.parameters.values())[1:] == list(method.parameters.values())
        assert function.return_annotation == method.return_annotation


def test_list_mcp_tools_returns_descriptors_in_the_agents_order(runtime: Any) -> None:
    tools = runtime.list_mcp_tools("tools")
    assert [tool["name"] for tool in tools] == TOOL_NAMES
    assert all(set(tool) == {"name", "description", "inputSchema"} for tool in tools)
    assert tools[0]["description"] == "Add two integers."


def test_descriptors_are_copies_the_caller_may_change(runtime: Any) -> None:
    listed = runtime.list_mcp_tools("tools")
    listed[0]["inputSchema"]["type"] = "array"
    listed[0]["inputSchema"]["properties"]["a"]["type"] = "string"
    again = runtime.list_mcp_tools("tools")[0]["inputSchema"]
    assert again["type"] == "object"
    assert again["properties"]["a"]["type"] == "integer"


def test_an_unknown_agent_is_a_value_error(runtime: Any) -> None:
    with pytest.raises(ValueError, match=r"^agent 'ghost' not found in runtime$"):
        runtime.list_mcp_tools("ghost")


def test_routing_tools_are_left_out_by_default(runtime: Any) -> None:
    assert runtime.list_mcp_tools("front") == []


def test_exposing_agent_tools_of_a_routing_agent_is_refused(runtime: Any) -> None:
    with pytest.raises(
        ValueError, match="direct MCP exposure of recursive agent tools is not supported"
    ):
        runtime.list_mcp_tools("front", expose_agent_tools=True)


def test_exposing_agent_tools_of_an_agent_without_routing_changes_nothing(runtime: Any) -> None:
    assert runtime.list_mcp_tools("tools", expose_agent_tools=True) == runtime.list_mcp_tools(
        "tools"
    )


def test_expose_agent_tools_must_be_a_bool(runtime: Any) -> None:
    with pytest.raises(SpecTypeError, match="expose_agent_tools must be a bool"):
        runtime.list_mcp_tools("tools", expose_agent_tools="yes")


def test_role_default_tools_are_listed_with_their_schemas() -> None:
    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_specialist(
                "refs", model="claude-haiku-4-5", prompt="p", toolkits=["references", "plans"]
            )
        ],
    )
    tools = create_runtime(spec).list_mcp_tools("refs")
    assert [t["name"] for t in tools] == ["resolveRef", "glimpseRef", "getPlan"]
    assert tools[0]["inputSchema"]["required"] == ["kind", "id"]


@pytest.mark.parametrize("timeout", [0, -1, math.inf, math.nan])
async def test_serve_mcp_stdio_refuses_a_bad_timeout(runtime: Any, timeout: float) -> None:
    with pytest.raises(ValueError, match="call_timeout_secs must be a positive, finite"):
        await runtime.serve_mcp_stdio("tools", call_timeout_secs=timeout)


async def test_serve_mcp_stdio_refuses_an_unknown_agent_before_touching_stdio(
    runtime: Any,
) -> None:
    with pytest.raises(ValueError, match="agent 'ghost' not found in runtime"):
        await runtime.serve_mcp_stdio("ghost")


async def test_serve_mcp_stdio_refuses_a_blank_thread_id(runtime: Any) -> None:
    with pytest.raises(ValueError, match="thread_id must be a non-empty string"):
        await runtime.serve_mcp_stdio("tools", thread_id=" ")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transport": "sse"}, "unsupported MCP transport 'sse'"),
        ({"transport": "stdio"}, "use serve_mcp_stdio for stdio"),
        ({"path": "mcp"}, "path must start with '/'"),
        ({"port": 70000}, "port must be between 0 and 65535"),
        ({"host": ""}, "host must be a non-empty bind address"),
        ({"call_timeout_secs": 0}, "call_timeout_secs must be a positive"),
        ({"allowed_origins": ["*"]}, "require_origin=False"),
        ({"allowed_origins": ["localhost"]}, "is not an origin"),
        ({"bearer_token": " "}, "bearer_token must be a non-empty string"),
    ],
)
async def test_serve_mcp_http_refuses_bad_arguments_with_value_errors(
    runtime: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await runtime.serve_mcp_http("tools", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": "8765"},
        {"port": True},
        {"allowed_origins": "http://a.example"},
        {"call_timeout_secs": "30"},
        {"require_origin": "yes"},
    ],
)
async def test_serve_mcp_http_refuses_wrong_types_with_type_errors(
    runtime: Any, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        await runtime.serve_mcp_http("tools", **kwargs)


async def test_a_missing_sdk_names_the_extra_to_install(
    runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mcp.server.lowlevel", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'flowai-harness\[mcp\]'"):
        await runtime.serve_mcp_stdio("tools")


def test_a_tool_with_a_non_object_schema_cannot_be_served() -> None:
    from flowai_harness import define_tool

    tool = define_tool("scalar", {"type": "string"}, "takes a string").bind(lambda a, c: a)
    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[define_specialist("s", model="claude-haiku-4-5", prompt="p", tools=[tool])],
    )
    with pytest.raises(ConfigurationError, match="tool 'scalar' of agent 's' cannot be served"):
        create_runtime(spec).list_mcp_tools("s")
