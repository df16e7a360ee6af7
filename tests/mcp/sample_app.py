"""A runtime served by the MCP tests (in process, and through the CLI in a subprocess)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)

ADD_SCHEMA = {
    "type": "object",
    "properties": {
        "a": {"type": "integer", "description": "First addend."},
        "b": {"type": "integer", "description": "Second addend."},
    },
    "required": ["a", "b"],
    "additionalProperties": False,
}
EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def _add(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sum": args["a"] + args["b"], "toolUseId": ctx.tool_use_id}


def _echo(args: dict[str, Any], ctx: Any) -> str:
    return str(args.get("text", ""))


def _numbers(args: dict[str, Any], ctx: Any) -> list[int]:
    return [1, 2, 3]


def _boom(args: dict[str, Any], ctx: Any) -> None:
    raise RuntimeError("the warehouse is on fire")


def _gated(args: dict[str, Any], ctx: Any) -> str:
    return "the gated tool ran"


def _allowed_by_predicate(args: dict[str, Any], ctx: Any) -> str:
    return "the predicate let this through"


async def _slow(args: dict[str, Any], ctx: Any) -> str:
    await asyncio.sleep(float(args.get("seconds", 5)))
    return "done"


def _greeting(args: dict[str, Any], ctx: Any) -> str:
    return f"{ctx.greeting}, {args['name']}"


def _cwd(args: dict[str, Any], ctx: Any) -> str:
    return os.getcwd()


add = define_tool("add", ADD_SCHEMA, "Add two integers.").bind(_add)
echo = define_tool(
    "echo", {"type": "object", "properties": {"text": {"type": "string"}}}, "Echo text."
).bind(_echo)
numbers = define_tool("numbers", EMPTY_SCHEMA, "Return a list of numbers.").bind(_numbers)
boom = define_tool("boom", EMPTY_SCHEMA, "Always fails.").bind(_boom)
gated = define_tool("gated", EMPTY_SCHEMA, "Needs a human approval.", approval="always").bind(
    _gated
)
relaxed = define_tool(
    "relaxed",
    EMPTY_SCHEMA,
    "Gated by a predicate that says no.",
    approval=lambda args, ctx: False,
).bind(_allowed_by_predicate)
slow = define_tool(
    "slow", {"type": "object", "properties": {"seconds": {"type": "number"}}}, "Sleeps."
).bind(_slow)
greet = define_tool(
    "greet",
    {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    "Greets using a service.",
).bind(_greeting)

TOOL_NAMES = ["add", "echo", "numbers", "boom", "gated", "relaxed", "slow", "greet"]


def build_runtime() -> Any:
    """The served runtime: specialist ``tools`` with every sample tool, behind a coordinator."""
    specialist = define_specialist(
        "tools",
        model="claude-haiku-4-5",
        prompt="You run tools.",
        tools=[add, echo, numbers, boom, gated, relaxed, slow, greet],
    )
    coordinator = define_coordinator(
        "front", model="claude-haiku-4-5", prompt="Route.", routes=["tools"]
    )
    spec = define_runtime(define_tenant("acme", "v1"), agents=[coordinator, specialist])
    return create_runtime(spec, services={"greeting": "Hello"})


runtime = build_runtime()
# Served over stdio by the CLI tests: output while the target loads must not reach the wire.
print("sample_app loaded")
not_a_runtime = {"serve": "nothing"}


def broken_factory() -> Any:
    raise RuntimeError("factory exploded")


class Holder:
    """Lets tests reach a runtime through a dotted path."""

    inner = runtime
