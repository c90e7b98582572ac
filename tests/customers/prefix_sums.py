"""The health measures by prefix sums over a regular grid of as-of dates: an independent check of the history.

The product computes every window count by a range join (each event day joined to every as-of date
whose window holds it: :mod:`analytics.customers.features`). Here the same counts are derived
another way, on a grid of as-of dates ``$grid_step_days`` apart from ``$first_as_of`` (the
weekly history's dates):

A count over (t−a, t−b] of events on day d is the number of intervals [d+b, d+a) that hold t:
an event *enters* the window at d+b and *leaves* it at d+a. So a measure at t is
(entries on or before t) − (leaves on or before t): a running sum over the dates. On a grid
t_k = t_0 + k·step, a date x is counted from the first grid date on or after it, k(x) =
ceil((x − t_0) / step) (0 for x ≤ t_0, so everything before the grid starts counts from t_0),
and the measure at t_k is the running sum, per account, of every entry and leave with k(x) ≤ k.
Each event gives a few edges (its entry and its leaves) instead of one row per as-of date whose
window holds it (about 17 for the 120-day usage baseline, 52 for the 365-day invoices).
The distinct counts are intervals too: a key feature counts from a use day until 30 days later
or its next use, whichever is first (``key_feature_spells``); a campaign from its send day until 30
days later or its next send day (``next_send_day``); late invoices from the day after their due
date (late at t means unpaid or paid after the due date, and due before t).

:data:`PREFIX_SUM_CTES` continues the product's chain (after ``measures``, reusing its sources:
``scope``, ``usage_days``, ``key_feature_spells``, ``tickets``, ``email_by_campaign``,
``content_days``) and ends in ``prefix_measures``, with the columns of ``measures``. Tests compare
the two row for row. ``benchmarks/bench_health.py --history-forms`` times both on a large warehouse:
on DuckDB this form is the slower one (the running sums over every account-date cost more than
the range join's fan-out), which is why the product keeps the range join.
"""

from __future__ import annotations

from datetime import date

from analytics.customers.features import measure_ctes, window_params

# (measure, source, value, enters, leaves): the measure at t sums ``value`` over the rows of
# ``source`` with enters ≤ t < leaves.
GRID_MEASURES = (
    ("usage_events_30", "usage_days", "events", "day", "day + 30"),
    ("usage_events_60", "usage_days", "events", "day", "day + 60"),
    ("usage_events_120", "usage_days", "events", "day", "day + 120"),
    ("active_days_30", "usage_days", "1", "day", "day + 30"),
    ("key_features_used_30", "grid_key_features", "1", "day", "until_day"),
    ("tickets_90", "grid_tickets", "1", "opened_day", "opened_day + 90"),
    ("escalations_90", "grid_tickets", "escalated", "opened_day", "opened_day + 90"),
    ("escalations_30", "grid_tickets", "escalated", "opened_day", "opened_day + 30"),
    ("rated_90", "grid_tickets", "rated", "resolved_day", "resolved_day + 90"),
    ("low_csat_90", "grid_tickets", "low_csat", "resolved_day", "resolved_day + 90"),
    ("invoices_due_365", "grid_invoices", "1", "due_date", "due_date + 365"),
    ("invoices_late_365", "grid_invoices", "late", "due_date + 1", "due_date + 365"),
    ("invoices_late_90", "grid_invoices", "late", "due_date + 1", "due_date + 90"),
    ("emails_sent_30", "grid_email", "sends", "day", "day + 30"),
    ("email_opens_30", "grid_email", "opens", "day", "day + 30"),
    ("email_clicks_30", "grid_email", "clicks", "day", "day + 30"),
    ("email_unsubscribes_30", "grid_email", "unsubscribes", "day", "day + 30"),
    ("campaigns_enrolled_30", "grid_email", "enrolled", "day", "enrolled_until"),
    ("campaigns_responded_30", "grid_email", "responded", "day", "responded_until"),
    ("campaigns_completed_30", "grid_email", "completed", "completed_from", "enrolled_until"),
    ("blog_reads_30", "content_days", "blog_reads", "day", "day + 30"),
    ("webinars_30", "content_days", "webinars", "day", "day + 30"),
    ("downloads_30", "content_days", "downloads", "day", "day + 30"),
    ("referrals_180", "content_days", "referrals", "day", "day + 180"),
    ("reviews_180", "content_days", "reviews", "day", "day + 180"),
    ("case_studies_180", "content_days", "case_studies", "day", "day + 180"),
)
_GRID_NAMES = [m[0] for m in GRID_MEASURES]

