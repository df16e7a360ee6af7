"""Tests for the Studio app declaration (src/flowai_harness/studio/apps.py)."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError
from flowai_harness.studio.apps import (
    BASE_CAPABILITIES,
    DATA_CAPABILITIES,
    KNOWN_CAPABILITIES,
    AppImportError,
    FlowAIApp,
    UnknownWorkspaceError,
    WorkspaceRuntimeBinding,
    define_app,
    define_workspace_runtime,
    resolve_app_reference,
)

BASE = list(BASE_CAPABILITIES)
BASE_AND_DATA = [*BASE_CAPABILITIES, *DATA_CAPABILITIES]


def build_runtime_spec(resource_id: str = "acme") -> Any:
    from flowai_harness.specs.agents import define_specialist
    from flowai_harness.specs.runtime import define_runtime
    from flowai_harness.specs.tenant import define_tenant

    return define_runtime(
        define_tenant(resource_id, "v1"),
        agents=[
            define_specialist("analyst", model="claude-sonnet-4-6", prompt="Answer questions.")
        ],
        providers={"anthropic": {"apiKey": "unused"}},
    )


@pytest.fixture
def runtime_spec() -> Any:
    return build_runtime_spec()


class FakeRuntime:
    """Stands in for a live runtime handle: the binding never looks inside it."""

    def __init__(self, resource_id: str = "acme") -> None:
        self.resource_id = resource_id


class CountingFactory:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> FakeRuntime:
        self.calls += 1
        return FakeRuntime()


# ---------------------------------------------------------------- define_workspace_runtime


def test_binding_defaults_come_from_the_spec(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec)
    assert isinstance(binding, WorkspaceRuntimeBinding)
    assert binding.runtime_spec is runtime_spec
    assert binding.workspace_key is None
    assert binding.display_name == "Default"
    assert binding.description is None
    assert binding.resource_id == "acme"
    assert dict(binding.metadata) == {}
    assert binding.capabilities == BASE_CAPABILITIES
    assert binding.data_environment is None
    assert binding.runtime_constructed is False


def test_binding_accepts_a_runtime_spec_mapping(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec.to_wire())
    assert binding.runtime_spec.to_wire() == runtime_spec.to_wire()
    assert binding.resource_id == "acme"


def test_binding_rejects_an_invalid_runtime_spec_mapping() -> None:
    with pytest.raises(ValidationError):
        define_workspace_runtime(runtime_spec={"agents": []})


@pytest.mark.parametrize("value", [None, "acme", 3, ["spec"]])
def test_binding_rejects_a_runtime_spec_that_is_neither_spec_nor_mapping(value: Any) -> None:
    with pytest.raises(SpecTypeError, match="runtime_spec must be a RuntimeSpec"):
        define_workspace_runtime(runtime_spec=value)


def test_binding_rejects_runtime_factory_together_with_runtime(runtime_spec: Any) -> None:
    with pytest.raises(SpecValueError, match="runtime_factory and runtime are mutually exclusive"):
        define_workspace_runtime(
            runtime_spec=runtime_spec, runtime_factory=CountingFactory(), runtime=FakeRuntime()
        )


def test_binding_rejects_a_runtime_factory_that_is_not_callable(runtime_spec: Any) -> None:
    with pytest.raises(SpecTypeError, match="runtime_factory must be a zero-argument callable"):
        define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory="make")  # type: ignore[arg-type]


def test_binding_builds_the_runtime_once_on_first_use(runtime_spec: Any) -> None:
    factory = CountingFactory()
    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory=factory)
    assert factory.calls == 0
    assert binding.runtime_constructed is False
    first = binding.get_runtime()
    assert binding.get_runtime() is first
    assert factory.calls == 1
    assert binding.runtime_constructed is True


def test_binding_builds_the_runtime_once_under_concurrent_first_use(runtime_spec: Any) -> None:
    started = threading.Barrier(8)
    calls: list[int] = []

    def slow_factory() -> FakeRuntime:
        calls.append(1)
        threading.Event().wait(0.05)
        return FakeRuntime()

    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory=slow_factory)
    results: list[Any] = []

    def worker() -> None:
        started.wait()
        results.append(binding.get_runtime())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8
    assert all(result is results[0] for result in results)


def test_binding_retries_the_factory_after_it_raised(runtime_spec: Any) -> None:
    attempts: list[int] = []

    def flaky() -> FakeRuntime:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database not ready")
        return FakeRuntime()

    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory=flaky)
    with pytest.raises(RuntimeError, match="database not ready"):
        binding.get_runtime()
    assert binding.runtime_constructed is False
    assert isinstance(binding.get_runtime(), FakeRuntime)
    assert len(attempts) == 2


def test_binding_rejects_a_factory_that_returns_none(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory=lambda: None)
    with pytest.raises(SpecTypeError, match="runtime_factory returned None"):
        binding.get_runtime()


def test_binding_with_a_prebuilt_runtime_is_constructed_from_the_start(runtime_spec: Any) -> None:
    runtime = FakeRuntime()
    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime=runtime)
    assert binding.runtime_constructed is True
    assert binding.get_runtime() is runtime


def test_default_factory_calls_create_runtime_with_the_data_environment(
    runtime_spec: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake_create_runtime(spec: Any, **kwargs: Any) -> FakeRuntime:
        calls.append((spec, kwargs))
        return FakeRuntime()

    fake_module = types.ModuleType("flowai_harness.assemble")
    fake_module.create_runtime = fake_create_runtime  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flowai_harness.assemble", fake_module)
    data_environment = {"tenant_id": "acme", "kv": {"kind": "memory"}}
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        data_environment=data_environment,
        target_database_url="sqlite:///tmp/target.db",
    )
    assert calls == []
    binding.get_runtime()
    binding.get_runtime()
    assert calls == [
        (
            runtime_spec,
            {
                "data_environment": data_environment,
                "target_database_url": "sqlite:///tmp/target.db",
            },
        )
    ]


def test_default_factory_builds_a_noop_runtime_for_the_spec_tenant(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec)
    runtime = binding.get_runtime()
    assert runtime.resource_id == "acme"
    assert binding.get_runtime() is runtime


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("workspace_key", "", SpecValueError, "workspace_key must be a non-empty string, got ''"),
        ("workspace_key", 7, SpecTypeError, "workspace_key must be a string or None, got int"),
        ("display_name", "  ", SpecValueError, "display_name must be a non-empty string"),
        ("display_name", b"x", SpecTypeError, "display_name must be a string or None"),
        ("description", 1.5, SpecTypeError, "description must be a string or None, got float"),
        ("resource_id", "", SpecValueError, "resource_id must be a non-empty string, got ''"),
        ("resource_id", 1, SpecTypeError, "resource_id must be a string or None, got int"),
        ("metadata", ["a"], SpecTypeError, "metadata must be a mapping or None, got list"),
        ("metadata", {1: "a"}, SpecTypeError, "metadata keys must be strings, got 1"),
        ("metadata", {"when": object()}, SpecTypeError, "metadata must be JSON-serializable"),
        ("capabilities", "chat.stream", SpecTypeError, "capabilities must be a list"),
        ("capabilities", [1], SpecTypeError, "capability ids must be strings, got 1"),
        ("capabilities", ["chat.strem"], SpecValueError, "unknown capability 'chat.strem'"),
    ],
)
def test_binding_rejects_bad_arguments_with_a_message_naming_them(
    runtime_spec: Any, field: str, value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        define_workspace_runtime(runtime_spec=runtime_spec, **{field: value})


def test_unknown_capability_message_lists_the_known_ids(runtime_spec: Any) -> None:
    with pytest.raises(SpecValueError) as exc_info:
        define_workspace_runtime(runtime_spec=runtime_spec, capabilities=["nope"])
    assert str(exc_info.value) == (
        f"unknown capability 'nope'; expected one of: {', '.join(KNOWN_CAPABILITIES)}"
    )


def test_binding_keeps_explicit_fields(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        workspace_key="sales_team",
        display_name="Sales",
        description="Sales analytics.",
        resource_id="acme-sales",
        metadata={"owner": "data-platform"},
        capabilities=["chat.stream", "tools.inspect", "chat.stream"],
    )
    assert binding.workspace_key == "sales_team"
    assert binding.display_name == "Sales"
    assert binding.description == "Sales analytics."
    assert binding.resource_id == "acme-sales"
    assert dict(binding.metadata) == {"owner": "data-platform"}
    assert binding.capabilities == ("chat.stream", "tools.inspect")


@pytest.mark.parametrize(
    ("key", "display_name"),
    [("sales_team", "Sales Team"), ("acme-demo", "Acme Demo"), ("default", "Default")],
)
def test_display_name_is_derived_from_the_workspace_key(
    runtime_spec: Any, key: str, display_name: str
) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, workspace_key=key)
    assert binding.display_name == display_name


def test_metadata_is_read_only_and_copied(runtime_spec: Any) -> None:
    source = {"owner": "data-platform"}
    binding = define_workspace_runtime(runtime_spec=runtime_spec, metadata=source)
    source["owner"] = "someone-else"
    assert binding.metadata["owner"] == "data-platform"
    with pytest.raises(TypeError):
        binding.metadata["owner"] = "x"  # type: ignore[index]


def test_empty_capabilities_mean_the_default_set(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, capabilities=[])
    assert binding.capabilities == BASE_CAPABILITIES


def test_data_environment_is_normalized_and_adds_the_data_capabilities(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        data_environment={"tenant_id": "acme", "workspace_id": "main", "kv": {"kind": "memory"}},
    )
    assert binding.data_environment == {
        "tenantId": "acme",
        "workspaceId": "main",
        "kv": {"kind": "memory"},
    }
    assert list(binding.capabilities) == BASE_AND_DATA


def test_target_database_url_alone_counts_as_a_data_environment(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec, target_database_url="sqlite:///tmp/target.db"
    )
    assert binding.data_environment == {"targetDatabaseUrl": "sqlite:///tmp/target.db"}
    assert list(binding.capabilities) == BASE_AND_DATA


def test_data_environment_tenant_must_match_the_spec_tenant(runtime_spec: Any) -> None:
    with pytest.raises(ValueError, match="must match the runtime tenant 'acme'"):
        define_workspace_runtime(
            runtime_spec=runtime_spec, data_environment={"tenant_id": "globex"}
        )


def test_explicit_capabilities_replace_the_data_defaults(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        data_environment={"kv": {"kind": "memory"}},
        capabilities=["runtime.inspect"],
    )
    assert binding.capabilities == ("runtime.inspect",)


def test_binding_repr_does_not_show_data_environment_urls(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        target_database_url="postgresql://user:hunter2@db/acme",
    )
    assert "hunter2" not in repr(binding)
    assert "workspace_key=None" in repr(binding)


def test_with_workspace_key_sets_the_key_and_shares_the_runtime(runtime_spec: Any) -> None:
    factory = CountingFactory()
    binding = define_workspace_runtime(runtime_spec=runtime_spec, runtime_factory=factory)
    keyed = binding.with_workspace_key("sales")
    assert keyed is not binding
    assert keyed.workspace_key == "sales"
    assert keyed.display_name == "Sales"
    assert binding.workspace_key is None
    assert keyed.get_runtime() is binding.get_runtime()
    assert factory.calls == 1


def test_with_workspace_key_returns_the_same_binding_for_the_same_key(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, workspace_key="sales")
    assert binding.with_workspace_key("sales") is binding


def test_with_workspace_key_rejects_a_different_preset_key(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, workspace_key="sales")
    with pytest.raises(
        SpecValueError,
        match="binding already has workspace_key 'sales'; it cannot be registered under 'ops'",
    ):
        binding.with_workspace_key("ops")


@pytest.mark.parametrize(
    ("key", "error"), [("", SpecValueError), (None, SpecTypeError), (3, SpecTypeError)]
)
def test_with_workspace_key_rejects_invalid_keys(
    runtime_spec: Any, key: Any, error: type[Exception]
) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec)
    with pytest.raises(error, match="workspace_key must be a non-empty string"):
        binding.with_workspace_key(key)


def test_explicit_display_name_survives_rekeying(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, display_name="ACME Demo")
    assert binding.with_workspace_key("acme").display_name == "ACME Demo"


def test_workspace_summary_snapshot(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(
        runtime_spec=runtime_spec,
        workspace_key="default",
        display_name="Local dev",
        description="Default local runtime binding.",
        resource_id="local-dev",
        metadata={"owner": "data-platform"},
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
    )
    assert binding.workspace_summary() == {
        "workspaceKey": "default",
        "displayName": "Local dev",
        "description": "Default local runtime binding.",
        "status": "ready",
        "resourceId": "local-dev",
        "metadata": {"owner": "data-platform"},
        "capabilities": [
            "runtime.inspect",
            "chat.stream",
            "tools.inspect",
            "approvals.decide",
            "runs.list",
            "data.profile",
            "tests.manage",
            "evals.run",
        ],
    }


def test_workspace_summary_omits_an_unset_description(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, workspace_key="ops")
    assert binding.workspace_summary() == {
        "workspaceKey": "ops",
        "displayName": "Ops",
        "status": "ready",
        "resourceId": "acme",
        "metadata": {},
        "capabilities": BASE,
    }


def test_workspace_summary_needs_a_workspace_key(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec)
    with pytest.raises(SpecValueError, match="binding has no workspace_key"):
        binding.workspace_summary()


# ---------------------------------------------------------------- define_app


def test_app_sugar_creates_the_default_workspace(runtime_spec: Any) -> None:
    factory = CountingFactory()
    app = define_app(
        name="inventory-scenario",
        runtime_spec=runtime_spec,
        runtime_factory=factory,
        description="Inventory demo.",
        metadata={"team": "ops"},
        data_environment={"kv": {"kind": "memory"}},
    )
    assert isinstance(app, FlowAIApp)
    assert app.name == "inventory-scenario"
    assert app.app_id == "inventory-scenario"
    assert app.description == "Inventory demo."
    assert dict(app.metadata) == {"team": "ops"}
    assert app.default_workspace == "default"
    assert list(app.workspaces) == ["default"]
    binding = app.default_binding()
    assert binding is app.workspace("default")
    assert binding.workspace_key == "default"
    assert binding.display_name == "Default"
    assert list(binding.capabilities) == BASE_AND_DATA
    binding.get_runtime()
    assert factory.calls == 1


def test_app_sugar_passes_the_binding_options_through(runtime_spec: Any) -> None:
    runtime = FakeRuntime()
    app = define_app(
        name="demo",
        runtime_spec=runtime_spec,
        runtime=runtime,
        resource_id="acme-local",
        capabilities=["chat.stream"],
    )
    binding = app.default_binding()
    assert binding.get_runtime() is runtime
    assert binding.resource_id == "acme-local"
    assert binding.capabilities == ("chat.stream",)


def test_app_sugar_forces_the_default_workspace_key(runtime_spec: Any) -> None:
    app = define_app(name="demo", runtime_spec=runtime_spec, default_workspace="main")
    assert app.default_workspace == "default"


def test_app_with_workspaces_keys_each_binding(runtime_spec: Any) -> None:
    globex_spec = build_runtime_spec("globex")
    app = define_app(
        name="cpe",
        workspaces={
            "acme": define_workspace_runtime(runtime_spec=runtime_spec, display_name="ACME Demo"),
            "globex": define_workspace_runtime(
                runtime_spec=globex_spec, display_name="Globex Demo"
            ),
        },
        default_workspace="acme",
    )
    assert list(app.workspaces) == ["acme", "globex"]
    assert app.default_workspace == "acme"
    assert app.workspace("globex").workspace_key == "globex"
    assert app.workspace("globex").resource_id == "globex"
    assert app.default_binding().display_name == "ACME Demo"


def test_app_workspaces_mapping_is_read_only(runtime_spec: Any) -> None:
    app = define_app(name="demo", runtime_spec=runtime_spec)
    with pytest.raises(TypeError):
        app.workspaces["other"] = app.default_binding()  # type: ignore[index]


def test_app_ignores_capabilities_with_workspaces(runtime_spec: Any) -> None:
    app = define_app(
        name="demo",
        workspaces={"default": define_workspace_runtime(runtime_spec=runtime_spec)},
        capabilities=["chat.stream"],
    )
    assert app.default_binding().capabilities == BASE_CAPABILITIES


def test_app_rejects_both_workspaces_and_runtime_spec(runtime_spec: Any) -> None:
    with pytest.raises(
        SpecValueError,
        match="define_app\\(\\) takes exactly one of workspaces or runtime_spec, got both",
    ):
        define_app(
            name="demo",
            runtime_spec=runtime_spec,
            workspaces={"default": define_workspace_runtime(runtime_spec=runtime_spec)},
        )


def test_app_rejects_neither_workspaces_nor_runtime_spec() -> None:
    with pytest.raises(
        SpecValueError,
        match="define_app\\(\\) takes exactly one of workspaces or runtime_spec, got neither",
    ):
        define_app(name="demo")


@pytest.mark.parametrize(
    "option",
    ["runtime_factory", "runtime", "resource_id", "data_environment", "target_database_url"],
)
def test_app_rejects_sugar_options_with_workspaces(runtime_spec: Any, option: str) -> None:
    values: dict[str, Any] = {
        "runtime_factory": CountingFactory(),
        "runtime": FakeRuntime(),
        "resource_id": "acme",
        "data_environment": {"kv": {"kind": "memory"}},
        "target_database_url": "sqlite:///tmp/x.db",
    }
    with pytest.raises(SpecValueError, match=f"^{option} only apply together with runtime_spec"):
        define_app(
            name="demo",
            workspaces={"default": define_workspace_runtime(runtime_spec=runtime_spec)},
            **{option: values[option]},
        )


def test_app_sugar_option_error_names_every_offending_option(runtime_spec: Any) -> None:
    with pytest.raises(SpecValueError, match=r"^runtime, resource_id only apply"):
        define_app(
            name="demo",
            workspaces={"default": define_workspace_runtime(runtime_spec=runtime_spec)},
            runtime=FakeRuntime(),
            resource_id="acme",
        )


@pytest.mark.parametrize(
    ("name", "error"), [("", SpecValueError), (" ", SpecValueError), (None, SpecTypeError)]
)
def test_app_name_must_be_a_non_empty_string(
    runtime_spec: Any, name: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="name must be a non-empty string"):
        define_app(name=name, runtime_spec=runtime_spec)


def test_app_rejects_an_empty_workspaces_mapping() -> None:
    with pytest.raises(SpecValueError, match="workspaces must register at least one workspace"):
        define_app(name="demo", workspaces={})


def test_app_rejects_workspaces_that_are_not_a_mapping(runtime_spec: Any) -> None:
    with pytest.raises(SpecTypeError, match="workspaces must be a mapping of workspace key"):
        define_app(name="demo", workspaces=[define_workspace_runtime(runtime_spec=runtime_spec)])  # type: ignore[arg-type]


def test_app_rejects_an_empty_workspace_key(runtime_spec: Any) -> None:
    with pytest.raises(SpecValueError, match="workspace key must be a non-empty string, got ''"):
        define_app(
            name="demo",
            workspaces={"": define_workspace_runtime(runtime_spec=runtime_spec)},
            default_workspace="",
        )


def test_app_rejects_a_workspace_value_that_is_not_a_binding(runtime_spec: Any) -> None:
    with pytest.raises(
        SpecTypeError,
        match=r"workspace 'default' must be a WorkspaceRuntimeBinding .* got RuntimeSpec",
    ):
        define_app(name="demo", workspaces={"default": runtime_spec})


def test_app_rejects_a_binding_whose_preset_key_differs(runtime_spec: Any) -> None:
    binding = define_workspace_runtime(runtime_spec=runtime_spec, workspace_key="sales")
    with pytest.raises(SpecValueError, match="binding already has workspace_key 'sales'"):
        define_app(name="demo", workspaces={"default": binding})


def test_app_rejects_an_unregistered_default_workspace(runtime_spec: Any) -> None:
    with pytest.raises(
        SpecValueError,
        match="default_workspace 'default' is not registered; registered workspaces: 'acme'",
    ):
        define_app(
            name="demo", workspaces={"acme": define_workspace_runtime(runtime_spec=runtime_spec)}
        )


def test_app_workspace_lookup_raises_key_error_naming_the_key(runtime_spec: Any) -> None:
    app = define_app(name="demo", runtime_spec=runtime_spec)
    with pytest.raises(KeyError) as exc_info:
        app.workspace("missing")
    assert isinstance(exc_info.value, UnknownWorkspaceError)
    assert exc_info.value.workspace_key == "missing"
    assert str(exc_info.value) == (
        "workspace 'missing' is not registered; registered workspaces: 'default'"
    )


def test_app_workspaces_response_snapshot(runtime_spec: Any) -> None:
    app = define_app(
        name="cpe",
        workspaces={
            "acme": define_workspace_runtime(
                runtime_spec=runtime_spec, display_name="ACME Demo", metadata={"region": "eu"}
            ),
            "globex_demo": define_workspace_runtime(
                runtime_spec=build_runtime_spec("globex"),
                description="Second tenant.",
                data_environment={"kv": {"kind": "memory"}},
            ),
        },
        default_workspace="acme",
    )
    assert app.workspaces_response() == {
        "defaultWorkspaceKey": "acme",
        "workspaces": [
            {
                "workspaceKey": "acme",
                "displayName": "ACME Demo",
                "status": "ready",
                "resourceId": "acme",
                "metadata": {"region": "eu"},
                "capabilities": BASE,
            },
            {
                "workspaceKey": "globex_demo",
                "displayName": "Globex Demo",
                "description": "Second tenant.",
                "status": "ready",
                "resourceId": "globex",
                "metadata": {},
                "capabilities": BASE_AND_DATA,
            },
        ],
    }


def test_workspaces_response_never_contains_secrets(runtime_spec: Any) -> None:
    app = define_app(
        name="demo",
        runtime_spec=runtime_spec,
        target_database_url="postgresql://user:hunter2@db/acme",
    )
    assert "hunter2" not in repr(app.workspaces_response())


def test_app_config_js_snapshot(runtime_spec: Any) -> None:
    app = define_app(name="inventory-scenario", runtime_spec=runtime_spec)
    assert app.config_js() == (
        'window.__FLOWAI__ = {"apiBaseUrl": "/api", "appName": "inventory-scenario", '
        '"defaultWorkspaceKey": "default", "streamTransport": "sse", '
        '"studioApiVersion": "harness-studio/v1"};\n'
    )


def test_app_config_js_uses_the_given_api_base_url(runtime_spec: Any) -> None:
    app = define_app(name="demo", runtime_spec=runtime_spec)
    assert '"apiBaseUrl": "http://127.0.0.1:4111/api"' in app.config_js(
        api_base_url="http://127.0.0.1:4111/api"
    )


def test_app_config_js_cannot_close_the_script_tag(runtime_spec: Any) -> None:
    app = define_app(name="</script><script>alert(1)</script>", runtime_spec=runtime_spec)
    script = app.config_js()
    assert "</script>" not in script
    assert "<" not in script
    assert "\\u003c/script\\u003e" in script


@given(name=st.text(min_size=1).filter(lambda text: text.strip() != ""))
def test_app_config_js_embeds_any_app_name_as_valid_json(name: str) -> None:
    app = define_app(name=name, runtime_spec=build_runtime_spec())
    script = app.config_js()
    prefix, suffix = "window.__FLOWAI__ = ", ";\n"
    assert script.startswith(prefix)
    assert script.endswith(suffix)
    payload = json.loads(script[len(prefix) : -len(suffix)])
    assert payload["appName"] == name
    assert "\u2028" not in script
    assert "\u2029" not in script


# ---------------------------------------------------------------- resolve_app_reference


@pytest.fixture
def app_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """Write modules into a fresh package under a temporary cwd; clean them up afterwards."""
    package = f"studio_refs_{tmp_path.name.replace('-', '_')}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])

    def write(module: str, source: str = "") -> str:
        (tmp_path / package / f"{module}.py").write_text(textwrap.dedent(source))
        return f"{package}.{module}"

    yield write
    for name in [name for name in sys.modules if name.partition(".")[0] == package]:
        del sys.modules[name]


APP_MODULE = """
    from flowai_harness.specs.agents import define_specialist
    from flowai_harness.specs.runtime import define_runtime
    from flowai_harness.specs.tenant import define_tenant
    from flowai_harness.studio import define_app

    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[define_specialist("analyst", model="claude-sonnet-4-6", prompt="Answer.")],
        providers={"anthropic": {"apiKey": "unused"}},
    )
    app = define_app(name="from-module", runtime_spec=spec)

    def make_app():
        return app

    def needs_arguments(name):
        return app

    def broken_factory():
        raise RuntimeError("factory exploded")

    not_an_app = {"name": "from-module"}

    def returns_wrong_type():
        return 42
