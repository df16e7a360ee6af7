"""Before an eval runs: read the request, and check it against the runtime.

Every check that can fail without running a sample happens here, so ``run_eval`` and
``stream_eval`` raise ``ValueError`` at call time: an unparsable request, another tenant, an
offline-only mode or preset, weights that do not resolve, and a missing entry agent
(sequential: the coordinator; planner / executor: the first agent of that role; specialist:
``target_agent_id``). Judge scorers on a runtime whose interpreter cannot judge do not stop the
eval: each judge run fails closed with ``judge_provider_unavailable``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowai_harness.engine.core import EngineCore
from flowai_harness.errors import SpecValueError
from flowai_harness.evals.judges import JudgeModel, judge_scorers, select_judge_model
from flowai_harness.evals.traces import AgentModel
from flowai_harness.specs.evals import EvalRequest, EvalTestCase, ScoringPlan

__all__ = ["EvalSetup", "parse_eval_request", "prepare_eval"]


def parse_eval_request(value: Any) -> EvalRequest:
    """Read an eval request in any accepted form (model, snake_case or camelCase dict).

    Args:
        value: An :class:`EvalRequest`; a JSON string; an object with ``model_dump`` (dumped
            ``by_alias``); or a mapping in wire form.

    Returns:
        The validated request.

    Raises:
        SpecValueError: not JSON, not a JSON object, or an unsupported type.
        pydantic.ValidationError: the request itself is invalid (a ``ValueError``).
    """
    if isinstance(value, EvalRequest):
        return value
    data: Any
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except ValueError as error:
            raise SpecValueError(f"eval_request is not valid JSON: {error}") from None
    elif callable(getattr(value, "model_dump", None)):
        data = value.model_dump(by_alias=True, mode="json")
    elif isinstance(value, Mapping):
        data = value
    else:
        raise SpecValueError(
            "eval_request must be an EvalRequest, a mapping in camelCase wire form or a JSON "
            f"string; got {type(value).__name__}"
        )
    if not isinstance(data, Mapping):
        raise SpecValueError(f"eval_request must describe a JSON object; got {type(data).__name__}")
    return EvalRequest.model_validate(data)


@dataclass(frozen=True, slots=True)
class EvalSetup:
    """Everything checked before an eval starts: cases, scoring, entry agent and judge."""

    request: EvalRequest
    cases: list[EvalTestCase]
    scoring: ScoringPlan
    entry_agent: str
    judge: JudgeModel | None
    agent_models: Mapping[str, AgentModel]


def _entry_agent(runtime: EngineCore, request: EvalRequest) -> str:
    compiled = runtime._compiled
    mode = request.config.mode
    names = list(compiled.agents)
    if mode == "sequential":
        if compiled.coordinator is None:
            raise SpecValueError(
                f"mode 'sequential' evaluates the coordinator, but the runtime has none "
                f"(agents: {names})"
            )
        return compiled.coordinator
    if mode in ("planner", "executor"):
        agent = next((a.name for a in compiled.agents.values() if a.role == mode), None)
        if agent is None:
            raise SpecValueError(
                f"mode {mode!r} evaluates the first {mode} agent, but the runtime has none "
                f"(agents: {names})"
            )
        return agent
    if mode == "specialist":
        target = request.config.target_agent_id
        found = compiled.agents.get(target or "")
        if found is None:
            raise SpecValueError(
                f"target_agent_id {target!r} is not an agent of this runtime (agents: {names})"
            )
        if found.role != "specialist":
            raise SpecValueError(
                f"target_agent_id {target!r} is a {found.role}, not a specialist; mode "
                "'specialist' evaluates a specialist agent"
            )
        return found.name
    raise SpecValueError(f"mode {mode!r} cannot run on a runtime; it is only available offline")


def prepare_eval(runtime: EngineCore, request: EvalRequest) -> EvalSetup:
    """Check a request against a runtime before anything runs.

    Args:
        runtime: The runtime the samples run on.
        request: The parsed request.

    Returns:
        The :class:`EvalSetup`.

    Raises:
        SpecValueError: the request's tenant is not the runtime's; the mode or preset is
            offline-only; the weights do not resolve; or the mode's entry agent is missing.
    """
    if request.tenant_id != runtime.resource_id:
        raise SpecValueError(
            f"eval request tenant {request.tenant_id!r} does not match the runtime tenant "
            f"{runtime.resource_id!r}; a runtime only evaluates its own tenant"
        )
    scoring = request.scoring_plan()
    entry = _entry_agent(runtime, request)
    cases = request.selected_test_cases()
    compiled = runtime._compiled
    needs_judge = any(judge_scorers(case) for case in cases)
    judge = select_judge_model(compiled, request.config) if needs_judge else None
    models = {
        name: AgentModel(agent.model, agent.provider if agent.client.live else None)
        for name, agent in compiled.agents.items()
    }
    return EvalSetup(request, cases, scoring, entry, judge, models)
