"""The first-touch SLA in business hours: breaches of real assignments, and of a replay.

A lead's *wait* is the business time (:mod:`analytics.sales.hours`, Monday–Friday between
``open_hour`` and ``close_hour``) from its assignment (its creation) to its first sales
activity (``sales_activities``), or to 'now' while it is untouched. It **breaches** when the
wait exceeds ``sla_hours``. An untouched breach is **reassigned** (to the next rep the
routing would pick without its owner); past twice the SLA it is **escalated** (a
high-priority task for the owner, and the audit says so).

In a **replay** a lead's first touch is predicted from its rep's own history: the rep's
median first-touch delay in business hours (:func:`rep_response_hours`), counted on the
rep's calendar, where its days off are not working days; the lead breaches when that touch
lands more than ``sla_hours`` business hours after the assignment. A lead left in the
fallback queue breaches (nobody owns it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from analytics.sales.hours import add_business_hours, business_hours_between
from analytics.warehouse.runner import Query, run

FIRST_TOUCHES = Query(
    "sales.first_touches",
    """
    with leads as (
        select contact_id, created_at, owner_id from contacts
        where created_at is not null and created_at >= $since and created_at <= $now
    ),
    touches as (
        select a.contact_id, min(a.ts) as first_touch_at
        from sales_activities a
        join leads l on l.contact_id = a.contact_id and a.ts >= l.created_at and a.ts <= $now
        group by a.contact_id
    )
    select l.contact_id, l.created_at, l.owner_id, t.first_touch_at
    from leads l
    left join touches t on t.contact_id = l.contact_id
    """,
    "each lead created since a date: its owner and its first sales touch",
)


def _seconds(column: pl.Series) -> np.ndarray:
    return column.cast(pl.Datetime("us")).dt.epoch("s").to_numpy()


def _has_activities(con) -> bool:
    from analytics.sales.features import warehouse_shape

    return "sales_activities" in warehouse_shape(con).tables


def rep_response_hours(con, config, now: datetime, days: int = 365) -> dict[str, float]:
    """Each rep's median first-touch delay (business hours) over its leads of the last ``days``
    (none without ``sales_activities``: a replay then assumes every rep touches a lead in the SLA)."""
    if not _has_activities(con):
        return {}
    frame = run(con, FIRST_TOUCHES, {"since": now - timedelta(days=days), "now": now}).filter(
        pl.col("first_touch_at").is_not_null() & pl.col("owner_id").is_not_null()
    )
    if frame.is_empty():
        return {}
    hours = business_hours_between(
        _seconds(frame["created_at"]), _seconds(frame["first_touch_at"]), config.open_hour, config.close_hour
    )
    medians = frame.with_columns(hours=hours).group_by("owner_id").agg(pl.col("hours").median())
    return dict(zip(medians["owner_id"].to_list(), medians["hours"].to_list()))


def sla_breaches(con, config, now: datetime, days: int = 30) -> pl.DataFrame:
    """Leads created in the last ``days``: owner, wait in business hours, breached, and the action due
    (empty without ``sales_activities``: there is no first touch to measure)."""
    if not _has_activities(con):
        frame = pl.DataFrame(
            schema={
                "contact_id": pl.String,
                "created_at": pl.Datetime("us"),
                "owner_id": pl.String,
                "first_touch_at": pl.Datetime("us"),
            }
        )
    else:
        frame = run(con, FIRST_TOUCHES, {"since": now - timedelta(days=days), "now": now})
    if frame.is_empty():
        return frame.with_columns(
            wait_hours=pl.lit(None, dtype=pl.Float64),
            breached=pl.lit(None, dtype=pl.Boolean),
            touched=pl.lit(None, dtype=pl.Boolean),
            action=pl.lit(None, dtype=pl.String),
        )
    touched = frame["first_touch_at"].is_not_null().to_numpy()
    end = np.where(touched, _seconds(frame["first_touch_at"].fill_null(now)), int(now.timestamp()))
    wait = business_hours_between(_seconds(frame["created_at"]), end, config.open_hour, config.close_hour)
    breached = wait > config.sla_hours
    action = np.where(
        ~breached, "", np.where(touched, "touched late", np.where(wait > 2 * config.sla_hours, "escalate", "reassign"))
    )
    return frame.with_columns(wait_hours=np.round(wait, 1), breached=breached, touched=touched, action=action).sort(
        "wait_hours", descending=True
    )


def replay_sla(
    assignments: pl.DataFrame, response_hours: dict[str, float], time_off: pl.DataFrame, config
) -> pl.DataFrame:
    """``assignments`` with the predicted ``wait_hours`` and ``breached`` of each lead (see the module docstring)."""
    created = _seconds(assignments["created_at"])
    wait = np.full(len(assignments), np.nan)
    reps = assignments["rep_id"].to_numpy()
    default = float(np.median(list(response_hours.values()))) if response_hours else 0.0
    for rep in {r for r in reps if r is not None}:
        mask = reps == rep
        away = time_off.filter(pl.col("rep_id") == rep)
        holidays = []
        for start, end in zip(away["starts_on"], away["ends_on"]):
            holidays += list(np.arange(np.datetime64(start), np.datetime64(end) + 1))
        delay = np.full(int(mask.sum()), response_hours.get(rep, default))
        touch = add_business_hours(created[mask], delay, config.open_hour, config.close_hour, holidays)
        wait[mask] = business_hours_between(created[mask], touch, config.open_hour, config.close_hour)
    breached = np.where(np.isnan(wait), True, wait > config.sla_hours)
    return assignments.with_columns(wait_hours=np.round(wait, 1), breached=breached)
