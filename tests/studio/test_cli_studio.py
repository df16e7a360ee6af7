"""Tests for ``flowai-harness dev | serve`` (src/flowai_harness/cli/studio.py) and the UI dev
server process (src/flowai_harness/studio/frontend.py). Servers run as real subprocesses on
free loopback ports; the UI dev server is a fake ``bun`` script."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from click.testing import CliRunner, Result

from flowai_harness.cli.app import cli
from flowai_harness.errors import ConfigurationError, RunError
from flowai_harness.studio.frontend import FrontendProcess, backend_url
from tests.waiting import wait_until_sync

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
        name="cli-app",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, testing=TestingConfig(mock_response="ok")),
    )
    """
)

FAKE_BUN = textwrap.dedent(
    """\
    #!/usr/bin/env bash
    echo "backend=$FLOWAI_STUDIO_BACKEND_URL" > "$FAKE_BUN_LOG"
    echo "args=$*" >> "$FAKE_BUN_LOG"
    echo "pgid=$(ps -o pgid= $$ | tr -d ' ')" >> "$FAKE_BUN_LOG"
    if [ -n "$FAKE_BUN_EXIT" ]; then exit "$FAKE_BUN_EXIT"; fi
    trap 'echo terminated >> "$FAKE_BUN_LOG"; exit 0' TERM
    while true; do sleep 0.05; done
    """
)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="flowai-harness")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "my_studio_app.py").write_text(APP_MODULE)
    return tmp_path


@pytest.fixture
def fake_bun(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bun = bin_dir / "bun"
    bun.write_text(FAKE_BUN)
    bun.chmod(bun.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    ui = tmp_path / "ui"
    ui.mkdir()
    (ui / "package.json").write_text('{"scripts": {"dev": "vite"}}')
    return bin_dir


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dev", "--no-studio", "--no-frontend"], "--no-studio"),
        (["dev", "--no-studio", "--studio-dir", "."], "--no-studio"),
        (["dev", "--no-studio", "--frontend-port", "3001"], "--no-studio"),
        (["dev", "--no-frontend", "--studio-dir", "."], "--no-frontend"),
        (["dev", "--no-frontend", "--frontend-host", "127.0.0.1"], "--no-frontend"),
        (["dev", "--frontend-port", "3001"], "require --studio-dir"),
        (["dev", "--frontend-host", "0.0.0.0"], "require --studio-dir"),
        (["serve", "--studio-dir", "."], "unrecognized arguments: --studio-dir ."),
        (["serve", "--port", "70000"], "70000"),
    ],
)
def test_conflicting_flags_are_usage_errors(args: list[str], message: str) -> None:
    result = invoke(*args, "--app", "nothing:here")
    assert result.exit_code == 2
    assert message in result.output


def test_app_is_required() -> None:
    result = invoke("serve")
    assert result.exit_code == 2 and "--app" in result.output


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("no_colon", "app_import.invalid_reference"),
        ("surely_missing_module_xyz:app", "app_import.module_failed"),
        ("json:not_there", "app_import.symbol_missing"),
        ("json:__name__", "app_import.invalid_type"),
    ],
)
def test_an_app_that_cannot_be_imported_prints_the_error_envelope(
    reference: str, code: str
) -> None:
    result = invoke("serve", "--app", reference)
    assert result.exit_code == 2
    envelope = json.loads(result.stderr.strip().splitlines()[-1])
    assert envelope["error"]["code"] == code
    assert envelope["error"]["retryable"] is False
    assert envelope["error"]["details"]["reference"] == reference


