"""The Leads page in a real browser: the funnel chart, both scores in the table, the rule editor's backtest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, metric_values, save_screenshot, streamlit_server, wait_for_run

pytestmark = pytest.mark.browser


def test_leads_page_draws_the_funnel_scores_and_backtest(demo_db, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: install it with `apt-get install chromium`.")
    from playwright.sync_api import sync_playwright

    with streamlit_server(demo_db, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2400})
            page.goto(f"{url}/leads?from=2026-05-01&to=2026-10-31")
            wait_for_run(page, 180_000)
            page.wait_for_function(
                "document.querySelectorAll('[data-testid=stMetricValue]').length >= 9", timeout=180_000
            )
            assert page.locator('[data-testid="stException"]').count() == 0
            assert page.locator("h1").first.inner_text().strip() == "Leads"
            values = metric_values(page)
            assert int(values["Leads"].replace(",", "")) > 0
            assert "Small-data mode" in page.locator('[data-testid="stAlert"]').first.inner_text()
            page.wait_for_selector(".js-plotly-plot .funnellayer, .js-plotly-plot .funnel")
            page.wait_for_timeout(1500)  # let plotly finish drawing
            save_screenshot(page, "leads.png", full_page=False)
            # the lead table: both scores side by side
            page.get_by_role("tab", name="Lead table").click()
            wait_for_run(page)
            page.get_by_text("leads match; the first").wait_for(timeout=60_000)
            # the score distribution draws both scores (the table itself is a canvas)
            assert page.locator(".js-plotly-plot .legendtext", has_text="Predictive score").count() > 0
            assert page.locator(".js-plotly-plot .legendtext", has_text="Rule score").count() > 0
            # the rule editor: a bad line is named at once
            page.get_by_role("tab", name="Rule editor").click()
            editor = page.locator("textarea").first
            text = editor.input_value()
            editor.fill(text.replace("+15 segment is Enterprise", "+15 segmnt is Enterprise"))
            editor.press("Control+Enter")
            page.wait_for_selector("text=unknown field 'segmnt'", timeout=60_000)
            assert page.get_by_text("Line 7 of the edited rules").count() == 1
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
