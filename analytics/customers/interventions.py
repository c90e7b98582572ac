"""Acting on health: who a retention action reaches, the intervention log, recovery, band-change events.

* **Targets** for the write-back outbox (:mod:`analytics.crm.actions.queue`, under its guard
  rails): :func:`account_contacts` (a retention campaign: ``add_to_list`` or
  ``enroll_workflow`` for the accounts' contacts), :func:`owner_task_targets` (the spec's
  ``notifyCustomerSuccess``: one ``create_task`` per account for its owner, on the account's
  most engaged contact) and :func:`company_targets` (``syncHealthToCRM``:
  ``update_company_properties`` with the health score, band and churn probability).
* **``logRetentionIntervention``** (:func:`log_retention_intervention`): every queued action
  is logged per account in the ops store (``retention_interventions``) with the score, band,
  risk level, fired triggers and churn probability it was decided on, and the data date.
* **Recovery** (:func:`intervention_outcomes`): 60 days after the decision's data date an
  account has *recovered* when it has not churned and it is healthy, or its score is at
  least :data:`RECOVERY_POINTS` above the decision's; ``churned`` when it churned within the
  60 days; ``not_recovered`` otherwise; ``in_progress`` while the data does not reach day 60
  (with the days observed and the change so far).
* **Band changes** (:func:`publish_band_changes`): the spec's ``customer-health`` event,
  ``health.band_changed``, once per account whose band differs from the one last published
  (``health_bands``), inside the caller's ops-store transaction. The first publication
  records every band without events: there is no change to report yet.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

from analytics.customers.config import SPEC_CONFIG, HealthConfig
from analytics.customers.health import data_range, scores_on
from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl
    import sqlalchemy as sa

RECOVERY_DAYS = 60
RECOVERY_POINTS = 10.0
INTERVENTIONS = ("retention_campaign", "owner_task", "crm_sync")
OUTCOMES = ("recovered", "not_recovered", "churned", "in_progress")

ACCOUNT_CONTACTS = Query(
    "customers.retention_contacts",
    """select c.account_id, a.name as account_name, c.contact_id, c.hubspot_id, c.email,
       c.first_name, c.last_name
from contacts as c
join accounts as a on a.account_id = c.account_id
where c.account_id in (select cast(unnest($account_ids) as varchar))
  and (c.hubspot_id is not null or c.email is not null)
order by c.account_id, c.contact_id""",
    "The contacts of the chosen accounts that HubSpot can be told about (a HubSpot id or an email).",
)

OWNER_TASK_TARGETS = Query(
    "customers.retention_owner_tasks",
    """with chosen as (
    select a.account_id, a.name as account_name, a.owner_id, r.name as owner_name, r.hubspot_owner_id
    from accounts as a
    left join sales_reps as r on r.rep_id = a.owner_id
    where a.account_id in (select cast(unnest($account_ids) as varchar))
),
engagement as (
    -- opens and clicks of each contact in the 90 days up to $as_of
    select e.contact_id, count(*) as engagements
    from email_events as e
    where e.event_type in ('open', 'click')
      and cast(e.ts as date) > $as_of - 90 and cast(e.ts as date) <= $as_of
    group by e.contact_id
),
ranked as (
    select ch.account_id, ch.account_name, ch.owner_id, ch.owner_name, ch.hubspot_owner_id,
           c.contact_id, c.hubspot_id, c.email, coalesce(g.engagements, 0) as engagements,
           row_number() over (partition by ch.account_id
                              order by coalesce(g.engagements, 0) desc, c.contact_id) as position
    from chosen as ch
    join contacts as c on c.account_id = ch.account_id and c.hubspot_id is not null
    left join engagement as g on g.contact_id = c.contact_id
)
select account_id, account_name, owner_id, owner_name, hubspot_owner_id, contact_id, hubspot_id, email,
       engagements
