"""The weekly history's numbers, checked two independent ways: by hand at the windows' edges, and
against the same measures derived by prefix sums (``tests/customers/prefix_sums.py``) on every
date of the weekly grid.

The crafted account ``EDGE`` has an event exactly on each window's edge (30, 60, 90, 120, 180 and
365 days before the as-of date T, the last day of the data) and one a day inside it; ``DENSE`` has
events spread over 400 days, so every weekly as-of date sees them at other offsets from its edges.
"""

from __future__ import annotations

import polars as pl
import pytest

from analytics.customers import health
from analytics.customers.config import COMPONENTS, SPEC_CONFIG
from analytics.customers.features import MEASURES, account_measures
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import run
from tests.customers.crafted import Crafted, T
from tests.customers.prefix_sums import GRID_MEASURES, grid_params, prefix_sum_sql

MEASURE_SUMS = [m for m in (name for name, *_ in GRID_MEASURES) if m not in ("usage_events_60", "usage_events_120")]


def _edge_account(w: Crafted) -> None:
    w.account("EDGE")
    w.usage("EDGE", [0, 29, 30, 59, 60, 119, 120])  # dashboards, a key feature
    w.usage("EDGE", 30, feature="reports")  # a key feature used exactly 30 days before: not in (t-30, t]
    for opened, escalated in ((0, False), (29, True), (30, True), (89, False), (90, True)):
        w.ticket("EDGE", opened, escalated=escalated)
    w.ticket("EDGE", 100, resolved=90, csat=1)  # resolved exactly 90 days before: out
    w.ticket("EDGE", 95, resolved=89, csat=2)  # resolved 89 days before: a low CSAT in the window
    w.invoice("EDGE", due=365)  # due exactly 365 days before: out of (t-365, t]
    w.invoice("EDGE", due=364)  # unpaid and past due: late
    w.invoice("EDGE", due=0)  # due on T itself and unpaid: not yet late
    w.invoice("EDGE", due=90, paid=80)  # paid late, but due exactly 90 days before: late in 365 days, not in 90
    w.invoice("EDGE", due=89, paid=89)  # paid on its due date: on time
    w.invoice("EDGE", due=10, paid=5)  # paid late, due in (t-90, t]
    w.campaign("K1", ends=10)  # ended before T
    w.campaign("K2", ends=-5)  # ends after T
    w.campaign("K3", ends=40)
    contact = w.contact("EDGE")
    w.email(contact, "sent", [0, 29, 30])
    w.email(contact, "sent", [29, 5], campaign_id="K1")
    w.email(contact, "open", 30, campaign_id="K1")  # a response exactly 30 days before: out
    w.email(contact, "sent", 20, campaign_id="K2")
    w.email(contact, "click", 3, campaign_id="K2")
    w.email(contact, "sent", 30, campaign_id="K3")  # emailed exactly 30 days before only: not enrolled
    w.content(contact, "blog_read", 29)
    w.content(contact, "blog_read", 30)
    w.content(contact, "referral", 179)
    w.content(contact, "referral", 180)


def _dense_account(w: Crafted) -> None:
    w.account("DENSE", segment="Enterprise")
    for d in range(0, 400, 3):
        w.usage("DENSE", d, feature=("dashboards", "alerts", "exports", "custom")[d % 4], n=1 + d % 5)
    for k, d in enumerate(range(1, 400, 11)):
        w.ticket("DENSE", d, escalated=k % 3 == 0, resolved=d - 4 if k % 2 else None, csat=(k % 5) + 1)
    for k, d in enumerate(range(2, 400, 30)):
        w.invoice("DENSE", due=d, paid=None if k % 4 == 0 else d + 3 if k % 4 == 1 else d - 2 if d > 2 else None)
    contact = w.contact("DENSE")
    w.campaign("K4", ends=100)
    w.campaign("K5", ends=7)
    for d in range(0, 400, 4):
        w.email(contact, "sent", d, campaign_id=("K4", "K5", None)[d % 3])
        if d % 8 == 0:
            w.email(contact, ("open", "click", "unsubscribe")[d % 3], d + 1, campaign_id=("K4", "K5", None)[d % 3])
    for d in range(0, 400, 13):
        w.content(contact, ("blog_read", "webinar", "download", "referral", "review", "case_study")[d % 6], d)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    w = Crafted(tmp_path_factory.mktemp("history_forms") / "edges.duckdb")
    _edge_account(w)
    _dense_account(w)
    w.account("QUIET")  # paying, with no data at all
    con = w.load()
    yield con
    w.close()


