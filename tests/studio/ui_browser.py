"""Browser fixtures of the Studio UI tests: Python playwright drives Debian's Chromium (never a
downloaded browser) against a live Studio server on loopback.

Every page fails its test on a console error, an uncaught exception or a failed request, and
``shot(page, name)`` saves a screenshot to ``.artifacts/screenshots/``. Without Chromium the
tests skip locally and fail in CI.

One network report is not a failure: Chromium's network events mark a ``fetch`` event stream
read through a body reader as ``net::ERR_ABORTED`` once its data is in the page, even when the
page reads it to its end (the console stays clean and no request is retried; the tests check
the answers those streams carry).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
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
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


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
def serve(app: FlowAIApp, tmp_path: Path, token: str | None = None) -> Iterator[str]:
    """Run the Studio for ``app`` on a free loopback port; yield its URL."""
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
def open_page(
    browser: Any,
    url: str,
    viewport: dict[str, int] | None = None,
    allow: Callable[[str], bool] = lambda _message: False,
) -> Iterator[Any]:
    """A page on ``url`` that fails the test on any console error, page error or failed
    request (unless ``allow(message)`` accepts it)."""
    # Reduced motion: no transitions, so screenshots and visibility checks see the end state.
    context = browser.new_context(
        base_url=url, viewport=viewport or DESKTOP, reduced_motion="reduce"
    )
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def note(message: str) -> None:
        if not allow(message):
            problems.append(message)

    def failed(request: Any) -> None:
        # An aborted read is the page dropping a request it no longer needs (an event stream
        # read to its end, or a list fetch superseded by a newer one); it is not a failure.
        # Writes, and reads that fail any other way, still fail the test.
        stream = request.headers.get("accept") == "text/event-stream"
        if request.failure == "net::ERR_ABORTED" and (stream or request.method == "GET"):
            return
        note(f"request failed: {request.method} {request.url} {request.failure}")

    opened.on("console", lambda msg: msg.type == "error" and note(f"console: {msg.text}"))
    opened.on("pageerror", lambda exc: note(f"page error: {exc}"))
    opened.on("requestfailed", failed)
    _track_requests(opened)
    try:
        yield opened
        settle(opened)  # closing the page must not cut a request the test did not wait for
    finally:
        context.close()
    assert problems == [], f"errors in the page: {problems}"


def settle(page: Any, timeout: float = 5.0) -> None:
    """Wait until the page has no request in flight but event streams (a reload or a close
    would cut it), or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while _in_flight(page) and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def _in_flight(page: Any) -> set[Any]:
    pending: set[Any] = getattr(page, "_flowai_in_flight", set())
    return pending


def _track_requests(page: Any) -> None:
    pending: set[Any] = set()
    page._flowai_in_flight = pending

    def started(request: Any) -> None:
        if request.headers.get("accept") != "text/event-stream":
            pending.add(request)

    def ended(request: Any) -> None:
        pending.discard(request)

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)


def visit(page: Any, path: str) -> None:
    """Navigate once the page's requests are done (a navigation aborts those in flight)."""
    settle(page)
    page.goto(path)


def reload(page: Any) -> None:
    """Reload once the page's requests are done (a reload aborts those still in flight)."""
    settle(page)
    page.reload()


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``.artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def studio_url(tmp_path: Path) -> Iterator[str]:
    with serve(chat_app(), tmp_path) as url:
        yield url


@pytest.fixture
def page(browser: Any, studio_url: str) -> Iterator[Any]:
    with open_page(browser, studio_url) as opened:
        yield opened


@pytest.fixture
def data_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A page on a Studio whose workspace has a SQLite data environment (customers, orders)."""
    with serve(data_app(tmp_path), tmp_path) as url, open_page(browser, url) as opened:
        yield opened


def send(page: Any, text: str) -> None:
    """Type a chat message and send it with Enter."""
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def answer(page: Any) -> Any:
    """The last assistant message."""
    return page.get_by_role("article", name="Assistant message").last
