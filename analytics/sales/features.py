"""Lead feature preparation in SQL, apart from the scorers and fitters (lifetimes' style).

Everything here is SQL text built from fixed lists of identifiers; values are bound.

* ``lead_profile`` — one row per contact: who the lead is, with its account found by
  **lead-to-account matching**: the contact's own ``account_id``; else the account whose
  ``domain`` is the email's domain (free-mail domains never match); else the account whose
  name equals the contact's company (case and surrounding spaces ignored). ``matched_by``
  says which (``linked``, ``domain``, ``company_name``, or null). Title seniority is read
  from the job title (:data:`SENIORITY_SQL`): vice president / VP → ``vp``; chief, CxO,
  founder, owner, president → ``c_level``; director, head of → ``director``; manager,
  lead, supervisor → ``manager``; any other title → ``individual``; none → null.
* ``lead_events`` — every scoring event ``(contact_id, source, detail, channel, ts)`` from
  touchpoints, email events, page views and content events (:data:`EVENTS` says which
  rows each event is), only from the sources a scorer needs.
* ``touch_channels`` — the model's channel feature: the distinct channels of a lead's touches
  in its first :data:`FEATURE_WINDOW_DAYS` days, sorted (:func:`touch_channels_sql`), whatever
  channels the data holds (an import keeps an unmapped value as its own channel).
* ``lead_outcomes`` — whether a lead *converted*: a closed-won opportunity of the contact
  whose close date is within ``horizon_days`` (180) of the lead's creation.

A warehouse built before titles and page views existed is scored on what it has: a missing
``job_title`` column reads as null, a missing ``page_views`` table as no page views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.core.labels import label
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.runner import Query, execute, rows
from analytics.warehouse.schema import CHANNELS

FREE_MAIL_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "proton.me",
    "protonmail.com",
    "mail.ru",
    "yandex.ru",
    "qq.com",
)
# A fit rule's field -> its column in lead_profile.
FIT_FIELDS: dict[str, str] = {
    "segment": "segment",
    "industry": "industry",
    "region": "region",
    "employees": "employees",
    "seniority": "seniority",
    "title": "job_title",
    "lead_source": "lead_source",
    "email_domain": "email_domain",
    "email": "email",
    "company": "company",
    "lifecycle_stage": "lifecycle_stage",
    "account": "account_name",
}
NUMERIC_FIELDS = frozenset({"employees"})
SENIORITY_LEVELS = ("individual", "manager", "director", "vp", "c_level")
# Events the predictive model counts in a lead's first days (its engagement features).
MODEL_EVENTS = (
    "touchpoint",
    "email_open",
    "email_click",
    "unsubscribe",
    "webinar_attended",
    "event_attended",
    "form_submit",
    "pricing_visit",
    "page_view",
    "content",
)
# ... and the distinct channels the lead touched in those days (TOUCH_CHANNELS, a list): a warehouse's own
# channels are features too; the model picks its channels at fit (analytics.sales.predictive.candidate_terms).
TOUCH_CHANNELS = "touch_channels"
# What a profile lacks, in the order the lead table says it.
MISSING_CHECKS = (("email", "email"), ("company", "company"), ("job_title", "title"), ("account_id", "account"))


@dataclass(frozen=True)
class Event:
    label: str  # how a reason names it: "+15 webinar attended 2026-09-02"
    source: str  # touch | email | page | content
    predicate: str  # over the event row's detail / channel; fixed text


CHANNEL_EVENT = re.compile(r"touch_(?P<channel>[a-z0-9][a-z0-9_]*)")  # a channel's normalized name (imports)


def channel_event(name: str) -> Event | None:
    """``touch_<channel>`` for any channel the data may hold (``touch_content_syndication``): its touches.

    The channel is a normalized name (a–z, 0–9, ``_``, as imports write them), so the predicate's
    literal is fixed text; it reads as the channel's label ("Content syndication touches")."""
    match = CHANNEL_EVENT.fullmatch(name)
    if not match:
        return None
    channel = match["channel"]
    return Event(f"{label('channel', channel)} touches", "touch", f"channel = '{channel}'")


