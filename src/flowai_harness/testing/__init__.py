"""Test doubles for code built on flowai-harness (and for our own tests).

* :class:`ScriptedModel` is a fake model: queue the turns it should play (text, tool calls),
  pass it as ``create_runtime(spec, interpreter=model)``, then inspect what it was asked.
* :class:`ReplayModel` plays back a cassette recorded with ``create_runtime(..., record=...)``;
  :func:`assert_replays` turns a recorded run into a regression test in one call.
* :func:`collect_events` runs a stream to the end and returns its events, answering approvals
  with a policy you choose.
"""

from __future__ import annotations

from flowai_harness.testing.fake_model import ModelTurn, ScriptedModel, ToolCallStep
from flowai_harness.testing.replay import ReplayMismatchError, ReplayModel, assert_replays
from flowai_harness.testing.streams import collect_events, events_of_type

__all__ = [
    "ModelTurn",
    "ReplayMismatchError",
    "ReplayModel",
    "ScriptedModel",
    "ToolCallStep",
    "assert_replays",
    "collect_events",
    "events_of_type",
]
