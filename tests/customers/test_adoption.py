"""Feature adoption: every metric by hand, each milestone at its threshold, the holdout, lift, expansion, bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from analytics.customers import adoption
from analytics.customers.adoption import AdoptionConfig, split_holdout, welch_interval
from tests.customers.crafted import Crafted, T, at_noon, day

KEYS = ("dashboards", "reports")
CONFIG = AdoptionConfig(key_features=KEYS, advanced_features=("api",))


def events(c: Crafted, account: str, user: str, feature: str, days: list[int], success: list[bool] | None = None):
    success = success or [True] * len(days)
    c.con.executemany(
        "insert into feature_usage_events (account_id, user_id, feature_id, feature_name, ts, success) "
        "values (?, ?, ?, ?, ?, ?)",
        [[account, f"{account}-{user}", feature, feature, at_noon(d), s] for d, s in zip(days, success)],
    )


def threshold_account(c: Crafted, account: str, adopters: int = 49, uses: int = 1500, successes: int = 1200):
    """70 active users; ``adopters`` of them use dashboards ``uses`` times in (T−30, T], ``successes`` succeed.

    At the defaults: adoption 49/70 = 70%, velocity 7·1500/(70·30) = 5 per week, success 1200/1500 = 80%.
    """
    c.account(account, created=day(400))
    per_user = [uses // adopters + (1 if i < uses % adopters else 0) for i in range(adopters)]
    done = 0
    for i, n in enumerate(per_user):
        flags = [done + k < successes for k in range(n)]
        events(c, account, f"u{i}", "dashboards", [k % 29 for k in range(n)], flags)
        done += n
    for i in range(adopters, 70):
        events(c, account, f"u{i}", "reports", [3])


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    c = Crafted(tmp_path_factory.mktemp("adoption") / "adoption.duckdb")
    threshold_account(c, "A_EXACT")
    threshold_account(c, "A_SLOW", uses=1499, successes=1199)  # velocity just below 5 (success kept at 80%)
    threshold_account(c, "A_FEW", adopters=48)  # 48/70 = 68.6% adoption
    threshold_account(c, "A_FAIL", successes=1199)  # 1199/1500 = 79.9% success
    # B: two current users, one from the month before; the account started 100 days before T
    c.account("B", created=day(100))
    events(c, "B", "u1", "dashboards", [0, 1])
    events(c, "B", "u2", "dashboards", [10], [False])
    events(c, "B", "u1", "dashboards", [40])
    events(c, "B", "u3", "dashboards", [45])
    # C: both key features adopted by every user, the advanced feature not: the upgrade campaign
    c.account("C", created=day(300))
    for user in ("u1", "u2"):
        events(c, "C", user, "dashboards", [2])
        events(c, "C", user, "reports", [3])
    # outside scope and bad input
    c.account("CHURNED", churned=40)
    events(c, "CHURNED", "u1", "dashboards", [50])
    events(c, "NOBODY", "u1", "dashboards", [5, 6])  # an account the warehouse does not have
    events(c, "C", "u1", "teleport", [4])  # a feature outside the catalog
    c.con.executemany(
        "insert into product_features (feature_id, feature_name, category) values (?, ?, ?)",
        [["F1", "dashboards", "core"], ["F2", "reports", "core"], ["F3", "api", "advanced"]],
    )
    c.con.executemany(
        "insert into plans (plan, tier, seat_limit) values (?, ?, ?)", [["Starter", 1, 2], ["Growth", 2, 80]]
    )
    c.con.execute("update accounts set plan = 'Starter' where account_id in ('B', 'C')")
    c.con.execute("update accounts set plan = 'Growth' where account_id like 'A_%'")
    con = c.load()
    yield con
    c.close()


@pytest.fixture(scope="module")
def metrics(crafted):
    return adoption.adoption_metrics(crafted, T, CONFIG)


def row(metrics, account, feature="dashboards"):
    return metrics.filter((pl.col("account_id") == account) & (pl.col("feature") == feature)).row(0, named=True)


def test_each_milestone_at_its_threshold(metrics):
    exact = row(metrics, "A_EXACT")
    assert (exact["adoption_rate"], exact["usage_velocity"], exact["success_rate"]) == (0.7, 5.0, 0.8)
    assert exact["milestone"] == "adoption_success"  # every threshold inclusive
    slow = row(metrics, "A_SLOW")
    assert slow["usage_velocity"] < 5 and slow["success_rate"] == pytest.approx(1199 / 1499)
    assert slow["milestone"] is None  # adopted, not yet a success, not a nudge
    few = row(metrics, "A_FEW")
    assert few["adoption_rate"] == pytest.approx(48 / 70) and few["milestone"] == "adoption_nudge"
    fail = row(metrics, "A_FAIL")
    assert fail["success_rate"] == pytest.approx(1199 / 1500) and fail["milestone"] is None
    # a key feature nobody used is a nudge; C adopted every key feature: the advanced feature's upgrade
    assert row(metrics, "A_EXACT", "reports")["milestone"] == "adoption_nudge"
    assert row(metrics, "C", "api")["milestone"] == "advanced_feature"
    assert row(metrics, "C", "dashboards")["milestone"] is None  # adopted, but 1 use per user a month


def test_metrics_by_hand(metrics):
    b = row(metrics, "B")
    assert b["active_users"] == 2 and b["feature_users"] == 2 and b["uses"] == 3
    assert b["adoption_rate"] == 1.0
    assert b["usage_velocity"] == pytest.approx(7 * 3 / (2 * 30))
    assert b["success_rate"] == pytest.approx(2 / 3)
    assert b["dau_mau"] == pytest.approx(3 / 30 / 2)  # user-days 3 over 30 days, over 2 users
    assert b["wau_mau"] == 0.5  # u1 in (T−7, T]
    assert b["days_to_first_use"] == 55  # first use 45 days before T, the account started 100 days before
    assert b["previous_users"] == 2 and b["feature_retention"] == 0.5  # of u1 and u3 the month before, u1 came back
    accounts = adoption.account_adoption(metrics, CONFIG)
    c = accounts.filter(pl.col("account_id") == "C").row(0, named=True)
    assert (c["breadth"], c["depth"], c["adopted_key_features"]) == (1.0, 1.0, 2)
    a = accounts.filter(pl.col("account_id") == "A_EXACT").row(0, named=True)
    assert a["breadth"] == 1.0 and a["depth"] == pytest.approx((0.7 + 21 / 70) / 2)
    assert set(metrics["account_id"]) == {"A_EXACT", "A_SLOW", "A_FEW", "A_FAIL", "B", "C"}  # not the churned one


def test_unknown_accounts_and_features_are_counted_and_reported(crafted, metrics):
    quality = adoption.usage_quality(crafted)
    assert (quality["unknown_account_events"], quality["unknown_accounts"]) == (2, ["NOBODY"])
    assert (quality["unknown_feature_events"], quality["unknown_features"]) == (1, ["teleport"])
    sentences = adoption.quality_sentences(quality)
    assert len(sentences) == 2 and "NOBODY" in sentences[0] and "teleport" in sentences[1]
    assert "teleport" not in set(metrics["feature"])
    assert row(metrics, "C", "reports")["active_users"] == 2  # the unknown feature's use still counts as activity


def test_window_is_calendar_dates_and_dates_are_checked(crafted):
    later = adoption.adoption_metrics(crafted, T, replace(CONFIG, window_days=7))
    b = later.filter((pl.col("account_id") == "B") & (pl.col("feature") == "dashboards")).row(0, named=True)
    assert b["active_users"] == 1 and b["uses"] == 2  # only u1's two uses fall in (T−7, T]
    with pytest.raises(Exception, match="outside the usage data"):
        adoption.adoption_metrics(crafted, T + timedelta(days=400), CONFIG)


def test_holdout_is_random_and_deterministic_for_a_seed():
    ids = [f"ACC{i:04d}" for i in range(200)]
    treated, held = split_holdout(ids, 0.10, seed=7, campaign="adoption_nudge:dashboards:2026-06-30")
    assert len(held) == 20 and len(treated) == 180 and not set(held) & set(treated)
    assert split_holdout(list(reversed(ids)), 0.10, 7, "adoption_nudge:dashboards:2026-06-30") == (treated, held)
    assert split_holdout(ids, 0.10, 8, "adoption_nudge:dashboards:2026-06-30")[1] != held
    assert held != sorted(ids)[:20]  # not the first ones
    # over many seeds every account is held out about 10% of the time (a binomial test per account)
    counts = dict.fromkeys(ids, 0)
    for seed in range(400):
        for account in split_holdout(ids, 0.10, seed, "c")[1]:
            counts[account] += 1
    low, high = stats.binom.ppf([0.0005, 0.9995], 400, 0.10)
    assert all(low <= n <= high for n in counts.values())


def test_welch_interval_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 0.2, 40), rng.normal(0.1, 0.25, 12)
    diff, low, high = welch_interval(a.tolist(), b.tolist())
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(a.mean() - b.mean())
    assert (low, high) == pytest.approx((expected.low, expected.high))


def test_campaign_lift_treated_against_held_out(tmp_path):
    """Treated accounts go from 0 to 60% adoption of reports in 30 days, held-out ones to 20%: lift 0.4."""
    c = Crafted(tmp_path / "lift.duckdb")
    start = 40  # the campaign's data date is 40 days before T; its lift is read on T - 10
    accounts = {f"T{i}": "treated" for i in range(4)} | {f"H{i}": "holdout" for i in range(4)}
    for account, arm in accounts.items():
        c.account(account, created=day(400))
        for u in range(5):
            events(c, account, f"u{u}", "dashboards", [start + 5, 10])
        for u in range(3 if arm == "treated" else 1):
            events(c, account, f"u{u}", "reports", [11])
    con = c.load()
    campaigns = pl.DataFrame(
        {"id": [1], "milestone": ["adoption_nudge"], "feature": ["reports"], "as_of": [day(start)]}
    )
    assignments = pl.DataFrame(
        {
            "campaign_id": [1] * 8,
            "account_id": list(accounts),
            "feature": ["reports"] * 8,
            "milestone": ["adoption_nudge"] * 8,
            "arm": list(accounts.values()),
            "adoption_before": [0.0] * 8,
        }
    )
    lift = adoption.campaign_lifts(con, campaigns, assignments, CONFIG).row(0, named=True)
    assert lift["checked_on"] == day(start - 30) and lift["days_observed"] == 30
    assert (lift["treated"], lift["held_out"]) == (4, 4)
    assert (lift["treated_after"], lift["holdout_after"]) == pytest.approx((0.6, 0.2))
    assert lift["lift"] == pytest.approx(0.4) and lift["lift_low"] == pytest.approx(0.4)  # no spread in either arm
    c.close()


def test_held_out_accounts_are_never_sent(demo_db, tmp_path, monkeypatch):
    from analytics.crm.actions.queue import list_actions
    from analytics.customers.interventions import account_contacts
    from analytics.ops.store import ops_engine

    monkeypatch.setenv("REVLENS_CONFIRMERS", "cs@example.com")
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    con = duckdb.connect(demo_db, read_only=True)
    config = AdoptionConfig().with_template("adoption_nudge", "add_to_list", "4242")
    metrics = adoption.adoption_metrics(con, None, config)
    as_of = adoption.resolve_adoption_date(con)
    plan = adoption.plan_campaign(metrics, "adoption_nudge", "dashboards", as_of, config, adoption.fired(engine))
    assert plan.eligible.height >= 100 and len(plan.held_out) == round(0.1 * plan.eligible.height)
    campaign_id, result = adoption.trigger_adoption_campaign(con, plan, "cs@example.com", engine)
    held_contacts = set(account_contacts(con, list(plan.held_out))["hubspot_id"])
    treated_contacts = set(account_contacts(con, list(plan.treated))["hubspot_id"])
    import json

    import sqlalchemy as sa

    from analytics.ops.tables import action_batches

    with engine.connect() as conn:
        sent = {
            t["hubspot_id"]
            for (targets,) in conn.execute(sa.select(action_batches.c.targets))
            for t in json.loads(targets)
        }
    assert sent and sent <= treated_contacts and not sent & held_contacts
    assert list_actions(engine)["id"].to_list() == [result.action_id]
    recorded = adoption.fired(engine)
    assert set(recorded.filter(pl.col("arm") == "holdout")["account_id"]) == set(plan.held_out)
    # fires once: the same milestone and feature is not eligible again, neither for the treated nor the held out
    again = adoption.plan_campaign(metrics, "adoption_nudge", "dashboards", as_of, config, recorded)
    assert again.eligible.is_empty()
    assert adoption.campaigns(engine)["id"].to_list() == [campaign_id]
    con.close()


def test_trigger_needs_a_template_target(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    metrics = adoption.adoption_metrics(con)
    nothing_fired = pl.DataFrame(schema={"account_id": pl.String, "feature": pl.String, "milestone": pl.String})
    as_of = adoption.resolve_adoption_date(con)
    plan = adoption.plan_campaign(metrics, "adoption_nudge", "dashboards", as_of, AdoptionConfig(), nothing_fired)
    with pytest.raises(Exception, match="no HubSpot list id"):
        adoption.trigger_adoption_campaign(con, plan, "cs@example.com")
    con.close()


def test_config_round_trips_and_is_validated(tmp_path):
    from analytics.ops.store import ops_engine

    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    assert adoption.load_adoption_config(engine) == adoption.SPEC_ADOPTION
    config = AdoptionConfig(adoption_threshold=0.6, key_features=("reports",)).with_template(
        "adoption_success", "enroll_workflow", " 77 "
    )
    with engine.begin() as conn:
        adoption.save_adoption_config(conn, config, "me")
    assert adoption.load_adoption_config(engine) == config
    assert config.template("adoption_success") == ("enroll_workflow", "77")
    with pytest.raises(Exception, match="less than 50%"):
        AdoptionConfig(holdout_share=0.6).validate()
    with pytest.raises(Exception, match="share from 0 to 1"):
        AdoptionConfig(adoption_threshold=1.5).validate()


def test_saved_key_features_are_health_s_too(tmp_path, monkeypatch):
    from analytics.customers.config import DEFAULT_KEY_FEATURES, configured_key_features
    from analytics.ops.store import ops_engine

    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    monkeypatch.setenv("REVLENS_OPS_URL", url)
    monkeypatch.delenv("REVLENS_HEALTH_KEY_FEATURES", raising=False)
    assert configured_key_features() == DEFAULT_KEY_FEATURES  # no store yet: none is created
    assert not (tmp_path / "ops.sqlite").exists()
    with ops_engine(url).begin() as conn:
        adoption.save_adoption_config(conn, AdoptionConfig(key_features=("reports", "alerts")), "me")
    assert configured_key_features() == ("reports", "alerts")
    monkeypatch.setenv("REVLENS_HEALTH_KEY_FEATURES", "dashboards")
    assert configured_key_features() == ("dashboards",)  # the deployment's setting wins


def test_breadth_is_health_s_key_features_used(demo_db):
    """One definition of key features and of "used in the window": breadth · K = health's key_features_used_30."""
    from analytics.customers.config import resolve_key_features
    from analytics.customers.features import account_measures

    con = duckdb.connect(demo_db, read_only=True)
    as_of = adoption.resolve_adoption_date(con)
    keys = resolve_key_features(con)
    ours = adoption.account_adoption(adoption.adoption_metrics(con, as_of), adoption.SPEC_ADOPTION)
    health = account_measures(con, [as_of], list(keys)).select("account_id", "key_features_used_30")
    both = ours.join(health, on="account_id", how="full", coalesce=True)
    assert both.height == ours.height == health.height
    assert (both["key_features_used"] == both["key_features_used_30"]).all()
    con.close()


