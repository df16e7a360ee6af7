"""The public ``Runtime`` handle: the engine's runtime plus the evaluation and MCP methods.

The engine (L2) owns runs, approvals and references; evaluation and MCP serving live one layer
up, so the handle that users get from ``create_runtime`` is assembled here from mixins.
"""

from __future__ import annotations

from flowai_harness.engine.core import EngineCore
from flowai_harness.evals.runtime_methods import EvalMethods
from flowai_harness.mcp.runtime_methods import McpMethods

__all__ = ["Runtime"]


class Runtime(EvalMethods, McpMethods, EngineCore):
    """A live runtime built by ``create_runtime``; share one per application.

    Requests on different threads run concurrently; requests on the same ``thread_id`` are
    serialized, so no turn of conversation memory is lost.
    """
