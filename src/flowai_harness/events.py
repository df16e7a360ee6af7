"""Typed runtime events and their public dict form.

Inside the engine every event is one of the small classes below. They become plain dicts (a
``type`` tag, camelCase keys, plus the run's ``sequence`` number) in exactly one place,
:meth:`RuntimeEvent.to_dict`, when the stream hands them to the consumer. The shape of each
dict is a ``TypedDict`` of :mod:`flowai_harness.event_dicts`, which type-checks every
``_wire`` below.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal

import orjson
from typing_extensions import TypeVar

from flowai_harness.event_dicts import (
    ApprovalDecisionData,
    ApprovalDecisionEventDict,
    ApprovalOutcomeDict,
    ApprovalRequestDict,
    ApprovalRequiredEventDict,
    BudgetWarningEventDict,
    CostSummaryData,
    CostSummaryEventDict,
    CustomEventDict,
    ErrorDetailDict,
    ErrorEventDict,
    EventDict,
    FileRegisteredEventDict,
    FinishEventDict,
    FinishReason,
    FlowUiEventDict,
    LatencySummaryData,
    LatencySummaryEventDict,
    PlanStatusChangeEventDict,
    ReasoningEventDict,
    StepStartEventDict,
    TextEventDict,
    TokenUsageDict,
    ToolAgentEventDict,
    ToolAgentUsageEventDict,
    ToolCallEventDict,
    ToolProgressEventDict,
    ToolResultEventDict,
    ToolTimingDict,
)

__all__ = [
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalRequired",
    "BudgetWarning",
    "CostSummary",
    "CustomEvent",
    "ErrorEvent",
    "EventDict",
    "FileRegistered",
    "Finish",
    "FinishReason",
    "FlowUi",
    "LatencySummary",
    "PlanStatusChange",
    "Reasoning",
    "RuntimeEvent",
    "StepStart",
    "Text",
    "TokenUsage",
    "ToolAgent",
    "ToolAgentUsage",
    "ToolInvocationCall",
    "ToolInvocationResult",
    "ToolProgress",
    "ToolTiming",
    "json_copy",
]

_SCALARS = (str, int, float, bool)


def json_copy(value: Any) -> Any:
    """Return an independent copy of JSON data (fast path through orjson).

    Event dicts carry tool arguments, results, plans and approval payloads that are shared with
    user code; each dict gets its own copy so that neither side can change what the other saw.
    """
    if value is None or isinstance(value, _SCALARS):
        return value
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits and other values orjson refuses
        return copy.deepcopy(value)


@dataclass(slots=True)
class TokenUsage:
    """Token counts of one agent invocation (cache counts are subsets of ``prompt_tokens``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    #: priced cost in USD (live providers with a known price); not part of the usage wire form
    cost_usd: float | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: TokenUsage) -> None:
        """Add ``other`` into this usage in place."""
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens
        if other.cost_usd is not None:
            self.cost_usd = (self.cost_usd or 0.0) + other.cost_usd

    def to_dict(self) -> TokenUsageDict:
        """Return the wire form with all five counters."""
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "cacheReadInputTokens": self.cache_read_input_tokens,
            "cacheCreationInputTokens": self.cache_creation_input_tokens,
            "totalTokens": self.total_tokens,
        }


#: the dict form of one event class (``RuntimeEvent`` alone: any event's)
WireT = TypeVar("WireT", bound=EventDict, default=EventDict, covariant=True)


class RuntimeEvent(ABC, Generic[WireT]):
    """Base of every runtime event; subclasses set ``type`` and implement ``_wire``, typed by
    the ``TypedDict`` of their dict form (``class Text(RuntimeEvent[TextEventDict])``)."""

    __slots__ = ()
    type: ClassVar[str]

    @abstractmethod
    def _wire(self) -> WireT:
        """The event's dict form, without its sequence number."""

    def to_dict(self, sequence: int | None = None) -> WireT:
        """Return the public dict form; ``sequence`` is the per-run sequence number."""
        out = self._wire()
        if sequence is not None:
            out["sequence"] = sequence
        return out


