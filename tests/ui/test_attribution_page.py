"""The Attribution page on the demo warehouse: figures match the engine, widgets change them."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from analytics.attribution.engine import attribute
from analytics.core.money import money
from analytics.core.numbers import count
from analytics.warehouse.connection import connect

PAGE = "pages/marketing/attribution.py"


def _open(app_test, start: str = "2026-01-01", end: str = "2026-06-30"):
    at = app_test()
    at.query_params["from"] = start
    at.query_params["to"] = end
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture()
def page(app_test):
    return _open(app_test)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _shares(at):
    return at.get_by_key("attr_shares").value


def test_page_totals_match_the_engine_for_the_filter_window(page, demo_db):
    assert page.title[0].value == "Attribution"
    con = connect(demo_db, read_only=True)
    try:
        credits = attribute(con, ["linear"], close_from=date(2026, 1, 1), close_to=date(2026, 6, 30))
    finally:
        con.close()
    assert _metric(page, "Revenue") == money(credits["attributed_revenue"].sum())
    assert _metric(page, "Conversions") == count(credits["attributed_conversions"].sum())
    shares = _shares(page)
    assert {"channel", "markov", "shapley", "linear"} <= set(shares.columns)
    assert "organic_search" not in set(shares["channel"]) and "Organic search" in set(shares["channel"])  # labels
    # every model's shares add up to 100%
    for model in ("linear", "markov", "shapley"):
        assert pl.from_pandas(shares)[model].sum() == pytest.approx(1.0, abs=1e-9)


def test_changing_dimension_and_models(page):
    page.multiselect(key="attr_models").set_value(["first_touch", "w_shaped"]).run()
    page.segmented_control(key="attr_by").set_value("campaign").run()
    assert not page.exception, [e.value for e in page.exception]
    shares = _shares(page)
    assert list(shares.columns) == ["campaign", "first_touch", "w_shaped", "key_id"]  # names, the id beside them
    assert (
        shares["campaign"].str.startswith("CMP").sum() == 0
        and shares["key_id"].str.match(r"^(CMP\d+|\(unattributed\))$").all()
    )


def test_drill_down_and_timeline(page):
    drill = page.selectbox(key="attr_drill")
    drill.set_value("webinar").run()
    assert not page.exception, [e.value for e in page.exception]
    assert page.query_params["drill"] == "webinar"  # the drilled view is in the URL
    journeys = page.get_by_key("attr_drill_journeys").value
    assert len(journeys) > 0
    assert journeys["path"].str.contains("Webinar").all()
    contact = page.selectbox(key="attr_contact").value
    timeline = page.dataframe[-1].value
    assert len(timeline) >= journeys[journeys["contact_id"] == contact]["touches"].iloc[0]
    page.button(key="attr_back").click().run()  # the back link
    assert page.selectbox(key="attr_drill").value is None and "drill" not in page.query_params


def test_the_segment_filter_keeps_the_deals_of_its_accounts(page, demo_db):
    everything = _metric(page, "Revenue")
    page.multiselect(key="f_segments").select("Enterprise").run()
    assert not page.exception, [e.value for e in page.exception]
    con = connect(demo_db, read_only=True)
    try:
        credits = attribute(
            con, ["linear"], close_from=date(2026, 1, 1), close_to=date(2026, 6, 30), segments=("Enterprise",)
        )
    finally:
        con.close()
    assert _metric(page, "Revenue") == money(credits["attributed_revenue"].sum()) != everything


def test_the_channel_filter_highlights_and_totals_still_conserve(page):
    everything = _metric(page, "Revenue")
    page.multiselect(key="f_channels").select("email").run()
    assert not page.exception, [e.value for e in page.exception]
    assert _metric(page, "Revenue") == everything  # every channel still splits the whole revenue
    assert "Highlighted" in {m.label for m in page.metric}
    bars = json.loads(page.get("plotly_chart")[0].proto.spec)["data"][0]
    lit = [x for x, o in zip(bars["x"], bars["marker"]["opacity"]) if o == 1.0]
    assert lit == ["Email"]


def test_no_models_asks_for_one(page):
    page.multiselect(key="attr_models").set_value([]).run()
    assert any("at least one model" in i.value for i in page.info)


def test_a_period_without_deals_says_so(app_test):
    at = _open(app_test, "2025-05-01", "2025-05-02")
    assert any("No closed-won deals" in i.value for i in at.info)


def test_stale_journey_tables_are_explained_and_give_the_same_figures(app_test, demo_db, tmp_path, monkeypatch, page):
    import shutil

    stale = tmp_path / "stale.duckdb"
    shutil.copy(demo_db, stale)
    con = connect(stale)
    con.execute("update _meta set value = 'changed by hand' where key = 'version'")  # as if edited without a load
    con.close()
    monkeypatch.setenv("REVLENS_DB", str(stale))
    at = _open(app_test)
    assert any("journey tables are missing or out of date" in i.value for i in at.info)
    assert not any("journey tables" in i.value for i in page.info)
    for name in ("Revenue", "Conversions"):
        assert _metric(at, name) == _metric(page, name)


def test_a_markov_chain_too_large_to_resample_is_said_and_drawn_without_error_bars(page, monkeypatch):
    from analytics.attribution import bootstrap

    monkeypatch.setattr(bootstrap, "MAX_BOOTSTRAP_STATES", 3)  # the channel chain has 9 states
    page.toggle(key="attr_intervals").set_value(True).run()  # intervals are opt-in
    lookback = page.number_input(key="attr_lookback")
    lookback.set_value(75).run()  # parameters not cached by another test
    assert not page.exception, [e.value for e in page.exception]
    assert any("No interval for Markov chain" in c.value for c in page.caption)
    bars = {bar["name"]: bar for bar in json.loads(page.get("plotly_chart")[0].proto.spec)["data"]}
    assert "array" not in bars["Markov chain"].get("error_y", {})
    assert len(bars["Linear"]["error_y"]["array"]) == 9
