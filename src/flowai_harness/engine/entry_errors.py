"""The messages of a run's entry point when it cannot start where it was asked to: no
coordinator for ``query``, and ``run_specialist`` on an unknown agent or on one that is not a
specialist. Each names what is wrong and how to start the run instead."""

from __future__ import annotations

from collections.abc import Iterable

from flowai_harness.specs._problems import closest

__all__ = ["NO_COORDINATOR", "not_a_specialist", "unknown_specialist"]

NO_COORDINATOR = (
    "no coordinator agent registered in the spec; query starts at the coordinator: "
    "add one to define_runtime(agents=[...]) with define_coordinator(...), or start "
    "at a specialist with run_specialist(name, prompt)"
)


def unknown_specialist(name: str, specialists: Iterable[str]) -> str:
    """The message for ``run_specialist(name)`` when no agent has that name."""
    known = sorted(specialists)
    match = closest(name, known)
    guess = f"; did you mean {match!r}?" if match else "."
    return (
        f"specialist '{name}' not found{guess} The specialists of this runtime are "
        f"{known!r}: pass one of them to run_specialist, or add the agent to "
        f"define_runtime(agents=[...])"
    )


def not_a_specialist(name: str, role: str) -> str:
    """The message for ``run_specialist(name)`` when the agent has another ``role``."""
    how = (
        "start it with runtime.query(prompt, thread_id)"
        if role == "coordinator"
        else "it runs when the coordinator routes to it (runtime.query(prompt, thread_id))"
    )
    article = "the" if role == "coordinator" else "an" if role == "executor" else "a"
    return f"agent '{name}' is not a specialist; it is {article} {role}: {how}"
