"""The dispatcher may ask for an idempotency key naming the stored plan version it dispatches."""

from __future__ import annotations

import re
from typing import Any

from flowai_harness.engine.plans import idempotency_key
from tests.engine.plan_helpers import ONE_ACTION, execute, flow, plan_runtime, run, store

NEVER = {"plans": "never"}


async def test_a_dispatcher_declaring_idempotency_key_gets_one_per_stored_version() -> None:
    keys: list[str] = []

    def dispatcher(actions: Any, ctx: Any, idempotency_key: str) -> None:
        assert ctx == {"resolved_refs": {}}
        keys.append(idempotency_key)

    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    await run(runtime, flow(store("p-1"), execute("p-1")))
    await run(runtime, flow(store("p-1", {"actions": [{"kind": "discount", "pct": 9}]})))
    await run(runtime, flow(execute("p-1")))
    assert len(keys) == 2 and keys[0] != keys[1]
    assert all(re.fullmatch(r"p-1:[0-9a-f]{16}", key) for key in keys)


async def test_a_dispatcher_taking_keyword_arguments_gets_the_key_too() -> None:
    seen: list[dict[str, Any]] = []

    async def dispatcher(actions: Any, ctx: Any, **extra: Any) -> None:
        seen.append(extra)

    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    await run(runtime, flow(store("p-1"), execute("p-1")))
    assert [list(extra) for extra in seen] == [["idempotency_key"]]


def test_the_key_ignores_the_status_and_follows_the_stored_content() -> None:
    draft = {
        "id": "p-1",
        "specName": "Promo",
        "actions": ONE_ACTION["actions"],
        "context": {},
        "createdAt": "2026-01-01T00:00:00Z",
        "status": "draft",
    }
    assert idempotency_key(draft) == idempotency_key({**draft, "status": "executing"})
    assert idempotency_key(draft) != idempotency_key({**draft, "createdAt": "2026-01-01T00:00:01Z"})
    assert idempotency_key(draft) != idempotency_key({**draft, "actions": []})
