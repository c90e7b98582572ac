"""The Overview end to end: Debian's Chromium driven by Playwright against `python -m analytics app`."""

from __future__ import annotations

import re

import pytest

from tests.e2e.browser import metric_values, save_screenshot, streamlit_server, wait_for_kpis, wait_for_run

pytestmark = pytest.mark.browser


def test_overview_renders_and_follows_a_filter(server, page):
    page.goto(server)
    wait_for_run(page)
    wait_for_kpis(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    before = metric_values(page)
    kpis = {"Open pipeline", "Won revenue", "Marketing spend", "Active accounts", "ARR"}
    assert kpis <= set(before)  # and the ARR-at-risk tile and the movers
    assert all(re.fullmatch(r"\$?[\d,.]+[KMB]?", before[name]) for name in kpis), before
    page.wait_for_selector(".js-plotly-plot")
    save_screenshot(page, "overview.png", full_page=True)

    # choose one segment in the filter bar
    page.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="Enterprise").click()
    page.locator("h1").first.click()  # close the dropdown
    page.wait_for_function(
        "before => [...document.querySelectorAll('.st-key-overview_kpis [data-testid=stMetricValue]')]"
        ".map(e => e.innerText).join('|') !== before",
        arg="|".join(
            before[name] for name in ("Open pipeline", "Won revenue", "Marketing spend", "Active accounts", "ARR")
        ),
        timeout=60_000,
    )
    wait_for_run(page)
    after = metric_values(page)
    assert after["Won revenue"] != before["Won revenue"]
    assert after["ARR"] != before["ARR"]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "segment=Enterprise" in page.url


def test_a_deep_link_opened_first_runs_through_the_entrypoint(demo_db, tmp_path, page):
    """A fresh server whose first visitor follows a shared link to a page and its filters."""
    with streamlit_server(demo_db, tmp_path) as url:
        page.goto(f"{url}/overview?segment=SMB&from=2026-01-01&to=2026-03-31")
        wait_for_run(page)
        wait_for_kpis(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "SMB" in page.locator('[data-testid="stMultiSelect"]').first.inner_text()
        assert page.get_by_text("01 Jan 2026 – 31 Mar 2026").count() == 1  # the Overview's caption
