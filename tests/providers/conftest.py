"""Fixtures for the live-provider tests: fake Anthropic and OpenAI servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .fakes.anthropic_server import FakeAnthropic
from .fakes.openai_server import FakeOpenAI

#: the API key the tests configure; it must never show up in an event, a log or an error
SECRET_KEY = "sk-test-SECRET-0123456789abcdef"


@pytest.fixture
async def anthropic_fake() -> AsyncIterator[FakeAnthropic]:
    """A running fake Anthropic Messages API."""
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    """A running fake OpenAI Chat Completions API."""
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's real keys or base URLs must not leak into (or redirect) these tests.
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
        "OPENAI_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)