@dataclass(slots=True)
class Text(RuntimeEvent[TextEventDict]):
    """A text delta from a model, or a tool's ``displaySummary``."""

    type: ClassVar[str] = "text"
    text: str

    def _wire(self) -> TextEventDict:
        return {"type": "text", "text": self.text}


@dataclass(slots=True)
class Reasoning(RuntimeEvent[ReasoningEventDict]):
    """A reasoning (thinking) delta from a provider that exposes it."""

    type: ClassVar[str] = "reasoning"
    text: str

    def _wire(self) -> ReasoningEventDict:
        return {"type": "reasoning", "text": self.text}


@dataclass(slots=True)
class StepStart(RuntimeEvent[StepStartEventDict]):
    """The start of one model step (turn)."""

    type: ClassVar[str] = "step-start"

    def _wire(self) -> StepStartEventDict:
        return {"type": "step-start"}

    def to_dict(self, sequence: int | None = None) -> StepStartEventDict:
        """Return the public dict form (hot path: built directly)."""
        if sequence is None:
            return {"type": "step-start"}
        return {"type": "step-start", "sequence": sequence}


@dataclass(slots=True)
class ToolInvocationCall(RuntimeEvent[ToolCallEventDict]):
    """A tool call is about to be dispatched."""

    type: ClassVar[str] = "tool-invocation"
    tool_invocation_id: str
    tool_name: str
    args: Any

    def _wire(self) -> ToolCallEventDict:
        return {
            "type": "tool-invocation",
            "toolInvocationId": self.tool_invocation_id,
            "toolName": self.tool_name,
            "args": json_copy(self.args),
            "state": "call",
        }


@dataclass(slots=True)
class ToolInvocationResult(RuntimeEvent[ToolResultEventDict]):
    """A tool call finished; ``result`` is the content returned to the model."""

    type: ClassVar[str] = "tool-invocation"
    tool_invocation_id: str
    tool_name: str
    args: Any
    result: Any

    def _wire(self) -> ToolResultEventDict:
        args, result = json_copy([self.args, self.result])  # one copy of the payload
        return {
            "type": "tool-invocation",
            "toolInvocationId": self.tool_invocation_id,
            "toolName": self.tool_name,
            "args": args,
            "state": "result",
            "result": result,
        }


@dataclass(slots=True)
class ToolProgress(RuntimeEvent[ToolProgressEventDict]):
    """Progress of a long-running tool."""

    type: ClassVar[str] = "tool-progress"
    tool_name: str
    label: str
    phase_index: int
    total_phases: int
    tool_call_id: str | None = None
    milestone: Any = None

    def _wire(self) -> ToolProgressEventDict:
        # Key order as on the wire: toolCallId (when set) comes right after toolName.
        out: ToolProgressEventDict
        if self.tool_call_id is not None:
            out = {
                "type": "tool-progress",
                "toolName": self.tool_name,
                "toolCallId": self.tool_call_id,
                "label": self.label,
                "phaseIndex": self.phase_index,
                "totalPhases": self.total_phases,
            }
        else:
            out = {
                "type": "tool-progress",
                "toolName": self.tool_name,
                "label": self.label,
                "phaseIndex": self.phase_index,
                "totalPhases": self.total_phases,
            }
        if self.milestone is not None:
            out["milestone"] = json_copy(self.milestone)
        return out


@dataclass(slots=True)
class ToolAgent(RuntimeEvent[ToolAgentEventDict]):
    """Start (``call``) or successful end (``result``) of an agent invocation."""

    type: ClassVar[str] = "tool-agent"
    agent_name: str
    tool_invocation_id: str
    state: Literal["call", "result"]

    def _wire(self) -> ToolAgentEventDict:
        return {
            "type": "tool-agent",
            "agentName": self.agent_name,
            "toolInvocationId": self.tool_invocation_id,
            "state": self.state,
        }


@dataclass(slots=True)
class ToolAgentUsage(RuntimeEvent[ToolAgentUsageEventDict]):
    """Usage of one agent invocation (``data-tool-agent``)."""

    type: ClassVar[str] = "data-tool-agent"
    agent_name: str
    model: str
    usage: TokenUsage

    def _wire(self) -> ToolAgentUsageEventDict:
        return {
            "type": "data-tool-agent",
            "data": {
                "agentName": self.agent_name,
                "model": self.model,
                "usage": self.usage.to_dict(),
            },
        }


