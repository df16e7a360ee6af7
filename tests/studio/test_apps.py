"""Tests for the Studio app declaration (src/flowai_harness/studio/apps.py)."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError
from flowai_harness.studio.apps import (
    FlowAIApp,
    UnknownWorkspaceError,
    define_app,
    define_workspace_runtime,
)
from flowai_harness.studio.import_resolver import AppImportError, resolve_app_reference
from flowai_harness.studio.workspaces import BASE_CAPABILITIES, DATA_CAPABILITIES

from .doubles import CountingFactory, FakeRuntime, build_runtime_spec

BASE = list(BASE_CAPABILITIES)
BASE_AND_DATA = [*BASE_CAPABILITIES, *DATA_CAPABILITIES]


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
