"""Every approval answer is a compare-and-set: of two answers racing for one approval, from two
processes, two event loops or two threads, exactly one is taken; the other raises
``ApprovalAlreadyResolvedError``, and the run goes on with the winner's decision."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections import Counter
from typing import Any

from flowai_harness.errors import ApprovalAlreadyResolvedError
from flowai_harness.handle import Runtime
from tests.durable.race_workers import answer_approvals
from tests.engine.durable_helpers import (
    Effects,
    at_tool_gate,
    crash,
    refunds,
    run_until,
    tool_runtime,
)

TRIALS = 50


async def parked_approvals(kv: dict[str, Any], count: int) -> list[str]:
    """Start ``count`` runs, each up to its approval gate, then drop them as a crash would."""
    runtime = tool_runtime(kv, Effects())
    ids = []
    for number in range(count):
        stream = runtime.run_specialist("w", refunds(f"o-{number}"), thread_id=f"t-{number}")
        events = await run_until(stream, at_tool_gate)
        ids.append(next(e["data"]["id"] for e in events if e["type"] == "approval-required"))
        del stream
    await crash(runtime)
    return ids


def outcome_per_approval(results: list[tuple[str, str, str]]) -> dict[str, Counter[str]]:
    """How many answers won and lost, per approval id."""
    per_id: dict[str, Counter[str]] = {}
    for _, approval_id, outcome in results:
        per_id.setdefault(approval_id, Counter())[outcome] += 1
    return per_id


async def stored_feedback(kv: dict[str, Any], approval_id: str) -> Any:
    """The feedback of the decision the store holds for ``approval_id``."""
    runtime = tool_runtime(kv, Effects())
    try:
        stored = await runtime._compiled.kv.get("acme", f"approval:{approval_id}")
    finally:
        await runtime.aclose()
    assert isinstance(stored, dict)
    return stored["status"]["decision"]["feedback"]


async def test_two_processes_answering_one_approval_exactly_one_wins(
    shared_kv: dict[str, Any],
) -> None:
    ids = await parked_approvals(shared_kv, TRIALS)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=answer_approvals, args=(shared_kv, ids, barrier, results, name))
        for name in ("p1", "p2")
    ]
    for worker in workers:
        worker.start()
    collected = [await asyncio.to_thread(results.get, True, 120) for _ in range(2 * TRIALS)]
    for worker in workers:
        await asyncio.to_thread(worker.join, 60)
        assert worker.exitcode == 0
    per_id = outcome_per_approval(collected)
    assert sorted(per_id) == sorted(ids)
    assert all(counts == Counter(won=1, lost=1) for counts in per_id.values()), per_id
    winners = {approval_id: name for name, approval_id, o in collected if o == "won"}
    for approval_id in ids[:5]:
        assert await stored_feedback(shared_kv, approval_id) == winners[approval_id]


def race_on_threads(answerers: list[Runtime], approval_id: str) -> list[tuple[str, str, str]]:
    """Each runtime answers ``approval_id`` from its own thread and event loop at once."""
    barrier = threading.Barrier(len(answerers))
    results: list[tuple[str, str, str]] = []

    def answer(runtime: Runtime, name: str) -> None:
        async def main() -> None:
            barrier.wait(30)
            try:
                await runtime.respond_to_approval(approval_id, "approve", feedback=name)
            except ApprovalAlreadyResolvedError:
                results.append((name, approval_id, "lost"))
            else:
                results.append((name, approval_id, "won"))

        asyncio.run(main())

    threads = [
        threading.Thread(target=answer, args=(runtime, f"r{n}"))
        for n, runtime in enumerate(answerers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


async def test_two_runtimes_on_their_own_event_loops_answering_one_approval_exactly_one_wins(
    durable_kv: dict[str, Any],
) -> None:
    ids = await parked_approvals(durable_kv, TRIALS)
    answerers = [tool_runtime(durable_kv, Effects()) for _ in range(2)]
    results = []
    for approval_id in ids:
        results.extend(await asyncio.to_thread(race_on_threads, answerers, approval_id))
    per_id = outcome_per_approval(results)
    assert all(counts == Counter(won=1, lost=1) for counts in per_id.values()), per_id
    assert len(per_id) == TRIALS
    # The runtimes' stores were opened on the threads' loops, which are gone: nothing to close.


async def race_a_waiting_gate(runtime: Runtime, other: Runtime | None) -> tuple[list[Any], str]:
    """A run of ``runtime`` waits at its gate; its own runtime and ``other`` (or a second
    thread of the same runtime) answer at once. Return the answers and the decision applied."""
    stream = runtime.run_specialist("w", refunds("o-1"), thread_id="t-live")
    events = await run_until(stream, at_tool_gate)
    approval_id = next(e["data"]["id"] for e in events if e["type"] == "approval-required")
    results = await asyncio.to_thread(race_on_threads, [runtime, other or runtime], approval_id)
    async for event in stream:
        if event["type"] == "approval-decision":
            applied = event["data"]["feedback"]
            break
    else:
        raise AssertionError("the run never applied a decision")
    await stream.aclose()
    return results, applied


async def test_a_waiting_gate_answered_at_once_here_and_elsewhere_takes_exactly_one(
    durable_kv: dict[str, Any],
) -> None:
    for _ in range(10):
        local = tool_runtime(durable_kv, Effects())
        other = tool_runtime(durable_kv, Effects())
        results, applied = await race_a_waiting_gate(local, other)
        assert sorted(o for _, _, o in results) == ["lost", "won"], results
        winner = next(name for name, _, o in results if o == "won")
        assert applied == winner
        await local.aclose()


async def test_two_threads_answering_one_in_memory_approval_exactly_one_wins() -> None:
    for _ in range(TRIALS):
        runtime = tool_runtime(None, Effects())
        results, applied = await race_a_waiting_gate(runtime, None)
        assert sorted(o for _, _, o in results) == ["lost", "won"], results
        assert applied == next(name for name, _, o in results if o == "won")
