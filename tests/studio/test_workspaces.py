"""Tests for workspace runtime bindings (src/flowai_harness/studio/workspaces.py)."""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.studio.workspaces import (
    BASE_CAPABILITIES,
    DATA_CAPABILITIES,
    KNOWN_CAPABILITIES,
    WorkspaceRuntimeBinding,
    define_workspace_runtime,
)

from .doubles import CountingFactory, FakeRuntime

BASE = list(BASE_CAPABILITIES)
BASE_AND_DATA = [*BASE_CAPABILITIES, *DATA_CAPABILITIES]


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
