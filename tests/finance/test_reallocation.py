"""Budget reallocation: curves by hand, the fit, the optimizer against brute force and its
optimality conditions, the target scenarios, the user's curves file, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analytics.core.errors import RevLensError
from analytics.finance.reallocation.curves import HillCurve, HillFit, ResponseCurve, geometric_adstock, hill
from analytics.finance.reallocation.optimizer import (
    best_at_roas,
    kkt_check,
    minimum_budget,
    optimize,
    to_cents,
)
from analytics.finance.reallocation.userfile import parse_curves

# --------------------------------------------------------------------------- curves by hand


def test_hill_by_hand():
    curve = HillCurve(beta=1000.0, alpha=2.0, kappa=10.0)
    assert isinstance(curve, ResponseCurve)
    assert float(curve.value(10.0)) == pytest.approx(500.0)  # r(kappa) = beta / 2
    assert float(curve.value(20.0)) == pytest.approx(1000 * 400 / 500)  # 20^2 / (10^2 + 20^2)
    assert float(curve.value(0.0)) == 0.0
    # r'(s) = beta alpha kappa^a s^(a-1) / (kappa^a + s^a)^2 = 1000 * 2 * 100 * 20 / 500^2 = 16
    assert float(curve.marginal(20.0)) == pytest.approx(16.0)
    h = 1e-4
    assert float(curve.marginal(7.0)) == pytest.approx(
        float(curve.value(7 + h) - curve.value(7 - h)) / (2 * h), rel=1e-6
    )


def test_plan_period_curve_is_n_times_the_weekly_one():
    weekly = HillCurve(5000.0, 0.8, 1200.0)
    quarter = weekly.over_weeks(13)
    for total in (100.0, 13_000.0, 90_000.0):
        assert float(quarter.value(total)) == pytest.approx(13 * float(weekly.value(total / 13)))
    assert (quarter.beta, quarter.alpha, quarter.kappa) == pytest.approx((65_000.0, 0.8, 15_600.0))


def test_geometric_adstock_by_hand():
    carried = geometric_adstock(np.array([100.0, 0.0, 0.0, 40.0]), 0.5)
    # a0 = x0; a_t = 0.5 x_t + 0.5 a_{t-1}
    assert carried.tolist() == [100.0, 50.0, 25.0, 32.5]
    rows = geometric_adstock(np.array([100.0, 0.0]), np.array([0.0, 0.5]))
    assert rows.tolist() == [[100.0, 0.0], [100.0, 50.0]]


def test_hill_curve_refuses_bad_parameters():
    with pytest.raises(RevLensError, match="kappa must be a positive number"):
        HillCurve(1.0, 1.0, -3.0)


# --------------------------------------------------------------------------- the fit


@pytest.mark.parametrize("adstock", [False, True])
def test_the_fit_recovers_a_known_curve(adstock):
    rng = np.random.default_rng(4)
    spend = rng.uniform(2_000, 40_000, 78)
    carried = geometric_adstock(spend, 0.4) if adstock else spend
    revenue = hill(carried, 250_000.0, 1.4, 15_000.0) * rng.lognormal(0, 0.05, 78)
    fit = HillFit(adstock=adstock, n_boot=60, seed=1).fit(spend, revenue)
    assert fit is fit.fit(spend, revenue)  # fit returns self
    assert fit.alpha_ == pytest.approx(1.4, rel=0.15)
    assert fit.kappa_ == pytest.approx(15_000.0, rel=0.15)
    assert fit.beta_ == pytest.approx(250_000.0, rel=0.15)
    assert fit.r2_ > 0.9
    if adstock:
        assert fit.theta_ == pytest.approx(0.4, abs=0.08)
    low, high = fit.intervals_["kappa"]
    assert low <= fit.kappa_ <= high
    assert fit.boot_.shape == (60, 4)


def test_a_fit_without_revenue_says_why():
    with pytest.raises(RevLensError, match="needs some attributed revenue"):
        HillFit(n_boot=0).fit(np.full(10, 100.0), np.zeros(10))


# --------------------------------------------------------------------------- the optimizer


def _random_problem(rng, n, shapes=(0.4, 2.5)):
    curves = [
        HillCurve(float(rng.uniform(1e5, 1e6)), float(rng.uniform(*shapes)), float(rng.uniform(1e4, 1e5)))
        for _ in range(n)
    ]
    current = rng.uniform(1e4, 8e4, n)
    lower, upper = current * 0.7, current * 1.3
    total = float(np.clip(current.sum() * rng.uniform(0.85, 1.15), lower.sum(), upper.sum()))
    return curves, lower, upper, total


def _brute_force_3(curves, lower, upper, total, points=401):
    a = np.linspace(lower[0], upper[0], points)
    b = np.linspace(lower[1], upper[1], points)
    first, second = np.meshgrid(a, b)
    third = total - first - second
    feasible = (third >= lower[2]) & (third <= upper[2])
    value = curves[0].value(first) + curves[1].value(second) + curves[2].value(np.clip(third, 0, None))
    return float(np.where(feasible, value, -np.inf).max())


@pytest.mark.parametrize("seed", range(12))
def test_optimizer_beats_a_brute_force_grid_on_three_channels(seed):
    rng = np.random.default_rng(seed)
    curves, lower, upper, total = _random_problem(rng, 3)
    result = optimize(curves, total, lower, upper)
    assert result.spend.sum() == pytest.approx(total, abs=1e-6)
    assert np.all(result.spend >= lower - 1e-6) and np.all(result.spend <= upper + 1e-6)
    assert result.value >= _brute_force_3(curves, lower, upper, total) * (1 - 1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_equal_marginal_return_at_the_optimum_on_random_cases(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 12))
    curves, lower, upper, total = _random_problem(rng, n)
    weights = rng.uniform(0.5, 3.0, n)
    result = optimize(curves, total, lower, upper, weights)
    assert kkt_check(curves, result, lower, upper, weights) == []
    free = [m for m, s in zip(result.marginal, result.status) if s == "free"]
    if len(free) > 1:
        assert max(free) == pytest.approx(min(free), rel=1e-4)
    # an optimum beats every feasible neighbour: move a little between any two channels
    for i in range(n):
        for j in range(n):
            step = 1e-3 * total
            if i == j or result.spend[i] + step > upper[i] or result.spend[j] - step < lower[j]:
                continue
            moved = result.spend.copy()
            moved[i] += step
            moved[j] -= step
            value = sum(w * float(c.value(s)) for c, w, s in zip(curves, weights, moved))
            assert value <= result.value + 1e-9 * abs(result.value)


def test_the_allocation_sums_exactly_to_the_total_in_cents():
    rng = np.random.default_rng(7)
    curves, lower, upper, total = _random_problem(rng, 9)
    total = round(total, 2)
    result = optimize(curves, total, lower, upper)
    cents = to_cents(result.spend, total)
    assert sum(cents) == round(total * 100)
    assert to_cents([0.333, 0.333, 0.334], 1.0) == [33, 33, 34]


def test_a_locked_channel_keeps_its_spend():
    curves = [HillCurve(1e6, 0.8, 5e4), HillCurve(1e6, 0.8, 5e4), HillCurve(3e6, 0.8, 5e4)]
    current = np.array([40_000.0, 40_000.0, 40_000.0])
    lower, upper = current * 0.7, current * 1.3
    lower[2] = upper[2] = current[2]  # the best channel is locked
    result = optimize(curves, current.sum(), lower, upper)
    assert result.spend[2] == current[2] and result.status[2] == "fixed"
    assert result.spend[:2].sum() == pytest.approx(80_000.0)


def test_a_total_below_the_minimums_is_an_error_not_a_clip():
    curves = [HillCurve(1e6, 1.0, 5e4)] * 2
    with pytest.raises(RevLensError, match=r"below the sum of the channels' minimums \(\$60,000\)"):
        optimize(curves, 50_000.0, [30_000.0, 30_000.0], [50_000.0, 50_000.0])
    with pytest.raises(RevLensError, match="above what the channels' maximums allow"):
        optimize(curves, 200_000.0, [30_000.0, 30_000.0], [50_000.0, 50_000.0])
    with pytest.raises(RevLensError, match="not a non-negative number"):
        optimize(curves, -5.0, [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(RevLensError, match="contradict each other"):
        optimize(curves, 60_000.0, [40_000.0, 30_000.0], [35_000.0, 50_000.0])


def test_minimum_budget_for_a_revenue_target():
    rng = np.random.default_rng(11)
    curves, lower, upper, _ = _random_problem(rng, 4, shapes=(0.5, 1.0))
    top = optimize(curves, float(upper.sum()), lower, upper).value
    low = optimize(curves, float(lower.sum()), lower, upper).value
    target = 0.5 * (top + low)
    result = minimum_budget(curves, target, lower, upper)
    assert result.value >= target
    below = optimize(curves, float(result.spend.sum()) - 1.0, lower, upper)  # a dollar less misses it
    assert below.value < target
    with pytest.raises(RevLensError, match="out of reach within the bounds"):
        minimum_budget(curves, top * 1.5, lower, upper)


def test_best_revenue_at_a_target_roas():
    rng = np.random.default_rng(12)
    curves, lower, upper, _ = _random_problem(rng, 4, shapes=(0.5, 1.0))
    roas_low = optimize(curves, float(lower.sum()), lower, upper).value / lower.sum()
    roas_high = optimize(curves, float(upper.sum()), lower, upper).value / upper.sum()
    target = 0.5 * (roas_low + roas_high)
    result = best_at_roas(curves, target, lower, upper)
    total = float(result.spend.sum())
    assert result.value / total >= target * (1 - 1e-9)
    more = optimize(curves, total + 10.0, lower, upper)  # any larger budget falls below the ROAS
    assert more.value / (total + 10.0) < target
    with pytest.raises(RevLensError, match="No total within the bounds reaches a ROAS"):
        best_at_roas(curves, roas_low * 10, lower, upper)


# --------------------------------------------------------------------------- the user's curves


def test_curves_file_csv_and_json():
    csv = "channel,beta,alpha,kappa,period_weeks\npaid_search,1850000,1.2,64000,1\nemail,420000,0.8,5200,4\n"
    curves = parse_curves(csv)
    assert set(curves) == {"paid_search", "email"}
    assert curves["email"].period_weeks == 4
    quarter = curves["email"].over_weeks(13)  # 13 weeks = 3.25 periods of 4 weeks
    assert (quarter.beta, quarter.kappa) == pytest.approx((420000 * 3.25, 5200 * 3.25))
    data = {"period_weeks": 1, "curves": {"email": {"beta": 10, "alpha": 1, "kappa": 5}}}
    assert parse_curves(json.dumps(data))["email"].curve.kappa == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("channel,beta,alpha\nemail,1,1\n", "lacks the column kappa"),
        ("channel,beta,alpha,kappa\nemail,abc,1,2\n", "beta 'abc' is not a number"),
        ("channel,beta,alpha,kappa\nemail,-1,1,2\n", "must be a positive number"),
        ("channel,beta,alpha,kappa\nemail,1,1,2\nemail,1,1,2\n", "appears twice"),
        ('{"curves": {"email": {"beta": 1}', "is not valid JSON"),
        ('{"curves": {"email": {"beta": 1, "alpha": 1}}}', "lacks kappa"),
        ("channel,kind,beta,alpha,kappa\nemail,logistic,1,1,2\n", "unknown curve kind 'logistic'"),
        ("", "is empty"),
    ],
)
def test_a_malformed_curves_file_says_what_to_fix(text, message):
    with pytest.raises(RevLensError, match=message):
        parse_curves(text)


# --------------------------------------------------------------------------- inputs on the tiny warehouse


def test_inputs_by_hand_on_the_tiny_warehouse(tiny):
    """tests/tiny.py's 2025 story: K1 (email) books 100 on Feb 1; K2 (paid_search) 40 on Jan 5
    and 250 on Feb 3. Each month's cost is spread over its days (31 in January, 28 in February)."""
    from datetime import date

    import polars as pl

    from analytics.finance.reallocation.inputs import channel_inputs, whole_weeks

    inputs = channel_inputs(tiny, date(2025, 1, 1), date(2025, 2, 28), gross_margin=0.75)
    assert inputs.weeks == whole_weeks(date(2025, 1, 1), date(2025, 2, 28))
    assert inputs.weeks[0] == date(2025, 1, 6) and inputs.weeks[-1] == date(2025, 2, 17)
    spend = {(r["channel"], r["week"]): r["spend"] for r in inputs.weekly.iter_rows(named=True)}
    # the week of Jan 27: five January days and two February days
    assert spend[("paid_search", date(2025, 1, 27))] == pytest.approx(40 * 5 / 31 + 250 * 2 / 28)
    assert spend[("email", date(2025, 1, 27))] == pytest.approx(100 * 2 / 28)
    assert spend[("email", date(2025, 2, 3))] == pytest.approx(25.0)
    # O2 (5,000, won Jan 20) credits its one touch, paid_search on Jan 6: that week's revenue
    weekly = inputs.weekly.filter(pl.col("attributed_revenue") > 0)
    assert weekly.select("channel", "week", "attributed_revenue").rows() == [("paid_search", date(2025, 1, 6), 5000.0)]
    # CAC = spend over the weeks / attributed conversions: 26 January and 23 February days
    assert inputs.cac["paid_search"] == pytest.approx(40 * 26 / 31 + 250 * 23 / 28)
    assert inputs.cac["email"] is None  # email's credited touch (Jan 5) is before the first week
    # LTV: email's O1 went to A1 (ARR 12,000, no churn: the 10-year cap); paid_search's O2 to A2
    # (ARR 100,000, churned Feb 15, 26 days after the close: 1 churn per 26/365.25 account-years)
    assert inputs.ltv["email"] == pytest.approx(12_000 * 0.75 * 10)
    assert inputs.churn_rate["paid_search"] == pytest.approx(365.25 / 26)
    assert inputs.ltv["paid_search"] == pytest.approx(100_000 * 0.75 * 26 / 365.25)
    assert inputs.ltv_multiple["paid_search"] == pytest.approx(0.75 * 26 / 365.25)
