"""Journeys: every won deal with its eligible touches, in order, for one :class:`JourneyWindow`.

**The journey tables** (derived, built at every load). Attribution reads the same join again
and again: the won deals' touches, in order. On a large warehouse that join (a hash join of
the deals to every touchpoint on the text ``contact_id``, then a sort to order ties by
``touchpoint_id``) costs several times more than the models that use it, so
:func:`build_journeys` materializes it once per load (:data:`JOURNEYS` in
:data:`analytics.loads.DERIVED`) and the models filter it:

- ``_journey_deals``: one row per won deal (:func:`~analytics.attribution.definitions.won_deal`),
  numbered ``journey_id`` in ``opportunity_id`` order, with ``revenue`` (its amount, 0 when
  missing), ``close_date``, ``month`` and the lead's and opportunity's creation times.
- ``_journey_touches``: every touch of the deal's contact dated on or before the close
  date, with no lookback limit, as ``journey_id, close_date, channel, campaign,
  touchpoint_type`` (NULL keys as ``(none)``), ``days_before``
  (:func:`~analytics.attribution.definitions.days_before`, so a lookback of *L* days keeps
  ``days_before <= L``), ``before_lead``, ``before_opportunity`` and ``k``, the touch's rank
  in its journey by ``(ts, touchpoint_id)``.

Both are ordered by close date, so a close-date window skips whole row groups. They are
current when ``_meta.journeys_version`` equals ``_meta.version`` (:func:`journeys_current`).

**The journeys of a window** are two relations every attribution query starts from, as
its first CTEs (:data:`WINDOW_JOURNEYS`, the window bound as ``$by``, ``$lookback``,
``$close_from``, ``$close_to``):

- ``conversions``: ``journey_id, opportunity_id, contact_id, conversions (1.0), revenue,
  close_date, month, opportunity_created_at, lead_created_at`` of the won deals closing in
  the window;
- ``touches``: ``journey_id, key`` (the touch's value of ``$by``), ``is_direct, days_before,
  before_lead, before_opportunity, k`` of their eligible touches.

On a loaded warehouse they are filters of the journey tables inside each query (no
temporary table). Account-level journeys, and a warehouse whose journey tables are not
current, are joined from the raw tables once per call into two temporary tables
(:data:`RAW_CONVERSIONS`, :data:`RAW_TOUCHES`, :data:`RAW_ACCOUNT_TOUCHES`), with the same
result; a path file is read into them too. :func:`open_journeys` chooses and cleans up.

**Non-converting journeys** (Markov and Shapley need them): for every contact (account)
without a conversion in the window, its touches with ``close_from - lookback <= date(ts) <=
close_to``, as one journey (``null_touches``, :meth:`Journeys.null_touches`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from analytics.attribution.composed import named
from analytics.attribution.definitions import (
    closes_in_window,
    days_before,
    eligible,
    in_segments,
    plausible_time,
    won_deal,
)
from analytics.attribution.dialect import INLINED, epoch_microseconds, minus_days
from analytics.attribution.window import JourneyWindow
from analytics.warehouse.derived import DerivedTables
from analytics.warehouse.runner import Query, engine_of, execute

JOURNEY_TABLES = ("_journey_deals", "_journey_touches")

# The won deals, numbered in opportunity_id order: the conversions of every window.
WON_DEALS = f"""
    select row_number() over (order by o.opportunity_id) as journey_id,
           o.opportunity_id,
           o.contact_id,
           coalesce(o.account_id, c.account_id) as account_id,
           cast(coalesce(o.amount, 0) as double) as revenue,
           o.close_date,
           cast(date_trunc('month', o.close_date) as date) as month,
           o.created_at as opportunity_created_at,
           c.created_at as lead_created_at
    from opportunities as o
    left join contacts as c on c.contact_id = o.contact_id
    where {won_deal("o")}
