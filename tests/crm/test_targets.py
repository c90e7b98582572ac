"""Targets pushed from the pages, on a warehouse small enough to check by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.crm.targets import (
    attribution_properties,
    attribution_targets,
    campaign_audience,
    deal_attribution_properties,
    deal_attribution_targets,
    frame_to_targets,
)
from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema


@pytest.fixture()
def con(tmp_path):
    con = connect(tmp_path / "tiny.duckdb")
    create_schema(con)
    con.execute(
        "insert into campaigns (campaign_id, name, channel) values "
        "('K1', 'Spring Webinar', 'webinar'), ('K2', 'Search Q1', 'paid_search')"
    )
    con.execute(
        "insert into contacts (contact_id, email, hubspot_id) values "
        "('c1', 'a@x.com', '101'), ('c2', 'b@x.com', '102'), ('c3', 'c@x.com', null), ('c4', 'd@x.com', '104')"
    )
    con.execute("""insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, ts, engagement_score) values
        ('t1', 'c1', 'K1', 'webinar', '2026-01-01 10:00', 0.2),
        ('t2', 'c1', 'K2', 'paid_search', '2026-02-20 10:00', 0.8),
        ('t3', 'c1', 'K1', 'webinar', '2026-03-05 10:00', 0.1),
        ('t4', 'c2', 'K2', 'paid_search', '2025-10-01 10:00', 0.9),
        ('t5', 'c2', 'K2', 'paid_search', '2026-02-01 10:00', null),
        ('t6', 'c3', 'K1', 'webinar', '2026-02-01 10:00', 0.5),
        ('t7', 'c4', 'K1', 'webinar', '2025-06-01 10:00', 0.5)""")
    con.execute("""insert into opportunities (opportunity_id, contact_id, amount, is_closed, is_closed_won, close_date) values
        ('o1', 'c1', 1000, true, true, '2026-03-01'),
        ('o2', 'c1', 500, true, true, '2026-01-15'),
        ('o3', 'c1', 700, true, false, '2026-02-01'),
        ('o4', 'c2', 2000, true, true, '2026-02-15'),
        ('o5', 'c3', 300, true, true, '2026-02-10'),
        ('o6', 'c4', 400, true, true, '2026-02-01'),
        ('o7', 'c2', 9999, true, true, '2026-05-01')""")
    yield con
    con.close()


def test_attributed_revenue_per_contact_by_hand(con):
    result = attribution_targets(con, date(2026, 1, 1), date(2026, 3, 31), lookback_days=90)
    # c1: o1 1000 (t1, t2 eligible) + o2 500 (t1, 14 days) = 1500; o3 lost. c2: o4 2000 (t5, 14 days; t4 is
    # 137 days before). c3 has no HubSpot id; c4's only touch is 245 days before its close; o7 closes in May.
    assert result.select("hubspot_id", "attributed_revenue", "won_deals", "last_campaign_interaction").rows() == [
        ("102", 2000.0, 1, "Search Q1 (paid_search, 2026-02-01)"),
        ("101", 1500.0, 2, "Spring Webinar (webinar, 2026-03-05)"),
    ]
    # a 10-day lookback keeps o1 (t2 is 9 days before it) and drops o2 (t1 is 14 days before) and o4 (14 days)
    shorter = attribution_targets(con, date(2026, 1, 1), date(2026, 3, 31), lookback_days=10)
    assert dict(shorter.select("hubspot_id", "attributed_revenue").rows()) == {"101": 1000.0}


def test_campaign_audience_by_hand(con):
    audience = campaign_audience(con, "K2", date(2026, 1, 1), date(2026, 3, 31))
    assert audience.select("hubspot_id", "touches").rows() == [("101", 1), ("102", 1)]  # t4 is before the window
    assert campaign_audience(con, "K2", date(2026, 1, 1), date(2026, 3, 31), 0.5)["hubspot_id"].to_list() == ["101"]
    assert campaign_audience(con, "K1", date(2026, 1, 1), date(2026, 3, 31))["hubspot_id"].to_list() == ["101"]


def test_frame_to_targets_carries_identity_and_properties(con):
    result = attribution_targets(con, date(2026, 1, 1), date(2026, 3, 31))
    targets = frame_to_targets(result, attribution_properties())
    assert targets[1] == {
        "hubspot_id": "101",
        "email": "a@x.com",
        "properties": {
            "marketing_platform_attributed_revenue": 1500.0,
            "last_campaign_interaction": "Spring Webinar (webinar, 2026-03-05)",
        },
    }
    assert frame_to_targets(campaign_audience(con, "K2", date(2026, 1, 1), date(2026, 3, 31)))[0] == {
        "hubspot_id": "101",
        "email": "a@x.com",
    }


@pytest.fixture()
def committee(tmp_path):
    """One account, two contacts (a buying committee), one won deal of 1,200 closing 1 Mar 2026.

    Touches of the deal's journey at account level, in order: t1 c1 K1 (10 Feb), t2 c2 K2 (20 Feb),
    t3 c2 K1 (25 Feb). Contact c1 made one of three touches, c2 two.
    """
    con = connect(tmp_path / "committee.duckdb")
    create_schema(con)
    con.execute("insert into accounts (account_id, name, segment) values ('A1', 'Atlas', 'SMB')")
    con.execute(
        "insert into campaigns (campaign_id, name, channel) values "
        "('K1', 'Spring Webinar', 'webinar'), ('K2', 'Search Q1', 'paid_search')"
    )
    con.execute(
        "insert into contacts (contact_id, account_id, email, hubspot_id) values "
        "('c1', 'A1', 'a@x.com', '101'), ('c2', 'A1', 'b@x.com', '102')"
    )
    con.execute("""insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, ts) values
        ('t1', 'c1', 'K1', 'webinar', '2026-02-10 10:00'),
        ('t2', 'c2', 'K2', 'paid_search', '2026-02-20 10:00'),
        ('t3', 'c2', 'K1', 'webinar', '2026-02-25 10:00')""")
    con.execute("""insert into opportunities
        (opportunity_id, contact_id, account_id, name, amount, is_closed, is_closed_won, close_date, hubspot_id)
        values ('o1', 'c2', 'A1', 'Atlas renewal', 1200, true, true, '2026-03-01', '9001')""")
    yield con
    con.close()


@pytest.mark.parametrize(
    ("model", "c1", "c2"),
    [
        ("first_touch", 1200.0, 0.0),  # t1 (c1) takes it all; c2 is credited nothing and not pushed
        ("last_touch", 0.0, 1200.0),  # t3 (c2)
        ("linear", 400.0, 800.0),  # a third each: c1 one touch, c2 two
        ("position_based", 480.0, 720.0),  # 40% first (c1), 40% last and 20% middle (c2)
    ],
)
def test_a_contacts_pushed_revenue_is_its_credit_under_the_model(committee, model, c1, c2):
    result = attribution_targets(committee, date(2026, 1, 1), date(2026, 3, 31), model=model)
    pushed = dict(result.select("hubspot_id", "attributed_revenue").rows())
    assert pushed == {k: v for k, v in {"101": c1, "102": c2}.items() if v}
    assert set(result["model"]) == {model}
    # at contact level the deal's own contact (c2) has it all, whatever the model
    own = attribution_targets(committee, date(2026, 1, 1), date(2026, 3, 31), model=model, account_level=False)
    assert dict(own.select("hubspot_id", "attributed_revenue").rows()) == {"102": 1200.0}


def test_the_segment_filter_keeps_the_deals_of_its_accounts(committee):
    assert attribution_targets(committee, date(2026, 1, 1), date(2026, 3, 31), segments=("SMB",)).height == 2
    assert attribution_targets(committee, date(2026, 1, 1), date(2026, 3, 31), segments=("Enterprise",)).is_empty()


@pytest.mark.parametrize(
    ("model", "account_level", "campaigns"),
    [
        # contact level: the deal's journey is c2's touches t2 (K2), t3 (K1)
        ("linear", False, "Search Q1 50%; Spring Webinar 50%"),
        ("first_touch", False, "Search Q1 100%"),
        # account level: t1 (K1), t2 (K2), t3 (K1): linear gives K1 two thirds
        ("linear", True, "Spring Webinar 67%; Search Q1 33%"),
        ("first_touch", True, "Spring Webinar 100%"),
    ],
)
def test_each_won_deal_gets_its_campaigns_and_model(committee, model, account_level, campaigns):
    deals = deal_attribution_targets(
        committee, date(2026, 1, 1), date(2026, 3, 31), model=model, account_level=account_level
    )
    row = deals.row(0, named=True)
    assert (row["hubspot_id"], row["deal_name"], row["account_name"], row["attributed_campaigns"]) == (
        "9001",
        "Atlas renewal",
        "Atlas",
        campaigns,
    )
    assert row["attributed_revenue"] == pytest.approx(1200.0)
    assert frame_to_targets(deals, deal_attribution_properties()) == [
        {
            "hubspot_id": "9001",
            "properties": {
                "marketing_platform_attributed_campaigns": campaigns,
                "marketing_platform_attribution_model": model,
            },
        }
    ]
