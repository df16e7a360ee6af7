"""Test doubles for code built on flowai-harness (and for our own tests).

* :class:`ScriptedModel` is a fake model: queue the turns it should play (text, tool calls),
  pass it as ``create_runtime(spec, interpreter=model)``, then inspect what it was asked.
* :func:`collect_events` runs a stream to the end and returns its events, answering approvals
  with a policy you choose.
"""

from __future__ import annotations

from flowai_harness.testing.fake_model import ModelTurn, ScriptedModel, ToolCallStep
from flowai_harness.testing.streams import collect_events, events_of_type

__all__ = ["ModelTurn", "ScriptedModel", "ToolCallStep", "collect_events", "events_of_type"]
