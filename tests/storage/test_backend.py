"""Helpers shared by the durable stores: TTL checks, JSON, secret scrubbing, one client per loop."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from flowai_harness.errors import SpecTypeError, SpecValueError, StoreError
from flowai_harness.storage._backend import (
    PerLoop,
    check_ttl,
    decode_value,
    encode_value,
    scrub_secrets,
)

# --------------------------------------------------------------------------- TTL and JSON


@pytest.mark.parametrize(("ttl", "expected"), [(None, None), (0, 0.0), (50, 50.0), (1.5, 1.5)])
def test_check_ttl_accepts_numbers_and_none(ttl: object, expected: float | None) -> None:
    assert check_ttl(ttl) == expected


@pytest.mark.parametrize("ttl", ["50", True, [50]])
def test_check_ttl_rejects_non_numbers(ttl: object) -> None:
    with pytest.raises(SpecTypeError, match="ttl_ms must be a number of milliseconds or None"):
        check_ttl(ttl)


@pytest.mark.parametrize("ttl", [float("nan"), float("inf")])
def test_check_ttl_rejects_non_finite_numbers(ttl: float) -> None:
    with pytest.raises(SpecValueError, match="finite"):
        check_ttl(ttl)


def test_encode_value_names_the_key_of_a_non_json_value() -> None:
    with pytest.raises(SpecTypeError, match="value for key 'k' of tenant 't' is not JSON"):
        encode_value({"x": {1}}, "t", "k")


def test_decode_value_reports_foreign_text_as_a_store_error() -> None:
    with pytest.raises(StoreError, match="the value of key 'k' of tenant 't' is not valid JSON"):
        decode_value("{not json", "t", "k", "some store")


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    ("message", "url"),
    [
        ('FATAL: password "hunter22" rejected', "postgresql://app:hunter22@127.0.0.1/db"),
        ("bad url postgresql://app:hunter22@127.0.0.1/db given", "whatever"),
        ("dsn host=127.0.0.1 password=hunter22 dbname=x", "host=127.0.0.1 password=hunter22"),
        ("auth hunter%2522 failed", "redis://:hunter%2522@127.0.0.1:6379/0"),
        ("auth hunter%22 failed", "redis://:hunter%2522@127.0.0.1:6379/0"),
        ("see redis://u:hunter22@127.0.0.1:6379/0?token=tok123", "redis://127.0.0.1"),
    ],
)
def test_scrub_secrets_hides_passwords_from_driver_messages(message: str, url: str) -> None:
    scrubbed = scrub_secrets(message, url)
    assert "hunter2" not in scrubbed
    assert "tok123" not in scrubbed
    assert "***" in scrubbed


def test_scrub_secrets_keeps_messages_without_secrets() -> None:
    message = 'connection to server at "127.0.0.1", port 1 failed: Connection refused'
    assert scrub_secrets(message, "postgresql://postgres@127.0.0.1:1/test") == message


# --------------------------------------------------------------------------- PerLoop


class Resource:
    """A fake async resource that records whether it was closed and in which loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closed_in: asyncio.AbstractEventLoop | None = None


def per_loop() -> tuple[PerLoop[Resource], list[Resource]]:
    opened: list[Resource] = []

    async def opener() -> Resource:
        await asyncio.sleep(0)
        resource = Resource()
        opened.append(resource)
        return resource

    async def closer(resource: Resource) -> None:
        resource.closed_in = asyncio.get_running_loop()

    return PerLoop(opener, closer), opened


async def test_per_loop_opens_once_per_loop_even_under_concurrency() -> None:
    resources, opened = per_loop()
    got = await asyncio.gather(*(resources.get() for _ in range(20)))
    assert len(opened) == 1
    assert all(item is opened[0] for item in got)
    await resources.close()
    assert opened[0].closed_in is asyncio.get_running_loop()


def test_per_loop_gives_each_loop_its_own_resource_and_closes_it_at_loop_shutdown() -> None:
    resources, _ = per_loop()
    first = asyncio.run(resources.get())
    second = asyncio.run(resources.get())
    assert first is not second
    # asyncio.run cancelled the guard task at its end, which closed the resource in its loop.
    assert first.closed_in is first.loop
    assert second.closed_in is second.loop
    gc.collect()


async def test_per_loop_reopens_after_close_in_the_same_loop() -> None:
    resources, opened = per_loop()
    first = await resources.get()
    await resources.close()
    second = await resources.get()
    assert first is not second
    await resources.close()
    assert [r.closed_in for r in opened] == [asyncio.get_running_loop()] * 2


async def test_per_loop_close_reaches_a_loop_running_in_another_thread() -> None:
    resources, opened = per_loop()
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(resources.get(), other).result(timeout=5)
        await resources.close()
        assert opened[0].closed_in is other
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=5)
        other.close()
