"""Finance → ROI page (AppTest on the small demo warehouse)."""

from __future__ import annotations

import pytest

PAGE = "pages/finance/roi.py"


@pytest.fixture()
def roi_page(app_test):
    at = app_test()
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_kpis_table_charts_and_drill_down(roi_page):
    at = roi_page
    assert at.title[0].value == "Campaign ROI"
    kpis = metrics(at)
    assert set(kpis) == {"Total investment", "Attributed revenue", "Net revenue", "ROI", "ROAS", "CAC"}
    assert kpis["ROI"].endswith("%") and "inf" not in kpis["ROI"].lower()
    # ROI table, cost lines, attributed deals (budget consumption moved to the Budget page)
    assert len(at.dataframe) == 3
    assert at.selectbox(key="roi_campaign").value is not None
    assert any("Cost lines" in m.value for m in at.markdown)
    assert any("Closed-won deals" in m.value for m in at.markdown)
    assert [s.value for s in at.subheader] == [
        "From investment to net",
        "ROI against spend",
        "Campaign drill-down",
    ]


def column(at, name: str) -> list:
    return list(at.dataframe[0].value[name])


def test_model_and_allocation_change_the_numbers(roi_page):
    at = roi_page
    revenue, investment = column(at, "attributed_revenue"), column(at, "total_investment")
    at.selectbox(key="roi_model").set_value("first_touch").run()
    assert not at.exception and not at.error
    # another model moves credit between campaigns (the total closed-won revenue stays)
    assert column(at, "attributed_revenue") != revenue
    before = metrics(at)
    by_campaign = column(at, "total_investment")
    at.selectbox(key="roi_allocation").set_value("time_based").run()
    assert not at.exception and not at.error
    # allocation moves overhead between campaigns, not the total
    assert metrics(at)["Total investment"] == before["Total investment"]
    assert column(at, "total_investment") != by_campaign
    assert investment


def test_month_period_and_channel_rows(roi_page):
    at = roi_page
    at.segmented_control(key="roi_period_kind").set_value("Month").run()
    assert not at.exception
    months = at.selectbox(key="roi_month").options
    at.selectbox(key="roi_month").set_value(months[-1]).run()  # the oldest month: no previous data
    assert not at.exception and not at.error
    at.segmented_control(key="roi_by").set_value("channel").run()
    assert not at.exception and not at.error
    rows = at.dataframe[0].value
    assert "campaign_id" not in rows.columns and 1 <= len(rows) <= 9
    assert set(rows["channel"]) <= {
        "email",
        "paid_search",
        "paid_social",
        "organic_search",
        "webinar",
        "events",
        "display",
        "direct",
        "(none)",
    }


def test_channel_filter_narrows_every_view(roi_page):
    at = roi_page
    everything = metrics(at)["Total investment"]
    at.multiselect(key="f_channels").select("email").run()
    assert not at.exception and not at.error
    assert set(at.dataframe[0].value["channel"]) == {"email"}
    assert metrics(at)["Total investment"] != everything


@pytest.mark.parametrize("model", ["linear", "first_touch", "markov"])
def test_the_drill_down_credits_the_deals_with_the_chosen_model(roi_page, model):
    at = roi_page
    at.selectbox(key="roi_model").set_value(model).run()
    assert not at.exception and not at.error
    campaign = at.selectbox(key="roi_campaign").value
    table = at.dataframe[0].value
    attributed = float(table.loc[table["campaign_id"] == campaign, "attributed_revenue"].iloc[0])
    deals = at.dataframe[2].value
    assert "credit" in deals.columns and "linear_credit" not in deals.columns
    assert len(deals) > 0
    assert float(deals["credit"].sum()) == pytest.approx(attributed, rel=1e-9, abs=1e-6)
    label = {"linear": "Linear", "first_touch": "First touch", "markov": "Markov chain"}[model]
    assert any(f"Credit: the campaign's share of each deal under {label}" in c.value for c in at.caption)
