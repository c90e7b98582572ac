"""What changes between models (rank and revenue per key) and what does not (the total): by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.attribution.compare import rank_changes, totals_agree
from analytics.attribution.engine import MODELS, attribute
from analytics.warehouse.connection import connect

# two models splitting the same 100: first touch favours email, linear paid search
CREDITS = pl.DataFrame(
    {
        "channel": ["email", "paid_search", "webinar", "(unattributed)"] * 2,
        "model": ["first_touch"] * 4 + ["linear"] * 4,
        "attributed_revenue": [60.0, 30.0, 10.0, 5.0, 20.0, 50.0, 30.0, 5.0],
    }
)


def test_rank_changes_by_hand():
    changes = rank_changes(CREDITS, "channel", model="linear", baseline="first_touch")
    assert changes.select("channel", "rank", "baseline_rank", "rank_change", "revenue_difference").rows() == [
        ("paid_search", 1, 2, 1, 20.0),  # 50 under linear (1st), 30 under first touch (2nd): up one place
        ("webinar", 2, 3, 1, 20.0),  # 30 vs 10
        ("email", 3, 1, -2, -40.0),  # 20 vs 60: down two places
    ]
    assert changes["revenue_difference"].sum() == pytest.approx(0.0)  # the same total, split differently
    assert changes["share"].to_list() == pytest.approx([0.5, 0.3, 0.2])


def test_ties_rank_by_key_and_a_key_one_model_does_not_credit_ranks_last():
    credits = pl.DataFrame(
        {
            "channel": ["b", "a", "a", "c"],
            "model": ["linear", "linear", "markov", "markov"],
            "attributed_revenue": [10.0, 10.0, 12.0, 8.0],
        }
    )
    changes = rank_changes(credits, "channel", model="linear", baseline="markov")
    assert changes.select("channel", "rank", "baseline_rank", "revenue", "baseline_revenue").rows() == [
        ("a", 1, 1, 10.0, 12.0),
        ("b", 2, 3, 10.0, 0.0),  # markov does not credit b: after its two keys
        ("c", 3, 2, 0.0, 8.0),  # linear does not credit c: after its two keys
    ]


def test_totals_agree():
    assert totals_agree(CREDITS)
    assert not totals_agree(CREDITS.with_columns(pl.col("attributed_revenue") * pl.int_range(1, 9)))


def test_every_model_splits_the_same_total_on_the_demo(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        credits = attribute(con, MODELS, by="campaign", close_from=date(2026, 4, 1), close_to=date(2026, 9, 30))
    finally:
        con.close()
    assert totals_agree(credits)
    changes = rank_changes(credits, "campaign", model="markov", baseline="linear")
    assert changes["revenue_difference"].sum() == pytest.approx(0.0, abs=1e-3)
    assert (changes["rank_change"] != 0).any()  # what does change


def test_a_readable_timeline_names_events_campaigns_and_deals():
    from datetime import datetime

    from analytics.customers.timeline import readable_timeline

    timeline = pl.DataFrame(
        {
            "ts": [datetime(2026, 1, 1), datetime(2026, 1, 2), datetime(2026, 2, 1), datetime(2026, 3, 1)],
            "source": ["touchpoint", "email", "opportunity", "opportunity"],
            "event": ["webinar_attended", "open", "created", "closedwon"],
            "channel": ["webinar", "email", None, None],
            "campaign_id": ["K1", "K1", None, None],
            "detail": ["engagement 0.5", None, "O1 Atlas renewal", "O1 amount 1200.0"],
        }
    )
    shown = readable_timeline(timeline, {"K1": "Spring Webinar"})
    assert shown.select("source", "event", "channel", "campaign", "detail").rows() == [
        ("Touchpoint", "Webinar attended", "Webinar", "Spring Webinar", "engagement 0.5"),
        ("Email", "Opened", "Email", "Spring Webinar", None),
        ("Deal", "Created", None, None, "Atlas renewal"),
        ("Deal", "Closed won", None, None, "Amount $1,200"),
    ]
