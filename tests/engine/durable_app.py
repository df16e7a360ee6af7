"""A tiny app for the crash test: run a refund to its approval gate, report it, and wait.

``python -m tests.engine.durable_app <kv descriptor JSON> <effects file>`` prints one JSON line
``{"runId", "approvalId"}`` when the run waits at its first gate (and the request is in the run's
log), then waits forever, until the test kills the process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.engine.durable_helpers import Effects, refunds, tool_runtime

PROMPT = refunds("o-1", "o-2")


async def main(kv: dict[str, object], effects_path: Path) -> None:
    runtime = tool_runtime(kv, Effects(effects_path))
    stream = runtime.run_specialist("w", PROMPT, thread_id="t-crash")
    async for event in stream:
        if event["type"] == "approval-required":
            # Report once the request is in the run's log, as a host showing it would.
            for _ in range(2000):
                record = await runtime.get_run(str(stream.run_id))
                if record is not None and record["lastSequence"] >= event["sequence"]:
                    break
                await asyncio.sleep(0.005)
            else:
                raise AssertionError("the approval request never reached the run's log")
            print(json.dumps({"runId": stream.run_id, "approvalId": event["data"]["id"]}))
            sys.stdout.flush()
    raise AssertionError("the run ended without waiting at its gate")


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]), Path(sys.argv[2])))
