"""The byte limit on tool results: above it a result becomes a ``tool_result`` reference."""

from __future__ import annotations

import hashlib
import re
import tracemalloc
from typing import Any

import orjson
import pytest

from flowai_harness import define_reference, define_runtime, define_tool
from flowai_harness.engine.builtins import engine_tool_handlers
from flowai_harness.engine.compiled import EngineInputs, compile_runtime
from flowai_harness.engine.limits import parse_limits
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.handle import Runtime
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import TENANT, runtime_of, specialist

ROWS = [{"id": i, "name": f"row {i:05d}"} for i in range(400)]  # about 12 KB as JSON
ROWS_BYTES = len(orjson.dumps(ROWS))
SMALL = {"tool_result_bytes": 4096}


@define_tool("rows", {})
def rows(args: dict[str, Any], ctx: Any) -> Any:
    return ROWS


@define_tool("tiny", {})
def tiny(args: dict[str, Any], ctx: Any) -> Any:
    return {"ok": True}


def _results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


async def _call(*calls: tuple[str, Any], **kwargs: Any) -> tuple[Runtime, list[Any], Any]:
    model = ScriptedModel().add_turn(tool_calls=list(calls)).add_turn("done")
    tools = kwargs.pop("tools", [rows, tiny])
    runtime = runtime_of(
        specialist("w", tools=tools, **kwargs.pop("agent", {})), **kwargs, interpreter=model
    )
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert events[-2]["type"] == "finish"
    return runtime, _results(events), model


async def test_a_result_above_the_limit_becomes_a_reference_with_a_glimpse() -> None:
    runtime, results, model = await _call(("rows", {}), limits=SMALL)
    [envelope] = results
    assert envelope["kind"] == "tool_result" and re.fullmatch(r"[0-9a-f]{24}", envelope["id"])
    assert envelope["oversized"] is True
    glimpse = envelope["glimpse"]
    assert glimpse["bytes"] == ROWS_BYTES and glimpse["type"] == "array"
    assert glimpse["count"] == 400
    assert glimpse["preview"].startswith('[{"id":0,"name":"row 00000"}')
    assert len(orjson.dumps(envelope)) < 2048
    assert envelope["message"] == (
        f"the result of tool 'rows' is {ROWS_BYTES} bytes ({ROWS_BYTES / 1024:.1f} KiB), above "
        f"the 4096 bytes (4.0 KiB) limit for tool results sent to the model: it was stored as "
        f"reference kind=tool_result id={envelope['id']} and only a glimpse is shown"
    )
    # the model saw the envelope, not the rows
    assert model.requests[1].turns[0][0].result == envelope
    # host code reads the whole value back; the glimpse is stored with it
    handle = {"kind": "tool_result", "id": envelope["id"]}
    assert await runtime.resolve_reference(handle) == ROWS
    assert await runtime.reference_glimpse(handle) == glimpse


async def test_results_up_to_the_limit_are_sent_inline_unchanged() -> None:
    _, results, _ = await _call(
        ("rows", {}), ("tiny", {}), limits={"tool_result_bytes": ROWS_BYTES}
    )
    assert results == [ROWS, {"ok": True}]


async def test_a_per_tool_limit_overrides_the_runtime_limit() -> None:
    limits = {"toolResultBytes": 16, "toolResultBytesPerTool": {"rows": ROWS_BYTES}}
    _, results, _ = await _call(("rows", {}), ("tiny", {}), ("rows", {}), limits=limits)
    assert results[0] == ROWS and results[2] == ROWS
    assert results[1] == {"ok": True}  # 11 bytes, under 16

    _, results, _ = await _call(("rows", {}), limits={"tool_result_bytes_per_tool": {"rows": 100}})
    assert results[0]["kind"] == "tool_result"


async def test_a_result_too_large_to_store_is_an_error_naming_size_and_limits() -> None:
    limits = {"tool_result_bytes": 1024, "stored_result_bytes": 2048}
    _, results, _ = await _call(("rows", {}), limits=limits)
    assert results == [
        {
            "error": f"the result of tool 'rows' is {ROWS_BYTES} bytes "
            f"({ROWS_BYTES / 1024:.1f} KiB), above the 1024 bytes (1.0 KiB) limit for tool "
            f"results sent to the model, and above the 2048 bytes (2.0 KiB) limit for storing "
            f"it as a reference; return less data (for example a page, a sample or a summary)"
        }
    ]


class _NoReferences(MemoryKeyValueStore):
    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        if key.startswith("reference:"):
            raise OSError("disk full")
        await super().put(tenant, key, value, ttl_ms)


