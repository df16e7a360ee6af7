"""Fixtures for the Studio tests."""

from __future__ import annotations

import pytest

from flowai_harness.specs.runtime import RuntimeSpec

from .doubles import build_runtime_spec


@pytest.fixture
def runtime_spec() -> RuntimeSpec:
    """A one-specialist runtime spec for tenant ``acme``."""
    return build_runtime_spec()
