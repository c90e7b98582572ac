"""Overview KPIs and monthly trends.

Definitions, for a window ``[start, end]`` (dates, both inclusive) and the
filters segment (the account's) and channel (opportunities, accounts and
contacts count when the contact touched one of the channels; spend counts
when the campaign is on one of them):

- ``won_revenue``: sum of ``amount`` over the won deals closing in the window
  (:func:`~analytics.attribution.definitions.won_in_window`, attribution's definition).
- ``open_pipeline``: sum of ``amount`` over opportunities open at ``end``:
  created on or before ``end`` and either still open or closed after ``end``.
- ``marketing_spend``: sum of ``campaign_costs.amount`` with ``cost_date`` in the
  window (overhead not booked to a campaign counts only without a channel filter).
- ``active_accounts``: accounts with ``arr > 0``, created on or before ``end`` and
  not churned by ``end``.
- ``arr``: sum of ``arr`` over those accounts.

The previous period is the window of the same length that ends the day before
``start`` (:meth:`~analytics.core.periods.ReportPeriod.previous`); each KPI's delta is ``current - previous``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb

from analytics.attribution.definitions import plausible_day, usable_amount, won_in_window
from analytics.core.change import percent_change
from analytics.core.periods import ReportPeriod
from analytics.warehouse.runner import Query, rows

if TYPE_CHECKING:  # polars is imported by monthly_trends: the KPI tiles are drawn before it is needed
    import polars as pl

KPI_NAMES = ("open_pipeline", "won_revenue", "marketing_spend", "active_accounts", "arr")

# The filters as CTEs every query shares: the accounts and contacts in scope.
_SCOPE = """
    filtered_accounts as (
        select account_id, segment, arr, created_at, churned_at
        from accounts
        where len($segments) = 0 or list_contains($segments, segment)
    ),
    channel_contacts as (
        select distinct contact_id
        from touchpoints
        where list_contains($channels, channel)
    ),
    scoped_opportunities as (
        select o.*
        from opportunities as o
        join filtered_accounts using (account_id)
        where (len($channels) = 0 or o.contact_id in (select contact_id from channel_contacts))
          and USABLE_AMOUNT
    ),
    scoped_costs as (
        select cc.cost_date, cc.amount
        from campaign_costs as cc
        left join campaigns as c using (campaign_id)
        where (len($channels) = 0 or list_contains($channels, c.channel)) and USABLE_COST
    )
""".replace("USABLE_COST", usable_amount("cc.amount")).replace("USABLE_AMOUNT", usable_amount("o.amount"))

_KPI_SQL = f"""
with
    {_SCOPE},
    periods as (
        select 'current' as period, $start::date as period_start, $end::date as period_end
        union all
        select 'previous', $prev_start::date, $prev_end::date
    ),
    scoped_accounts as (
        select a.*
        from filtered_accounts as a
        where len($channels) = 0 or a.account_id in (
            select c.account_id from contacts as c join channel_contacts using (contact_id)
        )
    ),
    won as (
        select p.period, sum(o.amount) as won_revenue
        from periods as p
        join scoped_opportunities as o
          on {won_in_window("o", "p.period_start", "p.period_end")}
        group by p.period
    ),
    pipeline as (
        select p.period, sum(o.amount) as open_pipeline
        from periods as p
        join scoped_opportunities as o
          on o.created_at::date <= p.period_end
         and (not o.is_closed or o.close_date > p.period_end)
        group by p.period
    ),
    spend as (
        select p.period, sum(cc.amount) as marketing_spend
        from periods as p
        join scoped_costs as cc on cc.cost_date between p.period_start and p.period_end
        group by p.period
    ),
    active as (
        select p.period, count(*) as active_accounts, sum(a.arr) as arr
        from periods as p
        join scoped_accounts as a
          on a.arr > 0
         and a.created_at::date <= p.period_end
         and (a.churned_at is null or a.churned_at::date > p.period_end)
        group by p.period
    )
select
    p.period,
    coalesce(pipeline.open_pipeline, 0) as open_pipeline,
    coalesce(won.won_revenue, 0) as won_revenue,
    coalesce(spend.marketing_spend, 0) as marketing_spend,
    coalesce(active.active_accounts, 0) as active_accounts,
    coalesce(active.arr, 0) as arr
