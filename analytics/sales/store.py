"""Routing's state in the ops store: the audit of every decision, reps' live load, time off.

* :func:`record_decisions` writes one ``routing_audit`` row per lead routed live (rule,
  candidates, why each other candidate was skipped) and one ``lead_assignments`` row per
  lead given to a rep, in one transaction, with a ``lead-capture`` event for the run;
* :func:`month_loads` is each rep's load this month, the starting point of live routing;
* :func:`add_time_off` / :func:`time_off_entries` keep time off entered on the Routing page,
  which routing adds to the warehouse's ``rep_time_off``.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date

import polars as pl
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.ops.events import emit
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import lead_assignments, rep_availability, routing_audit

_SKIP = re.compile(r"([^:;]+):\s*([^;]+)")


def skipped_map(text: str | None) -> dict[str, str]:
    """``"REP1: out of office until 2026-09-14; REP2: at capacity (80 in 2026-09)"`` as a dict."""
    return {rep.strip(): why.strip() for rep, why in _SKIP.findall(text or "")}


def record_decisions(
    assignments: pl.DataFrame, config_key: str, actor: str, scores: dict[str, float] | None = None, engine=None
) -> str:
    """Write the audit rows and assignments of a live routing run; returns its ``run_id``."""
    engine = engine or ops_engine()
    run_id = str(uuid.uuid4())
    now = utcnow()
    scores = scores or {}
    audit_rows, assignment_rows = [], []
    for row in assignments.iter_rows(named=True):
        audit_rows.append(
            {
                "run_id": run_id,
                "decided_at": now,
                "actor": actor,
                "config_key": config_key,
                "contact_id": row["contact_id"],
                "rep_id": row["rep_id"],
                "queue": row["queue"],
                "rule": row["rule"],
                "candidates": json.dumps([c for c in (row["candidates"] or "").split(", ") if c]),
                "skipped": json.dumps(skipped_map(row["skipped"]), sort_keys=True),
                "score": scores.get(row["contact_id"]),
            }
        )
        if row["rep_id"]:
            assignment_rows.append(
                {
                    "run_id": run_id,
                    "contact_id": row["contact_id"],
                    "rep_id": row["rep_id"],
                    "month": now.strftime("%Y-%m"),
                    "assigned_at": now,
                }
            )
    with engine.begin() as conn:
        if audit_rows:
            conn.execute(routing_audit.insert(), audit_rows)
        if assignment_rows:
            conn.execute(lead_assignments.insert(), assignment_rows)
        emit(
            conn,
            "lead-capture",
            "leads.routed",
            {"run_id": run_id, "leads": len(audit_rows), "assigned": len(assignment_rows), "config": config_key},
            run_id,
        )
    return run_id


def month_loads(month: str | None = None, engine=None) -> dict[str, int]:
    """Leads each rep received live in ``month`` (``YYYY-MM``, default this month)."""
    engine = engine or ops_engine()
    month = month or utcnow().strftime("%Y-%m")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(lead_assignments.c.rep_id, sa.func.count())
            .where(lead_assignments.c.month == month)
            .group_by(lead_assignments.c.rep_id)
        ).all()
    return {rep: int(n) for rep, n in rows}


def audit_frame(limit: int = 5000, contact_id: str | None = None, engine=None) -> pl.DataFrame:
    """The newest routing decisions: when, who ran it, lead, rep or queue, rule, candidates, skipped."""
    engine = engine or ops_engine()
    query = sa.select(routing_audit).order_by(routing_audit.c.id.desc()).limit(limit)
    if contact_id:
        query = query.where(routing_audit.c.contact_id == contact_id)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    schema = {c.name: pl.String for c in routing_audit.columns}
    schema.update(id=pl.Int64, decided_at=pl.Datetime("us", "UTC"), score=pl.Float64)
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def add_time_off(rep_id: str, starts_on: date, ends_on: date, reason: str, actor: str, engine=None) -> None:
    if ends_on < starts_on:
        raise RevLensError(f"Time off ending {ends_on} before it starts ({starts_on}); swap the dates.")
    engine = engine or ops_engine()
    with engine.begin() as conn:
        conn.execute(
            rep_availability.insert().values(
                rep_id=rep_id,
                starts_on=starts_on,
                ends_on=ends_on,
                reason=reason or None,
                created_by=actor,
                created_at=utcnow(),
            )
        )


def time_off_entries(engine=None) -> pl.DataFrame:
    engine = engine or ops_engine()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                rep_availability.c.rep_id,
                rep_availability.c.starts_on,
                rep_availability.c.ends_on,
                rep_availability.c.reason,
            )
        ).all()
    schema = {"rep_id": pl.String, "starts_on": pl.Date, "ends_on": pl.Date, "reason": pl.String}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
