"""The dict form of runtime events, as ``TypedDict``\\ s: what a stream yields.

:meth:`flowai_harness.events.RuntimeEvent.to_dict` builds these; type checkers read a consumer's
``event["toolName"]`` against them. Every event dict has a ``type`` tag and, once the stream
numbers it, a ``sequence`` number. Keys are camelCase except the ``event_type`` of ``custom``
events. ``Any`` marks JSON values that come from tools, plans or the host (arguments, results,
payloads).

Narrow the union :data:`EventDict` on ``type``; the two ``tool-invocation`` forms differ by
``state`` (``"call"`` or ``"result"``).
"""

# No ``from __future__ import annotations`` here: on Python 3.11 ``NotRequired`` keys are only
# told apart from required ones when the annotations are real objects. ``TypedDict`` comes from
# ``typing_extensions`` so that pydantic can validate these on Python 3.11 as well.
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = [
    "ApprovalDecisionData",
    "ApprovalDecisionEventDict",
    "ApprovalOutcomeDict",
    "ApprovalRequestDict",
    "ApprovalRequiredEventDict",
    "BudgetWarningData",
    "BudgetWarningEventDict",
    "CostSummaryData",
    "CostSummaryEventDict",
    "CustomEventDict",
    "ErrorDetailDict",
    "ErrorEventDict",
    "EventDict",
    "FileRegisteredData",
    "FileRegisteredEventDict",
    "FinishEventDict",
    "FinishReason",
    "FlowUiData",
    "FlowUiEventDict",
    "LatencyPhasesDict",
    "LatencySummaryData",
    "LatencySummaryEventDict",
    "PlanStatusChangeData",
    "PlanStatusChangeEventDict",
    "ReasoningEventDict",
    "StepStartEventDict",
    "TextEventDict",
    "TokenUsageDict",
    "ToolAgentEventDict",
    "ToolAgentUsageData",
    "ToolAgentUsageEventDict",
    "ToolCallEventDict",
    "ToolProgressEventDict",
    "ToolResultEventDict",
    "ToolTimingDict",
]

FinishReason = Literal["stop", "tool-calls", "length", "content-filter", "error"]


class TokenUsageDict(TypedDict):
    """Token counts (cache counts are subsets of ``promptTokens``)."""

    promptTokens: int
    completionTokens: int
    cacheReadInputTokens: int
    cacheCreationInputTokens: int
    totalTokens: int


class TextEventDict(TypedDict):
    """``text``: a text delta from a model, or a tool's ``displaySummary``."""

    type: Literal["text"]
    text: str
    sequence: NotRequired[int]


class ReasoningEventDict(TypedDict):
    """``reasoning``: a reasoning (thinking) delta."""

    type: Literal["reasoning"]
    text: str
    sequence: NotRequired[int]


class StepStartEventDict(TypedDict):
    """``step-start``: the start of one model step (turn)."""

    type: Literal["step-start"]
    sequence: NotRequired[int]


class ToolCallEventDict(TypedDict):
    """``tool-invocation`` in state ``call``: a tool call is about to run."""

    type: Literal["tool-invocation"]
    toolInvocationId: str
    toolName: str
    args: Any
    state: Literal["call"]
    sequence: NotRequired[int]


class ToolResultEventDict(TypedDict):
    """``tool-invocation`` in state ``result``: a tool call finished."""

    type: Literal["tool-invocation"]
    toolInvocationId: str
    toolName: str
    args: Any
    state: Literal["result"]
    result: Any
    sequence: NotRequired[int]


class ToolProgressEventDict(TypedDict):
    """``tool-progress``: progress of a long-running tool."""

    type: Literal["tool-progress"]
    toolName: str
    toolCallId: NotRequired[str]
    label: str
    phaseIndex: int
    totalPhases: int
    milestone: NotRequired[Any]
    sequence: NotRequired[int]


class ToolAgentEventDict(TypedDict):
    """``tool-agent``: start (``call``) or successful end (``result``) of an agent invocation."""

    type: Literal["tool-agent"]
    agentName: str
    toolInvocationId: str
    state: Literal["call", "result"]
    sequence: NotRequired[int]


class ToolAgentUsageData(TypedDict):
    """The ``data`` of ``data-tool-agent``."""

    agentName: str
    model: str
    usage: TokenUsageDict


class ToolAgentUsageEventDict(TypedDict):
    """``data-tool-agent``: usage of one agent invocation."""

    type: Literal["data-tool-agent"]
    data: ToolAgentUsageData
    sequence: NotRequired[int]


class ApprovalRequestDict(TypedDict):
    """A pending approval (the ``data`` of ``approval-required``)."""

    id: str
    kind: Literal["tool", "plan"]
    target: str
    payload: Any
    resourceId: str
    threadId: str
    correlationId: NotRequired[str]
    glimpse: NotRequired[Any]
    #: what the run had used when it asked (tokens, cost, model and tool calls)
    runUsage: NotRequired[dict[str, Any]]


class ApprovalRequiredEventDict(TypedDict):
    """``approval-required``: a gate waits for ``respond_to_approval``."""

    type: Literal["approval-required"]
    data: ApprovalRequestDict
    sequence: NotRequired[int]


class ApprovalOutcomeDict(TypedDict):
    """The host's answer; ``partial`` only with ``revise``."""

    outcome: Literal["approve", "reject", "revise"]
    partial: NotRequired[Any]


