"""The MCP server of one agent (src/flowai_harness/_mcp_serving/server.py), driven by the
official client.

These tests connect the SDK's ``Client`` in process, over both protocol eras: the initialize
handshake ("legacy") and the 2026-07-28 per-request envelope ("auto" negotiates it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client.client import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, TextContent

from flowai_harness import __version__
from flowai_harness._mcp_serving.server import tool_result
from flowai_harness.ports import ToolOutcome
from tests.mcp.sample_app import TOOL_NAMES

MODES = ["legacy", "auto"]


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1
    item = result.content[0]
    assert isinstance(item, TextContent)
    return item.text


@pytest.mark.parametrize("mode", MODES)
async def test_server_identifies_itself_by_agent_and_package_version(
    sdk_server: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        info = client.server_info
        assert info is not None
        assert info.name == "flowai-runtime:tools"
        assert info.version == __version__
        assert "'tools'" in (client.session.instructions or "")
        capabilities = client.server_capabilities
        assert capabilities is not None
        assert capabilities.tools is not None
        assert capabilities.prompts is None and capabilities.resources is None


@pytest.mark.parametrize("mode", MODES)
async def test_listed_tools_match_list_mcp_tools_names_and_schemas(
    sdk_server: Any, runtime: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        listed = (await client.list_tools()).tools
    assert [tool.name for tool in listed] == TOOL_NAMES
    expected = runtime.list_mcp_tools("tools")
    assert [
        {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
        for t in listed
    ] == expected
    add = next(t for t in listed if t.name == "add")
    assert add.input_schema["required"] == ["a", "b"]
    assert add.input_schema["additionalProperties"] is False


@pytest.mark.parametrize("mode", MODES)
async def test_calling_a_tool_returns_compact_json_text_and_structured_content(
    sdk_server: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error is False
    structured = result.structured_content
    assert structured["sum"] == 5
    assert text_of(result) == json.dumps(structured, separators=(",", ":"), sort_keys=True)


@pytest.mark.parametrize("mode", MODES)
async def test_each_call_gets_a_fresh_uuid_tool_use_id(sdk_server: Any, mode: str) -> None:
    async with Client(sdk_server, mode=mode) as client:
        first = await client.call_tool("add", {"a": 1, "b": 1})
        second = await client.call_tool("add", {"a": 1, "b": 1})
    ids = {first.structured_content["toolUseId"], second.structured_content["toolUseId"]}
    assert len(ids) == 2
    assert all(len(i) == 36 and i.count("-") == 4 for i in ids)


@pytest.mark.parametrize("mode", MODES)
async def test_a_string_result_is_one_text_item_without_structured_content(
    sdk_server: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("echo", {"text": "héllo"})
    assert text_of(result) == "héllo"
    assert result.structured_content is None
    assert result.is_error is False


async def test_a_list_result_is_structured_only_on_protocols_that_allow_it(
    sdk_server: Any,
) -> None:
    async with Client(sdk_server, mode="legacy") as client:
        legacy = await client.call_tool("numbers", {})
    async with Client(sdk_server, mode="auto") as client:
        modern = await client.call_tool("numbers", {})
    assert text_of(legacy) == text_of(modern) == "[1,2,3]"
    assert legacy.structured_content is None
    assert modern.structured_content == [1, 2, 3]


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_tool_returns_a_tool_error(sdk_server: Any, mode: str) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("boom", {})
    assert result.is_error is True
    assert result.structured_content == {"error": "RuntimeError: the warehouse is on fire"}
    assert "the warehouse is on fire" in text_of(result)


@pytest.mark.parametrize("mode", MODES)
async def test_an_approval_gated_tool_fails_at_once_instead_of_waiting(
    sdk_server: Any, runtime: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("gated", {}, read_timeout_seconds=5)
    assert result.is_error is True
    assert result.structured_content == {
        "error": "Approval event sink closed before request was emitted"
    }
    assert runtime.pending_approvals() == []


@pytest.mark.parametrize("mode", MODES)
async def test_a_predicate_that_declines_approval_lets_the_call_run(
    sdk_server: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("relaxed", {})
    assert result.is_error is False
    assert text_of(result) == "the predicate let this through"


@pytest.mark.parametrize("mode", MODES)
async def test_a_bad_argument_returns_a_tool_error_naming_the_problem(
    sdk_server: Any, mode: str
) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("add", {"a": "two", "b": 3})
    assert result.is_error is True
    message = result.structured_content["error"]
    assert message.startswith("Invalid arguments for tool 'add': ")
    assert "'two' is not of type 'integer'" in message


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_tool_is_an_invalid_params_error(sdk_server: Any, mode: str) -> None:
    async with Client(sdk_server, mode=mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("call_agent", {"agent": "x", "prompt": "y"})
    assert caught.value.code == INVALID_PARAMS
    assert caught.value.message == "Unknown tool: call_agent"


@pytest.mark.parametrize("mode", MODES)
async def test_absent_arguments_become_an_empty_object(sdk_server: Any, mode: str) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("echo")
    assert result.is_error is False
    assert text_of(result) == ""


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_over_the_time_limit_is_an_internal_error_naming_the_tool(
    impatient_server: Any, mode: str
) -> None:
    async with Client(impatient_server, mode=mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("slow", {"seconds": 5})
    assert caught.value.code == INTERNAL_ERROR
    assert caught.value.message == "Tool `slow` timed out after 0.5s"


@pytest.mark.parametrize("mode", MODES)
async def test_services_reach_python_tools(sdk_server: Any, mode: str) -> None:
    async with Client(sdk_server, mode=mode) as client:
        result = await client.call_tool("greet", {"name": "Ada"})
    assert text_of(result) == "Hello, Ada"


@pytest.mark.parametrize(
    ("outcome", "text", "structured"),
    [
        (ToolOutcome("plain"), "plain", None),
        (ToolOutcome({"b": 1, "a": [1, 2]}), '{"a":[1,2],"b":1}', {"b": 1, "a": [1, 2]}),
        (ToolOutcome(None), "null", None),
        (ToolOutcome(7), "7", None),
        (ToolOutcome({"error": "nope"}, is_error=True), '{"error":"nope"}', {"error": "nope"}),
    ],
)
def test_tool_results_map_to_mcp_content_per_the_spec(
    outcome: ToolOutcome, text: str, structured: Any
) -> None:
    result = tool_result(outcome, protocol_version="2025-11-25")
    assert text_of(result) == text
    assert result.structured_content == structured
    assert result.is_error is outcome.is_error


def test_non_object_json_is_structured_on_the_2026_protocol() -> None:
    assert tool_result(ToolOutcome(7), protocol_version="2026-07-28").structured_content == 7
    assert tool_result(ToolOutcome(None), protocol_version="2026-07-28").structured_content is None
