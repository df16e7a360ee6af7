"""Tests for the discovery routes and the cross-cutting HTTP rules
(src/flowai_harness/studio/routes/discovery.py, routes/ui.py, api_errors.py, server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.studio import create_studio_app, define_app
from flowai_harness.studio.store import StudioStore

from .studio_apps import chat_app, chat_spec, studio_client


def test_status_reports_v1_in_both_version_fields() -> None:
    with studio_client(chat_app()) as client:
        response = client.get("/api/status")
    assert response.status_code == 200
    body = response.json()
    assert body["studioApiVersion"] == "harness-studio/v1"
    assert body["supportedVersions"] == ["harness-studio/v1"]
    assert body["status"] == "ready"
    assert body["implementation"]["name"] == "py-flowai-harness"
    assert body["implementation"]["mode"] == "local"
    assert "content-security-policy-report-only" in response.headers


def test_workspaces_list_and_one_workspace() -> None:
    with studio_client(chat_app()) as client:
        listed = client.get("/api/workspaces").json()
        one = client.get("/api/workspaces/sales").json()
    assert listed["defaultWorkspaceKey"] == "default"
    assert [w["workspaceKey"] for w in listed["workspaces"]] == ["default", "sales"]
    assert listed["workspaces"][0]["metadata"] == {"owner": "data-platform"}
    assert one["workspaceKey"] == "sales" and one["resourceId"] == "sales-co"


@pytest.mark.parametrize(
    "path",
    [
        "/api/workspaces/missing",
        "/api/workspaces/missing/runtime",
        "/api/workspaces/missing/agents",
        "/api/workspaces/missing/threads",
        "/api/workspaces/missing/runs",
        "/api/workspaces/missing/tests",
        "/api/workspaces/missing/evals",
        "/api/workspaces/missing/data/sources",
        "/api/workspaces/missing/approvals",
    ],
)
def test_every_scoped_route_rejects_an_unknown_workspace(path: str) -> None:
    with studio_client(chat_app()) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "workspace.not_found",
            "message": "Workspace `missing` was not found.",
            "retryable": False,
            "details": {"workspaceKey": "missing"},
        }
    }
    assert response.headers["cache-control"] == "no-store"


def test_runtime_summary_names_credentials_by_reference_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-supersecret-value-123")
    spec = chat_spec().model_copy(
        update={
            "providers": {
                "anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"},
                "openai": {"api_key": "sk-raw-secret-value-999"},
                "vault": {"api": "openai", "secret_ref": "secret://x"},
                "local": {"api": "openai", "baseUrl": "http://127.0.0.1:1/v1"},
            }
        }
    )
    app = define_app(name="creds", runtime_spec=spec, runtime_factory=lambda: None)
    with studio_client(app) as client:
        response = client.get("/api/workspaces/default/runtime")
        alias = client.get("/api/runtime").json()
    body = response.json()
    assert alias == body
    assert body["tenant"] == {"tenantId": "acme", "version": "v1"}
    providers = {p["name"]: p for p in body["providers"]}
    assert providers["anthropic"]["credential"] == {"kind": "env", "ref": "ANTHROPIC_API_KEY"}
    assert providers["openai"]["credential"] == {"kind": "serverManaged"}
    assert providers["vault"]["credential"] == {"kind": "secretRef", "ref": "secret://x"}
    assert providers["local"] == {
        "name": "local",
        "configured": False,
        "credential": {"kind": "missing"},
    }
    assert "secret-value" not in response.text
    assert body["plans"] == [
        {"name": "price_plan", "schemaRef": "runtime://plans/price_plan/schema"}
    ]


def test_agents_one_agent_and_the_default_alias() -> None:
    with studio_client(chat_app()) as client:
        agents = client.get("/api/workspaces/default/agents").json()
        alias = client.get("/api/agents").json()
        one = client.get("/api/workspaces/default/agents/pricing").json()
        missing = client.get("/api/workspaces/default/agents/ghost")
    assert alias == agents
    by_id = {a["agentId"]: a for a in agents["agents"]}
    assert by_id["coord"]["entrypoint"] is True and by_id["coord"]["role"] == "coordinator"
    assert by_id["coord"]["routes"] == ["pricing", "helper"]
    assert by_id["pricing"]["tools"] == ["lookup"] and by_id["pricing"]["entrypoint"] is False
    assert one["agentId"] == "pricing" and one["model"] == "claude-haiku-4-5"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "agent.not_found"


def test_capabilities_list_every_id_and_say_why_one_is_off() -> None:
    with studio_client(chat_app()) as client:
        body = client.get("/api/workspaces/default/capabilities").json()
    caps = {c["id"]: c for c in body["capabilities"]}
    assert caps["chat.stream"] == {"id": "chat.stream", "enabled": True, "scope": "local"}
    assert caps["data.profile"]["enabled"] is False
    assert "data environment" in caps["data.profile"]["reason"]
    assert caps["tools.inspect"]["enabled"] is False and caps["tools.inspect"]["reason"]
    assert caps["enterprise.rbac"]["scope"] == "enterprise"
    assert caps["enterprise.rbac"]["enabled"] is False
    assert caps["enterprise.rbac"]["requirements"] == ["enterprise.auth"]


def test_eval_modes_and_toolkits() -> None:
    with studio_client(chat_app()) as client:
        modes = client.get("/api/workspaces/default/eval-capabilities").json()["modes"]
        toolkits = client.get("/api/workspaces/default/toolkits").json()["toolkits"]
    assert [(m["mode"], m["agentId"]) for m in modes] == [
        ("sequential", "coord"),
        ("planner", "planner"),
        ("specialist", "pricing"),
        ("specialist", "helper"),
    ]
    assert modes[2]["targetAgentId"] == "pricing"
    by_id = {t["toolkitId"]: t for t in toolkits}
    assert by_id["agents"]["enabled"] is True and "call_agent" in by_id["agents"]["tools"]
    assert by_id["catalog"]["enabled"] is False


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_unknown_api_routes_are_route_not_found_for_any_method(method: str) -> None:
    with studio_client(chat_app()) as client:
        response = client.request(method, "/api/nothing/here")
        decision = client.request(
            method, "/api/workspaces/default/approvals/a1/decision", json={"decision": "approved"}
        )
    for answer in (response, decision):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "route.not_found"


def test_cors_allows_configured_origins_only() -> None:
    with studio_client(chat_app(), allowed_origins=["http://localhost:3000"]) as client:
        allowed = client.get("/api/status", headers={"Origin": "http://localhost:3000"})
        other = client.get("/api/status", headers={"Origin": "http://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-origin" not in other.headers


def test_config_script_and_api_docs() -> None:
    with studio_client(chat_app(name="My App")) as client:
        script = client.get("/__flowai_config.js")
        docs = client.get("/api/docs")
        schema = client.get("/api/openapi.json")
    assert script.headers["cache-control"] == "no-store"
    assert script.text.startswith("window.__FLOWAI__ = {")
    assert '"appName": "My App"' in script.text and '"streamTransport": "sse"' in script.text
    assert docs.status_code == 200
    assert "/api/workspaces/{workspace_key}/agents/{agent_id}/stream" in schema.json()["paths"]


def test_without_a_ui_build_or_with_no_studio_ui_paths_answer_503() -> None:
    for options in ({}, {"serve_studio": False}):
        with studio_client(chat_app(), static_dir=Path("/nonexistent"), **options) as client:
            root = client.get("/")
            deep = client.get("/playground/thread_1")
            status = client.get("/api/status")
        assert root.status_code == 503 and deep.status_code == 503
        assert root.json()["api"] == "/api/status"
        assert root.json()["studioApiVersion"] == "harness-studio/v1"
        assert status.status_code == 200


def test_a_ui_build_is_served_with_spa_fallback_and_cache_rules(tmp_path: Path) -> None:
    ui = tmp_path / "ui"
    (ui / "assets").mkdir(parents=True)
    (ui / "index.html").write_text("<html>studio</html>")
    (ui / "assets" / "app.js").write_text("console.log(1)")
    (ui / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("top secret")
    with studio_client(chat_app(), static_dir=ui) as client:
        root = client.get("/")
        asset = client.get("/assets/app.js")
        icon = client.get("/favicon.svg")
        route = client.get("/runs/run_1")
        missing = client.get("/missing.png")
        traversal = client.get("/..%2Fsecret.txt")
    assert root.text == "<html>studio</html>" and root.headers["cache-control"] == "no-cache"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert icon.text == "<svg/>"
    assert route.text == "<html>studio</html>"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "static.not_found"
    assert "top secret" not in traversal.text
    with studio_client(chat_app(), static_dir=ui, serve_studio=False) as client:
        assert client.get("/").status_code == 503


def test_create_studio_app_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(SpecTypeError, match="FlowAIApp"):
        create_studio_app(object())  # type: ignore[arg-type]
    with pytest.raises(SpecTypeError, match="StudioStore"):
        create_studio_app(chat_app(), store="x")  # type: ignore[arg-type]
    with pytest.raises(SpecValueError, match="not both"):
        create_studio_app(chat_app(), store=StudioStore(), store_path=tmp_path / "s.db")


def test_host_check_refuses_foreign_hosts() -> None:
    with studio_client(chat_app(), allowed_hosts=["127.0.0.1", "localhost"]) as client:
        refused = client.get("/api/status", headers={"Host": "evil.example"})
        allowed = client.get("/api/status", headers={"Host": "127.0.0.1:4111"})
    assert refused.status_code == 421
    assert refused.json()["error"]["code"] == "request.host_not_allowed"
    assert allowed.status_code == 200


def test_importing_the_studio_package_does_not_load_the_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, flowai_harness.studio as studio\n"
        "studio.define_app; studio.StudioStore\n"
        "assert 'fastapi' not in sys.modules and 'uvicorn' not in sys.modules, 'web stack loaded'\n"
        "studio.create_studio_app\n"
        "assert 'fastapi' not in sys.modules, 'server module imported FastAPI eagerly'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
