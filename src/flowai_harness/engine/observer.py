"""The observation seam: what the engine tells an observer (tracing) as a run goes.

The engine opens an observation at fixed points and closes it when the step ends: the run,
each agent invocation, each model call, each tool call, each approval wait and each plan
dispatch. :class:`RunObserver` is the do-nothing observer every runtime has unless telemetry
is configured: each method returns the one shared :data:`NO_SPAN`, so the loop pays a method
call and an empty ``with`` per step, and nothing is imported.
:mod:`flowai_harness.engine.telemetry` is the OpenTelemetry observer.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The run and the agent scope are typed loosely here: the context module sits above this
    # one (it holds the compiled runtime, which holds the observer).
    from flowai_harness.events import TokenUsage
    from flowai_harness.ports import ModelRequest

__all__ = ["NO_SPAN", "NULL_OBSERVER", "Observation", "RunObserver"]


class Observation:
    """One observed step; a context manager that ends it. This base records nothing."""

    __slots__ = ()

    def __enter__(self) -> Observation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def finished(self, reason: str, usage: TokenUsage) -> None:
        """A model call ended with ``reason`` having used ``usage``."""

    def tool_result(self, result: Any, is_error: bool) -> None:
        """A tool call returned ``result``."""

    def decided(self, outcome: str) -> None:
        """An approval was answered with ``outcome``."""

    def failed(self, message: str, code: str | None = None) -> None:
        """The step failed (recorded as the span's error)."""


NO_SPAN = Observation()


class RunObserver:
    """The observer that observes nothing (no tracer configured)."""

    __slots__ = ()

    def run(self, run: Any, entry_agent: str) -> Observation:
        """A run starts at ``entry_agent``."""
        return NO_SPAN

    def agent(self, scope: Any, invocation_id: str) -> Observation:
        """An agent invocation starts."""
        return NO_SPAN

    def chat(self, scope: Any, request: ModelRequest) -> Observation:
        """A model call starts."""
        return NO_SPAN

    def tool(self, scope: Any, call_id: str, name: str, args: Any) -> Observation:
        """A tool call starts."""
        return NO_SPAN

    def approval(self, scope: Any, kind: str, target: str) -> Observation:
        """A gate starts waiting for a decision."""
        return NO_SPAN

    def plan_dispatch(self, run: Any, plan_id: str, actions: int) -> Observation:
        """An approved plan's actions go to the host's dispatcher."""
        return NO_SPAN


NULL_OBSERVER = RunObserver()