class EventTable(dict):
    """The events by name: the fixed ones, and ``touch_<channel>`` for any other channel (:func:`channel_event`),
    so a rule may score a channel only the user's data has. Iterating lists the fixed ones."""

    def __missing__(self, name: str) -> Event:
        event = channel_event(name)
        if event is None:
            raise KeyError(name)
        return event

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (isinstance(name, str) and channel_event(name) is not None)

    def get(self, name, default=None):
        return self[name] if name in self else default


EVENTS: EventTable = EventTable(
    {
        "touchpoint": Event("marketing touches", "touch", "true"),
        "email_open": Event("email opened", "email", "detail = 'open'"),
        "email_click": Event("email clicked", "email", "detail = 'click'"),
        "unsubscribe": Event("unsubscribed", "email", "detail = 'unsubscribe'"),
        "webinar_registration": Event("webinar registration", "touch", "detail = 'webinar_registration'"),
        "webinar_attended": Event("webinar attended", "touch", "detail = 'webinar_attended'"),
        "event_attended": Event("event attended", "touch", "detail in ('event_attended', 'booth_visit')"),
        "form_submit": Event("form submitted", "touch", "detail = 'form_submit'"),
        "ad_click": Event("ad clicked", "touch", "detail = 'ad_click'"),
        "pricing_visit": Event("pricing page visit", "page", "detail like '/pricing%'"),
        "page_view": Event("page views", "page", "true"),
        "content": Event("content engaged", "content", "detail in ('blog_read', 'download', 'case_study', 'webinar')"),
        "content_download": Event("content downloaded", "content", "detail = 'download'"),
        "referral": Event("referral", "content", "detail = 'referral'"),
        # the demo's channels keep their reason texts ("paid search touches"); any other is channel_event's
        **{
            f"touch_{channel}": Event(f"{channel.replace('_', ' ')} touches", "touch", f"channel = '{channel}'")
            for channel in CHANNELS
        },
    }
)
SOURCES: dict[str, tuple[str, str]] = {  # source -> (table, select of contact_id, detail, channel, ts)
    "touch": ("touchpoints", "select contact_id, touchpoint_type as detail, channel, ts from touchpoints"),
    "email": (
        "email_events",
        "select contact_id, event_type as detail, cast(null as varchar) as channel, ts from email_events "
        "where event_type in ('open', 'click', 'unsubscribe')",
    ),
    "page": (
        "page_views",
        "select contact_id, page_path as detail, cast(null as varchar) as channel, ts from page_views",
    ),
    "content": (
        "content_events",
        "select contact_id, kind as detail, cast(null as varchar) as channel, ts from content_events",
    ),
}

SENIORITY_SQL = """case
        when job_title is null or trim(job_title) = '' then null
        when padded like '% vp %' or padded like '% svp %' or padded like '% evp %'
             or padded like '% vice president %' then 'vp'
        when padded like '% chief %' or padded like '% ceo %' or padded like '% cfo %' or padded like '% cto %'
             or padded like '% cmo %' or padded like '% cro %' or padded like '% coo %' or padded like '% founder %'
             or padded like '% owner %' or padded like '% president %' then 'c_level'
        when padded like '% director %' or padded like '% head of %' then 'director'
        when padded like '% manager %' or padded like '% lead %' or padded like '% supervisor %' then 'manager'
        else 'individual'
    end"""

WAREHOUSE_SHAPE = Query(
    "sales.warehouse_shape",
    """
    select table_name, column_name
    from information_schema.columns
    where table_schema = 'main'
      and (table_name in ('page_views', 'email_events', 'content_events', 'touchpoints', 'sales_activities',
                          'rep_time_off')
           or (table_name = 'contacts' and column_name = 'job_title'))
    """,
    "which optional tables and columns lead scoring can use",
)

DATA_END = Query(
    "sales.data_end",
    """
    with latest as (
        select max(created_at) as latest_at from contacts
        union all
        select max(ts) from touchpoints
    )
    select max(latest_at) from latest
    """,
    "the warehouse's 'now': its latest lead or touch",
)


@dataclass(frozen=True)
class Shape:
    """What the warehouse has of the optional parts: tables present, whether contacts have titles,
    whether the model features built at load (:data:`LEAD_FEATURES`) are current, and the
    engagement sums stored at load (filled by :func:`analytics.sales.scoring.scoring_shape`)."""

    tables: frozenset[str]
    has_title: bool
    features_current: bool = False
    # the decayed engagement sums stored at load (analytics.sales.engagement.StoredEngagement), when current
    engagement: object | None = None


