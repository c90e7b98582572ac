"""Planted truths 8 and 9: adoption and themed feedback add rows only, and adoption recovers what was planted."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from analytics.customers import adoption
from analytics.demo import builder, truth
from analytics.warehouse.schema import TABLES, create_schema

SEED, TOUCHPOINTS = 5, 60_000


def build(skip: tuple[str, ...] = ()):
    con = duckdb.connect()
    create_schema(con)
    demo = builder.DemoBuilder(con, seed=SEED, touchpoints=TOUCHPOINTS)
    for name in skip:
        setattr(demo, name, lambda: None)
    demo.build()
    return con, demo


@pytest.fixture(scope="module")
def planted():
    con, demo = build()
    yield con, demo
    con.close()


def test_adoption_and_feedback_streams_add_rows_only(planted):
    con, _ = planted
    plain, _ = build(skip=("adoption_usage", "feedback_comments"))
    for table in TABLES:
        ours = con.sql(f"select * from {table} order by all").pl()
        before = plain.sql(f"select * from {table} order by all").pl()
        if table in ("feature_usage_events", "feedback", "product_features", "plans"):
            kept = ours.join(before, on=before.columns, how="semi", nulls_equal=True)
            assert kept.height == before.height, table  # every earlier row is still there
        else:
            assert ours.equals(before), table
    assert plain.execute("select count(*) from product_features").fetchall()[0][0] == 0
    plain.close()


def test_adoption_recovers_the_planted_adopters_and_growing_teams(planted):
    con, demo = planted
    as_of = adoption.resolve_adoption_date(con)
    metrics = adoption.adoption_metrics(con, as_of)
    ended = demo.churned & (demo.churn_at <= demo.end_s)
    alive = {demo.account_ids[i] for i in np.nonzero(demo.is_customer & ~ended)[0]}
    by_kind = {}
    for account_id, kind, features, _ in demo.planted_adoption:
        if account_id in alive:
            by_kind.setdefault(kind, []).append((account_id, features))
    assert all(len(by_kind.get(k, [])) >= 3 for k in truth.ADOPTION_KINDS), {k: len(v) for k, v in by_kind.items()}
    success = {
        (r["account_id"], r["feature"])
        for r in metrics.filter(pl.col("milestone") == "adoption_success").iter_rows(named=True)
    }
    champions = {(a, f[0]) for a, f in by_kind["champion"]}
    assert len(success & champions) >= 0.9 * len(champions)
    assert success <= champions  # nothing else meets the three thresholds
    upgraded = set(metrics.filter(pl.col("milestone") == "advanced_feature")["account_id"])
    assert upgraded == {a for a, _ in by_kind["full_adopter"]}
    signals = adoption.expansion_opportunities(con, as_of)
    seats = set(signals.filter(pl.col("signal") == "seats_near_limit")["account_id"])
    assert seats == {a for a, _, _ in demo.growing_accounts}
    advanced = set(signals.filter(pl.col("signal") == "advanced_adoption")["account_id"])
    assert advanced == {a for a, _ in by_kind["advanced_adopter"]}
    plans = dict(con.execute("select account_id, plan from accounts").fetchall())
    lower = {a for a, _ in by_kind["full_adopter"] if plans[a] != "Enterprise"}
    assert set(signals.filter(pl.col("signal") == "breadth_on_lower_plan")["account_id"]) == lower
    quality = adoption.usage_quality(con)
    assert quality["unknown_account_events"] == truth.UNKNOWN_ACCOUNT_EVENTS
    assert quality["unknown_feature_events"] == truth.UNKNOWN_FEATURE_EVENTS
    assert quality["unknown_features"] == [truth.UNKNOWN_FEATURE[1]]


def test_themed_feedback_follows_its_score(planted):
    con, _ = planted
    rows = con.execute("select score, text from feedback where feedback_id like 'FBC%'").fetchall()
    assert len(rows) > 100
    praise = {s for p, _ in truth.FEEDBACK_THEMES.values() for s in p}
    complaints = {s for _, c in truth.FEEDBACK_THEMES.values() for s in c}
    promoters = [t for s, t in rows if s >= 9 and t and t not in truth.NON_ENGLISH]
    detractors = [t for s, t in rows if s <= 6 and t and t not in truth.NON_ENGLISH]
    share = lambda texts, pool: np.mean([any(p in t for p in pool) for t in texts])  # noqa: E731
    assert share(promoters, praise) > 0.8 and share(detractors, complaints) > 0.8
    empty = sum(1 for _, t in rows if not t)
    assert 0 < empty < 0.1 * len(rows)