class ApprovalDecisionData(TypedDict):
    """The ``data`` of ``approval-decision``."""

    id: str
    outcome: ApprovalOutcomeDict
    feedback: NotRequired[str]


class ApprovalDecisionEventDict(TypedDict):
    """``approval-decision``: a gate woke up with the host's decision."""

    type: Literal["approval-decision"]
    data: ApprovalDecisionData
    sequence: NotRequired[int]


# "from" is a Python keyword, hence the functional form. The aliases are the plan kind's
# display names of the two statuses, present only when the kind defines them.
PlanStatusChangeData = TypedDict(
    "PlanStatusChangeData",
    {
        "planId": str,
        "from": str,
        "to": str,
        "fromAlias": NotRequired[str],
        "toAlias": NotRequired[str],
    },
)


class PlanStatusChangeEventDict(TypedDict):
    """``plan-status-change``: a plan moved between statuses."""

    type: Literal["plan-status-change"]
    data: PlanStatusChangeData
    sequence: NotRequired[int]


class FlowUiData(TypedDict):
    """The ``data`` of ``data-flow-ui``."""

    dsl: str


class FlowUiEventDict(TypedDict):
    """``data-flow-ui``: a tool result carried an ``approvalDsl`` UI payload."""

    type: Literal["data-flow-ui"]
    data: FlowUiData
    sequence: NotRequired[int]


class FileRegisteredData(TypedDict):
    """The ``data`` of ``data-file-registered``."""

    fileId: str
    filename: str
    threadId: str
    timestamp: str


class FileRegisteredEventDict(TypedDict):
    """``data-file-registered``: a file was registered for a thread."""

    type: Literal["data-file-registered"]
    data: FileRegisteredData
    sequence: NotRequired[int]


class CostSummaryData(TypedDict):
    """The ``data`` of ``data-cost-summary``; ``totalCostUsd`` only when priced."""

    agents: list[dict[str, Any]]
    totalPromptTokens: int
    totalCompletionTokens: int
    totalCacheReadInputTokens: int
    totalCacheCreationInputTokens: int
    totalTokens: int
    totalCostUsd: NotRequired[float]


class CostSummaryEventDict(TypedDict):
    """``data-cost-summary``: usage and cost per agent."""

    type: Literal["data-cost-summary"]
    data: CostSummaryData
    sequence: NotRequired[int]


class BudgetWarningData(TypedDict):
    """The ``data`` of ``data-budget-warning``."""

    limit: str
    used: float
    max: float
    runUsage: dict[str, Any]


class BudgetWarningEventDict(TypedDict):
    """``data-budget-warning``: a run has used 80 % of one budget limit."""

    type: Literal["data-budget-warning"]
    data: BudgetWarningData
    sequence: NotRequired[int]


class ToolTimingDict(TypedDict):
    """How long one tool call took; ``payloadSize`` only when known."""

    toolName: str
    toolCallId: str
    durationMs: int
    status: Literal["completed", "error"]
    payloadSize: NotRequired[int]


class LatencyPhasesDict(TypedDict):
    """Time per phase of one agent invocation."""

    llmTimeMs: int
    toolTimeMs: int
    subAgentTimeMs: int
    llmCalls: int


class LatencySummaryData(TypedDict):
    """The ``data`` of ``data-latency-summary``."""

    totalDurationMs: int
    phases: LatencyPhasesDict
    toolTimings: list[ToolTimingDict]
    retryCount: int
    hadTimeout: bool
    ttftMs: NotRequired[int]
    retryEvents: NotRequired[list[dict[str, Any]]]


class LatencySummaryEventDict(TypedDict):
    """``data-latency-summary``: where the time of one agent invocation went."""

    type: Literal["data-latency-summary"]
    data: LatencySummaryData
    sequence: NotRequired[int]


class FinishEventDict(TypedDict):
    """``finish``: end of one agent invocation's model stream, with its usage."""

    type: Literal["finish"]
    finishReason: FinishReason
    usage: TokenUsageDict
    sequence: NotRequired[int]


class ErrorDetailDict(TypedDict):
    """What failed; ``code`` only when set."""

    message: str
    code: NotRequired[str]


class ErrorEventDict(TypedDict):
    """``error``: a failure."""

    type: Literal["error"]
    error: ErrorDetailDict
    sequence: NotRequired[int]


class CustomEventDict(TypedDict):
    """``custom``: an extension event (note the snake_case ``event_type`` key)."""

    type: Literal["custom"]
    event_type: str
    data: Any
    sequence: NotRequired[int]


#: Any event a runtime stream yields.
EventDict = (
    TextEventDict
    | ReasoningEventDict
    | StepStartEventDict
    | ToolCallEventDict
    | ToolResultEventDict
    | ToolProgressEventDict
    | ToolAgentEventDict
    | ToolAgentUsageEventDict
    | ApprovalRequiredEventDict
    | ApprovalDecisionEventDict
    | PlanStatusChangeEventDict
    | FlowUiEventDict
    | FileRegisteredEventDict
    | CostSummaryEventDict
    | BudgetWarningEventDict
    | LatencySummaryEventDict
    | FinishEventDict
    | ErrorEventDict
    | CustomEventDict
)
