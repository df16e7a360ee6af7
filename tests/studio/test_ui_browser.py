"""The Studio UI (src/flowai_harness/studio/static/) in a real browser: Python playwright drives
Debian's Chromium (never a downloaded browser) against a live Studio server on loopback, with
the scripted chat app of ``studio_apps``. Without Chromium the tests skip locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.studio import FlowAIApp
from flowai_harness.studio.server import studio_server

from .studio_apps import chat_app, data_app, wait_for
from .test_server_live import free_port

CHROMIUM = os.environ.get("FLOWAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(
        CHROMIUM
    ):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install 'flowai-harness[dev]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def _serve(app: FlowAIApp, tmp_path: Path, token: str | None = None) -> Iterator[str]:
    port = free_port()
    server = studio_server(
        app,
        host="127.0.0.1",
        port=port,
        store_path=tmp_path / "studio.db",
        log_level="warning",
        token=token,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def _open_page(browser: Any, url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=url)
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def studio_url(tmp_path: Path) -> Iterator[str]:
    with _serve(chat_app(), tmp_path) as url:
        yield url


@pytest.fixture
def page(browser: Any, studio_url: str) -> Iterator[Any]:
    with _open_page(browser, studio_url) as opened:
        yield opened


@pytest.fixture
def data_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A page on a Studio whose workspace has a SQLite data environment (customers, orders)."""
    with _serve(data_app(tmp_path), tmp_path) as url, _open_page(browser, url) as opened:
        yield opened


def _send(page: Any, text: str) -> None:
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")


