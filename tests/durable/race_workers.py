"""Worker processes of the multi-process race tests (started with ``multiprocessing`` spawn).

Each worker opens its own runtime over the shared store and, for every item, waits at a
barrier with the other workers, then races them; what it saw goes back on a queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowai_harness.errors import ApprovalAlreadyResolvedError
from tests.engine.durable_helpers import Effects, tool_runtime


def answer_approvals(
    kv: dict[str, Any], approval_ids: list[str], barrier: Any, results: Any, name: str
) -> None:
    """Answer each approval as soon as every worker is ready; report ``won`` or ``lost``."""

    async def main() -> None:
        runtime = tool_runtime(kv, Effects())
        try:
            for approval_id in approval_ids:
                await asyncio.to_thread(barrier.wait, 60)
                try:
                    await runtime.respond_to_approval(approval_id, "approve", feedback=name)
                except ApprovalAlreadyResolvedError:
                    results.put((name, approval_id, "lost"))
                else:
                    results.put((name, approval_id, "won"))
        finally:
            await runtime.aclose()

    asyncio.run(main())
