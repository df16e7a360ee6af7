"""The run journal: stored model parts, the per-invocation record, the replaying client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness.engine.durable_journal import (
    JournaledClient,
    StoreRunJournal,
    decode_part,
    encode_part,
    read_journal,
)
from flowai_harness.engine.runlog import RunRecord, RunRecorder
from flowai_harness.events import LatencySummary, TokenUsage, ToolTiming
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolOutcome,
)
from flowai_harness.storage.memory import MemoryKeyValueStore

PARTS: list[ModelPart] = [
    ModelText("hello"),
    ModelReasoning("thinking"),
    ModelToolCall("call-1", "lookup", {"sku": "A-1", "nested": [1, {"x": None}]}),
    ModelLatency(
        LatencySummary(
            total_duration_ms=5,
            llm_calls=1,
            tool_timings=[ToolTiming("lookup", "call-1", 3, "completed")],
            retry_count=1,
            ttft_ms=2,
            retry_events=[{"attempt": 1}],
        )
    ),
    ModelFinish("tool-calls", TokenUsage(10, 4, 1, 2, cost_usd=0.5), retry_count=2),
    ModelError("boom", "model_error"),
]


@pytest.mark.parametrize("part", PARTS, ids=lambda p: type(p).__name__)
def test_every_model_part_survives_the_store(part: ModelPart) -> None:
    import orjson

    stored = orjson.loads(orjson.dumps(encode_part(part)))
    assert decode_part(stored) == part


def test_an_unknown_stored_part_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown journaled model part: \['sing'\]"):
        decode_part({"sing": "la"})


def _entry(kind: str, turn: int = 1, inv: str = "0", **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "inv": inv, "turn": turn, **fields}


def test_the_record_groups_entries_by_invocation_and_turn(caplog: pytest.LogCaptureFixture) -> None:
    call = encode_part(ModelToolCall("c-1", "refund", {"order": "o-1"}))
    entries = [
        _entry("part", part=encode_part(ModelText("hi"))),
        _entry("part", part=call),
        _entry("gate", call=0, gate="tool", approvalId="a-1"),
        _entry("start", call=0, events=2),
        _entry("outcome", call=0, content={"ok": True}, isError=False, events=2),
        _entry("part", part=encode_part(ModelFinish("tool-calls"))),
        _entry("part", turn=2, part=call),
        _entry("part", inv="0/2.0", part=encode_part(ModelText("sub"))),
        {"kind": "memory", "inv": "0/2.0"},
        {"kind": "part", "inv": "0"},  # malformed: skipped with a warning
        _entry("dance", call=0),
    ]
    with caplog.at_level(logging.WARNING, logger="flowai_harness.runs"):
        record = read_journal(entries)
    assert len([r for r in caplog.records if "malformed journal entry" in r.message]) == 2
    entry = record["0"]
    first, second = entry.turns[1], entry.turns[2]
    assert first.complete and not second.complete
    assert first.parts == [ModelText("hi"), decode_part(call), ModelFinish("tool-calls")]
    assert first.outcomes == {0: (ToolOutcome({"ok": True}), 2)}
    assert first.starts == {0: 2}
    assert first.gates == {0: {"tool": "a-1"}}
    assert not entry.memory_appended
    assert record["0/2.0"].memory_appended


def _journal(entries: list[dict[str, Any]] = ()) -> StoreRunJournal:  # type: ignore[assignment]
    recorder = RunRecorder(MemoryKeyValueStore(), "acme", RunRecord("run-1", "w", "t", "p", "i"))
    return StoreRunJournal(recorder, entries)


def _request(turn: int = 1) -> ModelRequest:
    return ModelRequest("w", "m", "p", "", "go", [], [], turn, 4)


class _Refusing:
    """A model client that must not be asked."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        raise AssertionError(f"the model was asked for turn {request.turn}")
        yield ModelText("")  # pragma: no cover


class _Playing:
    """An offline client that plays fixed parts (and counts how often it is asked)."""

    def __init__(self, parts: list[ModelPart], live: bool = False) -> None:
        self.parts = parts
        self.live = live
        self.asked = 0

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        self.asked += 1
        for part in self.parts:
            yield part


async def _parts(client: Any, request: ModelRequest) -> list[ModelPart]:
    return [part async for part in client.stream_turn(request)]


