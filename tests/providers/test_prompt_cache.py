"""Prompt caching: the fake API's cache accounting, and the provider's markers measured with it."""

from __future__ import annotations

from typing import Any

from flowai_harness import (
    Runtime,
    create_runtime,
    define_runtime,
    define_specialist,
    define_tool,
)

from .conftest import SECRET_KEY
from .fakes.anthropic_server import FakeAnthropic, ToolUse
from .fakes.http import RecordedRequest, StreamReply
from .fakes.prompt_cache import PromptCache, approx_tokens, prompt_blocks
from .support import TENANT, run_pricing

EPHEMERAL = {"type": "ephemeral"}
LONG_PROMPT = "Answer with care. " * 400  # about 1,800 tokens: above the cacheable minimum


def _text(text: str, marked: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": text}
    return {**block, "cache_control": EPHEMERAL} if marked else block


def _body(*user_texts: str, marked: tuple[int, ...] = (-1,)) -> dict[str, Any]:
    blocks = [_text(text) for text in user_texts]
    for index in marked:
        blocks[index] = {**blocks[index], "cache_control": EPHEMERAL}
    return {
        "system": [_text(LONG_PROMPT, marked=True)],
        "messages": [{"role": "user", "content": blocks}],
    }


def test_first_request_writes_its_marked_prefix_and_reads_nothing() -> None:
    cache = PromptCache()
    usage = cache.account(_body("hello"))
    assert usage.cache_read_input_tokens == 0
    assert usage.input_tokens == 0
    assert usage.cache_creation_input_tokens == usage.prompt_tokens > 1024


def test_longest_previously_marked_prefix_is_read_and_the_rest_written() -> None:
    cache = PromptCache()
    first = cache.account(_body("hello"))
    second = cache.account(_body("hello", "more", "and more"))
    assert second.cache_read_input_tokens == first.prompt_tokens
    assert second.cache_creation_input_tokens == second.prompt_tokens - first.prompt_tokens
    assert second.input_tokens == 0


def test_tokens_after_the_last_marker_are_fresh_input() -> None:
    cache = PromptCache()
    usage = cache.account(_body("hello", "tail text", marked=(0,)))
    assert usage.input_tokens == approx_tokens('{"text":"tail text","type":"text"}')


def test_a_changed_block_before_the_markers_misses_the_cache() -> None:
    cache = PromptCache()
    cache.account(_body("hello"))
    changed = _body("hello")
    changed["system"][0]["text"] = LONG_PROMPT + " Today is Tuesday."
    assert cache.account(changed).cache_read_input_tokens == 0


def test_prefixes_below_the_minimum_are_never_cached() -> None:
    cache = PromptCache()
    short = {"messages": [{"role": "user", "content": [_text("hi", marked=True)]}]}
    assert cache.account(short).cache_creation_input_tokens == 0
    assert cache.account(short).cache_read_input_tokens == 0


def test_a_hit_further_back_than_the_lookback_is_missed() -> None:
    near = PromptCache(lookback=2)
    first = near.account(_body("a"))
    assert near.account(_body("a", "b", "c")).cache_read_input_tokens == first.prompt_tokens
    far = PromptCache(lookback=2)
    far.account(_body("a"))
    # Only the system block, marked in both requests, is found again.
    system_only = approx_tokens(f'{{"text":"{LONG_PROMPT}","type":"text"}}')
    assert far.account(_body("a", "b", "c", "d")).cache_read_input_tokens == system_only


def _scripted(server: FakeAnthropic, turns: list[list[ToolUse]]) -> Any:
    def respond(request: RecordedRequest) -> StreamReply:
        done = len(server.prompt_cache.history)
        if done < len(turns):
            return server.cached_reply(request, tool_uses=turns[done])
        return server.cached_reply(request, text="done")

    return respond


@define_tool("lookup", {"sku": str}, description="Look up the price of a SKU.")
def _lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5, "notes": "list price, VAT excluded"}


def _runtime(url: str) -> Runtime:
    agent = define_specialist(
        "pricing", model="claude-sonnet-4-6", prompt=LONG_PROMPT, tools=[_lookup], max_turns=10
    )
    spec = define_runtime(
        TENANT,
        agents=[agent],
        providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": url}},
    )
    return create_runtime(spec, interpreter="anthropic")


def _share_after_first(server: FakeAnthropic) -> float:
    later = server.prompt_cache.history[1:]
    return sum(u.cache_read_input_tokens for u in later) / sum(u.prompt_tokens for u in later)


async def test_markers_make_most_prompt_tokens_after_the_first_turn_cache_reads(
    anthropic_fake: FakeAnthropic,
) -> None:
    turns = [[ToolUse("lookup", {"sku": f"A-{i}"}, id=f"toolu_{i:02d}")] for i in range(6)]
    anthropic_fake.respond = _scripted(anthropic_fake, turns)
    events = await run_pricing(_runtime(anthropic_fake.url))
    assert [e for e in events if e["type"] == "error"] == []
    assert len(anthropic_fake.prompt_cache.history) == 7
    assert _share_after_first(anthropic_fake) >= 0.8
    for body in anthropic_fake.message_bodies:
        marked = [b for _, b in prompt_blocks(body) if "cache_control" in b]
        assert len(marked) <= 4  # the API refuses more


async def test_a_turn_wider_than_the_lookback_still_reads_the_previous_prompt(
    anthropic_fake: FakeAnthropic,
) -> None:
    wide = [ToolUse("lookup", {"sku": f"W-{i}"}, id=f"toolu_w{i:02d}") for i in range(15)]
    turns = [[ToolUse("lookup", {"sku": "A-0"}, id="toolu_a")], wide]
    anthropic_fake.respond = _scripted(anthropic_fake, turns)
    await run_pricing(_runtime(anthropic_fake.url))
    _first, second, third = anthropic_fake.prompt_cache.history
    # 15 calls add 30 blocks, beyond the 20 the API looks back from the last marker.
    assert third.cache_read_input_tokens >= second.prompt_tokens
