"""How the reference's command line behaves, as programs and test suites written against it
rely on: ``main(argv)`` with the program name first and an int result, ``python -m
flowai_harness.cli``, the data commands, the Studio commands' usage errors and the functions
tests replace on ``flowai_harness.cli``."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

import flowai_harness.cli
from flowai_harness.cli import main
from tests.data.sample_catalog import create_target_database
from tests.waiting import wait_until_sync

REPO = Path(__file__).resolve().parents[2]
MCP_TARGET = "tests.mcp.sample_app:build_runtime"

APP_MODULE = textwrap.dedent(
    """
    from flowai_harness import (
        TestingConfig, create_runtime, define_coordinator, define_runtime, define_specialist,
        define_tenant,
    )
    from flowai_harness.studio import define_app

    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_coordinator("coord", model="claude-sonnet-4-6", routes=["helper"],
                               prompt="Route."),
            define_specialist("helper", model="claude-haiku-4-5", prompt="Help."),
        ],
    )
    app = define_app(
        name="compat-cli-app",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, testing=TestingConfig(mock_response="ok")),
    )
    """
)


@pytest.fixture
def app_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Studio app module importable from the current directory (as ``dev --app`` finds it)."""
    (tmp_path / "compat_cli_app.py").write_text(APP_MODULE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "compat_cli_app", raising=False)
    return "compat_cli_app:app"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- CLI-1


