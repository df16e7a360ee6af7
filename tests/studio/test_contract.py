"""Pin the Studio wire to the harness-studio/v1 contract (the copy in tests/studio/contract):
every contract route answers with a body that validates against its OpenAPI schema, responses
carry the fixtures' keys, SSE events are StudioEvents, and no response ever holds a
secret-looking key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from flowai_harness.studio import define_app
from flowai_harness.studio.apps import define_workspace_runtime

from .studio_apps import (
    CONTRACT,
    BackgroundRequest,
    chat_runtime_factory,
    chat_spec,
    data_environment,
    parse_sse,
    pending_approval,
    studio_client,
)
from .test_routes_tests_evals import CONFIG, _refund_case

OPENAPI: dict[str, Any] = json.loads((CONTRACT / "openapi.json").read_text())
FIXTURES = CONTRACT / "fixtures"
BANNED_KEYS = {"apiKey", "api_key", "password", "databaseUrl", "database_url", "token", "secret"}
# Values the fixtures show only as examples of free-form payloads.
EXAMPLE_ONLY_KEYS = {"risk", "totalColumns"}
W = "/api/workspaces/default"


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": OPENAPI["components"]})


def _schema_of(path: str, method: str) -> dict[str, Any]:
    content = OPENAPI["paths"][path][method]["responses"]["200"]["content"]
    return next(iter(content.values()))["schema"]  # type: ignore[no-any-return]


def _component(name: str) -> Draft202012Validator:
    return _validator({"$ref": f"#/components/schemas/{name}"})


def _walk_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _walk_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_keys(item)


class Scenario:
    """One Studio with every kind of state the contract describes, and the responses."""

    def __init__(self, client: TestClient, tmp: Path) -> None:
        self.client = client
        self.tmp = tmp
        self.responses: dict[tuple[str, str], Any] = {}
        self.events: list[dict[str, Any]] = []
        self.streams: list[list[dict[str, Any]]] = []

    def call(self, method: str, template: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == 200, (url, response.text)
        if response.headers["content-type"].startswith("text/event-stream"):
            frames = parse_sse(response.text)
            self.events += [frame["data"] for frame in frames]
            self.streams.append([frame["data"] for frame in frames])
            body: Any = frames
        else:
            body = response.json()
        self.responses[(method.lower(), template)] = body
        return body


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("contract")
    spec = chat_spec()
    env = data_environment(tmp)
    env["catalog_search"]["rebuild_on_start"] = True
    app = define_app(
        name="contract",
        workspaces={
            "default": define_workspace_runtime(
                runtime_spec=spec,
                runtime_factory=chat_runtime_factory(spec),
                description="Default local runtime binding.",
                metadata={"owner": "data-platform"},
                data_environment=env,
                capabilities=[
                    "runtime.inspect",
                    "chat.stream",
                    "tools.inspect",
                    "approvals.decide",
                    "runs.list",
                    "data.profile",
                    "tests.manage",
                    "evals.run",
                ],
            ),
        },
    )
    with studio_client(app) as client:
        run = Scenario(client, tmp)
        _drive(run)
        yield run


def _drive(s: Scenario) -> None:
    ws = "/api/workspaces/{workspace_key}"
    s.call("GET", "/api/status", "/api/status")
    s.call("GET", "/api/workspaces", "/api/workspaces")
    s.call("GET", ws, W)
    s.call("GET", f"{ws}/runtime", f"{W}/runtime")
    s.call("GET", "/api/runtime", "/api/runtime")
    s.call("GET", f"{ws}/capabilities", f"{W}/capabilities")
    s.call("GET", f"{ws}/agents", f"{W}/agents")
    s.call("GET", "/api/agents", "/api/agents")
    s.call("GET", f"{ws}/agents/{{agent_id}}", f"{W}/agents/coord")
    s.call("GET", f"{ws}/tools", f"{W}/tools")
    s.call("GET", f"{ws}/toolkits", f"{W}/toolkits")
    s.call(
        "POST",
        f"{ws}/agents/{{agent_id}}/stream",
        f"{W}/agents/helper/stream",
        json={"prompt": "ping", "threadId": "t-contract", "runId": "run_contract"},
    )
    s.call(
        "POST",
        "/api/agents/{agent_id}/stream",
        "/api/agents/coord/stream",
        json={"prompt": "hello"},
    )
    chat = BackgroundRequest(
        lambda: s.client.post(f"{W}/agents/coord/stream", json={"prompt": "price?"})
    )
    approval = pending_approval(s.client)
    s.call("GET", f"{ws}/approvals", f"{W}/approvals")
    s.call("GET", f"{ws}/runs", f"{W}/runs")
    s.call(
        "POST",
        f"{ws}/approvals/{{approval_id}}/respond",
        f"{W}/approvals/{approval['approvalId']}/respond",
        json={"outcome": "approve"},
    )
    streamed = [frame["data"] for frame in parse_sse(chat.join().text)]
    s.events += streamed
    s.streams.append(streamed)
    s.call("GET", f"{ws}/threads", f"{W}/threads")
    s.call("GET", f"{ws}/threads/{{thread_id}}", f"{W}/threads/t-contract")
    s.call("GET", f"{ws}/threads/{{thread_id}}/messages", f"{W}/threads/t-contract/messages")
    s.call("GET", f"{ws}/runs/{{run_id}}", f"{W}/runs/run_contract")
    s.call("GET", f"{ws}/runs/{{run_id}}/stream", f"{W}/runs/run_contract/stream")
    s.call("GET", f"{ws}/data/sources", f"{W}/data/sources")
    s.call("POST", f"{ws}/data/profile/estimate", f"{W}/data/profile/estimate", json={})
    s.call(
        "POST", f"{ws}/data/profile/table", f"{W}/data/profile/table", json={"tableName": "orders"}
    )
    s.call("POST", f"{ws}/data/profile/database", f"{W}/data/profile/database", json={})
    s.call("POST", f"{ws}/tests", f"{W}/tests", json=_refund_case())
    s.call("GET", f"{ws}/tests", f"{W}/tests")
    created = s.call(
        "POST", f"{ws}/evals", f"{W}/evals", json={"config": CONFIG, "testCaseIds": ["refund"]}
    )
    s.call("GET", f"{ws}/evals/{{eval_id}}/stream", f"{W}/evals/{created['evalId']}/stream")
    s.call("GET", f"{ws}/evals", f"{W}/evals")


def test_every_contract_route_was_exercised(scenario: Scenario) -> None:
    declared = {
        (method, path)
        for path, item in OPENAPI["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete") and not item[method].get("deprecated")
    }
    assert declared <= set(scenario.responses), declared - set(scenario.responses)


def test_every_json_response_validates_against_its_openapi_schema(scenario: Scenario) -> None:
    problems = []
    for (method, path), body in scenario.responses.items():
        if path not in OPENAPI["paths"] or method not in OPENAPI["paths"][path]:
            continue
        schema = _schema_of(path, method)
        bodies = [frame["data"] for frame in body] if isinstance(body, list) else [body]
        validator = _validator(schema)
        for item in bodies:
            problems += [f"{method} {path}: {e.message}" for e in validator.iter_errors(item)]
    assert problems == []


def test_every_streamed_event_is_a_studio_event_with_rising_seq(scenario: Scenario) -> None:
    validator = _component("StudioEvent")
    problems = [e.message for event in scenario.events for e in validator.iter_errors(event)]
    assert problems == []
    for stream in scenario.streams:
        seqs = [event["seq"] for event in stream]
        assert seqs == sorted(set(seqs)), stream[0]["runId"]


def test_error_bodies_validate_against_the_error_response(scenario: Scenario) -> None:
    validator = _component("ErrorResponse")
    fixture = json.loads((FIXTURES / "error-response.json").read_text())
    response = scenario.client.get("/api/workspaces/missing")
    assert response.json() == fixture
    for url in ("/api/nope", f"{W}/threads/none", f"{W}/runs/none"):
        assert list(validator.iter_errors(scenario.client.get(url).json())) == []


FIXTURE_ROUTES = {
    "status-response.json": ("get", "/api/status"),
    "workspaces-response.json": ("get", "/api/workspaces"),
    "runtime-response.json": ("get", "/api/workspaces/{workspace_key}/runtime"),
    "capabilities-response.json": ("get", "/api/workspaces/{workspace_key}/capabilities"),
    "agents-response.json": ("get", "/api/workspaces/{workspace_key}/agents"),
    "tools-response.json": ("get", "/api/workspaces/{workspace_key}/tools"),
    "approvals-response.json": ("get", "/api/workspaces/{workspace_key}/approvals"),
    "runs-response.json": ("get", "/api/workspaces/{workspace_key}/runs"),
    "data-response.json": ("get", "/api/workspaces/{workspace_key}/data/sources"),
    "tests-response.json": ("get", "/api/workspaces/{workspace_key}/tests"),
    "evals-response.json": ("get", "/api/workspaces/{workspace_key}/evals"),
}


def _missing_keys(fixture: Any, ours: Any, where: str = "") -> list[str]:
    if isinstance(fixture, dict) and isinstance(ours, dict):
        missing = [f"{where}.{k}" for k in fixture if k not in ours and k not in EXAMPLE_ONLY_KEYS]
        for key, value in fixture.items():
            if key in ours and isinstance(value, dict) and key not in ("metadata", "payload"):
                missing += _missing_keys(value, ours[key], f"{where}.{key}")
        return missing
    if isinstance(fixture, list) and isinstance(ours, list) and fixture:
        union: dict[str, Any] = {}
        for item in ours:
            if isinstance(item, dict):
                union.update(item)
        return [m for item in fixture for m in _missing_keys(item, union, f"{where}[]")]
    return []


@pytest.mark.parametrize("fixture_name", sorted(FIXTURE_ROUTES))
def test_responses_carry_every_key_of_the_contract_fixtures(
    scenario: Scenario, fixture_name: str
) -> None:
    fixture = json.loads((FIXTURES / fixture_name).read_text())
    ours = scenario.responses[FIXTURE_ROUTES[fixture_name]]
    assert _missing_keys(fixture, ours) == []


SSE_FIXTURE_KINDS = {
    "chat-message.json": "message.delta",
    "tool-call.json": "tool.call.started",
    "tool-call-completed.json": "tool.call.completed",
    "sub-agent-call.json": "sub_agent.call.started",
    "approval-required.json": "approval.required",
    "run-event.json": "run.completed",
    "eval-event.json": "eval.case.completed",
    "profile-event.json": "profile.progress",
}


@pytest.mark.parametrize("fixture_name", sorted(SSE_FIXTURE_KINDS))
def test_streamed_events_carry_every_key_of_the_sse_fixtures(
    scenario: Scenario, fixture_name: str
) -> None:
    fixture = json.loads((FIXTURES / "sse" / fixture_name).read_text())
    kind = SSE_FIXTURE_KINDS[fixture_name]
    ours = [event for event in scenario.events if event.get("kind") == kind]
    assert ours, f"no {kind} event was streamed"
    assert set(fixture) <= set(ours[0])
    payload_keys = {key for event in ours for key in event["payload"]}
    assert set(fixture["payload"]) - EXAMPLE_ONLY_KEYS <= payload_keys


def test_no_response_holds_a_secret_looking_key(scenario: Scenario) -> None:
    keys = {key for body in scenario.responses.values() for key in _walk_keys(body)}
    keys |= {key for event in scenario.events for key in _walk_keys(event)}
    assert keys & BANNED_KEYS == set()


def test_the_contract_copy_pins_the_servers_creation_and_status_words() -> None:
    paths = OPENAPI["paths"]
    for path in ("/api/workspaces/{workspace_key}/tests", "/api/workspaces/{workspace_key}/evals"):
        assert set(paths[path]["post"]["responses"]) == {"200"}, path
    schemas = OPENAPI["components"]["schemas"]
    assert "created" in schemas["EvalSummary"]["properties"]["status"]["enum"]
    approval_statuses = schemas["ApprovalSummary"]["properties"]["status"]["enum"]
    assert {"pending", "approve", "reject", "revise", "expired"} <= set(approval_statuses)
