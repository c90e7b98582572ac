"""The funnel on four leads dated by hand: stage dates from the decayed score, both funnel types, timing,
cohorts, Kaplan–Meier with censoring, sales velocity."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl
import pytest

from analytics.sales.funnel import funnel, sales_velocity, time_to_convert
from analytics.sales.rules import parse_rules
from tests.sales.fixtures import days_ago, tiny_warehouse

RULES = parse_rules(
    """
[fit]
limit = 50
[engagement]
limit = 100
half_life_days = 10
+30 per webinar_attended
[grades]
fit_a = 30
fit_b = 10
engagement_1 = 30
engagement_2 = 10
[qualification]
mql = 25
sql = 50
"""
)
CREATED = days_ago(100)  # 2026-06-22 12:00


def at(days):
    return CREATED + timedelta(days=days)


@pytest.fixture(scope="module")
def stages_db(tmp_path_factory):
    contact = lambda cid: (cid, None, f"{cid}@x.com", cid, "Lead", "X", "Web", CREATED, None, None)  # noqa: E731
    return tiny_warehouse(
        tmp_path_factory.mktemp("funnel") / "funnel.duckdb",
        contacts=[contact("L1"), contact("L2"), contact("L3"), contact("L4")],
        touchpoints=[
            # L1: 30 at day 10 (MQL); 30·0.5 + 30 = 45 at day 20; 30·0.5^1.1 + 30·0.5^0.1 + 30 = 72.0 at day 21 (SQL)
            ("L1", "webinar", "webinar_attended", at(10)),
            ("L1", "webinar", "webinar_attended", at(20)),
            ("L1", "webinar", "webinar_attended", at(21)),
            ("L2", "webinar", "webinar_attended", at(10)),  # L2: MQL at day 10, never SQL
        ],
        opportunities=[
            ("O1", "L1", 1000.0, True, True, at(25), at(40).date()),  # won 2026-08-01 (day 39.5)
            ("O2", "L2", 3000.0, True, True, at(5), at(30).date()),  # before its MQL; won 2026-07-22 (day 29.5)
            ("O4", "L4", 500.0, True, False, at(10), at(20).date()),  # lost
        ],
    )


@pytest.fixture(scope="module")
def result(stages_db):
    con = duckdb.connect(stages_db, read_only=True)
    try:
        yield funnel(con, RULES)
    finally:
        con.close()


def test_both_funnel_types(result):
    stages = {row["stage"]: row for row in result.stages.iter_rows(named=True)}
    assert [stages[s]["any"] for s in ("lead", "mql", "sql", "opportunity", "won")] == [4, 2, 1, 3, 2]
    assert [stages[s]["ordered"] for s in ("lead", "mql", "sql", "opportunity", "won")] == [4, 2, 1, 1, 1]
    assert stages["mql"]["ordered_rate"] == pytest.approx(0.5) and stages["sql"]["ordered_rate"] == pytest.approx(0.5)
    assert stages["won"]["any_from_lead"] == pytest.approx(0.5)


def test_days_between_stages(result):
    timing = {(r["from_stage"], r["to_stage"]): r for r in result.timing.iter_rows(named=True)}
    assert timing[("lead", "mql")]["median_days"] == pytest.approx(10)
    assert timing[("mql", "sql")]["median_days"] == pytest.approx(11)
    assert timing[("sql", "opportunity")]["median_days"] == pytest.approx(4)
    # opportunity → won: L1 39.5 − 25 = 14.5, L2 29.5 − 5 = 24.5
    assert timing[("opportunity", "won")]["median_days"] == pytest.approx(19.5)
    assert timing[("opportunity", "won")]["p75_days"] == pytest.approx(22.0)


def test_cohorts_by_day(result):
    cohort = result.cohorts.filter(pl.col("created_month") == date(2026, 6, 1), pl.col("lead_source") == "Web")
    share = {(r["stage"], r["by_day"]): r["reached_share"] for r in cohort.iter_rows(named=True)}
    assert share[("mql", 30)] == pytest.approx(0.5)
    assert share[("won", 30)] == pytest.approx(0.25)  # only L2 by day 30
    assert share[("won", 60)] == pytest.approx(0.5)
    assert share[("opportunity", 30)] == pytest.approx(0.75)


def test_kaplan_meier_counts_still_open_leads(result):
    curve = time_to_convert(result.durations)
    by_day = dict(zip(curve["day"].to_list(), curve["converted_share"].to_list()))
    # L2 converts at day 30 (1 of 4 at risk), L1 at day 40 (1 of 3); L3, L4 censored at day 100
    assert by_day[29] == pytest.approx(0.0)
    assert by_day[30] == pytest.approx(0.25)
    assert by_day[40] == pytest.approx(1 - 0.75 * (2 / 3))
    assert by_day[365] == pytest.approx(0.5)  # not 2/4 of everyone: censored leads leave the risk set


def test_sales_velocity_by_hand(stages_db):
    con = duckdb.connect(stages_db, read_only=True)
    try:
        v = sales_velocity(con, date(2026, 6, 1), date(2026, 9, 30))
    finally:
        con.close()
    # 3 opportunities, 2 won of 3 closed, won values 1000 and 3000, days to win 15 and 25
    assert (v.opportunities, v.won, v.closed) == (3, 2, 3)
    assert v.average_won_value == pytest.approx(2000) and v.average_days_to_win == pytest.approx(20)
    assert v.per_day == pytest.approx(3 * 2000 * (2 / 3) / 20)
