"""Overview KPIs on a warehouse small enough to compute by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.overview import kpis as overview

# the tiny warehouse's 2025 (tests/tiny.py)
# current period: 2025-02-01 .. 2025-02-28; previous: 2025-01-04 .. 2025-01-31 (28 days)
START, END = date(2025, 2, 1), date(2025, 2, 28)


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
    trends = overview.monthly_trends(tiny, date(2025, 1, 1), END)
    assert trends["month"].to_list() == [date(2025, 1, 1), date(2025, 2, 1)]
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


def test_movers_by_hand(tiny):
    from analytics.overview.movers import movers

    # February against 4-31 January: O1 (C1's email touch, SMB) 1,000 closes in February; O2 (C2's paid
    # search touch, Enterprise) 5,000 in January
    moved = movers(tiny, START, END)
    assert moved.select("dimension", "key", "current", "previous", "delta").rows() == [
        ("channel", "paid_search", 0.0, 5000.0, -5000.0),
        ("channel", "email", 1000.0, 0.0, 1000.0),
        ("campaign", "K2", 0.0, 5000.0, -5000.0),
        ("campaign", "K1", 1000.0, 0.0, 1000.0),
        ("segment", "Enterprise", 0.0, 5000.0, -5000.0),
        ("segment", "SMB", 1000.0, 0.0, 1000.0),
    ]
    assert moved.filter(moved["key"] == "Enterprise")["delta_pct"].item() == pytest.approx(-100.0)
    assert moved.filter(moved["key"] == "SMB")["delta_pct"].item() is None  # nothing to compare with


def test_movers_follow_the_filters(tiny):
    from analytics.overview.movers import movers

    assert movers(tiny, START, END, limit=1)["key"].to_list() == ["paid_search", "K2", "Enterprise"]
    smb = movers(tiny, START, END, segments=("SMB",))
    assert smb.select("dimension", "key", "delta").rows() == [
        ("channel", "email", 1000.0),
        ("campaign", "K1", 1000.0),
        ("segment", "SMB", 1000.0),
    ]
    email = movers(tiny, START, END, channels=("email",))
    assert set(email["key"]) == {"email", "K1", "SMB"}  # O2's contact never touched email
