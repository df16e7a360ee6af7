"""The Studio's request guard (src/flowai_harness/studio/request_guard.py): cross-site requests,
the Host check, the bearer token, body and JSON-depth caps.

Everything runs in process through Starlette's TestClient. The network-bind cases build the app
for a documentation address (192.0.2.10) and send requests through the in-process transport:
nothing is bound to it and no traffic leaves the process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError
from flowai_harness.ports import ModelRequest
from flowai_harness.studio import FlowAIApp, create_studio_app, define_app
from flowai_harness.studio.request_guard import (
    CSP_REPORT_ONLY,
    DEFAULT_MAX_BODY_BYTES,
    json_nesting_exceeds,
)
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn

from .studio_apps import parse_sse

W = "/api/workspaces/default"
EXECUTE = f"{W}/tools/bump/execute"
CHAT = f"{W}/agents/coord/stream"
LOCAL = "http://127.0.0.1:4111"
NETWORK_IP = "192.0.2.10"
NETWORK = f"http://{NETWORK_IP}:4111"
TOKEN = "studio-token-9f8e7d6c5b4a"
EVIL = "http://evil.example"


@dataclass
class Counts:
    """How often the tool and the model ran: the side effects a refused request must not have."""

    tool: int = 0
    model: int = 0
    prompts: list[str] = field(default_factory=list)


def counting_app() -> tuple[FlowAIApp, Counts]:
    counts = Counts()

    @define_tool("bump", description="Counts its calls.", input_schema={"n": int})
    def bump(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        counts.tool += 1
        return {"n": args["n"]}

    def respond(request: ModelRequest) -> ModelTurn:
        counts.model += 1
        counts.prompts.append(request.prompt)
        return ModelTurn(f"Hello: {request.prompt}")

    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_coordinator("coord", model="claude-haiku-4-5", routes=["worker"], prompt="R."),
            define_specialist("worker", model="claude-haiku-4-5", prompt="W.", tools=[bump]),
        ],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )
    app = define_app(
        name="guard-test",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, interpreter=ScriptedModel(respond=respond)),
    )
    return app, counts


@contextmanager
def client_for(base_url: str = LOCAL, **options: Any) -> Iterator[tuple[TestClient, Counts]]:
    app, counts = counting_app()
    options.setdefault("store_path", None)
    with TestClient(create_studio_app(app, **options), base_url=base_url) as client:
        yield client, counts


def error_of(response: Any) -> str:
    body = response.json()
    assert set(body["error"]) >= {"code", "message", "retryable", "details"}
    assert response.headers["cache-control"] == "no-store"
    code: str = body["error"]["code"]
    return code


# ---------------------------------------------------------------- cross-site requests


def test_cross_site_posts_to_the_tool_route_are_refused_and_the_tool_does_not_run() -> None:
    form = {"content": '{"input": {"n": 1}}'}
    with client_for() as (client, counts):
        foreign_text = client.post(
            EXECUTE, headers={"Origin": EVIL, "Content-Type": "text/plain"}, **form
        )
        foreign_json = client.post(EXECUTE, json={"input": {"n": 1}}, headers={"Origin": EVIL})
        null_origin = client.post(EXECUTE, json={"input": {"n": 1}}, headers={"Origin": "null"})
        text_plain = client.post(EXECUTE, headers={"Content-Type": "text/plain"}, **form)
        no_type = client.post(EXECUTE, **form)
        urlencoded = client.post(EXECUTE, data={"input": "x"})
        marked = client.post(
            EXECUTE, json={"input": {"n": 1}}, headers={"Sec-Fetch-Site": "cross-site"}
        )
        sibling = client.post(
            EXECUTE, json={"input": {"n": 1}}, headers={"Sec-Fetch-Site": "same-site"}
        )
        assert counts.tool == 0
        same_origin = client.post(EXECUTE, json={"input": {"n": 7}}, headers={"Origin": LOCAL})
        no_origin = client.post(EXECUTE, json={"input": {"n": 8}})  # curl, scripts
    for refused in (foreign_text, foreign_json, null_origin, marked, sibling):
        assert refused.status_code == 403, refused.text
        assert error_of(refused) == "request.cross_origin"
    assert EVIL in foreign_json.json()["error"]["message"]
    for refused in (text_plain, no_type, urlencoded):
        assert refused.status_code == 415, refused.text
        assert error_of(refused) == "request.unsupported_media_type"
    assert "application/json" in text_plain.json()["error"]["message"]
    assert same_origin.status_code == 200
    assert same_origin.json()["result"] == {"toolId": "bump", "success": True, "data": {"n": 7}}
    assert no_origin.status_code == 200
    assert counts.tool == 2


def test_cross_site_posts_to_the_chat_route_start_no_run() -> None:
    body = json.dumps({"prompt": "from evil"})
    with client_for() as (client, counts):
        refused = [
            client.post(CHAT, content=body, headers={"Origin": EVIL, "Content-Type": "text/plain"}),
            client.post(CHAT, content=body, headers={"Content-Type": "text/plain"}),
            client.post(CHAT, content=body),
            client.post(CHAT, json={"prompt": "from evil"}, headers={"Origin": EVIL}),
        ]
        threads = client.get(f"{W}/threads").json()["threads"]
        assert counts.model == 0 and threads == []
        ok = client.post(CHAT, json={"prompt": "hi"}, headers={"Origin": LOCAL})
    assert [r.status_code for r in refused] == [403, 415, 415, 403]
    assert [f["event"] for f in parse_sse(ok.text)][-1] == "run.completed"
    assert counts.prompts == ["hi"]


def test_body_less_state_changes_need_no_content_type_but_the_origin_check_applies() -> None:
    with client_for() as (client, _):
        started = client.post(CHAT, json={"prompt": "hi"})
        thread_id = started.headers["x-flowai-thread-id"]
        foreign = client.delete(f"{W}/threads/{thread_id}", headers={"Origin": EVIL})
        assert client.get(f"{W}/threads").json()["threads"] != []
        own = client.delete(f"{W}/threads/{thread_id}", headers={"Origin": LOCAL})
        left = client.get(f"{W}/threads").json()["threads"]
    assert foreign.status_code == 403 and error_of(foreign) == "request.cross_origin"
    assert own.status_code in (200, 204) and left == []


def test_allowed_origins_and_browser_vouched_same_origin_requests_pass() -> None:
    options = {"allowed_origins": ["http://ui.example:5173", "http://localhost:*"]}
    with client_for(**options) as (client, counts):
        listed = client.post(
            EXECUTE, json={"input": {"n": 1}}, headers={"Origin": "http://ui.example:5173"}
        )
        any_port = client.post(
            EXECUTE, json={"input": {"n": 2}}, headers={"Origin": "http://localhost:3000"}
        )
        other_port = client.post(
            EXECUTE, json={"input": {"n": 3}}, headers={"Origin": "http://ui.example:5174"}
        )
        # behind a proxy that rewrites Host, the browser's own verdict is trusted
        vouched = client.post(
            EXECUTE,
            json={"input": {"n": 4}},
            headers={"Origin": "https://studio.corp.example", "Sec-Fetch-Site": "same-origin"},
        )
    assert [r.status_code for r in (listed, any_port, other_port, vouched)] == [200, 200, 403, 200]
    assert counts.tool == 3


def test_cors_is_closed_unless_origins_are_configured() -> None:
    with client_for() as (client, _):
        closed = client.get("/api/status", headers={"Origin": "http://localhost:3000"})
        preflight = client.options(
            EXECUTE,
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in preflight.headers
    with client_for(allowed_origins=["http://localhost:3000"]) as (client, _):
        opened = client.get("/api/status", headers={"Origin": "http://localhost:3000"})
        other = client.get("/api/status", headers={"Origin": EVIL})
        preflight = client.options(
            EXECUTE,
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert opened.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()


# ---------------------------------------------------------------- Host check and token


def test_a_loopback_app_refuses_foreign_host_headers() -> None:
    with client_for() as (client, _):
        rebound = client.get("/api/status", headers={"Host": "rebind.example:4111"})
        page = client.get("/", headers={"Host": "rebind.example:4111"})
        local = client.get("/api/status", headers={"Host": "localhost:4111"})
    assert rebound.status_code == page.status_code == 421
    assert error_of(rebound) == "request.host_not_allowed"
    assert local.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "::", NETWORK_IP])
def test_a_network_bind_without_a_token_is_refused(host: str) -> None:
    app, _ = counting_app()
    with pytest.raises(ConfigurationError, match="without a token") as caught:
        create_studio_app(app, bind_host=host, store_path=None)
    assert "FLOWAI_STUDIO_TOKEN" in str(caught.value)


def test_a_network_bind_needs_the_token_and_refuses_spoofed_hosts() -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    options = {"bind_host": NETWORK_IP, "token": TOKEN}
    with client_for(NETWORK, **options) as (client, counts):
        spoofed = [
            client.get("/api/status", headers={**auth, "Host": host})
            for host in ("127.0.0.1:4111", "localhost", "0.0.0.0:4111", "[::1]:4111")
        ]
        spoofed_post = client.post(
            EXECUTE, json={"input": {"n": 1}}, headers={**auth, "Host": "127.0.0.1:4111"}
        )
        missing = client.get("/api/status")
        wrong = client.get("/api/status", headers={"Authorization": "Bearer nope"})
        basic = client.get("/api/status", headers={"Authorization": f"Basic {TOKEN}"})
        unauth_post = client.post(EXECUTE, json={"input": {"n": 1}})
        assert counts.tool == 0
        status = client.get("/api/status", headers=auth)
        executed = client.post(EXECUTE, json={"input": {"n": 5}}, headers=auth)
        page = client.get("/")
        config = client.get("/__flowai_config.js")
        docs = client.get("/api/openapi.json")
    assert [r.status_code for r in spoofed] == [421, 421, 421, 421]
    assert spoofed_post.status_code == 421
    assert missing.status_code == 401 and error_of(missing) == "auth.token_required"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == basic.status_code == unauth_post.status_code == 401
    assert error_of(wrong) == "auth.invalid_token"
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert status.status_code == 200 and executed.status_code == 200
    assert counts.tool == 1
    assert page.status_code == 200 and config.status_code == 200  # static files stay public
    assert docs.status_code == 401
    for response in (missing, wrong, status, page):
        assert TOKEN not in response.text
        assert response.headers["content-security-policy-report-only"] == CSP_REPORT_ONLY


def test_a_wildcard_bind_accepts_loopback_names_only_on_loopback_connections() -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client_for(NETWORK, bind_host="0.0.0.0", token=TOKEN) as (client, _):
        spoofed = client.get("/api/status", headers={**auth, "Host": "127.0.0.1:4111"})
        by_ip = client.get("/api/status", headers=auth)
    with client_for(LOCAL, bind_host="0.0.0.0", token=TOKEN) as (client, _):
        local = client.get("/api/status", headers=auth)
    options = {"bind_host": "0.0.0.0", "token": TOKEN, "allowed_hosts": ["studio.example"]}
    with client_for(NETWORK, **options) as (client, _):
        unlisted = client.get("/api/status", headers=auth)
        named = client.get("/api/status", headers={**auth, "Host": "studio.example"})
    assert spoofed.status_code == 421
    assert by_ip.status_code == local.status_code == 200
    assert unlisted.status_code == 421 and named.status_code == 200


def test_a_token_on_loopback_applies_the_same_rules(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(token=TOKEN) as (client, counts):
        missing = client.post(EXECUTE, json={"input": {"n": 1}})
        ok = client.post(
            EXECUTE, json={"input": {"n": 1}}, headers={"Authorization": f"bearer {TOKEN}"}
        )
        stream = client.post(
            CHAT, json={"prompt": "hi"}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert missing.status_code == 401 and ok.status_code == 200
    assert [f["event"] for f in parse_sse(stream.text)][-1] == "run.completed"
    assert counts.tool == 1
    assert TOKEN not in caplog.text


def test_security_options_are_checked() -> None:
    app, _ = counting_app()
    bad: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"token": ""}, SpecValueError, "token must be a non-empty string"),
        ({"token": "two words"}, SpecValueError, "printable ASCII"),
        ({"token": 5}, SpecTypeError, "token must be a string"),
        ({"allowed_origins": ["*"]}, SpecValueError, "does not accept '\\*'"),
        ({"allowed_origins": "http://a.example"}, SpecTypeError, "list of strings"),
        ({"allowed_hosts": ["http://a.example"]}, SpecValueError, "not a host name"),
        ({"max_body_bytes": 0}, SpecValueError, "max_body_bytes must be a positive"),
        ({"max_json_depth": True}, SpecTypeError, "max_json_depth must be an integer"),
        ({"bind_host": "no such host"}, SpecValueError, "invalid bind address"),
    ]
    for options, error, message in bad:
        with pytest.raises(error, match=message):
            create_studio_app(app, store_path=None, **options)


# ---------------------------------------------------------------- body and depth caps


def test_bodies_over_the_cap_are_refused_while_streaming() -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"input": {"n": 1}, "pad": "'
        for _ in range(64):
            yield b"x" * 1024  # no Content-Length: the cap applies while reading
        yield b'"}'

    with client_for(max_body_bytes=16 * 1024) as (client, counts):
        streamed = client.post(
            EXECUTE, content=chunks(), headers={"Content-Type": "application/json"}
        )
        declared = client.post(EXECUTE, json={"input": {"n": 1}, "pad": "x" * 20_000})
        small = client.post(EXECUTE, json={"input": {"n": 2}})
    for refused in (streamed, declared):
        assert refused.status_code == 413
        assert error_of(refused) == "request.body_too_large"
        assert refused.json()["error"]["details"] == {"maxBytes": 16 * 1024}
    assert small.status_code == 200 and counts.tool == 1


async def test_an_endless_body_is_cut_off_after_the_cap_without_reading_the_rest() -> None:
    from flowai_harness._mcp_serving.exposure import HostPolicy, resolve_bind_host
    from flowai_harness.studio.request_guard import GuardSettings, StudioRequestGuard

    reached_app: list[bool] = []
    chunks_read = 0
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached_app.append(True)

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"[" * 1024, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    settings = GuardSettings(
        hosts=HostPolicy.for_bind(resolve_bind_host("127.0.0.1")), max_body_bytes=16 * 1024
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": EXECUTE,
        "scheme": "http",
        "server": ("127.0.0.1", 4111),
        "headers": [
            (b"host", b"127.0.0.1:4111"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
    }
    await StudioRequestGuard(app, settings)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert chunks_read == 17  # 16 KiB accepted, the 17th chunk passes the cap: stop there
    assert reached_app == []


def test_the_default_cap_is_ten_mebibytes() -> None:
    assert DEFAULT_MAX_BODY_BYTES == 10 * 1024 * 1024
    padding = "x" * DEFAULT_MAX_BODY_BYTES
    with client_for() as (client, counts):
        refused = client.post(EXECUTE, json={"input": {"n": 1}, "pad": padding})
    assert refused.status_code == 413 and counts.tool == 0


def test_a_deeply_nested_body_is_a_400_and_the_server_keeps_working() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with client_for() as (client, counts):
        answers = [
            client.post(route, content=deep, headers={"Content-Type": "application/json"})
            for route in (EXECUTE, CHAT, f"{W}/tests", f"{W}/evals")
        ]
        unterminated = client.post(
            EXECUTE, content="{" * 100_000, headers={"Content-Type": "application/json"}
        )
        # the outer object is level 1
        depth_65 = client.post(
            EXECUTE, json={"input": {"n": 1}, "x": json.loads("[" * 64 + "]" * 64)}
        )
        depth_64 = client.post(
            EXECUTE, json={"input": {"n": 1}, "x": json.loads("[" * 63 + "]" * 63)}
        )
        after = client.post(EXECUTE, json={"input": {"n": 2}})
    for answer in (*answers, unterminated, depth_65):
        assert answer.status_code == 400, answer.text
        assert error_of(answer) == "request.json_too_deep"
        assert "64" in answer.json()["error"]["message"]
    assert depth_64.status_code == 200
    assert after.status_code == 200 and counts.tool == 2


def test_the_depth_cap_is_configurable() -> None:
    with client_for(max_json_depth=3) as (client, _):
        deep = client.post(EXECUTE, json={"input": {"n": 1}, "x": [[[1]]]})  # 4 levels
        shallow = client.post(EXECUTE, json={"input": {"n": 1}, "x": [[1]]})
    assert deep.status_code == 400 and shallow.status_code == 200


def _reference_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def test_brackets_inside_strings_do_not_count() -> None:
    assert not json_nesting_exceeds(json.dumps({"a": "[[[[[[[[" * 20}).encode(), 2)
    assert not json_nesting_exceeds(json.dumps({"a": '\\"[[[[[[' * 20}).encode(), 2)
    assert json_nesting_exceeds(b'{"a": "x\\"", "b": [[[1]]]}', 3)
    assert not json_nesting_exceeds(b'{"a": "x\\"", "b": [[1]]}', 3)
    assert not json_nesting_exceeds(b'"[[[[[[[[[[[[[[ unterminated', 2)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=3), children, max_size=3)
    ),
    max_leaves=30,
)


@given(json_values, st.integers(min_value=0, max_value=8))
def test_the_depth_scan_agrees_with_a_character_walk(value: Any, limit: int) -> None:
    text = json.dumps(value)
    assert json_nesting_exceeds(text.encode(), limit) == (_reference_depth(text) > limit)