def test_the_measures_at_each_windows_edge_by_hand(edges):
    assert health.data_range(edges)[1] == T and health.history_dates(edges)[-1] == T
    keys = ["dashboards", "reports", "alerts", "integrations", "workflows", "exports"]
    expected = {
        "usage_events_30": 2,  # days 0 and 29
        "active_days_30": 2,
        "usage_events_prev_30": 3,  # (t-60, t-30]: days 30 (twice: dashboards and reports) and 59
        "usage_events_base_90": 5,  # (t-120, t-30]: 30 (twice), 59, 60, 119
        "key_features_used_30": 1,  # dashboards; reports only exactly 30 days before
        "tickets_90": 4,  # opened 0, 29, 30, 89
        "escalations_90": 2,  # 29, 30
        "escalations_30": 1,  # 29
        "rated_90": 1,  # resolved 89 days before (the one resolved exactly 90 days before is out)
        "low_csat_90": 1,
        "invoices_due_365": 5,  # due 364, 90, 89, 10, 0
        "invoices_late_365": 3,  # 364 (unpaid), 90 and 10 (paid late)
        "invoices_late_90": 1,  # 10
        "emails_sent_30": 5,  # sends on 0, 29, 29 (K1), 20 (K2), 5 (K1); those exactly 30 days before are out
        "campaigns_enrolled_30": 2,  # K1, K2 (K3 only exactly 30 days before)
        "campaigns_responded_30": 1,  # K2 clicked; K1's open exactly 30 days before is out
        "campaigns_completed_30": 1,  # K1 ended before T
        "blog_reads_30": 1,
        "referrals_180": 1,
    }
    for derived in (True, False):  # from the marketing days built at load, and from the raw events
        row = account_measures(edges, [T], keys, derived).filter(pl.col("account_id") == "EDGE").row(0, named=True)
        assert {name: row[name] for name in expected} == expected, derived


def test_prefix_sums_give_the_range_joins_measures_on_every_weekly_date(edges):
    dates = health.history_dates(edges)
    assert len(dates) > 52  # the grid spans more than the 365-day window
    params = {**health._params(edges, SPEC_CONFIG), **grid_params(dates)}
    for derived in (True, False):
        plain = run(edges, MEASURES[derived], params)
        prefix = run(edges, prefix_sum_sql(derived), params)
        assert plain.height == prefix.height == 3 * len(dates)
        assert plain.equals(prefix), derived
        dense = plain.filter(pl.col("account_id") == "DENSE")
        assert all(dense[name].sum() > 0 for name in MEASURE_SUMS), dense.select(MEASURE_SUMS).sum()


def test_the_stored_history_equals_live_scores_on_the_crafted_edges(edges):
    dates = health.history_dates(edges)
    picked = [dates[0], dates[len(dates) // 2], dates[-5], dates[-1]]
    stored = health.history_scores(edges, SPEC_CONFIG).filter(pl.col("as_of").is_in(picked))
    live = health.scores_on(edges, picked, SPEC_CONFIG)
    columns = ["as_of", "account_id", *COMPONENTS, "coverage", "overall_score", "band"]
    assert stored.height == live.height == 3 * len(picked)
    assert stored.select(columns).sort("as_of", "account_id").equals(live.select(columns).sort("as_of", "account_id"))


def test_prefix_sums_give_the_range_joins_measures_on_the_demo(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        dates = health.history_dates(con)
        params = {**health._params(con, SPEC_CONFIG), **grid_params(dates)}
        plain = run(con, MEASURES[True], params)
        prefix = run(con, prefix_sum_sql(True), params)
    finally:
        con.close()
    assert plain.height > 10_000 and all(plain[name].sum() > 0 for name in MEASURE_SUMS)
    assert plain.equals(prefix)


def test_the_grid_is_refused_when_the_dates_are_not_evenly_spaced():
    from datetime import timedelta

    with pytest.raises(ValueError, match="not evenly spaced"):
        grid_params([T, T - timedelta(days=7), T - timedelta(days=30)])
    assert grid_params([T])["grid_step_days"] == 1
