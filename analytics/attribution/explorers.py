"""The journeys themselves, for the page and for export: top paths, the journeys through one key,
the deals one key touched, and every journey in ChannelAttribution's path format.

Each is one named query over the window's journeys (``{journeys}``: filters of the journey
tables on a loaded warehouse, so no temporary table), printable with
``python -m analytics sql show attribution.<name>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.attribution.composed import named
from analytics.attribution.dialect import exact_sum
from analytics.attribution.journeys import NULL_TOUCHES, WINDOW_JOURNEYS, open_journeys
from analytics.attribution.window import JourneyWindow, window_of
from analytics.warehouse.runner import Query, run

if TYPE_CHECKING:
    import polars as pl

NO_LIMIT = 2**62


def _registered(template: str) -> str:
    return template.replace("{journeys}", WINDOW_JOURNEYS.strip()).replace("{null_touches}", NULL_TOUCHES.strip())


_TOP_PATHS = """
with
    {journeys},
    paths as (
        select t.journey_id, string_agg(t.key, ' > ' order by t.k) as path, count(*) as touches,
               max(v.revenue) as revenue
        from touches as t
        join conversions as v on v.journey_id = t.journey_id
        group by t.journey_id
    )
select path, touches, count(*) as conversions, {revenue} as revenue,
       count(*) / sum(count(*)) over () as share
from paths
group by path, touches
order by conversions desc, revenue desc, path
limit $limit
""".replace("{revenue}", exact_sum("revenue"))
TOP_PATHS = Query(
    "attribution.top_paths",
    _registered(_TOP_PATHS),
    "The most frequent converting paths of a window, with their conversions, revenue and share.",
)

_JOURNEYS_WITH = """
with
    {journeys},
    paths as (
        select journey_id, string_agg(key, ' > ' order by k) as path, count(*) as touches,
               count(*) filter (where key = $value) as touches_on_value
        from touches
        group by journey_id
    )
select v.opportunity_id, v.contact_id, v.close_date, v.revenue, p.touches, p.touches_on_value, p.path
from paths as p
join conversions as v on v.journey_id = p.journey_id
where p.touches_on_value > 0
order by v.close_date desc, v.opportunity_id
limit $limit
"""
JOURNEYS_WITH = Query(
    "attribution.journeys_with",
    _registered(_JOURNEYS_WITH),
    "The converting journeys of a window with a touch on $value, most recent close first.",
)

_DEALS_TOUCHED = """
with
    {journeys},
    deal_touches as (
        select journey_id, count(*) filter (where key = $value) as key_touches, count(*) as all_touches
        from touches
        group by journey_id
    )
select v.journey_id, v.opportunity_id, o.name as deal, a.name as account, o.amount, v.close_date,
       d.key_touches, d.all_touches, d.key_touches / d.all_touches as touch_share
from deal_touches as d
join conversions as v on v.journey_id = d.journey_id
join opportunities as o on o.opportunity_id = v.opportunity_id
left join accounts as a on a.account_id = o.account_id
where d.key_touches > 0
order by v.close_date, v.opportunity_id
"""
DEALS_TOUCHED = Query(
    "attribution.deals_touched",
    _registered(_DEALS_TOUCHED),
    "The won deals of a window with an eligible touch on $value: name, account, amount, touch counts.",
)

_EXPORT_PATHS = """
with
    {journeys},
    {null_touches},
    converting as (
        select string_agg(t.key, $sep order by t.k) as path, max(v.conversions) as conversions,
               max(v.revenue) as revenue, cast(0.0 as double) as nulls
        from touches as t
        join conversions as v on v.journey_id = t.journey_id
        group by t.journey_id
    ),
    non_converting as (
        select string_agg(key, $sep order by ts, touchpoint_id) as path, cast(0.0 as double) as conversions,
               cast(0.0 as double) as revenue, cast(1.0 as double) as nulls
        from null_touches
        group by journey_id
    ),
    journeys as (
        select path, conversions, revenue, nulls from converting
        union all
        select path, conversions, revenue, nulls from non_converting
    )
select path, cast(sum(conversions) as bigint) as total_conversions, {revenue} as total_conversion_value,
       cast(sum(nulls) as bigint) as total_null
from journeys
group by path
order by total_conversions desc, total_null desc, path
""".replace("{revenue}", exact_sum("revenue"))
EXPORT_PATHS = Query(
    "attribution.export_paths",
    _registered(_EXPORT_PATHS),
    "Every journey of a window, converting or not, as ChannelAttribution's path rows ($sep between keys).",
)


def _run(con, query: Query, template: str, window: JourneyWindow, params: dict) -> pl.DataFrame:
    with open_journeys(con, window) as journeys:
        sql = journeys.sql(template)
        statement = query if sql == query.sql else named(f"{query.name} ({journeys.source} journeys)", sql)
        return run(con, statement, {**journeys.params, **params})


def top_paths(con, window: JourneyWindow | None = None, *, limit: int = 20, **fields) -> pl.DataFrame:
    """The most frequent converting paths: ``path`` (keys joined by " > "), ``touches``,
    ``conversions``, ``revenue``, ``share`` of the attributed conversions.

    ``window`` (or its fields ``by, lookback_days, account_level, close_from, close_to``):
    :class:`~analytics.attribution.window.JourneyWindow`.
    """
    window = window_of(window, fields)
    return _run(con, TOP_PATHS, _TOP_PATHS, window, {"limit": int(limit)})


def journeys_with(
    con, value: str, window: JourneyWindow | None = None, *, limit: int | None = 200, **fields
) -> pl.DataFrame:
    """Converting journeys with at least one touch on ``value`` of the window's dimension.

    Returns ``opportunity_id, contact_id, close_date, revenue, touches, touches_on_value, path``,
    most recent close first (at most ``limit``; ``None``: all).
    """
    window = window_of(window, fields)
    params = {"value": value, "limit": NO_LIMIT if limit is None else int(limit)}
    return _run(con, JOURNEYS_WITH, _JOURNEYS_WITH, window, params)


def deals_touched(con, value: str, window: JourneyWindow) -> pl.DataFrame:
    """The won deals of the window with an eligible touch on ``value``, oldest close first:
    ``journey_id, opportunity_id, deal, account, amount, close_date, key_touches, all_touches,
    touch_share`` (``key_touches / all_touches``)."""
    return _run(con, DEALS_TOUCHED, _DEALS_TOUCHED, window, {"value": value})


def export_paths(con, window: JourneyWindow | None = None, *, sep: str = " > ", **fields) -> pl.DataFrame:
    """The warehouse's journeys in ChannelAttribution's path format.

    The same converting and non-converting journeys that ``markov`` and ``shapley`` use,
    one row per distinct path: ``path`` (keys joined by ``sep``), ``total_conversions``,
    ``total_conversion_value``, ``total_null``. Feeding it back through
    :func:`~analytics.attribution.engine.attribute_paths` (or ChannelAttribution) gives the
    same Markov credit.
    """
    window = window_of(window, fields)
    return _run(con, EXPORT_PATHS, _EXPORT_PATHS, window, {"sep": sep})