"""


@pytest.fixture
def app_module(app_package: Callable[[str], str]) -> str:
    return app_package("app", APP_MODULE)


def test_resolves_a_flowai_app_attribute(app_module: str) -> None:
    app = resolve_app_reference(f"{app_module}:app")
    assert isinstance(app, FlowAIApp)
    assert app.name == "from-module"


def test_resolves_a_zero_argument_factory(app_module: str) -> None:
    app = resolve_app_reference(f"{app_module}:make_app")
    assert app is importlib.import_module(app_module).app


def test_puts_the_current_directory_first_on_sys_path(app_module: str) -> None:
    resolve_app_reference(f"{app_module}:app")
    assert sys.path[0] == str(Path.cwd())


@pytest.mark.parametrize("reference", ["no_colon", ":app", "pkg.mod:", ":", "", " : "])
def test_rejects_a_malformed_reference(reference: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(reference)
    error = exc_info.value
    assert error.code == "app_import.invalid_reference"
    assert error.reference == reference
    assert "must look like 'package.module:symbol'" in str(error)
    assert isinstance(error, ConfigurationError)
    assert isinstance(error, ValueError)


def test_rejects_a_reference_that_is_not_a_string() -> None:
    with pytest.raises(SpecTypeError, match="app reference must be a string"):
        resolve_app_reference(42)  # type: ignore[arg-type]


def test_reports_a_module_that_cannot_be_imported(app_package: Callable[[str], str]) -> None:
    reference = "studio_refs_definitely_missing.mod:app"
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(reference)
    error = exc_info.value
    assert error.code == "app_import.module_failed"
    assert (error.module, error.symbol) == ("studio_refs_definitely_missing.mod", "app")
    assert "could not import module 'studio_refs_definitely_missing.mod'" in str(error)
    assert "ModuleNotFoundError" in str(error)


def test_reports_a_module_that_raises_on_import(app_package: Callable[[str], str]) -> None:
    module = app_package("explodes", "raise RuntimeError('boom at import')\n")
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{module}:app")
    assert exc_info.value.code == "app_import.module_failed"
    assert "RuntimeError: boom at import" in str(exc_info.value)
    assert isinstance(exc_info.value.__cause__, RuntimeError)


def test_reports_a_module_that_exits_on_import(app_package: Callable[[str], str]) -> None:
    module = app_package("exits", "raise SystemExit(3)\n")
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{module}:app")
    assert exc_info.value.code == "app_import.module_failed"


def test_reports_a_missing_symbol(app_module: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:missing")
    error = exc_info.value
    assert error.code == "app_import.symbol_missing"
    assert str(error) == (
        f"module '{app_module}' has no attribute 'missing' (app reference '{app_module}:missing')"
    )


def test_does_not_walk_dotted_symbols(app_module: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:app.name")
    assert exc_info.value.code == "app_import.symbol_missing"


@pytest.mark.parametrize("symbol", ["not_an_app", "returns_wrong_type"])
def test_reports_a_symbol_that_is_not_an_app(app_module: str, symbol: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:{symbol}")
    error = exc_info.value
    assert error.code == "app_import.invalid_type"
    assert "expected a FlowAIApp (from define_app) or a zero-argument callable" in str(error)


def test_reports_a_callable_that_needs_arguments(app_module: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:needs_arguments")
    assert exc_info.value.code == "app_import.invalid_type"
    assert "is a callable that needs arguments" in str(exc_info.value)


def test_reports_a_factory_that_raises(app_module: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:broken_factory")
    error = exc_info.value
    assert error.code == "app_import.factory_failed"
    assert "raised RuntimeError: factory exploded" in str(error)
    assert isinstance(error.__cause__, RuntimeError)


def test_app_import_error_renders_the_studio_error_envelope(app_module: str) -> None:
    with pytest.raises(AppImportError) as exc_info:
        resolve_app_reference(f"{app_module}:missing")
    assert exc_info.value.to_envelope() == {
        "error": {
            "code": "app_import.symbol_missing",
            "message": (
                f"module '{app_module}' has no attribute 'missing' "
                f"(app reference '{app_module}:missing')"
            ),
            "retryable": False,
            "details": {
                "reference": f"{app_module}:missing",
                "module": app_module,
                "symbol": "missing",
            },
        }
    }
