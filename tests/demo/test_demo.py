"""The demo generator: deterministic, the documented sizes, and the planted truth recoverable."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy.optimize import curve_fit
from sklearn.linear_model import LogisticRegression

from analytics.demo.builder import DEFAULT_TOUCHPOINTS, build_demo
from analytics.demo.truth import CHANNEL_TRUTH, NEGATIVE, NEUTRAL, POSITIVE
from analytics.warehouse.runner import run
from analytics.warehouse.schema import CHANNELS, TABLES


def _fingerprint(path) -> dict[str, tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            t: con.execute(f"select count(*), hash(string_agg(cast(columns(*) as varchar), '|')) from {t}").fetchall()[
                0
            ]
            for t in ("touchpoints", "opportunities", "accounts", "campaign_costs")
        }
    finally:
        con.close()


def test_same_seed_same_data_other_seed_other_data(tmp_path, demo_db):
    again = build_demo(tmp_path / "again.duckdb", seed=7, touchpoints=30_000)
    other = build_demo(tmp_path / "other.duckdb", seed=8, touchpoints=30_000)
    assert _fingerprint(again) == _fingerprint(demo_db)
    assert _fingerprint(other)["touchpoints"] != _fingerprint(demo_db)["touchpoints"]


def test_sizes_scale_with_touchpoints(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    count = lambda t: con.execute(f"select count(*) from {t}").fetchall()[0][0]  # noqa: E731
    assert count("touchpoints") == 30_000  # exactly the requested number
    assert count("contacts") == 3_000 and count("accounts") == 300
    assert count("campaigns") == 40
    assert sorted(r[0] for r in con.execute("select distinct channel from campaigns").fetchall()) == sorted(CHANNELS)
    assert sorted(r[0] for r in con.execute("select distinct category from campaign_costs").fetchall()) == sorted(
        ["creative_production", "media_spend", "operational_overhead", "platform_fees"]
    )
    won_share = con.execute("select avg(is_closed_won::int) from opportunities").fetchall()[0][0]
    assert 0.2 < won_share < 0.4
    for table in TABLES:
        assert count(table) > 0, table
    # every touch lies inside the 18 months and no journey piles up on the last day
    first, last = con.execute("select min(ts)::date, max(ts)::date from touchpoints").fetchall()[0]
    assert str(first) >= "2025-05-01" and str(last) <= "2026-10-31"
    monthly = [
        r[0]
        for r in con.execute(
            "select count(*) from touchpoints group by date_trunc('month', ts) order by date_trunc('month', ts)"
        ).fetchall()
    ]
    assert len(monthly) == 18 and max(monthly) < 2.5 * min(monthly)  # no pile-up at either edge


@pytest.fixture(scope="module")
def medium_db(tmp_path_factory):
    return str(build_demo(tmp_path_factory.mktemp("medium") / "medium.duckdb", seed=3, touchpoints=200_000))


def test_planted_channel_lift_is_recovered(medium_db):
    """Logistic regression of closed-won on channel presence recovers each beta_c within 0.25."""
    con = duckdb.connect(medium_db, read_only=True)
    journeys = run(
        con,
        """
        with touched as (select contact_id, list(distinct channel) as channels from touchpoints group by all)
        select c.contact_id, a.segment, t.channels,
               exists (select 1 from opportunities o where o.contact_id = c.contact_id and o.is_closed_won) as won,
               exists (select 1 from opportunities o where o.contact_id = c.contact_id and not o.is_closed) as still_open
        from contacts c join accounts a using (account_id) join touched t using (contact_id)
    """,
    ).filter(~pl.col("still_open"))
    x_channels = np.array([[c in row for c in CHANNELS] for row in journeys["channels"].to_list()], float)
    x_segment = np.array([[s == k for k in ("SMB", "Enterprise")] for s in journeys["segment"].to_list()], float)
    model = LogisticRegression(C=1e6, max_iter=5000).fit(np.hstack([x_channels, x_segment]), journeys["won"].to_numpy())
    estimated = dict(zip(CHANNELS, model.coef_[0][: len(CHANNELS)]))
    for channel in CHANNELS:
        assert abs(estimated[channel] - CHANNEL_TRUTH[channel].lift) < 0.25, (channel, estimated[channel])
    assert estimated["webinar"] > estimated["paid_search"] > estimated["display"]


def test_planted_saturating_response_to_spend(medium_db):
    """A Hill curve fitted to monthly touches against spend recovers k_c within a factor of 2."""
    con = duckdb.connect(medium_db, read_only=True)
    series = run(
        con,
        """
        with spend as (
            select c.channel, date_trunc('month', cc.cost_date) as month, sum(cc.amount) as spend
            from campaign_costs cc join campaigns c using (campaign_id) group by all
        ),
        touches as (select channel, date_trunc('month', ts) as month, count(*) as touches from touchpoints group by all)
        select * from spend join touches using (channel, month)
    """,
    )
    for channel in ("paid_search", "paid_social", "display", "events"):
        rows = series.filter(pl.col("channel") == channel)
        spend, touches = rows["spend"].to_numpy(), rows["touches"].to_numpy().astype(float)
        (ceiling, k), _ = curve_fit(
            lambda s, a, k: a * s / (s + k), spend, touches, p0=[touches.max() * 2, np.median(spend)], maxfev=20_000
        )
        truth = CHANNEL_TRUTH[channel].half_saturation * 200_000 / DEFAULT_TOUCHPOINTS
        assert truth / 2 < k < truth * 2, (channel, k, truth)


def test_planted_churn_drivers_separate_churners(medium_db):
    con = duckdb.connect(medium_db, read_only=True)
    drivers = run(
        con,
        """
        with usage as (
            select account_id,
                   count(*) filter (where ts >= date '2026-05-01') as recent,
                   count(*) filter (where ts < date '2026-05-01' and ts >= date '2025-11-01') as earlier
            from feature_usage_events group by all
        ),
        escalations as (select account_id, count(*) filter (where escalated) as escalated from support_tickets group by all),
        late as (select account_id, avg((paid_date > due_date or paid_date is null and due_date < date '2026-10-31')::int) as late_share
                 from invoices group by all),
        opens as (
            select c.account_id, count(*) filter (where e.event_type = 'open' and e.ts >= date '2026-08-02') as recent_opens
            from email_events e join contacts c using (contact_id) group by all
        )
        select a.account_id, a.churned_at is not null as churned,
               coalesce(u.recent, 0) / greatest(u.earlier, 1) as usage_ratio,
               coalesce(x.escalated, 0) as escalated, l.late_share, coalesce(o.recent_opens, 0) = 0 as silent
        from accounts a join late l using (account_id)
        left join usage u using (account_id) left join escalations x using (account_id) left join opens o using (account_id)
        where a.arr > 0
    """,
    )
    means = drivers.group_by("churned").agg(
        pl.col("escalated", "late_share").mean(), pl.col("silent").cast(float).mean()
    )
    churned = means.filter(pl.col("churned")).row(0, named=True)
    stayed = means.filter(~pl.col("churned")).row(0, named=True)
    assert churned["escalated"] > 2 * stayed["escalated"]
    assert churned["late_share"] > 1.5 * stayed["late_share"]
    assert churned["silent"] > stayed["silent"]
    # usage of retained accounts falls less in the last six months than that of accounts near churn
    retained = drivers.filter(~pl.col("churned"))
    declining = retained.filter(pl.col("usage_ratio") < 0.6).height / retained.height
    assert declining < 0.3


def test_feedback_sentiment_follows_score(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    # the original comments (truth 4); the themed ones (truth 9, ids FBC...) are tested in tests/demo/test_adoption_truth.py
    rows = con.execute("select score, text from feedback where feedback_id not like 'FBC%'").fetchall()
    assert rows
    for score, text in rows:
        expected = POSITIVE if score >= 9 else NEUTRAL if score >= 7 else NEGATIVE
        assert text in expected


def test_customer_success_email_adds_rows_only_and_plants_silence_before_churn(monkeypatch):
    """Planted truth 7: its own generator, so every other row is as without it; silent accounts go quiet before churn."""
    from analytics.demo import builder, truth
    from analytics.warehouse.schema import create_schema

    def build():
        con = duckdb.connect()
        create_schema(con)
        demo = builder.DemoBuilder(con, seed=5, touchpoints=20_000)
        demo.build()
        return con, demo

    con, demo = build()
    with monkeypatch.context() as patch:
        patch.setattr(builder.DemoBuilder, "customer_email", lambda self: None)
        plain, _ = build()
    for table in TABLES:
        kept = "where campaign_id is not null" if table == "email_events" else ""
        ours = con.sql(f"select * from {table} {kept} order by all").pl()
        assert ours.equals(plain.sql(f"select * from {table} order by all").pl()), table
    # the stream: campaign-less email to customer accounts' contacts, opened unless the account went silent
    cs = con.sql(
        "select contact_id, event_type, epoch(ts)::bigint as s from email_events where campaign_id is null"
    ).pl()
    account_of = dict(zip(demo.contact_ids.tolist(), demo.contact_account.tolist()))
    rows = cs.with_columns(pl.col("contact_id").replace_strict(account_of).alias("account"))
    limit = np.where(demo.churned, demo.churn_at, demo.end_s)
    rows = rows.with_columns(
        pl.col("account").map_elements(lambda a: int(limit[a]), return_dtype=pl.Int64).alias("limit"),
        pl.col("account").map_elements(lambda a: int(demo.email_silence[a]), return_dtype=pl.Int64).alias("silent"),
    )
    assert set(rows["account"].unique().to_list()) <= set(np.nonzero(demo.is_customer)[0].tolist())
    last_90 = rows.filter(pl.col("s") > pl.col("limit") - (truth.SILENCE_DAYS - 3) * 86400)
    silent_opens = last_90.filter((pl.col("silent") == 1) & (pl.col("event_type") == "open")).height
    assert silent_opens == 0
    others = last_90.filter(pl.col("silent") == 0)
    rate = others.filter(pl.col("event_type") == "open").height / others.filter(pl.col("event_type") == "sent").height
    assert abs(rate - truth.CS_EMAIL_OPEN_RATE) < 0.06