def test_main_takes_the_program_name_first_and_returns_0_for_root_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["flowai-harness", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: flowai-harness")
    assert "data" in out and "serve" in out


@pytest.mark.parametrize(
    ("command", "flag"),
    [
        (["data", "knowledge", "ingest"], "--local-dir"),
        (["data", "catalog", "graph"], "--max-nodes"),
    ],
)
def test_main_returns_0_for_the_help_of_nested_data_commands(
    command: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flowai-harness", *command, "--help"]) == 0
    assert flag in capsys.readouterr().out


def test_main_without_arguments_reads_sys_argv_including_the_program_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["flowai-harness", "data", "catalog", "graph", "--help"])
    assert main() == 0
    assert "--max-nodes" in capsys.readouterr().out


# ---------------------------------------------------------------- CLI-2


def test_mcp_python_help_raises_system_exit_0_with_the_module_object_metavar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["flowai-harness", "mcp", "python", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "MODULE:OBJECT" in out
    assert "--agent" in out


# ---------------------------------------------------------------- CLI-3 and EX-3


def module_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowai_harness.cli", *args]


async def test_python_dash_m_serves_mcp_over_stdio_without_an_initialized_notification() -> None:
    process = await asyncio.create_subprocess_exec(
        *module_command("mcp", "python", MCP_TARGET, "--agent", "tools", "--transport", "stdio"),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None

    async def ask(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        process.stdin.write(json.dumps(message).encode() + b"\n")  # type: ignore[union-attr]
        await process.stdin.drain()  # type: ignore[union-attr]
        line = await process.stdout.readline()  # type: ignore[union-attr]
        answer: dict[str, Any] = json.loads(line)
        assert answer["id"] == request_id, answer
        return answer

    try:
        async with asyncio.timeout(60):
            initialized = await ask(
                1,
                "initialize",
                {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "compat", "version": "1"},
                },
            )
            listed = await ask(2, "tools/list", {})
            called = await ask(3, "tools/call", {"name": "add", "arguments": {"a": 2, "b": 3}})
    finally:
        process.stdin.close()
        await asyncio.wait_for(process.wait(), 30)
    assert initialized["result"]["serverInfo"]["name"] == "flowai-runtime:tools"
    assert "add" in [tool["name"] for tool in listed["result"]["tools"]]
    text = called["result"]["content"][0]["text"]
    assert json.loads(text)["sum"] == 5
    assert text == json.dumps(json.loads(text), separators=(",", ":"))  # compact JSON


def post_json_rpc(url: str, body: dict[str, Any], session: str | None = None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if session is not None:
        headers["mcp-session-id"] = session
    return httpx.post(url, json=body, headers=headers, timeout=20)


def json_rpc_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response whose body is JSON or ``data:`` lines (SSE)."""
    assert response.status_code == 200, response.text
    text = response.text.strip()
    if not text.startswith("{"):
        text = next(
            line.removeprefix("data:").strip()
            for line in text.splitlines()
            if line.startswith("data:") and line.removeprefix("data:").strip()
        )
    message: dict[str, Any] = json.loads(text)
    return message


def test_python_dash_m_serves_streamable_http_on_port_0_and_prints_the_url() -> None:
    args = ["mcp", "python", MCP_TARGET, "--agent", "tools"]
    process = subprocess.Popen(
        module_command(*args, "--transport", "streamable-http", "--port", "0"),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            if "http://" in line:
                url = line[line.index("http://") :].strip()
                break
        assert url is not None and re.fullmatch(r"http://127\.0\.0\.1:\d+/mcp", url), url
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "compat", "version": "1"},
            },
        }
        opened = post_json_rpc(url, initialize)
        session = opened.headers.get("mcp-session-id")
        assert json_rpc_result(opened)["result"]["serverInfo"]["name"] == "flowai-runtime:tools"
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 20, "b": 22}},
        }
        called = json_rpc_result(post_json_rpc(url, call, session))
        assert json.loads(called["result"]["content"][0]["text"])["sum"] == 42
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def running_dev_server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    (tmp_path / "compat_dev_app.py").write_text(APP_MODULE, encoding="utf-8")
    port = free_port()
    script = Path(sys.executable).with_name("flowai-harness")
    process = subprocess.Popen(
        [str(script), "dev", "--app", "compat_dev_app:app", "--port", str(port)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def test_the_console_script_runs_dev_with_an_app_reference_and_a_port(
    running_dev_server: tuple[subprocess.Popen[str], str],
) -> None:
    process, url = running_dev_server

    def answers() -> bool:
        assert process.poll() is None, "flowai-harness dev exited early"
        try:
            return httpx.get(f"{url}/api/status", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until_sync(answers, timeout=60, interval=0.1, message="dev did not start")
    agents = httpx.get(f"{url}/api/workspaces/default/agents").json()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert [agent["agentId"] for agent in agents["agents"]] == ["coord", "helper"]


# ---------------------------------------------------------------- CLI-4


@pytest.fixture
def data_environment(tmp_path: Path) -> Path:
    create_target_database(tmp_path / "target.db")
    environment = {
        "tenantId": None,
        "workspaceId": None,
        "kv": None,
        "catalogSearch": None,
        "catalog": {
            "kind": "sqlite",
            "url": f"sqlite:{tmp_path / 'catalog.db'}",
            "ensureSchema": True,
        },
        "targetDatabase": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'target.db'}"},
    }
    path = tmp_path / "environment.json"
    path.write_text(json.dumps(environment), encoding="utf-8")
    return path


def test_data_commands_take_global_options_first_and_accept_nulls_and_camel_case(
    data_environment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = str(data_environment)
    profiled = main(
        [
            "flowai-harness",
            "--data-environment",
            env,
            "--output",
            "ndjson",
            "data",
            "profile",
            "database",
            "--database-id",
            "acme",
            "--schema-only",
        ]
    )
    assert profiled == 0, capsys.readouterr().err
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert events, "ndjson output printed no event"
    out = tmp_path / "catalog.json"
    exported = main(
        [
            "flowai-harness",
            "--data-environment",
            env,
            "data",
            "catalog",
            "export",
            "--out",
            str(out),
        ]
    )
    assert exported == 0, capsys.readouterr().err
    entries = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(entries, list) and all("itemType" in entry for entry in entries)
    assert any(entry.get("name") == "products" for entry in entries)


# ---------------------------------------------------------------- CLI-5


def test_dev_with_a_missing_module_returns_2_with_the_error_envelope_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["flowai-harness", "dev", "--app", "missing_module:app"]) == 2
    envelope = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert envelope["error"]["code"] == "app_import.module_failed"
    assert envelope["error"]["details"] == {
        "reference": "missing_module:app",
        "module": "missing_module",
        "symbol": "app",
    }


# ---------------------------------------------------------------- CLI-6


def test_serve_refuses_a_dev_only_flag_with_the_argparse_wording_before_importing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["flowai-harness", "serve", "--app", "missing_module:app", "--frontend-port", "3001"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "unrecognized arguments: --frontend-port 3001" in err
    assert "app_import" not in err


# ---------------------------------------------------------------- CLI-7


@pytest.mark.parametrize(
    "flags",
    [
        ["--frontend-port", "3001"],
        ["--frontend-host", "127.0.0.1"],
        ["--frontend-host", "127.0.0.1", "--frontend-port", "3001"],
    ],
)
def test_dev_frontend_flags_without_studio_dir_are_refused_in_one_sentence(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["flowai-harness", "dev", "--app", "missing_module:app", *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert "--frontend-host and --frontend-port require --studio-dir" in err
    assert "app_import" not in err


@pytest.mark.parametrize(
    ("flags", "sentence"),
    [
        (["--no-studio", "--studio-dir", "ui"], "--no-studio cannot be combined with source"),
        (["--no-frontend", "--studio-dir", "ui"], "--no-frontend cannot be combined with source"),
    ],
)
def test_dev_conflicting_frontend_flags_use_the_reference_sentences(
    flags: list[str], sentence: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flowai-harness", "dev", "--app", "missing_module:app", *flags]) == 2
    assert f"{sentence} frontend options" in capsys.readouterr().err


# ---------------------------------------------------------------- CLI-8


def test_serve_calls_the_run_studio_server_of_the_cli_module(
    app_reference: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, str, int, bool]] = []

    def run_studio_server(app: Any, *, host: str, port: int, serve_studio: bool) -> None:
        calls.append((app.name, host, port, serve_studio))

    monkeypatch.setattr(flowai_harness.cli, "run_studio_server", run_studio_server)
    assert main(["flowai-harness", "serve", "--app", app_reference, "--port", "4111"]) == 0
    assert main(["flowai-harness", "dev", "--app", app_reference, "--no-studio"]) == 0
    assert calls == [
        ("compat-cli-app", "127.0.0.1", 4111, True),
        ("compat-cli-app", "127.0.0.1", 4111, False),
    ]


def test_dev_starts_and_terminates_the_frontend_through_the_cli_module(
    app_reference: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    happened: list[Any] = []
    handle = object()

    def start(options: Any) -> object:
        happened.append(
            (
                "start",
                options.port,
                options.frontend_host,
                options.frontend_port,
                options.studio_dir,
            )
        )
        return handle

    def run_studio_server(app: Any, **options: Any) -> None:
        happened.append(("serve", app.name, options["port"]))

    monkeypatch.setattr(flowai_harness.cli, "_start_frontend_dev_server", start)
    monkeypatch.setattr(flowai_harness.cli, "run_studio_server", run_studio_server)
    monkeypatch.setattr(
        flowai_harness.cli, "_terminate_frontend_dev_server", lambda p: happened.append(("stop", p))
    )
    ui = tmp_path / "ui"
    code = main(
        [
            "flowai-harness",
            "dev",
            "--app",
            app_reference,
            "--port",
            "4112",
            "--studio-dir",
            str(ui),
            "--frontend-port",
            "3001",
        ]
    )
    assert code == 0
    assert happened == [
        ("start", 4112, "127.0.0.1", 3001, ui),
        ("serve", "compat-cli-app", 4112),
        ("stop", handle),
    ]


def test_mcp_python_loads_its_target_through_the_cli_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[tuple[str, dict[str, Any]]] = []

    class FakeRuntime:
        async def serve_mcp_stdio(self, agent: str, **options: Any) -> None:
            served.append((agent, options))

        async def serve_mcp_http(self, agent: str, **options: Any) -> None:
            raise AssertionError("stdio was asked for")

    targets: list[str] = []

    def load(target: str) -> FakeRuntime:
        targets.append(target)
        return FakeRuntime()

    monkeypatch.setattr(flowai_harness.cli, "_load_runtime_target", load)
    with pytest.raises(SystemExit) as exited:
        main(["flowai-harness", "mcp", "python", "pkg.module:dotted.object", "--agent", "mcp"])
    assert exited.value.code == 0
    assert targets == ["pkg.module:dotted.object"]
    assert [agent for agent, _ in served] == ["mcp"]


def test_commands_main_does_not_run_itself_go_to_internal_run_cli_with_the_full_argv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []

    def run_cli(argv: list[str]) -> int:
        seen.append(list(argv))
        return 7

    monkeypatch.setattr(flowai_harness.cli._internal, "run_cli", run_cli)
    argv = ["flowai-harness", "data", "catalog", "export", "--out", "catalog.json"]
    assert main(argv) == 7
    assert main(["flowai-harness", "serve", "--app", "x:y", "--frontend-port", "1"]) == 2
    assert seen == [argv]
