"""Journey tables: every closed-won deal with its contact's touches, kept in the warehouse.

Attribution reads the same join again and again: the won deals' touches, in order. On a
large warehouse that join (a hash join of the deals to every touchpoint on the text
``contact_id``, then a sort to order ties by ``touchpoint_id``) costs several times more
than the models that use it, so :func:`build_journeys` materializes it once per load
(every load runs it: :data:`JOURNEYS` in :data:`analytics.loads.DERIVED`) and the models filter it:

- ``_journey_deals``: one row per closed-won opportunity with a close date, numbered
  ``journey_id`` in ``opportunity_id`` order, with ``revenue`` (its amount, 0 when
  missing), ``close_date``, ``month`` and the lead's and opportunity's creation times.
- ``_journey_touches``: every touch of the deal's contact dated on or before the close
  date, with no lookback limit, as ``journey_id, close_date, channel, campaign,
  touchpoint_type`` (NULL keys as ``(none)``), ``days_before`` (whole days from the
  touch's date to the close date, so a lookback of *L* days keeps ``days_before <= L``),
  ``before_lead``, ``before_opportunity`` and ``k``, the touch's rank in its journey by
  ``(ts, touchpoint_id)``.

Both are ordered by close date, so a close-date window skips whole row groups. They are
current when ``_meta.journeys_version`` equals ``_meta.version``
(:func:`journeys_current`, see :mod:`analytics.warehouse.derived`); a warehouse changed without a version bump, or built before
these tables existed, is attributed from the raw tables instead, with the same result.
Account-level journeys are always built on the fly.
"""

from __future__ import annotations

import duckdb

from analytics.warehouse.derived import DerivedTables

JOURNEY_TABLES = ("_journey_deals", "_journey_touches")

# Closed-won deals with a close date, numbered in opportunity_id order: the conversions.
WON_DEALS = """
    select row_number() over (order by o.opportunity_id) as journey_id,
           o.opportunity_id,
           o.contact_id,
           coalesce(o.account_id, c.account_id) as account_id,
           coalesce(o.amount, 0)::double as revenue,
           o.close_date,
           date_trunc('month', o.close_date)::date as month,
           o.created_at as opportunity_created_at,
           c.created_at as lead_created_at
    from opportunities as o
    left join contacts as c on c.contact_id = o.contact_id
    where o.is_closed_won and o.close_date is not null
"""

_DEALS = f"create or replace table _journey_deals as {WON_DEALS} order by close_date, journey_id"

_TOUCHES = """
    create or replace table _journey_touches as
    with deal_touches as (
        select d.journey_id, d.close_date, t.ts, t.touchpoint_id,
               t.channel,
               coalesce(t.campaign_id, '(none)') as campaign,
               coalesce(t.touchpoint_type, '(none)') as touchpoint_type,
               date_diff('day', t.ts::date, d.close_date) as days_before,
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


def build_journeys(con: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the journey tables from the canonical ones."""
    con.execute(_DEALS)
    con.execute(_TOUCHES)


JOURNEYS = DerivedTables("journeys", JOURNEY_TABLES, build_journeys)


def journeys_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the journey tables exist and were built for the warehouse's current version."""
    return JOURNEYS.current(con)
