"""References: content-addressed ids, validation, glimpses, TTL, tenant scoping, tools."""

from __future__ import annotations

import hashlib
import json
import re
from types import SimpleNamespace
from typing import Any

import pydantic
import pytest

from flowai_harness import define_reference, define_tool
from flowai_harness.engine.compiled import CompiledReference
from flowai_harness.engine.references import ReferenceRegistry, reference_id
from flowai_harness.engine.schemas import compile_schema
from flowai_harness.errors import ReferenceNotFoundError
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.testing import collect_events
from tests.engine.helpers import engine_runtime, runtime_of, script, specialist

NOTE_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Product(pydantic.BaseModel):
    name: str
    price: float


# --------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("value", "tenant", "canonical", "expected"),
    [
        (
            {"b": 1, "a": [True, None, "x"]},
            "acme",
            '{"content":{"a":[true,null,"x"],"b":1},"owner":"acme"}',
            "06baa77a90e94465fd1d993c",
        ),
        (
            {"price": 4.5, "name": "Café"},
            "acme",
            '{"content":{"name":"Café","price":4.5},"owner":"acme"}',
            "4d46c49a52f917c4b1d209fc",
        ),
        (
            {"price": 4.5, "name": "Café"},
            "globex",
            '{"content":{"name":"Café","price":4.5},"owner":"globex"}',
            "4f14fd217f90da0e41411a3c",
        ),
        (
            {"whole": 100.0, "small": 1e-7, "big": 1e16},
            "acme",
            '{"content":{"big":1e16,"small":1e-7,"whole":100.0},"owner":"acme"}',
            "2c7958339aca3f7e32a661b2",
        ),
        ("hello", "acme", '{"content":"hello","owner":"acme"}', "8a389c3e2e891b6060d31b2d"),
    ],
)
def test_reference_id_is_the_first_12_sha256_bytes_of_the_canonical_json(
    value: Any,
    tenant: str,
    canonical: str,
    expected: str,
) -> None:
    # the pinned ids were computed by hand from the canonical text
    assert hashlib.sha256(canonical.encode()).digest()[:12].hex() == expected
    assert reference_id(value, tenant) == expected


def test_reference_id_is_24_lowercase_hex_chars() -> None:
    assert re.fullmatch(r"[0-9a-f]{24}", reference_id({"x": [1, 2]}, "acme"))


async def test_create_returns_the_handle_with_the_content_addressed_id() -> None:
    note = define_reference("note", NOTE_SCHEMA)
    runtime = runtime_of(specialist("w"), references=[note])
    handle = await runtime.create_reference(note, {"text": "hello"})
    assert handle == {"kind": "note", "id": reference_id({"text": "hello"}, "acme"), "glimpse": {}}


async def test_same_value_and_tenant_give_the_same_id_and_other_values_another() -> None:
    note = define_reference("note", NOTE_SCHEMA)
    runtime = runtime_of(specialist("w"), references=[note])
    first = await runtime.create_reference("note", {"text": "a"})
    again = await runtime.create_reference("note", {"text": "a"})
    other = await runtime.create_reference("note", {"text": "b"})
    assert first["id"] == again["id"] != other["id"]


# --------------------------------------------------------------------------- validation


async def test_value_failing_the_schema_is_refused_and_nothing_is_stored() -> None:
    kv = MemoryKeyValueStore()
    note = define_reference("note", NOTE_SCHEMA)
    runtime = engine_runtime(specialist("w"), client=_noop(), kv=kv, references=[note])
    with pytest.raises(ValueError, match="schema validation failed for kind 'note'"):
        await runtime.create_reference(note, {"text": 5})
    assert await kv.list_keys("acme", "reference:") == []


async def test_unknown_kind_is_refused() -> None:
    runtime = runtime_of(specialist("w"))
    with pytest.raises(ValueError, match="unknown reference kind: ghost"):
        await runtime.create_reference("ghost", {"x": 1})


@pytest.mark.parametrize("reference", ["", SimpleNamespace(name=""), SimpleNamespace(), 42])
async def test_empty_kind_or_object_without_name_is_refused(reference: Any) -> None:
    runtime = runtime_of(specialist("w"), references=[define_reference("note", NOTE_SCHEMA)])
    with pytest.raises(ValueError, match="kind"):
        await runtime.create_reference(reference, {"text": "x"})


async def test_unserialisable_value_is_a_type_error() -> None:
    runtime = runtime_of(specialist("w"), references=[define_reference("blob", {})])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        await runtime.create_reference("blob", {"x": {1, 2}})


# --------------------------------------------------------------------------- glimpses


