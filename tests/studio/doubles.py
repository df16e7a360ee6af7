"""Test doubles shared by the Studio tests."""

from __future__ import annotations

from flowai_harness.specs.agents import define_specialist
from flowai_harness.specs.runtime import RuntimeSpec, define_runtime
from flowai_harness.specs.tenant import define_tenant


def build_runtime_spec(resource_id: str = "acme") -> RuntimeSpec:
    """A one-specialist runtime spec for tenant ``resource_id`` (offline provider config)."""
    return define_runtime(
        define_tenant(resource_id, "v1"),
        agents=[
            define_specialist("analyst", model="claude-sonnet-4-6", prompt="Answer questions.")
        ],
        providers={"anthropic": {"apiKey": "unused"}},
    )


class FakeRuntime:
    """Stands in for a live runtime handle: bindings never look inside it."""

    def __init__(self, resource_id: str = "acme") -> None:
        self.resource_id = resource_id


class CountingFactory:
    """A zero-argument runtime factory that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> FakeRuntime:
        self.calls += 1
        return FakeRuntime()