@dataclass(slots=True)
class ApprovalRequest:
    """A pending approval as shown in ``approval-required`` events."""

    id: str
    kind: Literal["tool", "plan"]
    target: str
    payload: Any
    resource_id: str
    thread_id: str
    correlation_id: str | None = None
    glimpse: Any = None
    #: what the run had used when it asked (tokens, cost, model and tool calls)
    run_usage: dict[str, Any] | None = None

    def to_dict(self) -> ApprovalRequestDict:
        """Return the wire form (``correlationId`` / ``glimpse`` / ``runUsage`` omitted when
        unset)."""
        out: ApprovalRequestDict = {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "payload": json_copy(self.payload),
            "resourceId": self.resource_id,
            "threadId": self.thread_id,
        }
        if self.correlation_id is not None:
            out["correlationId"] = self.correlation_id
        if self.glimpse is not None:
            out["glimpse"] = json_copy(self.glimpse)
        if self.run_usage is not None:
            out["runUsage"] = dict(self.run_usage)
        return out


@dataclass(slots=True)
class ApprovalRequired(RuntimeEvent[ApprovalRequiredEventDict]):
    """A gate registered a pending approval and waits for ``respond_to_approval``."""

    type: ClassVar[str] = "approval-required"
    request: ApprovalRequest

    def _wire(self) -> ApprovalRequiredEventDict:
        return {"type": "approval-required", "data": self.request.to_dict()}


@dataclass(slots=True)
class ApprovalDecision(RuntimeEvent[ApprovalDecisionEventDict]):
    """A gate woke up with the host's decision."""

    type: ClassVar[str] = "approval-decision"
    approval_id: str
    outcome: Literal["approve", "reject", "revise"]
    feedback: str | None = None
    partial: Any = None

    def _wire(self) -> ApprovalDecisionEventDict:
        outcome: ApprovalOutcomeDict = {"outcome": self.outcome}
        if self.outcome == "revise":
            outcome["partial"] = json_copy(self.partial)
        data: ApprovalDecisionData = {"id": self.approval_id, "outcome": outcome}
        if self.feedback is not None:
            data["feedback"] = self.feedback
        return {"type": "approval-decision", "data": data}


@dataclass(slots=True)
class PlanStatusChange(RuntimeEvent[PlanStatusChangeEventDict]):
    """A plan moved between statuses (``pending_approval`` is display-only)."""

    type: ClassVar[str] = "plan-status-change"
    plan_id: str
    from_status: str
    to_status: str

    def _wire(self) -> PlanStatusChangeEventDict:
        return {
            "type": "plan-status-change",
            "data": {"planId": self.plan_id, "from": self.from_status, "to": self.to_status},
        }


@dataclass(slots=True)
class FlowUi(RuntimeEvent[FlowUiEventDict]):
    """A tool result carried an ``approvalDsl`` UI payload."""

    type: ClassVar[str] = "data-flow-ui"
    dsl: str

    def _wire(self) -> FlowUiEventDict:
        return {"type": "data-flow-ui", "data": {"dsl": self.dsl}}


@dataclass(slots=True)
class FileRegistered(RuntimeEvent[FileRegisteredEventDict]):
    """A file was registered for a thread."""

    type: ClassVar[str] = "data-file-registered"
    file_id: str
    filename: str
    thread_id: str
    timestamp: str

    def _wire(self) -> FileRegisteredEventDict:
        return {
            "type": "data-file-registered",
            "data": {
                "fileId": self.file_id,
                "filename": self.filename,
                "threadId": self.thread_id,
                "timestamp": self.timestamp,
            },
        }


@dataclass(slots=True)
class CostSummary(RuntimeEvent[CostSummaryEventDict]):
    """Usage (and cost, when priced) per agent at the end of a provider-backed invocation."""

    type: ClassVar[str] = "data-cost-summary"
    agents: list[dict[str, Any]]
    usage: TokenUsage
    total_cost_usd: float | None = None

    def _wire(self) -> CostSummaryEventDict:
        data: CostSummaryData = {
            "agents": self.agents,
            "totalPromptTokens": self.usage.prompt_tokens,
            "totalCompletionTokens": self.usage.completion_tokens,
            "totalCacheReadInputTokens": self.usage.cache_read_input_tokens,
            "totalCacheCreationInputTokens": self.usage.cache_creation_input_tokens,
            "totalTokens": self.usage.total_tokens,
        }
        if self.total_cost_usd is not None:
            data["totalCostUsd"] = self.total_cost_usd
        return {"type": "data-cost-summary", "data": data}