from periods as p
left join won using (period)
left join pipeline using (period)
left join spend using (period)
left join active using (period)
"""
KPIS = Query("overview.kpis", _KPI_SQL, "The five KPIs (module docstring) for the window and the previous period.")

_TRENDS_SQL = f"""
with
    {_SCOPE},
    months as (
        select unnest(generate_series(date_trunc('month', $start::date), $end::date, interval 1 month))::date as month
    ),
    won as (
        select date_trunc('month', o.close_date)::date as month, sum(o.amount) as won_revenue, count(*) as deals_won
        from scoped_opportunities as o
        where {won_in_window("o", "$start", "$end")}
        group by 1
    ),
    created as (
        select date_trunc('month', created_at)::date as month, sum(amount) as new_pipeline
        from scoped_opportunities
        where created_at::date between $start and $end
        group by 1
    ),
    spend as (
        select date_trunc('month', cost_date)::date as month, sum(amount) as marketing_spend
        from scoped_costs
        where cost_date between $start and $end
        group by 1
    ),
    touches as (
        select date_trunc('month', ts)::date as month, count(*) as touchpoints
        from touchpoints as t
        join contacts as c using (contact_id)
        join filtered_accounts using (account_id)
        where t.ts::date between $start and $end
          and (len($channels) = 0 or list_contains($channels, t.channel))
        group by 1
    )
select
    m.month,
    coalesce(won.won_revenue, 0) as won_revenue,
    coalesce(won.deals_won, 0) as deals_won,
    coalesce(created.new_pipeline, 0) as new_pipeline,
    coalesce(spend.marketing_spend, 0) as marketing_spend,
    coalesce(touches.touchpoints, 0) as touchpoints
from months as m
left join won using (month)
left join created using (month)
left join spend using (month)
left join touches using (month)
order by m.month
"""
TRENDS = Query(
    "overview.trends", _TRENDS_SQL, "Per month of the window: won revenue and deals, new pipeline, spend, touchpoints."
)


@dataclass(frozen=True)
class KpiValue:
    name: str
    current: float
    previous: float

    @property
    def delta(self) -> float:
        return self.current - self.previous

    @property
    def delta_pct(self) -> float | None:
        """Relative change in percent (:func:`~analytics.core.change.percent_change`)."""
        return percent_change(self.current, self.previous)


def _params(start: date, end: date, segments, channels) -> dict:
    previous = ReportPeriod(start, end).previous()
    return {
        "start": start,
        "end": end,
        "prev_start": previous.start,
        "prev_end": previous.end,
        "segments": list(segments),
        "channels": list(channels),
    }


def kpis(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    segments: tuple[str, ...] = (),
    channels: tuple[str, ...] = (),
) -> dict[str, KpiValue]:
    """The five KPIs for the window and the previous period; see the module docstring."""
    # rows, not a frame: the Overview's first run then needs no Arrow (pyarrow, numpy)
    by_period = {period: values for period, *values in rows(con, KPIS, _params(start, end, segments, channels))}
    return {
        name: KpiValue(name, float(by_period["current"][i]), float(by_period["previous"][i]))
        for i, name in enumerate(KPI_NAMES)
    }


def monthly_trends(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    segments: tuple[str, ...] = (),
    channels: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Per month in the window: won revenue and deals, new pipeline, spend, touchpoints."""
    import polars as pl

    schema = {
        "month": pl.Date,
        "won_revenue": pl.Float64,
        "deals_won": pl.Int64,
        "new_pipeline": pl.Float64,
        "marketing_spend": pl.Float64,
        "touchpoints": pl.Int64,
    }
    # at most a few dozen months: built from rows (no Arrow on the Overview's cold path)
    return pl.DataFrame(rows(con, TRENDS, _params(start, end, segments, channels)), schema=schema, orient="row")


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """First and last day with touchpoints, opportunities or costs (for filter bounds)."""
    # dates outside 1900..2100 (typed by hand; imports quarantine them) do not move the range
    first, last = con.execute(f"""
        with bounds as (
            select min(ts)::date as first, max(ts)::date as last from touchpoints
            where {plausible_day("cast(ts as date)")}
            union all select min(created_at)::date, max(close_date) from opportunities
            where is_closed and {plausible_day("close_date")} and {plausible_day("cast(created_at as date)")}
            union all select min(cost_date), max(cost_date) from campaign_costs where {plausible_day("cost_date")}
        )
        select min(first), max(last) from bounds
    """).fetchall()[0]
    if first is None:
        today = date.today()
        return today.replace(day=1), today
    return first, last


def segment_and_channel_options(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    segments = [
        r[0]
        for r in con.execute("select distinct segment from accounts where segment is not null order by 1").fetchall()
    ]
    channels = [r[0] for r in con.execute("select distinct channel from touchpoints order by 1").fetchall()]
    return segments, channels
