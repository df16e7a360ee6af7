"""The worker process of the chaos suite (``test_chaos_fleet.py``): runs its share of jobs on
a store shared with the other workers, answers approvals of any run, recovers runs of dead
workers, and kills (SIGKILL) or freezes (SIGSTOP) itself at random hook points.

A *job* is one query on the coordinator ``c`` of a thread: either ``tools`` (the coordinator
calls specialist ``w``, whose three model turns call the tools ``step``, ``step``; the gated
``gated``; ``step``) or ``plan`` (the coordinator's first turn has the planner store plan
``plan-<job>``, its second has the executor run it, behind a plan approval every worker races
to answer). Prompts are JSON ``{"job", "turns": [[[tool, args], ...], ...]}`` read by
:class:`ChaosModel`, an offline model client that plays turn ``n`` of its prompt as model turn
``n``.

Hook points, each firing with probability ``rate`` until the file ``calm`` exists: ``stream``
(in the model client before each part: mid-turn while streaming), ``tool`` (inside a tool,
after its effect began), ``dispatch`` (inside the plan dispatcher, after its effect), ``gate``
(in the consumer, on an ``approval-required`` event). A firing hook SIGKILLs the process, or
(one time in three) SIGSTOPs it: the test sends SIGCONT once the leases have passed, so the
worker wakes up as a stale owner.

Everything a tool or the dispatcher does is one JSON line appended (``O_APPEND``) to the
effects file; every event a client sees goes, as it arrives, to its transcript file
``transcripts/<job>.<pid>.<n>.jsonl`` whose first line names the run.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
    define_specialist,
    define_tool,
)
from flowai_harness.errors import ApprovalError
from flowai_harness.handle import Runtime
from flowai_harness.ports import ModelFinish, ModelPart, ModelRequest, ModelText, ModelToolCall
from tests.engine.durable_helpers import MODEL, TENANT
from tests.engine.plan_helpers import ONE_ACTION, PROMO

__all__ = [
    "ChaosModel",
    "chaos_worker",
    "die_after_memory",
    "job_prompt",
    "make_jobs",
    "note",
    "quiet_runtime",
    "script",
]

HOOK_POINTS = ("stream", "tool", "dispatch", "gate")


def make_jobs(count: int, slots: int) -> list[dict[str, Any]]:
    """``count`` jobs over ``count // 4`` threads, each thread's jobs spread over the slots
    (so queries on one thread come from different processes); every third job is a plan."""
    threads = max(1, count // 4)
    return [
        {
            "job": f"j{number:03d}",
            "thread": f"t{number % threads:03d}",
            "kind": "plan" if number % 3 == 2 else "tools",
            "slot": (number // threads) % slots,
        }
        for number in range(count)
    ]


def script(job: str, *turns: list[tuple[str, Any]]) -> str:
    return json.dumps({"job": job, "turns": [[[name, args] for name, args in t] for t in turns]})


def job_prompt(job: dict[str, Any]) -> str:
    """The coordinator prompt of ``job`` (see the module docstring)."""
    name, thread = job["job"], job["thread"]
    if job["kind"] == "plan":
        plan_id = f"plan-{name}"
        store = script(
            name, [("storePlan", {"specName": "Promo", "planId": plan_id, "body": ONE_ACTION})]
        )
        run = script(name, [("executePlan", {"planId": plan_id})])
        return script(
            name,
            [("call_agent", {"agent": "planner", "prompt": store})],
            [("call_agent", {"agent": "executor", "prompt": run})],
        )

    def call(tool: str, turn: int, index: int) -> tuple[str, Any]:
        return (tool, {"key": f"{name}/w/{turn}/{index}", "thread": thread})

    work = script(
        name, [call("step", 0, 0), call("step", 0, 1)], [call("gated", 1, 0)], [call("step", 2, 0)]
    )
    return script(name, [("call_agent", {"agent": "w", "prompt": work})])


def note(effects: str, **fields: Any) -> None:
    """Append one JSON line to ``effects`` with one ``O_APPEND`` write (atomic across
    processes for lines this short)."""
    line = (json.dumps({**fields, "pid": os.getpid(), "t": time.time()}) + "\n").encode()
    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class _Chaos:
    """The hook points of one worker process."""

    def __init__(self, root: Path, rate: float, seed: int) -> None:
        self.effects = str(root / "effects.jsonl")
        self.calm = root / "calm"
        self.rate = rate
        self.random = random.Random(seed)

    def hook(self, point: str) -> None:
        if self.rate <= 0 or self.calm.exists() or self.random.random() >= self.rate:
            return
        if self.random.random() < 1 / 3:
            note(self.effects, ev="stop", point=point)
            os.kill(os.getpid(), signal.SIGSTOP)
        else:
            note(self.effects, ev="kill", point=point)
            os.kill(os.getpid(), signal.SIGKILL)


class ChaosModel:
    """An offline model client playing the turns written in the prompt (module docstring),
    with the ``stream`` hook before each part it yields."""

    live = False

    def __init__(self, chaos: _Chaos) -> None:
        self.chaos = chaos

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Yield the tool calls of turn ``request.turn``; finish with ``tool-calls`` while
        turns remain, else with a text naming the job."""
        data = json.loads(request.prompt)
        turns, index = data["turns"], request.turn - 1
        for number, (name, args) in enumerate(turns[index] if index < len(turns) else []):
            self.chaos.hook("stream")
            yield ModelToolCall(f"chaos-{request.turn}-{number}", name, args)
        self.chaos.hook("stream")
        if index + 1 < len(turns):
            yield ModelFinish("tool-calls")
            return
        yield ModelText(f"done {data['job']}")
        yield ModelFinish("stop")