from ranked
where position = 1
order by account_id""",
    "Per chosen account: its owner and its most engaged contact with a HubSpot id, for a create_task.",
)


ACCOUNT_CRM_IDS = Query(
    "customers.account_crm_ids",
    """select account_id, hubspot_id
from accounts
where account_id in (select cast(unnest($account_ids) as varchar)) and hubspot_id is not null
order by account_id""",
    "The HubSpot company ids of the chosen accounts (health is pushed to the company).",
)
HEALTH_SCORE_PROPERTY = "marketing_platform_health_score"
HEALTH_BAND_PROPERTY = "marketing_platform_health_band"
CHURN_PROBABILITY_PROPERTY = "marketing_platform_churn_probability"


def company_targets(con, accounts: pl.DataFrame) -> list[dict]:
    """``syncHealthToCRM``: ``update_company_properties`` targets for ``accounts`` (account_id,
    overall_score, band, churn_probability when known): the company's health score, band and
    churn probability. Accounts without a HubSpot company id are left out."""
    ids = dict(run(con, ACCOUNT_CRM_IDS, {"account_ids": accounts["account_id"].to_list() or [""]}).iter_rows())
    targets = []
    for row in accounts.iter_rows(named=True):
        if row["account_id"] not in ids:
            continue
        properties = {HEALTH_SCORE_PROPERTY: row["overall_score"], HEALTH_BAND_PROPERTY: row["band"]}
        if row.get("churn_probability") is not None:
            properties[CHURN_PROBABILITY_PROPERTY] = round(float(row["churn_probability"]), 4)
        targets.append({"hubspot_id": ids[row["account_id"]], "properties": properties})
    return targets


def account_contacts(con, account_ids: list[str]) -> pl.DataFrame:
    """The contacts of ``account_ids`` with a HubSpot id or an email (a retention campaign's audience)."""
    return run(con, ACCOUNT_CONTACTS, {"account_ids": list(account_ids) or [""]})


def owner_task_targets(con, account_ids: list[str], as_of: date) -> pl.DataFrame:
    """Per account: the owner (``hubspot_owner_id``) and the contact a task is associated with."""
    return run(con, OWNER_TASK_TARGETS, {"account_ids": list(account_ids) or [""], "as_of": as_of})


def campaign_targets(contacts: pl.DataFrame, kind: str) -> list[dict]:
    """Outbox targets of a retention campaign: ``add_to_list`` needs HubSpot ids, ``enroll_workflow`` emails."""
    needed = "hubspot_id" if kind == "add_to_list" else "email"
    targets = []
    for row in contacts.iter_rows(named=True):
        if row.get(needed):
            target = {"hubspot_id": row["hubspot_id"]} if row.get("hubspot_id") else {}
            if row.get("email"):
                target["email"] = row["email"]
            targets.append(target)
    return targets


def task_targets(owners: pl.DataFrame) -> list[dict]:
    """Outbox targets of owner tasks: the contact's HubSpot id and the owner's HubSpot owner id."""
    return [
        {"hubspot_id": row["hubspot_id"], "owner_id": row["hubspot_owner_id"], "email": row["email"]}
        for row in owners.iter_rows(named=True)
        if row["hubspot_id"]
    ]


def task_payload(accounts: list[dict], as_of: date) -> dict:
    """A ``create_task`` payload for the owners of ``accounts`` (rows with name, score, band, triggers).

    One account: the task names it with its score and each fired trigger's evidence. Several:
    one task each, naming the health list they come from (a task's text is the same for all).
    """
    high = any(a.get("risk_level") == "high" for a in accounts)
    if len(accounts) == 1:
        account = accounts[0]
        lines = [
            f"{account['account_name']} scored {account['overall_score']:.2f} ({account['band']}) "
            f"on {as_of.isoformat()} in RevLens."
        ]
        lines += [f"- {t['evidence'] if isinstance(t, dict) else t}" for t in account.get("triggers") or []]
        if account.get("churn_probability") is not None:
            lines.append(f"Churn probability in the next 90 days: {account['churn_probability']:.0%}.")
        subject = f"Retention: {account['account_name']} is {account['band'].replace('_', ' ')}"
        body = "\n".join(lines)
    else:
        subject = "Retention: follow up on an at-risk account"
        body = (
            f"RevLens flagged this account on {as_of.isoformat()}; open Customer Success → Health to see its score, "
            "the triggers that fired and their evidence."
        )
    return {"subject": subject[:250], "body": body[:5000], "priority": "HIGH" if high else "MEDIUM", "due_in_days": 2}


# ---------------------------------------------------------------------------------------
# logRetentionIntervention


def log_retention_intervention(
    conn: sa.Connection,
    *,
    intervention: str,
    kind: str,
    action_id: int | None,
    accounts: list[dict],
    as_of: date,
    user: str,
) -> int:
    """Log one row per account for the action ``action_id`` (idempotent per action and account).

    ``accounts``: dicts with account_id and, when known, account_name, overall_score, band,
    risk_level, triggers (names or dicts with ``name``), churn_probability. Returns the rows added.
    """
    import sqlalchemy as sa

    from analytics.ops.store import utcnow
    from analytics.ops.tables import retention_interventions as table

    if intervention not in INTERVENTIONS:
        raise ValueError(f"unknown intervention {intervention!r}")
    already = set()
    if action_id is not None:
        already = set(conn.execute(sa.select(table.c.account_id).where(table.c.action_id == action_id)).scalars())
    now = utcnow()
    rows = []
    for account in accounts:
        if account["account_id"] in already:
            continue
        triggers = [t["name"] if isinstance(t, dict) else str(t) for t in account.get("triggers") or []]
        rows.append(
            {
                "account_id": account["account_id"],
                "account_name": account.get("account_name"),
                "intervention": intervention,
                "action_id": action_id,
                "kind": kind,
                "as_of": as_of,
                "score": account.get("overall_score"),
                "band": account.get("band"),
                "risk_level": account.get("risk_level"),
                "triggers": json.dumps(triggers),
                "churn_probability": account.get("churn_probability"),
                "created_by": user,
                "created_at": now,
            }
        )
    if rows:
        conn.execute(table.insert(), rows)
    return len(rows)


def interventions(engine: sa.Engine | None = None, account_id: str | None = None) -> pl.DataFrame:
    """The logged interventions, newest first (all accounts, or one)."""
    import polars as pl
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import retention_interventions as table

    engine = engine or ops_engine()
    query = sa.select(table).order_by(table.c.id.desc())
    if account_id:
        query = query.where(table.c.account_id == account_id)
    with engine.connect() as conn:
        found = [dict(row) for row in conn.execute(query).mappings()]
    for row in found:
        if row["created_at"] is not None and row["created_at"].tzinfo is not None:
            row["created_at"] = row["created_at"].replace(tzinfo=None)
    schema = {
        "id": pl.Int64,
        "account_id": pl.String,
        "account_name": pl.String,
        "intervention": pl.String,
        "action_id": pl.Int64,
        "kind": pl.String,
        "as_of": pl.Date,
        "score": pl.Float64,
        "band": pl.String,
        "risk_level": pl.String,
        "triggers": pl.String,
        "churn_probability": pl.Float64,
        "created_by": pl.String,
        "created_at": pl.Datetime("us"),
    }
    return pl.DataFrame(found, schema=schema)


def intervention_outcomes(con, logged: pl.DataFrame, config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Each logged intervention with its outcome 60 days after its data date (see the module docstring).

    Adds: checked_on (day 60, or the data's last day before it), days_observed, score_after,
    band_after, score_change, churned_on, outcome.
    """
    import polars as pl

    extra = {
        "checked_on": pl.Date,
        "days_observed": pl.Int64,
        "score_after": pl.Float64,
        "band_after": pl.String,
        "score_change": pl.Float64,
        "churned_on": pl.Date,
        "outcome": pl.String,
    }
    if logged.is_empty():
        return logged.with_columns(*[pl.lit(None, dtype=t).alias(c) for c, t in extra.items()])
    span = data_range(con)
    last = span[1] if span else date.today()
    checks = {d: min(d + timedelta(days=RECOVERY_DAYS), last) for d in logged["as_of"].unique().to_list()}
    accounts = logged["account_id"].unique().to_list()
    later = scores_on(con, sorted(set(checks.values())), config).filter(pl.col("account_id").is_in(accounts))
    after = {(r["account_id"], r["as_of"]): (r["overall_score"], r["band"]) for r in later.iter_rows(named=True)}
    churned = dict(
        run(
            con,
            "select account_id, cast(churned_at as date) as churned_on from accounts "
            "where churned_at is not null and account_id in (select cast(unnest($ids) as varchar))",
            {"ids": accounts},
        ).iter_rows()
    )
    rows = []
    for row in logged.iter_rows(named=True):
        checked = checks[row["as_of"]]
        score, band = after.get((row["account_id"], checked), (None, None))
        churned_on = churned.get(row["account_id"])
        lost = churned_on is not None and row["as_of"] < churned_on <= row["as_of"] + timedelta(days=RECOVERY_DAYS)
        change = None if score is None or row["score"] is None else round(score - row["score"], 2)
        days = (checked - row["as_of"]).days
        if lost and churned_on <= checked:
            outcome = "churned"
        elif days < RECOVERY_DAYS:
            outcome = "in_progress"
        elif band == "healthy" or (change is not None and change >= RECOVERY_POINTS):
            outcome = "recovered"
        else:
            outcome = "not_recovered"
        rows.append(
            {
                "checked_on": checked,
                "days_observed": days,
                "score_after": score,
                "band_after": band,
                "score_change": change,
                "churned_on": churned_on if lost else None,
                "outcome": outcome,
            }
        )
    return pl.concat([logged, pl.DataFrame(rows, schema=extra)], how="horizontal")


# ---------------------------------------------------------------------------------------
# customer-health events


def publish_band_changes(conn: sa.Connection, scores: pl.DataFrame, as_of: date, reason: str) -> list[dict]:
    """Emit ``health.band_changed`` (topic ``customer-health``) for every account of ``scores``
    whose band differs from its last published one, and record the new bands; returns the events.

    Runs inside the caller's ops-store transaction ``conn``, so an event exists exactly when its
    band was recorded. ``scores``: account_id, account_name, overall_score, band (one as-of date).
    """
    import sqlalchemy as sa

    from analytics.ops.events import emit
    from analytics.ops.store import utcnow
    from analytics.ops.tables import health_bands

    known = {row.account_id: row for row in conn.execute(sa.select(health_bands))}
    first_time = not known
    correlation_id = str(uuid.uuid4())
    now = utcnow()
    events = []
    fresh = []
    for row in scores.iter_rows(named=True):
        previous = known.get(row["account_id"])
        if previous is None:
            fresh.append(
                {
                    "account_id": row["account_id"],
                    "band": row["band"],
                    "score": row["overall_score"],
                    "as_of": as_of,
                    "changed_at": now,
                }
            )
            if first_time:
                continue
        elif previous.band == row["band"]:
            continue
        else:
            conn.execute(
                health_bands.update()
                .where(health_bands.c.account_id == row["account_id"])
                .values(band=row["band"], score=row["overall_score"], as_of=as_of, changed_at=now)
            )
        events.append(
            emit(
                conn,
                "customer-health",
                "health.band_changed",
                {
                    "account_id": row["account_id"],
                    "account_name": row.get("account_name"),
                    "from_band": previous.band if previous is not None else None,
                    "to_band": row["band"],
                    "score": row["overall_score"],
                    "previous_score": previous.score if previous is not None else None,
                    "as_of": as_of.isoformat(),
                    "reason": reason,
                },
                correlation_id,
            )
        )
    if fresh:
        conn.execute(health_bands.insert(), fresh)
    return events
