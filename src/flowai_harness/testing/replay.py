"""Play back a recorded cassette: :class:`ReplayModel` and :func:`assert_replays`.

Record with ``create_runtime(..., record="run.jsonl")`` (any interpreter, live providers
included), then replay offline and deterministically::

    model = ReplayModel.from_file("run.jsonl")
    runtime = create_runtime(spec, interpreter=model, tool_bindings=...)

Strict replay (the default) checks that each request asks what the recorded one asked and
fails with a unified diff of the two request digests when it does not; lenient replay
(``strict=False``) plays the recorded turns in order whatever is asked.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from flowai_harness.engine.cassette import part_from_wire, request_digest
from flowai_harness.errors import ConfigurationError, HarnessError
from flowai_harness.ports import ModelError, ModelPart, ModelRequest
from flowai_harness.testing.streams import collect_events

__all__ = ["RecordedRun", "ReplayMismatchError", "ReplayModel", "assert_replays"]

#: the ``code`` of the error a strict replay reports when a request differs from the recording
REPLAY_MISMATCH = "replay_mismatch"


class ReplayMismatchError(HarnessError, AssertionError):
    """A replayed run asked the model something else than the recorded run did."""


@dataclass(frozen=True, slots=True)
class RecordedTurn:
    """One recorded model turn: what was asked, and what the model streamed back."""

    request: dict[str, Any]
    parts: list[dict[str, Any]]
    live: bool


@dataclass(slots=True)
class RecordedRun:
    """One recorded run: where it started, how it ended, and its model turns."""

    entry_agent: str
    prompt: str
    thread_id: str
    via_query: bool = True
    status: str | None = None
    turns: list[RecordedTurn] = field(default_factory=list)


def read_cassette(path: str | Path) -> list[RecordedRun]:
    """Read the runs of a cassette file.

    Raises:
        ConfigurationError: the file is missing or a line is not a cassette entry.
    """
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read cassette '{path}': {exc}") from exc
    runs: list[RecordedRun] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            kind = entry["kind"]
            if kind == "run":
                runs.append(
                    RecordedRun(
                        entry["entryAgent"],
                        entry["prompt"],
                        entry["threadId"],
                        entry.get("entry") == "query",
                    )
                )
            elif kind == "turn":
                if not runs:
                    runs.append(RecordedRun("", "", ""))
                turn = RecordedTurn(entry["request"], entry["parts"], bool(entry.get("live")))
                runs[-1].turns.append(turn)
            elif kind == "end":
                runs[-1].status = entry["status"]
            else:
                raise KeyError(kind)
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError) as exc:
            raise ConfigurationError(
                f"cassette '{path}' line {number} is not a cassette entry ({exc!r})"
            ) from exc
    return runs


def request_diff(recorded: dict[str, Any], actual: dict[str, Any]) -> str:
    """A unified diff of two request digests (recorded first), one JSON value per line."""

    def lines(digest: dict[str, Any]) -> list[str]:
        return json.dumps(digest, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    return "\n".join(
        difflib.unified_diff(
            lines(recorded), lines(actual), "recorded request", "replayed request", lineterm=""
        )
    )


class ReplayModel:
    """A ``ModelClient`` that plays the model turns of a cassette back, in order.

    Args:
        turns: The recorded turns (:meth:`from_file` reads them from a cassette).
        strict: Check each request against the recorded one; a different request fails the
            turn (an ``error`` event of code ``replay_mismatch`` whose message holds the diff)
            and is kept in :attr:`mismatches`.
    """

    def __init__(self, turns: list[RecordedTurn], *, strict: bool = True) -> None:
        self._turns = list(turns)
        self._next = 0
        self.strict = strict
        #: replays as a live provider when the recording was of one (cost and latency events)
        self.live = any(turn.live for turn in turns)
        #: the diff of every request that did not match its recording
        self.mismatches: list[str] = []

    @classmethod
    def from_file(cls, path: str | Path, *, strict: bool = True) -> ReplayModel:
        """Load every model turn of the cassette at ``path``.

        Raises:
            ConfigurationError: the file is missing or is not a cassette.
        """
        return cls([t for run in read_cassette(path) for t in run.turns], strict=strict)

    @property
    def remaining(self) -> int:
        """How many recorded turns have not been played."""
        return len(self._turns) - self._next

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Play the next recorded turn (after checking the request, when strict)."""
        if self._next >= len(self._turns):
            yield ModelError(
                f"ReplayModel has no recorded turn left for agent '{request.agent}' "
                f"(all {len(self._turns)} were played)",
                REPLAY_MISMATCH,
            )
            return
        turn = self._turns[self._next]
        self._next += 1
        if self.strict:
            actual = request_digest(request)
            if actual != turn.request:
                diff = request_diff(turn.request, actual)
                self.mismatches.append(diff)
                yield ModelError(
                    f"request {self._next} of agent '{request.agent}' differs from the "
                    f"recording:\n{diff}",
                    REPLAY_MISMATCH,
                )
                return
        for part in turn.parts:
            yield part_from_wire(part)


async def assert_replays(
    runtime_factory: Callable[[ReplayModel], Any],
    cassette: str | Path,
    *,
    strict: bool = True,
) -> list[list[dict[str, Any]]]:
    """Replay every recorded run of ``cassette`` and fail unless it goes as recorded.

    Args:
        runtime_factory: Builds the runtime under test around the replay model, e.g.
            ``lambda model: create_runtime(spec, interpreter=model, tool_bindings=tools)``
            (it may also return an awaitable of the runtime).
        cassette: The cassette recorded with ``create_runtime(..., record=...)``.
        strict: Check every request against the recording (see :class:`ReplayModel`).

    Returns:
        The events of each replayed run.

    Raises:
        ReplayMismatchError: a request differed from the recording (the message shows the
            diff), a recorded turn was not asked for, or a run ended with another status.
    """
    runs = read_cassette(cassette)
    model = ReplayModel([t for run in runs for t in run.turns], strict=strict)
    runtime = runtime_factory(model)
    if isinstance(runtime, Awaitable):
        runtime = await runtime
    replayed: list[list[dict[str, Any]]] = []
    for index, run in enumerate(runs, start=1):
        stream = (
            runtime.query(run.prompt, run.thread_id)
            if run.via_query
            else runtime.run_specialist(run.entry_agent, run.prompt, run.thread_id)
        )
        events = await collect_events(stream)
        replayed.append(events)
        if model.mismatches:
            raise ReplayMismatchError(f"run {index} of {cassette}:\n{model.mismatches[0]}")
        record = await runtime.get_run(stream.run_id)
        status = None if record is None else record.get("status")
        if run.status is not None and status != run.status:
            raise ReplayMismatchError(
                f"run {index} of {cassette} ended {status}; the recording ended {run.status}"
            )
    if model.remaining:
        raise ReplayMismatchError(
            f"{model.remaining} recorded model turn(s) of {cassette} were never asked for"
        )
    return replayed
