"""Running one tool from the Studio (src/flowai_harness/studio/routes/tools.py) when the tool
asks a person's approval: a clear 409 naming the way to run it, never an internal message."""

from __future__ import annotations

from typing import Any

from flowai_harness import define_runtime, define_specialist, define_tenant, define_tool
from flowai_harness.studio import define_app

from .studio_apps import studio_client

W = "/api/workspaces/default"


@define_tool(
    "refund",
    description="Refund an order.",
    input_schema={"amount": float},
    approval=lambda args, ctx: args["amount"] > 100,  # a person decides large refunds
)
def refund(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"refunded": args["amount"]}


def test_a_tool_whose_predicate_asks_for_a_person_is_refused_with_a_clear_error() -> None:
    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_specialist("desk", model="claude-haiku-4-5", prompt="Refund.", tools=[refund])
        ],
    )
    with studio_client(define_app(name="tools-test", runtime_spec=spec)) as client:
        small = client.post(f"{W}/tools/refund/execute", json={"input": {"amount": 20.0}})
        large = client.post(f"{W}/tools/refund/execute", json={"input": {"amount": 500.0}})
    assert small.json()["result"] == {
        "toolId": "refund",
        "success": True,
        "data": {"refunded": 20.0},
    }
    assert large.status_code == 409
    error = large.json()["error"]
    assert error["code"] == "tool.needs_approval" and "sink" not in error["message"]
    assert error["message"].startswith("Tool `refund` needs a person's approval for this call")
