"""Streamable HTTP serving (src/flowai_harness/_mcp_serving/http.py), driven by the official
MCP client.

Every server binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import INVALID_PARAMS, TextContent

from flowai_harness._mcp_serving.http import HttpEndpoint, running_http_server
from flowai_harness._mcp_serving.serve_options import HttpOptions, check_http_options
from flowai_harness.errors import RunError, SpecValueError
from tests.mcp.sample_app import TOOL_NAMES
from tests.waiting import wait_until

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "1"},
    },
}
JSON_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def options(**overrides: Any) -> HttpOptions:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "path": "/mcp",
        "transport": "streamable-http",
        "allowed_origins": None,
        "require_origin": True,
        "bearer_token": None,
    }
    values.update(overrides)
    return check_http_options(**values)


@asynccontextmanager
async def serving(sdk_server: Any, **overrides: Any) -> AsyncIterator[HttpEndpoint]:
    async with running_http_server(sdk_server, options(**overrides)) as endpoint:
        yield endpoint


@asynccontextmanager
async def session_for(
    url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def raw_post(url: str, body: Any = None, **headers: str) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(
            url, json=INITIALIZE if body is None else body, headers={**JSON_HEADERS, **headers}
        )


async def test_the_official_client_initializes_lists_and_calls_tools(sdk_server: Any) -> None:
    async with serving(sdk_server) as endpoint, session_for(endpoint.url) as session:
        assert session.server_info is not None
        assert session.server_info.name == "flowai-runtime:tools"
        listed = (await session.list_tools()).tools
        assert [tool.name for tool in listed] == TOOL_NAMES
        add = next(tool for tool in listed if tool.name == "add")
        assert add.input_schema["properties"]["a"] == {
            "type": "integer",
            "description": "First addend.",
        }

        ok = await session.call_tool("add", {"a": 20, "b": 22})
        assert ok.is_error is False
        assert ok.structured_content["sum"] == 42

        failing = await session.call_tool("boom", {})
        assert failing.is_error is True
        assert failing.structured_content == {"error": "RuntimeError: the warehouse is on fire"}

        gated = await session.call_tool("gated", {})
        assert gated.is_error is True
        item = gated.content[0]
        assert isinstance(item, TextContent)
        assert "Approval event sink closed before request was emitted" in item.text

        bad = await session.call_tool("add", {"a": 1})
        assert bad.is_error is True
        assert "'b' is a required property" in bad.structured_content["error"]


async def test_the_2026_protocol_client_works_too(sdk_server: Any) -> None:
    async with serving(sdk_server) as endpoint, Client(endpoint.url, mode="auto") as client:
        assert [t.name for t in (await client.list_tools()).tools] == TOOL_NAMES
        result = await client.call_tool("numbers", {})
    assert result.structured_content == [1, 2, 3]


async def test_non_object_arguments_are_an_invalid_params_error(sdk_server: Any) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": ["not", "an", "object"]},
    }
    async with serving(sdk_server) as endpoint:
        response = await raw_post(endpoint.url, call, **{"mcp-protocol-version": "2025-11-25"})
    assert response.status_code == 200
    assert response.json()["error"]["code"] == INVALID_PARAMS


async def test_a_foreign_origin_is_refused(sdk_server: Any) -> None:
    async with serving(sdk_server) as endpoint:
        refused = await raw_post(endpoint.url, Origin="http://evil.example")
        without_origin = await raw_post(endpoint.url)
    assert refused.status_code == 403
    assert without_origin.status_code == 200
    assert without_origin.json()["result"]["serverInfo"]["name"] == "flowai-runtime:tools"


async def test_a_foreign_origin_also_fails_the_official_client(sdk_server: Any) -> None:
    async with serving(sdk_server) as endpoint:
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the HTTP 403 its own way
            async with session_for(endpoint.url, {"Origin": "http://evil.example"}):
                pass


async def test_listed_origins_are_accepted_with_exact_or_any_port(sdk_server: Any) -> None:
    allowed = ["http://app.example:3000", "http://localhost:*"]
    async with serving(sdk_server, allowed_origins=allowed) as endpoint:
        exact = await raw_post(endpoint.url, Origin="http://app.example:3000")
        any_port = await raw_post(endpoint.url, Origin="http://localhost:5173")
        other_port = await raw_post(endpoint.url, Origin="http://app.example:4000")
    assert (exact.status_code, any_port.status_code, other_port.status_code) == (200, 200, 403)


async def test_the_origin_check_can_be_turned_off(sdk_server: Any) -> None:
    async with serving(sdk_server, require_origin=False) as endpoint:
        response = await raw_post(endpoint.url, Origin="http://evil.example")
    assert response.status_code == 200


@pytest.mark.parametrize("require_origin", [True, False])
async def test_a_foreign_host_header_is_refused(sdk_server: Any, require_origin: bool) -> None:
    async with serving(sdk_server, require_origin=require_origin) as endpoint:
        foreign = await raw_post(endpoint.url, Host="rebind.example:8765")
        localhost = await raw_post(endpoint.url, Host="localhost:8765")
    assert foreign.status_code == 421
    assert localhost.status_code == 200


async def test_without_the_token_a_request_is_refused_when_a_token_is_set(
    sdk_server: Any,
) -> None:
    async with serving(sdk_server, bearer_token="s3cret-token") as endpoint:
        missing = await raw_post(endpoint.url)
        wrong = await raw_post(endpoint.url, Authorization="Bearer nope")
        right = await raw_post(endpoint.url, Authorization="Bearer s3cret-token")
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the HTTP 401 its own way
            async with session_for(endpoint.url):
                pass
        async with session_for(endpoint.url, {"Authorization": "Bearer s3cret-token"}) as session:
            result = await session.call_tool("echo", {"text": "authorised"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "s3cret-token" not in missing.text
    assert right.status_code == 200
    assert result.content[0].text == "authorised"  # type: ignore[union-attr]


async def test_port_zero_binds_a_free_port_shown_in_the_url(sdk_server: Any) -> None:
    async with serving(sdk_server, path="/tools/mcp") as endpoint:
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/tools/mcp", endpoint.url)
        assert match is not None
        assert int(match.group(1)) > 0


async def test_a_busy_port_is_a_runtime_error_naming_the_address(sdk_server: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(RunError, match=rf"127\.0\.0\.1:{port}/mcp") as caught:
            async with serving(sdk_server, port=port):
                pass
    assert isinstance(caught.value, RuntimeError)


async def test_an_unresolvable_bind_address_is_a_value_error(sdk_server: Any) -> None:
    with pytest.raises(SpecValueError, match="invalid MCP bind address 'no such host'"):
        async with serving(sdk_server, host="no such host"):
            pass


async def test_serve_mcp_http_prints_the_listening_url_and_stops_when_cancelled(
    runtime: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    task = asyncio.create_task(runtime.serve_mcp_http("tools", port=0))
    printed: list[str] = []

    def listening() -> re.Match[str] | None:
        printed.append(capsys.readouterr().err)
        return re.search(r"listening on (http://\S+)", "".join(printed))

    url = (await wait_until(listening)).group(1)
    assert url.endswith("/mcp")
    async with session_for(url) as session:
        assert len((await session.list_tools()).tools) == len(TOOL_NAMES)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(httpx2.ConnectError):
        await raw_post(url)


# ------------------------------------------------------------------ network binds, in process
# The app is built for a network bind address but driven through Starlette's in-process test
# client: nothing is bound and no traffic leaves the process.

NETWORK_IP = "192.0.2.10"
NETWORK_TOKEN = "network-token-0123456789"


def counting_server() -> tuple[Any, list[int]]:
    from flowai_harness import define_tool
    from flowai_harness._mcp_serving.server import build_server
    from flowai_harness.engine.direct_tools import DirectTools
    from flowai_harness.mcp import create_mcp_runtime

    calls: list[int] = []

    def bump(args: dict[str, Any], ctx: Any) -> str:
        calls.append(1)
        return "bumped"

    tool = define_tool("bump", {"type": "object", "properties": {}}, "Counts calls.").bind(bump)
    runtime = create_mcp_runtime(tools=[tool])
    return build_server(DirectTools(runtime, "mcp"), tenant="t", call_timeout_secs=5), calls


BUMP = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "bump"}}
CALL_HEADERS = {**JSON_HEADERS, "mcp-protocol-version": "2025-11-25"}


def network_client(host: str, base_url: str, **overrides: Any) -> Any:
    from starlette.testclient import TestClient

    from flowai_harness._mcp_serving.http import mcp_http_app

    server, calls = counting_server()
    values: dict[str, Any] = {"host": host, "bearer_token": NETWORK_TOKEN}
    values.update(overrides)
    app = mcp_http_app(server, options(**values), bound_address=host)
    return TestClient(app, base_url=base_url), calls


def test_a_network_bind_needs_a_token_to_be_built() -> None:
    from flowai_harness._mcp_serving.http import mcp_http_app
    from flowai_harness.errors import ConfigurationError

    server, _calls = counting_server()
    for host in (NETWORK_IP, "0.0.0.0"):
        with pytest.raises(ConfigurationError, match="without a token"):
            mcp_http_app(server, options(host=host), bound_address=host)


async def test_serve_mcp_http_refuses_a_wildcard_bind_without_a_token(runtime: Any) -> None:
    from flowai_harness.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="FLOWAI_MCP_TOKEN"):
        await runtime.serve_mcp_http("tools", host="0.0.0.0", port=0)


def test_a_network_bind_refuses_spoofed_hosts_and_requires_the_token() -> None:
    client, calls = network_client(NETWORK_IP, f"http://{NETWORK_IP}:8765")
    auth = {"Authorization": f"Bearer {NETWORK_TOKEN}"}
    with client:
        spoofed = [
            client.post("/mcp", json=BUMP, headers={**CALL_HEADERS, **auth, "Host": host})
            for host in ("127.0.0.1:8765", "0.0.0.0:8765", "localhost", "rebind.example")
        ]
        assert calls == []
        no_token = client.post("/mcp", json=BUMP, headers=CALL_HEADERS)
        wrong = client.post("/mcp", json=BUMP, headers={**CALL_HEADERS, "Authorization": "x"})
        assert calls == []
        ok = client.post("/mcp", json=BUMP, headers={**CALL_HEADERS, **auth})
    assert [r.status_code for r in spoofed] == [421, 421, 421, 421]
    assert no_token.status_code == wrong.status_code == 401
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    assert NETWORK_TOKEN not in no_token.text
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"]["content"][0]["text"] == "bumped"
    assert calls == [1]


def test_a_wildcard_bind_takes_loopback_names_only_on_loopback_connections() -> None:
    auth = {**CALL_HEADERS, "Authorization": f"Bearer {NETWORK_TOKEN}"}
    remote, calls = network_client("0.0.0.0", f"http://{NETWORK_IP}:8765")
    with remote:
        spoofed = remote.post("/mcp", json=BUMP, headers={**auth, "Host": "127.0.0.1:8765"})
        by_ip = remote.post("/mcp", json=BUMP, headers=auth)
    local, _ = network_client("0.0.0.0", "http://127.0.0.1:8765")
    with local:
        by_loopback = local.post("/mcp", json=BUMP, headers={**auth, "Host": "localhost"})
    listed, _ = network_client(
        "0.0.0.0", f"http://{NETWORK_IP}:8765", allowed_hosts=["mcp.example"]
    )
    with listed:
        unlisted = listed.post("/mcp", json=BUMP, headers=auth)
        named = listed.post("/mcp", json=BUMP, headers={**auth, "Host": "mcp.example"})
    assert spoofed.status_code == 421
    assert by_ip.status_code == 200 and calls == [1]
    assert by_loopback.status_code == 200
    assert unlisted.status_code == 421 and named.status_code == 200
