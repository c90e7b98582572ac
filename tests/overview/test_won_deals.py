"""One definition of the won deals in a window and of the eligible touches: the Overview KPIs and
trends, the finance report, the CRM push and the attribution journeys agree on the demo."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.attribution.engine import attribute
from analytics.attribution.models import UNATTRIBUTED
from analytics.crm.targets import attribution_targets
from analytics.finance.report import WON_DEALS_COUNT, financial_report
from analytics.overview.kpis import kpis, monthly_trends
from analytics.warehouse.runner import scalar

WINDOWS = [(date(2026, 1, 1), date(2026, 3, 31)), (date(2025, 11, 15), date(2026, 2, 10))]


@pytest.mark.parametrize(("start", "end"), WINDOWS)
def test_overview_finance_and_journeys_count_the_same_won_deals(demo, start, end):
    journeys = attribute(demo, ["linear"], close_from=start, close_to=end)
    deals, revenue = journeys["attributed_conversions"].sum(), journeys["attributed_revenue"].sum()
    assert deals > 10
    assert kpis(demo, start, end)["won_revenue"].current == pytest.approx(revenue, rel=1e-12)
    trends = monthly_trends(demo, start, end)
    assert trends["deals_won"].sum() == pytest.approx(deals)
    assert trends["won_revenue"].sum() == pytest.approx(revenue, rel=1e-12)
    assert scalar(demo, WON_DEALS_COUNT, {"start": start, "end": end}) == pytest.approx(deals)
    report = financial_report(demo, start, end, n_boot=0, compare=False)
    assert report.totals.row(0, named=True)["closed_won_revenue"] == pytest.approx(revenue, rel=1e-12)


@pytest.mark.parametrize("lookback_days", [90, 14])
def test_the_crm_push_credits_the_deals_with_an_eligible_touch(demo, lookback_days):
    start, end = WINDOWS[0]
    journeys = attribute(demo, ["linear"], lookback_days=lookback_days, close_from=start, close_to=end)
    attributed = journeys.filter(pl.col("channel") != UNATTRIBUTED)
    # contact level: each deal's credit goes to its own contact
    pushed = attribution_targets(demo, start, end, lookback_days=lookback_days, account_level=False)
    assert pushed["won_deals"].sum() == pytest.approx(attributed["attributed_conversions"].sum())
    assert pushed["attributed_revenue"].sum() == pytest.approx(attributed["attributed_revenue"].sum(), rel=1e-12)
    # account level (the page's push): the account-level attributed revenue, split over the contacts who touched
    accounts = attribute(
        demo, ["linear"], lookback_days=lookback_days, close_from=start, close_to=end, account_level=True
    )
    account_revenue = accounts.filter(pl.col("channel") != UNATTRIBUTED)["attributed_revenue"].sum()
    for model in ("linear", "first_touch"):
        shared = attribution_targets(demo, start, end, lookback_days=lookback_days, model=model)
        assert shared["attributed_revenue"].sum() == pytest.approx(account_revenue, rel=1e-9)
