"""The Studio UI's Tests, Evals and Connect screens in a real browser, and the first-paint and
interactive timings of every screen (written to ``.artifacts/perf.json``)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .ui_browser import ARTIFACTS, answer, open_page, reload, send, shot, visit

#: The quality bar on localhost, from the browser's own paint timings. Speed is a benchmark,
#: not a unit test: the suite records the timings of every screen (``.artifacts/perf.json``)
#: and asserts the budget only with FLOWAI_UI_PERF_STRICT=1, on an otherwise idle machine.
FIRST_PAINT_MS = 300
INTERACTIVE_MS = 600
STRICT = os.environ.get("FLOWAI_UI_PERF_STRICT") == "1"


def test_the_test_builder_form_round_trips_with_the_json_editor(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/tests/new")
    area = page.get_by_label("Test case JSON")
    expect(page.get_by_label("Tool palette").get_by_role("button")).to_have_count(5)
    page.get_by_label("Id", exact=True).fill("pricing-flow")
    page.get_by_label("Input", exact=True).fill("What does A-1 cost?")
    page.get_by_label("Tags", exact=True).fill("smoke, pricing")
    page.get_by_role("button", name="+ call_agent").click()
    page.get_by_role("button", name="+ lookup").click()
    page.get_by_label("Trajectory mode", exact=True).select_option(label="Strict sequence")
    written = json.loads(area.input_value())
    assert {k: written[k] for k in ("id", "input", "tags", "expectedTrajectory")} == {
        "id": "pricing-flow",
        "input": "What does A-1 cost?",
        "tags": ["smoke", "pricing"],
        "expectedTrajectory": ["call_agent", "lookup"],
    }
    assert written["trajectoryMode"] == "strict"
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
    # a saved test's id is shown read-only (a rename is a Clone)
    expect(page.get_by_label("Id", exact=True)).to_have_attribute("readonly", "")
    page.get_by_label("Input", exact=True).fill("What does A-2 cost?")
    page.keyboard.press("Control+s")
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    shot(page, "tests")


def test_a_chat_saved_as_a_test_passes_its_own_eval_and_the_results_show(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    answer(page).get_by_role("button", name="Approve").click()
    expect(answer(page)).to_have_attribute("data-status", "completed")
    page.get_by_role("button", name="Save as test case").click()
    expect(page).to_have_url(re.compile(r"/tests/tc-[0-9a-f]{8}$"))
    # the draft expects the sub-agent's tool too
    expect(page.get_by_label("Expected trajectory", exact=True)).to_have_value("call_agent\nlookup")
    # this runtime does not record: the cassette button says how to get one
    page.get_by_role("button", name="Download the chat's cassette").click()
    expect(page.get_by_role("status").filter(has_text="does not record")).to_contain_text(
        "create_runtime(..., record='<file>.jsonl')"
    )
    page.get_by_role("button", name="Run Eval").click()
    form = page.get_by_role("form", name="New eval")
    expect(form.get_by_role("checkbox", name=re.compile("^tc-"))).to_be_checked()
    expect(form.get_by_role("checkbox", name=re.compile("sub-agents"))).to_be_checked()
    page.get_by_role("button", name="Create and run").click()
    progress = page.get_by_role("list", name="Eval progress")
    expect(progress.locator("li[data-type=evalCompleted]")).to_have_count(1)
    expect(progress).to_contain_text(re.compile(r"Test tc-[0-9a-f]{8} completed: passed"))
    # the status follows the run without a reload, and the results table is filled
    expect(page.get_by_role("heading", name=re.compile("^Eval")).locator(".badge")).to_have_text(
        "completed"
    )
    row = page.get_by_role("table", name="Results").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("passed")
    expect(row.locator("td").nth(2)).to_have_text("1.00")
    expect(page.get_by_role("region", name="Eval summary")).to_contain_text("pass@1")
    shot(page, "eval")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("^Case tc-"))).to_contain_text("passed")
    expect(page.get_by_role("list", name="Trace steps")).to_contain_text("call_agent")
    shot(page, "eval-case")
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Evals").click()
    sidebar = page.get_by_role("list", name="Eval list")
    expect(sidebar.locator(".badge")).to_have_text(["completed"])


def test_connect_browses_tables_keys_relationships_search_and_tools(data_page: Any) -> None:
    from playwright.sync_api import expect

    page = data_page
    visit(page, "/connect")
    expect(page.locator('[data-count="Tables"] strong')).to_have_text("2")
    expect(page.get_by_role("table", name="Sources")).to_contain_text("workspace-runtime")
    shot(page, "connect")
    page.get_by_role("navigation", name="Connect").get_by_role("link", name="Tables").click()
    tables = page.get_by_role("table", name="Tables").locator("tbody tr")
    expect(tables).to_have_count(2)
    expect(tables.nth(1).locator("td[data-col=rowCount]")).to_have_text("3")
    page.get_by_role("button", name="Profile database").click()
    profiling = page.get_by_role("region", name="Profiling progress")
    expect(profiling.get_by_role("status")).to_contain_text("Profiling finished · 2 of 2 tables")
    per_table = profiling.get_by_role("table", name="Per-table progress")
    expect(per_table.locator('tr[data-state="completed"]')).to_have_count(2)
    expect(per_table.locator('tr[data-table="orders"] td').nth(2)).to_have_text("4")
    shot(page, "connect-profiling")
    expect(tables.nth(1).locator("td[data-col=description]")).to_contain_text("3 rows")
    tables.nth(1).get_by_role("link", name="orders").click()
    columns = page.get_by_role("table", name="Columns").locator("tbody tr")
    expect(columns).to_have_count(4)
    expect(columns.nth(0).locator("td[data-col=key]")).to_have_text("PK")
    expect(columns.nth(1).locator("td[data-col=key]")).to_have_text("FK → customers.id")
    # what profiling found per column: status has two distinct values in three rows
    expect(columns.nth(2).locator("td[data-col=distinct]")).to_have_text("2")
    expect(columns.nth(2).locator("td[data-col=nulls]")).to_have_text("0 of 3")
    expect(page.get_by_role("table", name="Sample rows").locator("tbody tr")).to_have_count(3)
    page.get_by_role("link", name="Relationships").click()
    expect(page.get_by_role("table", name="Relationships")).to_contain_text("customer_id")
    # relationships both ways: customers is referenced by orders
    page.get_by_role("table", name="Relationships").get_by_role("link", name="customers").click()
    expect(page.get_by_role("table", name="Referenced by")).to_contain_text("orders")
    shot(page, "connect-relationships")

    page.get_by_role("navigation", name="Connect").get_by_role("link", name="Search").click()
    page.get_by_role("tab", name="Tables").click()
    page.get_by_label("Search the catalog").fill("orders")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("list", name="Search results").locator("li")
    expect(results.first).to_contain_text("main.orders")
    expect(results.first).to_have_attribute("data-kind", "table")
    results.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/connect/discovery/orders$"))

    page.get_by_role("navigation", name="Connect").get_by_role("link", name="Tools").click()
    call_agent = page.get_by_role("article", name="Tool agents.call_agent")
    expect(call_agent).to_contain_text("Runs only inside an agent run")
    expect(call_agent.get_by_role("button", name="Execute")).to_have_count(0)
    gated = page.get_by_role("article", name="Tool lookup")
    expect(gated.get_by_role("button", name="Execute")).to_have_count(0)
    shot(page, "connect-tools")


def test_the_runs_list_refreshes_a_status_without_a_reload(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    approval = answer(page).locator("[data-approval-id]")
    expect(approval).to_have_count(1)
    approval_id = approval.get_attribute("data-approval-id")
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Runs").click()
    status = page.get_by_role("table", name="Runs").locator("tbody tr").first.locator(".badge")
    expect(status).to_have_text("waiting")
    origin = re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]
    decided = page.request.post(
        f"/api/workspaces/default/approvals/{approval_id}/respond",
        data={"outcome": "approve"},
        headers={"Origin": origin},
    )
    assert decided.ok, decided.text()
    expect(status).to_have_text("completed")


def test_demo_mode_masks_titles_and_answers_and_leaves_send_uncovered(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "mail ada@example.com about order 123456")
    expect(answer(page)).to_have_attribute("data-status", "completed")
    page.keyboard.press("Escape")  # nothing runs: Escape is harmless
    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    dialog.get_by_role("checkbox", name=re.compile("Demo mode")).check()
    dialog.get_by_role("combobox", name="Theme").select_option("light")
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    thread = page.get_by_role("list", name="Thread list").get_by_role("link")
    expect(thread).to_have_text("mail •••@••• about order ••••••")
    expect(answer(page)).to_contain_text("Hello: mail •••@••• about order ••••••")
    expect(page.locator("main")).not_to_contain_text("ada@example.com")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("123456")
    # the pill sits in the top bar, clear of the composer
    pill = page.get_by_role("button", name="Demo mode on · turn off").bounding_box()
    send_box = page.get_by_role("textbox", name="Message").bounding_box()
    assert pill is not None and send_box is not None
    assert pill["y"] + pill["height"] <= send_box["y"]
    shot(page, "demo-mode")
    reload(page)  # saved for the workspace in this browser, applied before paint
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.get_by_role("button", name="Demo mode on · turn off").click()
    expect(answer(page)).to_contain_text("ada@example.com")


def _timings(page: Any) -> dict[str, float]:
    """The browser's own timings of the current page, in ms from navigation start."""
    timings: dict[str, float] = page.evaluate(
        """() => new Promise((resolve) => {
          const nav = performance.getEntriesByType("navigation")[0];
          const fcp = performance.getEntriesByName("first-contentful-paint")[0];
          let largest = -1;
          const observer = new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) largest = entry.startTime;
          });
          observer.observe({ type: "largest-contentful-paint", buffered: true });
          setTimeout(() => {
            observer.disconnect();
            resolve({
              firstContentfulPaint: fcp ? Math.round(fcp.startTime) : -1,
              largestContentfulPaint: Math.round(largest),
              domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
              load: Math.round(nav.loadEventEnd),
              transferredBytes: performance.getEntriesByType("resource")
                .reduce((sum, r) => sum + r.transferSize, nav.transferSize),
            });
          }, 300);
        })"""
    )
    return timings