async def test_glimpse_callback_runs_once_on_the_original_python_value() -> None:
    seen: list[Any] = []

    def summarise(value: Any) -> dict[str, Any]:
        seen.append(value)
        return {"name": value.name}

    product = define_reference("product", Product, glimpse=summarise)
    runtime = runtime_of(specialist("w"), references=[product])
    value = Product(name="tea", price=2.5)
    handle = await runtime.create_reference(product, value)
    assert handle["glimpse"] == {"name": "tea"}
    assert await runtime.resolve_reference(handle) == {"name": "tea", "price": 2.5}
    assert await runtime.reference_glimpse(handle) == {"name": "tea"}
    assert await runtime.reference_glimpse(handle) == {"name": "tea"}
    assert seen == [value]  # the lookups never re-ran the callback


async def test_explicit_glimpse_wins_over_the_callback() -> None:
    calls: list[Any] = []
    note = define_reference("note", NOTE_SCHEMA, glimpse=lambda v: calls.append(v) or {})
    runtime = runtime_of(specialist("w"), references=[note])
    handle = await runtime.create_reference(note, {"text": "x"}, glimpse={"short": True})
    assert handle["glimpse"] == {"short": True}
    assert await runtime.reference_glimpse(handle) == {"short": True}
    assert calls == []


async def test_a_kind_string_gets_an_empty_glimpse_even_if_the_spec_has_a_callback() -> None:
    note = define_reference("note", NOTE_SCHEMA, glimpse=lambda v: {"never": True})
    runtime = runtime_of(specialist("w"), references=[note])
    handle = await runtime.create_reference("note", {"text": "x"})
    assert handle["glimpse"] == {}


async def test_failing_glimpse_callback_is_a_value_error_naming_the_kind() -> None:
    def broken(value: Any) -> Any:
        raise KeyError("missing")

    note = define_reference("note", NOTE_SCHEMA, glimpse=broken)
    runtime = runtime_of(specialist("w"), references=[note])
    with pytest.raises(
        ValueError, match="glimpse callback of reference kind 'note' raised KeyError"
    ):
        await runtime.create_reference(note, {"text": "x"})


# --------------------------------------------------------------------------- storage and TTL


async def test_record_is_stored_under_the_kind_and_id_in_the_tenant_namespace() -> None:
    kv = MemoryKeyValueStore()
    note = define_reference("note", NOTE_SCHEMA)
    runtime = engine_runtime(specialist("w"), client=_noop(), kv=kv, references=[note])
    handle = await runtime.create_reference(note, {"text": "x"}, glimpse={"g": 1})
    key = f"reference:note:{handle['id']}"
    assert await kv.list_keys("acme", "") == [key]
    record = await kv.get("acme", key)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record.pop("createdAt"))
    assert record == {
        "kind": "note",
        "resourceId": "acme",
        "value": {"text": "x"},
        "glimpse": {"g": 1},
    }


async def test_ttl_expiry_reads_as_not_found_for_resolve_and_glimpse() -> None:
    clock = FakeClock()
    note = define_reference("note", NOTE_SCHEMA, ttl_ms=500)
    runtime = engine_runtime(
        specialist("w"), client=_noop(), kv=MemoryKeyValueStore(clock=clock), references=[note]
    )
    handle = await runtime.create_reference(note, {"text": "x"})
    clock.now += 0.499
    assert await runtime.resolve_reference(handle) == {"text": "x"}
    clock.now += 0.001
    message = f"^reference not found: kind=note id={handle['id']}$"
    with pytest.raises(ValueError, match=message):
        await runtime.resolve_reference(handle)
    with pytest.raises(ReferenceNotFoundError, match=message):
        await runtime.reference_glimpse(handle)


async def test_recreating_a_reference_restarts_its_ttl() -> None:
    clock = FakeClock()
    note = define_reference("note", NOTE_SCHEMA, ttl_ms=1000)
    runtime = engine_runtime(
        specialist("w"), client=_noop(), kv=MemoryKeyValueStore(clock=clock), references=[note]
    )
    handle = await runtime.create_reference(note, {"text": "x"})
    clock.now += 0.8
    assert await runtime.create_reference(note, {"text": "x"}) == handle
    clock.now += 0.8
    assert await runtime.resolve_reference(handle) == {"text": "x"}


async def test_reference_without_ttl_never_expires() -> None:
    clock = FakeClock()
    note = define_reference("note", NOTE_SCHEMA)
    runtime = engine_runtime(
        specialist("w"), client=_noop(), kv=MemoryKeyValueStore(clock=clock), references=[note]
    )
    handle = await runtime.create_reference(note, {"text": "x"})
    clock.now += 10**9
    assert await runtime.resolve_reference(handle) == {"text": "x"}


async def test_ttl_expiry_with_the_default_store_and_a_real_clock() -> None:
    import asyncio

    note = define_reference("note", NOTE_SCHEMA, ttl_ms=20)
    runtime = runtime_of(specialist("w"), references=[note])
    handle = await runtime.create_reference(note, {"text": "x"})
    await asyncio.sleep(0.05)
    with pytest.raises(ValueError, match="reference not found"):
        await runtime.resolve_reference(handle)