def warehouse_shape(con) -> Shape:
    found = rows(con, WAREHOUSE_SHAPE)
    return Shape(
        frozenset(t for t, _ in found),
        any(t == "contacts" and c == "job_title" for t, c in found),
        LEAD_FEATURES.current(con) if hasattr(con, "execute") else False,
    )


def data_end(con):
    """The warehouse's 'now' (a datetime): the latest lead creation or touch."""
    return rows(con, DATA_END)[0][0]


def lead_profile_cte(shape: Shape) -> str:
    """CTEs ``domain_accounts``, ``name_accounts``, ``lead_profile`` (see the module docstring)."""
    title = "c.job_title" if shape.has_title else "cast(null as varchar)"
    free_mail = ", ".join(f"'{domain}'" for domain in FREE_MAIL_DOMAINS)
    return f"""
    domain_accounts as (
        select lower(domain) as domain, min(account_id) as account_id
        from accounts where domain is not null and domain <> '' group by lower(domain)
    ),
    name_accounts as (
        select lower(trim(name)) as name_key, min(account_id) as account_id
        from accounts where name is not null group by lower(trim(name))
    ),
    contact_domains as (
        select c.contact_id, c.hubspot_id, c.email, c.first_name, c.last_name, c.company, c.lead_source,
               c.lifecycle_stage, c.created_at, c.owner_id, c.lead_score, c.account_id, {title} as title_text,
               nullif(lower(trim(split_part(c.email, '@', 2))), '') as mail_domain
        from contacts c
    ),
    contact_keys as (
        select *,
               case when mail_domain in ({free_mail}) then 1 else 0 end as free_mail,
               case when mail_domain in ({free_mail}) then null else mail_domain end as company_domain
        from contact_domains
    ),
    title_levels as (  -- each distinct title read once
        select title_text, {SENIORITY_SQL.replace("job_title", "title_text")} as seniority
        from (select title_text, ' ' || regexp_replace(lower(title_text), '[^a-z]+', ' ', 'g') || ' ' as padded
              from (select {title.replace("c.", "")} as title_text from contacts group by {title.replace("c.", "")}) t
              where title_text is not null) titles
    ),
    matched as (
        select k.*,
               coalesce(linked.account_id, d.account_id, n.account_id) as matched_account_id,
               case when linked.account_id is not null then 'linked'
                    when d.account_id is not null then 'domain'
                    when n.account_id is not null then 'company_name' end as matched_by
        from contact_keys k
        left join accounts linked on linked.account_id = k.account_id
        left join domain_accounts d on d.domain = k.company_domain
        left join name_accounts n on n.name_key = lower(trim(k.company))
    ),
    lead_profile as (
        select m.contact_id, m.hubspot_id, m.email, m.first_name, m.last_name,
               coalesce(m.company, a.name) as company, m.lead_source, m.lifecycle_stage, m.created_at,
               m.owner_id, m.lead_score as crm_lead_score, m.title_text as job_title, m.mail_domain as email_domain,
               m.free_mail, m.matched_by, a.account_id, a.name as account_name, a.segment, a.industry, a.region,
               a.employees, a.owner_id as account_owner_id,
               case when a.arr > 0 and a.churned_at is null then 1 else 0 end as account_is_customer,
               t.seniority
        from matched m
        left join accounts a on a.account_id = m.matched_account_id
        left join title_levels t on t.title_text = m.title_text
    )"""


def events_cte(events: set[str], shape: Shape) -> str:
    """CTE ``lead_events``: the rows of the sources the given events need (none: an empty CTE)."""
    sources = sorted({EVENTS[name].source for name in events})
    present = [s for s in sources if SOURCES[s][0] in shape.tables]

    def needed(source: str) -> str:  # only the rows some event of the set counts
        predicates = {EVENTS[name].predicate for name in events if EVENTS[name].source == source}
        return "" if "true" in predicates else " where " + " or ".join(sorted(predicates))

    union = "\n        union all\n        ".join(
        f"select '{s}' as source, * from ({SOURCES[s][1]}) as {s}_rows{needed(s)}" for s in present
    ) or (
        "select cast(null as varchar) as source, cast(null as varchar) as contact_id, cast(null as varchar) as detail, "
        "cast(null as varchar) as channel, cast(null as timestamp) as ts where false"
    )
    return f"""
    lead_events as (
        {union}
    )"""