"""

_BUILD_DEALS = f"create or replace table _journey_deals as {WON_DEALS} order by close_date, journey_id"

_BUILD_TOUCHES = f"""
    create or replace table _journey_touches as
    with deal_touches as (
        select d.journey_id, d.close_date, t.ts, t.touchpoint_id,
               t.channel,
               coalesce(t.campaign_id, '(none)') as campaign,
               coalesce(t.touchpoint_type, '(none)') as touchpoint_type,
               {days_before("t.ts", "d.close_date")} as days_before,
               t.ts <= d.lead_created_at as before_lead,
               t.ts <= d.opportunity_created_at as before_opportunity
        from _journey_deals as d
        join touchpoints as t on t.contact_id = d.contact_id
        where t.ts < d.close_date + interval 1 day
    )
    select journey_id, close_date, channel, campaign, touchpoint_type, days_before, before_lead,
           before_opportunity,
           row_number() over (partition by journey_id order by ts, touchpoint_id) as k
    from deal_touches
    order by close_date, journey_id, k
"""


def build_journeys(con) -> None:
    """Rebuild the journey tables from the canonical ones."""
    execute(con, _BUILD_DEALS)
    execute(con, _BUILD_TOUCHES)


JOURNEYS = DerivedTables(
    "journeys", JOURNEY_TABLES, build_journeys, sources=("opportunities", "contacts", "touchpoints")
)


def journeys_current(con) -> bool:
    """Whether the journey tables exist and were built for the warehouse's current version."""
    return JOURNEYS.current(con)


# --------------------------------------------------------------------------- the journeys of a window


def _key(channel: str, campaign: str, touchpoint_type: str) -> str:
    """The touch's value of the dimension ``$by`` (bound, so one query serves every dimension)."""
    return f"case $by when 'channel' then {channel} when 'campaign' then {campaign} else {touchpoint_type} end"


# the journey tables have the keys (channel is never NULL; the others are coalesced); raw touchpoints do not
_TABLE_KEY = _key("channel", "campaign", "touchpoint_type")
_RAW_COLUMNS = {"channel": "channel", "campaign": "campaign_id", "touchpoint_type": "touchpoint_type"}
# The registered raw queries bind $by; a run reads only its dimension's column of the raw
# touchpoints (three text columns of every touchpoint would cost more than the join).
_RAW_KEY = _key(
    "coalesce(t.channel, '(none)')", "coalesce(t.campaign_id, '(none)')", "coalesce(t.touchpoint_type, '(none)')"
)


# The two relations from the journey tables, as the first CTEs of every query.
WINDOW_JOURNEYS = f"""
    conversions as {INLINED} (
        select journey_id, opportunity_id, contact_id, cast(1.0 as double) as conversions, revenue, close_date, month,
               opportunity_created_at, lead_created_at
        from _journey_deals
        where {closes_in_window("close_date")}
          and {in_segments("account_id")}
    ),
    touches as {INLINED} (
        select journey_id, {_TABLE_KEY} as key, channel = 'direct' as is_direct,
               days_before, before_lead, before_opportunity, k
        from _journey_touches
        where {eligible("days_before")} and {closes_in_window("close_date")}
    )"""

# The same relations from the temporary tables made for a call (raw tables or a path file).
TEMPORARY_JOURNEYS = """
    conversions as (select * from attribution_conversions),
    touches as (select * from attribution_touches)"""

RAW_CONVERSIONS = Query(
    "attribution.raw_conversions",
    f"""
with
    won_deals as ({WON_DEALS})
select journey_id, opportunity_id, contact_id, account_id,
       -- account level groups by account; a deal without one keeps its contact's touches
       case when $account_level then coalesce('a:' || account_id, 'c:' || contact_id)
            else 'c:' || contact_id end as group_key,
       cast(1.0 as double) as conversions, revenue, close_date, month, opportunity_created_at, lead_created_at
from won_deals
where {closes_in_window("close_date")}
  and {in_segments("account_id")}
""",
    "The window's won deals from the raw tables (account-level journeys, or stale journey tables).",
)

