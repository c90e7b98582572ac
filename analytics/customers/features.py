"""Account measures as of any date: the facts the health score, the triggers and the churn model read.

One chain of named CTEs (:func:`measure_ctes`) computes, for every paying account and every
as-of date *t* in ``$as_of_dates``, counts over calendar-day windows. A window is written
(t−a, t−b]: after t−a and up to t−b, on the event's calendar date. Nothing after *t* is
read, so a measure as of a past date is what was known then (the weekly history and the
churn model's snapshots rely on it).

Scope (``scope``): accounts with ``arr > 0``, created on or before *t* (or without a
creation date) and not churned by *t* (``churned_at`` after *t*, or none). Each carries its
``created_day`` and ``churned_day`` (the churn model's label reads the latter).

Measures (one row per account and as-of date; counts are 0 when nothing happened):

=============================  =================================================================
usage (``feature_usage_events``)
``has_usage``                  the account has a usage event dated on or before *t*
``first_usage_day``            the date of its first usage event (when on or before *t*)
``usage_events_30``            events dated in (t−30, t]
``usage_events_prev_30``       events dated in (t−60, t−30]
``usage_events_base_90``       events dated in (t−120, t−30]
``active_days_30``             distinct dates with an event in (t−30, t]
``key_features_used_30``       distinct key features (``$key_features``, matched on the feature
                               name, or its id when the event has no name) used in (t−30, t]
support (``support_tickets``)
``support_loaded``             the warehouse has a ticket opened on or before *t* (any account)
``tickets_90``                 tickets opened in (t−90, t]
``escalations_90``             escalated tickets opened in (t−90, t]
``escalations_30``             escalated tickets opened in (t−30, t]
``rated_90``, ``low_csat_90``  tickets resolved in (t−90, t] with a CSAT, and those with CSAT ≤ 2 (1–5)
payments (``invoices``)
``invoices_due_365``           invoices due in (t−365, t]
``invoices_late_365``          of those, the late ones: paid after the due date (paid by *t*),
                               or unpaid at *t* (no paid date, or paid after *t*) and due before *t*
``invoices_late_90``           late invoices due in (t−90, t]
marketing (contacts' ``email_events`` and ``content_events``; ``MarketingEngagementMetrics``)
``has_contacts``               the account has a contact created on or before *t* (or undated)
``emails_sent_30``, ``email_opens_30``, ``email_clicks_30``, ``email_unsubscribes_30``
                               email events of those kinds dated in (t−30, t]
``emails_sent_45``             emails sent in (t−45, t]
``email_engagements_45``       opens and clicks dated in [t−45, t] (an engagement exactly 45
                               days before *t* counts: "more than 45 days" is strict)
``campaigns_enrolled_30``      distinct campaigns that emailed the contacts in (t−30, t]
``campaigns_responded_30``     of those, the campaigns they opened or clicked in (t−30, t]
``campaigns_completed_30``     of the enrolled, those whose end date is on or before *t*
``blog_reads_30``, ``webinars_30``, ``downloads_30``
                               content events of those kinds in (t−30, t]
``referrals_180``, ``reviews_180``, ``case_studies_180``
                               advocacy events of those kinds in (t−180, t]
=============================  =================================================================

Email and content come either from the raw events, joined to their contacts, or from
``_health_marketing_days`` (:data:`MARKETING_DAYS_BUILD`: the same counts per account, day and
campaign, built at every load with the weekly history); a reader uses the second when the
derived tables are current (:func:`analytics.customers.health.marketing_days_current`), with
the same numbers, and the first otherwise.

The two ``unnest`` lines (the as-of dates and the key features, bound as lists) are the only
DuckDB-specific forms; everything else is standard SQL. ``$first_as_of`` and ``$last_as_of``
(the earliest and latest of the dates, bound by :func:`window_params`) bound every scan with
constants, so the engine skips the row groups outside the windows.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl

# The chain every health query starts with; it ends in ``measures``.
_MEASURE_TEMPLATE = """
as_of_dates as (
    select distinct cast(unnest($as_of_dates) as date) as as_of
),
key_features as (
    select distinct cast(unnest($key_features) as varchar) as feature
),
paying_accounts as (
    -- a number per paying account, so the windows below group on integers, not text
    select account_id, row_number() over (order by account_id) as account_key, name, segment, owner_id, arr,
           cast(created_at as date) as created_day, cast(churned_at as date) as churned_day
    from accounts
    where arr > 0
),
scope as (
    select a.account_key, a.account_id, a.name as account_name, coalesce(a.segment, '(none)') as segment,
           a.owner_id, a.arr, a.created_day, a.churned_day, d.as_of
    from paying_accounts as a
    cross join as_of_dates as d
    where (a.created_day is null or a.created_day <= d.as_of)
      and (a.churned_day is null or a.churned_day > d.as_of)
),
usage_events as (
    select a.account_key, cast(u.ts as date) as day, coalesce(u.feature_name, u.feature_id) as feature
    from feature_usage_events as u
    join paying_accounts as a on a.account_id = u.account_id
    where u.ts < cast($last_as_of + 1 as timestamp)
),
first_usage as (
    select account_key, min(day) as first_day
    from usage_events
    group by account_key
),
usage_days as (
    select u.account_key, u.day, count(*) as events
    from usage_events as u
    where u.day > $first_as_of - 120
    group by u.account_key, u.day
),
usage_windows as (
    -- each day joins the as-of dates whose windows hold it (a join on dates alone is a cheap range join)
    select u.account_key, d.as_of,
           sum(case when u.day > d.as_of - 30 then u.events else 0 end) as usage_events_30,
           count(case when u.day > d.as_of - 30 then 1 end) as active_days_30,
           sum(case when u.day > d.as_of - 60 and u.day <= d.as_of - 30 then u.events else 0 end)
               as usage_events_prev_30,
           sum(case when u.day <= d.as_of - 30 then u.events else 0 end) as usage_events_base_90
    from usage_days as u
    join as_of_dates as d on u.day > d.as_of - 120 and u.day <= d.as_of
    group by u.account_key, d.as_of
),
key_feature_days as (
    select distinct u.account_key, u.feature, u.day
    from usage_events as u
    join key_features as k on k.feature = u.feature
    where u.day > $first_as_of - 30
),
key_feature_spells as (
    -- a key feature counts at t when its latest use on or before t is after t-30: a use day covers
    -- [day, day + 30) up to the feature's next use, so one feature's spells never overlap
    select account_key, day, lead(day) over (partition by account_key, feature order by day) as next_day
    from key_feature_days
),
key_feature_windows as (
    select f.account_key, d.as_of, count(*) as key_features_used_30
    from key_feature_spells as f
    join as_of_dates as d on d.as_of >= f.day and d.as_of < f.day + 30 and (f.next_day is null or d.as_of < f.next_day)
    group by f.account_key, d.as_of
),
first_ticket as (
    select min(cast(opened_at as date)) as first_day from support_tickets
),
tickets as (
    select a.account_key, cast(t.opened_at as date) as opened_day, coalesce(t.escalated, false) as escalated,
           cast(t.resolved_at as date) as resolved_day, t.csat
    from support_tickets as t
    join paying_accounts as a on a.account_id = t.account_id
    where t.opened_at < cast($last_as_of + 1 as timestamp)
      and (t.opened_at >= cast($first_as_of - 89 as timestamp) or t.resolved_at >= cast($first_as_of - 89 as timestamp))
),
opened_windows as (
    select t.account_key, d.as_of,
           count(*) as tickets_90,
           count(case when t.escalated then 1 end) as escalations_90,
           count(case when t.escalated and t.opened_day > d.as_of - 30 then 1 end) as escalations_30
    from tickets as t
    join as_of_dates as d on t.opened_day > d.as_of - 90 and t.opened_day <= d.as_of
    group by t.account_key, d.as_of
),
resolved_windows as (
    select t.account_key, d.as_of,
           count(case when t.csat is not null then 1 end) as rated_90,
           count(case when t.csat <= 2 then 1 end) as low_csat_90
    from tickets as t
    join as_of_dates as d on t.resolved_day > d.as_of - 90 and t.resolved_day <= d.as_of
    group by t.account_key, d.as_of
),
invoice_status as (
    -- late at t: paid after its due date (by t), or unpaid at t (no paid date, or paid after t) and due before t
    select a.account_key, d.as_of, i.due_date,
           (i.paid_date is not null and i.paid_date <= d.as_of and i.paid_date > i.due_date)
           or ((i.paid_date is null or i.paid_date > d.as_of) and i.due_date < d.as_of) as late
    from invoices as i
    join paying_accounts as a on a.account_id = i.account_id
    join as_of_dates as d on i.due_date > d.as_of - 365 and i.due_date <= d.as_of
    where i.due_date > $first_as_of - 365 and i.due_date <= $last_as_of
),
payment_windows as (
    select account_key, as_of,
           count(*) as invoices_due_365,
           count(case when late then 1 end) as invoices_late_365,
           count(case when late and due_date > as_of - 90 then 1 end) as invoices_late_90
    from invoice_status
    group by account_key, as_of
),
account_contacts as (
    select a.account_key, c.contact_id, cast(c.created_at as date) as created_day
    from contacts as c
    join paying_accounts as a on a.account_id = c.account_id
),
first_contact as (
    -- the day an account's first contact was created (undated contacts count from the start)
    select account_key, min(coalesce(created_day, date '0001-01-01')) as first_day
    from account_contacts
    group by account_key
),
@email_by_campaign@
email_windows as (
    -- emails in (t-30, t]; campaigns that emailed the contacts then, those opened or clicked, those ended
    -- by t: a campaign counts once, on its last such day in the window (no later one by t)
    select e.account_key, d.as_of,
           sum(e.sends) as emails_sent_30,
           sum(e.opens) as email_opens_30,
           sum(e.clicks) as email_clicks_30,
           sum(e.unsubscribes) as email_unsubscribes_30,
           count(case when e.campaign_id is not null and e.sends > 0
                       and (e.next_send_day is null or e.next_send_day > d.as_of) then 1 end) as campaigns_enrolled_30,
           count(case when e.campaign_id is not null and e.opens + e.clicks > 0
                       and (e.next_response_day is null or e.next_response_day > d.as_of) then 1 end)
               as campaigns_responded_30,
           count(case when e.campaign_id is not null and e.sends > 0 and c.end_date <= d.as_of
                       and (e.next_send_day is null or e.next_send_day > d.as_of) then 1 end) as campaigns_completed_30
    from email_by_campaign as e
    join as_of_dates as d on e.day > d.as_of - 30 and e.day <= d.as_of
    left join campaigns as c on c.campaign_id = e.campaign_id
    group by e.account_key, d.as_of
),
@content_days@
content_windows as (
    select e.account_key, d.as_of,
           sum(e.blog_reads) as blog_reads_30, sum(e.webinars) as webinars_30, sum(e.downloads) as downloads_30
    from content_days as e
    join as_of_dates as d on e.day > d.as_of - 30 and e.day <= d.as_of
    where e.blog_reads + e.webinars + e.downloads > 0
    group by e.account_key, d.as_of
),
advocacy_windows as (
    select e.account_key, d.as_of,
           sum(e.referrals) as referrals_180, sum(e.reviews) as reviews_180, sum(e.case_studies) as case_studies_180
    from content_days as e
    join as_of_dates as d on e.day > d.as_of - 180 and e.day <= d.as_of
    where e.referrals + e.reviews + e.case_studies > 0
    group by e.account_key, d.as_of
),
measures as (
    select s.account_key, s.account_id, s.account_name, s.segment, s.owner_id, s.arr, s.created_day,
           s.churned_day, s.as_of,
           coalesce(fu.first_day <= s.as_of, false) as has_usage,
           case when fu.first_day <= s.as_of then fu.first_day end as first_usage_day,
           cast(coalesce(u.usage_events_30, 0) as bigint) as usage_events_30,
           cast(coalesce(u.usage_events_prev_30, 0) as bigint) as usage_events_prev_30,
           cast(coalesce(u.usage_events_base_90, 0) as bigint) as usage_events_base_90,
           cast(coalesce(u.active_days_30, 0) as bigint) as active_days_30,
           cast(coalesce(k.key_features_used_30, 0) as bigint) as key_features_used_30,
           coalesce(ft.first_day <= s.as_of, false) as support_loaded,
           cast(coalesce(o.tickets_90, 0) as bigint) as tickets_90,
           cast(coalesce(o.escalations_90, 0) as bigint) as escalations_90,
           cast(coalesce(o.escalations_30, 0) as bigint) as escalations_30,
           cast(coalesce(r.rated_90, 0) as bigint) as rated_90,
           cast(coalesce(r.low_csat_90, 0) as bigint) as low_csat_90,
           cast(coalesce(p.invoices_due_365, 0) as bigint) as invoices_due_365,
           cast(coalesce(p.invoices_late_365, 0) as bigint) as invoices_late_365,
           cast(coalesce(p.invoices_late_90, 0) as bigint) as invoices_late_90,
           coalesce(fc.first_day <= s.as_of, false) as has_contacts,
           cast(coalesce(e.emails_sent_30, 0) as bigint) as emails_sent_30,
           cast(coalesce(e.email_opens_30, 0) as bigint) as email_opens_30,
           cast(coalesce(e.email_clicks_30, 0) as bigint) as email_clicks_30,
           cast(coalesce(e.email_unsubscribes_30, 0) as bigint) as email_unsubscribes_30,
           cast(coalesce(e.campaigns_enrolled_30, 0) as bigint) as campaigns_enrolled_30,
           cast(coalesce(e.campaigns_responded_30, 0) as bigint) as campaigns_responded_30,
           cast(coalesce(e.campaigns_completed_30, 0) as bigint) as campaigns_completed_30,
           cast(coalesce(ct.blog_reads_30, 0) as bigint) as blog_reads_30,
           cast(coalesce(ct.webinars_30, 0) as bigint) as webinars_30,
           cast(coalesce(ct.downloads_30, 0) as bigint) as downloads_30,
           cast(coalesce(av.referrals_180, 0) as bigint) as referrals_180,
           cast(coalesce(av.reviews_180, 0) as bigint) as reviews_180,
           cast(coalesce(av.case_studies_180, 0) as bigint) as case_studies_180
    from scope as s
    cross join first_ticket as ft
    left join first_usage as fu on fu.account_key = s.account_key
    left join usage_windows as u on u.account_key = s.account_key and u.as_of = s.as_of
    left join key_feature_windows as k on k.account_key = s.account_key and k.as_of = s.as_of
    left join opened_windows as o on o.account_key = s.account_key and o.as_of = s.as_of
    left join resolved_windows as r on r.account_key = s.account_key and r.as_of = s.as_of
    left join payment_windows as p on p.account_key = s.account_key and p.as_of = s.as_of
    left join first_contact as fc on fc.account_key = s.account_key
    left join email_windows as e on e.account_key = s.account_key and e.as_of = s.as_of
    left join content_windows as ct on ct.account_key = s.account_key and ct.as_of = s.as_of
    left join advocacy_windows as av on av.account_key = s.account_key and av.as_of = s.as_of
)"""

# Email recency for the triggers and the churn model (not needed by the score, so kept apart):
# sends in (t-45, t] and the last open or click on or before t, over the whole history.
_ENGAGEMENT_TEMPLATE = """
@engagement_days@
engagement_spells as (
    select account_key, day, lead(day) over (partition by account_key order by day) as next_day
    from engagement_days
    where engaged > 0
),
last_engagement as (
    -- the engagement day on or before t that the next one has not replaced yet
    select s.account_key, d.as_of, s.day as last_engagement_day
    from engagement_spells as s
    join as_of_dates as d on d.as_of >= s.day and (s.next_day is null or d.as_of < s.next_day)
),
recent_sends as (
    select e.account_key, d.as_of, sum(e.sends) as emails_sent_45
    from (
        select account_key, day, sum(sends) as sends
        from engagement_days
        where sends > 0 and day > $first_as_of - 45
        group by account_key, day
    ) as e
    join as_of_dates as d on e.day > d.as_of - 45 and e.day <= d.as_of
    group by e.account_key, d.as_of
),
engagement as (
    select m.account_key, m.account_id, m.as_of,
           cast(coalesce(rs.emails_sent_45, 0) as bigint) as emails_sent_45,
           le.last_engagement_day,
           m.as_of - le.last_engagement_day as days_since_engagement
    from measures as m
    left join recent_sends as rs on rs.account_key = m.account_key and rs.as_of = m.as_of
    left join last_engagement as le on le.account_key = m.account_key and le.as_of = m.as_of
)"""

MARKETING_DAYS_TABLE = "_health_marketing_days"


def _next_days(account: str) -> str:
    """Per email row ``g`` (an account, day and campaign): the campaign's next day after it with sends,
    and with opens or clicks, for the account (null: none), so a window counts a campaign once."""
    frame = f"partition by g.{account}, g.campaign_id order by g.day rows between 1 following and unbounded following"
    return (
        f"min(case when g.sends > 0 then g.day end) over ({frame}) as next_send_day,\n"
        f"           min(case when g.opens + g.clicks > 0 then g.day end) over ({frame}) as next_response_day"
    )


# Where the email and content measures come from: the raw events (joined to their contacts), or
# the marketing days every load builds (:data:`MARKETING_DAYS_BUILD`), which give the same rows
# without the join; :func:`measure_ctes` writes the chain for either.
RAW_SOURCES = {
    "email_by_campaign": """email_by_campaign as (
    -- one pass over the email events: per account, day and campaign (no campaign: null), with the
    -- campaign's next day of sends and of opens or clicks
    select g.*, @next_days@
    from (
        select c.account_key, cast(e.ts as date) as day, e.campaign_id,
               count(case when e.event_type = 'sent' then 1 end) as sends,
               count(case when e.event_type = 'open' then 1 end) as opens,
               count(case when e.event_type = 'click' then 1 end) as clicks,
               count(case when e.event_type = 'unsubscribe' then 1 end) as unsubscribes
        from email_events as e
        join account_contacts as c on c.contact_id = e.contact_id
        where e.ts >= cast($first_as_of - 29 as timestamp) and e.ts < cast($last_as_of + 1 as timestamp)
        group by c.account_key, cast(e.ts as date), e.campaign_id
    ) as g
),
""",
    "content_days": """content_days as (
    select c.account_key, cast(e.ts as date) as day,
           count(case when e.kind = 'blog_read' then 1 end) as blog_reads,
           count(case when e.kind = 'webinar' then 1 end) as webinars,
           count(case when e.kind = 'download' then 1 end) as downloads,
           count(case when e.kind = 'referral' then 1 end) as referrals,
           count(case when e.kind = 'review' then 1 end) as reviews,
           count(case when e.kind = 'case_study' then 1 end) as case_studies
    from content_events as e
    join account_contacts as c on c.contact_id = e.contact_id
    where e.ts >= cast($first_as_of - 179 as timestamp) and e.ts < cast($last_as_of + 1 as timestamp)
    group by c.account_key, cast(e.ts as date)
),
""",
    "engagement_days": """engagement_days as (
    -- per account and day: opens and clicks (all history up to t) and emails sent
    select c.account_key, cast(e.ts as date) as day,
           count(case when e.event_type in ('open', 'click') then 1 end) as engaged,
           count(case when e.event_type = 'sent' then 1 end) as sends
    from email_events as e
    join account_contacts as c on c.contact_id = e.contact_id
    where e.event_type in ('open', 'click', 'sent') and e.ts < cast($last_as_of + 1 as timestamp)
    group by c.account_key, cast(e.ts as date)
),
""",
}
RAW_SOURCES["email_by_campaign"] = RAW_SOURCES["email_by_campaign"].replace("@next_days@", _next_days("account_key"))
DERIVED_SOURCES = {
    "email_by_campaign": """email_by_campaign as (
    -- the email rows of the marketing days built at load: per account, day and campaign
    select a.account_key, m.day, m.campaign_id, m.sends, m.opens, m.clicks, m.unsubscribes, m.next_send_day,
           m.next_response_day
    from _health_marketing_days as m
    join paying_accounts as a on a.account_id = m.account_id
    where m.source = 'email' and m.day > $first_as_of - 30 and m.day <= $last_as_of
),
""",
    "content_days": """content_days as (
    select a.account_key, m.day, m.blog_reads, m.webinars, m.downloads, m.referrals, m.reviews, m.case_studies
    from _health_marketing_days as m
    join paying_accounts as a on a.account_id = m.account_id
    where m.source = 'content' and m.day > $first_as_of - 180 and m.day <= $last_as_of
),
""",
    "engagement_days": """engagement_days as (
    select a.account_key, m.day, sum(m.opens + m.clicks) as engaged, sum(m.sends) as sends
    from _health_marketing_days as m
    join paying_accounts as a on a.account_id = m.account_id
    where m.source = 'email' and m.day <= $last_as_of and m.opens + m.clicks + m.sends > 0
    group by a.account_key, m.day
),
""",
}


def _filled(template: str, derived: bool) -> str:
    for name, text in (DERIVED_SOURCES if derived else RAW_SOURCES).items():
        template = template.replace(f"@{name}@\n", text)
    return template


def measure_ctes(derived: bool) -> str:
    """The measures' CTE chain (ending in ``measures``), reading the marketing days built at load
    (``derived``) or the raw email and content events."""
    return _filled(_MEASURE_TEMPLATE, derived)


def engagement_ctes(derived: bool) -> str:
    """The email recency chain (ending in ``engagement``); follows :func:`measure_ctes`."""
    return _filled(_ENGAGEMENT_TEMPLATE, derived)


MEASURE_CTES = measure_ctes(derived=False)  # the raw chain; readers pick with measure_ctes()
ENGAGEMENT_CTES = engagement_ctes(derived=False)

MARKETING_DAYS_BUILD = Query(
    "customers.health_marketing_days_build",
    """with account_of as (
    select contact_id, account_id from contacts where account_id is not null
),
email as (
    select c.account_id, cast(e.ts as date) as day, e.campaign_id, 'email' as source,
           count(case when e.event_type = 'sent' then 1 end) as sends,
           count(case when e.event_type = 'open' then 1 end) as opens,
           count(case when e.event_type = 'click' then 1 end) as clicks,
           count(case when e.event_type = 'unsubscribe' then 1 end) as unsubscribes,
           0 as blog_reads, 0 as webinars, 0 as downloads, 0 as referrals, 0 as reviews, 0 as case_studies
    from email_events as e
    join account_of as c on c.contact_id = e.contact_id
    group by c.account_id, cast(e.ts as date), e.campaign_id
),
email_days as (
    select g.*, @next_days@
    from email as g
),
content as (
    select c.account_id, cast(e.ts as date) as day, cast(null as varchar) as campaign_id, 'content' as source,
           0 as sends, 0 as opens, 0 as clicks, 0 as unsubscribes,
           count(case when e.kind = 'blog_read' then 1 end) as blog_reads,
           count(case when e.kind = 'webinar' then 1 end) as webinars,
           count(case when e.kind = 'download' then 1 end) as downloads,
           count(case when e.kind = 'referral' then 1 end) as referrals,
           count(case when e.kind = 'review' then 1 end) as reviews,
           count(case when e.kind = 'case_study' then 1 end) as case_studies,
           cast(null as date) as next_send_day, cast(null as date) as next_response_day
    from content_events as e
    join account_of as c on c.contact_id = e.contact_id
    group by c.account_id, cast(e.ts as date)
)
select * from email_days
union all
select * from content
order by source, day""".replace("@next_days@", _next_days("account_id")),
    "Email and content events per account, day and campaign, built at every load for the health measures.",
)

# Longer usage windows for the churn model: events in (t-90, t] and in (t-180, t-90].
CHURN_CTES = """
usage_quarters as (
    select u.account_key, d.as_of,
           sum(case when u.day > d.as_of - 90 then u.events else 0 end) as usage_events_90,
           sum(case when u.day <= d.as_of - 90 then u.events else 0 end) as usage_events_prior_90
    from (
        select account_key, day, count(*) as events
        from usage_events
        where day > $first_as_of - 180
        group by account_key, day
    ) as u
    join as_of_dates as d on u.day > d.as_of - 180 and u.day <= d.as_of
    group by u.account_key, d.as_of
)"""


def both(name: str, description: str, sql_for) -> dict[bool, Query]:
    """A named query in its two forms: ``[True]`` reads the marketing days built at load, ``[False]``
    (named ``<name>_raw``) the raw email and content events; ``sql_for(derived)`` writes each."""
    return {
        True: Query(name, sql_for(True), description),
        False: Query(f"{name}_raw", sql_for(False), f"{description} From the raw email and content events."),
    }


MEASURES = both(
    "customers.measures",
    "Every paying account's usage, support, payment and marketing measures as of each date in $as_of_dates.",
    lambda derived: f"with {measure_ctes(derived)}\nselect * from measures order by as_of, account_id",
)


def window_params(as_of_dates: list[date]) -> dict:
    """The as-of dates and the first and last of them, as the measure queries bind them."""
    dates = sorted(set(as_of_dates))
    return {"as_of_dates": dates, "first_as_of": dates[0], "last_as_of": dates[-1]}


def account_measures(con, as_of_dates: list[date], key_features: list[str], derived: bool = False) -> pl.DataFrame:
    """The measures (see the module docstring) of every account in scope on each date; ``derived``: read
    the marketing days built at load (only when they are current)."""
    return run(con, MEASURES[derived], {**window_params(as_of_dates), "key_features": list(key_features)})
