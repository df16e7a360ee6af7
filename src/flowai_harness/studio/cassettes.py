"""The cassette of a chat: the recorded model turns of a thread's runs, for a test drafted from
that chat.

A runtime created with ``create_runtime(..., record=path)`` records every run into one JSON-lines
cassette, in order: a ``run`` entry (with its ``threadId``), the run's ``turn`` entries, then an
``end`` entry. The Studio does not record by itself; when the workspace's runtime records, the
cassette of a chat is the runs of its thread cut out of that file, ready for
``assert_replays`` or ``ReplayModel.from_file``. The runtime's cassette is replaced when the
runtime is created again (a Studio restart), so take the cassette of a chat while it is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

__all__ = ["runtime_cassette", "thread_cassette"]


def runtime_cassette(runtime: Any) -> Path | None:
    """The cassette file ``runtime`` records into, or ``None`` when it does not record."""
    cassette = getattr(getattr(runtime, "_compiled", None), "cassette", None)
    path = getattr(cassette, "path", None)
    return path if isinstance(path, Path) else None


def thread_cassette(path: Path, thread_id: str) -> tuple[str, int]:
    """The runs of ``thread_id`` in the cassette at ``path``, as JSON-lines text.

    Returns:
        ``(text, number of runs)``; a run still going has no ``end`` line yet.

    Raises:
        OSError: The file cannot be read.
    """
    lines: list[bytes] = []
    keep = False
    runs = 0
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line being written
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "run":
            keep = entry.get("threadId") == thread_id
            runs += keep
        if keep:
            lines.append(line)
        if kind == "end":
            keep = False
    text = b"\n".join(lines).decode("utf-8")
    return (text + "\n" if text else ""), runs
