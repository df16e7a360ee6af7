"""Closed shapes of Studio API payloads, as ``TypedDict``\\ s of the contract's schemas.

The functions that build these payloads return them typed, so mypy checks every key where a
payload is made; a test compares each ``TypedDict`` with its schema in the contract. Route
handlers keep returning ``dict[str, Any]``: FastAPI reads a handler's return annotation as its
response model, and a ``TypedDict`` there would validate the response (dropping keys it does
not list) and change the OpenAPI document.
"""

# No ``from __future__ import annotations``: on Python 3.11 ``NotRequired`` keys are only told
# apart from required ones when the annotations are real objects.
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["ApprovalSummary", "CapabilitySummary", "ImplementationSummary", "StatusResponse"]


class ImplementationSummary(TypedDict):
    """Which server answers (``implementation`` of ``GET /api/status``)."""

    name: str
    version: str
    mode: Literal["local", "enterprise", "test"]


class StatusResponse(TypedDict):
    """The body of ``GET /api/status``."""

    studioApiVersion: str
    supportedVersions: list[str]
    status: Literal["ready", "starting", "degraded", "error"]
    implementation: ImplementationSummary


class CapabilitySummary(TypedDict):
    """One capability of a workspace; a disabled one says why and what it needs."""

    id: str
    enabled: bool
    scope: Literal["local", "enterprise"]
    reason: NotRequired[str]
    requirements: NotRequired[list[str]]


class ApprovalSummary(TypedDict):
    """An approval of the inbox (the contract's fields plus the workspace, thread and update
    time)."""

    workspaceKey: str
    approvalId: str
    threadId: str
    runId: str
    status: str
    kind: Literal["tool", "plan", "custom"]
    agentId: str
    title: str
    payload: dict[str, Any]
    createdAt: str
    updatedAt: str
