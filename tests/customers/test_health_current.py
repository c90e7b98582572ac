"""The default scores read from ``_health_current`` (built at every load) equal the scores computed live.

``health_scores`` as of the data's last day reads the components every load stores for that day and
30 days before, and applies the weights on read; any other date, other key features, or a table
built for an older version of the warehouse computes them from the windows. Both must give the
same frame, row for row.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from analytics.customers import health
from analytics.customers.config import SPEC_CONFIG, HealthConfig
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import recording, run


def _live(con, config: HealthConfig, as_of, derived: bool):
    trend_from = as_of - timedelta(days=health.TREND_DAYS)
    params = health._params(con, config, as_of_dates=[trend_from, as_of], as_of=as_of, trend_from=trend_from)
    return run(con, health.CURRENT_SCORES[derived], params)


def _names(statements) -> set[str]:
    return {s["name"] for s in statements}


@pytest.mark.parametrize(
    "config",
    [SPEC_CONFIG, HealthConfig(weights=(0.1, 0.1, 0.2, 0.2, 0.3, 0.1), healthy_min=60.0, critical_below=45.0)],
    ids=["spec weights", "other weights and bands"],
)
def test_stored_default_scores_equal_the_live_ones(demo, config):
    last = health.data_range(demo)[1]
    with recording() as statements:
        stored = health.health_scores(demo, None, config)
    assert "customers.health_current_stored" in _names(statements)
    assert stored.height > 100 and stored["health_trend"].is_not_null().sum() > 100
    for derived in (True, False):  # from the marketing days and from the raw events
        live = _live(demo, config, last, derived)
        assert stored.equals(live), derived
    # the same weights make the same scores whichever way, so the bands really moved with the config
    if config is not SPEC_CONFIG:
        assert not stored["band"].equals(health.health_scores(demo)["band"])


def test_other_dates_and_key_features_are_computed_live(demo):
    last = health.data_range(demo)[1]
    earlier = last - timedelta(days=9)
    with recording() as statements:
        scores = health.health_scores(demo, earlier)
    assert "customers.health_current_stored" not in _names(statements)
    assert "customers.health_current" in _names(statements)
    assert scores.equals(_live(demo, SPEC_CONFIG, earlier, True))
    other_features = HealthConfig(key_features=("dashboards", "reports"))
    with recording() as statements:
        scores = health.health_scores(demo, last, other_features)
    assert "customers.health_current_stored" not in _names(statements)
    assert scores.equals(_live(demo, other_features, last, True))
    # two key features instead of six: feature adoption moves, so the stored table was rightly not used
    assert not scores["feature_adoption"].equals(health.health_scores(demo, last)["feature_adoption"])


def test_the_stored_table_holds_the_last_day_and_30_days_before(demo):
    last = health.data_range(demo)[1]
    dates = run(demo, f"select distinct as_of from {health.CURRENT_TABLE} order by as_of")["as_of"].to_list()
    assert dates == [last - timedelta(days=30), last]
    # the last day is copied from the weekly history, the other date computed: both as the history builds them
    copied = run(demo, f"select * from {health.CURRENT_TABLE} where as_of = $d order by account_id", {"d": last})
    history = run(demo, f"select * from {health.HISTORY_TABLE} where as_of = $d order by account_id", {"d": last})
    assert copied.equals(history) and copied.height > 100


def test_a_stale_table_is_not_read(demo_db, tmp_path):
    copy = tmp_path / "stale.duckdb"
    shutil.copy(demo_db, copy)
    con = connect(copy)
    try:
        # a change without a load: the derived tables no longer stand for the warehouse's version
        con.execute("update _meta set value = 'changed-by-hand' where key = 'version'")
        with recording() as statements:
            scores = health.health_scores(con)
        assert "customers.health_current_stored" not in _names(statements)
        assert scores.equals(_live(con, SPEC_CONFIG, health.data_range(con)[1], False))
    finally:
        con.close()
