"""Targets pushed from the pages, on a warehouse small enough to check by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.crm.targets import attribution_properties, attribution_targets, campaign_audience, frame_to_targets
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
