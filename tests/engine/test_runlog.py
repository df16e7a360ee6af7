"""Run records and the run log: the wire form, where runs are kept, and store failures."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.journal import InProcessJournal
from flowai_harness.engine.runbooks import MemoryRunBook, StoreRunBook
from flowai_harness.engine.runlog import RunRecord, RunRecorder, new_run_id, store_is_durable
from flowai_harness.events import StepStart, Text
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.testing import collect_events
from tests.engine.durable_helpers import Effects, refunds, tool_runtime


def test_a_run_record_round_trips_through_its_wire_form() -> None:
    record = RunRecord(
        "run-1",
        "w",
        "t-1",
        "hi",
        "inv-1",
        "waiting_approval",
        1700000000.25,
        1700000001.5,
        7,
        True,
        2,
    )
    wire = record.to_dict()
    assert wire == {
        "runId": "run-1",
        "entryAgent": "w",
        "threadId": "t-1",
        "prompt": "hi",
        "entryInvocationId": "inv-1",
        "status": "waiting_approval",
        "createdAt": "2023-11-14T22:13:20.250Z",
        "updatedAt": "2023-11-14T22:13:21.500Z",
        "lastSequence": 7,
        "durable": True,
        "resumeCount": 2,
    }
    assert RunRecord.from_dict(wire) == record


def test_run_ids_are_random_and_prefixed() -> None:
    ids = {new_run_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("run-") and len(i) == 36 for i in ids)


class _Declared(MemoryKeyValueStore):
    durable = True


@pytest.mark.parametrize(
    ("kv", "environment", "durable"),
    [
        (MemoryKeyValueStore(), None, False),
        (MemoryKeyValueStore(), {"kv": {"kind": "memory"}}, False),
        (MemoryKeyValueStore(), {"kv": {"kind": "sqlite", "url": "sqlite:x.db"}}, True),
        (MemoryKeyValueStore(), {"kv": {"kind": "postgres"}}, True),
        (_Declared(), None, True),
    ],
)
def test_runs_are_journaled_only_on_a_durable_store(
    kv: Any, environment: dict[str, Any] | None, durable: bool
) -> None:
    assert store_is_durable(kv, environment) is durable


async def test_the_memory_book_keeps_the_most_recent_runs() -> None:
    book = MemoryRunBook(limit=3)
    for n in range(5):
        assert isinstance(book.open(RunRecord(f"run-{n}", "w", "t", "p", "i")), InProcessJournal)
    assert [r.run_id for r in await book.records(None)] == ["run-2", "run-3", "run-4"]
    assert await book.get("run-0") is None


class _FlakyStore(MemoryKeyValueStore):
    """Fails every write of run records and run logs while ``failing`` is set (with
    ``failures``: only that many, then it is back)."""

    def __init__(self, failures: int | None = None) -> None:
        super().__init__()
        self.failing = True
        self._left = failures

    def _refuse(self, keys: Any) -> None:
        if not self.failing or not any(key.startswith("run") for key in keys):
            return
        if self._left is not None:
            self._left -= 1
            self.failing = self._left > 0
        raise ConnectionError("store is down")

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        self._refuse([key])
        await super().put(tenant, key, value, ttl_ms)

    async def write_batch(self, tenant: str, puts: Any, **options: Any) -> bool:
        # A leased run writes each checkpoint as one fenced batch.
        self._refuse([key for key, _ in puts])
        return await super().write_batch(tenant, puts, **options)


async def test_a_store_that_fails_to_record_logs_once_and_later_checkpoints_catch_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kv = _FlakyStore()
    recorder = RunRecorder(kv, "acme", RunRecord("run-1", "w", "t", "p", "i"))
    sink = EventSink(16)
    with caplog.at_level(logging.WARNING, logger="flowai_harness.runs"):
        await recorder.start(sink)
        await sink.emit(StepStart())
        recorder.add({"kind": "memory", "inv": "0"})
        await recorder.checkpoint()
        await sink.emit(Text("x"))
        await recorder.checkpoint()
    warnings = [r.message for r in caplog.records]
    assert len(warnings) == 1 and "could not record run run-1" in warnings[0]
    assert "ConnectionError: store is down" in warnings[0]
    kv.failing = False
    await sink.emit(Text("y"))
    await recorder.set_status("completed")
    book = StoreRunBook(kv, "acme")
    assert [e["sequence"] for e in await book.events("run-1", 0)] == [1, 2, 3]
    stored = await book.load("run-1")
    assert stored is not None
    assert (stored.record.status, stored.last_sequence) == ("completed", 3)
    assert stored.journal == [{"kind": "memory", "inv": "0"}]


async def test_a_run_on_a_failing_store_still_completes(caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses

    from flowai_harness.handle import Runtime

    effects = Effects()
    # The same compiled runtime over a store that is down for its first run writes: the
    # events wait for their checkpoint (committed before seen), which is retried until it lands.
    compiled = dataclasses.replace(tool_runtime(None, effects)._compiled, kv=_FlakyStore(3))
    runtime = Runtime(compiled, durable_runs=True)
    with caplog.at_level(logging.WARNING, logger="flowai_harness.runs"):
        events = await collect_events(
            runtime.run_specialist("w", refunds("o-1"), thread_id="t-1"), runtime, approve="approve"
        )
    assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert effects.calls == [("audit", "o-1"), ("refund", "o-1")]
    assert "could not record run" in caplog.text


async def test_a_replay_that_diverges_from_the_log_continues_after_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = RunRecorder(
        MemoryKeyValueStore(),
        "acme",
        RunRecord("run-1", "w", "t", "p", "i"),
        logged_through=3,
        replayed={1: "step-start", 2: "text", 3: "text"},
    )
    sink = EventSink(16)
    await recorder.start(sink)
    await sink.emit(StepStart())  # a replay of event 1: not delivered again
    with caplog.at_level(logging.WARNING, logger="flowai_harness.runs"):
        await sink.emit(StepStart())  # the log has a text here: the replay diverged
    await sink.emit(Text("next"))
    delivered = [await sink.get(), await sink.get()]
    assert [(e["type"], e["sequence"]) for e in delivered if e] == [("step-start", 4), ("text", 5)]
    assert "the replay diverged from its log at event 2" in caplog.text


class _UnreadableStore(MemoryKeyValueStore):
    """Fails every read."""

    async def get(self, tenant: str, key: str) -> Any | None:
        raise ConnectionError("store is down")


async def test_resuming_from_a_store_that_cannot_be_read_is_one_error_event() -> None:
    import dataclasses

    from flowai_harness.handle import Runtime

    compiled = tool_runtime(None, Effects())._compiled
    runtime = Runtime(dataclasses.replace(compiled, kv=_UnreadableStore()), durable_runs=True)
    events = await collect_events(runtime.resume_run("run-1"), runtime)
    assert [e["error"]["message"] for e in events] == [
        "run run-1 cannot be resumed: reading it failed: ConnectionError: store is down"
    ]
