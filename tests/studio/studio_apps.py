"""Studio apps and helpers shared by the Studio route tests.

The chat app is a coordinator ``coord`` routing to a specialist ``pricing`` whose host tool
``lookup`` always needs approval, plus a planner (not chat-able) and a second workspace with its
own tenant. Models are :class:`~flowai_harness.testing.ScriptedModel` instances answering from a
function of the request, so every run of the same prompt plays the same way.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from flowai_harness import (
    TestingConfig,
    create_runtime,
    define_coordinator,
    define_plan,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.ports import ModelRequest
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.studio import FlowAIApp, create_studio_app, define_app
from flowai_harness.studio.apps import define_workspace_runtime
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn, ToolCallStep
from tests.waiting import wait_until_sync

CONTRACT = Path(__file__).resolve().parent / "contract"
#: The base URL of in-process clients (the default ``testserver`` is not a host the Studio
#: answers).
LOCAL_URL = "http://127.0.0.1"


@define_tool(
    "lookup",
    description="Look up the price of a SKU.",
    input_schema={"sku": str},
    approval="always",
)
def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


@define_tool("echo", description="Echo the text back.", input_schema={"text": str})
def echo(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"echo": args["text"]}


def chat_spec(tenant: str = "acme") -> RuntimeSpec:
    """Coordinator ``coord`` -> specialist ``pricing`` (tool ``lookup``, approval always),
    specialist ``helper`` (tool ``echo``), planner ``planner`` (not chat-able)."""
    plan = define_plan("price_plan", {"actions": list[dict[str, Any]]})
    return define_runtime(
        define_tenant(tenant, "v1"),
        agents=[
            define_coordinator(
                "coord", model="claude-sonnet-4-6", routes=["pricing", "helper"], prompt="Route."
            ),
            define_specialist(
                "pricing", model="claude-haiku-4-5", prompt="Price things.", tools=[lookup]
            ),
            define_specialist("helper", model="claude-haiku-4-5", prompt="Help.", tools=[echo]),
            define_planner("planner", model="claude-haiku-4-5", prompt="Plan.", plan=plan),
        ],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )


def respond(request: ModelRequest) -> ModelTurn:
    """The scripted behaviour of every agent of :func:`chat_spec`."""
    prompt = request.prompt
    if request.agent == "coord":
        if request.turn == 1 and "price" in prompt:
            call = ToolCallStep("call_agent", {"agent": "pricing", "prompt": "price of A-1"})
            return ModelTurn("Routing. ", [call])
        if request.turn == 1 and "fail" in prompt:
            return ModelTurn(error="model exploded")
        return ModelTurn("The price is 4.50" if "price" in prompt else f"Hello: {prompt}")
    if request.agent == "pricing":
        if request.turn == 1:
            return ModelTurn("", [ToolCallStep("lookup", {"sku": "A-1"})])
        return ModelTurn("It is 4.50")
    if request.agent == "helper":
        if request.turn == 1:
            return ModelTurn("", [ToolCallStep("echo", {"text": prompt})])
        return ModelTurn(f"echoed {prompt}")
    return ModelTurn("planned")


def chat_runtime_factory(spec: RuntimeSpec) -> Callable[[], Any]:
    def build() -> Any:
        return create_runtime(spec, interpreter=ScriptedModel(respond=respond))

    return build


def chat_app(name: str = "studio-test", **binding: Any) -> FlowAIApp:
    """Two workspaces: ``default`` (the chat spec) and ``sales`` (its own tenant and threads)."""
    spec = chat_spec()
    sales = chat_spec("sales-co")
    return define_app(
        name=name,
        workspaces={
            "default": define_workspace_runtime(
                runtime_spec=spec,
                runtime_factory=chat_runtime_factory(spec),
                description="Default local runtime binding.",
                metadata={"owner": "data-platform"},
                **binding,
            ),
            "sales": define_workspace_runtime(
                runtime_spec=sales, runtime_factory=chat_runtime_factory(sales)
            ),
        },
    )


def mock_app(name: str = "eval-test") -> FlowAIApp:
    """One workspace whose runtime answers every prompt with the mock text (for evals)."""
    spec = chat_spec()
    return define_app(
        name=name,
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(
            spec, testing=TestingConfig(mock_response="Refunds take 30 days.")
        ),
    )


@contextmanager
def studio_client(app: FlowAIApp, **options: Any) -> Iterator[TestClient]:
    """A TestClient on one event loop for the whole test (live runs and requests share it).

    Requests go to ``http://127.0.0.1``: the Studio only answers its own host names.
    """
    options.setdefault("store_path", None)
    with TestClient(create_studio_app(app, **options), base_url=LOCAL_URL) as client:
        yield client


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Parse an SSE body into ``[{"id", "event", "data"}]`` (``data`` decoded as JSON)."""
    frames = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        frame: dict[str, Any] = {"id": None, "event": None, "data": None}
        for line in block.splitlines():
            field, _, value = line.partition(": ")
            if field == "data":
                frame["data"] = json.loads(value)
            elif field in ("id", "event"):
                frame[field] = value
        frames.append(frame)
    return frames


class BackgroundRequest:
    """A request running in a thread (the TestClient waits for a stream's end)."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.result = call()
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def join(self, timeout: float = 20.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background request did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it returns something truthy; return that."""
    return wait_until_sync(predicate, timeout=timeout, interval=0.02)


def pending_approval(client: TestClient, workspace: str = "default") -> dict[str, Any]:
    """Wait until the workspace has a pending approval and return it."""

    def find() -> dict[str, Any] | None:
        rows = client.get(f"/api/workspaces/{workspace}/approvals").json()["approvals"]
        # rows with a run id were recorded by the Studio (not only held by the runtime)
        return next((row for row in rows if row["status"] == "pending" and row["runId"]), None)

    found: dict[str, Any] = wait_for(find)
    return found


def make_target_database(path: Path) -> Path:
    """A small SQLite shop database: customers and orders (with a foreign key)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, tier TEXT);
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER REFERENCES customers(id),
            status TEXT,
            total REAL
        );
        INSERT INTO customers VALUES (1, 'Ada', 'gold'), (2, 'Linus', 'silver');
        INSERT INTO orders VALUES (10, 1, 'shipped', 12.5), (11, 2, 'open', 7.0),
                                  (12, 1, 'open', 3.25);
        """
    )
    conn.commit()
    conn.close()
    return path


def data_environment(root: Path) -> dict[str, Any]:
    """A data environment in ``root``: SQLite KV, catalog, target, and a search index."""
    target = make_target_database(root / "shop.db")
    return {
        "kv": {"kind": "sqlite", "url": f"sqlite:{root / 'kv.db'}"},
        "catalog": {"kind": "sqlite", "url": f"sqlite:{root / 'catalog.db'}"},
        "catalog_search": {"index_path": str(root / "index"), "write_through": True},
        "target_database": {"kind": "sqlite", "url": f"sqlite:{target}"},
    }


def data_app(root: Path, name: str = "data-studio") -> FlowAIApp:
    """One workspace (the chat spec, default runtime factory) bound to
    :func:`data_environment` in ``root``; the search index is rebuilt on start."""
    spec = chat_spec()
    env = data_environment(root)
    env["catalog_search"]["rebuild_on_start"] = True
    return define_app(
        name=name,
        runtime_spec=spec,
        data_environment=env,
    )
