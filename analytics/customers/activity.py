"""An account's recent activity for the Health page's drill-down: tickets, invoices, usage and email.

Each function reads one account up to an as-of date *t* and looks back ``days`` (default 180):
``account_tickets`` (opened in (t−days, t]), ``account_invoices`` (due in (t−days, t], with
their status at *t*), ``account_weekly_activity`` (usage events, active users, emails sent,
opens and clicks per week ending on or before *t*). Each week ends on a multiple of 7 days
before *t*, so the last bar is the week ending on *t*.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl

ACCOUNT_TICKETS = Query(
    "customers.account_tickets",
    """select ticket_id, cast(opened_at as date) as opened_on, severity, coalesce(escalated, false) as escalated,
       case when cast(resolved_at as date) <= $as_of then cast(resolved_at as date) end as resolved_on,
       case when cast(resolved_at as date) <= $as_of then csat end as csat
from support_tickets
where account_id = $account_id
  and cast(opened_at as date) > $as_of - $days and cast(opened_at as date) <= $as_of
order by opened_at desc, ticket_id""",
    "An account's tickets opened in the lookback, with what was known about them on $as_of.",
)

ACCOUNT_INVOICES = Query(
    "customers.account_invoices",
    """select invoice_id, issued_date, due_date,
       case when paid_date <= $as_of then paid_date end as paid_date, amount,
       case when paid_date is not null and paid_date <= $as_of and paid_date > due_date then 'paid late'
            when paid_date is not null and paid_date <= $as_of then 'paid on time'
            when due_date < $as_of then 'unpaid, past due'
            else 'open' end as status,
       case when paid_date is not null and paid_date <= $as_of then greatest(0, paid_date - due_date)
            when due_date < $as_of then $as_of - due_date
            else 0 end as days_late
from invoices
where account_id = $account_id and due_date > $as_of - $days and due_date <= $as_of
order by due_date desc, invoice_id""",
    "An account's invoices due in the lookback and their status on $as_of.",
)

ACCOUNT_WEEKLY_ACTIVITY = Query(
    "customers.account_weekly_activity",
    """with usage as (
    select cast(floor(($as_of - cast(ts as date)) / 7.0) as integer) as weeks_back, count(*) as usage_events,
           count(distinct user_id) as active_users
    from feature_usage_events
    where account_id = $account_id and cast(ts as date) > $as_of - $days and cast(ts as date) <= $as_of
    group by 1
),
email as (
    select cast(floor(($as_of - cast(e.ts as date)) / 7.0) as integer) as weeks_back,
           count(case when e.event_type = 'sent' then 1 end) as emails_sent,
           count(case when e.event_type = 'open' then 1 end) as email_opens,
           count(case when e.event_type = 'click' then 1 end) as email_clicks
    from email_events as e
    join contacts as c on c.contact_id = e.contact_id
    where c.account_id = $account_id and cast(e.ts as date) > $as_of - $days and cast(e.ts as date) <= $as_of
    group by 1
),
weeks as (
    select weeks_back from usage union select weeks_back from email
)
select $as_of - 7 * w.weeks_back as week_ending,
       coalesce(u.usage_events, 0) as usage_events, coalesce(u.active_users, 0) as active_users,
       coalesce(e.emails_sent, 0) as emails_sent, coalesce(e.email_opens, 0) as email_opens,
       coalesce(e.email_clicks, 0) as email_clicks
from weeks as w
left join usage as u on u.weeks_back = w.weeks_back
left join email as e on e.weeks_back = w.weeks_back
order by week_ending""",
    "An account's usage and email activity per week ending on $as_of minus a multiple of 7 days.",
)


def _params(account_id: str, as_of: date, days: int) -> dict:
    return {"account_id": account_id, "as_of": as_of, "days": int(days)}


def account_tickets(con, account_id: str, as_of: date, days: int = 180) -> pl.DataFrame:
    return run(con, ACCOUNT_TICKETS, _params(account_id, as_of, days))


def account_invoices(con, account_id: str, as_of: date, days: int = 180) -> pl.DataFrame:
    return run(con, ACCOUNT_INVOICES, _params(account_id, as_of, days))


def account_weekly_activity(con, account_id: str, as_of: date, days: int = 182) -> pl.DataFrame:
    return run(con, ACCOUNT_WEEKLY_ACTIVITY, _params(account_id, as_of, days))
