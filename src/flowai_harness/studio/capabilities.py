"""The capability ids a Studio workspace can enable, and the registry the UI reads.

A module of its own, below :mod:`~flowai_harness.studio.workspaces` (which checks the ids a
binding enables) and :mod:`~flowai_harness.studio.inspection`, so neither imports the other
for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from flowai_harness.studio.payloads import CapabilitySummary

__all__ = [
    "BASE_CAPABILITIES",
    "DATA_CAPABILITIES",
    "ENTERPRISE_CAPABILITIES",
    "KNOWN_CAPABILITIES",
    "LOCAL_CAPABILITIES",
    "capability_registry",
]

BASE_CAPABILITIES: Final = (
    "runtime.inspect",
    "chat.stream",
    "approvals.decide",
    "runs.list",
    "traces.read",
    "tests.manage",
    "evals.run",
)
DATA_CAPABILITIES: Final = ("data.sources", "data.profile", "knowledge.ingest")
LOCAL_CAPABILITIES: Final = ("tools.inspect", "settings.local")
ENTERPRISE_CAPABILITIES: Final = tuple(
    f"enterprise.{name}"
    for name in (
        "orgAdmin",
        "rbac",
        "auditLogs",
        "secrets",
        "deployments",
        "usage",
        "policyControls",
        "workspaceGovernance",
    )
)
KNOWN_CAPABILITIES: Final = (
    BASE_CAPABILITIES + DATA_CAPABILITIES + LOCAL_CAPABILITIES + ENTERPRISE_CAPABILITIES
)

_ENTERPRISE_REASON: Final = "Enterprise control plane is not configured."
_DATA_REASON: Final = "No data environment is configured for this workspace."
_OFF_REASON: Final = "Not enabled for this workspace."


def capability_registry(enabled: Iterable[str], *, has_data: bool) -> list[CapabilitySummary]:
    """Every known capability id, enabled or not; disabled ones say why.

    Args:
        enabled: The capability ids the workspace enables.
        has_data: Whether the workspace has a data environment (the data capabilities need
            one).

    Returns:
        ``[{id, enabled, scope, reason?, requirements?}, ...]`` in :data:`KNOWN_CAPABILITIES`
        order; enterprise capabilities are always off.
    """
    enabled_ids = set(enabled)
    out: list[CapabilitySummary] = []
    for capability in KNOWN_CAPABILITIES:
        row: CapabilitySummary
        if capability in ENTERPRISE_CAPABILITIES:
            row = {
                "id": capability,
                "enabled": False,
                "scope": "enterprise",
                "reason": _ENTERPRISE_REASON,
                "requirements": ["enterprise.auth"],
            }
        else:
            row = {"id": capability, "enabled": capability in enabled_ids, "scope": "local"}
        if not row["enabled"] and row["scope"] == "local":
            reason = _DATA_REASON if capability in DATA_CAPABILITIES and not has_data else None
            row["reason"] = reason or _OFF_REASON
            if reason is not None:
                row["requirements"] = ["data_environment"]
        out.append(row)
    return out
