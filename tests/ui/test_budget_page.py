"""Finance → Budget page (AppTest on the small demo warehouse)."""

from __future__ import annotations

import pytest

PAGE = "pages/finance/budget.py"


@pytest.fixture()
def budget_page(app_test):
    at = app_test()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_advice_curves_backtest_scenarios_and_consumption(budget_page):
    at = budget_page
    assert at.title[0].value == "Budget"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Total budget", "Expected lift (attributed revenue)", "Backtest error (MAPE)"]
    assert "Regret vs the planted optimum" in labels
    subheaders = [s.value for s in at.subheader]
    for name in (
        "Before and after",
        "Response curves",
        "Risk flags",
        "Timeline",
        "Backtest",
        "Scenarios",
        "Budget consumption",
    ):
        assert name in subheaders
    before_after = next(d.value for d in at.dataframe if "optimized_spend" in d.value.columns)
    assert before_after["optimized_spend"].sum() == pytest.approx(before_after["current_spend"].sum(), abs=0.01)
    # save two scenarios and compare them side by side
    at.text_input(key="budget_scenario_name").input("Plan A").run()
    at.button(key="budget_save_scenario").click().run()
    at.number_input(key="budget_total").set_value(round(before_after["current_spend"].sum() * 0.9, 2)).run()
    at.text_input(key="budget_scenario_name").input("Plan B").run()
    at.button(key="budget_save_scenario").click().run()
    assert not at.exception and not at.error
    compare = at.multiselect(key="budget_compare")
    assert set(compare.options) == {"Plan A", "Plan B"}
    compare.set_value(["Plan A", "Plan B"]).run()
    assert any({"Plan A", "Plan B"} <= set(d.value.columns) for d in at.dataframe)  # side by side


def test_a_total_below_the_minimums_is_an_error_on_the_page(budget_page):
    at = budget_page
    at.number_input(key="budget_total").set_value(1.0).run()
    assert any("below the sum of the channels' minimums" in e.value for e in at.error)


def test_the_roi_page_no_longer_has_budget_consumption(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/finance/roi.py").run()
    assert "Budget consumption" not in [s.value for s in at.subheader]


def _before_after(at):
    return next(d.value for d in at.dataframe if "optimized_spend" in d.value.columns)


def test_the_two_target_questions_on_the_page(budget_page):
    at = budget_page
    first = _before_after(at)
    current_total = float(first["current_spend"].sum())
    current_revenue = float(first["current_revenue"].sum())
    # the least budget reaching 95% of today's expected revenue: less than today's total
    at.radio(key="budget_scenario").set_value("revenue_target").run()
    assert any("Enter the target" in i.value for i in at.info)
    target = round(current_revenue * 0.95, 2)
    at.number_input(key="budget_revenue_target").set_value(target).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    reached = _before_after(at)
    assert float(reached["expected_revenue"].sum()) >= target - 1.0
    assert float(reached["optimized_spend"].sum()) < current_total
    # the most revenue at today's ROAS: the optimum earns more per dollar, so it can spend more
    at.radio(key="budget_scenario").set_value("roas_target").run()
    roas = round(current_revenue / current_total, 2)
    at.number_input(key="budget_roas_target").set_value(roas).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    best = _before_after(at)
    spend, revenue = float(best["optimized_spend"].sum()), float(best["expected_revenue"].sum())
    assert revenue / spend >= roas - 1e-6
    assert revenue >= current_revenue


def test_the_gross_margin_setting_scales_the_ltv(budget_page):
    at = budget_page

    def ltv():
        frame = next(d.value for d in at.dataframe if "ltv" in d.value.columns and "mature_weeks" in d.value.columns)
        return dict(zip(frame["channel"], frame["ltv"]))

    before = ltv()
    assert at.number_input(key="budget_margin").value == pytest.approx(0.80)
    at.number_input(key="budget_margin").set_value(0.40).run()
    assert not at.exception and not at.error
    after = ltv()
    known = [ch for ch, v in before.items() if v == v and v is not None]
    assert known
    for ch in known:
        assert after[ch] == pytest.approx(before[ch] / 2)
