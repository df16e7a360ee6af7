"""Fixtures for the Studio tests."""

from __future__ import annotations

import pytest

from flowai_harness.specs.runtime import RuntimeSpec

from .doubles import build_runtime_spec
from .ui_browser import browser, data_page, page, studio_url  # noqa: F401  (browser fixtures)


@pytest.fixture
def runtime_spec() -> RuntimeSpec:
    """A one-specialist runtime spec for tenant ``acme``."""
    return build_runtime_spec()
