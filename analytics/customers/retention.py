"""Retention triggers: the spec's ``RetentionCampaignTriggers``, each fired with the evidence behind it.

``evaluateRetentionTriggers`` for an as-of date *t*. Windows are calendar dates: (t−30, t]
means after t−30 and up to t; "more than" is strict, so a value exactly at a threshold
does not fire. Counts are compared as integers (``2·(a − b) > a`` for "fell more than 50%"),
so no rounding decides a boundary.

High risk
    ``health_score_drop``
        score(t−30) − score(t) > 20 points (both scores rounded to 2 decimals, as shown).
    ``usage_decline``
        usage events dated in (t−30, t] fell more than 50% from those in (t−60, t−30]:
        ``previous > 0`` and ``2·(previous − current) > previous``.
    ``support_escalation``
        an escalated ticket opened in (t−30, t].
    ``non_response``
        emails were sent to the account's contacts in (t−45, t], and their last open or
        click is more than 45 days before *t* (dated before t−45), or there is none.
Medium risk
    ``usage_plateau``
        usage is flat for the last 60 days: the events in (t−30, t] and in (t−60, t−30] are
        both above 0 and differ by less than 10% of the earlier count
        (``10·|current − previous| < previous``). A plateau means growth has stalled.
    ``feature_underutilization``
        fewer than 30% of the key features were used in (t−30, t]
        (``10·used < 3·K``), for an account with usage data.
    ``payment_delays``
        an invoice due in (t−90, t] was paid after its due date, or is unpaid and past due at *t*.

``risk_level`` is ``high`` when any high trigger fires, else ``medium`` when any medium
one does, else ``none``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from analytics.customers.config import SPEC_CONFIG, HealthConfig
from analytics.customers.features import both, engagement_ctes, measure_ctes
from analytics.customers.health import (
    COMPONENT_CTES,
    SCORE_CTES,
    TREND_DAYS,
    _params,
    marketing_days_current,
    resolve_as_of,
)
from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl

HIGH_RISK_TRIGGERS = ("health_score_drop", "usage_decline", "support_escalation", "non_response")
MEDIUM_RISK_TRIGGERS = ("usage_plateau", "feature_underutilization", "payment_delays")
TRIGGERS = HIGH_RISK_TRIGGERS + MEDIUM_RISK_TRIGGERS
RISK_LEVELS = ("high", "medium", "none")
SCORE_DROP_POINTS = 20
NON_RESPONSE_DAYS = 45

TRIGGER_CTES = f"""
scores_over_time as (
    select b.account_key, b.as_of, b.overall_score, b.band, b.coverage,
           case when lag(b.as_of) over (partition by b.account_key order by b.as_of) = $trend_from
                then lag(b.overall_score) over (partition by b.account_key order by b.as_of) end
               as score_30_days_before
    from banded as b
),
trigger_inputs as (
    select m.account_id, m.account_name, m.segment, m.owner_id, m.arr, m.as_of,
           s.overall_score, s.band, s.coverage, s.score_30_days_before,
           m.has_usage, m.usage_events_30, m.usage_events_prev_30, m.escalations_30, m.key_features_used_30,
           m.invoices_late_90, e.emails_sent_45, e.last_engagement_day, e.days_since_engagement
    from measures as m
    join scores_over_time as s on s.account_key = m.account_key and s.as_of = m.as_of
    join engagement as e on e.account_key = m.account_key and e.as_of = m.as_of
    where m.as_of = $as_of
),
fired as (
    select i.*,
           coalesce(round(100 * (i.score_30_days_before - i.overall_score)) > 100 * {SCORE_DROP_POINTS}, false)
               as health_score_drop,
           i.usage_events_prev_30 > 0 and 2 * (i.usage_events_prev_30 - i.usage_events_30) > i.usage_events_prev_30
               as usage_decline,
           i.escalations_30 > 0 as support_escalation,
           i.emails_sent_45 > 0
               and (i.last_engagement_day is null or i.last_engagement_day < i.as_of - {NON_RESPONSE_DAYS})
               as non_response,
           i.usage_events_30 > 0 and i.usage_events_prev_30 > 0
               and 10 * abs(i.usage_events_30 - i.usage_events_prev_30) < i.usage_events_prev_30 as usage_plateau,
           i.has_usage and 10 * i.key_features_used_30 < 3 * $key_feature_count as feature_underutilization,
           i.invoices_late_90 > 0 as payment_delays
    from trigger_inputs as i
)"""

RETENTION_TRIGGERS = both(
    "customers.retention_triggers",
    "The seven retention triggers of every paying account as of $as_of, with the numbers behind them.",
    lambda derived: (
        f"""with {measure_ctes(derived)},
{engagement_ctes(derived)},
{COMPONENT_CTES},
{SCORE_CTES},
{TRIGGER_CTES}
select f.*,
       case when f.health_score_drop or f.usage_decline or f.support_escalation or f.non_response then 'high'
            when f.usage_plateau or f.feature_underutilization or f.payment_delays then 'medium'
            else 'none' end as risk_level
