"""The checker of the chaos suite: reads the effects file, the clients' transcripts and the
store after the fleet stopped, and returns every violated property as a readable problem.

Each ``check_*`` function returns a list of problems (empty when the property holds), so a
test asserts one property at a time and a failure names the job, run and key concerned.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowai_harness.engine.memory import load_history
from flowai_harness.handle import Runtime
from tests.durable.chaos_fleet import job_prompt

__all__ = [
    "Transcript",
    "check_at_most_once",
    "check_follow",
    "check_memory",
    "check_runs_ended",
    "check_thread_turns",
    "check_transcript_content",
    "check_transcript_prefix",
    "read_effects",
    "read_transcripts",
    "split_woken",
    "thread_interleavings",
]

#: how a stale owner's stream ends when its run was claimed by another worker
TAKEN_OVER = "run_taken_over"


@dataclass(frozen=True, slots=True)
class Transcript:
    """What one client saw of one run: the events in the order they arrived."""

    path: str
    job: str
    run_id: str
    events: list[dict[str, Any]]


def read_effects(root: Path) -> list[dict[str, Any]]:
    """Every line of the effects file (tools, dispatches, kills, stops, SIGCONTs)."""
    path = root / "effects.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_transcripts(root: Path) -> list[Transcript]:
    """Every client transcript (a process killed mid-line leaves its last line cut: dropped)."""
    out = []
    for path in sorted((root / "transcripts").glob("*.jsonl")):
        lines = path.read_text().splitlines()
        if not lines:
            continue
        head = json.loads(lines[0])
        events = []
        for line in lines[1:]:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break  # the writer died in the middle of this line
        out.append(Transcript(str(path), head["job"], head["runId"], events))
    return out


def check_at_most_once(effects: list[dict[str, Any]]) -> list[str]:
    """Each tool call (job/invocation/turn/call) began at most once; each plan was dispatched
    at most once. A problem names the workers that ran it and says which of them had been
    frozen before (``woken``): see :func:`split_woken`."""
    pauses = _pauses(effects)
    runs: dict[str, list[str]] = defaultdict(list)
    for e in sorted(effects, key=lambda e: e["t"]):
        if e["ev"] in ("start", "dispatch"):
            thing = f"tool call {e['key']}" if e["ev"] == "start" else f"plan {e['plan']}"
            woken = any(hi <= e["t"] for _, hi in pauses.get(e["pid"], []))
            runs[thing].append(f"{e['pid']}{' (woken)' if woken else ''}")
    return [
        f"{thing} ran {len(pids)} times, by {pids}" for thing, pids in runs.items() if len(pids) > 1
    ]


def split_woken(problems: list[str]) -> tuple[list[str], list[str]]:
    """``(others, woken)``: the problems that involve a worker after it woke from a freeze past
    its lease (an at-most-once problem naming a ``(woken)`` worker, or an overlap of turns one
    of which ran in a stretch after a freeze, ``@<pid>.<n>`` with ``n`` above 0), apart from
    the others."""
    woken = [p for p in problems if "(woken)" in p or re.search(r"@\d+\.[1-9]", p)]
    return [p for p in problems if p not in woken], woken


def _pauses(effects: list[dict[str, Any]]) -> dict[int, list[tuple[float, float]]]:
    """The (SIGSTOP, SIGCONT) wall-time windows of each frozen worker."""
    stops: dict[int, float] = {}
    windows: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for e in sorted(effects, key=lambda e: e["t"]):
        if e["ev"] == "stop":
            stops[e["pid"]] = e["t"]
        elif e["ev"] == "cont" and e["target"] in stops:
            windows[e["target"]].append((stops.pop(e["target"]), e["t"]))
    for pid, since in stops.items():  # frozen, then killed by the test at the end
        windows[pid].append((since, float("inf")))
    return windows


def _spans(
    effects: list[dict[str, Any]], depth: int, *, per_owner: bool
) -> dict[tuple[str, str], list[float]]:
    """``(thread, key prefix)`` -> ``[first start, last end]`` of the tool calls whose key
    starts with that prefix of ``depth`` parts (1: the job, 3: job/invocation/turn).

    With ``per_owner`` a prefix is split by who ran its calls: each worker process, and in
    it each stretch between two freezes, is one owner (a turn cut by a crash and finished by
    the worker that recovered the run is two stretches of work, not one that spans the gap).
    Calls of a worker while it was frozen (SIGSTOP) are left out: a frozen worker is a stale
    owner whose run another worker took over, and what its tool does after SIGCONT is outside
    the fleet's control (its writes to the store are what fencing refuses). A call cut by a
    SIGKILL counts from its start to its start."""
    pauses = _pauses(effects)
    ends = {(e["key"], e["pid"]): e["t"] for e in effects if e["ev"] == "end"}
    spans: dict[tuple[str, str], list[float]] = {}
    for e in effects:
        if e["ev"] != "start":
            continue
        end = ends.get((e["key"], e["pid"]), e["t"])
        windows = pauses.get(e["pid"], [])
        if any(lo <= end and e["t"] <= hi for lo, hi in windows):
            continue
        prefix = "/".join(e["key"].split("/")[:depth])
        if per_owner:
            stretch = sum(1 for lo, _ in windows if lo < e["t"])
            prefix = f"{prefix}@{e['pid']}.{stretch}"
        span = spans.setdefault((e["thread"], prefix), [e["t"], end])
        span[0], span[1] = min(span[0], e["t"]), max(span[1], end)
    return spans


def _overlaps(spans: dict[tuple[str, str], list[float]]) -> list[str]:
    """Spans of one thread from different jobs that overlap in time."""
    by_thread: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for (thread, prefix), (lo, hi) in spans.items():
        by_thread[thread].append((lo, hi, prefix))
    problems = []
    for thread, items in by_thread.items():
        items.sort()
        for (lo, hi, prefix), (later, _, other) in itertools.combinations(items, 2):
            if later < hi and prefix.split("/")[0] != other.split("/")[0]:
                problems.append(
                    f"thread {thread}: {other} ran a tool {hi - later:.3f} s before {prefix} "
                    f"ran its last one (began {later - lo:.3f} s after it)"
                )
    return problems


def check_thread_turns(effects: list[dict[str, Any]]) -> list[str]:
    """No two model turns of different runs on one thread ran at the same time (a turn's
    span: its first tool call's start to its last one's end, per owner: see ``_spans``)."""
    return _overlaps(_spans(effects, 3, per_owner=True))


def thread_interleavings(effects: list[dict[str, Any]]) -> list[str]:
    """Runs on one thread whose spans (first tool call to last) overlap: a run held up by a
    dead or frozen worker while later queries on its thread ran. Reported, not asserted: an
    expired thread lease may be taken by any query (see the test's docstring)."""
    return _overlaps(_spans(effects, 1, per_owner=False))


async def _seen_and_logged(
    observer: Runtime, t: Transcript
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]] | None]:
    """The events the client saw (without a stale owner's final ``run_taken_over`` error)
    and the run's log by sequence (``None``: the run has no record)."""
    events = list(t.events)
    if events and events[-1].get("error", {}).get("code") == TAKEN_OVER:
        events.pop()
    if await observer.get_run(t.run_id) is None:
        return events, None
    return events, {e["sequence"]: e for e in await observer.run_events(t.run_id)}


