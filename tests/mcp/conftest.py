"""Fixtures of the MCP tests: the sample runtime and SDK servers built from it."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness._mcp_serving.server import build_server
from flowai_harness.engine.direct_tools import DirectTools
from tests.mcp.sample_app import build_runtime


@pytest.fixture
def runtime() -> Any:
    """A fresh sample runtime (specialist ``tools`` behind coordinator ``front``)."""
    return build_runtime()


@pytest.fixture
def sdk_server(runtime: Any) -> Any:
    """The SDK server of agent ``tools``, with a call timeout no busy machine reaches."""
    return build_server(
        DirectTools(runtime, "tools"), tenant=runtime.resource_id, call_timeout_secs=30
    )


@pytest.fixture
def impatient_server(runtime: Any) -> Any:
    """The SDK server of agent ``tools`` with a call timeout of half a second."""
    return build_server(
        DirectTools(runtime, "tools"), tenant=runtime.resource_id, call_timeout_secs=0.5
    )
