"""The segment filter of attribution, and credit per deal and per contact: invariants on the demo warehouse."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.attribution.engine import (
    UNATTRIBUTED,
    attribute,
    contact_credits,
    deal_key_credits,
    journeys_with,
    top_paths,
)
from analytics.attribution.window import JourneyWindow
from analytics.core.errors import RevLensError

START, END = date(2026, 4, 1), date(2026, 9, 30)
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")


def _won_by_segment(con) -> dict[str, tuple[int, float]]:
    rows = con.execute(
        """
        select a.segment, count(*), sum(o.amount)
        from opportunities as o
        join accounts as a on a.account_id = coalesce(o.account_id, (
            select c.account_id from contacts as c where c.contact_id = o.contact_id))
        where o.is_closed_won and o.close_date between ? and ?
        group by a.segment
        """,
        [START, END],
    ).fetchall()
    return {segment: (n, revenue) for segment, n, revenue in rows}


@pytest.mark.parametrize("models", [["linear", "first_touch", "w_shaped"], ["markov"], ["shapley"]])
def test_a_segment_credits_exactly_the_won_deals_of_its_accounts(demo, models):
    won = _won_by_segment(demo)
    everything = attribute(demo, models, by="channel", close_from=START, close_to=END)
    per_segment = 0.0
    for segment in SEGMENTS:
        credits = attribute(demo, models, by="channel", close_from=START, close_to=END, segments=(segment,))
        for model in models:
            rows = credits.filter(pl.col("model") == model)
            assert rows["attributed_conversions"].sum() == pytest.approx(won[segment][0])
            assert rows["attributed_revenue"].sum() == pytest.approx(won[segment][1], rel=1e-9)
        per_segment += credits.filter(pl.col("model") == models[0])["attributed_revenue"].sum()
    total = everything.filter(pl.col("model") == models[0])["attributed_revenue"].sum()
    assert per_segment == pytest.approx(total, rel=1e-9)  # the segments partition the deals
    two = attribute(demo, models[:1], by="channel", close_from=START, close_to=END, segments=("SMB", "Enterprise"))
    assert two["attributed_revenue"].sum() == pytest.approx(won["SMB"][1] + won["Enterprise"][1], rel=1e-9)


def test_the_segment_filter_changes_the_split_not_only_the_total(demo):
    smb = attribute(demo, ["linear"], by="channel", close_from=START, close_to=END, segments=("SMB",))
    enterprise = attribute(demo, ["linear"], by="channel", close_from=START, close_to=END, segments=("Enterprise",))
    share = {
        name: dict(zip(frame["channel"], frame["attributed_revenue"] / frame["attributed_revenue"].sum()))
        for name, frame in (("smb", smb), ("enterprise", enterprise))
    }
    assert share["smb"] != share["enterprise"]


def test_the_explorers_follow_the_segment(demo):
    window = JourneyWindow(by="channel", close_from=START, close_to=END, segments=("Enterprise",))
    paths = top_paths(demo, window, limit=1000)
    won = _won_by_segment(demo)
    assert paths["conversions"].sum() <= won["Enterprise"][0]
    deals = journeys_with(demo, "email", window, limit=None)
    segments = demo.execute(
        "select distinct a.segment from opportunities o join accounts a using (account_id) "
        "where list_contains(?, o.opportunity_id)",
        [deals["opportunity_id"].to_list()],
    ).fetchall()
    assert segments == [("Enterprise",)]


def test_segments_must_be_names():
    with pytest.raises(RevLensError, match="segment names"):
        JourneyWindow(segments="SMB")


@pytest.mark.parametrize("model", ["linear", "first_touch", "time_decay", "markov", "shapley"])
@pytest.mark.parametrize("account_level", [False, True])
def test_deal_credits_add_up_to_each_key_and_deal(demo, model, account_level):
    window = JourneyWindow(by="campaign", close_from=START, close_to=END, account_level=account_level)
    credits = attribute(demo, [model], window)
    per_deal = deal_key_credits(demo, model, window)
    by_key = per_deal.group_by("key").agg(pl.col("credited_revenue").sum())
    expected = dict(zip(credits["campaign"], credits["attributed_revenue"]))
    if model in ("markov", "shapley"):
        # chain credit of a key no won deal's journey touches (it feeds converting paths) is carried by no deal
        touched = set(by_key["key"])
        expected = {k: v for k, v in expected.items() if k in touched}
    for key, revenue in by_key.iter_rows():
        assert revenue == pytest.approx(expected[key], rel=1e-9, abs=1e-6)
    if model not in ("markov", "shapley"):
        amounts = dict(
            demo.execute(
                "select opportunity_id, amount from opportunities where list_contains(?, opportunity_id)",
                [per_deal["opportunity_id"].unique().to_list()],
            ).fetchall()
        )
        for opportunity, revenue in per_deal.group_by("opportunity_id").agg(pl.col("credited_revenue").sum()).rows():
            assert revenue == pytest.approx(amounts[opportunity], rel=1e-9)


@pytest.mark.parametrize("model", ["linear", "first_touch", "markov"])
def test_contact_credits_split_the_attributed_revenue(demo, model):
    window = JourneyWindow(by="campaign", close_from=START, close_to=END, account_level=True)
    credits = attribute(demo, [model], window).filter(pl.col("campaign") != UNATTRIBUTED)
    contacts = contact_credits(demo, model, window)
    expected = credits["attributed_revenue"].sum()
    if model == "markov":  # as per deal: only the keys some won deal's journey touches (see above)
        expected = deal_key_credits(demo, model, window)["credited_revenue"].sum()
        assert expected <= credits["attributed_revenue"].sum() + 1e-6
    assert contacts["credited_revenue"].sum() == pytest.approx(expected, rel=1e-9)
    assert contacts["contact_id"].n_unique() == contacts.height


def test_at_account_level_a_contacts_credit_depends_on_the_model(demo):
    window = JourneyWindow(by="campaign", close_from=START, close_to=END, account_level=True)
    linear = dict(contact_credits(demo, "linear", window).select("contact_id", "credited_revenue").rows())
    first = dict(contact_credits(demo, "first_touch", window).select("contact_id", "credited_revenue").rows())
    changed = [c for c in linear if abs(linear[c] - first.get(c, 0.0)) > 0.01]
    assert len(changed) > 10
    own = JourneyWindow(by="campaign", close_from=START, close_to=END)
    assert dict(contact_credits(demo, "linear", own).select("contact_id", "credited_revenue").rows()) == pytest.approx(
        dict(contact_credits(demo, "first_touch", own).select("contact_id", "credited_revenue").rows())
    )
