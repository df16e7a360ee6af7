"""Conversation memory of stateful agents, kept per (tenant, thread, agent) in the KV port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from flowai_harness.ports import KeyValueStore, Message, ToolInteraction

__all__ = ["append_turn", "load_history"]


def _key(thread_id: str, agent: str) -> str:
    # The agent name is escaped so it holds no ":"; the last ":" then always separates it from
    # the thread, and thread "a:b" of agent "c" never shares a key with thread "a" of agent
    # "b:c". Names without "%" or ":" (the usual case) keep the plain layout.
    escaped = agent.replace("%", "%25").replace(":", "%3A")
    return f"agent-memory:{thread_id}:{escaped}"


async def load_history(kv: KeyValueStore, tenant: str, thread_id: str, agent: str) -> list[Message]:
    """Return the stored messages of ``agent`` on ``thread_id`` (oldest first)."""
    stored = await kv.get(tenant, _key(thread_id, agent))
    if not isinstance(stored, dict):
        return []
    return [_message(item) for item in stored.get("messages") or []]


async def append_turn(
    kv: KeyValueStore,
    tenant: str,
    thread_id: str,
    agent: str,
    prompt: str,
    response: str,
    interactions: list[ToolInteraction],
    *,
    record: Callable[[str, Any], Awaitable[None]] | None = None,
) -> None:
    """Append the user prompt and the assistant's answer (with its tool calls) to memory.

    Turns on one thread are serialized by the runtime, so this read-modify-write cannot race.
    With ``record`` (a durable run's journal), the new memory record is handed to it instead
    of being put here: the journal writes it in the same transaction as its note that the
    turn was appended, so a run recovered after a crash never appends the turn twice.
    """
    key = _key(thread_id, agent)
    stored = await kv.get(tenant, key)
    messages: list[Any] = list(stored.get("messages") or []) if isinstance(stored, dict) else []
    messages.append({"role": "user", "content": prompt, "tool_interactions": None})
    messages.append(
        {
            "role": "assistant",
            "content": response,
            "tool_interactions": [i.to_dict() for i in interactions] or None,
        }
    )
    if record is None:
        await kv.put(tenant, key, {"messages": messages})
    else:
        await record(key, {"messages": messages})


def _message(item: dict[str, Any]) -> Message:
    interactions = [
        ToolInteraction(i["callId"], i["toolName"], i.get("arguments"), i.get("result"))
        for i in item.get("tool_interactions") or []
    ]
    if item.get("role") == "assistant":
        return Message("assistant", item.get("content") or "", interactions or None)
    return Message("user", item.get("content") or "", interactions or None)
