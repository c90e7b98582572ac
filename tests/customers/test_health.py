"""Health components and scores worked out by hand; the missing-data rule; bands; history; why it changed."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from analytics.core.errors import RevLensError
from analytics.customers import health
from analytics.customers.config import COMPONENTS, SPEC_CONFIG, HealthConfig
from analytics.loads import DERIVED
from analytics.warehouse.connection import connect
from tests.customers.crafted import Crafted, T, day

KEYS = ("dashboards", "reports", "alerts", "exports")
CONFIG = HealthConfig(key_features=KEYS)


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """Three SMB accounts: A with every kind of data, B with usage only, C with nothing of its own."""
    w = Crafted(tmp_path_factory.mktemp("hand") / "hand.duckdb")
    for account in ("A", "B", "C"):
        w.account(account)
    # A: 10 active days in (t-30, t] (5 on dashboards, 5 on reports), 60 events in (t-120, t-30], first use t-200
    w.usage("A", list(range(0, 5)), "dashboards")
    w.usage("A", list(range(5, 10)), "reports")
    w.usage("A", list(range(31, 91)), "segments")
    w.usage("A", 200, "segments")
    # B: 20 active days on alerts, the same baseline
    w.usage("B", list(range(0, 20)), "alerts")
    w.usage("B", list(range(31, 91)), "segments")
    w.usage("B", 200, "segments")
    # A's support: an escalated ticket with CSAT 1 and a normal one with CSAT 4, both resolved
    w.ticket("A", opened=10, escalated=True, resolved=5, csat=1)
    w.ticket("A", opened=20, resolved=15, csat=4)
    # A's invoices: three paid on time, one paid ten days late
    for due in (300, 200, 100):
        w.invoice("A", due=due, paid=due + 1)
    w.invoice("A", due=40, paid=30)
    # A's marketing: 10 sends in 30 days on campaigns X and Y, 2 opens and 1 click on X, one blog read
    w.campaign("X", ends=5)
    w.campaign("Y", ends=-60)
    first, second = w.contact("A", "CA1"), w.contact("A", "CA2")
    w.email(first, "sent", list(range(1, 7)), "X")
    w.email(first, "sent", list(range(7, 11)), "Y")
    w.email(first, "open", [2, 3], "X")
    w.email(first, "click", 2, "X")
    w.content(second, "blog_read", 3)
    con = w.load()
    yield con
    w.close()


def by_account(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["account_id"]: row for row in frame.iter_rows(named=True)}


def test_components_and_score_by_hand(hand):
    rows = by_account(health.health_scores(hand, T, CONFIG))
    a = rows["A"]
    # median active days of the SMB accounts with usage: (10 + 20) / 2 = 15
    assert a["usage_frequency"] == pytest.approx(10 / 15)
    assert a["feature_adoption"] == pytest.approx(2 / 4)  # dashboards, reports of 4 key features
    assert a["engagement_trend"] == pytest.approx(10 / (60 / 3))  # 10 events against the usual 20
    # 1 − (tickets 2/5 + escalations 1/2 + low CSAT 1/2) / 3
    assert a["support_health"] == pytest.approx(1 - (0.4 + 0.5 + 0.5) / 3)
    assert a["payment_stability"] == pytest.approx(0.75)  # 1 of 4 invoices due in 365 days paid late
    # email (min(1, 0.2/0.25) + min(1, 0.1/0.05)) / 2 = 0.9; campaigns 1/2; content min(1, 1/2); advocacy 0
    assert a["marketing_engagement"] == pytest.approx(0.4 * 0.9 + 0.2 * 0.5 + 0.2 * 0.5 + 0.2 * 0)
    expected = 100 * (0.25 * 10 / 15 + 0.20 * 0.5 + 0.15 * 0.5 + 0.15 * (1 - 1.4 / 3) + 0.15 * 0.75 + 0.10 * 0.56)
    assert a["overall_score"] == round(expected, 2) == 59.02
    assert a["band"] == "at_risk" and a["coverage"] == pytest.approx(1.0)


def test_missing_components_renormalize_the_weights(hand):
    rows = by_account(health.health_scores(hand, T, CONFIG))
    b = rows["B"]  # usage only: no invoices, no contacts; support is loaded and B has no tickets
    assert b["payment_stability"] is None and b["marketing_engagement"] is None
    assert b["usage_frequency"] == 1.0 and b["feature_adoption"] == 0.25 and b["engagement_trend"] == 1.0
    assert b["support_health"] == 1.0
    assert b["coverage"] == pytest.approx(0.75)
    assert b["overall_score"] == pytest.approx(100 * (0.25 * 1 + 0.20 * 0.25 + 0.15 * 1 + 0.15 * 1) / 0.75)  # 80
    c = rows["C"]  # no usage, no contacts, no invoices: only "no support trouble" is known
    assert [c[name] for name in COMPONENTS] == [None, None, None, 1.0, None, None]
    assert c["coverage"] == pytest.approx(0.15) and c["overall_score"] == 100.0


def test_an_account_with_no_data_at_all_scores_the_middle_never_nan(tmp_path):
    w = Crafted(tmp_path / "empty.duckdb")
    w.account("E")
    w.account("F")
    w.usage("F", 0)  # the data's range; F has usage, E has nothing and there are no tickets at all
    con = w.load()
    e = by_account(health.health_scores(con, T))["E"]
    assert all(e[name] is None for name in COMPONENTS)
    assert e["coverage"] == 0 and e["overall_score"] == health.NO_DATA_SCORE and e["band"] == "at_risk"
    w.close()


def test_weights_are_applied_once_and_validated():
    assert sum(SPEC_CONFIG.weights) == pytest.approx(1.0)
    with pytest.raises(RevLensError, match=r"sum to 0\.95, not 1"):
        HealthConfig(weights=(0.25, 0.20, 0.15, 0.15, 0.10, 0.10)).validate()
    with pytest.raises(RevLensError, match="cannot be negative"):
        HealthConfig(weights=(1.25, -0.25, 0, 0, 0, 0)).validate()
    with pytest.raises(RevLensError, match="critical below"):
        HealthConfig(critical_below=80).validate()
    assert HealthConfig.from_json(SPEC_CONFIG.to_json()) == SPEC_CONFIG


def test_bands_at_their_thresholds():
    frame = pl.DataFrame(
        {"account_id": ["a", "b", "c", "d"], **{name: [None] * 4 for name in COMPONENTS}},
        schema={"account_id": pl.String, **dict.fromkeys(COMPONENTS, pl.Float64)},
    )
    # payment stability alone carries the score: 0.7 → 70.00, 0.6999 → 69.99, 0.4 → 40.00, 0.3999 → 39.99
    frame = frame.with_columns(pl.Series("payment_stability", [0.7, 0.6999, 0.4, 0.3999]))
    scored = health.rescore(frame, SPEC_CONFIG)
    assert scored["overall_score"].to_list() == [70.0, 69.99, 40.0, 39.99]
    assert scored["band"].to_list() == ["healthy", "at_risk", "at_risk", "critical"]
    assert [SPEC_CONFIG.band(s) for s in (70.0, 69.99, 40.0, 39.99)] == ["healthy", "at_risk", "at_risk", "critical"]


def test_rescore_matches_the_sql_score(hand):
    scores = health.health_scores(hand, T, CONFIG)
    other = HealthConfig(weights=(0.1, 0.1, 0.1, 0.4, 0.2, 0.1), healthy_min=60, critical_below=50, key_features=KEYS)
    again = health.health_scores(hand, T, other)
    assert (
        health.rescore(scores, other)
        .select("account_id", "overall_score", "band")
        .equals(again.select("account_id", "overall_score", "band"))
    )
    moves = health.band_changes(scores, other)
    assert int(moves["accounts"].sum()) == (scores["band"] != again["band"]).sum()


def test_trend_is_the_change_over_30_days(hand):
    now = by_account(health.health_scores(hand, T, CONFIG))
    earlier = by_account(health.scores_on(hand, [T - timedelta(days=30)], CONFIG))
    for account in ("A", "B"):
        assert now[account]["score_30_days_before"] == earlier[account]["overall_score"]
        assert now[account]["health_trend"] == pytest.approx(
            now[account]["overall_score"] - earlier[account]["overall_score"], abs=0.005
        )


def test_an_as_of_outside_the_data_names_the_range(hand):
    with pytest.raises(
        RevLensError, match=r"2030-01-01 is outside the data, which runs from \d{4}-\d\d-\d\d to 2026-06-30"
    ):
        health.health_scores(hand, date(2030, 1, 1))


def test_why_it_changed_sums_to_the_change(hand):
    old, new, changes = health.why_changed(hand, "A", day(30), T, CONFIG)
    unrounded = sum(c.contribution for c in changes)
    assert unrounded == pytest.approx(new["overall_score"] - old["overall_score"], abs=0.01)
    usage = next(c for c in changes if c.component == "engagement_trend")
    assert usage.value_after == pytest.approx(0.5)
    assert any(text.startswith("usage events in 30 days") and text.endswith("→ 10") for text in usage.evidence)
    with pytest.raises(RevLensError, match="must come before"):
        health.why_changed(hand, "A", T, day(30), CONFIG)


def test_history_is_built_at_load_and_equals_live_scores(demo_db):
    assert health.HEALTH_HISTORY in DERIVED
    con = connect(demo_db, read_only=True)
    try:
        assert health.history_current(con)
        dates = health.history_dates(con)
        assert dates[-1] == health.data_range(con)[1] and all(
            b - a == timedelta(days=7) for a, b in zip(dates, dates[1:])
        )
        picked = [dates[3], dates[-1]]
        stored = health.history_scores(con, SPEC_CONFIG, start=picked[0], end=picked[-1]).filter(
            pl.col("as_of").is_in(picked)
        )
        live = health.scores_on(con, picked, SPEC_CONFIG)
        columns = ["as_of", "account_id", *COMPONENTS, "coverage", "overall_score", "band"]
        assert (
            stored.select(columns).sort("as_of", "account_id").equals(live.select(columns).sort("as_of", "account_id"))
        )
        trend = health.portfolio_trend(con, SPEC_CONFIG, start=picked[-1], end=picked[-1])
        assert int(trend["accounts"].sum()) == live.filter(pl.col("as_of") == picked[-1]).height
    finally:
        con.close()


def test_the_marketing_days_built_at_load_give_the_raw_events_numbers(demo_db):
    """Every measure query reads the marketing days when they are current; the raw events give the same rows."""
    from analytics.customers import churn, retention
    from analytics.customers.features import MEASURES, window_params
    from analytics.warehouse.runner import run

    con = connect(demo_db, read_only=True)
    try:
        assert health.marketing_days_current(con)
        last = health.data_range(con)[1]
        dates = [last - timedelta(days=d) for d in (0, 30, 200)]
        params = health._params(con, SPEC_CONFIG, as_of_dates=dates)
        for query in (MEASURES, health.HEALTH_SCORES):
            assert run(con, query[True], params).equals(run(con, query[False], params)), query[True].name
        trend = {**params, **window_params(dates[:2]), "as_of": last, "trend_from": dates[1]}
        for query in (health.CURRENT_SCORES, retention.RETENTION_TRIGGERS):
            assert run(con, query[True], trend).equals(run(con, query[False], trend)), query[True].name
        snapshots = {**params, "label_end": last}
        assert run(con, churn.CHURN_SNAPSHOTS[True], snapshots).equals(
            run(con, churn.CHURN_SNAPSHOTS[False], snapshots)
        )
    finally:
        con.close()
