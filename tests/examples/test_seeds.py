"""The documentation pages the project started from: their examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowai_harness import (
    ToolSpec,
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_reference,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.testing import collect_events

SEEDS = Path(__file__).resolve().parent / "seed_pages"
REPO = Path(__file__).resolve().parents[2]


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _seed(name_part: str) -> str:
    matches = sorted(SEEDS.glob("*.txt"))
    for path in matches:
        text = path.read_text()
        if name_part in text:
            return text
    raise AssertionError(f"seed page containing {name_part!r} not found under {SEEDS}")


def test_hello_world_page_runs_as_written_and_prints_the_mock_text() -> None:
    page = _seed("# flowai-harness")
    blocks = [b for b in _python_blocks(page) if "asyncio.run(main())" in b]
    assert blocks, "the landing page has a runnable hello-world block"
    result = subprocess.run(
        [sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "hello from the Rust runtime" in result.stdout
    assert "'type': 'tool-agent'" in lines[0] and "'state': 'call'" in lines[0]
    assert "'type': 'tool-agent'" in lines[-1] and "'state': 'result'" in lines[-1]


def _page_agents() -> list:
    plan = define_plan("Pricing", {"type": "object", "properties": {"actions": {"type": "array"}}})
    specialist = define_specialist(
        "product_insights", model="claude-haiku-4-5", prompt="Answer product questions."
    )
    return [
        define_coordinator(
            "coordinator",
            model="claude-sonnet-4-6",
            routes=["planner", "executor", "product_insights"],
            prompt="Route.",
        ),
        define_planner("planner", model="claude-sonnet-4-6", plan=plan, prompt="Plan."),
        define_executor("executor", model="claude-sonnet-4-6", plan=plan, prompt="Execute."),
        specialist,
    ]


ProductSet = define_reference(
    "ProductSet",
    {"skus": list[str]},
    ttl_ms=60_000,
    glimpse=lambda value: {"count": len(value["skus"])},
)


async def test_runtime_page_snippets_run_as_written() -> None:
    tenant = define_tenant("acme", "v1")
    runtime_spec = define_runtime(
        tenant=tenant,
        agents=_page_agents(),
        references=[ProductSet],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )

    # testing interpreter, query and the event stream
    runtime = create_runtime(runtime_spec, testing={"mock_response": "hello from the Rust runtime"})
    events = await collect_events(runtime.query("Say hello", thread_id="thread-1"))
    assert any("hello from the Rust runtime" in e.get("text", "") for e in events)

    # testing + a non-default interpreter is refused
    with pytest.raises(ValueError, match="testing"):
        create_runtime(runtime_spec, testing={"mock_response": "x"}, interpreter="scripted")

    # services reach tool handlers three ways
    product_catalog_client = object()
    seen: list[bool] = []

    @define_tool("probe", {"q": str})
    def probe(args: dict, ctx) -> dict:
        seen.append(
            ctx.product_catalog
            is ctx["product_catalog"]
            is ctx.services["product_catalog"]
            is product_catalog_client
        )
        return {"ok": True}

    assert isinstance(probe, ToolSpec)
    tooled = define_runtime(
        tenant=tenant,
        agents=[define_specialist("prober", model="claude-haiku-4-5", prompt="p", tools=[probe])],
    )
    runtime = create_runtime(
        tooled, services={"product_catalog": product_catalog_client}, interpreter="scripted"
    )
    await collect_events(
        runtime.run_specialist("prober", '{"tool": "probe", "args": {"q": "x"}}', "thread-1")
    )
    assert seen == [True]
    for reserved in ("tool_use_id", "services", "references"):
        with pytest.raises(ValueError, match="reserved"):
            create_runtime(tooled, services={reserved: object()})

    # reference APIs
    runtime = create_runtime(runtime_spec)
    payload = {"skus": ["A-1", "B-2"]}
    ref = await runtime.create_reference(ProductSet, payload)
    assert await runtime.resolve_reference(ref) == payload
    assert await runtime.reference_glimpse(ref) == {"count": 2}
    plain = await runtime.create_reference("ProductSet", payload)
    assert plain["glimpse"] == {} and plain["id"] == ref["id"]

    # a specialist dispatched directly
    events = await collect_events(
        runtime.run_specialist(
            "product_insights",
            "What's the average price of our enterprise SKUs?",
            thread_id="thread-1",
        )
    )
    assert events[0]["agentName"] == "product_insights"
    assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"


def test_runtime_page_mcp_snippet_runs_as_written() -> None:
    from flowai_harness import mcp

    @define_tool("search_products", {"query": str}, description="Search the product catalog.")
    def search_products(args: dict, ctx) -> dict:
        return {"items": []}

    runtime = mcp.create_mcp_runtime(tools=[search_products])
    tools = mcp.list_tools(runtime, agent="mcp")
    assert [t["name"] for t in tools] == ["search_products"]
    assert tools[0]["inputSchema"]["required"] == ["query"]
    assert runtime.resource_id == "flowai-mcp"
