"""What every framework's workload shares: the scripted model, the tool, the bare loop, timing.

A workload module defines ``NAME``, ``IMPORT`` (its typical import line), ``version()`` and
``build(calls, latency)``, which returns ``run(session, first) -> final answer``: one agent run
of ``calls`` tool calls then the answer, each model turn waiting ``latency`` seconds; when
``first`` is a list, ``run`` appends ``time.perf_counter()`` on the first streamed event.
``main(workload)`` measures one phase and prints one JSON object:

* ``steps``: per-step cost (one step = one model turn and what follows it), framework and the
  bare asyncio loop interleaved, plus the time to first event;
* ``sessions``: ``--sessions`` concurrent runs at once: wall time and peak RSS growth.

Every run is checked: the tool calls actually executed and the final answers are counted and
reported, so the orchestrator can refuse a run that skipped turns. An audit hook refuses any
network connection that is not to a loopback address, so no framework can reach out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

ANSWER = "All prices looked up."
USER_PROMPT = "Look up the prices."
SYSTEM_PROMPT = "You look up prices with the lookup tool, one SKU per call."

RunFn = Callable[[int, "list[float] | None"], Awaitable[str]]


class Workload(Protocol):
    """The module interface of one framework's workload."""

    NAME: str
    IMPORT: str

    def version(self) -> str: ...

    def build(self, calls: int, latency: float) -> RunFn: ...


class ToolLedger:
    """Counts the tool calls that really ran, across every framework's tool wrapper."""

    executed = 0


def next_call(calls_done: int, calls: int) -> dict[str, Any] | None:
    """The scripted model's decision: the next tool arguments, or None to answer."""
    if calls_done < calls:
        return {"sku": f"A-{calls_done}"}
    return None


async def lookup_price(sku: str) -> dict[str, Any]:
    """The tool body every framework wraps: trivial work, so framework cost dominates."""
    ToolLedger.executed += 1
    return {"sku": sku, "price": 4.5}


