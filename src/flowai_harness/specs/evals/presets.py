"""Score weights, scorer presets and how weights resolve for a run.

:func:`resolve_scoring_plan` is the single implementation of the resolution rules; the offline
``score_sample``, ``EvalRequest`` validation and the eval runner all call it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ConfigDict, RootModel, model_validator

from flowai_harness.errors import SpecValueError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    SCORER_NAMES,
    EvalMode,
    ScorerName,
    ScorerPresetName,
)
from flowai_harness.specs.evals.cases import EvalTestCase

__all__ = [
    "MODE_PRESETS",
    "PRESET_ALLOWED_SCORERS",
    "ScoreWeights",
    "ScorerPreset",
    "ScoringPlan",
    "define_scorer_preset",
    "resolve_scoring_plan",
]

_PRESET_NAMES: tuple[ScorerPresetName, ...] = get_args(ScorerPresetName)

#: The preset each eval mode implies when no ``scorer_preset`` is given.
MODE_PRESETS: dict[EvalMode, ScorerPresetName] = {
    "planner": "planner",
    "executor": "executor",
    "sequential": "sequential",
    "specialist": "specialist",
    "testCaseBuilder": "test_case_builder",
}

#: The scorers each preset may weight.
PRESET_ALLOWED_SCORERS: dict[ScorerPresetName, tuple[ScorerName, ...]] = {
    "trajectory_only": ("trajectory",),
    "planner": ("trajectory", "planned_actions", "final_response"),
    "executor": ("trajectory", "executed_actions", "final_response"),
    "sequential": SCORER_NAMES,
    "specialist": SCORER_NAMES,
    "test_case_builder": SCORER_NAMES,
}

_FIXED_DEFAULTS: dict[ScorerPresetName, dict[ScorerName, float]] = {
    "trajectory_only": {"trajectory": 1.0},
    "planner": {"trajectory": 0.5, "planned_actions": 0.5},
    "sequential": {"trajectory": 0.5, "planned_actions": 0.25, "executed_actions": 0.25},
    "test_case_builder": {"trajectory": 0.5, "planned_actions": 0.25, "executed_actions": 0.25},
}
_DEFAULT_FINAL_RESPONSE_WEIGHT = 0.5


class ScoreWeights(RootModel[dict[ScorerName, float]]):
    """Relative weights of the four scorers; dumps as the bare ``{name: weight}`` mapping.

    Build it from one mapping, positionally or as ``weights=``
    (``ScoreWeights({"trajectory": 0.5, "executed_actions": 0.5})``), or with one keyword per
    scorer (``ScoreWeights(trajectory=1.0)``). Keys are exactly ``trajectory``,
    ``planned_actions``, ``executed_actions`` and ``final_response`` (snake_case on the wire
    too); values are finite and non-negative, and at least one is positive. Weights are
    normalised by their positive total when resolved.

    Raises:
        pydantic.ValidationError: an unknown key, a negative, non-finite or non-numeric weight,
            or no positive weight.
        TypeError: both a positional mapping and ``weights=`` (or per-scorer keywords) given.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    def __init__(
        self,
        root: Mapping[str, float] | None = None,
        /,
        *,
        weights: Mapping[str, float] | None = None,
        **per_scorer: float,
    ) -> None:
        given = [value for value in (root, weights, per_scorer or None) if value is not None]
        if len(given) > 1:
            raise TypeError(
                "ScoreWeights takes one mapping: pass it positionally, as weights=, or as "
                "per-scorer keywords, not several of these"
            )
        super().__init__(given[0] if given else {})

    @model_validator(mode="before")
    @classmethod
    def _check_entries(cls, data: Any) -> Any:
        if isinstance(data, ScoreWeights):
            return data.root
        if not isinstance(data, Mapping):
            raise ValueError(
                f"score weights must be a mapping of scorer name to weight, got "
                f"{type(data).__name__}"
            )
        for key, weight in data.items():
            if key not in SCORER_NAMES:
                raise ValueError(
                    f"unknown scorer weight key {key!r}; expected one of: {', '.join(SCORER_NAMES)}"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ValueError(
                    f"score weight {key!r} must be a number, got {type(weight).__name__} {weight!r}"
                )
            if not math.isfinite(weight):
                raise ValueError(f"score weights must be finite, got {key!r}: {weight!r}")
            if weight < 0:
                raise ValueError(f"score weight {key!r} must be non-negative, got {weight!r}")
        if not any(weight > 0 for weight in data.values()):
            raise ValueError(f"at least one score weight must be positive, got {dict(data)!r}")
        return {name: float(data[name]) for name in SCORER_NAMES if name in data}

    @property
    def weights(self) -> dict[ScorerName, float]:
        """The given weights (zeros included) in canonical scorer order."""
        return dict(self.root)

    def as_dict(self) -> dict[ScorerName, float]:
        """Return the plain ``{scorer name: weight}`` mapping (a copy, canonical order)."""
        return dict(self.root)

    def to_wire(self) -> dict[str, float]:
        """Return the wire form: the bare mapping of the given weights."""
        return {str(name): weight for name, weight in self.root.items()}


class ScorerPreset(WireModel):
    """A named scorer preset, optionally with its own weights: ``{"name", "weights"}``.

    Presets: trajectory_only, planner, executor, sequential, specialist, test_case_builder.
    Positive ``weights`` must name only scorers the preset allows.
    """

    name: ScorerPresetName
    weights: ScoreWeights | None = None

    @model_validator(mode="after")
    def _check_allowed(self) -> ScorerPreset:
        if self.weights is not None:
            _check_allowed_scorers(self.name, self.weights.weights)
        return self


def _check_allowed_scorers(preset: ScorerPresetName, weights: Mapping[ScorerName, float]) -> None:
    allowed = PRESET_ALLOWED_SCORERS[preset]
    refused = [name for name, weight in weights.items() if weight > 0 and name not in allowed]
    if refused:
        raise SpecValueError(
            f"scorer preset {preset!r} does not allow weighting {', '.join(refused)}; "
            f"allowed scorers: {', '.join(allowed)}"
        )


def define_scorer_preset(
    name: ScorerPresetName, *, weights: ScoreWeights | Mapping[str, float] | None = None
) -> ScorerPreset:
    """Select a scorer preset, optionally overriding its default weights.

    Args:
        name: trajectory_only, planner, executor, sequential, specialist or test_case_builder.
        weights: Explicit weights; only scorers the preset allows may be positive.

    Returns:
        The frozen :class:`ScorerPreset`.

    Raises:
        pydantic.ValidationError: an unknown preset name, invalid weights or a weight on a
            scorer the preset does not allow.
    """
    return ScorerPreset.model_validate({"name": name, "weights": weights})


def _normalise(weights: Mapping[ScorerName, float]) -> dict[ScorerName, float]:
    positive = {name: weight for name, weight in weights.items() if weight > 0}
    total = sum(positive.values())
    return {name: positive[name] / total for name in SCORER_NAMES if name in positive}


@dataclass(frozen=True)
class ScoringPlan:
    """Resolved scorer preset and normalised weights for a set of test cases.

    Attributes:
        preset: The preset in force.
        weights: Normalised positive weights in canonical order (the artifact's
            ``metadata.scoreWeights``).
        explicit: Weights came from the caller rather than the preset defaults.
        executor_trajectory_default: The executor default with a trajectory share was used;
            cases without an expected trajectory then drop the trajectory scorer.
        offline: Resolved for ``score_sample``, which always keeps the trajectory scorer.
    """

    preset: ScorerPresetName
    weights: dict[ScorerName, float]
    explicit: bool
    executor_trajectory_default: bool = False
    offline: bool = False

    def case_weights(self, case: EvalTestCase) -> dict[ScorerName, float]:
        """Weights of the scorers that have evidence in ``case``, renormalised.

        Args:
            case: The test case being scored.

        Returns:
            Normalised weights in canonical order; never empty.
        """
        authored = set(case.authored_scorers())
        has_trajectory = "trajectory" in authored
        kept: dict[ScorerName, float] = {}
        for name, weight in self.weights.items():
            if name == "trajectory":
                keep = self.offline or has_trajectory or not self.executor_trajectory_default
            else:
                keep = name in authored
            if keep:
                kept[name] = weight
        if not kept:
            kept = {
                name: weight
                for name, weight in self.weights.items()
                if name != "trajectory" or has_trajectory
            } or dict(self.weights)
        return _normalise(kept)


def _preset_name(value: Any) -> ScorerPresetName:
    if value not in _PRESET_NAMES:
        raise SpecValueError(
            f"unknown scorer preset {value!r}; accepted: {', '.join(_PRESET_NAMES)}"
        )
    name: ScorerPresetName = value
    return name


def _mode_name(value: Any) -> EvalMode:
    if value not in MODE_PRESETS:
        raise SpecValueError(f"unknown eval mode {value!r}; accepted: {', '.join(MODE_PRESETS)}")
    mode: EvalMode = value
    return mode


def _choose_preset(
    scorer_preset: ScorerPresetName | None, mode: EvalMode | None, *, offline: bool
) -> ScorerPresetName:
    if offline:
        if scorer_preset is None:
            return MODE_PRESETS[mode] if mode is not None else "sequential"
        if mode is not None and scorer_preset == "trajectory_only":
            raise SpecValueError(
                "scorerPreset='trajectory_only' is valid only when mode is omitted "
                f"(got mode {mode!r})"
            )
        if mode is not None and scorer_preset != MODE_PRESETS[mode]:
            raise SpecValueError(
                f"mode {mode!r} conflicts with scorerPreset {scorer_preset!r} (mode {mode!r} "
                f"scores with preset {MODE_PRESETS[mode]!r})"
            )
        return scorer_preset
    if mode is None:
        raise SpecValueError("an eval run needs a mode to choose its scorer preset")
    preset = scorer_preset or MODE_PRESETS[mode]
    if (preset == "specialist") != (mode == "specialist"):
        raise SpecValueError(
            f"mode {mode!r} conflicts with scorerPreset {preset!r} (the specialist preset goes "
            "with mode 'specialist' only)"
        )
    return preset


def _default_weights(
    preset: ScorerPresetName, cases: Sequence[EvalTestCase]
) -> tuple[dict[ScorerName, float], bool]:
    """Return the preset's default weights and whether the executor-with-trajectory default
    was used."""
    if preset == "specialist":
        authored: set[ScorerName] = set()
        for case in cases:
            own = case.authored_scorers()
            if not own:
                raise SpecValueError(
                    f"specialist eval test case {case.id!r} has no scoreable expectations; "
                    "author expectedTrajectory, finalResponse, plannedActions, or "
                    "executedActions, or configure explicit scoreWeights"
                )
            authored.update(own)
        return {name: 1.0 for name in SCORER_NAMES if name in authored}, False
    if preset == "executor":
        if any(case.expected_trajectory is not None for case in cases):
            weights: dict[ScorerName, float] = {"trajectory": 0.2, "executed_actions": 0.8}
            with_trajectory = True
        else:
            weights, with_trajectory = {"executed_actions": 1.0}, False
    else:
        weights, with_trajectory = dict(_FIXED_DEFAULTS[preset]), False
    if any(case.final_response is not None for case in cases):
        weights["final_response"] = _DEFAULT_FINAL_RESPONSE_WEIGHT
    return weights, with_trajectory


def resolve_scoring_plan(
    test_cases: Sequence[EvalTestCase],
    *,
    mode: EvalMode | None,
    scorer_preset: ScorerPresetName | ScorerPreset | None = None,
    score_weights: ScoreWeights | Mapping[str, float] | None = None,
    config_score_weights: ScoreWeights | None = None,
    offline: bool = False,
    check_runtime_support: bool = True,
) -> ScoringPlan:
    """Resolve the scorer preset and weights.

    Preset: ``scorer_preset``, else the mode's. Offline (``score_sample``) the fallback is
    ``sequential``, and ``trajectory_only`` with a mode or a preset contradicting the mode is
    refused. For runs the specialist preset goes with the specialist mode only, and (when
    ``check_runtime_support``) ``trajectory_only`` and mode ``testCaseBuilder`` are refused as
    offline-only. Weights: ``score_weights`` (or the preset's own, not both), else
    ``config_score_weights``, else the preset defaults (plus ``final_response`` 0.5 when a
    case authors one). Zeros are dropped and the rest normalised.

    Args:
        test_cases: The cases to be scored (defaults depend on what they author).
        mode: The eval mode (``None`` only offline).
        scorer_preset: A preset name or :class:`ScorerPreset`.
        score_weights: Explicit weights from the request or the caller.
        config_score_weights: Weights from ``EvalConfig.score_weights``.
        offline: Apply the ``score_sample`` rules.
        check_runtime_support: Refuse offline-only presets and modes (runs only).

    Returns:
        The :class:`ScoringPlan`.

    Raises:
        SpecValueError: any rule above is broken, a weight names a scorer the preset does not
            allow, a case authors ``final_response`` under ``trajectory_only``, explicit
            specialist weights include ``final_response`` that a case does not author, or the
            specialist defaults meet a case authoring nothing.
    """
    preset_weights: ScoreWeights | None = None
    if isinstance(scorer_preset, ScorerPreset):
        preset_name: ScorerPresetName | None = scorer_preset.name
        preset_weights = scorer_preset.weights
    else:
        preset_name = None if scorer_preset is None else _preset_name(scorer_preset)
    checked_mode = None if mode is None else _mode_name(mode)
    if preset_weights is not None and score_weights is not None:
        raise SpecValueError(
            "weights were given twice: by the scorer preset and by score_weights; pass one"
        )
    preset = _choose_preset(preset_name, checked_mode, offline=offline)
    if not offline and check_runtime_support and preset == "trajectory_only":
        raise SpecValueError("scorer preset 'trajectory_only' is only available offline")
    if not offline and check_runtime_support and checked_mode == "testCaseBuilder":
        raise SpecValueError("mode 'testCaseBuilder' is only available offline")
    if preset == "trajectory_only":
        _refuse_final_responses(test_cases)
    explicit = preset_weights or _as_weights(score_weights) or config_score_weights
    with_trajectory = False
    if explicit is not None:
        weights = explicit.weights
        _check_allowed_scorers(preset, weights)
        if preset == "specialist" and weights.get("final_response", 0) > 0:
            _require_final_responses(test_cases)
    else:
        weights, with_trajectory = _default_weights(preset, test_cases)
    return ScoringPlan(
        preset=preset,
        weights=_normalise(weights),
        explicit=explicit is not None,
        executor_trajectory_default=with_trajectory,
        offline=offline,
    )


def _refuse_final_responses(test_cases: Sequence[EvalTestCase]) -> None:
    for case in test_cases:
        if case.final_response is not None:
            raise SpecValueError(
                f"scorer preset 'trajectory_only' cannot score final_response, but test "
                f"case {case.id!r} authors one"
            )


def _require_final_responses(test_cases: Sequence[EvalTestCase]) -> None:
    for case in test_cases:
        if case.final_response is None:
            raise SpecValueError(
                f"specialist scorer 'final_response' requires test case {case.id!r} to "
                "author finalResponse"
            )


def _as_weights(value: ScoreWeights | Mapping[str, float] | None) -> ScoreWeights | None:
    if value is None or isinstance(value, ScoreWeights):
        return value
    return ScoreWeights.model_validate(value)
