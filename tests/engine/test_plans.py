"""storePlan / getPlan / executePlan: validation, normalisation, storage, tenancy, aliases."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from flowai_harness import TaggedUnion, define_plan
from tests.engine.helpers import run_usage
from tests.engine.plan_helpers import (
    ONE_ACTION,
    PROMO_SCHEMA,
    execute,
    flow,
    kv_of,
    plan_runtime,
    run,
    script,
    status_changes,
    store,
    stored_plan,
    tool_results,
)

TIMESTAMPS = ("createdAt", "approvedAt", "startedAt", "completedAt", "failedAt")


async def store_result(runtime: Any, body: Any, spec_name: str = "Promo") -> Any:
    events = await run(runtime, flow(store("p-1", body, spec_name)))
    [result] = tool_results(events, "storePlan")
    return result


def without_timestamps(plan: dict[str, Any]) -> dict[str, Any]:
    for field in TIMESTAMPS:
        assert plan[field] is None or plan[field].endswith("Z"), field
    return {k: v for k, v in plan.items() if k not in TIMESTAMPS}


# --------------------------------------------------------------------------- storePlan


async def test_store_plan_splits_actions_and_keeps_other_fields_as_context() -> None:
    runtime = plan_runtime()
    body = {
        "rationale": "clear winter stock",
        "scope": {"kind": "ItemSet", "id": "abc"},
        "actions": [
            {
                "kind": "discount",
                "pct": 5,
                "sku": "A-1",
                "references": [{"kind": "ItemSet", "id": "abc", "glimpse": {"n": 3}}],
            },
            {"kind": "bundle", "skus": ["A-1", "B-2"]},
        ],
    }
    result = await store_result(runtime, body)
    assert isinstance(result["createdAt"], str)
    assert without_timestamps(result) == {
        "id": "p-1",
        "owner": "acme",
        "specName": "Promo",
        "actions": [
            {
                "kind": "discount",
                "payload": {"pct": 5, "sku": "A-1"},
                "references": [{"kind": "ItemSet", "id": "abc"}],
            },
            {"kind": "bundle", "payload": {"skus": ["A-1", "B-2"]}, "references": []},
        ],
        "status": "draft",
        "description": None,
        "context": {"rationale": "clear winter stock", "scope": {"kind": "ItemSet", "id": "abc"}},
        "approvedBy": None,
        "outcome": None,
    }
    assert await stored_plan(runtime, "p-1") == result


async def test_store_plan_treats_null_references_as_none() -> None:
    result = await store_result(
        plan_runtime(), {"actions": [{"kind": "discount", "references": None}]}
    )
    assert result["actions"] == [{"kind": "discount", "payload": {}, "references": []}]


STORE_ERRORS = [
    ("Ghost", ONE_ACTION, "unknown plan spec: Ghost (declared: ['Loose', 'Promo'])"),
    (
        "Promo",
        {"items": []},
        "schema validation failed for spec 'Promo': [\"<root>: 'actions' is a required property\"]",
    ),
    (
        "Promo",
        {"actions": "all"},
        "schema validation failed for spec 'Promo': [\"actions: 'all' is not of type 'array'\"]",
    ),
    (
        "Loose",
        {"items": []},
        "planner output for spec 'Loose' is missing the required `actions` field",
    ),
    ("Loose", {"actions": {"kind": "x"}}, "`actions` for spec 'Loose' must be a JSON array"),
    ("Promo", {"actions": []}, "planner output for spec 'Promo' produced an empty action sequence"),
    (
        "Promo",
        {"actions": ["discount"]},
        "action #0 for spec 'Promo' failed to decode: action must be a JSON object",
    ),
    (
        "Promo",
        {"actions": [{"kind": "a"}, {"pct": 5}]},
        "action #1 for spec 'Promo' failed to decode: missing string field `kind`",
    ),
    (
        "Promo",
        {"actions": [{"kind": 7}]},
        "action #0 for spec 'Promo' failed to decode: missing string field `kind`",
    ),
    (
        "Promo",
        {"actions": [{"kind": "a", "references": {"kind": "R", "id": "1"}}]},
        "action #0 for spec 'Promo' failed to decode: `references` must be a list of {kind, id} "
        "objects",
    ),
    (
        "Promo",
        {"actions": [{"kind": "a", "references": [{"kind": "R"}]}]},
        "action #0 for spec 'Promo' failed to decode: `references` must be a list of {kind, id} "
        "objects",
    ),
    (
        "Promo",
        {"actions": [{"kind": "a", "references": ["R:1"]}]},
        "action #0 for spec 'Promo' failed to decode: `references` must be a list of {kind, id} "
        "objects",
    ),
]


@pytest.mark.parametrize(("spec_name", "body", "message"), STORE_ERRORS)
async def test_store_plan_rejects_bad_bodies_with_a_retryable_error(
    spec_name: str, body: Any, message: str
) -> None:
    loose = define_plan("Loose", {})
    runtime = plan_runtime(plans=[loose])
    assert await store_result(runtime, body, spec_name) == {"error": message}
    assert await stored_plan(runtime, "p-1") is None


async def test_store_plan_with_invalid_tool_input_names_the_problem() -> None:
    runtime = plan_runtime()
    inner = script(("storePlan", {"specName": "Promo", "body": ONE_ACTION}))
    events = await run(runtime, flow(("call_agent", {"agent": "planner", "prompt": inner})))
    [result] = tool_results(events, "storePlan")
    assert result == {"error": "Invalid input: <root>: 'planId' is a required property"}


async def test_store_plan_body_must_be_a_json_object() -> None:
    result = await store_result(plan_runtime(), [{"kind": "discount"}])
    assert result == {
        "error": "Invalid input: body: [{'kind': 'discount'}] is not of type 'object'"
    }


class Ref(BaseModel):
    kind: str
    id: str


class Discount(BaseModel):
    kind: Literal["discount"] = "discount"
    pct: int = Field(ge=1, le=90)
    references: list[Ref] = []


class Bundle(BaseModel):
    kind: str = "bundle"
    skus: list[str] = Field(min_length=2)


class PromoBody(BaseModel):
    rationale: str
    actions: list[TaggedUnion(Discount, Bundle)] = Field(min_length=1)  # type: ignore[valid-type]


TYPED_PROMO = define_plan("Promo", PromoBody)


async def test_store_plan_accepts_a_body_matching_its_tagged_union() -> None:
    runtime = plan_runtime(plan=TYPED_PROMO)
    body = {
        "rationale": "r",
        "actions": [
            {"kind": "discount", "pct": 10, "references": [{"kind": "ItemSet", "id": "i-1"}]},
            {"kind": "bundle", "skus": ["A", "B"]},
        ],
    }
    result = await store_result(runtime, body)
    assert result["actions"] == [
        {
            "kind": "discount",
            "payload": {"pct": 10},
            "references": [{"kind": "ItemSet", "id": "i-1"}],
        },
        {"kind": "bundle", "payload": {"skus": ["A", "B"]}, "references": []},
    ]
    assert result["context"] == {"rationale": "r"}


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        ({"kind": "refund", "amount": 3}, "is not valid under any of the given schemas"),
        ({"kind": "discount", "pct": 95}, "is not valid under any of the given schemas"),
        ({"kind": "bundle", "skus": ["only-one"]}, "is not valid under any of the given schemas"),
    ],
)
async def test_store_plan_rejects_an_action_outside_its_tagged_union(
    action: dict[str, Any], problem: str
) -> None:
    runtime = plan_runtime(plan=TYPED_PROMO)
    result = await store_result(runtime, {"rationale": "r", "actions": [action]})
    assert result["error"].startswith("schema validation failed for spec 'Promo': [\"actions/0: ")
    assert problem in result["error"]


async def test_store_plan_with_a_tagged_union_still_requires_a_non_empty_action_list() -> None:
    runtime = plan_runtime(plan=TYPED_PROMO)
    result = await store_result(runtime, {"rationale": "r", "actions": []})
    assert result["error"].startswith("schema validation failed for spec 'Promo': [\"actions: ")


json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
payload_keys = st.text(min_size=1, max_size=8).filter(lambda k: k not in ("kind", "references"))
flat_actions = st.builds(
    lambda kind, payload, refs: {"kind": kind, **payload, "references": refs},
    st.text(min_size=1, max_size=8),
    st.dictionaries(payload_keys, json_scalars | st.lists(json_scalars, max_size=3), max_size=4),
    st.lists(
        st.builds(lambda k, i: {"kind": k, "id": i}, st.text(max_size=6), st.text(max_size=6)),
        max_size=3,
    ),
)
bodies = st.builds(
    lambda actions, context: {**context, "actions": actions},
    st.lists(flat_actions, min_size=1, max_size=4),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "actions"), json_scalars, max_size=3),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_store_then_get_round_trips_any_planner_body(body: dict[str, Any]) -> None:
    async def scenario() -> dict[str, Any]:
        runtime = plan_runtime(plan=define_plan("Promo", PROMO_SCHEMA))
        events = await run(
            runtime,
            flow(
                store("p-1", body),
                (
                    "call_agent",
                    {"agent": "executor", "prompt": script(("getPlan", {"planId": "p-1"}))},
                ),
            ),
        )
        [stored] = tool_results(events, "storePlan")
        [fetched] = tool_results(events, "getPlan")
        assert stored == fetched
        return fetched

    plan = asyncio.run(scenario())
    rebuilt = [
        {"kind": a["kind"], **a["payload"], "references": a["references"]} for a in plan["actions"]
    ]
    assert {**plan["context"], "actions": rebuilt} == body


async def test_restoring_a_plan_id_overwrites_the_draft() -> None:
    runtime = plan_runtime()
    await run(
        runtime,
        flow(
            store("p-1", {"actions": [{"kind": "a"}]}),
            store("p-1", {"actions": [{"kind": "b"}], "why": "better"}),
        ),
    )
    plan = await stored_plan(runtime, "p-1")
    assert [a["kind"] for a in plan["actions"]] == ["b"]
    assert plan["context"] == {"why": "better"}
    assert plan["status"] == "draft"


async def test_restoring_an_approved_plan_sends_it_back_to_draft() -> None:
    runtime = plan_runtime()
    await kv_of(runtime).put(
        "acme",
        "plan:p-1",
        {
            "id": "p-1",
            "owner": "acme",
            "specName": "Promo",
            "status": "approved",
            "actions": [{"kind": "a", "payload": {}, "references": []}],
        },
    )
    result = await store_result(runtime, {"actions": [{"kind": "b"}]})
    assert (result["status"], result["approvedAt"], result["approvedBy"]) == ("draft", None, None)


@pytest.mark.parametrize("status", ["executed", "failed"])
async def test_a_finished_plan_is_replaced_by_a_new_draft_that_needs_its_own_execution(
    status: str,
) -> None:
    dispatched: list[Any] = []

    def dispatcher(actions: Any, ctx: Any) -> None:
        dispatched.append([a["kind"] for a in actions])
        if status == "failed":
            raise RuntimeError("no")

    runtime = plan_runtime(dispatcher=dispatcher, executor_approval={"plans": "never"})
    await run(runtime, flow(store("p-1", {"actions": [{"kind": "a"}]}), execute("p-1")))
    result = await store_result_on(runtime, "t2")
    assert (result["status"], result["actions"][0]["kind"]) == ("draft", "x")
    assert dispatched == [["a"]]  # storing never dispatches
    await run(runtime, flow(execute("p-1")), thread_id="t3")
    assert dispatched == [["a"], ["x"]]  # the new version runs once, the old one never again


async def test_store_plan_refuses_to_replace_a_plan_while_it_is_executing() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(actions: Any, ctx: Any) -> None:
        started.set()
        await release.wait()

    runtime = plan_runtime(dispatcher=slow, executor_approval={"plans": "never"})
    executing = asyncio.create_task(run(runtime, flow(store("p-1"), execute("p-1"))))
    await started.wait()
    result = await store_result_on(runtime, "t2")
    release.set()
    events = await executing
    assert result == {
        "error": "plan 'p-1' is already executing and cannot be replaced; store the revision "
        "under a new planId"
    }
    assert tool_results(events, "executePlan")[0]["entitiesAffected"] == 0
    assert (await stored_plan(runtime, "p-1"))["status"] == "executed"


async def store_result_on(runtime: Any, thread_id: str) -> Any:
    events = await run(
        runtime, flow(store("p-1", {"actions": [{"kind": "x"}]})), thread_id=thread_id
    )
    return tool_results(events, "storePlan")[0]


# --------------------------------------------------------------------------- tenancy


async def test_plans_are_stored_in_the_runtime_tenant_namespace_of_the_kv_port() -> None:
    runtime = plan_runtime()
    await run(runtime, flow(store("p-1")))
    kv = kv_of(runtime)
    assert await kv.list_keys("acme", "plan:") == ["plan:p-1"]
    assert await kv.get("other", "plan:p-1") is None


@pytest.mark.parametrize("where", ["other tenant namespace", "foreign owner"])
async def test_a_plan_of_another_tenant_is_invisible(where: str) -> None:
    runtime = plan_runtime(executor_approval={"plans": "never"})
    foreign = {
        "id": "p-1",
        "owner": "other",
        "specName": "Promo",
        "status": "approved",
        "actions": [{"kind": "a", "payload": {}, "references": []}],
    }
    tenant = "other" if where == "other tenant namespace" else "acme"
    await kv_of(runtime).put(tenant, "plan:p-1", foreign)
    events = await run(
        runtime,
        flow(
            (
                "call_agent",
                {
                    "agent": "executor",
                    "prompt": script(
                        ("getPlan", {"planId": "p-1"}), ("executePlan", {"planId": "p-1"})
                    ),
                },
            )
        ),
    )
    assert tool_results(events, "getPlan") == [None]
    assert tool_results(events, "executePlan") == [{"error": "plan not found: p-1"}]


async def test_get_plan_of_an_unknown_id_is_null_and_execute_plan_says_not_found() -> None:
    runtime = plan_runtime()
    events = await run(
        runtime,
        flow(
            (
                "call_agent",
                {
                    "agent": "executor",
                    "prompt": script(
                        ("getPlan", {"planId": "nope"}), ("executePlan", {"planId": "nope"})
                    ),
                },
            )
        ),
    )
    assert tool_results(events, "getPlan") == [None]
    assert tool_results(events, "executePlan") == [{"error": "plan not found: nope"}]


# --------------------------------------------------------------------------- display aliases


async def test_display_aliases_are_added_to_status_events_without_changing_statuses() -> None:
    aliased = define_plan(
        "Promo",
        PROMO_SCHEMA,
        {"draft": "Proposed", "approved": "Signed off", "executed": "Live"},
    )
    runtime = plan_runtime(plan=aliased, executor_approval={"plans": "always"})
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    assert [e["data"] for e in events if e["type"] == "plan-status-change"] == [
        {"planId": "p-1", "from": "draft", "to": "pending_approval", "fromAlias": "Proposed"},
        {"planId": "p-1", "from": "pending_approval", "to": "approved", "toAlias": "Signed off"},
        {"planId": "p-1", "from": "approved", "to": "executing", "fromAlias": "Signed off"},
        {"planId": "p-1", "from": "executing", "to": "executed", "toAlias": "Live"},
    ]
    stored = await stored_plan(runtime, "p-1")
    assert stored["status"] == "executed"
    [result] = tool_results(events, "storePlan")
    assert result["status"] == "draft"


async def test_status_events_of_a_plan_without_aliases_have_only_the_reference_keys() -> None:
    runtime = plan_runtime(executor_approval={"plans": "never"})
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    changes = [e for e in events if e["type"] == "plan-status-change"]
    assert [set(e) for e in changes] == [{"type", "data", "sequence"}] * 3
    assert [e["data"] for e in changes] == [
        {"planId": "p-1", "from": "draft", "to": "approved"},
        {"planId": "p-1", "from": "approved", "to": "executing"},
        {"planId": "p-1", "from": "executing", "to": "executed"},
    ]


# --------------------------------------------------------------------------- approval and content


async def test_an_approval_does_not_carry_over_to_a_plan_stored_again_while_waiting() -> None:
    seen: list[Any] = []
    runtime = plan_runtime(
        dispatcher=lambda actions, ctx: seen.append(actions), executor_approval={"plans": "always"}
    )
    await run(runtime, flow(store("p-1", {"actions": [{"kind": "small"}]})))
    events = []
    async for event in runtime.query(flow(execute("p-1")), thread_id="t"):
        events.append(event)
        if event["type"] == "approval-required":
            await run(runtime, flow(store("p-1", {"actions": [{"kind": "huge"}]})), thread_id="t2")
            await runtime.respond_to_approval(event["data"]["id"], "approve")
    [result] = tool_results(events, "executePlan")
    assert result == {
        "error": "Plan p-1 was stored again while awaiting approval, so the approval does not "
        "apply to its new content; call executePlan again to review the new version"
    }
    assert status_changes(events) == [("draft", "pending_approval"), ("pending_approval", "draft")]
    assert seen == []
    plan = await stored_plan(runtime, "p-1")
    assert (plan["status"], plan["actions"][0]["kind"]) == ("draft", "huge")


async def test_the_plan_gate_shows_the_whole_stored_plan_to_the_reviewer() -> None:
    runtime = plan_runtime(executor_approval={"plans": "always"})
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    [stored] = tool_results(events, "storePlan")
    [required] = [e for e in events if e["type"] == "approval-required"]
    data = required["data"]
    assert set(data) == {
        "id",
        "kind",
        "target",
        "payload",
        "resourceId",
        "threadId",
        "correlationId",
        "runUsage",
    }
    assert (
        data["kind"],
        data["target"],
        data["resourceId"],
        data["threadId"],
        data["correlationId"],
    ) == ("plan", "p-1", "acme", "t-executor", "p-1")
    assert data["payload"] == stored
    # the reviewer also sees what the run has used: the planner's finished turn and the four
    # tool calls so far (call_agent, storePlan, call_agent, the gated executePlan)
    assert data["runUsage"] == run_usage(model_calls=1, tool_calls=4)


# --------------------------------------------------------------------------- across processes


def sqlite_plan_runtime(path: Any, dispatcher: Any) -> Any:
    """A runtime like ``plan_runtime`` whose store is the SQLite file ``path`` (one "process")."""
    from flowai_harness import (
        create_runtime,
        define_coordinator,
        define_executor,
        define_planner,
        define_runtime,
    )
    from tests.engine.plan_helpers import MODEL, PROMO, TENANT

    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO),
            define_executor(
                "executor", model=MODEL, prompt="execute", plan=PROMO, approval={"plans": "never"}
            ),
        ],
    )
    return create_runtime(
        spec,
        interpreter="scripted",
        action_dispatcher=dispatcher,
        data_environment={"kv": {"kind": "sqlite", "url": f"sqlite:{path}"}},
    )


async def test_two_runtimes_on_one_sqlite_file_dispatch_an_approved_plan_once(
    tmp_path: Any,
) -> None:
    from flowai_harness.engine.plans import transition

    dispatched: list[Any] = []

    async def dispatcher(actions: list[Any], ctx: Any) -> dict[str, Any]:
        dispatched.append(actions)
        return {"entitiesAffected": 1}

    first, second = (sqlite_plan_runtime(tmp_path / "kv.db", dispatcher) for _ in range(2))
    try:
        await run(first, flow(store("p-1")))
        approved = transition(await stored_plan(first, "p-1"), "approved", approvedBy="host")
        await kv_of(first).put(first.resource_id, "plan:p-1", approved)

        # Each runtime has its own per-plan lock, as two processes would. Hold both claims until
        # both runtimes have read the approved plan, so only the store can decide the race.
        both_read = asyncio.Barrier(2)
        for runtime in (first, second):
            kv = kv_of(runtime)
            claim = kv.compare_and_set

            waited: list[bool] = []

            # Only the claim (each runtime's first compare-and-set) waits for the other one.
            async def racing_claim(
                *args: Any, _claim: Any = claim, _waited: list[bool] = waited, **kwargs: Any
            ) -> bool:
                if not _waited:
                    _waited.append(True)
                    await both_read.wait()
                return bool(await _claim(*args, **kwargs))

            kv.compare_and_set = racing_claim  # type: ignore[method-assign]

        outcomes = await asyncio.gather(
            run(first, flow(execute("p-1")), thread_id="a"),
            run(second, flow(execute("p-1")), thread_id="b"),
        )
        results = [tool_results(events, "executePlan")[0] for events in outcomes]
        assert len(dispatched) == 1
        assert sorted("error" in result for result in results) == [False, True]
        [refusal] = [result["error"] for result in results if "error" in result]
        assert refusal.startswith(
            (
                "Invalid plan state for execution: executing (",
                "Invalid plan state for execution: executed (",
            )
        ), refusal
        assert (
            sum(status_changes(events).count(("approved", "executing")) for events in outcomes) == 1
        )
        final = await stored_plan(second, "p-1")
        assert final["status"] == "executed"
    finally:
        await first.aclose()
        await second.aclose()