def test_every_screen_paints_its_content_and_records_its_timings(
    browser: Any, studio_url: str
) -> None:
    """First contentful paint, and interactive as the largest contentful paint of the screen's
    own content (after its data arrived), on localhost with a cold browser cache (best of
    three loads per screen)."""
    from playwright.sync_api import expect

    screens = {
        "overview": ("/workspace", "Agents"),
        "playground": ("/playground", "Start a conversation."),
        "approvals": ("/approvals", "No approvals in this workspace."),
        "runs": ("/runs", "No runs yet."),
        "tests": ("/tests", "Pick a test case, or create one."),
        "evals": ("/evals", "Pick an eval, or start a new one."),
        "connect": ("/connect", "This workspace has no data environment"),
    }
    measured: dict[str, dict[str, float]] = {}
    with open_page(browser, studio_url) as warm:
        visit(warm, "/workspace")  # the server builds the runtime on first use
        expect(warm.get_by_role("article", name="Agent coord")).to_be_visible()
    for name, (path, content) in screens.items():
        tries = []
        # The best of three cold loads: the machine running the tests is shared and busy.
        for _ in range(3):
            with open_page(browser, studio_url) as page:  # a fresh context: nothing cached
                visit(page, path)
                expect(page.get_by_text(content).first).to_be_visible()
                tries.append(_timings(page))
        # A load whose paint entries the browser did not report in time (-1) is not a result.
        painted = [
            t for t in tries if t["firstContentfulPaint"] > 0 and t["largestContentfulPaint"] > 0
        ]
        assert painted, (name, tries)
        measured[name] = min(painted, key=lambda t: t["largestContentfulPaint"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "perf.json").write_text(json.dumps(measured, indent=2) + "\n")
    for name, timing in measured.items():
        if STRICT:
            assert timing["firstContentfulPaint"] <= FIRST_PAINT_MS, (name, timing)
            assert timing["largestContentfulPaint"] <= INTERACTIVE_MS, (name, timing)
