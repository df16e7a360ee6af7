"""Agent constructors: ``define_coordinator``, ``define_planner``, ``define_executor``,
``define_specialist``, and the :class:`AgentSpec` / :class:`ModelSpec` models they build.

Re-exported from :mod:`flowai_harness.specs.agents`.
"""

from __future__ import annotations

from flowai_harness.specs.agents import (
    AgentSpec,
    ModelSpec,
    define_coordinator,
    define_executor,
    define_planner,
    define_specialist,
)

__all__ = [
    "AgentSpec",
    "ModelSpec",
    "define_coordinator",
    "define_executor",
    "define_planner",
    "define_specialist",
]