# The rows the edges are read from, with the values and dates GRID_MEASURES names.
_GRID_SOURCES = """
grid_key_features as (
    select account_key, day, least(day + 30, coalesce(next_day, day + 30)) as until_day
    from key_feature_spells
),
grid_tickets as (
    select account_key, opened_day, resolved_day,
           case when escalated then 1 else 0 end as escalated,
           case when csat is not null then 1 else 0 end as rated,
           case when csat <= 2 then 1 else 0 end as low_csat
    from tickets
),
grid_invoices as (
    -- late at t (see invoice_status): unpaid, or paid after the due date, and due before t
    select a.account_key, i.due_date,
           case when i.paid_date is null or i.paid_date > i.due_date then 1 else 0 end as late
    from invoices as i
    join paying_accounts as a on a.account_id = i.account_id
    where i.due_date > $first_as_of - 365 and i.due_date <= $last_as_of
),
grid_email as (
    -- a campaign counts from a day it emailed the contacts until 30 days later or its next such day (the
    -- same for responses); it is completed from its end date on, while it counts as enrolled
    select e.account_key, e.day, e.sends, e.opens, e.clicks, e.unsubscribes,
           case when e.campaign_id is not null and e.sends > 0 then 1 else 0 end as enrolled,
           least(e.day + 30, coalesce(e.next_send_day, e.day + 30)) as enrolled_until,
           case when e.campaign_id is not null and e.opens + e.clicks > 0 then 1 else 0 end as responded,
           least(e.day + 30, coalesce(e.next_response_day, e.day + 30)) as responded_until,
           case when c.end_date > e.day then c.end_date else e.day end as completed_from,
           case when e.campaign_id is not null and e.sends > 0 and c.end_date is not null
                     and c.end_date < least(e.day + 30, coalesce(e.next_send_day, e.day + 30)) then 1 else 0 end
               as completed
    from email_by_campaign as e
    left join campaigns as c on c.campaign_id = e.campaign_id
),"""


def _wrapped(items: list[str], width: int = 100) -> str:
    """``items`` joined by commas, broken into lines of about ``width`` characters (readable printed SQL)."""
    import textwrap

    kept = ", ".join(item.replace(" ", "\0") for item in items)  # break between items only
    return textwrap.fill(kept, width, subsequent_indent=" " * 11, break_long_words=False).replace("\0", " ")


def _grid_edges() -> str:
    """One select per source and edge date: +value for the measures entering there, −value for those leaving."""
    parts = []
    for source in dict.fromkeys(m[1] for m in GRID_MEASURES):
        measures = [m for m in GRID_MEASURES if m[1] == source]
        for edge in dict.fromkeys(x for m in measures for x in (m[3], m[4])):
            columns, values = [], []
            for name, of, value, enters, leaves in GRID_MEASURES:
                sign = "" if of == source and enters == edge else "-" if of == source and leaves == edge else None
                columns.append(f"0 as {name}" if sign is None else f"{sign}{value} as {name}")
                if sign is not None:
                    values.append(value)
            # an edge row that moves no measure is left out (a constant value always moves one)
            where = f"{edge} <= $last_as_of"
            if "1" not in values:
                where += f" and ({' or '.join(f'{v} <> 0' for v in dict.fromkeys(values))})"
            parts.append(
                f"    select account_key, {edge} as edge_day,\n           {_wrapped(columns)}\n"
                f"    from {source}\n    where {where}"
            )
    return "\n    union all\n".join(parts)