from fired as f
order by f.account_id"""
    ),
)

ESCALATED_TICKETS = Query(
    "customers.retention_escalated_tickets",
    """select t.account_id, t.ticket_id, cast(t.opened_at as date) as opened_on, t.severity
from support_tickets as t
where t.escalated and cast(t.opened_at as date) > $as_of - 30 and cast(t.opened_at as date) <= $as_of
order by t.account_id, t.opened_at, t.ticket_id""",
    "The escalated tickets opened in ($as_of - 30, $as_of], the evidence of support_escalation.",
)

LATE_INVOICES = Query(
    "customers.retention_late_invoices",
    """select i.account_id, i.invoice_id, i.due_date,
       case when i.paid_date <= $as_of then i.paid_date end as paid_date,
       case when i.paid_date is not null and i.paid_date <= $as_of then i.paid_date - i.due_date
            else $as_of - i.due_date end as days_late,
       i.amount
from invoices as i
where i.due_date > $as_of - 90 and i.due_date <= $as_of
  and ((i.paid_date is not null and i.paid_date <= $as_of and i.paid_date > i.due_date)
       or ((i.paid_date is null or i.paid_date > $as_of) and i.due_date < $as_of))
order by i.account_id, i.due_date, i.invoice_id""",
    "The invoices due in ($as_of - 90, $as_of] paid late or unpaid past due, the evidence of payment_delays.",
)


def trigger_frame(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Every paying account on ``as_of`` with one boolean column per trigger, the numbers they test,
    and ``risk_level`` (see the module docstring)."""
    config.validate()
    as_of = resolve_as_of(con, as_of)
    trend_from = as_of - timedelta(days=TREND_DAYS)
    return run(
        con,
        RETENTION_TRIGGERS[marketing_days_current(con)],
        _params(con, config, as_of_dates=[trend_from, as_of], as_of=as_of, trend_from=trend_from),
    )


def _window(as_of: date, start: int, end: int = 0) -> str:
    return f"({(as_of - timedelta(days=start)).isoformat()}, {(as_of - timedelta(days=end)).isoformat()}]"


