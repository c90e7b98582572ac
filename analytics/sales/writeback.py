"""What the lead pipeline pushes to HubSpot, as outbox targets (the queue sends them).

* :func:`owner_targets` — the routing's owner and the score, per contact, for the existing
  ``update_properties`` kind: ``hubspot_owner_id`` (the rep's HubSpot owner id) and the
  spec's custom property ``marketing_platform_lead_score`` (the chosen score, 0–100);
* :func:`follow_up_targets` — the spec's ``triggerFollowUpSequence``: leads that newly
  reached MQL or SQL (their stage date within the last ``days``) for ``add_to_list`` or
  ``enroll_workflow``; the queue applies the weekly frequency cap and the audience bounds;
* :func:`escalation_targets` — an SLA escalation: a high-priority task for the owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

LEAD_SCORE_PROPERTY = "marketing_platform_lead_score"
OWNER_PROPERTY = "hubspot_owner_id"


def owner_targets(
    assignments: pl.DataFrame, leads: pl.DataFrame, reps: pl.DataFrame, score: str = "rule_score"
) -> list[dict]:
    """One ``update_properties`` target per assigned lead with a HubSpot id or email."""
    joined = (
        assignments.filter(pl.col("rep_id").is_not_null())
        .select("contact_id", "rep_id")
        .join(leads.select("contact_id", "hubspot_id", "email", score), on="contact_id", how="left")
        .join(reps.select("rep_id", "hubspot_owner_id"), on="rep_id", how="left")
    )
    targets = []
    for row in joined.iter_rows(named=True):
        if not (row["hubspot_id"] or row["email"]):
            continue
        properties = {}
        if row["hubspot_owner_id"]:
            properties[OWNER_PROPERTY] = str(row["hubspot_owner_id"])
        if row[score] is not None:
            properties[LEAD_SCORE_PROPERTY] = round(float(row[score]), 1)
        if properties:
            target = {"properties": properties}
            if row["hubspot_id"]:
                target["hubspot_id"] = str(row["hubspot_id"])
            if row["email"]:
                target["email"] = row["email"]
            targets.append(target)
    return targets


def newly_qualified(stages: pl.DataFrame, now: datetime, days: int = 7, stage: str = "mql") -> pl.DataFrame:
    """Leads whose ``stage`` date (``mql_at`` / ``sql_at``) lies in the ``days`` before ``now``."""
    column = f"{stage}_at"
    return stages.filter(pl.col(column) > now - timedelta(days=days), pl.col(column) <= now)


def follow_up_targets(leads: pl.DataFrame, contact_ids: list[str], kind: str) -> list[dict]:
    """Targets for ``add_to_list`` (by HubSpot id) or ``enroll_workflow`` (by email)."""
    need = "hubspot_id" if kind == "add_to_list" else "email"
    chosen = leads.filter(pl.col("contact_id").is_in(contact_ids) & pl.col(need).is_not_null())
    return [
        {key: row[key] for key in ("hubspot_id", "email") if row[key]}
        for row in chosen.select("hubspot_id", "email").iter_rows(named=True)
    ]


def escalation_targets(breaches: pl.DataFrame, leads: pl.DataFrame, reps: pl.DataFrame) -> list[dict]:
    """``create_task`` targets: each escalated lead, for its owner's HubSpot owner id."""
    due = (
        breaches.filter(pl.col("action") == "escalate")
        .join(leads.select("contact_id", "hubspot_id"), on="contact_id", how="inner")
        .join(reps.select(pl.col("rep_id").alias("owner_id"), "hubspot_owner_id"), on="owner_id", how="left")
        .filter(pl.col("hubspot_id").is_not_null())
    )
    return [
        {"hubspot_id": str(r["hubspot_id"]), "owner_id": str(r["hubspot_owner_id"] or "")}
        for r in due.iter_rows(named=True)
    ]
