"""Tests for the data (Connect) and tool routes (src/flowai_harness/studio/routes/data.py,
routes/tools.py, workspace_data.py, data_jobs.py) on a real SQLite data environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from flowai_harness import create_runtime
from flowai_harness.ports import ModelRequest
from flowai_harness.studio import define_app
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn

from .studio_apps import chat_app, chat_spec, data_environment, parse_sse, studio_client

W = "/api/workspaces/default"
D = f"{W}/data"


@pytest.fixture
def data_client(tmp_path: Path) -> Iterator[TestClient]:
    env = data_environment(tmp_path)
    env["catalog_search"]["rebuild_on_start"] = True
    app = define_app(name="data-test", runtime_spec=chat_spec(), data_environment=env)
    with studio_client(app) as client:
        yield client


def test_source_and_discovery(data_client: TestClient) -> None:
    sources = data_client.get(f"{D}/sources").json()["sources"]
    schemas = data_client.get(f"{D}/discovery/schemas").json()["schemas"]
    tables = data_client.get(f"{D}/discovery/tables", params={"sourceId": "default"}).json()
    orders = data_client.get(f"{D}/discovery/tables/orders").json()["table"]
    columns = data_client.get(f"{D}/discovery/tables/customers/columns").json()
    sample = data_client.get(f"{D}/discovery/tables/orders/sample", params={"limit": 2}).json()
    missing = data_client.get(f"{D}/discovery/tables/nope")
    assert len(sources) == 1
    source = sources[0]
    assert (source["sourceId"], source["kind"], source["status"]) == (
        "workspace-runtime",
        "sqlite",
        "configured",
    )
    assert source["metadata"] == {"readOnly": True, "resourceId": "acme", "workspaceKey": "default"}
    assert source["credential"] == {"kind": "none"}
    assert schemas == ["main"]
    by_name = {t["tableName"]: t for t in tables["tables"]}
    assert set(by_name) == {"customers", "orders"}
    assert (by_name["orders"]["rowCount"], by_name["orders"]["columnCount"]) == (3, 4)
    assert orders["primaryKey"] == ["id"]
    assert orders["foreignKeys"][0]["referencedTable"] == "customers"
    customer_col = next(c for c in orders["columns"] if c["name"] == "customer_id")
    assert customer_col["foreignKey"] == {
        "referencedSchema": "main",
        "referencedTable": "customers",
        "referencedColumn": "id",
    }
    assert [c["name"] for c in columns["columns"]] == ["id", "name", "tier"]
    assert len(sample["rows"]) == 2 and sample["metadata"]["columns"][0] == "id"
    assert missing.status_code == 404


def test_unknown_source_and_missing_data_environment() -> None:
    with studio_client(chat_app()) as client:
        no_env = client.get(f"{D}/sources")
        no_env_search = client.post(f"{D}/search", json={"query": "x"})
    assert no_env.status_code == 409
    assert no_env.json()["error"]["code"] == "data.environment_missing"
    assert no_env_search.status_code == 409


def test_unknown_source_is_404(data_client: TestClient) -> None:
    response = data_client.get(f"{D}/discovery/schemas", params={"sourceId": "warehouse"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "data.source_not_found"


def test_estimate_profile_search_and_runs(data_client: TestClient) -> None:
    estimate = data_client.post(f"{D}/profile/estimate", json={"schemaName": "main"}).json()
    profiled = data_client.post(f"{D}/profile/database", json={"sampleSize": 5})
    frames = parse_sse(profiled.text)
    table = data_client.post(f"{D}/profile/table", json={"tableName": "orders"})
    no_table = data_client.post(f"{D}/profile/table", json={})
    bad_json = data_client.post(
        f"{D}/profile/table", content=b"{", headers={"content-type": "application/json"}
    )
    tables = data_client.get(f"{D}/discovery/tables").json()["tables"]
    search = data_client.post(f"{D}/search", json={"query": "orders", "mode": "tables"}).json()
    no_query = data_client.post(f"{D}/search", json={})
    metrics = data_client.get(f"{D}/metrics").json()
    runs = data_client.get(f"{W}/runs").json()["runs"]
    assert estimate["estimate"]["tables"] == 2 and estimate["estimate"]["columns"] == 7
    assert estimate["estimate"]["estimatedMs"] >= 0
    assert profiled.headers["content-type"].startswith("text/event-stream")
    types = [f["data"]["type"] for f in frames]
    assert types[0] == "started" and types[-1] == "completed"
    assert all(f["event"] is None for f in frames)
    progress = next(f["data"] for f in frames if f["data"]["type"] == "progress")
    assert progress["kind"] == "profile.progress" and progress["schemaVersion"]
    assert [f["data"]["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert parse_sse(table.text)[-1]["data"]["type"] == "completed"
    assert (
        no_table.status_code == 400 and bad_json.json()["error"]["code"] == "request.invalid_json"
    )
    assert all(t["description"] for t in tables)
    assert search["search"]["mode"] == "tables" and search["search"]["items"]
    assert no_query.status_code == 400
    assert metrics["metrics"] == []
    profile_runs = [r for r in runs if r["operation"] == "profile"]
    assert {r["operationName"] for r in profile_runs} == {
        "data.profile.database",
        "data.profile.table",
    }
    assert all(
        r["status"] == "completed" and r["agentId"] == "flowai-runtime-data" for r in profile_runs
    )


def test_knowledge_ingest_and_lists(data_client: TestClient, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("Refunds are paid within 30 days.")
    (docs / "shipping.txt").write_text("We ship on weekdays.")
    ingested = data_client.post(f"{D}/knowledge/ingest", json={"source": {"path": str(docs)}})
    again = data_client.post(f"{D}/knowledge/ingest", json={"source": {"uri": docs.as_uri()}})
    invalid = data_client.post(f"{D}/knowledge/ingest", json={"source": "nope"})
    not_folder = data_client.post(
        f"{D}/knowledge/ingest", json={"source": {"path": str(docs / "refunds.md")}}
    )
    remote = data_client.post(
        f"{D}/knowledge/ingest", json={"source": {"uri": "https://example.com/x"}}
    )
    documents = data_client.get(f"{D}/knowledge/documents").json()["documents"]
    items = data_client.get(f"{D}/knowledge/items").json()["items"]
    events = [f["data"] for f in parse_sse(ingested.text)]
    assert [e["type"] for e in events] == ["discovered", "ingesting", "ingesting", "completed"]
    assert events[0]["totalFiles"] == 2
    assert events[1]["fileName"] == "refunds.md" and events[1]["kind"] == "ingest.progress"
    assert events[-1]["documentsIngested"] == 2 and events[-1]["documentsSkipped"] == 0
    assert [f["data"] for f in parse_sse(again.text)][-1]["documentsSkipped"] == 2
    for refused in (invalid, not_folder, remote):
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "data.knowledge.invalid_source"
    assert {d["name"] for d in documents} == {"refunds.md", "shipping.txt"}
    assert all("content" not in d and d["contentLength"] > 0 for d in documents)
    assert items == []


def test_extraction_with_an_offline_runtime_is_refused(
    data_client: TestClient, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("Refunds are paid within 30 days.")
    body = {"source": {"path": str(docs)}, "extractKnowledge": True}
    refused = data_client.post(f"{D}/knowledge/ingest", json=body)
    documents = data_client.get(f"{D}/knowledge/documents").json()["documents"]
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "data.command_failed"
    assert "no live client for model 'claude-haiku-4-5'" in refused.json()["error"]["message"]
    assert documents == []


def _data_model(request: ModelRequest) -> ModelTurn:
    """Answers the profiling enrichment and the knowledge extraction of a live runtime."""
    if request.agent == "profiling-enrichment":
        return ModelTurn(text='{"description": "Orders placed in the shop."}')
    if request.agent == "knowledge-extraction":
        item = {"name": "refund window", "knowledgeType": "business_rule"}
        item["scopeTables"] = ["orders"]
        return ModelTurn(text=json.dumps({"items": [item]}))
    return ModelTurn(text="hello")


def test_a_live_runtime_enriches_and_extracts_through_its_own_model(tmp_path: Path) -> None:
    spec = chat_spec()
    model = ScriptedModel(respond=_data_model, live=True)
    app = define_app(
        name="live-data",
        runtime_spec=spec,
        data_environment=data_environment(tmp_path),
        runtime_factory=lambda: create_runtime(spec, interpreter=model),
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("Refunds are paid within 30 days.")
    with studio_client(app) as client:
        profiled = client.post(f"{D}/profile/table", json={"tableName": "orders"})
        ingested = client.post(
            f"{D}/knowledge/ingest", json={"source": {"path": str(docs)}, "extractKnowledge": True}
        )
        items = client.get(f"{D}/knowledge/items").json()["items"]
    enriched = [f["data"] for f in parse_sse(profiled.text) if f["data"]["type"] == "tableEnriched"]
    assert [(e["tableName"], e["source"]) for e in enriched] == [("orders", "fresh")]
    completed = [f["data"] for f in parse_sse(ingested.text)][-1]
    assert completed["type"] == "completed" and completed["knowledgeItemsExtracted"] == 1
    assert [item["name"] for item in items] == ["refund window"]
    asked = [(r.agent, r.model, r.provider, list(r.tools)) for r in model.requests]
    assert asked == [
        ("profiling-enrichment", "claude-haiku-4-5", "anthropic", []),
        ("knowledge-extraction", "claude-haiku-4-5", "anthropic", []),
    ]


def test_tools_list_and_execute(data_client: TestClient) -> None:
    tools = data_client.get(f"{W}/tools").json()["tools"]
    query = data_client.post(
        f"{W}/tools/catalog.execute_query/execute",
        json={"input": {"sql": "SELECT COUNT(*) AS n FROM orders"}},
    ).json()
    by_name = data_client.post(
        f"{W}/tools/execute_query/execute", json={"input": {"sql": "DELETE FROM orders"}}
    ).json()
    invalid = data_client.post(f"{W}/tools/execute_query/execute", json={"input": {"x": 1}})
    not_object = data_client.post(f"{W}/tools/execute_query/execute", json={"input": [1]})
    echo = data_client.post(f"{W}/tools/echo/execute", json={"input": {"text": "hi"}}).json()
    gated = data_client.post(f"{W}/tools/lookup/execute", json={"input": {"sku": "A"}})
    routing = data_client.post(
        f"{W}/tools/call_agent/execute", json={"input": {"agent": "x", "prompt": "y"}}
    )
    unknown = data_client.post(f"{W}/tools/nope/execute", json={"input": {}})
    by_id = {t["toolId"]: t for t in tools}
    assert by_id["lookup"]["origin"] == "host" and by_id["lookup"]["approval"] == "always"
    assert by_id["catalog.execute_query"]["origin"] == "toolkit"
    assert by_id["catalog.execute_query"]["toolkit"] == "catalog"
    assert by_id["agents.call_agent"]["origin"] == "runtime"
    assert query["result"]["success"] is True
    assert query["result"]["toolId"] == "catalog.execute_query"
    assert query["result"]["data"]["rows"] == [{"n": 3}]
    assert by_name["result"]["success"] is False
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "tool.invalid_input"
    assert not_object.status_code == 400
    assert echo["result"] == {"toolId": "echo", "success": True, "data": {"echo": "hi"}}
    assert gated.status_code == 409 and gated.json()["error"]["code"] == "tool.needs_approval"
    assert gated.json()["error"]["message"].startswith(
        "Tool `lookup` needs a person's approval for this call"
    )
    assert routing.status_code == 409
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "tool.not_found"


def test_passwords_in_data_urls_never_reach_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DB_URL", "postgresql://app:envsecret@127.0.0.1:1/shop")
    env: dict[str, Any] = {"target_database": {"kind": "postgres", "url_env": "SHOP_DB_URL"}}
    url_env = define_app(name="pg-env", runtime_spec=chat_spec(), data_environment=env)
    raw = define_app(
        name="pg-raw",
        runtime_spec=chat_spec(),
        target_database_url="postgresql://app:rawsecret@127.0.0.1:1/shop",
    )
    for app, credential in (
        (url_env, {"kind": "env", "ref": "SHOP_DB_URL"}),
        (raw, {"kind": "serverManaged"}),
    ):
        with studio_client(app) as client:
            sources = client.get(f"{D}/sources")
            failing = client.get(f"{D}/discovery/schemas")
            workspaces = client.get("/api/workspaces")
        assert sources.json()["sources"][0]["credential"] == credential
        assert sources.json()["sources"][0]["kind"] == "postgres"
        assert failing.status_code == 409
        for response in (sources, failing, workspaces):
            assert "secret" not in response.text
