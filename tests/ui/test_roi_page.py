"""Finance → ROI page (AppTest on the small demo warehouse): one period (the filter bar's), names, the model sentence,
rank changes against a baseline, and the drill-down a click (or a link) opens."""

from __future__ import annotations

import duckdb
import pytest

from analytics.core.labels import label

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


def rows(at, key: str = "roi_table"):
    return at.get_by_key(key).value


def drill(at, campaign: str | None = None) -> str:
    """Open a campaign's drill-down (as a click on its row does: the selectbox's value)."""
    chooser = at.selectbox(key="roi_campaign")
    campaign = campaign or chooser.options and rows(at)["campaign_id"].iloc[0]
    chooser.set_value(campaign).run()
    assert not at.exception and not at.error
    return campaign


def test_kpis_table_charts_and_drill_down(roi_page, demo_db):
    at = roi_page
    assert at.title[0].value == "Campaign ROI"
    kpis = metrics(at)
    assert set(kpis) == {"Total investment", "Attributed revenue", "Net revenue", "ROI", "ROAS", "CAC"}
    assert kpis["ROI"].endswith("%") and "inf" not in kpis["ROI"].lower()
    assert at.selectbox(key="roi_campaign").value is None  # no drill-down until one is chosen
    assert [s.value for s in at.subheader][:3] == [
        "From investment to net",
        "ROI against spend",
        "What changes between models",
    ]
    table = rows(at)
    assert table["campaign_name"].str.match(r"^CMP\d+$").sum() == 0  # names, the id in its own column
    campaign = drill(at)
    assert at.query_params["campaign"] == campaign  # the drilled view is in the URL
    con = duckdb.connect(demo_db, read_only=True)
    try:
        (name,) = con.execute("select name from campaigns where campaign_id = ?", [campaign]).fetchone()
    finally:
        con.close()
    assert at.subheader[0].value == name
    assert len(at.dataframe) == 2  # the drill-down replaces the page: its cost lines and its deals
    at.button(key="roi_back").click().run()  # the back link
    assert at.selectbox(key="roi_campaign").value is None and "campaign" not in at.query_params


def test_the_page_says_what_the_model_cannot_change(roi_page):
    at = roi_page
    before = metrics(at)
    revenue = list(rows(at)["attributed_revenue"])
    at.selectbox(key="roi_model").set_value("first_touch").run()
    assert not at.exception and not at.error
    after = metrics(at)
    assert after["Attributed revenue"] == before["Attributed revenue"] and after["ROI"] == before["ROI"]
    assert list(rows(at)["attributed_revenue"]) != revenue  # the campaigns' shares move
    assert any("total attributed revenue and total ROI are the same" in c.value for c in at.caption)
    changes = rows(at, "roi_rank_changes")
    assert {"rank", "baseline_rank", "moved", "revenue_difference"} <= set(changes.columns)
    assert changes["revenue_difference"].sum() == pytest.approx(0, abs=0.01)  # credit moves, the total stays
    assert any("rank differently" in c.value for c in at.caption)


def test_allocation_moves_overhead_not_the_total(roi_page):
    at = roi_page
    before = metrics(at)
    by_campaign = list(rows(at)["total_investment"])
    at.selectbox(key="roi_allocation").set_value("time_based").run()
    assert not at.exception and not at.error
    assert metrics(at)["Total investment"] == before["Total investment"]
    assert list(rows(at)["total_investment"]) != by_campaign


def test_the_period_is_the_filter_bars(roi_page):
    at = roi_page
    quarter = at.selectbox(key="f_period").options[1]  # a whole quarter of the data (newest first)
    before = metrics(at)
    at.selectbox(key="f_period").set_value(quarter).run()
    assert not at.exception and not at.error
    assert any(c.value.startswith(quarter) for c in at.caption)  # reported as the quarter, vs the one before
    assert metrics(at) != before
    at.segmented_control(key="roi_by").set_value("channel").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value  # channel rows are not clickable (no key in the test)
    assert "campaign_id" not in table.columns and 1 <= len(table) <= 9
    assert set(table["channel"]) <= {label("channel", c) for c in ("email", "paid_search", "paid_social")} | {
        label("channel", c) for c in ("organic_search", "webinar", "events", "display", "direct", "(none)")
    }


def test_channel_filter_narrows_every_view_and_segment_says_why_not(roi_page):
    at = roi_page
    everything = metrics(at)["Total investment"]
    at.multiselect(key="f_channels").select("email").run()
    assert not at.exception and not at.error
    assert set(rows(at)["channel"]) == {"Email"}
    assert metrics(at)["Total investment"] != everything
    segment = at.multiselect(key="f_segments")
    assert segment.disabled and "campaign costs have no segment" in segment.help


@pytest.mark.parametrize("model", ["linear", "first_touch", "markov"])
def test_the_drill_down_credits_the_deals_with_the_chosen_model(roi_page, model):
    at = roi_page
    at.selectbox(key="roi_model").set_value(model).run()
    assert not at.exception and not at.error
    table = rows(at)
    campaign = drill(at)
    attributed = float(table.loc[table["campaign_id"] == campaign, "attributed_revenue"].iloc[0])
    deals = at.dataframe[1].value  # the drill-down's cost lines, then its deals
    assert "credit" in deals.columns and len(deals) > 0
    assert float(deals["credit"].sum()) == pytest.approx(attributed, rel=1e-9, abs=1e-6)
    assert any(
        f"Credit: the campaign's share of each deal under {label('model', model)}" in c.value for c in at.caption
    )


def test_a_shared_link_opens_the_drill_down(app_test):
    at = app_test()
    at.run()
    at.switch_page(PAGE).run()
    campaign = rows(at)["campaign_id"].iloc[1]
    at.query_params["campaign"] = campaign
    at.run()
    assert not at.exception
    assert at.selectbox(key="roi_campaign").value == campaign
