"""A password in a provider's base URL never reaches a log record, a repr or an event."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from flowai_harness.providers.factory import provider_settings
from flowai_harness.providers.sdk import split_userinfo

from .conftest import SECRET_KEY
from .fakes.anthropic_server import FakeAnthropic, anthropic_reply
from .fakes.openai_server import FakeOpenAI, openai_reply
from .support import anthropic_runtime, openai_runtime, run_pricing

PASSWORD = "PW-s3cret!"
ENCODED = "PW-s3cret%21"
BASIC = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()


def _with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://alice:{ENCODED}@", 1)


def _assert_no_password(records: list[logging.LogRecord], *values: Any) -> None:
    texts = [record.getMessage() for record in records] + [repr(v) for v in values]
    for text in texts:
        assert PASSWORD not in text and ENCODED not in text, text


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger: httpx2, httpcore2, anthropic, openai, ours
    return caplog


async def test_anthropic_base_url_credentials_are_sent_as_basic_auth_and_never_logged(
    anthropic_fake: FakeAnthropic, debug_logs: pytest.LogCaptureFixture
) -> None:
    anthropic_fake.queue(anthropic_reply(text="ok"))
    events = await run_pricing(anthropic_runtime(_with_userinfo(anthropic_fake.url)))
    assert events[-2]["type"] == "finish"
    # the same header the URL's credentials produced before
    assert anthropic_fake.requests[0].headers["authorization"] == BASIC
    assert any(r.name.startswith("httpx") for r in debug_logs.records)  # logs were captured
    _assert_no_password(debug_logs.records, events)


async def test_openai_base_url_credentials_are_sent_as_basic_auth_and_never_logged(
    openai_fake: FakeOpenAI, debug_logs: pytest.LogCaptureFixture
) -> None:
    openai_fake.queue(openai_reply(text="ok"))
    events = await run_pricing(openai_runtime(_with_userinfo(openai_fake.base_url)))
    assert events[-2]["type"] == "finish"
    assert openai_fake.requests[0].headers["authorization"] == BASIC
    assert any(r.name.startswith("httpx") for r in debug_logs.records)
    _assert_no_password(debug_logs.records, events)


async def test_credentials_in_the_sdk_base_url_variable_are_not_logged_either(
    anthropic_fake: FakeAnthropic,
    debug_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flowai_harness import create_runtime, define_runtime, define_specialist

    from .support import TENANT

    monkeypatch.setenv("ANTHROPIC_BASE_URL", _with_userinfo(anthropic_fake.url))
    anthropic_fake.queue(anthropic_reply(text="ok"))
    spec = define_runtime(
        TENANT,
        agents=[define_specialist("pricing", model="claude-sonnet-4-6", prompt="p")],
        providers={"anthropic": {"apiKey": SECRET_KEY}},
    )
    events = await run_pricing(create_runtime(spec, interpreter="anthropic"))
    assert events[-2]["type"] == "finish"
    assert anthropic_fake.requests[0].headers["authorization"] == BASIC
    _assert_no_password(debug_logs.records, events)


def test_settings_keep_the_url_without_credentials() -> None:
    settings = provider_settings(
        "anthropic", {"apiKey": SECRET_KEY, "baseUrl": f"https://alice:{ENCODED}@proxy.local/v1"}
    )
    assert settings.base_url == "https://proxy.local/v1"
    assert settings.base_auth == ("alice", PASSWORD)
    _assert_no_password([], settings)


def test_split_userinfo_handles_urls_with_and_without_credentials() -> None:
    assert split_userinfo(None) == (None, None)
    assert split_userinfo("http://127.0.0.1:8000/v1") == ("http://127.0.0.1:8000/v1", None)
    assert split_userinfo("http://u@h/p?q=1") == ("http://h/p?q=1", ("u", ""))
    assert split_userinfo("http://u:p%40ss@h:1/") == ("http://h:1/", ("u", "p@ss"))
