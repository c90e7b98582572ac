"""The journey tables built at load time: their rows by hand, their freshness rule, and
attribution read from them equal to attribution joined from the raw tables."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import polars as pl
import pytest

from analytics.attribution.engine import (
    DIMENSIONS,
    MODELS,
    attribute,
    bootstrap_intervals,
    export_paths,
    journeys_with,
    top_paths,
)
from analytics.attribution.journeys import journeys_current
from analytics.loads import DERIVED, finish_load
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import run
from analytics.warehouse.schema import create_schema


@pytest.fixture()
def small(tmp_path):
    """One won deal with four touches (two tied at one second, one after the close), one won
    deal without touches, one lost deal."""
    con = connect(tmp_path / "small.duckdb")
    create_schema(con)
    con.executemany(
        "insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts) "
        "values (?, ?, ?, ?, ?, ?)",
        [
            ("T3", "C1", None, "email", None, datetime(2026, 3, 1, 10)),
            ("T1", "C1", "K1", "webinar", "webinar_attended", datetime(2026, 3, 1, 10)),
            ("T2", "C1", "K2", "display", "ad_click", datetime(2025, 12, 1, 8)),
            ("T4", "C1", "K2", "display", "ad_click", datetime(2026, 3, 6, 8)),
            ("T5", "C3", "K2", "display", "ad_click", datetime(2026, 2, 1, 8)),
        ],
    )
    con.executemany(
        "insert into contacts (contact_id, account_id, created_at) values (?, null, ?)",
        [("C1", datetime(2026, 2, 1)), ("C2", datetime(2026, 1, 1)), ("C3", datetime(2026, 1, 1))],
    )
    con.executemany(
        "insert into opportunities (opportunity_id, contact_id, amount, is_closed_won, is_closed, created_at, "
        "close_date) values (?, ?, ?, ?, true, ?, ?)",
        [
            ("O2", "C2", 50.0, True, datetime(2026, 1, 2), date(2026, 1, 31)),
            ("O1", "C1", None, True, datetime(2026, 3, 1, 9), date(2026, 3, 5)),
            ("O3", "C3", 70.0, False, datetime(2026, 2, 2), date(2026, 2, 20)),
        ],
    )
    yield con
    con.close()


def test_journey_tables_by_hand(small):
    assert not journeys_current(small)
    finish_load(small, "test")
    assert journeys_current(small)
    deals = run(small, "select journey_id, opportunity_id, revenue, month from _journey_deals order by journey_id")
    assert deals.rows() == [(1, "O1", 0.0, date(2026, 3, 1)), (2, "O2", 50.0, date(2026, 1, 1))]
    touches = run(
        small,
        "select journey_id, k, channel, campaign, touchpoint_type, days_before, before_lead, "
        "before_opportunity from _journey_touches order by journey_id, k",
    )
    # T4 is after the close; T1 and T3 tie at one second and order by touchpoint id
    assert touches.rows() == [
        (1, 1, "display", "K2", "ad_click", 94, True, True),
        (1, 2, "webinar", "K1", "webinar_attended", 4, False, False),
        (1, 3, "email", "(none)", "(none)", 4, False, False),
    ]


def test_a_load_without_a_stamp_is_not_read_from_stale_tables(small):
    finish_load(small, "test")
    small.execute("update _meta set value = 'changed by hand' where key = 'version'")
    assert not journeys_current(small)
    finish_load(small, "test")
    assert journeys_current(small)
    small.execute("drop table _journey_touches")
    assert not journeys_current(small)


@pytest.fixture(scope="module")
def loaded_and_raw(demo_db, tmp_path_factory):
    """The demo warehouse twice: as loaded, and with its journey tables marked stale."""
    raw_path = tmp_path_factory.mktemp("raw") / "raw.duckdb"
    shutil.copy(demo_db, raw_path)
    con = connect(raw_path)
    con.execute("delete from _meta where key = 'journeys_version'")
    con.close()
    loaded, raw = connect(demo_db, read_only=True), connect(raw_path, read_only=True)
    assert journeys_current(loaded) and not journeys_current(raw)
    yield loaded, raw
    loaded.close()
    raw.close()


WINDOW = {"close_from": date(2026, 1, 1), "close_to": date(2026, 6, 30)}


@pytest.mark.parametrize("by", DIMENSIONS)
def test_attribution_from_the_journey_tables_equals_the_raw_join(loaded_and_raw, by):
    loaded, raw = loaded_and_raw
    for kwargs in ({}, {"lookback_days": 30, "half_life_days": 3.0, "order": 2}, {**WINDOW, "by_month": True}):
        from_tables = attribute(loaded, MODELS, by=by, **kwargs)
        assert from_tables.equals(attribute(raw, MODELS, by=by, **kwargs)), kwargs
        assert from_tables.filter(pl.col("attributed_conversions") > 0).height > 10


def test_intervals_paths_and_journeys_from_the_journey_tables_equal_the_raw_join(loaded_and_raw):
    loaded, raw = loaded_and_raw
    models = ["first_touch", "w_shaped", "markov", "shapley"]
    assert bootstrap_intervals(loaded, models, n_boot=5, **WINDOW).equals(
        bootstrap_intervals(raw, models, n_boot=5, **WINDOW)
    )
    assert top_paths(loaded, by="campaign").equals(top_paths(raw, by="campaign"))
    assert journeys_with(loaded, "webinar").equals(journeys_with(raw, "webinar"))
    assert export_paths(loaded, **WINDOW).equals(export_paths(raw, **WINDOW))


def test_journey_tables_reconcile_with_the_raw_join(loaded_and_raw):
    loaded, _ = loaded_and_raw
    deals, touches = loaded.execute(
        """
        select (select count(*) from opportunities where is_closed_won and close_date is not null),
               (select count(*) from opportunities as o join touchpoints as t using (contact_id)
                where o.is_closed_won and t.ts < o.close_date + interval 1 day)
        """
    ).fetchall()[0]
    assert loaded.execute("select count(*) from _journey_deals").fetchall()[0][0] == deals
    assert loaded.execute("select count(*) from _journey_touches").fetchall()[0][0] == touches
    # k numbers each journey's touches 1..n
    assert (
        loaded.execute(
            "select count(*) from (select journey_id from _journey_touches group by journey_id "
            "having min(k) <> 1 or max(k) <> count(*))"
        ).fetchall()[0][0]
        == 0
    )


def test_cli_refresh_rebuilds_stale_journey_tables(demo_db, tmp_path, capsys):
    from analytics.cli import main

    path = tmp_path / "stale.duckdb"
    shutil.copy(demo_db, path)
    con = connect(path)
    con.execute("drop table _journey_touches")
    con.close()
    with pytest.raises(SystemExit) as exit_info:
        main(["refresh", "--db", str(path)])
    assert exit_info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "Rebuilt the derived tables" in out
    assert all(derived.name in out and all(t in out for t in derived.tables) for derived in DERIVED)
    con = connect(path, read_only=True)
    try:
        assert journeys_current(con)
        won = con.execute("select count(*) from opportunities where is_closed_won").fetchall()[0][0]
        assert con.execute("select count(*) from _journey_deals").fetchall()[0][0] == won
    finally:
        con.close()
    with pytest.raises(SystemExit) as exit_info:
        main(["refresh", "--db", str(tmp_path / "missing.duckdb")])
    assert exit_info.value.code == 2
    assert "No warehouse at" in capsys.readouterr().err


def test_concurrent_windows_on_cursors_of_one_connection_do_not_mix(loaded_and_raw):
    """The window's values live in session variables and temporary views: per cursor."""
    from concurrent.futures import ThreadPoolExecutor

    loaded, _ = loaded_and_raw
    lookbacks = [7, 30, 90, 180] * 3
    expected = {days: attribute(loaded.cursor(), ["linear", "w_shaped"], lookback_days=days) for days in set(lookbacks)}
    assert not expected[7].equals(expected[180])

    def run(days: int):
        cursor = loaded.cursor()
        try:
            return days, attribute(cursor, ["linear", "w_shaped"], lookback_days=days)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for days, result in pool.map(run, lookbacks):
            assert result.equals(expected[days]), days
