"""The flowai_harness.mcp module functions (mcp/__init__.py and mcp/runtime_factory.py)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest
from mcp.client.client import Client

import flowai_harness.mcp as mcp_module
from flowai_harness import define_tool
from flowai_harness._mcp_serving.server import build_server
from flowai_harness.engine.direct_tools import DirectTools
from flowai_harness.mcp import create_mcp_runtime, list_tools, serve_http, serve_stdio


class RecordingRuntime:
    """Records what the module functions forward."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def list_mcp_tools(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        self.calls.append(("list_mcp_tools", args, kwargs))
        return [{"name": "x", "description": "", "inputSchema": {"type": "object"}}]

    async def serve_mcp_stdio(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("serve_mcp_stdio", args, kwargs))

    async def serve_mcp_http(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("serve_mcp_http", args, kwargs))


def test_the_module_exports_the_spec_names() -> None:
    assert mcp_module.__all__ == ["create_mcp_runtime", "list_tools", "serve_http", "serve_stdio"]


def test_importing_the_module_does_not_load_the_sdk() -> None:
    probe = (
        "import sys, flowai_harness.mcp; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'mcp', 'uvicorn', 'starlette', 'mcp_types'}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_signatures_and_defaults_follow_the_spec() -> None:
    http = inspect.signature(serve_http)
    assert {name: p.default for name, p in http.parameters.items() if name != "runtime"} == {
        "agent": inspect.Parameter.empty,
        "host": "127.0.0.1",
        "port": 8765,
        "path": "/mcp",
        "transport": "streamable-http",
        "thread_id": None,
        "call_timeout_secs": 30.0,
        "expose_agent_tools": False,
        "allowed_origins": None,
        "require_origin": True,
        "bearer_token": None,
        "allowed_hosts": None,
    }
    stdio = inspect.signature(serve_stdio)
    assert {name: p.default for name, p in stdio.parameters.items() if name != "runtime"} == {
        "agent": inspect.Parameter.empty,
        "thread_id": None,
        "call_timeout_secs": 30.0,
        "expose_agent_tools": False,
    }
    factory = inspect.signature(create_mcp_runtime)
    assert {name: p.default for name, p in factory.parameters.items()} == {
        "tools": None,
        "toolkits": None,
        "agent": "mcp",
        "tenant": "flowai-mcp",
        "data_environment": None,
        "services": None,
    }
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in factory.parameters.values())


def test_list_tools_delegates_to_the_runtime() -> None:
    runtime = RecordingRuntime()
    assert list_tools(runtime, agent="a")[0]["name"] == "x"
    assert runtime.calls == [("list_mcp_tools", ("a",), {"expose_agent_tools": False})]


async def test_serve_stdio_forwards_every_argument() -> None:
    runtime = RecordingRuntime()
    await serve_stdio(runtime, agent="a", thread_id="t", call_timeout_secs=2.0)
    assert runtime.calls == [
        (
            "serve_mcp_stdio",
            ("a",),
            {"thread_id": "t", "call_timeout_secs": 2.0, "expose_agent_tools": False},
        )
    ]


async def test_serve_http_forwards_every_argument_defaults_included() -> None:
    runtime = RecordingRuntime()
    await serve_http(runtime, agent="a", port=0)
    assert runtime.calls == [
        (
            "serve_mcp_http",
            ("a",),
            {
                "host": "127.0.0.1",
                "port": 0,
                "path": "/mcp",
                "transport": "streamable-http",
                "thread_id": None,
                "call_timeout_secs": 30.0,
                "expose_agent_tools": False,
                "allowed_origins": None,
                "require_origin": True,
            },
        )
    ]


async def test_serve_http_forwards_the_token_and_hosts_only_when_given() -> None:
    runtime = RecordingRuntime()
    await serve_http(runtime, agent="a", bearer_token="tok-123", allowed_hosts=["h.example"])
    _name, _args, kwargs = runtime.calls[0]
    assert kwargs["bearer_token"] == "tok-123"
    assert kwargs["allowed_hosts"] == ["h.example"]


def test_create_mcp_runtime_builds_one_specialist_with_the_tools() -> None:
    tool = define_tool(
        "shout", {"type": "object", "properties": {"t": {"type": "string"}}}, "Upper-case."
    ).bind(lambda args, ctx: args["t"].upper())
    runtime = create_mcp_runtime(
        tools=[tool], toolkits=["references"], agent="helper", tenant="team-a"
    )
    assert runtime.resource_id == "team-a"
    assert runtime.agent_names == ["helper"]
    assert [t["name"] for t in list_tools(runtime, agent="helper")] == [
        "resolveRef",
        "glimpseRef",
        "shout",
    ]


async def test_a_tool_of_create_mcp_runtime_runs_with_services() -> None:
    tool = define_tool("whoami", {"type": "object", "properties": {}}, "").bind(
        lambda args, ctx: ctx.user
    )
    runtime = create_mcp_runtime(tools=[tool], services={"user": "ada"})
    server = build_server(
        DirectTools(runtime, "mcp"), tenant=runtime.resource_id, call_timeout_secs=5
    )
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("whoami", {})
    assert result.content[0].text == "ada"  # type: ignore[union-attr]


def test_create_mcp_runtime_defaults() -> None:
    runtime = create_mcp_runtime()
    assert runtime.resource_id == "flowai-mcp"
    assert runtime.agent_names == ["mcp"]
    assert list_tools(runtime, agent="mcp") == []


def test_a_data_environment_of_another_tenant_is_refused() -> None:
    with pytest.raises(ValueError, match="flowai-mcp"):
        create_mcp_runtime(data_environment={"tenant_id": "someone-else"})


def test_a_matching_data_environment_tenant_is_accepted() -> None:
    runtime = create_mcp_runtime(data_environment={"tenant_id": "flowai-mcp"})
    assert runtime.resource_id == "flowai-mcp"


def test_the_catalog_toolkit_needs_catalog_search() -> None:
    with pytest.raises(ValueError, match="catalog_search"):
        create_mcp_runtime(toolkits=["catalog"])


def test_an_unknown_toolkit_is_refused() -> None:
    with pytest.raises(ValueError, match="warp-drive"):
        create_mcp_runtime(toolkits=["warp-drive"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"tenant": " "}, ValueError),
        ({"tenant": 5}, TypeError),
        ({"agent": ""}, ValueError),
        ({"toolkits": "catalog"}, TypeError),
    ],
)
def test_create_mcp_runtime_checks_its_arguments(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_mcp_runtime(**kwargs)


def test_the_catalog_toolkit_is_served_when_catalog_search_is_configured(tmp_path: Any) -> None:
    environment = {
        "catalog": {"kind": "inline", "entries": []},
        "catalog_search": {"index_path": str(tmp_path / "index")},
    }
    runtime = create_mcp_runtime(toolkits=["catalog"], data_environment=environment)
    tools = list_tools(runtime, agent="mcp")
    assert [t["name"] for t in tools] == [
        "search_catalog",
        "get_catalog_entities",
        "list_schema_fields",
        "get_catalog_relations",
        "get_relation_paths_between",
        "sample_table_data",
        "execute_query",
    ]
    assert all(t["inputSchema"]["type"] == "object" for t in tools)