@dataclass(slots=True)
class BudgetWarning(RuntimeEvent[BudgetWarningEventDict]):
    """A run has used 80 % of one of its budget limits (emitted once per limit)."""

    type: ClassVar[str] = "data-budget-warning"
    limit: str
    used: float
    max: float
    run_usage: dict[str, Any]

    def _wire(self) -> BudgetWarningEventDict:
        return {
            "type": "data-budget-warning",
            "data": {
                "limit": self.limit,
                "used": self.used,
                "max": self.max,
                "runUsage": self.run_usage,
            },
        }


@dataclass(slots=True)
class ToolTiming:
    """How long one tool call took."""

    tool_name: str
    tool_call_id: str
    duration_ms: int
    status: Literal["completed", "error"]
    payload_size: int | None = None

    def to_dict(self) -> ToolTimingDict:
        """Return the wire form (``payloadSize`` omitted when unknown)."""
        out: ToolTimingDict = {
            "toolName": self.tool_name,
            "toolCallId": self.tool_call_id,
            "durationMs": self.duration_ms,
            "status": self.status,
        }
        if self.payload_size is not None:
            out["payloadSize"] = self.payload_size
        return out


@dataclass(slots=True)
class LatencySummary(RuntimeEvent[LatencySummaryEventDict]):
    """Where the time of one agent invocation went."""

    type: ClassVar[str] = "data-latency-summary"
    total_duration_ms: int = 0
    llm_time_ms: int = 0
    tool_time_ms: int = 0
    sub_agent_time_ms: int = 0
    llm_calls: int = 0
    tool_timings: list[ToolTiming] = field(default_factory=list)
    retry_count: int = 0
    had_timeout: bool = False
    ttft_ms: int | None = None
    retry_events: list[dict[str, Any]] = field(default_factory=list)

    def _wire(self) -> LatencySummaryEventDict:
        data: LatencySummaryData = {
            "totalDurationMs": self.total_duration_ms,
            "phases": {
                "llmTimeMs": self.llm_time_ms,
                "toolTimeMs": self.tool_time_ms,
                "subAgentTimeMs": self.sub_agent_time_ms,
                "llmCalls": self.llm_calls,
            },
            "toolTimings": [t.to_dict() for t in self.tool_timings],
            "retryCount": self.retry_count,
            "hadTimeout": self.had_timeout,
        }
        if self.ttft_ms is not None:
            data["ttftMs"] = self.ttft_ms
        if self.retry_events:
            data["retryEvents"] = self.retry_events
        return {"type": "data-latency-summary", "data": data}


@dataclass(slots=True)
class Finish(RuntimeEvent[FinishEventDict]):
    """End of one agent invocation's model stream, with its total usage."""

    type: ClassVar[str] = "finish"
    finish_reason: FinishReason
    usage: TokenUsage

    def _wire(self) -> FinishEventDict:
        return {"type": "finish", "finishReason": self.finish_reason, "usage": self.usage.to_dict()}


@dataclass(slots=True)
class ErrorEvent(RuntimeEvent[ErrorEventDict]):
    """A failure; ``code`` is omitted from the wire when unset."""

    type: ClassVar[str] = "error"
    message: str
    code: str | None = None

    def _wire(self) -> ErrorEventDict:
        err: ErrorDetailDict = {"message": self.message}
        if self.code is not None:
            err["code"] = self.code
        return {"type": "error", "error": err}


@dataclass(slots=True)
class CustomEvent(RuntimeEvent[CustomEventDict]):
    """An extension event (note the snake_case ``event_type`` key of the wire form)."""

    type: ClassVar[str] = "custom"
    event_type: str
    data: Any = None

    def _wire(self) -> CustomEventDict:
        return {"type": "custom", "event_type": self.event_type, "data": json_copy(self.data)}
