"""Plan kinds: the typed body a planner stores and an executor carries out.

A ``PlanSpec`` names a plan kind and the JSON Schema of its whole body (a top-level ``actions``
array plus any context fields). Display aliases rename lifecycle statuses for presentation only.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator

from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.schema import normalize_schema

__all__ = [
    "PLAN_STATUSES",
    "PlanDisplayAlias",
    "PlanSpec",
    "PlanStatus",
    "define_plan",
]

PlanStatus = Literal["draft", "approved", "executing", "executed", "failed"]
PLAN_STATUSES: tuple[str, ...] = typing.get_args(PlanStatus)


class PlanDisplayAlias(WireModel):
    """A presentation name for one stored plan status: ``{"status", "alias"}`` on the wire."""

    status: PlanStatus
    alias: str

    @field_validator("status", mode="before")
    @classmethod
    def _check_status(cls, value: Any) -> Any:
        if value not in PLAN_STATUSES:
            raise ValueError(
                f"unsupported plan display status {value!r}; "
                f"expected one of: {', '.join(PLAN_STATUSES)}"
            )
        return value


class PlanSpec(WireModel):
    """A plan kind: ``{"name", "schema", "displayAliases"}`` on the wire."""

    name: str = Field(min_length=1)
    schema_: dict[str, Any] = Field(alias="schema")
    display_aliases: list[PlanDisplayAlias] = Field(default_factory=list)

    @field_validator("schema_", mode="before")
    @classmethod
    def _normalize_schema(cls, value: Any) -> dict[str, Any]:
        return normalize_schema(value)

    @field_validator("display_aliases", mode="before")
    @classmethod
    def _coerce_display_aliases(cls, value: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, PlanDisplayAlias):
            return [value]
        if isinstance(value, Mapping):
            return [{"status": status, "alias": alias} for status, alias in value.items()]
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            return list(value)
        raise ValueError(
            "display_aliases must be None, a {status: alias} mapping or an iterable of "
            f"PlanDisplayAlias / {{'status', 'alias'}} mappings; got {type(value).__name__}"
        )

    @field_validator("display_aliases")
    @classmethod
    def _reject_duplicate_statuses(cls, value: list[PlanDisplayAlias]) -> list[PlanDisplayAlias]:
        seen: set[str] = set()
        for entry in value:
            if entry.status in seen:
                raise ValueError(
                    f"duplicate plan display status {entry.status!r}; give each status at most "
                    "one alias"
                )
            seen.add(entry.status)
        return value


def define_plan(name: str, schema: Any, display_aliases: Any = ()) -> PlanSpec:
    """Declare a plan kind shared by a planner and an executor.

    Example: ``define_plan("Promo", PromoPlan, {"draft": "Proposed"})``.

    Args:
        name: The plan kind; ``storePlan`` names it as ``specName``.
        schema: Schema of the whole plan body, any input :func:`normalize_schema` accepts; the
            body must have a top-level ``actions`` array (checked when a plan is stored).
        display_aliases: ``None``, a ``{status: alias}`` mapping, or an iterable of
            ``PlanDisplayAlias`` objects or ``{"status", "alias"}`` mappings. Statuses are
            ``draft``, ``approved``, ``executing``, ``executed`` and ``failed``.

    Returns:
        A frozen ``PlanSpec``.

    Raises:
        pydantic.ValidationError: an empty name, a malformed JSON Schema dict, or a display alias
            with an unsupported or repeated status.
        SpecTypeError: a schema input :func:`normalize_schema` cannot turn into JSON Schema.
    """
    return PlanSpec.model_validate(
        {"name": name, "schema": schema, "displayAliases": display_aliases}
    )