# Each touchpoint with the journey it belongs to at account level: its contact's account, or its contact.
_MEMBER_TOUCHES = """
    member_touches as (
        select t.*, coalesce('a:' || member.account_id, 'c:' || t.contact_id) as group_key,
               member.account_id as member_account_id
        from touchpoints as t
        left join contacts as member on member.contact_id = t.contact_id
    )"""


_READ_CONVERSIONS = "conversions as (select * from attribution_conversions)"
TIES_PER_MICROSECOND = 1000


# The contacts whose touches a won deal's journey takes at account level: every contact of its
# account, or, for a deal without an account, its own contact.
_DEAL_MEMBERS = """
    deal_members as (
        select v.journey_id, member.contact_id
        from conversions as v
        join contacts as member on member.account_id = v.account_id
        union all
        select v.journey_id, v.contact_id
        from conversions as v
        where v.account_id is null
    )"""


def _deal_touches(join: str) -> str:
    """CTE ``deal_touches``: each eligible raw touch of a conversion (``join`` brings the touchpoints ``t``)."""
    return f"""deal_touches as (
        select v.journey_id, {_RAW_KEY} as key, t.channel = 'direct' as is_direct,
               {days_before("t.ts", "v.close_date")} as days_before,
               t.ts <= v.lead_created_at as before_lead,
               t.ts <= v.opportunity_created_at as before_opportunity,
               {epoch_microseconds("t.ts")} as us, t.touchpoint_id
        from conversions as v
        {join}
        where {eligible(days_before("t.ts", "v.close_date"))}
    )"""


def _raw_touches(join: str, members: str = "", engine: str = "duckdb") -> str:
    """The raw touches query; the registered form computes ``conversions`` in it, the one run reads
    the temporary table :data:`RAW_CONVERSIONS` filled.

    ``k`` orders a journey's touches by ``(ts, touchpoint_id)`` without a window over all of them
    (a sort of every journey's touches costs more than the join): the timestamp's microseconds
    times :data:`TIES_PER_MICROSECOND`, plus, for the few touches of a journey at the same
    microsecond, their rank by ``touchpoint_id``. A BIGINT: timestamps from the year 1678 to
    2262, fewer than 1,000 touches of one journey at one microsecond.

    Spark's form (``engine="spark"``) ranks every touch by a window partitioned by journey and
    microsecond, the same ``k`` in one pass: Spark computes a CTE again at each of its three
    reads, and its windows partitioned this finely cost no global sort.
    """
    if engine == "spark":
        return f"""
with
    {_READ_CONVERSIONS},{members}
    {_deal_touches(join)}
select journey_id, key, is_direct, days_before, before_lead, before_opportunity,
       us * {TIES_PER_MICROSECOND} + row_number() over (partition by journey_id, us order by touchpoint_id) - 1 as k
from deal_touches
"""
    return f"""
with
    {_READ_CONVERSIONS},{members}
    {_deal_touches(join)},
    tied as (
        select journey_id, us
        from deal_touches
        group by journey_id, us
        having count(*) > 1
    ),
    untied_touches as (
        select d.journey_id, d.key, d.is_direct, d.days_before, d.before_lead, d.before_opportunity,
               d.us * {TIES_PER_MICROSECOND} as k
        from deal_touches as d
        where not exists (select 1 from tied where tied.journey_id = d.journey_id and tied.us = d.us)
    ),
    tied_touches as (
        select d.journey_id, d.key, d.is_direct, d.days_before, d.before_lead, d.before_opportunity,
               d.us * {TIES_PER_MICROSECOND}
                   + row_number() over (partition by d.journey_id, d.us order by d.touchpoint_id) - 1 as k
        from deal_touches as d
        join tied on tied.journey_id = d.journey_id and tied.us = d.us
    )
select journey_id, key, is_direct, days_before, before_lead, before_opportunity, k from untied_touches
union all
select journey_id, key, is_direct, days_before, before_lead, before_opportunity, k from tied_touches
"""


