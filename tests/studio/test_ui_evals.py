"""The Evals screen in a real browser while an eval is still running: Cancel shows the eval
cancelled at once and it never flips back to running (its status is not stale)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2 as httpx

from flowai_harness import create_runtime
from flowai_harness.ports import ModelPart, ModelRequest
from flowai_harness.studio import define_app
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn

from .studio_apps import chat_spec
from .ui_browser import open_page, serve, shot, visit

W = "/api/workspaces/default"


class HeldModel(ScriptedModel):
    """Answers only once the test lets it go, so an eval stays running meanwhile."""

    def __init__(self) -> None:
        super().__init__(respond=lambda _request: ModelTurn(text="Refunds take 30 days."))
        self.release = threading.Event()
        self.asked = threading.Event()

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        self.asked.set()
        await asyncio.to_thread(self.release.wait, 20)
        async for part in super().stream_turn(request):
            yield part


def test_cancel_shows_the_eval_cancelled_at_once_and_it_stays_cancelled(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    model = HeldModel()
    spec = chat_spec()
    app = define_app(
        name="eval-cancel",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, interpreter=model),
    )
    with serve(app, tmp_path) as url, open_page(browser, url) as page:
        with httpx.Client(base_url=url, timeout=10) as client:
            case = {"id": "refund", "input": "How long do refunds take?"}
            assert client.post(f"{W}/tests", json=case).status_code in (200, 201)
            config = {"samplesPerCase": 1, "concurrency": 1, "kValues": [1]}
            created = client.post(f"{W}/evals", json={"config": config, "testCaseIds": ["refund"]})
            eval_id = created.json()["evalId"]
        try:
            visit(page, f"/evals/{eval_id}")
            badge = page.get_by_role("heading", name=re.compile("^Eval")).locator(".badge")
            page.get_by_role("button", name="Run").click()
            expect(badge).to_have_text("running")
            assert model.asked.wait(10)
            # from now on, record every status the heading shows
            badge.evaluate(
                """b => { window.shownStatuses = [];
                  new MutationObserver(() => window.shownStatuses.push(b.textContent))
                    .observe(b, {childList: true, characterData: true, subtree: true}); }"""
            )
            page.get_by_role("button", name="Cancel").click()
            expect(badge).to_have_text("cancelled")
            expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
            model.release.set()
            sidebar = page.get_by_role("list", name="Eval list")
            expect(sidebar.locator(".badge")).to_have_text(["cancelled"])
            expect(page.get_by_role("button", name=re.compile("^(Run|Rerun)$"))).to_be_enabled()
            expect(badge).to_have_text("cancelled")
            assert "running" not in page.evaluate("() => window.shownStatuses")
            shot(page, "eval-cancelled")
        finally:
            model.release.set()