def _grid_columns(template: str, names=None, sep: str | None = None) -> str:
    items = [template.format(name=name) for name in names or _GRID_NAMES]
    return sep.join(items) if sep else _wrapped(items)


_NEXT_LINE = ",\n           "
_RUNNING_SUM = (
    "sum({name}) over (partition by account_key order by step rows between unbounded preceding and current row)"
)
PREFIX_SUM_CTES = f""",{_GRID_SOURCES}
grid_edges as (
{_grid_edges()}
),
grid_steps as (
    -- each edge on the first grid date on or after it, plus every account-date in scope (so each has a row)
    select account_key,
           case when edge_day <= $first_as_of then 0
                else cast(ceil((edge_day - $first_as_of) / cast($grid_step_days as double)) as integer) end as step,
           {_grid_columns("{name}")}
    from grid_edges
    union all
    select account_key, cast((as_of - $first_as_of) / $grid_step_days as integer) as step,
           {_grid_columns("0 as {name}")}
    from scope
),
grid_changes as (
    select account_key, step, {_grid_columns("sum({name}) as {name}")}
    from grid_steps
    group by account_key, step
),
grid_windows as (
    -- the running sums: every measure as of each grid date
    select account_key, step,
           {_grid_columns(_RUNNING_SUM + " as {name}", sep=_NEXT_LINE)}
    from grid_changes
),
prefix_measures as (
    select s.account_key, s.account_id, s.account_name, s.segment, s.owner_id, s.arr, s.created_day,
           s.churned_day, s.as_of,
           coalesce(fu.first_day <= s.as_of, false) as has_usage,
           case when fu.first_day <= s.as_of then fu.first_day end as first_usage_day,
           cast(g.usage_events_30 as bigint) as usage_events_30,
           cast(g.usage_events_60 - g.usage_events_30 as bigint) as usage_events_prev_30,
           cast(g.usage_events_120 - g.usage_events_30 as bigint) as usage_events_base_90,
           cast(g.active_days_30 as bigint) as active_days_30,
           cast(g.key_features_used_30 as bigint) as key_features_used_30,
           coalesce(ft.first_day <= s.as_of, false) as support_loaded,
           {_grid_columns("cast(g.{name} as bigint) as {name}", _GRID_NAMES[5:13])},
           coalesce(fc.first_day <= s.as_of, false) as has_contacts,
           {_grid_columns("cast(g.{name} as bigint) as {name}", _GRID_NAMES[13:])}
    from scope as s
    cross join first_ticket as ft
    left join first_usage as fu on fu.account_key = s.account_key
    left join first_contact as fc on fc.account_key = s.account_key
    join grid_windows as g
      on g.account_key = s.account_key and g.step = cast((s.as_of - $first_as_of) / $grid_step_days as integer)
)"""


def prefix_sum_sql(derived: bool) -> str:
    """The prefix-sum measures as one query (the product's sources, then :data:`PREFIX_SUM_CTES`)."""
    return f"with {measure_ctes(derived)}{PREFIX_SUM_CTES}\nselect * from prefix_measures order by as_of, account_id"


def grid_params(as_of_dates: list[date]) -> dict:
    """:func:`window_params` and the step of the grid the dates form (refused when they are not evenly spaced)."""
    dates = sorted(set(as_of_dates))
    steps = {(b - a).days for a, b in zip(dates, dates[1:])}
    if len(steps) > 1:
        raise ValueError(f"the as-of dates are not evenly spaced (steps {sorted(steps)} days)")
    return {**window_params(dates), "grid_step_days": steps.pop() if steps else 1}