def source_rows_cte(source: str, events: set[str], shape: Shape) -> str:
    """CTE ``<source>_rows``: one source's rows that the given events count (none when its table is missing).

    A scorer that aggregates each source apart reads each table once through these (one
    union CTE read several times would be materialized first).
    """
    predicates = {EVENTS[name].predicate for name in events if EVENTS[name].source == source}
    where = "" if "true" in predicates else " where " + " or ".join(sorted(predicates))
    if SOURCES[source][0] in shape.tables:
        rows_sql = f"select * from ({SOURCES[source][1]}) as {source}_all{where}"
    else:
        rows_sql = (
            "select cast(null as varchar) as contact_id, cast(null as varchar) as detail, "
            "cast(null as varchar) as channel, cast(null as timestamp) as ts where false"
        )
    return f"""
    {source}_rows as (
        {rows_sql}
    )"""


def touch_channels_sql(condition: str) -> str:
    """The aggregate ``touch_channels`` over event rows ``e`` that meet ``condition`` (the feature window):
    the distinct non-null channels, sorted; an empty list, not null, when there are none."""
    return (
        f"coalesce(list_sort(list(distinct e.channel) filter (where e.channel is not null and {condition})), "
        "cast([] as varchar[]))"
    )


def event_predicate(name: str) -> str:
    """The SQL condition that an event row is a ``name`` event."""
    event = EVENTS[name]
    return f"(source = '{event.source}' and {event.predicate})"


OUTCOMES_CTE = """
    lead_outcomes as (
        select p.contact_id,
               max(case when o.is_closed_won and o.close_date >= cast(p.created_at as date)
                         and o.close_date <= cast(p.created_at as date) + $horizon_days then 1 else 0 end) as converted,
               min(case when o.is_closed_won and o.close_date >= cast(p.created_at as date)
                        then o.close_date end) as won_on
        from lead_profile p
        left join opportunities o on o.contact_id = p.contact_id
        group by p.contact_id
    )"""


FEATURES_TABLE = "_lead_features"
FEATURE_WINDOW_DAYS = 30


def build_lead_features(con) -> None:
    """``_lead_features``: each lead's count of every model event in its first 30 days (to the load's 'now'),
    and the distinct channels it touched in them (``touch_channels``, a sorted list).

    The predictive model's engagement features do not depend on the rules file, and stop
    changing once a lead is 30 days old, so every load computes them once for all leads.
    """
    shape = Shape(frozenset(t for t, _ in rows(con, WAREHOUSE_SHAPE)), False)
    now = data_end(con)
    counts = ", ".join(f"count(case when {event_predicate(name)} then 1 end) as w_{name}" for name in MODEL_EVENTS)
    channels = touch_channels_sql("e.source = 'touch'")  # the join keeps only the window's rows
    execute(
        con,
        f"""
create or replace table {FEATURES_TABLE} as
with {events_cte(set(MODEL_EVENTS), shape).strip()},
    windows as (
        select contact_id, least(created_at + {FEATURE_WINDOW_DAYS} * interval 1 day, $now) as window_end
        from contacts where created_at is not null
    )
select w.contact_id, {counts}, {channels} as {TOUCH_CHANNELS}
from windows w
join lead_events e on e.contact_id = w.contact_id and e.ts <= w.window_end
group by w.contact_id
""",
        {"now": now},
    )


# the model events' tables, and the contacts (creation times) and touches that set the load's 'now'.
# Named "lead_model_features" since the channels became one list (before: "lead_features", with a
# w_touch_<channel> per demo channel): a warehouse built before has no version under the new name,
# so its old table is stale, scoring computes the features inline, and its next load rebuilds it.
LEAD_FEATURES = DerivedTables(
    "lead_model_features",
    (FEATURES_TABLE,),
    build_lead_features,
    sources=("contacts", "touchpoints", "email_events", "page_views", "content_events"),
)
