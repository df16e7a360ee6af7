"""Typed runtime events and their public dict form.

Inside the engine every event is one of the small classes below. They become plain dicts (a
``type`` tag, camelCase keys, plus the run's ``sequence`` number) in exactly one place,
:meth:`RuntimeEvent.to_dict`, when the stream hands them to the consumer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import orjson

__all__ = [
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalRequired",
    "BudgetWarning",
    "CostSummary",
    "CustomEvent",
    "ErrorEvent",
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


FinishReason = Literal["stop", "tool-calls", "length", "content-filter", "error"]


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

    def to_dict(self) -> dict[str, int]:
        """Return the wire form with all five counters."""
        return {
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "cacheReadInputTokens": self.cache_read_input_tokens,
            "cacheCreationInputTokens": self.cache_creation_input_tokens,
            "totalTokens": self.total_tokens,
        }


class RuntimeEvent:
    """Base of every runtime event; subclasses set ``type`` and implement ``_fields``."""

    __slots__ = ()
    type: ClassVar[str]

    def _fields(self) -> dict[str, Any]:
        return {}

    def to_dict(self, sequence: int | None = None) -> dict[str, Any]:
        """Return the public dict form; ``sequence`` is the per-run sequence number."""
        out: dict[str, Any] = {"type": self.type}
        out.update(self._fields())
        if sequence is not None:
            out["sequence"] = sequence
        return out


@dataclass(slots=True)
class Text(RuntimeEvent):
    """A text delta from a model, or a tool's ``displaySummary``."""

    type: ClassVar[str] = "text"
    text: str

    def _fields(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(slots=True)
class Reasoning(RuntimeEvent):
    """A reasoning (thinking) delta from a provider that exposes it."""

    type: ClassVar[str] = "reasoning"
    text: str

    def _fields(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(slots=True)
class StepStart(RuntimeEvent):
    """The start of one model step (turn)."""

    type: ClassVar[str] = "step-start"

    def to_dict(self, sequence: int | None = None) -> dict[str, Any]:
        """Return the public dict form (hot path: built directly)."""
        if sequence is None:
            return {"type": "step-start"}
        return {"type": "step-start", "sequence": sequence}


@dataclass(slots=True)
class ToolInvocationCall(RuntimeEvent):
    """A tool call is about to be dispatched."""

    type: ClassVar[str] = "tool-invocation"
    tool_invocation_id: str
    tool_name: str
    args: Any

    def to_dict(self, sequence: int | None = None) -> dict[str, Any]:
        """Return the public dict form (hot path: built directly)."""
        out = {
            "type": "tool-invocation",
            "toolInvocationId": self.tool_invocation_id,
            "toolName": self.tool_name,
            "args": json_copy(self.args),
            "state": "call",
        }
        if sequence is not None:
            out["sequence"] = sequence
        return out


@dataclass(slots=True)
class ToolInvocationResult(RuntimeEvent):
    """A tool call finished; ``result`` is the content returned to the model."""

    type: ClassVar[str] = "tool-invocation"
    tool_invocation_id: str
    tool_name: str
    args: Any
    result: Any

    def to_dict(self, sequence: int | None = None) -> dict[str, Any]:
        """Return the public dict form (hot path: built directly, one copy of the payload)."""
        args, result = json_copy([self.args, self.result])
        out = {
            "type": "tool-invocation",
            "toolInvocationId": self.tool_invocation_id,
            "toolName": self.tool_name,
            "args": args,
            "state": "result",
            "result": result,
        }
        if sequence is not None:
            out["sequence"] = sequence
        return out


@dataclass(slots=True)
class ToolProgress(RuntimeEvent):
    """Progress of a long-running tool."""

    type: ClassVar[str] = "tool-progress"
    tool_name: str
    label: str
    phase_index: int
    total_phases: int
    tool_call_id: str | None = None
    milestone: Any = None

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"toolName": self.tool_name}
        if self.tool_call_id is not None:
            out["toolCallId"] = self.tool_call_id
        out["label"] = self.label
        out["phaseIndex"] = self.phase_index
        out["totalPhases"] = self.total_phases
        if self.milestone is not None:
            out["milestone"] = json_copy(self.milestone)
        return out


@dataclass(slots=True)
class ToolAgent(RuntimeEvent):
    """Start (``call``) or successful end (``result``) of an agent invocation."""

    type: ClassVar[str] = "tool-agent"
    agent_name: str
    tool_invocation_id: str
    state: Literal["call", "result"]

    def _fields(self) -> dict[str, Any]:
        return {
            "agentName": self.agent_name,
            "toolInvocationId": self.tool_invocation_id,
            "state": self.state,
        }


@dataclass(slots=True)
class ToolAgentUsage(RuntimeEvent):
    """Usage of one agent invocation (``data-tool-agent``)."""

    type: ClassVar[str] = "data-tool-agent"
    agent_name: str
    model: str
    usage: TokenUsage

    def _fields(self) -> dict[str, Any]:
        return {
            "data": {
                "agentName": self.agent_name,
                "model": self.model,
                "usage": self.usage.to_dict(),
            }
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

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form (``correlationId`` / ``glimpse`` / ``runUsage`` omitted when
        unset)."""
        out: dict[str, Any] = {
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
class ApprovalRequired(RuntimeEvent):
    """A gate registered a pending approval and waits for ``respond_to_approval``."""

    type: ClassVar[str] = "approval-required"
    request: ApprovalRequest

    def _fields(self) -> dict[str, Any]:
        return {"data": self.request.to_dict()}


@dataclass(slots=True)
class ApprovalDecision(RuntimeEvent):
    """A gate woke up with the host's decision."""

    type: ClassVar[str] = "approval-decision"
    approval_id: str
    outcome: Literal["approve", "reject", "revise"]
    feedback: str | None = None
    partial: Any = None

    def _fields(self) -> dict[str, Any]:
        outcome: dict[str, Any] = {"outcome": self.outcome}
        if self.outcome == "revise":
            outcome["partial"] = json_copy(self.partial)
        data: dict[str, Any] = {"id": self.approval_id, "outcome": outcome}
        if self.feedback is not None:
            data["feedback"] = self.feedback
        return {"data": data}


@dataclass(slots=True)
class PlanStatusChange(RuntimeEvent):
    """A plan moved between statuses (``pending_approval`` is display-only)."""

    type: ClassVar[str] = "plan-status-change"
    plan_id: str
    from_status: str
    to_status: str

    def _fields(self) -> dict[str, Any]:
        return {"data": {"planId": self.plan_id, "from": self.from_status, "to": self.to_status}}


@dataclass(slots=True)
class FlowUi(RuntimeEvent):
    """A tool result carried an ``approvalDsl`` UI payload."""

    type: ClassVar[str] = "data-flow-ui"
    dsl: str

    def _fields(self) -> dict[str, Any]:
        return {"data": {"dsl": self.dsl}}


@dataclass(slots=True)
class FileRegistered(RuntimeEvent):
    """A file was registered for a thread."""

    type: ClassVar[str] = "data-file-registered"
    file_id: str
    filename: str
    thread_id: str
    timestamp: str

    def _fields(self) -> dict[str, Any]:
        return {
            "data": {
                "fileId": self.file_id,
                "filename": self.filename,
                "threadId": self.thread_id,
                "timestamp": self.timestamp,
            }
        }


@dataclass(slots=True)
class CostSummary(RuntimeEvent):
    """Usage (and cost, when priced) per agent at the end of a provider-backed invocation."""

    type: ClassVar[str] = "data-cost-summary"
    agents: list[dict[str, Any]]
    usage: TokenUsage
    total_cost_usd: float | None = None

    def _fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "agents": self.agents,
            "totalPromptTokens": self.usage.prompt_tokens,
            "totalCompletionTokens": self.usage.completion_tokens,
            "totalCacheReadInputTokens": self.usage.cache_read_input_tokens,
            "totalCacheCreationInputTokens": self.usage.cache_creation_input_tokens,
            "totalTokens": self.usage.total_tokens,
        }
        if self.total_cost_usd is not None:
            data["totalCostUsd"] = self.total_cost_usd
        return {"data": data}


@dataclass(slots=True)
class BudgetWarning(RuntimeEvent):
    """A run has used 80 % of one of its budget limits (emitted once per limit)."""

    type: ClassVar[str] = "data-budget-warning"
    limit: str
    used: float
    max: float
    run_usage: dict[str, Any]

    def _fields(self) -> dict[str, Any]:
        return {
            "data": {
                "limit": self.limit,
                "used": self.used,
                "max": self.max,
                "runUsage": self.run_usage,
            }
        }


@dataclass(slots=True)
class ToolTiming:
    """How long one tool call took."""

    tool_name: str
    tool_call_id: str
    duration_ms: int
    status: Literal["completed", "error"]
    payload_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form (``payloadSize`` omitted when unknown)."""
        out: dict[str, Any] = {
            "toolName": self.tool_name,
            "toolCallId": self.tool_call_id,
            "durationMs": self.duration_ms,
            "status": self.status,
        }
        if self.payload_size is not None:
            out["payloadSize"] = self.payload_size
        return out


@dataclass(slots=True)
class LatencySummary(RuntimeEvent):
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

    def _fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {
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
        return {"data": data}


@dataclass(slots=True)
class Finish(RuntimeEvent):
    """End of one agent invocation's model stream, with its total usage."""

    type: ClassVar[str] = "finish"
    finish_reason: FinishReason
    usage: TokenUsage

    def _fields(self) -> dict[str, Any]:
        return {"finishReason": self.finish_reason, "usage": self.usage.to_dict()}


@dataclass(slots=True)
class ErrorEvent(RuntimeEvent):
    """A failure; ``code`` is omitted from the wire when unset."""

    type: ClassVar[str] = "error"
    message: str
    code: str | None = None

    def _fields(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message}
        if self.code is not None:
            err["code"] = self.code
        return {"error": err}


@dataclass(slots=True)
class CustomEvent(RuntimeEvent):
    """An extension event (note the snake_case ``event_type`` key of the wire form)."""

    type: ClassVar[str] = "custom"
    event_type: str
    data: Any = None

    def _fields(self) -> dict[str, Any]:
        return {"event_type": self.event_type, "data": json_copy(self.data)}
