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
