"""The Budget page end to end: Debian's Chromium driven by Playwright against `python -m analytics app`."""

from __future__ import annotations

import os

import pytest

from tests.e2e.browser import metric_values, wait_for_run
from tests.paths import ROOT

pytestmark = pytest.mark.browser


def test_budget_page_draws_the_advice_and_the_curves(server, page):
    page.goto(f"{server}/budget")
    wait_for_run(page)
    page.wait_for_function("document.querySelectorAll('[data-testid=stMetricValue]').length >= 4", timeout=90_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    tiles = metric_values(page)
    assert {"Total budget", "Backtest error (MAPE)", "Regret vs the planted optimum"} <= set(tiles)
    assert tiles["Total budget"].startswith("$")
    page.wait_for_selector(".vega-embed canvas, .vega-embed svg", timeout=60_000)  # the curves drew
    if os.environ.get("REVLENS_SCREENSHOTS") == "1":
        page.screenshot(path=str(ROOT / "docs" / "budget.png"), full_page=True)
