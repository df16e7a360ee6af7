"""The Studio UI (built from studio-ui/) in a real browser: the shell, the overview and the
Playground chat, driven by role and accessible name against the scripted chat app of
``studio_apps`` (see ``ui_browser`` for the fixtures, console checks and screenshots)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .studio_apps import chat_app
from .ui_browser import PHONE, TIMEOUT_MS, answer, open_page, reload, send, serve, shot, visit


def test_the_overview_lists_the_agents_and_says_what_keeps_the_runtime_from_answering(
    page: Any,
) -> None:
    from playwright.sync_api import expect

    visit(page, "/")
    expect(page).to_have_url(re.compile(r"/workspace$"))
    expect(page.get_by_role("heading", name=re.compile("Overview"))).to_be_visible()
    for agent in ("coord", "pricing", "helper", "planner"):
        expect(page.get_by_role("article", name=f"Agent {agent}")).to_be_visible()
    expect(page.get_by_role("article", name="Agent coord")).to_contain_text("Entrypoint")
    # the provider key is not set: not "ready", and the banner names what is missing
    expect(page.get_by_role("status").filter(has_text="Runtime needs setup")).to_have_count(1)
    banner = page.get_by_role("status").filter(has_text="Not ready to answer")
    expect(banner).to_contain_text("environment variable ANTHROPIC_API_KEY is not set")
    nav = page.get_by_role("navigation", name="Studio")
    connect = nav.get_by_text("Connect")
    expect(connect).to_have_attribute(
        "title", "No data environment is configured for this workspace."
    )
    expect(page.get_by_role("combobox", name="Workspace").locator("option")).to_have_count(2)
    shot(page, "overview")


def test_a_chat_answer_streams_and_the_thread_survives_a_reload(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    send(page, "hi there")
    expect(answer(page)).to_have_attribute("data-status", "completed")
    expect(answer(page)).to_contain_text("Hello: hi there")
    expect(page).to_have_url(re.compile(r"/playground/thread_[0-9a-f]{32}$"))
    threads = page.get_by_role("list", name="Thread list")
    expect(threads.get_by_role("link")).to_have_text(["hi there"])
    reload(page)
    expect(answer(page)).to_contain_text("Hello: hi there")
    expect(page.get_by_role("article", name="User message")).to_have_text(re.compile("hi there"))
    shot(page, "playground")


def test_a_sub_agent_is_nested_under_its_call_and_an_approval_is_answered_inline(
    page: Any,
) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    reply = answer(page)
    card = reply.get_by_role("region", name=re.compile("^Approval: Run tool lookup"))
    expect(card).to_contain_text('Run tool lookup with sku: "A-1"?')
    sub_agent = reply.locator('details[data-agent="pricing"]')
    expect(sub_agent).to_have_count(1)  # never shown twice
    expect(sub_agent.locator('details[data-tool="lookup"]')).to_have_count(1)
    shot(page, "playground-approval")
    card.get_by_role("button", name="Approve").click()
    expect(reply).to_have_attribute("data-status", "completed")
    expect(reply).to_contain_text("The price is 4.50")
    expect(card.get_by_role("status")).to_have_text("Approved")
    # the decision is still visible when the thread is reopened
    reload(page)
    reopened = answer(page).get_by_role("region", name=re.compile("^Approval"))
    expect(reopened.get_by_role("status")).to_have_text("Approved")
    expect(answer(page).locator('details[data-agent="pricing"]')).to_have_count(1)


def test_leaving_the_chat_keeps_the_run_and_the_inbox_sends_it_back_for_revision(
    page: Any,
) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    expect(answer(page).get_by_role("button", name="Approve")).to_be_visible()
    thread_url = page.url
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Approvals").click()
    inbox = page.get_by_role("region", name=re.compile("^Approval: Run tool lookup"))
    expect(inbox.get_by_text("pending")).to_be_visible()  # not expired: the run went on
    inbox.get_by_role("button", name="Revise").click()
    expect(inbox.get_by_role("alert")).to_contain_text("Say what to change")
    inbox.get_by_label("Feedback").fill("use the EU price list")
    inbox.get_by_role("button", name="Revise").click()
    expect(inbox.get_by_role("status").last).to_contain_text("Sent back for revision")
    shot(page, "approvals-inbox")
    reload(page)  # the decision and its feedback come back from the server
    decided_row = page.get_by_role("region", name=re.compile("^Approval: Run tool lookup"))
    expect(decided_row.get_by_role("status").last).to_have_text(
        "Sent back for revision: “use the EU price list”"
    )
    expect(decided_row.locator("[data-usage]")).to_contain_text("This run has")
    visit(page, thread_url)
    reply = answer(page)
    expect(reply).to_have_attribute("data-status", "completed")
    decided = reply.get_by_role("region", name=re.compile("^Approval"))
    expect(decided.get_by_role("status")).to_have_text(
        "Sent back for revision: “use the EU price list”"
    )


def test_a_reload_mid_run_reattaches_to_the_running_answer(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    expect(answer(page).get_by_role("button", name="Approve")).to_be_visible()
    reload(page)
    reply = answer(page)
    expect(reply).to_have_attribute("data-status", "streaming")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    reply.get_by_role("button", name="Approve").click()
    expect(reply).to_have_attribute("data-status", "completed")
    expect(reply).to_contain_text("The price is 4.50")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)


def test_escape_stops_the_answer_and_keeps_the_partial_text(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "price?")
    reply = answer(page)
    expect(reply.get_by_role("button", name="Approve")).to_be_visible()
    page.keyboard.press("Escape")
    expect(reply).to_have_attribute("data-status", "cancelled")
    expect(reply).to_contain_text("Routing.")
    expect(reply).to_contain_text("Stopped. The partial answer is kept.")
    visit(page, "/runs")
    expect(page.get_by_role("table", name="Runs").locator("tbody tr").first).to_contain_text(
        "cancelled"
    )


def test_runs_list_filters_in_the_url_and_the_run_timeline_is_a_tree(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "hi there")
    expect(answer(page)).to_have_attribute("data-status", "completed")
    visit(page, "/playground")
    send(page, "price?")
    answer(page).get_by_role("button", name="Approve").click()
    expect(answer(page)).to_have_attribute("data-status", "completed")
    page.get_by_role("navigation", name="Studio").get_by_role("link", name="Runs").click()
    rows = page.get_by_role("table", name="Runs").locator("tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("searchbox", name="Search runs").fill("zzz-no-such-run")
    expect(page).to_have_url(re.compile(r"q=zzz-no-such-run"))
    expect(page.get_by_text("No run matches the filters.")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    page.get_by_role("combobox", name="Status filter").select_option("completed")
    expect(page).to_have_url(re.compile(r"status=completed"))
    expect(rows).to_have_count(2)
    expect(page.get_by_role("status").filter(has_text="of 2")).to_be_visible()
    rows.first.get_by_role("link").first.click()
    timeline = page.get_by_role("list", name="Run timeline")
    node = 'li[data-kind="{}"] > .tree-row'.format
    expect(timeline.locator(node("agent"), has_text="pricing")).to_have_count(1)
    expect(timeline.locator(node("tool"), has_text="lookup")).to_have_count(1)
    expect(timeline.locator(node("approval"))).to_contain_text("approved")
    # the sub-agent's tool sits under the sub-agent, which sits under the call that made it
    call = timeline.locator('li[data-kind="tool"]', has=page.locator(node("agent")))
    expect(call.locator(node("tool"), has_text="lookup")).to_have_count(1)
    # the runtime's trace of the same chat run: model turns and tool calls, nested the same way
    trace = page.get_by_role("list", name="Run trace")
    expect(trace.locator(node("turn")).first).to_be_visible()
    traced_call = trace.locator('li[data-kind="tool"]', has_text="call_agent")
    expect(traced_call.locator(node("tool"), has_text="lookup")).to_have_count(1)
    shot(page, "run-detail")


def test_switching_workspace_on_a_thread_leaves_the_thread(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "hi there")
    expect(answer(page)).to_have_attribute("data-status", "completed")
    page.get_by_role("combobox", name="Workspace").select_option("sales")
    expect(page).to_have_url(re.compile(r"/playground$"))
    expect(page.get_by_role("list", name="Thread list").get_by_role("link")).to_have_count(0)
    send(page, "hello sales")
    expect(answer(page)).to_contain_text("Hello: hello sales")
    page.get_by_role("combobox", name="Workspace").select_option("default")
    expect(page.get_by_role("list", name="Thread list").get_by_role("link")).to_have_text(
        ["hi there"]
    )


def test_opening_a_long_thread_lands_on_its_latest_message(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    long_prompt = "\n\n".join(f"line {i}" for i in range(80))
    send(page, long_prompt)
    expect(answer(page)).to_have_attribute("data-status", "completed")
    send(page, "last one")
    expect(answer(page)).to_contain_text("Hello: last one")
    reload(page)
    expect(answer(page)).to_contain_text("Hello: last one")
    log = page.get_by_role("log", name="Conversation")
    page.wait_for_function(
        "el => el.scrollHeight > el.clientHeight && "
        "el.scrollHeight - el.scrollTop - el.clientHeight < 48",
        arg=log.element_handle(),
        timeout=TIMEOUT_MS,
    )


def test_autoscroll_stops_while_the_reader_looks_at_earlier_output(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/playground")
    send(page, "\n\n".join(f"line {i}" for i in range(80)))
    expect(answer(page)).to_have_attribute("data-status", "completed")
    send(page, "price?")
    expect(answer(page).get_by_role("button", name="Approve")).to_be_visible()
    log = page.get_by_role("log", name="Conversation")
    log.evaluate("el => { el.scrollTop = 0; }")
    page.wait_for_function("el => el.scrollTop === 0", arg=log.element_handle())
    # the answer grows (decided from elsewhere) while the reader is up there: no forced scroll
    approval_id = answer(page).locator("[data-approval-id]").get_attribute("data-approval-id")
    origin = re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]
    decided = page.request.post(
        f"/api/workspaces/default/approvals/{approval_id}/respond",
        data={"outcome": "approve"},
        headers={"Origin": origin},
    )
    assert decided.ok, decided.text()
    expect(answer(page)).to_have_attribute("data-status", "completed")
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    assert log.evaluate("el => el.scrollTop") == 0
    jump.click()
    page.wait_for_function(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 48",
        arg=log.element_handle(),
        timeout=TIMEOUT_MS,
    )
    expect(jump).to_have_count(0)


def test_the_phone_layout_collapses_the_navigation_without_horizontal_scroll(
    browser: Any, studio_url: str
) -> None:
    from playwright.sync_api import expect

    with open_page(browser, studio_url, viewport=PHONE) as phone:
        screens = (
            ("/workspace", "overview"),
            ("/playground", "playground"),
            ("/approvals", "approvals"),
            ("/runs", "runs"),
            ("/tests", "tests"),
            ("/evals", "evals"),
        )
        for path, name in screens:
            visit(phone, path)
            expect(phone.get_by_role("heading").first).to_be_visible()
            nav = phone.get_by_role("navigation", name="Studio")
            expect(nav.get_by_role("link", name="Runs")).not_to_be_in_viewport()
            width = phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways ({width}px)"
            shot(phone, f"{name}-phone")
        phone.get_by_role("button", name="Menu").click()
        expect(nav.get_by_role("link", name="Runs")).to_be_in_viewport()
        shot(phone, "nav-phone")
        nav.get_by_role("link", name="Runs").click()
        expect(phone).to_have_url(re.compile(r"/runs$"))
        expect(nav.get_by_role("link", name="Runs")).not_to_be_in_viewport()


def test_unknown_pages_show_the_not_found_screen(page: Any) -> None:
    from playwright.sync_api import expect

    visit(page, "/no/such/page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_a_studio_with_a_token_opens_from_the_printed_url_and_streams(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    token = "ui-token-5c1d2e3f4a5b6c7d"
    with serve(chat_app(), tmp_path, token=token) as url:
        refused = lambda message: "401" in message  # noqa: E731  (the stranger's calls)
        with open_page(browser, url, allow=refused) as stranger:
            visit(stranger, "/workspace")  # no token: the API refuses, the page says why
            expect(stranger.get_by_role("alert").first).to_contain_text("access token")
            expect(stranger.get_by_role("article", name="Agent coord")).to_have_count(0)
        with open_page(browser, url) as page:
            visit(page, f"/#token={token}")
            expect(page).to_have_url(re.compile(r"/workspace$"))
            expect(page.get_by_role("article", name="Agent coord")).to_be_visible()
            assert token not in page.url
            stored = page.evaluate("() => sessionStorage.getItem('flowai.studioToken')")
            assert stored == token
            page.get_by_role("navigation", name="Studio").get_by_role(
                "link", name="Playground"
            ).click()
            send(page, "hi there")
            expect(answer(page)).to_contain_text("Hello: hi there")
            expect(answer(page)).to_have_attribute("data-status", "completed")
            reload(page)  # the token stays for this tab (session storage), not in the URL
            expect(answer(page)).to_contain_text("Hello: hi there")
