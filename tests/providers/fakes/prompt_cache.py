"""Prompt-cache accounting for the fake Anthropic API, computed from the request's markers.

Anthropic caches prompt *prefixes*, in the order tools, then system, then messages. A block
carrying ``cache_control`` is a breakpoint: the prefix ending with it is written to the cache.
A later request reads from the cache the longest of its own prefixes that was written before,
looking for one at each of its breakpoints and at up to ``lookback`` block boundaries before
each (the API checks about 20). Prefixes shorter than ``min_cacheable_tokens`` are never cached
(1,024 tokens for the Sonnet models). The usage of one request then splits into:

* ``cache_read_input_tokens``: the tokens of the longest prefix found in the cache;
* ``cache_creation_input_tokens``: from there to the request's last breakpoint, now written;
* ``input_tokens``: the rest, after the last breakpoint.

Tokens are approximated as ``ceil(chars / 4)`` of each block's compact JSON (``cache_control``
left out, keys sorted), the same rule for every request; the absolute counts differ from the
real tokenizer, the ratios between requests are what matter. Entries never expire here (the
API keeps them 5 minutes, refreshed on every hit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: the API checks for hits at about this many block boundaries before each breakpoint
LOOKBACK_BLOCKS = 20
#: the shortest cacheable prefix of the Sonnet models, in tokens
MIN_CACHEABLE_TOKENS = 1024


def approx_tokens(text: str) -> int:
    """The token approximation: one token per 4 characters, rounded up."""
    return -(-len(text) // 4)


@dataclass(frozen=True)
class CacheUsage:
    """The prompt side of one request's usage, as the Messages API reports it."""

    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int

    @property
    def prompt_tokens(self) -> int:
        """Every prompt token of the request, read from the cache or not."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


@dataclass(frozen=True)
class _Boundary:
    """The prefix ending after one block: its digest, its size, whether the block is marked."""

    digest: str
    tokens: int
    marked: bool


def prompt_blocks(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The request's blocks in cache order, each with the section or role it belongs to."""
    for tool in body.get("tools") or ():
        yield "tools", tool
    system = body.get("system")
    if isinstance(system, str):
        yield "system", {"type": "text", "text": system}
    else:
        for block in system or ():
            yield "system", block
    for message in body.get("messages") or ():
        content = message["content"]
        if isinstance(content, str):
            yield message["role"], {"type": "text", "text": content}
        else:
            for block in content:
                yield message["role"], block


def _boundaries(body: dict[str, Any]) -> list[_Boundary]:
    running = hashlib.sha256()
    tokens = 0
    out: list[_Boundary] = []
    for section, block in prompt_blocks(body):
        plain = {key: value for key, value in block.items() if key != "cache_control"}
        text = json.dumps(plain, sort_keys=True, separators=(",", ":"))
        running.update(f"{section}\x00{text}\x00".encode())
        tokens += approx_tokens(text)
        out.append(_Boundary(running.copy().hexdigest(), tokens, "cache_control" in block))
    return out


class PromptCache:
    """The cache of one fake server: which marked prefixes earlier requests wrote."""

    def __init__(
        self,
        *,
        lookback: int = LOOKBACK_BLOCKS,
        min_cacheable_tokens: int = MIN_CACHEABLE_TOKENS,
    ) -> None:
        self.lookback = lookback
        self.min_cacheable_tokens = min_cacheable_tokens
        self._written: set[str] = set()
        #: the usage of every request accounted so far, in order
        self.history: list[CacheUsage] = []

    def account(self, body: dict[str, Any]) -> CacheUsage:
        """Split the prompt of ``body`` into cache reads, cache writes and fresh input."""
        bounds = _boundaries(body)
        total = bounds[-1].tokens if bounds else 0
        markers = [index for index, bound in enumerate(bounds) if bound.marked]
        read = 0
        for marker in markers:
            for index in range(marker, max(-1, marker - self.lookback - 1), -1):
                if bounds[index].digest in self._written:
                    read = max(read, bounds[index].tokens)
                    break
        written_to = read
        for marker in markers:
            if bounds[marker].tokens >= self.min_cacheable_tokens:
                self._written.add(bounds[marker].digest)
                written_to = max(written_to, bounds[marker].tokens)
        usage = CacheUsage(total - written_to, read, written_to - read)
        self.history.append(usage)
        return usage