async def test_a_complete_journaled_turn_is_replayed_without_the_model() -> None:
    parts = [ModelText("a"), ModelFinish("stop", TokenUsage(3, 1))]
    entries = [_entry("part", part=encode_part(p)) for p in parts]
    journal = _journal(entries).invocation("0")
    assert await _parts(JournaledClient(_Refusing(), journal), _request()) == parts


async def test_live_turns_are_recorded_and_written_when_the_turn_ends() -> None:
    run = _journal()
    parts = [ModelText("a"), ModelFinish("stop")]
    client = JournaledClient(_Playing(parts), run.invocation("0"))
    assert await _parts(client, _request()) == parts
    kv = run.recorder.kv
    (key,) = await kv.list_keys("acme", "run-log:run-1:")
    segment = await kv.get("acme", key)
    turn = read_journal(segment["journal"])["0"].turns[1]
    assert (turn.parts, turn.complete) == (parts, True)


async def test_a_cut_turn_of_an_offline_client_is_asked_again_and_continued() -> None:
    call = ModelToolCall("c-1", "refund", {"order": "o-1"})
    journal = _journal([_entry("part", part=encode_part(call))]).invocation("0")
    inner = _Playing(
        [
            ModelToolCall("other-id", "refund", {"order": "o-1"}),
            ModelText("done"),
            ModelFinish("stop"),
        ]
    )
    request = _request()
    request.tool_results["c-1"] = ToolOutcome({"ok": True})
    parts = await _parts(JournaledClient(inner, journal), request)
    assert parts == [call, ModelText("done"), ModelFinish("stop")]
    assert inner.asked == 1
    assert request.tool_results["other-id"] == ToolOutcome({"ok": True})  # same call, new id


async def test_a_cut_turn_that_is_not_repeated_ends_after_its_last_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    call = ModelToolCall("c-1", "refund", {"order": "o-1"})
    journal = _journal([_entry("part", part=encode_part(call))]).invocation("0")
    inner = _Playing([ModelText("something else"), ModelFinish("stop")])
    with caplog.at_level(logging.WARNING, logger="flowai_harness.runs"):
        parts = await _parts(JournaledClient(inner, journal), _request())
    assert parts == [call, ModelFinish("tool-calls")]
    assert "did not repeat the journaled turn" in caplog.text


async def test_a_cut_turn_of_a_live_model_ends_after_its_last_call_without_asking_it() -> None:
    call = ModelToolCall("c-1", "refund", {"order": "o-1"})
    journal = _journal([_entry("part", part=encode_part(call))]).invocation("0")
    inner = _Playing([ModelText("never")], live=True)
    parts = await _parts(JournaledClient(inner, journal), _request())
    assert parts == [call, ModelFinish("tool-calls")]
    assert inner.asked == 0


def test_a_call_that_started_without_an_outcome_replays_as_interrupted() -> None:
    entries = [
        _entry("part", part=encode_part(ModelToolCall("c-1", "refund", {}))),
        _entry("start", call=0, events=3),
    ]
    journal = _journal(entries).invocation("0")
    journal.begin_call(1, 0)
    replayed = journal.replay_call("refund", 10)
    assert replayed is not None
    outcome, skipped = replayed
    assert outcome.is_error and "Interrupted" in outcome.content["error"]
    assert skipped == 3
    journal.begin_call(1, 1)
    assert journal.replay_call("refund", 20) is None  # never dispatched: run it live


def test_gates_are_found_by_call_and_kind() -> None:
    entries = [_entry("gate", call=0, gate="plan", approvalId="a-plan")]
    journal = _journal(entries).invocation("0")
    journal.begin_call(1, 0)
    assert not journal.has_gate("tool")
    assert journal.has_gate("plan") and journal.recorded_gate("plan") == "a-plan"
    journal.begin_call(1, 1)
    assert not journal.has_gate("plan")
    assert journal.child_key() == "0/1.1"


def test_the_engine_never_asks_whether_a_run_has_a_journal() -> None:
    """The durability seam: the loop calls the journal; only the journal knows what it does."""
    import re
    from pathlib import Path

    import flowai_harness.engine

    branch = re.compile(
        r"journal is (not )?None|recorder is (not )?None"
        r"|if (not )?(self\.|run\.|scope\.)?(_?journal|recorder)\s*(:|and\b|or\b)"
    )
    package = Path(flowai_harness.engine.__file__).parent
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(package.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if branch.search(line)
    ]
    assert len(list(package.glob("*.py"))) > 20
    assert found == []
