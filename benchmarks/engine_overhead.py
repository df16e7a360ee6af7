"""Engine overhead, measured side by side in one run and reported as ratios.

(a) Per-turn cost of the framework: a fake model makes K tool calls per turn for T turns, run
    through ``flowai_harness`` and through a bare hand-written asyncio agent loop that does the
    same calls (same fake model, same tool, events pushed to a queue read by the consumer).
    Targets: framework overhead per turn <= 150 us (median), framework / bare <= 3x.
(b) 10,000 concurrent queries, each parked on a fake model until all are live: peak RSS per
    live session <= 30 KiB, and every query completes.
(c) A fresh process doing the typical import + ``create_runtime`` + the first event of a
    testing-mode query, against the pydantic floor (a script defining one model):
    <= 2x the floor (median of 15 fresh interpreters each).
(d) The approval path: the same turns as (a), with every tool behind a dynamic approval
    predicate that approves automatically (returns False: no approval needed), so the gate's
    rule evaluation runs on every call. Reported as extra cost per turn.
(e) Concurrent tool calls: a live fake model (whose calls of a turn run at the same time) with
    ``max_parallel_tool_calls`` 8 and 1: the wall time of one turn of three tools that each sleep
    0.2 s, and the CPU time per turn of (a)'s trivial calls. Reported, no target.

Usage: ``python benchmarks/engine_overhead.py [--quick] [--json] [--no-check]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.ports import ModelFinish, ModelRequest, ModelText, ModelToolCall

K_CALLS = 3


# ----------------------------------------------------------------------------- shared fakes


async def tool_body(args: dict[str, Any], ctx: Any = None) -> dict[str, Any]:
    """The tool both loops call: trivial work, so the loop cost dominates."""
    return {"sku": args["sku"], "price": 4.5}


class TurnsModel:
    """Fake model: ``turns`` turns of K tool calls, then a final text."""

    live = False

    def __init__(self, turns: int) -> None:
        self.turns = turns

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        if request.turn <= self.turns:
            for index in range(K_CALLS):
                yield ModelToolCall(f"c{request.turn}-{index}", "lookup", {"sku": f"A-{index}"})
            yield ModelFinish("tool-calls")
        else:
            yield ModelText("done")
            yield ModelFinish("stop")


def _runtime(turns: int, *, gated: bool = False, model: Any = None) -> Any:
    approval: Any = (lambda args, ctx: False) if gated else "never"
    tool = define_tool("lookup", {"sku": str}, approval=approval)(tool_body)
    agent = define_specialist(
        "bench", model="claude-haiku-4-5", prompt="bench", tools=[tool], max_turns=turns + 1
    )
    spec = define_runtime(define_tenant("bench", "v1"), agents=[agent])
    return create_runtime(spec, interpreter=model or TurnsModel(turns))


async def framework_run(runtime: Any) -> int:
    count = 0
    async for _ in runtime.run_specialist("bench", "go", thread_id="t"):
        count += 1
    return count


async def bare_run(turns: int) -> int:
    """The same work without the framework: model -> tool -> event queue -> consumer."""
    model = TurnsModel(turns)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(256)

    async def agent_loop() -> None:
        request = ModelRequest("bench", "m", "p", "", "go", [], [], 0, turns + 1)
        await queue.put({"type": "tool-agent", "state": "call"})
        while True:
            request.turn += 1
            await queue.put({"type": "step-start"})
            more = False
            async for part in model.stream_turn(request):
                if isinstance(part, ModelToolCall):
                    await queue.put(
                        {
                            "type": "tool-invocation",
                            "state": "call",
                            "toolInvocationId": part.id,
                            "args": part.args,
                        }
                    )
                    result = await tool_body(part.args)
                    await queue.put(
                        {
                            "type": "tool-invocation",
                            "state": "result",
                            "toolInvocationId": part.id,
                            "result": result,
                        }
                    )
                elif isinstance(part, ModelText):
                    await queue.put({"type": "text", "text": part.text})
                elif isinstance(part, ModelFinish):
                    more = part.reason == "tool-calls"
            if not more:
                break
        await queue.put({"type": "finish"})
        await queue.put(None)

    task = asyncio.get_running_loop().create_task(agent_loop())
    count = 0
    while await queue.get() is not None:
        count += 1
    await task
    return count


async def per_turn(turns: int, repeats: int, runs: int) -> dict[str, float]:
    plain = _runtime(turns)
    gated = _runtime(turns, gated=True)
    await framework_run(plain)  # warm caches (schema validators, imports)
    await framework_run(gated)
    await bare_run(turns)
    samples: dict[str, list[float]] = {"framework": [], "bare": [], "gated": []}
    for _ in range(repeats):
        for name, make in (
            ("framework", lambda: framework_run(plain)),
            ("bare", lambda: bare_run(turns)),
            ("gated", lambda: framework_run(gated)),
        ):
            gc.collect()
            started = time.perf_counter()
            for _ in range(runs):
                await make()
            elapsed = time.perf_counter() - started
            samples[name].append(elapsed / (runs * (turns + 1)) * 1e6)
    out = {name: statistics.median(values) for name, values in samples.items()}
    out["overhead_us"] = out["framework"] - out["bare"]
    out["ratio"] = out["framework"] / out["bare"]
    out["approval_path_us"] = out["gated"] - out["framework"]
    return out


# ----------------------------------------------------------------------------- (e) concurrency


class LiveTurnsModel(TurnsModel):
    """(a)'s fake model, declared live: the engine runs the calls of a turn at the same time."""

    live = True


