"""The Attribution page in a real browser: bars with error bars, the shares table, no exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, save_screenshot, streamlit_server, wait_for_run

pytestmark = pytest.mark.browser


def test_attribution_page_draws_bars_with_intervals(demo_db, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: install it with `apt-get install chromium`.")
    from playwright.sync_api import sync_playwright

    with streamlit_server(demo_db, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 3200})  # the whole page, for the screenshot
            page.goto(f"{url}/attribution?from=2026-01-01&to=2026-06-30")
            wait_for_run(page, 180_000)
            page.wait_for_selector(".js-plotly-plot")
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator("h1").first.inner_text().strip() == "Attribution"
            # five models' bars, each with its bootstrap error bars
            assert page.locator(".st-key-attr_chart .js-plotly-plot .barlayer .trace").count() == 5
            assert page.locator(".st-key-attr_chart .js-plotly-plot .errorbar").count() == 0  # intervals are opt-in
            page.locator(".st-key-attr_intervals label").click()
            page.wait_for_selector(".st-key-attr_chart .js-plotly-plot .errorbar", state="attached", timeout=180_000)
            wait_for_run(page, 180_000)
            assert page.locator(".st-key-attr_chart .js-plotly-plot .errorbar").count() > 0
            assert page.get_by_text("Top converting paths").count() == 1
            page.wait_for_timeout(1500)  # let plotly finish drawing the bars
            save_screenshot(page, "attribution.png", full_page=True)
        finally:
            browser.close()