async def check_transcript_content(
    observer: Runtime, transcripts: Iterable[Transcript]
) -> list[str]:
    """Every event a client saw is in its run's log, under its sequence, with the same
    content (a stale owner's stream may end with one ``run_taken_over`` error of its own)."""
    problems = []
    for t in transcripts:
        events, logged = await _seen_and_logged(observer, t)
        if logged is None:
            if events:
                problems.append(f"{t.path}: saw {len(events)} events of a run never recorded")
            continue
        for event in events:
            if logged.get(event.get("sequence", -1)) != event:
                problems.append(
                    f"{t.path}: event {event.get('sequence')} seen as {event} but logged as "
                    f"{logged.get(event.get('sequence', -1))}"
                )
                break
    return problems


async def check_transcript_prefix(
    observer: Runtime, transcripts: Iterable[Transcript]
) -> list[str]:
    """Every client saw its run's events 1, 2, 3, ... with none missing: a prefix of the log."""
    problems = []
    for t in transcripts:
        events, logged = await _seen_and_logged(observer, t)
        for position, event in enumerate(events, start=1):
            if event.get("sequence") != position:
                missed = range(position, event.get("sequence", position))
                what = [(n, (logged or {}).get(n, {}).get("type")) for n in missed]
                problems.append(
                    f"{t.path} (run {t.run_id}): after event {position - 1} the client got "
                    f"{event.get('sequence')}; it never saw {what}"
                )
                break
    return problems


async def check_follow(observer: Runtime, transcripts: Iterable[Transcript]) -> list[str]:
    """Following each recorded run from the start (``follow_run``, from this process) yields
    exactly its log, and so does following it from the middle."""
    problems = []
    for run_id in sorted({t.run_id for t in transcripts}):
        if await observer.get_run(run_id) is None:
            continue
        logged = await observer.run_events(run_id)
        followed = [e async for e in observer.follow_run(run_id)]
        half = len(logged) // 2
        rest = [e async for e in observer.follow_run(run_id, after_sequence=half)]
        if followed != logged or rest != logged[half:]:
            problems.append(
                f"run {run_id}: followed {len(followed)} events ({len(rest)} after {half}), "
                f"logged {len(logged)}"
            )
    return problems


async def check_runs_ended(
    observer: Runtime, jobs: list[dict[str, Any]], transcripts: list[Transcript]
) -> list[str]:
    """Every run on every thread has a final status, every job has a completed run, and no
    plan is left ``executing`` or ``needs_reconciliation`` (the test settles those)."""
    problems = []
    for thread in sorted({job["thread"] for job in jobs}):
        for record in await observer.list_runs(thread):
            if record["status"] not in ("completed", "failed", "cancelled"):
                problems.append(f"run {record['runId']} on {thread} is {record['status']}")
    for job in jobs:
        statuses = [
            str(record["status"])
            for t in transcripts
            if t.job == job["job"] and (found := await observer.get_run(t.run_id)) is not None
            for record in [found]
        ]
        if statuses.count("completed") != 1:
            problems.append(f"job {job['job']}: run statuses {statuses}, not one completed")
        if job["kind"] == "plan":
            plan = await observer.get_plan(f"plan-{job['job']}")
            status = None if plan is None else plan["status"]
            if status in ("executing", "needs_reconciliation", None):
                problems.append(f"plan of job {job['job']} is {status}")
    return problems


async def check_memory(
    observer: Runtime, jobs: list[dict[str, Any]], completed: set[str]
) -> list[str]:
    """The coordinator's memory of each thread holds each completed job's query once."""
    problems = []
    kv, tenant = observer._compiled.kv, observer.resource_id
    for thread in sorted({job["thread"] for job in jobs}):
        history = await load_history(kv, tenant, thread, "c")
        asked = Counter(m.content for m in history if m.role == "user")
        for job in jobs:
            if job["thread"] == thread and job["job"] in completed:
                count = asked[job_prompt(job)]
                if count != 1:
                    problems.append(f"memory of {thread} holds job {job['job']} {count} times")
    return problems
