"""Interventions: targets for the outbox, the log, recovery within 60 days, customer-health events on a band change."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.customers import interventions
from analytics.customers.config import SPEC_CONFIG, HealthConfig, config_history, load_config, save_config
from analytics.customers.health import health_scores
from analytics.ops.tables import event_outbox, health_bands
from tests.customers.crafted import Crafted, T, day

PAYMENT_ONLY = HealthConfig(weights=(0, 0, 0, 0, 1, 0))


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    """R recovers (score 0 at t-90, 66.67 by t-30), N does not, X churns, P is decided too late to know."""
    w = Crafted(tmp_path_factory.mktemp("interventions") / "interventions.duckdb")
    for name in ("R", "N", "X", "P"):
        w.account(name, owner="REP2")
    w.invoice("R", due=100)  # unpaid until t-40: late at t-90, then paid
    w.con.execute("update invoices set paid_date = ? where account_id = 'R'", [day(40)])
    for due in (70, 50):
        w.invoice("R", due=due, paid=due + 1)
    w.invoice("N", due=100)  # never paid
    w.invoice("X", due=100)
    w.con.execute("update accounts set churned_at = ? where account_id = 'X'", [day(50)])
    w.invoice("P", due=100)
    contacts = [w.contact("R") for _ in range(3)]
    w.email(contacts[1], "open", 10)  # the most engaged contact gets the owner's task
    w.usage("R", 0)
    con = w.load()
    yield con, contacts
    w.close()


def decided(as_of, account, score, band):
    return {"account_id": account, "account_name": f"{account} Inc", "overall_score": score, "band": band}


def test_targets_for_the_outbox(accounts, ops):
    con, contacts = accounts
    audience = interventions.account_contacts(con, ["R", "N"])
    assert sorted(audience["contact_id"]) == sorted(contacts)
    assert len(interventions.campaign_targets(audience, "add_to_list")) == 3
    owners = interventions.owner_task_targets(con, ["R"], T)
    assert owners.row(0, named=True)["contact_id"] == contacts[1]  # the contact with an open in 90 days
    tasks = interventions.task_targets(owners)
    assert tasks == [
        {"hubspot_id": f"h{contacts[1]}", "owner_id": "70002", "email": f"{contacts[1].lower()}@example.com"}
    ]
    payload = interventions.task_payload([{**decided(T, "R", 35.0, "critical"), "risk_level": "high"}], T)
    assert payload["priority"] == "HIGH" and "R Inc scored 35.00 (critical)" in payload["body"]
    plan = outbox.plan_action("create_task", tasks, payload, engine=ops)
    assert plan.ok and plan.request_count() == 1
    scores = pl.DataFrame(
        {
            "account_id": ["R", "N"],
            "overall_score": [81.5, 30.0],
            "band": ["healthy", "critical"],
            "churn_probability": [0.05, 0.62],
        }
    )
    companies = interventions.company_targets(con, scores)
    assert companies[1] == {
        "hubspot_id": "hs-N",
        "properties": {
            "marketing_platform_health_score": 30.0,
            "marketing_platform_health_band": "critical",
            "marketing_platform_churn_probability": 0.62,
        },
    }
    assert outbox.plan_action("update_company_properties", companies, {}, engine=ops).ok
    # a campaign for one account's three contacts breaks the outbox's audience guard rail
    small = outbox.plan_action(
        "add_to_list", interventions.campaign_targets(audience, "add_to_list"), {"list_id": "9"}, engine=ops
    )
    assert not small.ok and "100" in small.violations[0]


def test_the_log_is_kept_once_per_action_and_account(accounts, ops):
    rows = [
        {**decided(day(90), "R", 0.0, "critical"), "triggers": [{"name": "payment_delays"}], "risk_level": "medium"}
    ]
    with ops.begin() as conn:
        assert (
            interventions.log_retention_intervention(
                conn,
                intervention="owner_task",
                kind="create_task",
                action_id=7,
                accounts=rows,
                as_of=day(90),
                user="ana",
            )
            == 1
        )
        assert (
            interventions.log_retention_intervention(
                conn,
                intervention="owner_task",
                kind="create_task",
                action_id=7,
                accounts=rows,
                as_of=day(90),
                user="ana",
            )
            == 0
        )
    logged = interventions.interventions(ops)
    assert logged.height == 1
    row = logged.row(0, named=True)
    assert (row["account_id"], row["action_id"], row["risk_level"]) == ("R", 7, "medium")
    assert json.loads(row["triggers"]) == ["payment_delays"]


def test_recovery_within_60_days(accounts, ops):
    con, _ = accounts
    start = day(90)
    scores = {r["account_id"]: r for r in health_scores(con, start, PAYMENT_ONLY).iter_rows(named=True)}
    assert scores["R"]["overall_score"] == 0.0  # its one invoice is past due
    rows = [decided(start, a, scores[a]["overall_score"], scores[a]["band"]) for a in ("R", "N", "X")]
    late = [decided(day(20), "P", 0.0, "critical")]
    with ops.begin() as conn:
        for action_id, group, as_of in ((1, rows, start), (2, late, day(20))):
            interventions.log_retention_intervention(
                conn,
                intervention="owner_task",
                kind="create_task",
                action_id=action_id,
                accounts=group,
                as_of=as_of,
                user="ana",
            )
    outcome = {
        r["account_id"]: r
        for r in interventions.intervention_outcomes(con, interventions.interventions(ops), PAYMENT_ONLY).iter_rows(
            named=True
        )
    }
    assert outcome["R"]["outcome"] == "recovered" and outcome["R"]["checked_on"] == start + timedelta(days=60)
    # its late invoice stays late, two on time follow: 2 of 3 → 66.67, at risk but 66.67 points better
    assert outcome["R"]["score_after"] == 66.67 and outcome["R"]["band_after"] == "at_risk"
    assert outcome["N"]["outcome"] == "not_recovered" and outcome["N"]["score_change"] == 0.0
    assert outcome["X"]["outcome"] == "churned" and outcome["X"]["churned_on"] == day(50)
    assert outcome["P"]["outcome"] == "in_progress" and outcome["P"]["days_observed"] == 20


def test_a_band_change_emits_one_customer_health_event(ops):
    first = pl.DataFrame(
        {
            "account_id": ["A", "B"],
            "account_name": ["A Inc", "B Inc"],
            "overall_score": [75.0, 50.0],
            "band": ["healthy", "at_risk"],
        }
    )
    with ops.begin() as conn:
        assert interventions.publish_band_changes(conn, first, T, "new data") == []  # the first publication: a baseline
    later = first.with_columns(pl.Series("overall_score", [65.0, 52.0]), pl.Series("band", ["at_risk", "at_risk"]))
    with ops.begin() as conn:
        events = interventions.publish_band_changes(conn, later, T, "new data")
    assert len(events) == 1 and events[0]["event_type"] == "health.band_changed"
    assert events[0]["payload"] | {} == {
        "account_id": "A",
        "account_name": "A Inc",
        "from_band": "healthy",
        "to_band": "at_risk",
        "score": 65.0,
        "previous_score": 75.0,
        "as_of": T.isoformat(),
        "reason": "new data",
    }
    with ops.begin() as conn:
        assert interventions.publish_band_changes(conn, later, T, "new data") == []  # nothing changed since
    with ops.connect() as conn:
        topics = conn.execute(sa.select(event_outbox.c.topic, event_outbox.c.event_type)).all()
        bands = dict(conn.execute(sa.select(health_bands.c.account_id, health_bands.c.band)).all())
    assert topics == [("customer-health", "health.band_changed")]
    assert bands == {"A": "at_risk", "B": "at_risk"}


def test_weights_are_saved_in_the_ops_store(ops):
    assert load_config(ops) == SPEC_CONFIG
    chosen = HealthConfig(weights=(0.3, 0.2, 0.1, 0.2, 0.1, 0.1), healthy_min=75, critical_below=45)
    with ops.begin() as conn:
        save_config(conn, chosen, "ana")
    assert load_config(ops) == chosen
    assert config_history(ops)[0]["saved_by"] == "ana"
    with pytest.raises(Exception, match="sum to 1.1"), ops.begin() as conn:
        save_config(conn, HealthConfig(weights=(0.4, 0.2, 0.1, 0.2, 0.1, 0.1)), "ana")
    assert load_config(ops) == chosen  # the refused one was not saved