async def test_a_result_that_cannot_be_stored_is_an_error_naming_size_and_limit() -> None:
    spec = define_runtime(TENANT, agents=[specialist("w", tools=[rows])])
    model = ScriptedModel().add_turn(tool_calls=[("rows", {})]).add_turn("done")
    inputs = EngineInputs(
        spec=spec,
        clients={"*": model},
        kv=_NoReferences(),
        builtin_handlers=engine_tool_handlers(),
        limits=parse_limits(SMALL),
    )
    runtime = Runtime(compile_runtime(inputs))
    events = await collect_events(runtime.run_specialist("w", "go"))
    [result] = _results(events)
    assert result == {
        "error": f"the result of tool 'rows' is {ROWS_BYTES} bytes ({ROWS_BYTES / 1024:.1f} "
        f"KiB), above the 4096 bytes (4.0 KiB) limit for tool results sent to the model, and "
        f"storing it as a reference failed: OSError: disk full"
    }
    assert events[-2]["type"] == "finish"


async def test_resolve_ref_of_an_oversized_result_points_at_glimpse_ref() -> None:
    # the id is computed like any reference's, over the result's JSON as the tool produced it
    digest = hashlib.sha256(b'{"content":' + orjson.dumps(ROWS) + b',"owner":"acme"}')
    handle = {"kind": "tool_result", "id": digest.digest()[:12].hex()}
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("rows", {})])
        .add_turn(tool_calls=[("resolveRef", handle), ("glimpseRef", handle)])
        .add_turn("done")
    )
    runtime = runtime_of(
        specialist("w", tools=[rows], toolkits=["references"]), interpreter=model, limits=SMALL
    )
    events = await collect_events(runtime.run_specialist("w", "go"))
    envelope, resolved, glimpsed = _results(events)
    assert envelope["id"] == handle["id"]
    assert resolved["error"].startswith("the result of tool 'resolveRef' is ")
    assert resolved["error"].endswith(
        "read its glimpse with glimpseRef instead (host code can read the whole value with "
        "Runtime.resolve_reference)"
    )
    assert glimpsed == {"kind": "tool_result", "glimpse": envelope["glimpse"]}


async def test_a_large_result_keeps_events_small_and_is_serialized_once() -> None:
    chunk = "x" * 50_000
    size = 1000 * (len(chunk) + 3) + 1  # 50 MB of JSON

    @define_tool("dump", {})
    def dump(args: dict[str, Any], ctx: Any) -> Any:
        return [chunk] * 1000  # one string shared: the value itself costs almost nothing

    model = ScriptedModel().add_turn(tool_calls=[("dump", {})]).add_turn("done")
    runtime = runtime_of(specialist("w", tools=[dump], stateful=True), interpreter=model)
    stream = runtime.run_specialist("w", "go", thread_id="t")
    tracemalloc.start()
    try:
        events = await collect_events(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [result] = _results(events)
    assert result["glimpse"]["bytes"] == size and result["glimpse"]["count"] == 1000
    assert max(len(orjson.dumps(event)) for event in events) < 4096
    # Two copies of the JSON: the one serialization and the store's record (orjson allocates
    # about 1.33 bytes per byte of output). A third full copy (parsing the result back, copying
    # it into an event or the memory) would pass 3.6 times the size.
    assert peak < 3 * size, f"peak {peak} for a {size}-byte result"
    stored = await runtime.resolve_reference({"kind": "tool_result", "id": result["id"]})
    assert len(stored) == 1000 and stored[0] == chunk


# --------------------------------------------------------------------------- configuration


def test_limits_are_checked_at_create_runtime() -> None:
    with pytest.raises(ConfigurationError, match="limits has an unknown key 'tool_results'"):
        runtime_of(specialist("w"), limits={"tool_results": 1})
    with pytest.raises(
        SpecTypeError, match=r"limits\.tool_result_bytes must be an integer; got str"
    ):
        runtime_of(specialist("w"), limits={"tool_result_bytes": "1MB"})
    with pytest.raises(ConfigurationError, match=r"limits\.tool_args_depth must be at least 1"):
        runtime_of(specialist("w"), limits={"tool_args_depth": 0})
    with pytest.raises(ConfigurationError, match="gives 'tool_result_bytes' twice"):
        runtime_of(specialist("w"), limits={"tool_result_bytes": 1, "toolResultBytes": 2})
    with pytest.raises(SpecTypeError, match="limits must be a mapping"):
        runtime_of(specialist("w"), limits=[("tool_result_bytes", 1)])
    with pytest.raises(
        SpecTypeError, match=r"tool_result_bytes_per_tool\['x'\] must be an integer; got float"
    ):
        runtime_of(specialist("w"), limits={"tool_result_bytes_per_tool": {"x": 1.5}})
    runtime_of(specialist("w"), limits={"stored_result_bytes": None, "stored_result_ttl_ms": 0})


def test_the_tool_result_reference_kind_is_reserved() -> None:
    with pytest.raises(ConfigurationError, match="reference kind 'tool_result' is reserved"):
        runtime_of(specialist("w"), references=[define_reference("tool_result", {"a": int})])