async def napping_tool(args: dict[str, Any], ctx: Any = None) -> dict[str, Any]:
    await asyncio.sleep(0.2)
    return {"sku": args["sku"]}


def _limited_runtime(limit: int, turns: int, body: Any = tool_body) -> Any:
    tool = define_tool("lookup", {"sku": str})(body)
    agent = define_specialist(
        "bench",
        model="claude-haiku-4-5",
        prompt="bench",
        tools=[tool],
        max_turns=turns + 1,
        max_parallel_tool_calls=limit,
    )
    spec = define_runtime(define_tenant("bench", "v1"), agents=[agent])
    return create_runtime(spec, interpreter=LiveTurnsModel(turns), run_traces=0)


async def concurrency(turns: int, repeats: int, runs: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for limit in (8, 1):
        napping = _limited_runtime(limit, 1, napping_tool)
        started = time.perf_counter()
        await framework_run(napping)
        out[f"three_naps_s_limit_{limit}"] = time.perf_counter() - started
        runtime = _limited_runtime(limit, turns)
        await framework_run(runtime)
        samples = []
        for _ in range(repeats):
            gc.collect()
            cpu = time.process_time()
            for _ in range(runs):
                await framework_run(runtime)
            samples.append((time.process_time() - cpu) / (runs * (turns + 1)) * 1e6)
        out[f"cpu_us_per_turn_limit_{limit}"] = min(samples)
    return out


# ----------------------------------------------------------------------------- (b) memory

MEMORY_SCRIPT = r"""
import asyncio, json, gc, sys
from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness.ports import ModelFinish, ModelText

def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

class ParkedModel:
    live = False
    def __init__(self, n):
        self.release = asyncio.Event(); self.waiting = 0; self.n = n; self.all_live = asyncio.Event()
    async def stream_turn(self, request):
        self.waiting += 1
        if self.waiting == self.n:
            self.all_live.set()
        await self.release.wait()
        yield ModelText("ok")
        yield ModelFinish("stop")

async def main(n):
    model = ParkedModel(n)
    spec = define_runtime(define_tenant("bench", "v1"), agents=[
        define_specialist("s", model="claude-haiku-4-5", prompt="p")])
    runtime = create_runtime(spec, interpreter=model)
    async def one(i):
        count = 0
        async for _ in runtime.run_specialist("s", "hi", thread_id=f"t-{i}"):
            count += 1
        return count
    # warm up one session so lazy imports and caches are not counted per session
    model.n = 1; model.release.set(); await one(-1); model.release.clear(); model.all_live.clear()
    model.waiting = 0; model.n = n
    gc.collect(); base = rss_kib()
    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    await model.all_live.wait()
    gc.collect(); peak = rss_kib()
    model.release.set()
    counts = await asyncio.gather(*tasks)
    print(json.dumps({"sessions": n, "base_kib": base, "peak_kib": peak,
                      "per_session_kib": (peak - base) / n,
                      "completed": sum(1 for c in counts if c == 5)}))

asyncio.run(main(int(sys.argv[1])))
"""


def memory_per_session(sessions: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(sessions)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------- (c) cold start

COLD_SCRIPT = """
import asyncio
from flowai_harness import define_tenant, define_coordinator, define_specialist, define_runtime, create_runtime
s = define_specialist("greeter", model="claude-haiku-4-5", prompt="greet")
c = define_coordinator("c", model="claude-sonnet-4-6", routes=["greeter"], prompt="route")
rt = create_runtime(define_runtime(define_tenant("acme", "v1"), agents=[c, s]), testing={"mock_response": "hi"})
async def first():
    async for event in rt.query("hello", thread_id="t"):
        return event
asyncio.run(first())
"""

FLOOR_SCRIPT = """
from pydantic import BaseModel
class Floor(BaseModel):
    x: int
"""


def cold_start(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"cold": [], "floor": []}
    for _ in range(runs):
        for name, script in (("cold", COLD_SCRIPT), ("floor", FLOOR_SCRIPT)):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", script], check=True)
            samples[name].append((time.perf_counter() - started) * 1000.0)
    cold, floor = statistics.median(samples["cold"]), statistics.median(samples["floor"])
    return {"cold_ms": cold, "floor_ms": floor, "ratio": cold / floor}


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description="engine overhead benchmark")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-check", action="store_true", help="report only, never fail")
    args = parser.parse_args()
    turns, repeats, runs = (5, 3, 20) if args.quick else (10, 7, 100)
    sessions = 1000 if args.quick else 10_000
    cold_runs = 5 if args.quick else 15

    a = asyncio.run(per_turn(turns, repeats, runs))
    b = memory_per_session(sessions)
    c = cold_start(cold_runs)
    e = asyncio.run(concurrency(turns, repeats, runs))
    checks = {
        "overhead_per_turn_le_150us": a["overhead_us"] <= 150.0,
        "framework_le_3x_bare": a["ratio"] <= 3.0,
        "rss_per_session_le_30kib": b["per_session_kib"] <= 30.0,
        "all_sessions_complete": b["completed"] == b["sessions"],
        "cold_start_le_2x_floor": c["ratio"] <= 2.0,
    }
    report = {
        "per_turn": a,
        "memory": b,
        "cold_start": c,
        "concurrency": e,
        "checks": checks,
        "k_calls_per_turn": K_CALLS,
        "turns": turns,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"(a) per turn, {K_CALLS} tool calls, median of {repeats}x{runs} runs of {turns + 1} turns"
        )
        print(f"    framework {a['framework']:8.1f} us   bare loop {a['bare']:8.1f} us")
        print(f"    overhead  {a['overhead_us']:8.1f} us   ratio {a['ratio']:.2f}x")
        print(
            f"(d) approval path (auto-approving predicate per call): "
            f"+{a['approval_path_us']:.1f} us per turn ({a['gated']:.1f} us)"
        )
        print(
            f"(b) {b['sessions']} concurrent sessions: {b['per_session_kib']:.1f} KiB each "
            f"(RSS {b['base_kib']} -> {b['peak_kib']} KiB), completed {b['completed']}"
        )
        print(
            f"(c) cold start to first event {c['cold_ms']:.0f} ms vs pydantic floor "
            f"{c['floor_ms']:.0f} ms: {c['ratio']:.2f}x"
        )
        print(
            f"(e) three 0.2 s tools in one turn: {e['three_naps_s_limit_8']:.3f} s concurrent, "
            f"{e['three_naps_s_limit_1']:.3f} s with max_parallel_tool_calls=1; CPU per turn "
            f"of (a)'s calls from a live model: {e['cpu_us_per_turn_limit_8']:.1f} us concurrent, "
            f"{e['cpu_us_per_turn_limit_1']:.1f} us sequential"
        )
        for name, ok in checks.items():
            print(f"    {'PASS' if ok else 'FAIL'} {name}")
    return 0 if args.no_check or all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