def _self_contained(sql: str) -> str:
    return sql.replace(_READ_CONVERSIONS, f"conversions as ({RAW_CONVERSIONS.sql.strip()})")


_CONTACT_JOIN = "join touchpoints as t on t.contact_id = v.contact_id"
_ACCOUNT_JOIN = "join deal_members as dm on dm.journey_id = v.journey_id\n        join touchpoints as t on t.contact_id = dm.contact_id"
_RAW_TOUCHES = _raw_touches(_CONTACT_JOIN)
_RAW_ACCOUNT_TOUCHES = _raw_touches(_ACCOUNT_JOIN, members=_DEAL_MEMBERS + ",")


def raw_touches_template(account_level: bool, engine: str = "duckdb") -> str:
    """The raw touches statement (reading ``attribution_conversions``) in ``engine``'s form."""
    if account_level:
        return _raw_touches(_ACCOUNT_JOIN, members=_DEAL_MEMBERS + ",", engine=engine)
    return _raw_touches(_CONTACT_JOIN, engine=engine)


RAW_TOUCHES = Query(
    "attribution.raw_touches",
    _self_contained(_RAW_TOUCHES),
    "The eligible touches of the window's won deals, from the raw touchpoints, ranked by (ts, id) (contact level).",
)
RAW_ACCOUNT_TOUCHES = Query(
    "attribution.raw_account_touches",
    _self_contained(_RAW_ACCOUNT_TOUCHES),
    "The eligible touches of every contact of each won deal's account, ranked by (ts, id).",
)

# Non-converting journeys: every contact (account) without a conversion in the window, its
# touches from close_from - lookback to close_to; with segments, only contacts of their accounts.
_CONTACT_IN_SEGMENTS = f"""(len($segments) = 0 or t.contact_id in (
              select c.contact_id from contacts as c where {in_segments("c.account_id")}))"""
_NULL_WINDOW = f"""(cast($close_from as date) is null or t.ts >= {minus_days("cast($close_from as date)", "$lookback")})
          and (cast($close_to as date) is null or t.ts < cast($close_to as date) + interval 1 day)
          and {plausible_time("t.ts")}"""
NULL_TOUCHES = f"""
    null_touches as (
        select t.contact_id as journey_id, {_RAW_KEY} as key, t.ts, t.touchpoint_id
        from touchpoints as t
        where not exists (select 1 from conversions as v where v.contact_id = t.contact_id)
          and {_NULL_WINDOW}
          and {_CONTACT_IN_SEGMENTS}
    )"""
NULL_ACCOUNT_TOUCHES = f"""{_MEMBER_TOUCHES},
    null_touches as (
        select t.group_key as journey_id, {_RAW_KEY} as key, t.ts, t.touchpoint_id
        from member_touches as t
        where not exists (select 1 from conversions as v where v.group_key = t.group_key)
          and {_NULL_WINDOW}
          and {in_segments("t.member_account_id")}
    )"""

_TEMP_TABLES = {
    "attribution_conversions": "table",
    "attribution_touches": "table",
    "attribution_null_moves": "table",
    "attribution_null_sets": "table",
    "attribution_key_bits": "table",
    "attribution_path_rows": "view",
}


