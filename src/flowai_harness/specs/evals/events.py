"""The eval event envelope of ``stream_eval``: flat on the wire, typed in Python.

Wire shape (``sequence`` from 0, -1 for an error raised before the stream started)::

    {"runId", "sequence", "type", "data"}

    evalStarted / evalCompleted  data {"artifact": EvalArtifact}
    testCaseStarted              data {"testCaseId": str}
    sampleCompleted              data {"sample": SampleArtifact}
    testCaseCompleted            data {"testCase": TestCaseArtifact}
    evalFailed                   data {"error": str}
    evalCancelled                data {"reason": str}

In Python the envelope holds ``run_id``, ``sequence`` and ``event``, whose ``type`` selects the
typed ``data`` model (``envelope.event.data.artifact`` is an :class:`EvalArtifact`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import EvalEventType
from flowai_harness.specs.evals.artifacts import EvalArtifact, SampleArtifact, TestCaseArtifact

__all__ = [
    "EvalArtifactData",
    "EvalCancelledData",
    "EvalCancelledEvent",
    "EvalCompletedEvent",
    "EvalEvent",
    "EvalFailedData",
    "EvalFailedEvent",
    "EvalStartedEvent",
    "HarnessEvalEventEnvelope",
    "SampleCompletedData",
    "SampleCompletedEvent",
    "TestCaseCompletedData",
    "TestCaseCompletedEvent",
    "TestCaseStartedData",
    "TestCaseStartedEvent",
]


class EvalArtifactData(WireModel):
    """Data of ``evalStarted`` (no cases, zeroed summary) and ``evalCompleted``."""

    artifact: EvalArtifact


class TestCaseStartedData(WireModel):
    """Data of ``testCaseStarted``: ``{"testCaseId"}``."""

    __test__ = False  # not a pytest test class despite the name

    test_case_id: str


class SampleCompletedData(WireModel):
    """Data of ``sampleCompleted``: ``{"sample"}``."""

    sample: SampleArtifact


class TestCaseCompletedData(WireModel):
    """Data of ``testCaseCompleted``: ``{"testCase"}``."""

    __test__ = False

    test_case: TestCaseArtifact


class EvalFailedData(WireModel):
    """Data of ``evalFailed``: ``{"error"}``, the reason the eval stopped."""

    error: str


class EvalCancelledData(WireModel):
    """Data of ``evalCancelled``: ``{"reason"}``."""

    reason: str


class EvalStartedEvent(WireModel):
    """``{"type": "evalStarted", "data": {"artifact"}}``."""

    type: Literal["evalStarted"] = "evalStarted"
    data: EvalArtifactData


class TestCaseStartedEvent(WireModel):
    """``{"type": "testCaseStarted", "data": {"testCaseId"}}``."""

    __test__ = False

    type: Literal["testCaseStarted"] = "testCaseStarted"
    data: TestCaseStartedData


class SampleCompletedEvent(WireModel):
    """``{"type": "sampleCompleted", "data": {"sample"}}``."""

    type: Literal["sampleCompleted"] = "sampleCompleted"
    data: SampleCompletedData


class TestCaseCompletedEvent(WireModel):
    """``{"type": "testCaseCompleted", "data": {"testCase"}}``."""

    __test__ = False

    type: Literal["testCaseCompleted"] = "testCaseCompleted"
    data: TestCaseCompletedData


class EvalCompletedEvent(WireModel):
    """``{"type": "evalCompleted", "data": {"artifact"}}``."""

    type: Literal["evalCompleted"] = "evalCompleted"
    data: EvalArtifactData


class EvalFailedEvent(WireModel):
    """``{"type": "evalFailed", "data": {"error"}}``."""

    type: Literal["evalFailed"] = "evalFailed"
    data: EvalFailedData


class EvalCancelledEvent(WireModel):
    """``{"type": "evalCancelled", "data": {"reason"}}``."""

    type: Literal["evalCancelled"] = "evalCancelled"
    data: EvalCancelledData


#: One eval event, chosen by its ``type``.
EvalEvent = Annotated[
    EvalStartedEvent
    | TestCaseStartedEvent
    | SampleCompletedEvent
    | TestCaseCompletedEvent
    | EvalCompletedEvent
    | EvalFailedEvent
    | EvalCancelledEvent,
    Field(discriminator="type"),
]


class HarnessEvalEventEnvelope(WireModel):
    """One event of ``stream_eval``: flat ``{"runId", "sequence", "type", "data"}`` on the wire.

    Validate the flat dict with ``model_validate``; the Python attributes are ``run_id``,
    ``sequence`` and ``event`` (``event.type`` and the typed ``event.data``). ``type`` and
    ``data`` are also readable on the envelope itself. Unknown data keys are rejected.
    Dumps (``model_dump``, ``model_dump_json``, :meth:`to_wire`) are flat again.
    """

    run_id: str
    sequence: int = Field(ge=-1)
    event: EvalEvent

    @model_validator(mode="before")
    @classmethod
    def _nest_the_flat_form(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "event" not in data and "type" in data:
            flat = dict(data)
            event = {"type": flat.pop("type"), "data": flat.pop("data", None)}
            return {**flat, "event": event}
        return data

    @model_serializer(mode="wrap")
    def _flatten(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        event = dumped.pop("event")
        return {**dumped, "type": event["type"], "data": event["data"]}

    @property
    def type(self) -> EvalEventType:
        """The event type (the same as ``event.type``)."""
        kind: EvalEventType = self.event.type
        return kind

    @property
    def data(self) -> WireModel:
        """The typed event data (the same as ``event.data``)."""
        return self.event.data
