"""Durable runs on each store, side by side in one run: runs per second, per-turn latency and
(Postgres) statements and transactions per model turn.

Each run is one specialist doing ``TURNS`` model turns of ``CALLS`` Python tool calls, then a
final answer (``TURNS + 1`` model turns), on a fake model, so the store is what is measured.

* ``1x8``: one process keeps 8 runs in flight.
* ``4x16``: four processes keep 16 runs in flight each (a fleet sharing the store).

``wake p95 ms``: a signal sent through one store instance wakes a waiter on another instance
over the same backing (as another process would be woken), 40 times; the 95th percentile.

Statements are counted by wrapping psycopg's cursor ``execute`` / ``executemany`` (a
connection's ``execute`` goes through its cursor) in the measuring process (``executemany`` counts one statement per parameter set); a transaction is a
statement run outside an explicit transaction (autocommit) or one explicit transaction block.

Needs PostgreSQL on ``127.0.0.1:5432`` (db ``test``) and Redis on ``127.0.0.1:6379``; a missing
server's rows are reported as skipped.

Usage: ``python benchmarks/durable_store.py [--runs N] [--backends memory,sqlite,...] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.ports import ModelFinish, ModelRequest, ModelText, ModelToolCall

TURNS = 3
CALLS = 2
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ("memory", "sqlite", "postgres", "redis")


async def lookup(args: dict[str, Any]) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


class TurnsModel:
    """``TURNS`` turns of ``CALLS`` tool calls each, then a final text."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        if request.turn <= TURNS:
            for index in range(CALLS):
                yield ModelToolCall(f"c{request.turn}-{index}", "lookup", {"sku": f"A-{index}"})
            yield ModelFinish("tool-calls")
        else:
            yield ModelText("done")
            yield ModelFinish("stop")


def kv_section(backend: str, where: str) -> dict[str, Any] | None:
    """The ``data_environment.kv`` of ``backend``; ``where`` names the file/table/prefix."""
    if backend == "memory":
        return None
    if backend == "sqlite":
        return {"kind": "sqlite", "url": f"sqlite:{where}"}
    if backend == "postgres":
        return {"kind": "postgres", "url": POSTGRES_URL, "table": where, "ensureSchema": True}
    return {"kind": "redis", "url": REDIS_URL, "prefix": where}


def build(kv: dict[str, Any] | None) -> Any:
    tool = define_tool("lookup", {"sku": str})(lookup)
    agent = define_specialist(
        "bench", model="claude-haiku-4-5", prompt="bench", tools=[tool], max_turns=TURNS + 2
    )
    spec = define_runtime(define_tenant("bench", "v1"), agents=[agent])
    env = {"kv": kv} if kv is not None else None
    return create_runtime(spec, interpreter=TurnsModel(), data_environment=env)


async def drive(runtime: Any, runs: int, in_flight: int) -> tuple[float, list[float]]:
    """Run ``runs`` runs, ``in_flight`` at a time; return (seconds, per-run latencies)."""
    latencies: list[float] = []
    queue = iter(range(runs))

    async def worker() -> None:
        for n in queue:
            started = time.perf_counter()
            async for _ in runtime.run_specialist("bench", "go", thread_id=f"t{os.getpid()}-{n}"):
                pass
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - started, latencies


class Counter:
    statements = 0
    transactions = 0
    depth = 0


@contextmanager
def counting_psycopg() -> Iterator[type[Counter]]:
    """Count the statements and transactions psycopg sends while the block runs."""
    import psycopg

    cursor_execute = psycopg.AsyncCursor.execute
    cursor_many = psycopg.AsyncCursor.executemany
    conn_transaction = psycopg.AsyncConnection.transaction

    def note(n: int) -> None:
        Counter.statements += n
        if Counter.depth == 0:
            Counter.transactions += 1

    async def k_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        note(1)
        return await cursor_execute(self, *args, **kwargs)

    async def k_many(self: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        params = list(params_seq)
        note(len(params))
        return await cursor_many(self, query, params, **kwargs)

    class _Txn:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __aenter__(self) -> Any:
            Counter.transactions += 1 if Counter.depth == 0 else 0
            Counter.depth += 1
            return await self.inner.__aenter__()

        async def __aexit__(self, *exc: Any) -> Any:
            Counter.depth -= 1
            return await self.inner.__aexit__(*exc)

    def transaction(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _Txn(conn_transaction(self, *args, **kwargs))

    patches = {
        (psycopg.AsyncCursor, "execute"): k_execute,
        (psycopg.AsyncCursor, "executemany"): k_many,
        (psycopg.AsyncConnection, "transaction"): transaction,
    }
    originals = {key: getattr(*key) for key in patches}
    for (owner, name), patched in patches.items():
        setattr(owner, name, patched)
    try:
        yield Counter
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)


async def one_process(backend: str, where: str, runs: int, in_flight: int) -> dict[str, Any]:
    runtime = build(kv_section(backend, where))
    await drive(runtime, 2, 2)  # warm up: schema, pools, validators
    counted = backend == "postgres"
    result: dict[str, Any] = {}
    if counted:
        with counting_psycopg() as counter:
            counter.statements = counter.transactions = 0
            seconds, latencies = await drive(runtime, runs, in_flight)
            model_turns = runs * (TURNS + 1)
            result["statementsPerTurn"] = round(counter.statements / model_turns, 2)
            result["transactionsPerTurn"] = round(counter.transactions / model_turns, 2)
    else:
        seconds, latencies = await drive(runtime, runs, in_flight)
    await runtime._compiled.kv.close()
    result["runsPerSecond"] = round(runs / seconds, 1)
    result["turnMs"] = round(statistics.median(latencies) / (TURNS + 1) * 1000, 2)
    return result


def fleet(backend: str, where: str, runs: int, processes: int, in_flight: int) -> dict[str, Any]:
    """``processes`` processes on one store; runs/s counts from the first start to the last
    end."""
    command = [sys.executable, __file__, "--worker", backend, where, str(runs), str(in_flight)]
    started = time.perf_counter()
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(processes)
    ]
    outputs = [json.loads(child.communicate()[0]) for child in children]
    seconds = time.perf_counter() - started
    turn_ms = round(statistics.median(o["turnMs"] for o in outputs), 2)
    worker_rate = sum(o["runsPerSecond"] for o in outputs)
    return {
        "runsPerSecond": round(runs * processes / seconds, 1),
        "runsPerSecondInWorkers": round(worker_rate, 1),
        "turnMs": turn_ms,
    }