def test_an_app_that_raises_on_import_shows_its_traceback_in_text_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "app_that_raises_xyz"
    (tmp_path / f"{module}.py").write_text('import json\nraise RuntimeError("boom at import")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)

    text = invoke("serve", "--app", f"{module}:app")
    assert text.exit_code == 2
    lines = text.stderr.strip().splitlines()
    assert lines[0] == (
        f"error: could not import module '{module}' for app reference '{module}:app': "
        "RuntimeError: boom at import"
    )
    assert "Traceback (most recent call last):" in text.stderr
    assert f'{module}.py", line 2, in <module>' in text.stderr
    assert json.loads(lines[-1])["error"]["code"] == "app_import.module_failed"

    monkeypatch.delitem(sys.modules, module, raising=False)
    as_json = invoke("--output", "json", "serve", "--app", f"{module}:app")
    assert as_json.exit_code == 2
    assert "Traceback" not in as_json.stderr
    assert json.loads(as_json.stderr.strip())["error"]["code"] == "app_import.module_failed"


@contextmanager
def running(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Iterator[Any]:
    script = Path(sys.executable).with_name("flowai-harness")
    process = subprocess.Popen(
        [str(script), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def wait_ready(
    url: str,
    process: subprocess.Popen[str],
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            response = httpx.get(f"{url}/api/status", timeout=1, headers=headers)
            return response.status_code == 200
        except httpx.HTTPError:
            return False

    wait_until_sync(answers, timeout=timeout, interval=0.1, message="server did not start")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str]:
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def test_serve_answers_the_api_on_a_loopback_port_and_exits_cleanly(app_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(["serve", "--app", "my_studio_app:app", "--port", str(port)], app_dir) as proc:
        wait_ready(url, proc)
        status = httpx.get(f"{url}/api/status").json()
        agents = httpx.get(f"{url}/api/workspaces/default/agents").json()
        chat = httpx.post(f"{url}/api/agents/coord/stream", json={"prompt": "hi"}, timeout=20)
        ui = httpx.get(f"{url}/")
        code, stderr = stop(proc)
    assert status["studioApiVersion"] == "harness-studio/v1"
    assert [a["agentId"] for a in agents["agents"]] == ["coord", "helper"]
    assert "event: run.completed" in chat.text
    assert ui.status_code == 200 and 'src="/assets/index-' in ui.text  # the packaged UI
    assert code == 0, stderr
    assert f"http://127.0.0.1:{port}" in stderr
    assert (app_dir / ".flowai" / "studio.db").is_file()


def test_serve_no_studio_keeps_the_api_and_stops_on_sigterm(app_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        "serve",
        "--app",
        "my_studio_app:app",
        "--port",
        str(port),
        "--no-studio",
        "--log-level",
        "error",
    ]
    with running(args, app_dir) as proc:
        wait_ready(url, proc)
        root = httpx.get(f"{url}/")
        code, stderr = stop(proc, signal.SIGTERM)
    assert root.status_code == 503 and "disabled" in root.json()["message"]
    assert code == 0
    assert "Uvicorn running" not in stderr  # --log-level error reaches the server


def test_dev_runs_the_ui_dev_server_in_its_own_group_and_stops_it(
    app_dir: Path, fake_bun: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = app_dir / "bun.log"
    token = "dev-token-0123456789abcdef"
    env = {
        "PATH": f"{fake_bun}{os.pathsep}{os.environ['PATH']}",
        "FAKE_BUN_LOG": str(log),
        "FLOWAI_STUDIO_TOKEN": token,  # a wildcard bind needs one
    }
    auth = {"Authorization": f"Bearer {token}"}
    args = [
        "dev",
        "--app",
        "my_studio_app:app",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--studio-dir",
        str(app_dir / "ui"),
        "--frontend-port",
        "3999",
    ]
    with running(args, app_dir, env) as proc:
        wait_ready(url, proc, headers=auth)
        # the UI dev server's proxy forwards the browser's Origin: that origin is allowed
        proxied = httpx.post(
            f"{url}/api/agents/coord/stream",
            json={"prompt": "hi"},
            headers={**auth, "Origin": "http://127.0.0.1:3999"},
            timeout=20,
        )
        foreign = httpx.post(
            f"{url}/api/agents/coord/stream",
            json={"prompt": "hi"},
            headers={**auth, "Origin": "http://127.0.0.1:4000"},
        )
        code, stderr = stop(proc)
    lines = log.read_text().splitlines()
    assert code == 0, stderr
    assert proxied.status_code == 200 and foreign.status_code == 403
    assert f"backend=http://127.0.0.1:{port}" in lines
    assert "args=run dev --host 127.0.0.1 --port 3999" in lines
    pgid = next(line.split("=", 1)[1] for line in lines if line.startswith("pgid="))
    assert int(pgid) != os.getpgid(0)
    assert lines[-1] == "terminated"


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--host", "0.0.0.0"],
        ["serve", "--host", "192.0.2.10"],
        ["dev", "--host", "::"],
        ["dev", "--host", "0.0.0.0", "--studio-dir", "ui"],
    ],
)
def test_a_network_host_without_a_token_is_refused_before_anything_starts(
    args: list[str], app_dir: Path, fake_bun: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLOWAI_STUDIO_TOKEN", raising=False)
    monkeypatch.chdir(fake_bun.parent)
    monkeypatch.setenv("PATH", f"{fake_bun}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_BUN_LOG", str(app_dir / "bun.log"))
    result = invoke(*args, "--app", "my_studio_app:app", "--port", "0")
    assert result.exit_code == 2
    assert "without a token" in result.output
    assert "--token or FLOWAI_STUDIO_TOKEN" in result.output
    assert not (app_dir / "bun.log").exists()  # the UI dev server was never started


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--token", "two words", "printable ASCII"),
        ("--allow-origin", "*", "does not accept '*'"),
        ("--allowed-host", "http://x", "not a host name"),
        ("--max-body-mb", "0", "0"),
    ],
)
def test_malformed_security_flags_are_usage_errors(flag: str, value: str, message: str) -> None:
    result = invoke("serve", "--app", "nothing:here", flag, value)
    assert result.exit_code == 2
    assert message in result.output


def test_serve_with_a_token_prints_the_real_url_once_and_requires_the_token(
    app_dir: Path,
) -> None:
    token = "serve-token-0123456789abcdef"
    args = ["serve", "--app", "my_studio_app:app", "--port", "0"]
    with running(args, app_dir, {"FLOWAI_STUDIO_TOKEN": token}) as proc:
        assert proc.stderr is not None
        seen: list[str] = []
        match = None
        while match is None and (line := proc.stderr.readline()):
            seen.append(line)
            match = re.search(r"on (http://127\.0\.0\.1:(\d+))/#token=(\S+) ", line)
        assert match is not None, "".join(seen)
        url, shown_token = match.group(1), match.group(3)
        assert int(match.group(2)) > 0 and shown_token == token
        wait_ready(url, proc, headers={"Authorization": f"Bearer {token}"})
        without = httpx.get(f"{url}/api/status")
        wrong = httpx.get(f"{url}/api/status", headers={"Authorization": "Bearer x"})
        page = httpx.get(f"{url}/")
        code, rest = stop(proc)
    assert without.status_code == wrong.status_code == 401
    assert page.status_code == 200
    assert code == 0
    assert token not in "".join(seen[:-1]) + rest  # printed in the start-up line only


def test_dev_fails_with_exit_2_when_the_ui_dev_server_dies_at_once(
    app_dir: Path, fake_bun: Path
) -> None:
    env = {
        "PATH": f"{fake_bun}{os.pathsep}{os.environ['PATH']}",
        "FAKE_BUN_LOG": str(app_dir / "bun.log"),
        "FAKE_BUN_EXIT": "3",
    }
    args = [
        "dev",
        "--app",
        "my_studio_app:app",
        "--port",
        str(free_port()),
        "--studio-dir",
        str(app_dir / "ui"),
    ]
    with running(args, app_dir, env) as proc:
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "exited at once with code 3" in stderr


def test_dev_needs_bun_and_a_package_json(app_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    ui = tmp_path / "ui2"
    ui.mkdir()
    (ui / "package.json").write_text("{}")
    with running(["dev", "--app", "my_studio_app:app", "--studio-dir", str(empty)], app_dir) as p:
        _, no_package = p.communicate(timeout=30)
    assert p.returncode == 2 and "package.json" in no_package
    env = {"PATH": str(tmp_path / "nothing-here")}
    with running(["dev", "--app", "my_studio_app:app", "--studio-dir", str(ui)], app_dir, env) as p:
        _, no_bun = p.communicate(timeout=30)
    assert p.returncode == 2 and "bun" in no_bun


def test_frontend_stop_escalates_to_sigkill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bun = bin_dir / "bun"
    bun.write_text("#!/usr/bin/env bash\ntrap '' TERM\nwhile true; do sleep 0.05; done\n")
    bun.chmod(0o755)
    (tmp_path / "package.json").write_text("{}")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    frontend = FrontendProcess(tmp_path, backend="http://127.0.0.1:1", host="127.0.0.1", port=3)
    frontend.start()
    assert frontend.running
    started = time.monotonic()
    code = frontend.stop(timeout=0.5)
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert not frontend.running


def test_backend_url_maps_wildcards_to_loopback() -> None:
    assert backend_url("0.0.0.0", 4111) == "http://127.0.0.1:4111"
    assert backend_url("::", 1) == "http://127.0.0.1:1"
    assert backend_url("localhost", 2) == "http://localhost:2"
    assert backend_url("::1", 3) == "http://[::1]:3"


def test_frontend_errors_are_configuration_and_run_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match=r"package\.json"):
        FrontendProcess(tmp_path, backend="b", host="h", port=1)
    (tmp_path / "package.json").write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    with pytest.raises(ConfigurationError, match="bun"):
        FrontendProcess(tmp_path, backend="b", host="h", port=1)
    assert issubclass(RunError, RuntimeError)
