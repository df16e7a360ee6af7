"""The main job's second mode: ``scripts/main.sh --studio`` serves the Studio on an example app."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "scripts" / "main.sh"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return dict(json.loads(response.read()))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_main_studio_serves_the_pricing_example_offline_and_prints_its_url() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    process = subprocess.Popen(
        [str(MAIN), "--studio", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        listing = None
        while listing is None and time.monotonic() < deadline and process.poll() is None:
            listing = _get(f"http://127.0.0.1:{port}/api/workspaces")
            if listing is None:
                time.sleep(0.2)
        assert listing is not None, f"Studio never answered (exit {process.poll()})"
        workspaces = listing["workspaces"]
        assert isinstance(workspaces, list)
        [workspace] = workspaces
        assert workspace["status"] == "ready"
        assert "chat.stream" in workspace["capabilities"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert b"FlowAI Studio" in page.read()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output


def test_main_studio_refuses_an_unknown_argument() -> None:
    done = subprocess.run(
        [str(MAIN), "--studio", "--prot", "1"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "unknown argument '--prot' (only --port N)" in done.stderr