def test_root_redirects_to_the_overview_which_lists_the_agents(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/workspace$"))
    expect(page.locator("h1")).to_contain_text("Ready")
    expect(page.locator("article.agent")).to_have_count(4)
    expect(page.locator('article.agent[data-agent="coord"]')).to_contain_text("Entrypoint")
    expect(page.locator("#runtime-status")).to_contain_text("Runtime ready")
    # no data environment: Connect is shown but disabled with the reason
    connect = page.locator("#nav .nav-item.disabled", has_text="Connect")
    expect(connect).to_have_attribute(
        "title", "No data environment is configured for this workspace."
    )
    expect(page.locator("#workspace-select option")).to_have_count(2)


def test_a_chat_message_streams_its_answer_and_appears_in_the_thread_list(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/playground")
    _send(page, "hi there")
    answer = page.locator("article.msg.assistant").last
    expect(answer.locator(".text")).to_have_text("Hello: hi there")
    expect(answer).to_have_attribute("data-status", "completed")
    expect(page).to_have_url(re.compile(r"/playground/thread_[0-9a-f]{32}$"))
    expect(page.locator('aside[aria-label="Threads sidebar"] li a')).to_have_text(["hi there"])
    # the history survives a reload
    page.reload()
    expect(page.locator("article.msg.assistant .text")).to_have_text("Hello: hi there")


def test_a_pending_approval_is_approved_from_the_ui_and_the_run_finishes(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/playground")
    _send(page, "price?")
    answer = page.locator("article.msg.assistant").last
    card = answer.locator("section.approval-card")
    expect(card).to_contain_text("lookup")
    expect(answer.locator('details.agent-card[data-agent="pricing"]')).to_be_visible()
    expect(answer.locator('details.tool-card[data-tool="lookup"]')).to_contain_text("running")
    card.get_by_role("button", name="Approve").click()
    expect(answer).to_have_attribute("data-status", "completed")
    expect(answer).to_contain_text("The price is 4.50")
    expect(card.locator(".badge")).to_have_text("approve")
    expect(answer.locator('details.tool-card[data-tool="lookup"]')).to_contain_text("completed")

    page.locator("#nav a", has_text="Runs").click()
    expect(page).to_have_url(re.compile(r"/runs$"))
    row = page.locator("table[aria-label=Runs] tbody tr").first
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("chat")
    row.locator("td a").first.click()
    expect(page.locator("ol.timeline li[data-kind='approval.required']")).to_have_count(1)
    expect(page.locator("ol.timeline li").last).to_contain_text("run.completed")

    page.goto("/runs?tab=approvals")
    expect(page.locator("section.approval-card .badge")).to_have_text("approve")


def test_an_approval_is_rejected_from_the_runs_inbox(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/playground")
    _send(page, "price?")
    answer = page.locator("article.msg.assistant").last
    expect(answer.locator("section.approval-card")).to_be_visible()
    inbox = page.context.new_page()
    inbox.goto("/runs?tab=approvals")
    pending = inbox.locator("section.approval-card").first
    pending.get_by_label("Feedback").fill("not now")
    pending.get_by_role("button", name="Reject").click()
    expect(pending.locator(".badge")).to_have_text("reject")
    expect(answer).to_have_attribute("data-status", "completed", timeout=TIMEOUT_MS)
    inbox.close()


def test_a_test_case_created_from_json_runs_in_an_eval(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/tests/new")
    page.get_by_label("Test case JSON").fill('{"id": "greet", "input": "hello", "tags": ["smoke"]}')
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/tests/greet$"))
    page.get_by_role("button", name="Run Eval").click()
    expect(page.locator('form[aria-label="New eval"] input[value="greet"]')).to_be_checked()
    page.get_by_role("button", name="Create and run").click()
    expect(page.locator("ol.timeline li[data-type='evalCompleted']")).to_have_count(1)
    expect(page.locator('[aria-label="Eval summary"]')).to_be_visible()
    page.goto("/evals")
    expect(page.locator('aside[aria-label="Evals sidebar"] li')).to_contain_text(["completed"])


def test_save_as_test_case_saves_the_chat_draft_and_opens_it(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/playground")
    _send(page, "hi there")
    expect(page.locator("article.msg.assistant").last).to_have_attribute("data-status", "completed")
    page.get_by_role("button", name="Save as test case").click()
    expect(page).to_have_url(re.compile(r"/tests/tc-[0-9a-f]{8}$"))
    expect(page.locator("h1 code")).to_have_text(re.compile(r"^tc-[0-9a-f]{8}$"))
    page.goto("/tests")
    expect(page.locator('a[href^="/tests/tc-"]')).to_have_count(1)


def test_unknown_pages_show_the_not_found_screen(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/no/such/page")
    expect(page.locator("h1")).to_have_text("Page not found")


def test_stop_cancels_the_run_and_keeps_the_partial_answer(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/playground")
    _send(page, "price?")
    answer = page.locator("article.msg.assistant").last
    expect(answer.locator("section.approval-card")).to_be_visible()
    page.get_by_role("button", name="Stop").click()
    expect(answer).to_have_attribute("data-status", "cancelled")
    expect(answer.locator(".text").first).to_have_text("Routing. ")
    page.goto("/runs")
    expect(page.locator("table[aria-label=Runs] tbody tr").first).to_contain_text("cancelled")


def test_connect_lists_the_target_tables_and_finds_them_in_the_catalog_search(
    data_page: Any,
) -> None:
    from playwright.sync_api import expect

    page = data_page
    page.goto("/connect")
    expect(page.locator('[data-count="Tables"] strong')).to_have_text("2")
    expect(page.locator("table[aria-label=Sources] tbody tr")).to_contain_text(
        ["workspace-runtime"]
    )
    page.locator("aside[aria-label='Connect sidebar'] a", has_text="Discovery").click()
    tables = page.locator("table[aria-label=Tables] tbody tr")
    expect(tables).to_have_count(2)
    expect(tables.nth(1)).to_contain_text("orders")
    expect(tables.nth(1).locator("td[data-col=rowCount]")).to_have_text("3")
    # profiling fills the catalog the search reads
    page.get_by_role("button", name="Profile database").click()
    expect(page.locator("ol[aria-label='Profiling progress'] li").last).to_have_attribute(
        "data-type", "completed"
    )
    expect(tables.nth(1).locator("td[data-col=description]")).to_contain_text("3 rows")
    tables.nth(1).get_by_role("link", name="orders").click()
    columns = page.locator("table[aria-label=Columns] tbody tr")
    expect(columns).to_have_count(4)
    expect(columns.nth(0).locator("td[data-col=key]")).to_have_text("PK")
    expect(columns.nth(1).locator("td[data-col=key]")).to_have_text("FK → customers.id")
    expect(page.locator("table[aria-label='Sample rows'] tbody tr")).to_have_count(3)
    page.get_by_role("link", name="Relationships").click()
    expect(page.locator("table[aria-label=Relationships] tbody tr")).to_contain_text(
        ["customer_id"]
    )

    page.locator("aside[aria-label='Connect sidebar'] a", has_text="Search").click()
    page.get_by_role("tab", name="Tables").click()
    page.get_by_label("Search the catalog").fill("orders")
    page.get_by_role("button", name="Search").click()
    results = page.locator("ul[aria-label='Search results'] li")
    expect(results.first).to_contain_text("main.orders")
    expect(results.first).to_have_attribute("data-kind", "table")


def test_the_test_builder_form_round_trips_with_the_json_editor(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/tests/new")
    area = page.get_by_label("Test case JSON")
    expect(page.locator('[aria-label="Tool palette"] button')).to_have_count(5)
    page.get_by_label("Id", exact=True).fill("pricing-flow")
    page.get_by_label("Input", exact=True).fill("What does A-1 cost?")
    page.get_by_label("Tags", exact=True).fill("smoke, pricing")
    page.get_by_role("button", name="+ call_agent").click()
    page.get_by_role("button", name="+ lookup").click()
    page.get_by_label("Trajectory mode", exact=True).select_option(label="Strict sequence")
    written = json.loads(area.input_value())
    assert written == {
        "id": "pricing-flow",
        "input": "What does A-1 cost?",
        "tags": ["smoke", "pricing"],
        "expectedTrajectory": ["call_agent", "lookup"],
        "trajectoryMode": "strict",
    }
    # the JSON editor drives the form back, keeping keys the form does not show
    area.fill(json.dumps({**written, "trajectoryMode": "subsequence", "finalResponse": None}))
    expect(page.get_by_label("Trajectory mode", exact=True)).to_have_value("subsequence")
    page.get_by_label("Expected trajectory", exact=True).fill("call_agent\nnope")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Unknown tools in the expected trajectory: nope"
    )
    page.get_by_label("Expected trajectory", exact=True).fill("call_agent\nlookup")
    assert json.loads(area.input_value())["finalResponse"] is None
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/tests/pricing-flow$"))
    expect(page.get_by_label("Trajectory mode", exact=True)).to_have_value("subsequence")
    expect(page.get_by_label("Expected trajectory", exact=True)).to_have_value("call_agent\nlookup")
    expect(page.get_by_label("Tags", exact=True)).to_have_value("smoke, pricing")


def test_a_studio_with_a_token_opens_from_the_printed_url_and_streams(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    token = "ui-token-5c1d2e3f4a5b6c7d"
    with _serve(chat_app(), tmp_path, token=token) as url:
        with _open_page(browser, url) as stranger:
            stranger.goto("/workspace")  # no token: the API refuses, the page says why
            expect(stranger.locator("#main")).to_contain_text("access token")
            expect(stranger.locator("article.agent")).to_have_count(0)
        with _open_page(browser, url) as page:
            page.goto(f"/#token={token}")
            expect(page).to_have_url(re.compile(r"/workspace$"))
            expect(page.locator("article.agent")).to_have_count(4)
            assert token not in page.url
            stored = page.evaluate("() => sessionStorage.getItem('flowai.studioToken')")
            assert stored == token
            # the chat answer arrives over the fetch-based event stream
            page.locator("#nav a", has_text="Playground").click()
            _send(page, "hi there")
            answer = page.locator("article.msg.assistant").last
            expect(answer.locator(".text")).to_have_text("Hello: hi there")
            expect(answer).to_have_attribute("data-status", "completed")
            page.locator("#nav a", has_text="Runs").click()
            rows = page.locator("table[aria-label=Runs] tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("completed")
            # a reload keeps the token for this tab (session storage), not in the URL
            page.reload()
            expect(page.locator("table[aria-label=Runs] tbody tr")).to_have_count(1)