def _evidence(row: dict, name: str, tickets: list[dict], invoices: list[dict], key_feature_count: int) -> dict:
    """The trigger's evidence: one sentence and the numbers and dates that made it fire."""
    t = row["as_of"]
    if name == "health_score_drop":
        drop = round(row["score_30_days_before"] - row["overall_score"], 2)
        return {
            "evidence": f"Health score fell {drop:.2f} points in 30 days, from {row['score_30_days_before']:.2f} on "
            f"{(t - timedelta(days=30)).isoformat()} to {row['overall_score']:.2f} on {t.isoformat()} "
            f"(more than {SCORE_DROP_POINTS}).",
            "score_before": row["score_30_days_before"],
            "score_now": row["overall_score"],
            "drop_points": drop,
            "threshold_points": SCORE_DROP_POINTS,
        }
    if name in ("usage_decline", "usage_plateau"):
        before, now = row["usage_events_prev_30"], row["usage_events_30"]
        change = (now - before) / before
        verb = "fell" if change < 0 else "rose"
        text = (
            f"Usage events {verb} {abs(change):.0%}, from {before:,} in {_window(t, 60, 30)} to {now:,} in "
            f"{_window(t, 30)}"
        )
        text += " (more than 50%)." if name == "usage_decline" else " (within ±10%: flat for 60 days)."
        return {
            "evidence": text,
            "events_previous_30_days": before,
            "events_last_30_days": now,
            "change": round(change, 4),
            "previous_window": _window(t, 60, 30),
            "window": _window(t, 30),
        }
    if name == "support_escalation":
        listed = ", ".join(f"{x['ticket_id']} ({x['severity'] or 'no severity'}, {x['opened_on']})" for x in tickets)
        return {
            "evidence": f"{row['escalations_30']} escalated ticket(s) opened in {_window(t, 30)}: {listed}.",
            "escalated_tickets": row["escalations_30"],
            "tickets": [
                {"ticket_id": x["ticket_id"], "opened_on": x["opened_on"].isoformat(), "severity": x["severity"]}
                for x in tickets
            ],
        }
    if name == "non_response":
        last = row["last_engagement_day"]
        since = (
            f"the last open or click was on {last.isoformat()}, {row['days_since_engagement']} days before"
            if last
            else "no contact has ever opened or clicked one"
        )
        return {
            "evidence": f"{row['emails_sent_45']} email(s) sent to the account's contacts in {_window(t, 45)}, and "
            f"{since} (more than {NON_RESPONSE_DAYS}).",
            "emails_sent_45_days": row["emails_sent_45"],
            "last_engagement": last.isoformat() if last else None,
            "days_since_engagement": row["days_since_engagement"],
        }
    if name == "feature_underutilization":
        used = row["key_features_used_30"]
        return {
            "evidence": f"{used} of {key_feature_count} key features used in {_window(t, 30)} "
            f"({used / key_feature_count:.0%}, fewer than 30%).",
            "key_features_used": used,
            "key_features": key_feature_count,
            "share": round(used / key_feature_count, 4),
        }
    if name == "payment_delays":
        listed = ", ".join(
            f"{x['invoice_id']} due {x['due_date']} "
            + (
                f"paid {x['paid_date']} ({x['days_late']} days late)"
                if x["paid_date"]
                else f"unpaid, {x['days_late']} days past due"
            )
            for x in invoices
        )
        return {
            "evidence": f"{row['invoices_late_90']} invoice(s) due in {_window(t, 90)} paid late or unpaid: {listed}.",
            "late_invoices": row["invoices_late_90"],
            "invoices": [
                {
                    "invoice_id": x["invoice_id"],
                    "due_date": x["due_date"].isoformat(),
                    "paid_date": x["paid_date"].isoformat() if x["paid_date"] else None,
                    "days_late": x["days_late"],
                    "amount": x["amount"],
                }
                for x in invoices
            ],
        }
    raise ValueError(f"unknown trigger {name!r}")


def retention_flags(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> list[dict]:
    """``evaluateRetentionTriggers``: one dict per account with a fired trigger, highest risk first.

    Each is ``{account_id, account_name, as_of, risk_level, overall_score, band, arr, owner_id,
    triggers: [{name, level, evidence, ...numbers}]}``.
    """
    as_of = resolve_as_of(con, as_of)
    frame = trigger_frame(con, as_of, config)
    params = {"as_of": as_of}
    tickets: dict[str, list[dict]] = {}
    for row in run(con, ESCALATED_TICKETS, params).iter_rows(named=True):
        tickets.setdefault(row["account_id"], []).append(row)
    invoices: dict[str, list[dict]] = {}
    for row in run(con, LATE_INVOICES, params).iter_rows(named=True):
        invoices.setdefault(row["account_id"], []).append(row)
    key_feature_count = _params(con, config)["key_feature_count"]
    flagged = []
    for row in frame.filter(frame["risk_level"] != "none").iter_rows(named=True):
        fired = []
        for name in TRIGGERS:
            if row[name]:
                level = "high" if name in HIGH_RISK_TRIGGERS else "medium"
                details = _evidence(
                    row,
                    name,
                    tickets.get(row["account_id"], []),
                    invoices.get(row["account_id"], []),
                    key_feature_count,
                )
                fired.append({"name": name, "level": level, **details})
        flagged.append(
            {
                "account_id": row["account_id"],
                "account_name": row["account_name"],
                "as_of": as_of.isoformat(),
                "risk_level": row["risk_level"],
                "overall_score": row["overall_score"],
                "band": row["band"],
                "arr": row["arr"],
                "owner_id": row["owner_id"],
                "triggers": fired,
            }
        )
    order = {level: i for i, level in enumerate(RISK_LEVELS)}
    return sorted(flagged, key=lambda item: (order[item["risk_level"]], -(item["arr"] or 0), item["account_id"]))