# --------------------------------------------------------------------------- tenants


def _registry(kv: MemoryKeyValueStore) -> ReferenceRegistry:
    kinds = {"note": CompiledReference("note", compile_schema(NOTE_SCHEMA), None)}
    return ReferenceRegistry(kinds, kv)


async def test_another_tenant_cannot_read_a_reference_even_on_a_shared_store() -> None:
    kv = MemoryKeyValueStore()
    registry = _registry(kv)
    handle = await registry.create("acme", "note", {"text": "secret"}, {})
    with pytest.raises(ReferenceNotFoundError, match="reference not found: kind=note"):
        await registry.resolve_handle("globex", handle)
    other = await registry.create("globex", "note", {"text": "secret"}, {})
    assert other["id"] != handle["id"]
    assert await registry.resolve_handle("globex", other) == {"text": "secret"}


async def test_a_record_claiming_another_owner_reads_as_not_found() -> None:
    kv = MemoryKeyValueStore()
    registry = _registry(kv)
    handle = await registry.create("acme", "note", {"text": "x"}, {})
    key = f"reference:note:{handle['id']}"
    record = await kv.get("acme", key)
    await kv.put("acme", key, {**record, "resourceId": "globex"})
    with pytest.raises(ReferenceNotFoundError):
        await registry.resolve_handle("acme", handle)


# --------------------------------------------------------------------------- handles


@pytest.mark.parametrize(
    "make_handle",
    [
        lambda h: h,
        lambda h: {"kind": h["kind"], "id": h["id"]},
        lambda h: SimpleNamespace(kind=h["kind"], id=h["id"], extra=1),
    ],
)
async def test_resolve_accepts_mappings_and_objects_with_kind_and_id(make_handle: Any) -> None:
    note = define_reference("note", NOTE_SCHEMA)
    runtime = runtime_of(specialist("w"), references=[note])
    handle = await runtime.create_reference(note, {"text": "x"})
    assert await runtime.resolve_reference(make_handle(handle)) == {"text": "x"}


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "note"},
        {"id": "abc"},
        {"kind": "", "id": "a"},
        {"kind": "note", "id": 5},
        "note:abc",
        None,
    ],
)
async def test_handles_without_string_kind_and_id_are_refused(bad: Any) -> None:
    runtime = runtime_of(specialist("w"), references=[define_reference("note", NOTE_SCHEMA)])
    with pytest.raises(ValueError, match="non-empty string 'kind' and 'id'"):
        await runtime.resolve_reference(bad)
    with pytest.raises(ValueError, match="non-empty string 'kind' and 'id'"):
        await runtime.reference_glimpse(bad)


async def test_unknown_id_is_not_found() -> None:
    runtime = runtime_of(specialist("w"), references=[define_reference("note", NOTE_SCHEMA)])
    with pytest.raises(ValueError, match=r"^reference not found: kind=note id=0{24}$"):
        await runtime.resolve_reference({"kind": "note", "id": "0" * 24})


# --------------------------------------------------------------------------- model tools


async def test_resolve_ref_and_glimpse_ref_tools_return_value_and_glimpse() -> None:
    note = define_reference("note", NOTE_SCHEMA)
    runtime = runtime_of(
        specialist("w", toolkits=["references"]), references=[note], interpreter="scripted"
    )
    handle = await runtime.create_reference(note, {"text": "x"}, glimpse={"len": 1})
    ref = {"kind": "note", "id": handle["id"]}
    missing = {"kind": "note", "id": "f" * 24}
    events = await collect_events(
        runtime.run_specialist(
            "w", script(("resolveRef", ref), ("glimpseRef", ref), ("resolveRef", missing))
        )
    )
    results = [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]
    assert results == [
        {"kind": "note", "value": {"text": "x"}, "glimpse": {"len": 1}},
        {"kind": "note", "glimpse": {"len": 1}},
        {"error": f"reference not found: kind=note id={'f' * 24}"},
    ]


async def test_tools_can_hand_out_references_that_the_host_resolves() -> None:
    note = define_reference("note", NOTE_SCHEMA)

    @define_tool("save", {"text": str})
    async def save(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return await ctx.references.create("note", {"text": args["text"]})

    runtime = runtime_of(specialist("w", tools=[save]), references=[note], interpreter="scripted")
    events = await collect_events(
        runtime.run_specialist("w", json.dumps({"tool": "save", "args": {"text": "kept"}}))
    )
    handle = next(
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    )
    assert handle == {"kind": "note", "id": reference_id({"text": "kept"}, "acme"), "glimpse": {}}
    assert await runtime.resolve_reference(handle) == {"text": "kept"}


def _noop() -> Any:
    from flowai_harness.providers.deterministic import NoopClient

    return NoopClient()
