"""The ROI drill-down takes its credit from the attribution engine: by hand on the hand warehouse,
and equal to the engine's credit of the campaign under every model on the demo."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.attribution.engine import attribute
from analytics.attribution.models import MODELS
from analytics.finance.drilldown import campaign_deals
from tests.attribution.test_attribution import DECAY, hand_db  # noqa: F401  (the hand warehouse, raw and loaded)

START, END = date(2026, 1, 1), date(2026, 3, 31)

# K02 (paid_search) touched only O1 (1000) in the lookback: its 3rd of 5 touches, the lead-creation touch.
# K01 (email) touched O1 (its first touch) and O3 (300; the later of two touches at one second).
HAND = {
    ("K02", "linear"): {"O1": 1000 / 5},
    ("K02", "first_touch"): {"O1": 0.0},
    ("K02", "last_touch"): {"O1": 0.0},
    ("K02", "position_based"): {"O1": 1000 * 0.2 / 3},
    ("K02", "w_shaped"): {"O1": 1000 * 0.3},
    ("K02", "full_path"): {"O1": 1000 * 0.225},
    ("K02", "time_decay"): {"O1": 1000 * DECAY["paid_search"] / sum(DECAY.values())},
    ("K01", "linear"): {"O1": 1000 / 5, "O3": 300 / 2},
    ("K01", "first_touch"): {"O1": 1000.0, "O3": 0.0},
    ("K01", "last_touch"): {"O1": 0.0, "O3": 300.0},
    ("K01", "last_non_direct"): {"O1": 0.0, "O3": 300.0},
    ("K01", "w_shaped"): {"O1": 300.0, "O3": 150.0},
}


@pytest.mark.parametrize(("campaign", "model"), list(HAND))
def test_drill_down_credit_by_hand(hand_db, campaign, model):  # noqa: F811
    deals = campaign_deals(hand_db, campaign, START, END, model=model)
    assert deals.columns == [
        "opportunity_id",
        "deal",
        "account",
        "amount",
        "close_date",
        "campaign_touches",
        "all_touches",
        "touch_share",
        "credit",
    ]
    assert dict(zip(deals["opportunity_id"], deals["credit"])) == pytest.approx(HAND[campaign, model])
    engine = attribute(hand_db, [model], by="campaign", close_from=START, close_to=END)
    expected = engine.filter(pl.col("campaign") == campaign)["attributed_revenue"].sum()
    assert deals["credit"].sum() == pytest.approx(expected)


def test_drill_down_touch_counts_by_hand(hand_db):  # noqa: F811
    deals = campaign_deals(hand_db, "K01", START, END)
    assert deals.select("opportunity_id", "amount", "close_date", "campaign_touches", "all_touches").rows() == [
        ("O1", 1000.0, date(2026, 1, 31), 1, 5),
        ("O3", 300.0, date(2026, 3, 1), 1, 2),
    ]
    assert deals["touch_share"].to_list() == [0.2, 0.5]


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_a_chain_models_credit_is_split_over_deals_like_linear_credit(hand_db, model):  # noqa: F811
    linear = campaign_deals(hand_db, "K01", START, END, model="linear")
    chain = campaign_deals(hand_db, "K01", START, END, model=model)
    engine = attribute(hand_db, [model], by="campaign", close_from=START, close_to=END)
    total = engine.filter(pl.col("campaign") == "K01")["attributed_revenue"].sum()
    assert total > 0
    assert chain["credit"].sum() == pytest.approx(total)
    assert (chain["credit"] / total).to_list() == pytest.approx((linear["credit"] / linear["credit"].sum()).to_list())


@pytest.fixture(scope="module")
def demo(demo_db):
    from analytics.warehouse.connection import connect

    con = connect(demo_db, read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("model", MODELS)
def test_drill_down_adds_up_to_the_engines_credit_on_the_demo(demo, model):
    start, end = date(2026, 4, 1), date(2026, 6, 30)
    engine = attribute(demo, [model], by="campaign", close_from=start, close_to=end)
    for campaign in ("CMP001", "CMP006", "CMP021"):
        deals = campaign_deals(demo, campaign, start, end, model=model)
        expected = engine.filter(pl.col("campaign") == campaign)["attributed_revenue"].sum()
        assert deals.height > 0
        assert deals["credit"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-6)


Q3_START, Q3_END = date(2026, 7, 1), date(2026, 9, 30)  # the report tests' quarter


def test_drill_down_deals_reproduce_the_linear_credit(demo):
    credited = attribute(demo, ["linear"], by="campaign", close_from=Q3_START, close_to=Q3_END)
    for campaign in ("CMP001", "CMP006", "CMP021"):
        deals = campaign_deals(demo, campaign, Q3_START, Q3_END)
        expected = credited.filter(pl.col("campaign") == campaign)["attributed_revenue"].sum()
        assert deals.height > 0
        assert deals["credit"].sum() == pytest.approx(expected)
        assert (deals["touch_share"] > 0).all() and (deals["touch_share"] <= 1).all()
