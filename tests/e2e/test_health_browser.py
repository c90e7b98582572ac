"""Customer Success → Health in a real browser: the portfolio, an account's drill-down, the weights editor, an action."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import chromium_page, metric_values, save_screenshot, streamlit_server, wait_for_run

pytestmark = pytest.mark.browser


@pytest.fixture()
def app_url(demo_db, tmp_path):
    env = {
        "HUBSPOT_ACCESS_TOKEN": "pat-health-browser",
        "HUBSPOT_API_BASE": "http://127.0.0.1:9",  # nothing is delivered: the worker is off
        "REVLENS_APP_WORKER": "0",
        "REVLENS_USER": "ana",
        "REVLENS_CONFIRMERS": "ana",
        "REVLENS_SECRETS": str(tmp_path / "absent.toml"),
    }
    with streamlit_server(demo_db, tmp_path, **env) as url:
        yield url


def test_health_page_in_the_browser(app_url):
    with chromium_page({"width": 1440, "height": 1200}) as page:
        page.goto(f"{app_url}/health")
        wait_for_run(page, 180_000)
        page.get_by_role("heading", name="Customer Health").wait_for(timeout=180_000)
        page.get_by_text("Accounts scored").wait_for(timeout=180_000)
        wait_for_run(page, 180_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        tiles = metric_values(page)
        assert re.fullmatch(r"[\d,]+", tiles["Accounts scored"]) and tiles["ARR at risk"].startswith("$")
        assert page.locator(".js-plotly-plot").count() >= 4  # trend, components, history, waterfall, ...
        page.get_by_text("Why it changed").wait_for()
        page.set_viewport_size({"width": 1440, "height": 4400})  # the whole page, for the screenshot
        wait_for_run(page)
        page.wait_for_timeout(2000)  # let plotly finish drawing
        save_screenshot(page, "health.png", full_page=True)
        page.set_viewport_size({"width": 1440, "height": 1200})

        # another account in the drill-down
        before = metric_values(page)["Health score"]
        account = page.get_by_role("combobox", name="Account", exact=True)
        account.click()
        page.keyboard.press("ArrowDown")  # opens the list
        page.get_by_role("option").nth(5).click()
        page.wait_for_function(
            "before => [...document.querySelectorAll('[data-testid=stMetric]')].some(m =>"
            " m.innerText.startsWith('Health score') && !m.innerText.includes(before))",
            arg=before,
            timeout=60_000,
        )
        wait_for_run(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        # weights that do not sum to 1 are refused, with the sum
        page.get_by_role("tab", name="Weights and bands").click()
        weight = page.get_by_label("Usage frequency", exact=True)
        weight.fill("0.30")
        weight.press("Enter")
        page.get_by_text(re.compile(r"sum to 1\.05, not 1")).wait_for(timeout=60_000)
        assert page.get_by_role("button", name="Save weights and bands").is_disabled()

        # a task for the owner: previewed, confirmed, queued, and logged as an intervention
        page.get_by_role("button", name="Task for the owner…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("First request, exactly as it will be sent").wait_for()
        dialog.get_by_role("button", name="Confirm and queue").click()
        page.get_by_text(re.compile(r"Queued action #1")).wait_for(timeout=60_000)
        wait_for_run(page)
        page.get_by_role("tab", name="Interventions").click()
        page.get_by_text(re.compile(r"In progress: 1")).wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