@dataclass
class Journeys:
    """The journeys of one call: where they come from and the SQL that reads them.

    ``source`` is ``derived`` (filters of the journey tables), ``raw`` (temporary tables
    joined from the raw tables) or ``paths`` (temporary tables from a path file);
    ``params`` are the window's bound values.
    """

    con: object
    source: str
    params: dict
    account_level: bool = False
    by: str = "channel"
    key_bits: bool = False  # Shapley's channel sets as bit masks over attribution_key_bits
    created: list[str] = field(default_factory=list)

    @property
    def engine(self) -> str:
        """The engine behind ``con`` (``duckdb`` or ``spark``), for the queries with a form per engine."""
        return engine_of(self.con)

    @property
    def ctes(self) -> str:
        """``conversions`` and ``touches``, as CTEs to start a ``with`` clause."""
        return WINDOW_JOURNEYS if self.source == "derived" else TEMPORARY_JOURNEYS

    @property
    def null_touches(self) -> str:
        """``null_touches`` (``journey_id, key, ts, touchpoint_id``), as CTEs after :attr:`ctes`."""
        return NULL_ACCOUNT_TOUCHES if self.account_level else NULL_TOUCHES

    def sql(self, template: str) -> str:
        """``template`` with ``{journeys}`` (and ``{null_touches}``) replaced by this source's CTEs."""
        sql = template.replace("{journeys}", self.ctes.strip()).replace("{null_touches}", self.null_touches.strip())
        return sql.replace(_RAW_KEY, f"coalesce(t.{_RAW_COLUMNS[self.by]}, '(none)')")

    def create(self, name: str, statement: Query | str, params: dict | None = None) -> None:
        """Make the temporary table ``name`` from a query (dropped when the call ends)."""
        sql = self.sql(statement.sql if isinstance(statement, Query) else statement)
        title = statement.name if isinstance(statement, Query) else f"attribution.{name}"
        execute(
            self.con,
            named(f"{title} -> {name}", f"create or replace temp table {name} as {sql}"),
            {**self.params, **(params or {})},
        )
        self.created.append(name)

    def drop(self, name: str | None = None) -> None:
        """Drop the temporary table ``name`` (default: every one this call made)."""
        for table in [name] if name else list(reversed(self.created)):
            execute(self.con, f"drop {_TEMP_TABLES.get(table, 'table')} if exists {table}")
            self.created.remove(table)


@contextlib.contextmanager
def open_journeys(con, window: JourneyWindow) -> Iterator[Journeys]:
    """The window's journeys on ``con`` (read-only is fine), temporary tables dropped at the end."""
    if not window.account_level and journeys_current(con):
        journeys = Journeys(con, "derived", window.params(), by=window.by)
    else:
        params = {**window.params(), "account_level": window.account_level}
        journeys = Journeys(con, "raw", params, window.account_level, by=window.by)
    try:
        if journeys.source == "raw":
            journeys.create("attribution_conversions", RAW_CONVERSIONS)
            query = RAW_ACCOUNT_TOUCHES if window.account_level else RAW_TOUCHES
            template = raw_touches_template(window.account_level, journeys.engine)
            journeys.create("attribution_touches", named(query.name, template))
        yield journeys
    finally:
        journeys.drop()


# --------------------------------------------------------------------------- journeys keyed by who touched

# The contact who made a touch, and the touch's key, as one key (split on MEMBER_SEP).
MEMBER_SEP = "\x1f"
_MEMBER_KEY = f"t.contact_id || chr(31) || {_RAW_KEY}"


@contextlib.contextmanager
def open_member_journeys(con, window: JourneyWindow) -> Iterator[Journeys]:
    """The window's journeys with each touch keyed ``contact_id<US>key``: who made it, and its key.

    The same conversions and eligible touches as :func:`open_journeys` (from the raw tables, into
    temporary tables), so a model's weights are the same; summing a contact's keys gives the credit
    of that contact's own touches. At contact level every touch is the deal's contact's; at account
    level (``account_level``) the touches of every contact of the account.
    """
    params = {**window.params(), "account_level": window.account_level}
    journeys = Journeys(con, "raw", params, window.account_level, by=window.by)
    template = _RAW_ACCOUNT_TOUCHES if window.account_level else _RAW_TOUCHES
    try:
        journeys.create("attribution_conversions", RAW_CONVERSIONS)
        journeys.create(
            "attribution_touches",
            named("attribution.member_touches", template.replace(f"{_RAW_KEY} as key", f"{_MEMBER_KEY} as key")),
        )
        yield journeys
    finally:
        journeys.drop()
