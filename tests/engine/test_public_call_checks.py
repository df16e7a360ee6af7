"""Wrong argument types of the public run methods raise ``TypeError`` at the call itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from flowai_harness.errors import HarnessError
from flowai_harness.testing import collect_events
from tests.engine.helpers import coordinator, runtime_of, specialist

RUNTIME = runtime_of(coordinator(["w"]), specialist("w"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.query(None, "t"), "prompt must be a string; got NoneType"),
        (lambda r: r.query(prompt=b"hi", thread_id="t"), "prompt must be a string; got bytes"),
        (lambda r: r.query("hi", {}), "thread_id must be a string; got dict"),
        (lambda r: r.query("hi", None), "thread_id must be a string; got NoneType"),
        (lambda r: r.query("hi", "t", resume=7), "resume must be a string or None; got int"),
        (lambda r: r.run_specialist(None, "hi"), "specialist must be a string; got NoneType"),
        (lambda r: r.run_specialist("w", 3), "prompt must be a string; got int"),
        (
            lambda r: r.run_specialist("w", "hi", thread_id=["t"]),
            "thread_id must be a string or None; got list",
        ),
        (lambda r: r.resume_run(None), "run_id must be a string; got NoneType"),
        (lambda r: r.respond_to_approval(1, "approve"), "approval_id must be a string; got int"),
    ],
)
def test_a_wrong_argument_type_raises_type_error_at_the_call(
    call: Callable[[Any], Any], message: str
) -> None:
    with pytest.raises(TypeError, match=f"^{message}$") as raised:
        call(RUNTIME)
    assert isinstance(raised.value, HarnessError)


async def test_nothing_starts_when_a_call_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    before = asyncio.all_tasks(loop)
    with pytest.raises(TypeError):
        RUNTIME.query("hi", {})  # type: ignore[arg-type]
    assert asyncio.all_tasks(loop) == before
    assert "Task exception was never retrieved" not in caplog.text


async def test_valid_calls_still_run() -> None:
    events = await collect_events(RUNTIME.run_specialist("w", "", thread_id=None))
    assert events[-2]["type"] == "finish"
    events = await collect_events(RUNTIME.query("hi", "t", resume=None))
    assert events[-1]["type"] == "tool-agent"
