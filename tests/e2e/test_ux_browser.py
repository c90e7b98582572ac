"""A business user's browser: click a campaign's bar on Attribution to land in its drill-down (with the drilled view in
the URL), click a date preset, and no developer chrome (no Deploy button, no folder navigation)."""

from __future__ import annotations

import re

import duckdb
import pytest

from analytics.core.periods import preset_range
from analytics.overview.kpis import data_range
from tests.e2e.browser import wait_for_run

pytestmark = pytest.mark.browser


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_run(page, 180_000)
    page.wait_for_selector("h1")


def test_clicking_a_campaign_bar_opens_its_drill_down(server, page, demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        names = dict(con.execute("select campaign_id, name from campaigns").fetchall())
    finally:
        con.close()
    _open(page, f"{server}/attribution?by=campaign")
    chart = page.locator(".st-key-attr_chart .js-plotly-plot")
    chart.wait_for()
    page.wait_for_timeout(1000)  # plotly draws its bars after the element exists
    chart.scroll_into_view_if_needed()
    bars = chart.locator(".barlayer .point path")
    assert bars.count() > 3
    # the first campaign's bar (the biggest under the first model; the last group is "Other campaigns"):
    # click its middle, as a person would
    box = bars.nth(0).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".st-key-attr_back", timeout=120_000)
    wait_for_run(page, 120_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    drilled = re.search(r"[?&]drill=([^&]+)", page.url)
    assert drilled, page.url  # the drilled view is in the address, to be shared
    campaign = drilled.group(1)
    assert campaign in names
    trail = page.locator(".st-key-attr_back_breadcrumbs").inner_text()
    assert names[campaign] in trail and campaign not in trail  # the name, not the id
    # the shared address opens the same drill-down in a new session
    shared = page.url
    _open(page, shared)
    page.wait_for_selector(".st-key-attr_back", timeout=120_000)
    assert names[campaign] in page.locator(".st-key-attr_back_breadcrumbs").inner_text()
    # the back link leaves the drill-down and the address forgets it
    page.locator(".st-key-attr_back button").click()
    page.wait_for_selector(".st-key-attr_back", state="detached", timeout=120_000)
    wait_for_run(page)
    assert "drill=" not in page.url


def test_a_preset_sets_the_range_and_the_address(server, page, demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        first, last = data_range(con)
    finally:
        con.close()
    expected = preset_range("last_quarter", last)
    _open(page, f"{server}/attribution")
    page.locator('.st-key-filter_bar [data-testid="stButtonGroup"] button', has_text="Last quarter").click()
    page.wait_for_function(
        "s => window.location.search.includes(s)", arg=f"from={max(expected.start, first).isoformat()}", timeout=60_000
    )
    wait_for_run(page)
    assert f"to={min(expected.end, last).isoformat()}" in page.url
    fields = page.locator('.st-key-filter_bar [data-testid="stDateInputField"] input')
    shown = [fields.nth(i).input_value() for i in range(fields.count())]
    assert shown == [max(expected.start, first).isoformat(), min(expected.end, last).isoformat()]
    assert page.locator('[data-testid="stException"]').count() == 0


def test_no_developer_chrome(server, page):
    _open(page, f"{server}/")
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=120_000)
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    page.locator('[data-testid="stMainMenu"]').click()  # a viewer's menu: no rerun, cache, settings, developer entries
    menu = page.locator('[data-testid="stMainMenuList"]').inner_text()
    assert "About" in menu and not re.search(r"Rerun|Clear cache|Settings|Developer|Deploy", menu), menu
    page.keyboard.press("Escape")
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no folder navigation
    assert page.title() == "Overview · RevLens"


def test_the_arr_at_risk_tile_appears_when_the_churn_model_is_ready(server, page):
    _open(page, f"{server}/")
    page.wait_for_function(
        "() => (document.querySelector('.st-key-overview_risk [data-testid=stMetricValue]')?.innerText ?? '')"
        ".startsWith('$')",
        timeout=180_000,
    )
    wait_for_run(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".st-key-overview_risk").get_by_text("Computing the churn model").count() == 0
