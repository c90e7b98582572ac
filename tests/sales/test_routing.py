"""Routing on hand-made leads and reps: territories, rotation, ties, capacity, time off, weights, owners, rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from analytics.core.errors import RevLensError
from analytics.sales.routing import RoutingConfig, RoutingRule, assign, fairness, parse_routing
from analytics.sales.store import skipped_map

START = datetime(2026, 9, 1, 9, 0)
NO_TIME_OFF = pl.DataFrame(schema={"rep_id": pl.String, "starts_on": pl.Date, "ends_on": pl.Date, "reason": pl.String})
BASE = RoutingConfig(method="round_robin", match_accounts="customers", high_score=None)


def reps(*rows) -> pl.DataFrame:
    """rows: (rep_id, territory, segment, seniority, capacity)."""
    return pl.DataFrame(
        [(r[0], f"Rep {r[0]}", *r[1:]) for r in rows],
        schema=["rep_id", "name", "territory", "segment", "seniority", "capacity"],
        orient="row",
    )


def leads(n, region="EMEA", segment="SMB", start=START, step=timedelta(hours=1), **columns) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "contact_id": [f"L{i:03d}" for i in range(n)],
            "created_at": [start + i * step for i in range(n)],
            "region": [region] * n,
            "segment": [segment] * n,
            "lead_source": ["Web"] * n,
            "account_owner_id": [None] * n,
            "account_is_customer": [0] * n,
            "rule_score": [10.0] * n,
        },
        schema_overrides={"account_owner_id": pl.String},
    )
    return frame.with_columns(**{k: pl.Series(v) for k, v in columns.items()})


TEAM = reps(
    ("A", "EMEA", "SMB", "junior", 100),
    ("B", "EMEA", "SMB", "senior", 100),
    ("C", "EMEA", "SMB", "mid", 100),
    ("D", "EMEA", "Enterprise", "senior", 100),
    ("E", "APAC", "SMB", "mid", 100),
)


def test_strict_round_robin_rotates_in_rep_order_within_the_territory_and_segment():
    routed = assign(leads(7), TEAM, NO_TIME_OFF, BASE)
    assert routed["rep_id"].to_list() == ["A", "B", "C", "A", "B", "C", "A"]
    assert routed["rule"][0] == "territory and segment EMEA/SMB (round robin)"
    assert routed["candidates"][0] == "A, B, C"


def test_territories_then_the_territory_pool_then_the_fallback_queue():
    mixed = pl.concat(
        [
            leads(1, "APAC", "SMB"),
            leads(1, "APAC", "Enterprise", start=START + timedelta(minutes=1)),  # no APAC Enterprise rep
            leads(1, "LATAM", "SMB", start=START + timedelta(minutes=2)),  # no LATAM rep at all
        ]
    ).with_columns(contact_id=pl.Series(["apac-smb", "apac-ent", "latam"]))
    routed = {r["contact_id"]: r for r in assign(mixed, TEAM, NO_TIME_OFF, BASE).iter_rows(named=True)}
    assert routed["apac-smb"]["rep_id"] == "E"
    assert routed["apac-ent"]["rep_id"] == "E" and routed["apac-ent"]["rule"].startswith("territory APAC")
    assert routed["latam"]["rep_id"] is None and routed["latam"]["queue"] == "fallback queue"


def test_ties_go_to_the_lower_rep_id():
    for method in ("weighted", "load_based"):
        routed = assign(leads(2), TEAM, NO_TIME_OFF, replace(BASE, method=method))
        assert routed["rep_id"].to_list() == ["A", "B"], method


def test_a_rep_at_capacity_is_skipped_and_a_full_pool_overflows_then_queues():
    small = reps(("A", "EMEA", "SMB", "mid", 2), ("B", "EMEA", "SMB", "mid", 3))
    routed = assign(leads(7), small, NO_TIME_OFF, BASE)
    assert routed["rep_id"].to_list() == ["A", "B", "A", "B", "B", None, None]
    assert skipped_map(routed["skipped"][4]) == {"A": "at capacity (2 in 2026-09)"}
    assert routed["queue"][5] == "fallback queue" and routed["rule"][5] == "fallback queue"
    # capacity is per calendar month: October starts afresh
    october = leads(2, start=datetime(2026, 10, 1, 9))
    both = assign(pl.concat([leads(5), october.with_columns(pl.col("contact_id") + "o")]), small, NO_TIME_OFF, BASE)
    assert both["rep_id"].to_list()[-2:] == ["A", "B"]


def test_an_out_of_office_rep_is_skipped_and_a_weighted_pool_catches_up_after():
    away = pl.DataFrame(
        {"rep_id": ["A"], "starts_on": [date(2026, 9, 1)], "ends_on": [date(2026, 9, 2)], "reason": ["vacation"]}
    )
    two = reps(("A", "EMEA", "SMB", "mid", 100), ("B", "EMEA", "SMB", "mid", 100))
    during = leads(4, step=timedelta(hours=6))  # 1 Sep 09:00 .. 1 Sep 03:00 next day: A is away
    after = leads(8, start=datetime(2026, 9, 3, 9), step=timedelta(hours=1)).with_columns(pl.col("contact_id") + "x")
    routed = assign(pl.concat([during, after]), two, away, replace(BASE, method="weighted"))
    assert routed["rep_id"].to_list()[:4] == ["B"] * 4
    assert skipped_map(routed["skipped"][0]) == {"A": "out of office until 2026-09-02"}
    # back on 3 Sep, A takes the next leads until its share is level, then they alternate
    assert routed["rep_id"].to_list()[4:] == ["A", "A", "A", "A", "A", "B", "A", "B"]
    counts = routed.group_by("rep_id").len()
    assert dict(counts.iter_rows()) == {"A": 6, "B": 6}
    # strict round robin does not catch up: it only skips
    strict = assign(pl.concat([during, after]), two, away, BASE)
    assert strict["rep_id"].to_list()[4:] == ["A", "B", "A", "B", "A", "B", "A", "B"]


def test_weighted_shares_stay_within_one_lead():
    three = reps(
        ("A", "EMEA", "SMB", "mid", 1000), ("B", "EMEA", "SMB", "mid", 1000), ("C", "EMEA", "SMB", "mid", 1000)
    )
    config = replace(BASE, method="weighted", weights={"A": 2.0, "B": 1.0, "C": 1.0})
    routed = assign(leads(100), three, NO_TIME_OFF, config)
    for n in range(1, 101):  # at every prefix, not just at the end
        got = routed.head(n).group_by("rep_id").len()
        for rep, count in got.iter_rows():
            assert abs(count - n * config.weight(rep) / 4) <= 1.0, (n, rep, count)
    assert dict(routed.group_by("rep_id").len().iter_rows()) == {"A": 50, "B": 25, "C": 25}
    fair = fairness(routed, config)
    assert fair["fair"].all() and fair.height == 3


def test_load_based_evens_out_load_against_capacity():
    uneven = reps(("A", "EMEA", "SMB", "mid", 30), ("B", "EMEA", "SMB", "mid", 10))
    routed = assign(leads(20), uneven, NO_TIME_OFF, replace(BASE, method="load_based"))
    assert dict(routed.group_by("rep_id").len().iter_rows()) == {"A": 15, "B": 5}
    warm = assign(leads(4), uneven, NO_TIME_OFF, replace(BASE, method="load_based"), initial_load={"A": 6})
    # keys (load + k + 1) / capacity: B 0.1, 0.2 before A 7/30, 8/30
    assert warm["rep_id"].to_list() == ["B", "B", "A", "A"]


def test_a_lead_of_a_customer_account_goes_to_its_owner_unless_the_owner_is_away():
    owned = leads(3, account_owner_id=["D", "D", "D"], account_is_customer=[1, 0, 1])
    routed = assign(owned, TEAM, NO_TIME_OFF, BASE)
    assert routed["rep_id"].to_list() == ["D", "A", "D"]
    assert routed["rule"].to_list()[0] == "account owner"
    everything = assign(owned, TEAM, NO_TIME_OFF, replace(BASE, match_accounts="all"))
    assert everything["rep_id"].to_list() == ["D", "D", "D"]
    away = pl.DataFrame(
        {"rep_id": ["D"], "starts_on": [date(2026, 9, 1)], "ends_on": [date(2026, 9, 1)], "reason": [None]},
        schema_overrides={"reason": pl.String},
    )
    without = assign(owned, TEAM, away, BASE)
    assert without["rep_id"].to_list() == ["A", "B", "C"]
    assert "D: account owner out of office" in without["skipped"][0]


def test_rules_come_first_and_the_first_match_wins():
    config = replace(
        BASE,
        rules=(
            RoutingRule("partners", "lead_source", ("Partner",), "E"),
            RoutingRule("all web", "lead_source", ("Web", "Partner"), "queue"),
        ),
    )
    sources = leads(
        3, lead_source=["Partner", "Web", "Event"], account_owner_id=["D", None, None], account_is_customer=[1, 0, 0]
    )
    routed = assign(sources, TEAM, NO_TIME_OFF, config)
    assert routed["rep_id"].to_list() == ["E", None, "A"]
    assert routed["rule"].to_list()[:2] == ["rule: partners", "rule: all web"]


def test_high_scores_go_to_senior_reps_first():
    scored = leads(3, rule_score=[90.0, 90.0, 10.0])
    routed = assign(scored, TEAM, NO_TIME_OFF, replace(BASE, high_score=60.0))
    assert routed["rep_id"].to_list() == ["B", "B", "A"]
    assert routed["rule"][0].startswith("senior reps EMEA/SMB")
    assert skipped_map(routed["skipped"][0]) == {"A": "not senior", "C": "not senior"}


def test_a_configuration_where_nobody_can_receive_a_lead_is_refused_before_it_runs():
    for config in (
        replace(BASE, method="weighted", weights={r: 0.0 for r in "ABCDE"}),
        replace(BASE, capacity_scale=0.0),
        replace(BASE, excluded_reps=tuple("ABCDE")),
    ):
        with pytest.raises(RevLensError, match="No rep can ever receive a lead"):
            assign(leads(2), TEAM, NO_TIME_OFF, config)
    always_away = pl.DataFrame(
        {
            "rep_id": list("ABCDE"),
            "starts_on": [date(2026, 1, 1)] * 5,
            "ends_on": [date(2026, 12, 31)] * 5,
            "reason": ["leave"] * 5,
        }
    )
    with pytest.raises(RevLensError, match="No rep can ever receive a lead"):
        assign(leads(2), TEAM, always_away, BASE)
    with pytest.raises(RevLensError, match="is not a rep id"):
        assign(leads(2), TEAM, NO_TIME_OFF, replace(BASE, rules=(RoutingRule("x", "segment", ("SMB",), "ZZ"),)))


def test_the_routing_file_is_checked():
    with pytest.raises(RevLensError, match="unknown setting 'methd'"):
        parse_routing('methd = "weighted"')
    with pytest.raises(RevLensError, match="method 'random' is not one of"):
        parse_routing('method = "random"')
    with pytest.raises(RevLensError, match="rule 1 has unknown field 'colour'"):
        parse_routing('[[rule]]\nfield = "colour"\nin = ["x"]\nto = "queue"')
    assert parse_routing('method = "load_based"').method == "load_based"


def test_a_configuration_written_by_the_page_reads_back_the_same():
    from analytics.sales.routing import config_to_toml

    config = replace(
        BASE,
        method="weighted",
        high_score=55.0,
        weights={"A": 2.0, "B": 0.5},
        excluded_reps=("C",),
        rules=(RoutingRule('Partners "A"', "lead_source", ("Partner", "Reseller"), "queue"),),
    )
    assert parse_routing(config_to_toml(config)) == config
    assert parse_routing(config_to_toml(replace(config, high_score=None))).high_score is None
