"""The Actions page in a real browser: confirm dialog (a fragment), then the app's worker delivers to a local HubSpot."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, metric_values, save_screenshot, streamlit_server, wait_for_run
from tests.fakes.hubspot_server import HubSpotServer, seed_contacts

pytestmark = pytest.mark.browser
TOKEN = "pat-browser-secret-42"


@pytest.fixture()
def app_url(demo_db, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is missing at /usr/bin/chromium (apt-get install chromium)")
    with HubSpotServer(TOKEN) as hubspot:
        seed_contacts(hubspot, 10)
        env = {
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_API_BASE": hubspot.base_url,
            "REVLENS_USER": "ana",
            "REVLENS_CONFIRMERS": "ana",
            "REVLENS_SECRETS": str(tmp_path / "absent.toml"),
        }
        with streamlit_server(demo_db, tmp_path, **env) as url:
            yield url, hubspot, tmp_path / "streamlit.log"


def test_confirm_in_the_dialog_then_the_worker_delivers(app_url):
    from playwright.sync_api import sync_playwright

    url, hubspot, log_path = app_url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/actions")  # a deep link into a fresh server: must still get the app's menu
        wait_for_run(page)
        page.get_by_role("heading", name="Actions").wait_for()
        assert page.get_by_text("Operations").count() >= 1  # the top navigation of app.py
        assert page.locator('[data-testid="stException"]').count() == 0
        page.get_by_role("button", name="Create RevLens properties in HubSpot…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("First request, exactly as it will be sent").wait_for()
        dialog.get_by_role("button", name="Confirm and queue").click()
        page.get_by_text("Queued action #1").wait_for(timeout=30_000)
        deadline = time.monotonic() + 30
        while metric_values(page).get("Sent") != "1" and time.monotonic() < deadline:
            time.sleep(1)
            page.get_by_role("button", name="Refresh").click()
            wait_for_run(page)
        assert metric_values(page).get("Sent") == "1"
        save_screenshot(page, "actions.png", full_page=True)
        html = page.content()
        browser.close()
    created = {r["body"]["name"] for r in hubspot.requests if r["method"] == "POST" and "/properties/" in r["path"]}
    assert "marketing_platform_lead_score" in created and "last_campaign_interaction" in created
    assert TOKEN not in html and TOKEN not in log_path.read_text()
