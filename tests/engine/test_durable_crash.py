"""A real crash: the process running a durable run is killed (SIGKILL) while it waits at an
approval gate; this test process answers the approval and resumes the run to completion."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flowai_harness.testing import collect_events
from tests.engine.durable_helpers import Effects, sequences, sqlite_kv, tool_runtime

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_a_run_whose_process_was_killed_at_a_gate_is_resumed_by_another_process(
    tmp_path: Path,
) -> None:
    kv = sqlite_kv(tmp_path)
    effects_path = tmp_path / "effects.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.engine.durable_app", json.dumps(kv), str(effects_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        waiting = json.loads(line)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert Effects.read(effects_path) == [("audit", "o-1")]

    runtime = tool_runtime(kv, Effects(effects_path))
    record = await runtime.get_run(waiting["runId"])
    assert record is not None and record["status"] == "waiting_approval"
    logged = await runtime.run_events(waiting["runId"])
    assert logged[-1]["type"] == "approval-required"
    assert logged[-1]["data"]["id"] == waiting["approvalId"]
    assert [p["id"] for p in await runtime.list_pending_approvals()] == [waiting["approvalId"]]

    await runtime.respond_to_approval(waiting["approvalId"], "approve")
    events = await collect_events(runtime.resume_run(waiting["runId"]), runtime, approve="approve")
    assert events[0]["sequence"] == logged[-1]["sequence"] + 1
    assert Effects.read(effects_path) == [
        ("audit", "o-1"),
        ("refund", "o-1"),
        ("audit", "o-2"),
        ("refund", "o-2"),
    ]
    log = await runtime.run_events(waiting["runId"])
    assert sequences(log) == list(range(1, len(log) + 1))
    assert log[len(logged) :] == events
    record = await runtime.get_run(waiting["runId"])
    assert record is not None and record["status"] == "completed"
    await runtime.aclose()
