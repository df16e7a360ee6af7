"""Layout checks of the Studio UI in a real browser: tab bars are horizontal tab bars (not
styled like the sidebar), and the Connect screens fit a phone without sideways scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .studio_apps import data_app
from .ui_browser import PHONE, open_page, serve, shot, visit


def _one_row(page: Any, selector: str) -> bool:
    """Whether the elements share one row (their tops within a few pixels)."""
    tops: list[float] = page.eval_on_selector_all(
        selector, "items => items.map(item => item.getBoundingClientRect().top)"
    )
    return len(tops) > 1 and max(tops) - min(tops) < 4


def test_tab_bars_lay_their_tabs_in_one_row_and_fit_a_phone(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with serve(data_app(tmp_path), tmp_path) as url:
        for viewport, name in ((None, "desktop"), (PHONE, "phone")):
            with open_page(browser, url, viewport=viewport) as page:
                visit(page, "/connect/search?q=orders&mode=tables")
                modes = page.get_by_role("tablist", name="Search mode")
                expect(modes.get_by_role("tab")).to_have_count(4)
                # nothing profiled yet: the empty state says how to fill the catalog
                expect(page.get_by_text("Nothing in the catalog matches “orders”.")).to_be_visible()
                assert _one_row(page, '[aria-label="Search mode"] [role=tab]')
                width = page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= page.viewport_size["width"], f"search scrolls sideways ({width}px)"
                shot(page, f"connect-search-{name}")
                if viewport is PHONE:  # the Connect sections become one row above the page
                    assert _one_row(page, 'nav[aria-label="Connect"] a')
                visit(page, "/connect/discovery/orders")
                sections = page.get_by_role("navigation", name="Table sections")
                expect(sections.get_by_role("link").first).to_be_visible()
                # a tab bar, not a second sidebar: one row, no sidebar panel background
                assert _one_row(page, 'nav[aria-label="Table sections"] a')
                assert sections.evaluate("n => getComputedStyle(n).flexDirection") == "row"
                width = page.evaluate("() => document.documentElement.scrollWidth")
                assert width <= page.viewport_size["width"], f"table scrolls sideways ({width}px)"
                shot(page, f"connect-table-{name}")