async def wake_latency(backend: str, where: str, rounds: int = 40) -> float:
    """p95 milliseconds from ``notify`` on one store instance to the wake-up of a waiter on
    another instance over the same backing (its own connections, as another process has)."""
    from flowai_harness.storage.factory import open_key_value_store

    kv = kv_section(backend, where)
    sender, receiver = open_key_value_store({"kv": kv}), open_key_value_store({"kv": kv})
    delays: list[float] = []
    await receiver.wait_notify("bench", "warm-up", 1.0)  # type: ignore[attr-defined]
    for n in range(rounds):
        waiting = receiver.wait_notify("bench", f"run:{n}", 5.0)  # type: ignore[attr-defined]
        started = time.perf_counter()
        await sender.notify("bench", f"run:{n}")  # type: ignore[attr-defined]
        if await waiting:
            delays.append(time.perf_counter() - started)
    await sender.close()
    await receiver.close()
    delays.sort()
    return round(delays[int(len(delays) * 0.95) - 1] * 1000, 1) if delays else float("nan")


def reachable(backend: str) -> str | None:
    try:
        if backend == "postgres":
            import psycopg

            psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
        elif backend == "redis":
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def place(backend: str, directory: str) -> str:
    tag = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        return os.path.join(directory, f"bench-{tag}.db")
    if backend == "postgres":
        return f"bench_{tag}"
    return f"bench-{tag}:"


def clean_up(backend: str, where: str) -> None:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{where}"')
    elif backend == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        names = list(client.scan_iter(match=f"{where}*", count=1000))
        if names:
            client.delete(*names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per measurement")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--no-fleet", action="store_true", help="skip the 4x16 measurement")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", nargs=4, metavar=("BACKEND", "WHERE", "RUNS", "IN_FLIGHT"))
    args = parser.parse_args()
    if args.worker:
        backend, where, runs, in_flight = args.worker
        print(json.dumps(asyncio.run(one_process(backend, where, int(runs), int(in_flight)))))
        return
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        for backend in args.backends.split(","):
            missing = reachable(backend)
            if missing:
                rows[backend] = {"skipped": missing}
                continue
            where = place(backend, directory)
            try:
                row = {"1x8": asyncio.run(one_process(backend, where, args.runs, 8))}
                if backend != "memory":
                    row["wakeP95Ms"] = asyncio.run(wake_latency(backend, where))
                if not args.no_fleet and backend != "memory":
                    row["4x16"] = fleet(backend, where, args.runs, 4, 16)
            finally:
                clean_up(backend, where)
            rows[backend] = row
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'store':10} {'1x8 runs/s':>11} {'turn ms':>8} {'4x16 runs/s':>12} {'turn ms':>8}"
        f" {'stmts/turn':>11} {'txns/turn':>10} {'wake p95 ms':>12}"
    )
    for backend, row in rows.items():
        if "skipped" in row:
            print(f"{backend:10} skipped: {row['skipped']}")
            continue
        one, many = row["1x8"], row.get("4x16", {})
        print(
            f"{backend:10} {one['runsPerSecond']:>11} {one['turnMs']:>8}"
            f" {many.get('runsPerSecond', '-'):>12} {many.get('turnMs', '-'):>8}"
            f" {one.get('statementsPerTurn', '-'):>11} {one.get('transactionsPerTurn', '-'):>10}"
            f" {row.get('wakeP95Ms', '-'):>12}"
        )


if __name__ == "__main__":
    main()
