"""Attribution: known answers by hand for every model, the sum identity, determinism,
agreement with ChannelAttribution, path input and the CLI."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
from datetime import date, datetime

import duckdb
import numpy as np
import polars as pl
import pytest

from analytics.attribution.engine import (
    DIMENSIONS,
    MODELS,
    PATH_MODELS,
    RULE_MODELS,
    UNATTRIBUTED,
    attribute,
    attribute_paths,
    attribute_with_intervals,
    bootstrap_intervals,
    journeys_with,
    top_paths,
)
from analytics.attribution.journeys import journeys_current
from analytics.attribution.paths import detect_delimiter, read_paths
from analytics.attribution.shapley import shapley_credits
from analytics.core.errors import RevLensError
from analytics.customers.timeline import contact_timeline
from analytics.loads import finish_load
from analytics.warehouse.connection import connect
from analytics.warehouse.schema import create_schema

# --------------------------------------------------------------------------- a warehouse small enough to do by hand
#
# J1 (opportunity O1, 1000, closes 2026-01-31; contact created 2026-01-10 12:00, opportunity created 2026-01-20 12:00):
#    display 2025-09-01 (outside the 90-day lookback), email 01-01, paid_search 01-10 (lead touch),
#    webinar 01-15, events 01-20 (opportunity touch), direct 01-30.
# J2 (O2, 500, closes 2026-02-10): one direct touch; the contact was created before it (no lead touch).
# J3 (O3, 300, closes 2026-03-01): paid_social TP31 and email TP32 at the same second (tie -> touchpoint id).
# J4 (O4, 200, closes 2026-03-15): its only touch is 165 days earlier -> (unattributed).
# C5 has a lost opportunity: a non-converting journey (paid_search, display).

TOUCHES = [
    ("TP11", "C1", "K07", "display", "ad_click", datetime(2025, 9, 1, 9)),
    ("TP12", "C1", "K01", "email", "email_open", datetime(2026, 1, 1, 9)),
    ("TP13", "C1", "K02", "paid_search", "ad_click", datetime(2026, 1, 10, 9)),
    ("TP14", "C1", "K05", "webinar", "webinar_attended", datetime(2026, 1, 15, 9)),
    ("TP15", "C1", "K06", "events", "booth_visit", datetime(2026, 1, 20, 9)),
    ("TP16", "C1", "K08", "direct", "page_view", datetime(2026, 1, 30, 9)),
    ("TP21", "C2", "K08", "direct", "form_submit", datetime(2026, 2, 1, 9)),
    ("TP31", "C3", "K03", "paid_social", "ad_click", datetime(2026, 2, 20, 10)),
    ("TP32", "C3", "K01", "email", "email_click", datetime(2026, 2, 20, 10)),
    ("TP41", "C4", "K02", "paid_search", "ad_click", datetime(2025, 10, 1, 9)),
    ("TP51", "C5", "K02", "paid_search", "ad_click", datetime(2026, 1, 5, 9)),
    ("TP52", "C5", "K07", "display", "ad_click", datetime(2026, 1, 6, 9)),
]
CONTACTS = [
    ("C1", "A1", datetime(2026, 1, 10, 12)),
    ("C2", "A2", datetime(2026, 1, 1, 0)),
    ("C3", "A3", datetime(2026, 2, 20, 10)),
    ("C4", "A4", datetime(2025, 9, 1, 0)),
    ("C5", "A5", datetime(2026, 1, 1, 0)),
]
OPPORTUNITIES = [  # id, contact, account, amount, won, created, close
    ("O1", "C1", "A1", 1000.0, True, datetime(2026, 1, 20, 12), date(2026, 1, 31)),
    ("O2", "C2", "A2", 500.0, True, datetime(2026, 2, 5, 12), date(2026, 2, 10)),
    ("O3", "C3", "A3", 300.0, True, datetime(2026, 2, 25, 12), date(2026, 3, 1)),
    ("O4", "C4", "A4", 200.0, True, datetime(2026, 3, 1, 12), date(2026, 3, 15)),
    ("O5", "C5", "A5", 900.0, False, datetime(2026, 1, 7, 12), date(2026, 1, 20)),
]
AMOUNT = {"J1": 1000.0, "J2": 500.0, "J3": 300.0}

# Expected weights per journey, by hand (see the module docstring of analytics.attribution).
DECAY = {
    ch: 0.5 ** (d / 7) for ch, d in (("email", 30), ("paid_search", 21), ("webinar", 16), ("events", 11), ("direct", 1))
}
EXPECTED_WEIGHTS = {
    "first_touch": {"J1": {"email": 1}, "J2": {"direct": 1}, "J3": {"paid_social": 1}},
    "last_touch": {"J1": {"direct": 1}, "J2": {"direct": 1}, "J3": {"email": 1}},
    "last_non_direct": {"J1": {"events": 1}, "J2": {"direct": 1}, "J3": {"email": 1}},
    "linear": {"J1": dict.fromkeys(DECAY, 0.2), "J2": {"direct": 1}, "J3": {"paid_social": 0.5, "email": 0.5}},
    "time_decay": {
        "J1": {ch: w / sum(DECAY.values()) for ch, w in DECAY.items()},
        "J2": {"direct": 1},
        "J3": {"paid_social": 0.5, "email": 0.5},
    },
    "position_based": {
        "J1": {"email": 0.4, "direct": 0.4, "paid_search": 0.2 / 3, "webinar": 0.2 / 3, "events": 0.2 / 3},
        "J2": {"direct": 1},
        "J3": {"paid_social": 0.5, "email": 0.5},
    },
    # milestones first (email), lead (paid_search), opportunity (events): 30% each, 10% over 2 others
    "w_shaped": {
        "J1": {"email": 0.3, "paid_search": 0.3, "events": 0.3, "webinar": 0.05, "direct": 0.05},
        "J2": {"direct": 1},
        "J3": {"paid_social": 0.5, "email": 0.5},
    },
    # plus the last (direct): 22.5% each, 10% to webinar
    "full_path": {
        "J1": {"email": 0.225, "paid_search": 0.225, "events": 0.225, "direct": 0.225, "webinar": 0.1},
        "J2": {"direct": 1},
        "J3": {"paid_social": 0.5, "email": 0.5},
    },
}


def _expected(model: str) -> dict[str, tuple[float, float]]:
    totals: dict[str, list[float]] = {}
    for journey, weights in EXPECTED_WEIGHTS[model].items():
        for channel, weight in weights.items():
            conv, rev = totals.setdefault(channel, [0.0, 0.0])
            totals[channel] = [conv + weight, rev + weight * AMOUNT[journey]]
    totals[UNATTRIBUTED] = [1.0, 200.0]
    return {k: (v[0], v[1]) for k, v in totals.items()}


# "raw": rows inserted without a load stamp, so attribution joins the raw tables;
# "loaded": stamped with bump_version, so it reads the journey tables (analytics.journeys).
LOAD_STATES = ["raw", "loaded"]


def _finish_load(con: duckdb.DuckDBPyConnection, state: str) -> None:
    if state == "loaded":
        finish_load(con, "test")
        assert journeys_current(con)
    else:
        assert not journeys_current(con)


@pytest.fixture(scope="module", params=LOAD_STATES)
def hand_db(request, tmp_path_factory) -> duckdb.DuckDBPyConnection:
    path = tmp_path_factory.mktemp("hand") / "hand.duckdb"
    con = connect(path)
    create_schema(con)
    con.executemany(
        "insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts) "
        "values (?, ?, ?, ?, ?, ?)",
        TOUCHES,
    )
    con.executemany("insert into contacts (contact_id, account_id, created_at) values (?, ?, ?)", CONTACTS)
    con.executemany(
        "insert into opportunities (opportunity_id, contact_id, account_id, amount, is_closed_won, "
        "created_at, close_date, is_closed) values (?, ?, ?, ?, ?, ?, ?, true)",
        OPPORTUNITIES,
    )
    _finish_load(con, request.param)
    con.close()
    con = connect(path, read_only=True)
    yield con
    con.close()


def _as_dict(result: pl.DataFrame, by: str = "channel") -> dict[str, tuple[float, float]]:
    return {
        row[by]: (row["attributed_conversions"], row["attributed_revenue"])
        for row in result.iter_rows(named=True)
        if row["attributed_conversions"] or row["attributed_revenue"] or row[by] == UNATTRIBUTED
    }


@pytest.mark.parametrize("model", RULE_MODELS)
def test_rule_models_known_answer(hand_db, model):
    got = _as_dict(attribute(hand_db, [model]))
    want = _expected(model)
    assert got.keys() == want.keys()
    for key, (conv, rev) in want.items():
        assert got[key][0] == pytest.approx(conv, abs=1e-12), key
        assert got[key][1] == pytest.approx(rev, abs=1e-9), key


def test_time_decay_half_life_changes_weights(hand_db):
    slow = _as_dict(attribute(hand_db, ["time_decay"], half_life_days=1e9))
    # an effectively infinite half-life is linear
    for key, value in _expected("linear").items():
        assert slow[key][0] == pytest.approx(value[0], abs=1e-6)


def test_lookback_window_moves_touches_in_and_out(hand_db):
    # 200 days take J4's touch in (165 days before) and J1's display touch (152 days before) too
    wide = _as_dict(attribute(hand_db, ["first_touch"], lookback_days=200))
    assert wide[UNATTRIBUTED] == (0.0, 0.0)
    assert wide["paid_search"] == (1.0, 200.0)
    assert wide["display"] == (1.0, 1000.0)
    # 0 days: only touches on the close day; none here
    none = _as_dict(attribute(hand_db, ["linear"], lookback_days=0))
    assert none == {UNATTRIBUTED: (4.0, 2000.0)}


def test_close_window_and_by_month(hand_db):
    feb = _as_dict(attribute(hand_db, ["linear"], close_from=date(2026, 2, 1), close_to=date(2026, 2, 28)))
    assert feb == {"direct": (1.0, 500.0), UNATTRIBUTED: (0.0, 0.0)}
    monthly = attribute(hand_db, ["last_touch"], by_month=True)
    assert (
        monthly.filter(pl.col("month") == date(2026, 3, 1), pl.col("channel") == "email")["attributed_revenue"][0]
        == 300.0
    )


@pytest.mark.parametrize(
    ("by", "key", "want"),
    [
        ("campaign", "K08", 1500.0),  # direct's campaign is last in J1 and J2
        ("touchpoint_type", "page_view", 1000.0),
    ],
)
def test_other_dimensions(hand_db, by, key, want):
    got = _as_dict(attribute(hand_db, ["last_touch"], by=by), by)
    assert got[key][1] == want


def test_markov_on_the_hand_warehouse(hand_db):
    # journeys: J1 email>paid_search>webinar>events>direct, J2 direct, J3 paid_social>email (converting),
    # C5 paid_search>display (null). Absorption: P(direct)=P(events)=P(webinar)=1, P(display)=0,
    # P(paid_search)=1/2, P(email)=P(paid_social)=3/4, P(start)=(3/4+1+3/4+1/2)/4=3/4.
    # Removal effects: email 1/2, direct 2/3, paid_search=webinar=events 1/3, paid_social 1/4, display 0;
    # sum 29/12, so conversions 3 * RE * 12/29. Value (direct ends 1500 over 2 moves, email 300 over 2):
    # RE email 3/8, direct 5/6, paid_search=webinar=events 5/12, paid_social 3/16; sum 127/48.
    got = _as_dict(attribute(hand_db, ["markov"]))
    want_conversions = {
        "email": 18 / 29,
        "direct": 24 / 29,
        "paid_search": 12 / 29,
        "webinar": 12 / 29,
        "events": 12 / 29,
        "paid_social": 9 / 29,
    }
    want_revenue = {
        "email": 18 * 1800 / 127,
        "direct": 40 * 1800 / 127,
        "paid_search": 20 * 1800 / 127,
        "webinar": 20 * 1800 / 127,
        "events": 20 * 1800 / 127,
        "paid_social": 9 * 1800 / 127,
    }
    for channel in want_conversions:
        assert got[channel][0] == pytest.approx(want_conversions[channel], rel=1e-12), channel
        assert got[channel][1] == pytest.approx(want_revenue[channel], rel=1e-12), channel
    assert got[UNATTRIBUTED] == (1.0, 200.0)
    assert "display" not in got  # only on a non-converting path: removal effect 0


def test_shapley_on_the_hand_warehouse(hand_db):
    # channel sets: J1 {direct, email, events, paid_search, webinar} CR 1, J2 {direct} CR 1,
    # J3 {email, paid_social} CR 1, C5 {display, paid_search} CR 0; phi = sum of CR(T)/|T|
    got = _as_dict(attribute(hand_db, ["shapley"]))
    want = {
        "direct": (1.2, 700.0),
        "email": (0.7, 350.0),
        "events": (0.2, 200.0),
        "paid_search": (0.2, 200.0),
        "webinar": (0.2, 200.0),
        "paid_social": (0.5, 150.0),
        UNATTRIBUTED: (1.0, 200.0),
    }
    assert got.keys() == want.keys()
    for key, (conv, rev) in want.items():
        assert got[key] == pytest.approx((conv, rev), rel=1e-12), key


# --------------------------------------------------------------------------- Markov and Shapley by hand (path input)


def _paths(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "path": [r[0].split(">") for r in rows],
            "conversions": [float(r[1]) for r in rows],
            "revenue": [float(r[2]) for r in rows],
            "nulls": [float(r[3]) for r in rows],
            "nulls_known": True,
        }
    )


HAND_PATHS = [("a>b", 1, 10, 0), ("a", 0, 0, 1), ("b", 1, 30, 1)]


def test_markov_order_1_known_answer():
    # start->a 2, start->b 2; a->b 1, a->null 1; b->conv 2, b->null 1.
    # P = .5 * .5 * 2/3 + .5 * 2/3 = 1/2; without a: 1/3 (RE 1/3); without b: 0 (RE 1).
    # conversions 2 * (1/3, 1) / (4/3) = (0.5, 1.5); value 40 likewise -> (10, 30).
    got = _as_dict(attribute_paths(_paths(HAND_PATHS), ["markov"]))
    assert got["a"] == pytest.approx((0.5, 10.0))
    assert got["b"] == pytest.approx((1.5, 30.0))


def test_markov_order_2_known_answer():
    # states (a), (a,b), (b): P = .5 * .5 * 1 + .5 * .5 = .5; without a: .25 (RE .5); without b: 0 (RE 1)
    got = _as_dict(attribute_paths(_paths(HAND_PATHS), ["markov"], order=2))
    assert got["a"][0] == pytest.approx(2 / 3)
    assert got["b"][0] == pytest.approx(4 / 3)


def test_markov_repeated_channel_is_a_self_loop():
    loop = _as_dict(attribute_paths(_paths([("a>a>b", 1, 10, 0), ("a", 0, 0, 1), ("b>b", 1, 30, 1)]), ["markov"]))
    plain = _as_dict(attribute_paths(_paths(HAND_PATHS), ["markov"]))
    for key in ("a", "b"):
        assert loop[key] == pytest.approx(plain[key])


def test_shapley_known_answer():
    # CR({a}) = 1/2, CR({a,b}) = 1, CR({b}) = 0: phi_a = 1/2 + 1/2 = 1, phi_b = 1/2 -> 2 * (2/3, 1/3)
    got = _as_dict(attribute_paths(_paths([("a", 1, 10, 1), ("a>b", 1, 20, 0), ("b", 0, 0, 1)]), ["shapley"]))
    assert got["a"][0] == pytest.approx(4 / 3)
    assert got["b"][0] == pytest.approx(2 / 3)
    # value rates: {a} 5, {a,b} 20 -> phi_a = 5 + 10 = 15, phi_b = 10 -> 30 * (0.6, 0.4)
    assert got["a"][1] == pytest.approx(18.0)
    assert got["b"][1] == pytest.approx(12.0)


def _coalition_shapley(rates: dict[frozenset, float], players: list[str]) -> dict[str, float]:
    """The textbook Shapley sum over all coalitions of v(S) = sum of rates of subsets of S."""
    n = len(players)

    def v(coalition: frozenset) -> float:
        return sum(rate for subset, rate in rates.items() if subset <= coalition)

    values = {}
    for player in players:
        others = [p for p in players if p != player]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                s = frozenset(coalition)
                total += weight * (v(s | {player}) - v(s))
        values[player] = total
    return values


def test_shapley_closed_form_equals_coalition_sum():
    rng = np.random.default_rng(3)
    players = ["a", "b", "c", "d", "e"]
    rows, rates = [], {}
    for size in (1, 2, 3, 5):
        for combo in itertools.combinations(players, size):
            journeys = int(rng.integers(1, 20))
            conversions = int(rng.integers(0, journeys + 1))
            rows.append(
                {
                    "channels": list(combo),
                    "conversions": float(conversions),
                    "revenue": 0.0,
                    "journeys": float(journeys),
                }
            )
            rates[frozenset(combo)] = conversions / journeys
    closed = shapley_credits(pl.DataFrame(rows), 1.0, 0.0)
    exact = _coalition_shapley(rates, players)
    for row in closed.iter_rows(named=True):
        assert row["shapley_conversion_rate"] == pytest.approx(exact[row["key"]], rel=1e-12)


# --------------------------------------------------------------------------- the demo warehouse: identities


@pytest.fixture(scope="module")
def demo(demo_db) -> duckdb.DuckDBPyConnection:
    con = connect(demo_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def demo_totals(demo) -> tuple[int, float]:
    count, amount = demo.execute("select count(*), sum(amount) from opportunities where is_closed_won").fetchall()[0]
    return count, amount


@pytest.mark.parametrize("by", DIMENSIONS)
def test_sum_identity_every_model(demo, demo_totals, by):
    result = attribute(demo, MODELS, by=by)
    sums = result.group_by("model").agg(pl.col("attributed_conversions", "attributed_revenue").sum())
    assert sorted(sums["model"]) == sorted(MODELS)
    for row in sums.iter_rows(named=True):
        assert row["attributed_conversions"] == pytest.approx(demo_totals[0], rel=1e-9), row["model"]
        assert row["attributed_revenue"] == pytest.approx(demo_totals[1], rel=1e-9), row["model"]
    assert (result["attributed_conversions"] >= -1e-9).all()


@pytest.mark.parametrize("order", [2, 3])
def test_sum_identity_higher_order_markov_and_account_level(demo, demo_totals, order):
    result = attribute(demo, ["markov", "w_shaped"], order=order, account_level=True, lookback_days=30)
    for model in ("markov", "w_shaped"):
        part = result.filter(pl.col("model") == model)
        assert part["attributed_conversions"].sum() == pytest.approx(demo_totals[0], rel=1e-9)
        assert part["attributed_revenue"].sum() == pytest.approx(demo_totals[1], rel=1e-9)


def test_by_month_adds_up_and_window_totals(demo):
    window = {"close_from": date(2026, 1, 1), "close_to": date(2026, 6, 30)}
    whole = attribute(demo, MODELS, **window)
    monthly = attribute(demo, MODELS, by_month=True, **window)
    assert monthly["month"].dt.day().unique().to_list() == [1]
    folded = monthly.group_by("channel", "model").agg(pl.col("attributed_conversions", "attributed_revenue").sum())
    joined = whole.join(folded, on=["channel", "model"], how="full", coalesce=True).fill_null(0.0)
    assert np.allclose(joined["attributed_conversions"], joined["attributed_conversions_right"], rtol=1e-9, atol=1e-9)
    assert np.allclose(joined["attributed_revenue"], joined["attributed_revenue_right"], rtol=1e-9, atol=1e-6)
    count, amount = demo.execute(
        "select count(*), sum(amount) from opportunities where is_closed_won and close_date between ? and ?",
        [window["close_from"], window["close_to"]],
    ).fetchall()[0]
    per_model = whole.group_by("model").agg(pl.col("attributed_conversions", "attributed_revenue").sum())
    assert np.allclose(per_model["attributed_conversions"], count)
    assert np.allclose(per_model["attributed_revenue"], amount)


def test_deterministic(demo):
    first = attribute(demo, MODELS, by="campaign", order=2)
    second = attribute(demo, MODELS, by="campaign", order=2)
    assert first.equals(second)
    a = bootstrap_intervals(demo, ["linear", "markov", "shapley"], n_boot=20, seed=5)
    b = bootstrap_intervals(demo, ["linear", "markov", "shapley"], n_boot=20, seed=5)
    assert a.equals(b)


@pytest.mark.parametrize(
    "models, interval_models",
    [
        (("linear", "first_touch", "time_decay"), ("linear",)),
        (("w_shaped", "markov"), ("shapley", "last_touch")),
    ],
)
def test_one_journey_build_gives_the_same_credits_and_intervals(demo, models, interval_models):
    window = {"by": "campaign", "close_from": date(2026, 1, 1), "close_to": date(2026, 6, 30)}
    credits, intervals = attribute_with_intervals(
        demo, models, interval_models, n_boot=10, seed=3, by_month=True, **window
    )
    assert credits.equals(attribute(demo, models, by_month=True, **window))
    assert intervals.equals(bootstrap_intervals(demo, interval_models, n_boot=10, seed=3, **window))


def test_bootstrap_intervals_bracket_the_estimate(demo):
    point = attribute(demo, ["linear", "markov", "shapley"])
    intervals = bootstrap_intervals(demo, ["linear", "markov", "shapley"], n_boot=60, seed=1)
    assert intervals.columns == [
        "channel",
        "model",
        "conversions_low",
        "conversions_high",
        "revenue_low",
        "revenue_high",
    ]
    joined = point.join(intervals, on=["channel", "model"])
    assert joined.height == point.height
    assert (joined["conversions_low"] <= joined["conversions_high"]).all()
    big = joined.filter(pl.col("attributed_conversions") > 5)
    inside = (big["conversions_low"] <= big["attributed_conversions"] * 1.001) & (
        big["attributed_conversions"] <= big["conversions_high"] * 1.001
    )
    assert inside.mean() >= 0.9
    assert (big["conversions_high"] > big["conversions_low"]).all()


def test_bootstrap_skips_a_markov_chain_too_large_to_resample(demo, monkeypatch):
    from analytics.attribution import bootstrap as attribution

    full = bootstrap_intervals(demo, ["linear", "markov"], n_boot=5)
    assert full["revenue_low"].null_count() == 0
    monkeypatch.setattr(attribution, "MAX_BOOTSTRAP_STATES", 3)  # the channel chain has 9 states
    skipped = bootstrap_intervals(demo, ["linear", "markov"], n_boot=5)
    markov = skipped.filter(pl.col("model") == "markov", pl.col("channel") != UNATTRIBUTED)
    assert (
        markov.height == 8 and markov["revenue_low"].null_count() == 8 and markov["conversions_high"].null_count() == 8
    )
    others = skipped.filter((pl.col("model") != "markov") | (pl.col("channel") == UNATTRIBUTED))
    assert others.equals(full.filter((pl.col("model") != "markov") | (pl.col("channel") == UNATTRIBUTED)))


def test_bootstrap_on_hand_warehouse_is_exact_when_all_journeys_agree(hand_db):
    # every replicate draws 4 conversions; unattributed is O4 only, so its count ranges within [0, 4]
    intervals = bootstrap_intervals(hand_db, ["first_touch"], n_boot=50, seed=0)
    row = intervals.filter(pl.col("channel") == UNATTRIBUTED).row(0, named=True)
    assert 0 <= row["conversions_low"] <= row["conversions_high"] <= 4
    assert row["revenue_high"] == pytest.approx(row["conversions_high"] * 200.0)


# --------------------------------------------------------------------------- agreement with ChannelAttribution


@pytest.fixture(scope="module")
def random_paths() -> pl.DataFrame:
    rng = np.random.default_rng(11)
    channels = ["email", "search", "social", "display", "direct"]
    quality = np.array([0.3, 0.5, 0.2, 0.05, 0.1])
    rows = {}
    for _ in range(3000):
        length = int(rng.integers(1, 6))
        picks = rng.integers(0, len(channels), length)
        key = ">".join(channels[i] for i in picks)
        converted = rng.random() < quality[picks].mean()
        conv, value, null = rows.get(key, (0, 0.0, 0))
        rows[key] = (
            conv + converted,
            value + (float(rng.integers(1, 100)) if converted else 0.0),
            null + (not converted),
        )
    return pl.DataFrame(
        {
            "path": list(rows),
            "total_conversions": [v[0] for v in rows.values()],
            "total_conversion_value": [v[1] for v in rows.values()],
            "total_null": [v[2] for v in rows.values()],
        }
    )


def _path_input(random_paths) -> pl.DataFrame:
    return random_paths.select(
        pl.col("path").str.split(">"),
        pl.col("total_conversions").cast(pl.Float64).alias("conversions"),
        pl.col("total_conversion_value").alias("revenue"),
        pl.col("total_null").cast(pl.Float64).alias("nulls"),
        pl.lit(True).alias("nulls_known"),
    )


def _ours(random_paths, models):
    return attribute_paths(_path_input(random_paths), models)


@pytest.mark.parametrize("order", [1, 3])
def test_markov_dense_and_iterative_solves_agree(random_paths, monkeypatch, order):
    from analytics.attribution import markov

    frame = _path_input(random_paths)
    dense = attribute_paths(frame, ["markov"], order=order)
    monkeypatch.setattr(markov, "DENSE_STATES", 0)
    iterative = attribute_paths(frame, ["markov"], order=order)
    assert dense["channel"].to_list() == iterative["channel"].to_list()
    assert (dense["attributed_conversions"] > 0).sum() >= 4  # repeated channels: the chain has self-loops
    for column in ("attributed_conversions", "attributed_revenue"):
        assert np.allclose(dense[column], iterative[column], rtol=1e-12, atol=1e-9)


def test_heuristics_equal_channelattribution(random_paths):
    ca = pytest.importorskip("ChannelAttribution")
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = pl.from_pandas(
            ca.heuristic_models(
                random_paths.to_pandas(), "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
            )
        )
    ours = _ours(random_paths, ["first_touch", "last_touch", "linear"])
    for model, prefix in (("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")):
        mine = dict(ours.filter(pl.col("model") == model).select("channel", "attributed_conversions").iter_rows())
        mine_value = dict(ours.filter(pl.col("model") == model).select("channel", "attributed_revenue").iter_rows())
        for row in theirs.iter_rows(named=True):
            assert mine[row["channel_name"]] == pytest.approx(row[f"{prefix}_conversions"], rel=1e-9)
            assert mine_value[row["channel_name"]] == pytest.approx(row[f"{prefix}_value"], rel=1e-9)


def test_markov_agrees_with_channelattribution(random_paths):
    ca = pytest.importorskip("ChannelAttribution")
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = ca.markov_model(
            random_paths.to_pandas(),
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            max_step=200,
            nsim_start=1e6,
            verbose=False,
            flg_pro=False,
        )
    theirs = pl.from_pandas(theirs)
    ours = _ours(random_paths, ["markov"]).filter(pl.col("model") == "markov")
    mine = {row["channel"]: row for row in ours.iter_rows(named=True)}
    for row in theirs.iter_rows(named=True):
        # ChannelAttribution simulates paths; 2% is well above its noise at 1e6 simulations
        assert mine[row["channel_name"]]["attributed_conversions"] == pytest.approx(row["total_conversions"], rel=0.02)
        assert mine[row["channel_name"]]["attributed_revenue"] == pytest.approx(row["total_conversion_value"], rel=0.02)


# --------------------------------------------------------------------------- path files and the CLI


def test_read_paths_detects_delimiter_and_trims(tmp_path):
    file = tmp_path / "paths.tsv"
    file.write_text(
        "path\ttotal_conversions\ttotal_conversion_value\ttotal_null\nemail > search\t2\t20.5\t3\nsearch\t0\t0\t4\n"
    )
    frame = read_paths(file)
    assert frame["path"].to_list() == [["email", "search"], ["search"]]
    assert frame["revenue"].to_list() == [20.5, 0.0]
    assert frame["nulls_known"].all()
    assert detect_delimiter("a;b;c\n1;2;3\n") == ";"
    assert detect_delimiter("path|total_conversions\na>b|1\n") == "|"


def test_read_paths_errors_are_sentences(tmp_path):
    file = tmp_path / "paths.csv"
    file.write_text("journey,conv\na>b,1\n")
    with pytest.raises(RevLensError, match="no column 'path'.*--path-col"):
        read_paths(file)
    file.write_text("path,total_conversions\na>b,x\n")
    with pytest.raises(RevLensError, match="non-numeric or negative 'total_conversions' on data row 1"):
        read_paths(file)
    file.write_text("path,total_conversions\na>>b,1\n")
    with pytest.raises(RevLensError, match="empty channel on data row 1"):
        read_paths(file)
    file.write_text("path,total_conversions\na>b,1\n")
    with pytest.raises(RevLensError, match="non-converting"):
        attribute_paths(read_paths(file), ["markov"])
    with pytest.raises(RevLensError, match="path input lacks"):
        attribute_paths(read_paths(file), ["w_shaped"])


def test_bad_parameters_are_sentences(hand_db):
    with pytest.raises(RevLensError, match="Unknown attribution model"):
        attribute(hand_db, ["magic"])
    with pytest.raises(RevLensError, match="Unknown dimension"):
        attribute(hand_db, ["linear"], by="region")
    with pytest.raises(RevLensError, match="order 4"):
        attribute(hand_db, ["markov"], order=4)
    with pytest.raises(RevLensError, match="half-life"):
        attribute(hand_db, ["time_decay"], half_life_days=0)


def _cli(args: list[str]) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from analytics.cli import app

    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr if result.stderr_bytes is not None else ""


def test_cli_json_from_paths(tmp_path):
    file = tmp_path / "paths.csv"
    file.write_text(
        "path;total_conversions;total_conversion_value;total_null\n"
        + "\n".join(f"{p.replace('>', ' > ')};{c};{v};{n}" for p, c, v, n in HAND_PATHS)
        + "\n"
    )
    code, out, _ = _cli(["attribution", "--paths", str(file), "--model", "markov,linear", "--format", "json"])
    assert code == 0, out
    records = json.loads(out)
    assert set(records[0]) == {"channel", "model", "attributed_conversions", "attributed_revenue"}
    markov = {r["channel"]: r["attributed_conversions"] for r in records if r["model"] == "markov"}
    assert markov["a"] == pytest.approx(0.5)


def test_cli_warehouse_csv_and_errors(demo_db):
    code, out, _ = _cli(
        [
            "attribution",
            "--db",
            demo_db,
            "--model",
            "all",
            "--by",
            "touchpoint_type",
            "--format",
            "csv",
            "--order",
            "2",
            "--lookback-days",
            "60",
            "--half-life-days",
            "3",
        ]
    )
    assert code == 0, out
    frame = pl.read_csv(io.StringIO(out))
    assert frame.columns == ["touchpoint_type", "model", "attributed_conversions", "attributed_revenue"]
    assert sorted(frame["model"].unique()) == sorted(MODELS)
    code, _, _ = _cli(["attribution", "--db", demo_db, "--model", "bogus"])
    assert code != 0


def test_cli_main_prints_one_sentence(tmp_path, capsys):
    from analytics.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["attribution", "--paths", str(tmp_path / "missing.csv"), "--model", "linear"])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- page helpers


def test_top_paths_and_journeys(hand_db):
    paths = top_paths(hand_db)
    assert paths["conversions"].sum() == 3
    assert "paid_social > email" in paths["path"].to_list()
    journeys = journeys_with(hand_db, "email")
    assert sorted(journeys["opportunity_id"]) == ["O1", "O3"]
    timeline = contact_timeline(hand_db, "C1")
    assert timeline.filter(pl.col("source") == "touchpoint").height == 6
    assert timeline["ts"].is_sorted()
    assert set(PATH_MODELS) <= set(MODELS)


def test_exported_paths_give_the_same_markov_and_heuristics(demo):
    from analytics.attribution.engine import export_paths
    from analytics.attribution.paths import path_frame

    window = {"close_from": date(2026, 1, 1), "close_to": date(2026, 6, 30)}
    exported = export_paths(demo, **window)
    assert exported.columns == ["path", "total_conversions", "total_conversion_value", "total_null"]
    from_paths = attribute_paths(path_frame(exported), ["markov", "shapley", "linear", "first_touch"])
    from_warehouse = attribute(demo, ["markov", "shapley", "linear", "first_touch"], **window)
    joined = from_warehouse.join(from_paths, on=["channel", "model"])
    attributed = joined.filter(pl.col("channel") != UNATTRIBUTED)
    assert attributed.height == from_warehouse.height - 4
    assert np.allclose(attributed["attributed_conversions"], attributed["attributed_conversions_right"], rtol=1e-9)
    assert np.allclose(attributed["attributed_revenue"], attributed["attributed_revenue_right"], rtol=1e-9)


def test_shapley_channel_sets_as_bits_or_strings_agree(demo, monkeypatch):
    import analytics.attribution.chains as engine

    with_bits = attribute(demo, ["shapley"], by="campaign")
    boot_bits = bootstrap_intervals(demo, ["shapley"], by="campaign", n_boot=5)
    monkeypatch.setattr(engine, "MAX_BITMASK_KEYS", 2)  # 40 campaigns: falls back to strings
    assert with_bits.equals(attribute(demo, ["shapley"], by="campaign"))
    assert boot_bits.equals(bootstrap_intervals(demo, ["shapley"], by="campaign", n_boot=5))


def test_account_level_pools_an_accounts_contacts_and_keeps_deals_without_account(tmp_path):
    path = tmp_path / "accounts.duckdb"
    con = connect(path)
    create_schema(con)
    con.executemany(
        "insert into contacts (contact_id, account_id, created_at) values (?, ?, ?)",
        [
            ("C1", "A1", datetime(2026, 1, 1)),
            ("C2", "A1", datetime(2026, 1, 1)),
            ("C3", None, datetime(2026, 1, 1)),
            ("C4", None, datetime(2026, 1, 1)),
        ],
    )
    con.executemany(
        "insert into touchpoints (touchpoint_id, contact_id, channel, ts) values (?, ?, ?, ?)",
        [
            ("T1", "C1", "email", datetime(2026, 1, 2)),
            ("T2", "C2", "webinar", datetime(2026, 1, 3)),
            ("T3", "C3", "events", datetime(2026, 1, 4)),
            ("T4", "C4", "display", datetime(2026, 1, 4)),
        ],
    )
    con.executemany(
        "insert into opportunities (opportunity_id, contact_id, account_id, amount, is_closed_won, "
        "created_at, close_date) values (?, ?, ?, ?, true, ?, ?)",
        [
            ("O1", "C1", "A1", 100.0, datetime(2026, 1, 5), date(2026, 1, 10)),
            ("O3", "C3", None, 60.0, datetime(2026, 1, 5), date(2026, 1, 10)),
        ],
    )
    con.close()
    con = connect(path, read_only=True)
    try:
        contact = _as_dict(attribute(con, ["linear", "markov"]))
        account = attribute(con, ["linear", "markov"], account_level=True)
    finally:
        con.close()
    # contact level: O1 has only C1's email touch; account level: C2's webinar touch joins it
    assert contact["email"] == (1.0, 100.0)
    linear = _as_dict(account.filter(pl.col("model") == "linear"))
    assert linear == {"email": (0.5, 50.0), "webinar": (0.5, 50.0), "events": (1.0, 60.0), UNATTRIBUTED: (0.0, 0.0)}
    # C4 (no account, no deal) is its own non-converting journey, not merged with others
    markov = account.filter(pl.col("model") == "markov")
    assert markov["attributed_conversions"].sum() == pytest.approx(2.0)
    assert dict(markov.select("channel", "attributed_conversions").iter_rows()).get("display", 0.0) == 0.0


@pytest.mark.parametrize("by_month", [False, True])
def test_a_window_without_deals(hand_db, by_month):
    result = attribute(hand_db, MODELS, close_from=date(2030, 1, 1), close_to=date(2030, 12, 31), by_month=by_month)
    assert result["attributed_conversions"].sum() == 0
    if not by_month:
        assert result.filter(pl.col("channel") == UNATTRIBUTED).height == len(MODELS)
    else:
        assert result.columns == ["channel", "month", "model", "attributed_conversions", "attributed_revenue"]


def test_bootstrap_of_a_window_without_deals(hand_db):
    intervals = bootstrap_intervals(hand_db, MODELS, n_boot=3, close_from=date(2030, 1, 1), close_to=date(2030, 1, 2))
    assert intervals.columns == [
        "channel",
        "model",
        "conversions_low",
        "conversions_high",
        "revenue_low",
        "revenue_high",
    ]
    assert (intervals["conversions_high"] == 0).all()


@pytest.mark.parametrize("state", LOAD_STATES)
def test_touch_order_ties_and_touches_before_1970(tmp_path, state):
    """Three touches at one second (ids inserted out of order) and one before 1970: the first
    touch is the earliest, the last the highest touchpoint id among the tied latest ones."""
    path = tmp_path / "ties.duckdb"
    con = connect(path)
    create_schema(con)
    con.executemany(
        "insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts) "
        "values (?, 'C1', null, ?, 'visit', ?)",
        [
            ("T9", "email", datetime(1970, 1, 5, 12)),
            ("T2", "display", datetime(1969, 12, 20)),
            ("T7", "webinar", datetime(1970, 1, 5, 12)),
            ("T8", "events", datetime(1970, 1, 5, 12)),
        ],
    )
    con.execute("insert into contacts (contact_id, account_id, created_at) values ('C1', null, '1969-12-01')")
    con.execute(
        "insert into opportunities (opportunity_id, contact_id, account_id, amount, is_closed_won, created_at, "
        "close_date, is_closed) values ('O1', 'C1', null, 100, true, '1970-01-02', '1970-01-10', true)"
    )
    _finish_load(con, state)
    con.close()
    con = connect(path, read_only=True)
    try:
        first = _as_dict(attribute(con, ["first_touch"]))
        last = _as_dict(attribute(con, ["last_touch"]))
        paths = top_paths(con)
    finally:
        con.close()
    assert first["display"] == (1.0, 100.0)
    assert last["email"] == (1.0, 100.0)  # T9 > T8 > T7 at the same second
    assert paths["path"].to_list() == ["display > webinar > events > email"]