def test_expansion_signals_with_reasons(crafted):
    assert not set(adoption.expansion_opportunities(crafted, T, CONFIG)["signal"]) & {"breadth_on_lower_plan"}
    signals = adoption.expansion_opportunities(crafted, T, replace(CONFIG, expansion_min_users=2))  # C has 2 users
    found = {(r["account_id"], r["signal"]) for r in signals.iter_rows(named=True)}
    # C: both key features adopted on Starter (below Growth); its 2 active users fill Starter's 2 seats
    assert ("C", "breadth_on_lower_plan") in found and ("C", "seats_near_limit") in found
    assert ("B", "seats_near_limit") in found  # 2 of 2 seats
    assert not any(a.startswith("A_") and s == "seats_near_limit" for a, s in found)  # 70 of 80 seats = 87.5%
    assert all(r for r in signals["reason"])
    c_seats = signals.filter((pl.col("account_id") == "C") & (pl.col("signal") == "seats_near_limit"))
    assert c_seats["reason"][0] == "2 active users in 30 days against the Starter plan's 2 seats (100%)."
    targets = adoption.expansion_company_targets(crafted, signals)
    assert {t["hubspot_id"] for t in targets} == {"hs-B", "hs-C"}
    assert (
        "breadth_on_lower_plan"
        in next(t for t in targets if t["hubspot_id"] == "hs-C")["properties"][adoption.EXPANSION_PROPERTY]
    )


def test_expansion_task_names_one_account_s_reasons(crafted):
    signals = adoption.expansion_opportunities(crafted, T, replace(CONFIG, expansion_min_users=2))
    one = signals.filter(pl.col("account_id") == "C")
    payload = adoption.expansion_task_payload(one, T)
    name = one["account_name"][0]
    assert payload["subject"] == f"Expansion: {name}"
    assert all(f"- {reason}" in payload["body"] for reason in one["reason"])
    several = adoption.expansion_task_payload(signals, T)
    assert several["subject"] == "Expansion: an account shows upgrade signals" and T.isoformat() in several["body"]


def test_a_sqlite_store_s_file_is_read_from_its_url_as_sqlalchemy_reads_it():
    import sqlalchemy as sa

    from analytics.customers.config import sqlite_database

    for url in (
        "sqlite:///data/ops.sqlite",
        "sqlite:////tmp/x/ops.sqlite",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///ops.db?mode=ro",
    ):
        assert sqlite_database(url) == (sa.engine.make_url(url).database or ""), url
    assert sqlite_database("postgresql://user@127.0.0.1/ops") is None
