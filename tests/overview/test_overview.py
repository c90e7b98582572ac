"""Overview KPIs on a warehouse small enough to compute by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.overview import kpis as overview
from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema


@pytest.fixture()
def tiny(tmp_path):
    """Two accounts, three contacts, four opportunities, costs on two campaigns."""
    con = connect(tmp_path / "tiny.duckdb")
    create_schema(con)
    con.execute("""
        insert into accounts (account_id, name, segment, arr, created_at, churned_at) values
            ('A1', 'Alpha', 'SMB', 12000, '2024-01-01', null),
            ('A2', 'Beta', 'Enterprise', 100000, '2024-01-01', '2026-02-15'),
            ('A3', 'Gamma', 'SMB', 0, '2024-01-01', null);
        insert into contacts (contact_id, account_id, email) values
            ('C1', 'A1', 'a@alpha.com'), ('C2', 'A2', 'b@beta.com'), ('C3', 'A3', 'c@gamma.com');
        insert into campaigns (campaign_id, name, channel) values ('K1', 'Mail', 'email'), ('K2', 'Search', 'paid_search');
        insert into touchpoints (contact_id, campaign_id, channel, ts) values
            ('C1', 'K1', 'email', '2026-01-05'), ('C2', 'K2', 'paid_search', '2026-01-06'),
            ('C3', 'K1', 'email', '2026-02-01');
        insert into opportunities (opportunity_id, contact_id, account_id, amount, is_closed, is_closed_won, created_at, close_date) values
            ('O1', 'C1', 'A1', 1000, true, true, '2026-01-10', '2026-02-10'),  -- won in the current period
            ('O2', 'C2', 'A2', 5000, true, true, '2025-12-01', '2026-01-20'),  -- won in the previous period
            ('O3', 'C2', 'A2', 7000, false, false, '2026-02-01', '2026-04-30'), -- open
            ('O4', 'C3', 'A3', 3000, true, false, '2026-01-15', '2026-02-20');  -- lost inside the current period
        insert into campaign_costs (campaign_id, cost_date, category, amount) values
            ('K1', '2026-02-01', 'media_spend', 100), ('K2', '2026-02-03', 'media_spend', 250),
            ('K2', '2026-01-05', 'media_spend', 40), (null, '2026-02-01', 'operational_overhead', 10);
    """)
    yield con
    con.close()


# current period: 2026-02-01 .. 2026-02-28; previous: 2026-01-04 .. 2026-01-31 (28 days)
START, END = date(2026, 2, 1), date(2026, 2, 28)


def test_kpis_by_hand(tiny):
    k = overview.kpis(tiny, START, END)
    assert k["won_revenue"].current == 1000 and k["won_revenue"].previous == 5000
    # open at 02-28: O3 (open). At 01-31: O1 (closes 02-10), O3 not yet created, O4 (closes 02-20) -> 4000
    assert k["open_pipeline"].current == 7000 and k["open_pipeline"].previous == 4000
    assert k["marketing_spend"].current == 360 and k["marketing_spend"].previous == 40
    # A2 churned 02-15: active at 01-31 but not at 02-28; A3 has no ARR
    assert (k["active_accounts"].current, k["active_accounts"].previous) == (1, 2)
    assert (k["arr"].current, k["arr"].previous) == (12000, 112000)
    assert k["won_revenue"].delta == -4000 and k["won_revenue"].delta_pct == pytest.approx(-80.0)


def test_filters_by_hand(tiny):
    smb = overview.kpis(tiny, START, END, segments=("SMB",))
    assert smb["won_revenue"].current == 1000 and smb["open_pipeline"].current == 0
    assert smb["arr"].previous == 12000
    email = overview.kpis(tiny, START, END, channels=("email",))
    assert email["marketing_spend"].current == 100  # K1 only; unbooked overhead excluded under a channel filter
    assert email["won_revenue"].previous == 0  # O2's contact never touched email
    assert email["active_accounts"].current == 1


def test_zero_previous_gives_no_percentage(tiny):
    k = overview.kpis(tiny, date(2030, 1, 1), date(2030, 1, 31))
    assert k["won_revenue"].delta_pct is None


def test_monthly_trends_by_hand(tiny):
    trends = overview.monthly_trends(tiny, date(2026, 1, 1), END)
    assert trends["month"].to_list() == [date(2026, 1, 1), date(2026, 2, 1)]
    assert trends["won_revenue"].to_list() == [5000, 1000]
    assert trends["marketing_spend"].to_list() == [40, 360]
    assert trends["touchpoints"].to_list() == [2, 1]
    assert trends["new_pipeline"].to_list() == [4000, 7000]


def test_kpis_reconcile_with_trends_on_the_demo(demo_db):
    import duckdb

    con = duckdb.connect(demo_db, read_only=True)
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    k = overview.kpis(con, start, end)
    trends = overview.monthly_trends(con, start, end)
    assert trends["won_revenue"].sum() == pytest.approx(k["won_revenue"].current)
    assert trends["marketing_spend"].sum() == pytest.approx(k["marketing_spend"].current)
