"""Record a run against the fake Anthropic API, then replay it offline with ReplayModel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.testing import (
    ReplayMismatchError,
    ReplayModel,
    ScriptedModel,
    assert_replays,
    collect_events,
)
from tests.providers.conftest import SECRET_KEY
from tests.providers.fakes.anthropic_server import (
    FakeAnthropic,
    ToolUse,
    anthropic_error,
    anthropic_reply,
)
from tests.providers.support import TENANT, fast_retries, lookup


def _spec(base_url: str, prompt: str = "You price things.") -> Any:
    return define_runtime(
        TENANT,
        agents=[
            define_specialist("pricing", model="claude-sonnet-4-6", prompt=prompt, tools=[lookup])
        ],
        providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": base_url, **fast_retries()}},
    )


def _shape(events: list[dict[str, Any]]) -> list[Any]:
    """What a replay must reproduce: event types, texts, tool calls and their results."""
    out: list[Any] = []
    for event in events:
        kind = event["type"]
        if kind == "text":
            out.append(("text", event["text"]))
        elif kind == "tool-invocation":
            out.append(
                (kind, event["state"], event["toolName"], event["args"], event.get("result"))
            )
        else:
            out.append(kind)
    return out


async def _record(tmp_path: Path) -> tuple[Path, str, list[dict[str, Any]]]:
    cassette = tmp_path / "run.jsonl"
    async with FakeAnthropic() as server:
        server.queue(
            anthropic_error(529, "overloaded_error", "busy, try again"),
            anthropic_reply(text="Looking it up. ", tool_uses=[ToolUse("lookup", {"sku": "A-1"})]),
            anthropic_reply(text="A-1 costs 4.50."),
        )
        runtime = create_runtime(_spec(server.url), interpreter="anthropic", record=cassette)
        events = await collect_events(runtime.run_specialist("pricing", "price of A-1?", "t-1"))
        await runtime.aclose()
        assert len(server.message_bodies) == 3  # the overloaded answer was retried
        url = server.url
    return cassette, url, events


async def test_a_recorded_run_replays_offline_with_the_same_events(tmp_path: Path) -> None:
    cassette, url, recorded = await _record(tmp_path)
    assert ("text", "A-1 costs 4.50.") in _shape(recorded)
    latency = [e for e in recorded if e["type"] == "data-latency-summary"]
    assert latency[0]["data"]["retryCount"] == 1

    # the server is stopped: only the cassette can answer
    model = ReplayModel.from_file(cassette)
    runtime = create_runtime(_spec(url), interpreter=model)
    replayed = await collect_events(runtime.run_specialist("pricing", "price of A-1?", "t-1"))
    assert _shape(replayed) == _shape(recorded)
    assert model.remaining == 0 and model.mismatches == []
    replayed_latency = [e for e in replayed if e["type"] == "data-latency-summary"]
    assert replayed_latency[0]["data"]["retryCount"] == 1
    usage = [e["data"]["totalTokens"] for e in recorded if e["type"] == "data-cost-summary"]
    assert usage == [e["data"]["totalTokens"] for e in replayed if e["type"] == "data-cost-summary"]


async def test_the_cassette_holds_the_turns_and_no_secret(tmp_path: Path) -> None:
    cassette, _, _ = await _record(tmp_path)
    text = cassette.read_text()
    assert SECRET_KEY not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["kind"] for e in entries] == ["run", "turn", "turn", "end"]
    assert entries[0] == {
        "kind": "run",
        "entry": "specialist",
        "entryAgent": "pricing",
        "prompt": "price of A-1?",
        "threadId": "t-1",
    }
    first, second = entries[1]["request"], entries[2]["request"]
    assert first["agent"] == "pricing" and first["model"] == "claude-sonnet-4-6"
    assert [t["name"] for t in first["tools"]] == ["lookup"]
    assert first["messages"][-1] == {"role": "user", "content": "price of A-1?"}
    call = second["messages"][-1]["toolCalls"][0]
    assert (call["name"], call["arguments"], call["result"]) == (
        "lookup",
        {"sku": "A-1"},
        {"sku": "A-1", "price": 4.5},
    )
    assert entries[3] == {"kind": "end", "status": "completed"}


async def test_assert_replays_turns_a_cassette_into_a_regression_test(tmp_path: Path) -> None:
    cassette, url, recorded = await _record(tmp_path)
    [events] = await assert_replays(
        lambda model: create_runtime(_spec(url), interpreter=model), cassette
    )
    assert _shape(events) == _shape(recorded)


async def test_a_changed_prompt_fails_strict_replay_with_a_readable_diff(tmp_path: Path) -> None:
    cassette, url, recorded = await _record(tmp_path)
    changed = _spec(url, prompt="You price things in euros.")
    with pytest.raises(ReplayMismatchError) as failure:
        await assert_replays(lambda model: create_runtime(changed, interpreter=model), cassette)
    message = str(failure.value)
    assert "--- recorded request" in message and "+++ replayed request" in message
    assert '-      "content": "You price things.' in message
    assert '+      "content": "You price things in euros.' in message

    # the run itself reports it as an error event, with the diff
    model = ReplayModel.from_file(cassette)
    runtime = create_runtime(changed, interpreter=model)
    events = await collect_events(runtime.run_specialist("pricing", "price of A-1?", "t-1"))
    [error] = [e["error"] for e in events if e["type"] == "error"][:1]
    assert error["code"] == "replay_mismatch" and "+++ replayed request" in error["message"]

    # lenient replay plays the recorded turns in order whatever is asked
    [lenient] = await assert_replays(
        lambda model: create_runtime(changed, interpreter=model), cassette, strict=False
    )
    assert _shape(lenient) == _shape(recorded)


async def test_recording_works_with_any_interpreter_and_nested_agents(tmp_path: Path) -> None:
    from tests.engine.helpers import coordinator, runtime_of, specialist

    model = ScriptedModel()
    model.add_turn("routing ", tool_calls=[("call_agent", {"agent": "w", "prompt": "x"})])
    model.add_turn("inner answer", agent="w")
    model.add_turn("outer answer", agent="c")
    cassette = tmp_path / "nested.jsonl"
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model, record=cassette)
    recorded = await collect_events(runtime.query("go", "t"))
    agents = [
        json.loads(line)["request"]["agent"]
        for line in cassette.read_text().splitlines()
        if '"turn"' in line
    ]
    # in the order the requests were made, though the coordinator's first turn ended last
    assert agents == ["c", "w", "c"]
    [replayed] = await assert_replays(
        lambda replay: runtime_of(coordinator(["w"]), specialist("w"), interpreter=replay),
        cassette,
    )
    assert _shape(replayed) == _shape(recorded)


async def test_a_replay_asked_for_more_turns_than_recorded_says_so(tmp_path: Path) -> None:
    cassette, url, _ = await _record(tmp_path)
    model = ReplayModel.from_file(cassette)
    runtime = create_runtime(_spec(url), interpreter=model)
    await collect_events(runtime.run_specialist("pricing", "price of A-1?", "t-1"))
    events = await collect_events(runtime.run_specialist("pricing", "price of A-1?", "t-2"))
    [error] = [e["error"] for e in events if e["type"] == "error"][:1]
    assert "no recorded turn left" in error["message"]


def test_bad_record_and_cassette_arguments_name_the_problem(tmp_path: Path) -> None:
    spec = _spec("http://127.0.0.1:9")
    with pytest.raises(ConfigurationError, match=r"directory of cassette .* does not exist"):
        create_runtime(spec, interpreter=ScriptedModel(), record=tmp_path / "no" / "x.jsonl")
    with pytest.raises(SpecTypeError, match="record must be the path of a cassette file"):
        create_runtime(spec, interpreter=ScriptedModel(), record=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="cannot read cassette"):
        ReplayModel.from_file(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "run"}\n')
    with pytest.raises(ConfigurationError, match="line 1 is not a cassette entry"):
        ReplayModel.from_file(bad)
