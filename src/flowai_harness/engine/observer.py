"""The observation seam: what the engine tells an observer (tracing) as a run goes.

The engine hands each observed step to the run's observer as a coroutine not started yet, and
awaits what the observer gives back: the run, each agent invocation, each model call, each
tool call, each approval wait and each plan dispatch. :class:`RunObserver` is the observer of
every runtime without telemetry: it gives each coroutine back as it is, so the loop pays one
method call per step, and nothing is imported. :mod:`flowai_harness.engine.telemetry` is the
OpenTelemetry observer, which awaits the step inside a span.

What a step returns tells the observer how it went: a model call's and an invocation's
outcome carry ``usage`` and ``reason`` (finished) or ``message`` and ``code`` (failed), a
tool call's outcome carries ``content`` and ``is_error``, an approval's ``outcome``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["NULL_OBSERVER", "RunObserver", "Step"]

T = TypeVar("T")
Step = Awaitable[T]

# The run and the agent scope are typed loosely here: the context module sits above this one
# (it holds the compiled runtime, which holds the observer).


class RunObserver:
    """The observer that observes nothing: every step is given back unwrapped."""

    __slots__ = ()

    def run(self, run: Any, entry_agent: str, step: Step[T]) -> Awaitable[T]:
        """A run at ``entry_agent``."""
        return step

    def agent(self, scope: Any, invocation_id: str, step: Step[T]) -> Awaitable[T]:
        """An agent invocation's turn loop."""
        return step

    def chat(self, scope: Any, request: Any, step: Step[T]) -> Awaitable[T]:
        """One model call (``request`` is its ``ModelRequest``)."""
        return step

    def tool(self, scope: Any, call_id: str, name: str, args: Any, step: Step[T]) -> Awaitable[T]:
        """One tool call."""
        return step

    def approval(self, scope: Any, kind: str, target: str, step: Step[T]) -> Awaitable[T]:
        """A gate waiting for a decision."""
        return step

    def plan_dispatch(self, run: Any, plan_id: str, actions: int, step: Step[T]) -> Awaitable[T]:
        """An approved plan's actions going to the host's dispatcher."""
        return step


NULL_OBSERVER = RunObserver()
