"""Known answers for the pure ROI and budget formulas (analytics.finance.roi, analytics.finance.budget)."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.core.errors import RevLensError
from analytics.finance.budget import DAYS_PER_MONTH, budget_status
from analytics.finance.costs import OpportunityCostAssumption
from analytics.finance.roi import (
    NOT_REACHED,
    cac,
    confidence_level,
    interval_width,
    js_round_2,
    model_spread,
    net_revenue,
    payback_period,
    roas,
    roi_percentage,
    roi_record,
    total_investment,
)


def test_investment_net_and_roi_by_hand():
    investment = total_investment(1_000.0, 300.0, 200.0)
    assert investment == 1_500.0
    net = net_revenue(4_000.0, investment)
    assert net == 2_500.0
    assert roi_percentage(net, investment) == 166.67  # 2500 / 1500 × 100 = 166.666…


def test_roi_rounds_like_javascript_math_round():
    # Math.round(x) = floor(x + 0.5): halves go toward +infinity, also for negatives
    # (values exact in binary, so the test checks the rule, not float noise)
    assert js_round_2(1.125) == 1.13
    assert js_round_2(-1.125) == -1.12
    assert js_round_2(-1.375) == -1.37 and round(-1.375, 2) == -1.38  # not Python's half-to-even
    assert js_round_2(-0.125) == -0.12
    assert js_round_2(0.125) == 0.13
    assert roi_percentage(1.0, 8.0) == 12.5


def test_negative_net_gives_negative_roi():
    assert roi_percentage(net_revenue(250.0, 1_000.0), 1_000.0) == -75.0
    assert roi_percentage(net_revenue(0.0, 400.0), 400.0) == -100.0


def test_zero_cost_roi_is_undefined_never_infinite():
    assert roi_percentage(500.0, 0.0) is None
    assert roas(500.0, 0.0) is None
    assert cac(0.0, 0.0) is None


def test_roas_and_cac_by_hand():
    assert roas(12_000.0, 3_000.0) == 4.0
    assert cac(9_000.0, 3.0) == 3_000.0


def test_payback_interpolates_within_the_covering_month():
    # G = 100, 200, 400: month 3 covers 300; 2 + (300 - 200) / 200 = 2.5
    assert payback_period(300.0, [100.0, 100.0, 200.0]) == 2.5
    # covered inside the first month: 50 / 200 = 0.25 -> 0.2 (one decimal; 0.25 is 0.2 in binary)
    assert payback_period(50.0, [200.0]) == round(0.25, 1)
    # exactly at the end of month 2
    assert payback_period(300.0, [150.0, 150.0, 10.0]) == 2.0
    # zero-profit months count as time passing
    assert payback_period(100.0, [0.0, 0.0, 100.0]) == 3.0


def test_payback_not_reached_and_nothing_to_pay_back():
    assert payback_period(1_000.0, [100.0, 200.0]) == NOT_REACHED
    assert payback_period(1_000.0, []) == NOT_REACHED
    assert payback_period(0.0, [100.0]) is None


def test_model_spread_and_interval_width():
    assert model_spread([80.0, 100.0, 120.0]) == pytest.approx(0.4)
    assert model_spread([100.0]) is None
    assert model_spread([0.0, 0.0]) is None
    assert interval_width(90.0, 130.0, 100.0) == pytest.approx(0.4)
    assert interval_width(0.0, 0.0, 0.0) is None


@pytest.mark.parametrize(
    ("conversions", "spread", "width", "level"),
    [
        (40, 0.10, 0.20, "high"),
        (40, 0.40, 0.20, "medium"),  # models disagree somewhat
        (15, 0.10, 0.20, "medium"),  # few conversions
        (40, 0.10, 0.80, "low"),  # wide interval
        (5, 0.10, 0.20, "low"),  # too few conversions
        (0, None, None, "low"),
        (40, None, None, "high"),  # only the available signal counts
    ],
)
def test_confidence_levels(conversions, spread, width, level):
    got, reason = confidence_level(conversions, spread, width)
    assert got == level
    assert reason


def test_confidence_reason_names_the_weak_signal():
    level, reason = confidence_level(40, 0.72, 0.2)
    assert level == "low" and "models differ by 72%" in reason and "conversions" not in reason
    level, reason = confidence_level(40, None, 0.2)
    assert "model agreement not available" in reason


def test_roi_record_puts_the_formulas_together():
    row = roi_record(
        media_spend=1_000.0,
        campaign_costs=1_300.0,
        operational_costs=600.0,
        opportunity_costs=1_000.0,
        attributed_revenue=10_000.0,
        attributed_conversions=2.0,
        monthly_gross_profit=[5_000.0],
        spread=None,
        width=None,
    )
    assert row["total_investment"] == 2_900.0
    assert row["net_revenue"] == 7_100.0
    assert row["roi_percentage"] == 244.83
    assert row["roas"] == 10.0
    assert row["cac"] == 1_450.0
    assert row["payback_months"] == 0.6 and row["payback_period"] == "0.6"


def test_opportunity_cost_assumption():
    assert OpportunityCostAssumption(10.0, 50.0).cost(3.0) == 1_500.0
    with pytest.raises(RevLensError, match="negative"):
        OpportunityCostAssumption(-1.0, 50.0)


def test_budget_status_by_hand():
    # began Jan 1, as of Jan 10: 10 days elapsed, 1000 spent -> 100 / day; 21 days remain to Jan 31
    status = budget_status(2_500.0, 1_000.0, date(2026, 1, 1), date(2026, 1, 31), date(2026, 1, 1), date(2026, 1, 10))
    assert status["status"] == "active"
    assert status["burn_rate_per_day"] == 100.0
    assert status["burn_rate_per_month"] == pytest.approx(100.0 * DAYS_PER_MONTH)
    assert status["projected_spend"] == 1_000.0 + 100.0 * 21
    assert status["consumption_pct"] == 40.0
    assert status["run_out_date"] == date(2026, 1, 25)  # day 25 reaches 2500
    assert status["over_budget"] is True


def test_budget_status_within_budget_has_no_run_out_date():
    status = budget_status(10_000.0, 1_000.0, date(2026, 1, 1), date(2026, 1, 31), None, date(2026, 1, 10))
    assert status["projected_spend"] == 3_100.0
    assert status["run_out_date"] is None
    assert status["over_budget"] is False


def test_budget_status_counts_from_an_early_first_cost_and_stops_at_the_end():
    # costs booked on Jan 1 for a campaign starting Jan 5; ended Jan 31, seen on Mar 1
    status = budget_status(3_000.0, 3_100.0, date(2026, 1, 5), date(2026, 1, 31), date(2026, 1, 1), date(2026, 3, 1))
    assert status["status"] == "ended"
    assert status["burn_rate_per_day"] == 100.0  # 3100 over the 31 days Jan 1..31
    assert status["projected_spend"] == 3_100.0
    assert status["run_out_date"] == date(2026, 1, 30)
    assert status["over_budget"] is True


def test_budget_status_not_started():
    status = budget_status(5_000.0, 0.0, date(2026, 6, 1), date(2026, 6, 30), None, date(2026, 5, 1))
    assert status["status"] == "not started"
    assert status["burn_rate_per_day"] is None and status["projected_spend"] is None
    assert status["over_budget"] is False