def _runtime(kv: dict[str, Any], chaos: _Chaos, lease_secs: float) -> Runtime:
    effects = chaos.effects

    def tool(name: str) -> Any:
        def handler(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            fields = {"key": args["key"], "thread": args["thread"], "use": ctx.tool_use_id}
            note(effects, ev="start", tool=name, **fields)
            chaos.hook("tool")
            note(effects, ev="end", tool=name, **fields)
            return {name: args["key"]}

        return handler

    def dispatcher(actions: list[Any], ctx: Any, idempotency_key: str) -> dict[str, Any]:
        note(effects, ev="dispatch", plan=idempotency_key.split(":")[0], key=idempotency_key)
        chaos.hook("dispatch")
        return {"entitiesAffected": len(actions), "summary": "applied"}

    tools = [
        define_tool("step", {"key": str, "thread": str}, approval="never")(tool("step")),
        define_tool("gated", {"key": str, "thread": str}, approval="always")(tool("gated")),
    ]
    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator(
                "c", model=MODEL, prompt="route", routes=["w", "planner", "executor"]
            ),
            define_specialist("w", model=MODEL, prompt="work", tools=tools),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO),
            define_executor(
                "executor", model=MODEL, prompt="execute", plan=PROMO, approval={"plans": "always"}
            ),
        ],
    )
    return create_runtime(
        spec,
        interpreter=ChaosModel(chaos),
        action_dispatcher=dispatcher,
        data_environment={"kv": kv},
        durability={"lease_secs": lease_secs, "recover": True, "thread_policy": "enqueue"},
    )


async def _submitted(runtime: Runtime, root: Path, job: str) -> bool:
    """Whether an earlier process started ``job`` far enough that its run has a record."""
    for path in glob.glob(str(root / "transcripts" / f"{job}.*.jsonl")):
        with open(path, encoding="utf-8") as file:
            head = file.readline()
        if head and await runtime.get_run(json.loads(head)["runId"]) is not None:
            return True
    return False


async def _drive(runtime: Runtime, chaos: _Chaos, root: Path, job: dict[str, Any]) -> None:
    stream = runtime.query(job_prompt(job), thread_id=job["thread"])
    attempt = len(glob.glob(str(root / "transcripts" / f"{job['job']}.{os.getpid()}.*")))
    path = root / "transcripts" / f"{job['job']}.{os.getpid()}.{attempt}.jsonl"
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps({"runId": stream.run_id, "job": job["job"]}) + "\n")
        file.flush()
        async for event in stream:
            file.write(json.dumps(event) + "\n")
            file.flush()
            if event.get("type") == "approval-required":
                chaos.hook("gate")


async def _answer(runtime: Runtime, chaos: _Chaos) -> None:
    """Approve, with probability one half each, the approvals pending in the store."""
    for pending in await runtime.list_pending_approvals():
        if chaos.random.random() < 0.5:
            try:
                await runtime.respond_to_approval(pending["id"], "approve")
            except ApprovalError:
                pass  # another worker answered first: the race this suite wants


def chaos_worker(
    kv: dict[str, Any],
    root: str,
    jobs: list[dict[str, Any]],
    rate: float,
    seed: int,
    lease_secs: float,
) -> None:
    """Start every job of ``jobs`` whose run has no record yet, then answer approvals and
    recover runs until the file ``<root>/stop`` exists."""
    base = Path(root)
    chaos = _Chaos(base, rate, seed)

    async def main() -> None:
        runtime = _runtime(kv, chaos, lease_secs)
        drivers = [
            asyncio.ensure_future(_drive(runtime, chaos, base, job))
            for job in jobs
            if not await _submitted(runtime, base, job["job"])
        ]
        last_sweep = 0.0
        while not (base / "stop").exists():
            if time.monotonic() - last_sweep > lease_secs / 2:
                await runtime.recover_runs()
                last_sweep = time.monotonic()
            await _answer(runtime, chaos)
            await asyncio.sleep(0.05)
        for driver in drivers:
            driver.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)
        await runtime.aclose()

    asyncio.run(main())


def die_after_memory(kv: dict[str, Any], root: str, thread: str, prompt: str) -> None:
    """Run ``prompt`` on the coordinator of ``thread`` and SIGKILL this process right after
    the coordinator's turn is appended to its memory (the memory record and the journal's
    note of it are one write: the recovered run must not append the turn again)."""
    from flowai_harness.engine import run as engine_run

    append = vars(engine_run)["append_turn"]

    async def append_then_die(*args: Any, **kwargs: Any) -> None:
        await append(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    vars(engine_run)["append_turn"] = append_then_die
    chaos = _Chaos(Path(root), 0.0, 0)

    async def main() -> None:
        runtime = _runtime(kv, chaos, 0.5)
        async for _ in runtime.query(prompt, thread_id=thread):
            pass

    asyncio.run(main())


def quiet_runtime(kv: dict[str, Any], root: str, lease_secs: float) -> Runtime:
    """A worker's runtime whose hooks never fire (for the test process itself)."""
    return _runtime(kv, _Chaos(Path(root), 0.0, 0), lease_secs)
