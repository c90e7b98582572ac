"""The faster execution of the health history gives the numbers of the plain forms it replaced.

Two changes of execution, no change of formula: the campaigns of a 30-day window are counted
per (account, date, campaign) row instead of with ``count(distinct …)``, and the weekly history
is built a few as-of dates per statement on a large warehouse instead of all at once. Each is checked here against
the plain form on the small demo.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import polars as pl

from analytics.customers import health
from analytics.customers.config import SPEC_CONFIG, resolve_key_features
from analytics.customers.features import account_measures, window_params
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import run

# The campaign counts as they were written before: distinct campaigns over the raw email events.
PLAIN_CAMPAIGN_COUNTS = """
with as_of_dates as (
    select distinct cast(unnest($as_of_dates) as date) as as_of
),
email_by_campaign as (
    select c.account_id, cast(e.ts as date) as day, e.campaign_id,
           count(case when e.event_type = 'sent' then 1 end) as sends,
           count(case when e.event_type in ('open', 'click') then 1 end) as responses
    from email_events as e
    join contacts as c on c.contact_id = e.contact_id
    group by c.account_id, cast(e.ts as date), e.campaign_id
)
select e.account_id, d.as_of,
       count(distinct case when e.sends > 0 then e.campaign_id end) as campaigns_enrolled_30,
       count(distinct case when e.responses > 0 then e.campaign_id end) as campaigns_responded_30,
       count(distinct case when e.sends > 0 and c.end_date <= d.as_of then e.campaign_id end)
           as campaigns_completed_30
from email_by_campaign as e
join as_of_dates as d on e.day > d.as_of - 30 and e.day <= d.as_of
left join campaigns as c on c.campaign_id = e.campaign_id
where e.campaign_id is not null
group by e.account_id, d.as_of
"""
CAMPAIGN_COLUMNS = ["campaigns_enrolled_30", "campaigns_responded_30", "campaigns_completed_30"]


def test_campaign_counts_equal_the_distinct_counts(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        last = health.data_range(con)[1]
        dates = [last - timedelta(days=d) for d in (0, 10, 30, 31, 200)]
        keys = list(resolve_key_features(con, SPEC_CONFIG.key_features))
        plain = run(con, PLAIN_CAMPAIGN_COUNTS, window_params(dates))
        assert plain["campaigns_enrolled_30"].sum() > 0 and plain["campaigns_completed_30"].sum() > 0
        for derived in (True, False):
            measures = account_measures(con, dates, keys, derived)
            got = (
                measures.join(plain, on=["account_id", "as_of"], how="left", suffix="_plain")
                .with_columns(pl.col(f"{c}_plain").fill_null(0) for c in CAMPAIGN_COLUMNS)
                .filter(pl.any_horizontal(pl.col(c) != pl.col(f"{c}_plain") for c in CAMPAIGN_COLUMNS))
            )
            assert got.height == 0, got.head()
            # every plain row belongs to an account in scope on that date, so the join above saw it
            assert measures.select(CAMPAIGN_COLUMNS).sum().row(0) <= plain.select(CAMPAIGN_COLUMNS).sum().row(0)
    finally:
        con.close()


def test_the_history_built_by_chunks_equals_one_statement(demo_db, tmp_path, monkeypatch):
    copy = tmp_path / "history.duckdb"
    shutil.copy(demo_db, copy)
    con = connect(copy)
    try:
        dates = health.history_dates(con)
        assert health.history_chunk_dates(con) >= len(dates)  # a small warehouse: one statement
        whole_history = health.HISTORY_CHUNK_ROWS
        paying = con.execute("select count(*) from accounts where arr > 0").fetchall()[0][0]
        monkeypatch.setattr(health, "HISTORY_CHUNK_ROWS", 13 * paying)
        assert health.history_chunk_dates(con) == 13 and len(dates) > 2 * 13  # several chunks
        health.build_history(con)
        chunked = run(con, f"select * from {health.HISTORY_TABLE}")
        monkeypatch.setattr(health, "HISTORY_CHUNK_ROWS", whole_history)
        health.build_history(con)
        whole = run(con, f"select * from {health.HISTORY_TABLE}")
    finally:
        con.close()
    assert chunked.height == whole.height > 0
    assert chunked["as_of"].unique().sort().to_list() == dates
    assert chunked.equals(whole)  # same rows in the same (as_of, account_id) order