async def bare_run(calls: int, latency: float, first: list[float] | None = None) -> str:
    """The same run without a framework: model -> tool -> event queue -> consumer."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(256)
    messages: list[dict[str, Any]] = [{"role": "user", "content": USER_PROMPT}]

    async def model() -> dict[str, Any]:
        if latency:
            await asyncio.sleep(latency)
        done = sum(1 for m in messages if m["role"] == "tool")
        args = next_call(done, calls)
        if args is None:
            return {"role": "assistant", "content": ANSWER}
        return {"role": "assistant", "call": {"id": f"call-{done}", "args": args}}

    async def agent_loop() -> None:
        await queue.put({"type": "start"})
        while True:
            reply = await model()
            messages.append(reply)
            call = reply.get("call")
            if call is None:
                await queue.put({"type": "text", "text": reply["content"]})
                break
            await queue.put({"type": "tool-call", "id": call["id"], "args": call["args"]})
            result = await lookup_price(**call["args"])
            messages.append({"role": "tool", "id": call["id"], "content": result})
            await queue.put({"type": "tool-result", "id": call["id"], "result": result})
        await queue.put(None)

    task = asyncio.get_running_loop().create_task(agent_loop())
    text = ""
    while (event := await queue.get()) is not None:
        if first is not None and not first:
            first.append(time.perf_counter())
        if event["type"] == "text":
            text += event["text"]
    await task
    return text


# ----------------------------------------------------------------------------- phases


def _ledger_check(expected_calls: int, answers: list[str], before: int) -> dict[str, Any]:
    return {
        "toolCalls": ToolLedger.executed - before,
        "expectedToolCalls": expected_calls,
        "answered": sum(1 for a in answers if a.strip() == ANSWER),
        "runs": len(answers),
    }


async def _per_step(
    steps: int, runs: list[Awaitable[str]], answers: list[str]
) -> tuple[float, float]:
    """CPU and wall milliseconds per step of ``runs`` awaited one after the other.

    The overhead figures use CPU time: on a machine shared with other work, wall time also
    counts the time the process waited for a core, which says nothing about the framework.
    """
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for pending in runs:
        answers.append(await pending)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / steps, wall * 1000 / steps


async def steps_phase(
    build: Callable[[int, float], RunFn], args: argparse.Namespace
) -> dict[str, Any]:
    """Per-step cost of the framework against the bare loop, interleaved, then first event."""
    calls, runs, repeats = args.calls, args.runs, args.repeats
    run = build(calls, 0.0)
    await run(-1, None)  # warm caches and lazy imports
    await bare_run(calls, 0.0)
    steps = calls + 1
    before = ToolLedger.executed
    answers: list[str] = []
    framework: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    for repeat in range(repeats):
        framework.append(
            await _per_step(
                runs * steps, [run(repeat * runs + i, None) for i in range(runs)], answers
            )
        )
        bare_before = ToolLedger.executed
        bare.append(await _per_step(runs * steps, [bare_run(calls, 0.0) for _ in range(runs)], []))
        ToolLedger.executed = bare_before  # the bare loop's calls are not the framework's
    overhead = [f[0] - b[0] for f, b in zip(framework, bare, strict=True)]
    first_ms: list[float] = []
    for index in range(args.first_runs):
        mark: list[float] = []
        started = time.perf_counter()
        answers.append(await run(repeats * runs + index, mark))
        first_ms.append((mark[0] - started) * 1000 if mark else float("nan"))
    return {
        "stepsPerRun": steps,
        "frameworkStepMs": statistics.median(cpu for cpu, _ in framework),
        "bareStepMs": statistics.median(cpu for cpu, _ in bare),
        "frameworkStepWallMs": statistics.median(wall for _, wall in framework),
        "bareStepWallMs": statistics.median(wall for _, wall in bare),
        "overheadStepMs": {
            "median": statistics.median(overhead),
            "min": min(overhead),
            "max": max(overhead),
            "samples": overhead,
        },
        "firstEventMs": statistics.median(first_ms),
        **_ledger_check(calls * (repeats * runs + args.first_runs), answers, before),
    }


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak_rss() -> bool:
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS (Linux 4.0+), so the
    # peak read afterwards belongs to the concurrent run alone, not to the imports before it.
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


async def sessions_phase(
    build: Callable[[int, float], RunFn], args: argparse.Namespace
) -> dict[str, Any]:
    """``--sessions`` runs at once, each model turn waiting ``--latency`` seconds."""
    run = build(args.calls, args.latency)
    await run(-1, None)
    gc.collect()
    base = _rss_kib()
    exact_peak = _reset_peak_rss()
    before = ToolLedger.executed
    cpu_started, started = time.process_time(), time.perf_counter()
    answers = await asyncio.gather(*(run(i, None) for i in range(args.sessions)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak = _rss_kib("VmHWM")
    return {
        "sessions": args.sessions,
        "latencyMs": args.latency * 1000,
        "wallSecs": wall,
        "cpuSecs": cpu,
        "baseRssKiB": base,
        "peakRssKiB": peak,
        "peakResetExact": exact_peak,
        "growthMiB": (peak - base) / 1024,
        "perSessionKiB": (peak - base) / args.sessions,
        **_ledger_check(args.calls * args.sessions, list(answers), before),
    }


# ----------------------------------------------------------------------------- guard and main


def _loopback_only(event: str, payload: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    address = payload[1]
    if not isinstance(address, tuple):
        return  # a Unix socket path
    host = str(address[0])
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = host == "localhost"
    if not allowed:
        raise PermissionError(f"benchmark workloads may only connect to loopback, not {host}")


def main(workload: Workload) -> None:
    """Parse the phase arguments, run it, print one JSON object on stdout."""
    sys.addaudithook(_loopback_only)
    parser = argparse.ArgumentParser(description=f"{workload.NAME} workload")
    parser.add_argument("--phase", choices=("steps", "sessions"), required=True)
    parser.add_argument("--calls", type=int, default=20, help="tool calls per run")
    parser.add_argument("--runs", type=int, default=10, help="runs per timed sample")
    parser.add_argument("--repeats", type=int, default=7, help="timed samples")
    parser.add_argument("--first-runs", type=int, default=20, help="runs timed to first event")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.01, help="model latency, seconds")
    args = parser.parse_args()
    phase = steps_phase if args.phase == "steps" else sessions_phase
    result = asyncio.run(phase(workload.build, args))
    result.update(framework=workload.NAME, version=workload.version(), phase=args.phase)
    print(json.dumps(result))
