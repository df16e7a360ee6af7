"""``flowai-harness mcp python`` and ``mcp toolkit`` (src/flowai_harness/cli/mcp.py).

Error paths run in process with click's runner; serving runs the real console script in a
subprocess and talks to it with the official MCP client (stdio and Streamable HTTP).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest
from click.testing import CliRunner, Result
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, TextContent

from flowai_harness.cli.app import cli
from tests.mcp.sample_app import TOOL_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests.mcp.sample_app:runtime"


def console_script() -> str:
    script = Path(sys.executable).with_name("flowai-harness")
    assert script.exists(), "install the package (pip install -e .) to get the console script"
    return str(script)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, list(args), prog_name="flowai-harness")


def text_of(result: CallToolResult) -> str:
    item = result.content[0]
    assert isinstance(item, TextContent)
    return item.text


# ---------------------------------------------------------------- mcp python: bad targets


@pytest.mark.parametrize("target", ["tests.mcp.sample_app", "tests.mcp.sample_app:", ":runtime"])
def test_a_target_without_module_and_object_is_a_usage_error(target: str) -> None:
    result = invoke("mcp", "python", target, "--agent", "tools")
    assert result.exit_code == 2
    assert "expected MODULE:OBJECT" in result.output


def test_a_module_that_does_not_exist_is_a_usage_error() -> None:
    result = invoke("mcp", "python", "tests.mcp.no_such_module:runtime", "--agent", "tools")
    assert result.exit_code == 2
    assert "cannot import module 'tests.mcp.no_such_module'" in result.output
    assert "run the command from the folder that holds it" in " ".join(result.output.split())


def test_a_missing_attribute_is_a_usage_error_naming_it() -> None:
    result = invoke("mcp", "python", "tests.mcp.sample_app:Holder.nothing", "--agent", "tools")
    assert result.exit_code == 2
    assert "'tests.mcp.sample_app:Holder' has no attribute 'nothing'" in result.output


def test_an_object_that_is_not_a_runtime_is_a_usage_error() -> None:
    result = invoke("mcp", "python", "tests.mcp.sample_app:not_a_runtime", "--agent", "tools")
    assert result.exit_code == 2
    assert "is a dict, not a flowai-harness Runtime" in result.output
    assert "serve_mcp_stdio" in result.output


def test_a_module_that_raises_on_import_exits_1() -> None:
    result = invoke("mcp", "python", "tests.mcp.broken_module:runtime", "--agent", "tools")
    assert result.exit_code == 1
    assert "RuntimeError: this module cannot be imported" in result.output


def test_a_module_importing_a_missing_dependency_exits_1_naming_it() -> None:
    result = invoke(
        "mcp", "python", "tests.mcp.missing_dependency_module:runtime", "--agent", "tools"
    )
    assert result.exit_code == 1
    assert "flowai_harness_no_such_dependency" in result.output


def test_a_factory_that_raises_exits_1() -> None:
    result = invoke("mcp", "python", "tests.mcp.sample_app:broken_factory", "--agent", "tools")
    assert result.exit_code == 1
    assert "RuntimeError: factory exploded" in result.output


def test_an_unknown_agent_exits_1_with_the_runtime_message() -> None:
    result = invoke("mcp", "python", TARGET, "--agent", "ghost")
    assert result.exit_code == 1
    assert "agent 'ghost' not found in runtime" in result.output


def test_agent_is_required() -> None:
    result = invoke("mcp", "python", TARGET)
    assert result.exit_code == 2
    assert "--agent" in result.output


@pytest.mark.parametrize("timeout", ["0", "-1", "inf", "nan", "soon"])
def test_a_bad_call_timeout_is_a_usage_error(timeout: str) -> None:
    result = invoke("mcp", "python", TARGET, "--agent", "tools", "--call-timeout-secs", timeout)
    assert result.exit_code == 2
    assert "--call-timeout-secs" in result.output


def test_http_flags_with_stdio_are_a_usage_error() -> None:
    result = invoke("mcp", "python", TARGET, "--agent", "tools", "--port", "9000")
    assert result.exit_code == 2
    assert "--port only apply to --transport streamable-http" in result.output


def test_an_unknown_transport_is_a_usage_error() -> None:
    result = invoke("mcp", "python", TARGET, "--agent", "tools", "--transport", "sse")
    assert result.exit_code == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10"])
def test_a_network_host_without_a_token_is_refused_before_anything_starts(host: str) -> None:
    result = invoke(
        "mcp",
        "python",
        "tests.mcp.sample_app:broken_factory",
        "--agent",
        "tools",
        "--transport",
        "streamable-http",
        "--host",
        host,
        env={"FLOWAI_MCP_TOKEN": None},  # type: ignore[dict-item]
    )
    assert result.exit_code == 2
    assert "without a token" in result.output and "--token or FLOWAI_MCP_TOKEN" in result.output
    assert "factory exploded" not in result.output  # refused before the target loads


def test_allowed_host_is_an_http_only_flag() -> None:
    result = invoke("mcp", "python", TARGET, "--agent", "tools", "--allowed-host", "h.example")
    assert result.exit_code == 2
    assert "--allowed-host only apply to --transport streamable-http" in result.output


def test_a_bad_origin_exits_1_with_the_runtime_message() -> None:
    result = invoke(
        "mcp",
        "python",
        TARGET,
        "--agent",
        "tools",
        "--transport",
        "streamable-http",
        "--allow-origin",
        "*",
    )
    assert result.exit_code == 1
    assert "require_origin=False" in result.output


# ---------------------------------------------------------------- mcp toolkit: bad input


def write_env(tmp_path: Path, content: Any, name: str = "env.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_toolkit_needs_a_data_environment() -> None:
    result = invoke("mcp", "toolkit", "--toolkit", "references")
    assert result.exit_code == 2
    assert "--data-environment" in result.output


def test_toolkit_needs_at_least_one_toolkit(tmp_path: Path) -> None:
    env = write_env(tmp_path, {})
    result = invoke("--data-environment", str(env), "mcp", "toolkit")
    assert result.exit_code == 2
    assert "--toolkit" in result.output


def test_an_unknown_toolkit_is_a_usage_error(tmp_path: Path) -> None:
    env = write_env(tmp_path, {})
    result = invoke("--data-environment", str(env), "mcp", "toolkit", "--toolkit", "warp")
    assert result.exit_code == 2
    assert "unknown toolkit 'warp'" in result.output


def test_a_blank_tenant_is_a_usage_error(tmp_path: Path) -> None:
    env = write_env(tmp_path, {})
    result = invoke(
        "mcp",
        "toolkit",
        "--data-environment",
        str(env),
        "--toolkit",
        "references",
        "--tenant-id",
        " ",
    )
    assert result.exit_code == 2
    assert "--tenant-id" in result.output


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_environment_of_another_tenant_exits_1(tmp_path: Path, where: str) -> None:
    env = write_env(tmp_path, {"tenant_id": "acme"})
    flag = ["--data-environment", str(env)]
    command = ["mcp", "toolkit", "--toolkit", "references"]
    result = invoke(*(flag + command if where == "before" else command + flag))
    assert result.exit_code == 1
    assert "must match the runtime tenant 'flowai-mcp'" in result.output


def test_catalog_without_catalog_search_exits_1(tmp_path: Path) -> None:
    env = write_env(tmp_path, {"catalog": {"kind": "empty"}})
    result = invoke("--data-environment", str(env), "mcp", "toolkit", "--toolkit", "catalog")
    assert result.exit_code == 1
    assert "catalog_search" in result.output


def test_an_unparsable_environment_file_exits_1(tmp_path: Path) -> None:
    env = write_env(tmp_path, "{not json", name="env.cfg")
    result = invoke("--data-environment", str(env), "mcp", "toolkit", "--toolkit", "references")
    assert result.exit_code == 1
    assert "not valid JSON" in result.output and "not valid TOML" in result.output


def test_a_toml_environment_is_read(tmp_path: Path) -> None:
    env = write_env(tmp_path, 'tenant_id = "acme"\n', name="env.toml")
    result = invoke("--data-environment", str(env), "mcp", "toolkit", "--toolkit", "references")
    assert result.exit_code == 1  # read as TOML, then refused for naming another tenant
    assert "must match the runtime tenant 'flowai-mcp'" in result.output


# ---------------------------------------------------------------- serving in a subprocess


@asynccontextmanager
async def stdio_session(args: list[str], errlog: IO[str]) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=console_script(), args=args, cwd=str(REPO_ROOT))
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def test_stdio_round_trip_through_the_cli(tmp_path: Path) -> None:
    with (tmp_path / "stderr.log").open("w+") as errlog:
        async with (
            asyncio.timeout(60),
            stdio_session(
                ["mcp", "python", TARGET, "--agent", "tools", "--call-timeout-secs", "5"], errlog
            ) as session,
        ):
            assert session.server_info is not None
            assert session.server_info.name == "flowai-runtime:tools"
            listed = (await session.list_tools()).tools
            assert [t.name for t in listed] == TOOL_NAMES
            assert listed[0].input_schema["required"] == ["a", "b"]

            ok = await session.call_tool("add", {"a": 1, "b": 2})
            assert (ok.is_error, ok.structured_content["sum"]) == (False, 3)

            failing = await session.call_tool("boom", {})
            assert failing.is_error is True
            assert "RuntimeError: the warehouse is on fire" in text_of(failing)

            gated = await session.call_tool("gated", {})
            assert gated.is_error is True
            assert "Approval event sink closed" in text_of(gated)

            bad = await session.call_tool("add", {"a": "x", "b": 2})
            assert bad.is_error is True
            assert "Invalid arguments for tool 'add'" in text_of(bad)

            cwd = await session.call_tool("echo", {"text": "stdout stays clean"})
            assert text_of(cwd) == "stdout stays clean"


async def test_stdio_serves_a_toolkit_from_a_data_environment(tmp_path: Path) -> None:
    env = write_env(tmp_path, {"tenant_id": "team-a"})
    args = [
        "--data-environment",
        str(env),
        "mcp",
        "toolkit",
        "--toolkit",
        "references",
        "--toolkit",
        "plans",
        "--agent",
        "kit",
        "--tenant-id",
        "team-a",
    ]
    with (tmp_path / "stderr.log").open("w+") as errlog:
        async with asyncio.timeout(60), stdio_session(args, errlog) as session:
            assert session.server_info is not None
            assert session.server_info.name == "flowai-runtime:kit"
            names = [t.name for t in (await session.list_tools()).tools]
            assert names == ["resolveRef", "glimpseRef", "getPlan"]
            missing = await session.call_tool("getPlan", {"planId": "nope"})
            assert missing.is_error is False
            assert text_of(missing) == "null"


@contextmanager
def http_server_process(
    *extra: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [
            console_script(),
            "mcp",
            "python",
            "tests.mcp.sample_app:Holder.inner",
            "--agent",
            "tools",
            "--transport",
            "streamable-http",
            "--port",
            "0",
            *extra,
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stderr is not None
        url = None
        lines: list[str] = []
        for line in process.stderr:
            lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, "".join(lines)
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr is not None:
            process.stderr.close()


async def test_http_through_the_cli_checks_token_and_origin() -> None:
    token = "cli-secret-token"
    with http_server_process(env={"FLOWAI_MCP_TOKEN": token}) as (process, url):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/mcp", url)
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        async with httpx2.AsyncClient(timeout=10) as http:
            no_token = await http.post(url, json=body, headers=headers)
            foreign = await http.post(
                url,
                json=body,
                headers={
                    **headers,
                    "Authorization": f"Bearer {token}",
                    "Origin": "http://evil.example",
                },
            )
        assert no_token.status_code == 401
        assert foreign.status_code == 403
        async with (
            asyncio.timeout(60),
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            assert [t.name for t in (await session.list_tools()).tools] == TOOL_NAMES
            result = await session.call_tool("add", {"a": 40, "b": 2})
            assert result.structured_content["sum"] == 42
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_a_busy_port_exits_1_naming_the_address() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [
                console_script(),
                "mcp",
                "python",
                "tests.mcp.sample_app:build_runtime",
                "--agent",
                "tools",
                "--transport",
                "streamable-http",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 1
    assert f"127.0.0.1:{port}/mcp" in completed.stderr
