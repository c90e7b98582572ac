"""What each campaign cost in a window: the spec's four categories, allocated overhead, sales time.

Definitions, for a window ``[start, end]`` (dates, both inclusive):

- **Booked costs**: ``campaign_costs`` rows with a ``campaign_id`` and ``cost_date`` in the
  window, summed per campaign and category (``media_spend``, ``creative_production``,
  ``platform_fees``, ``operational_overhead``).
- **Unbooked costs** are rows with ``campaign_id`` null (marketing-ops salaries, shared tools).
  Those dated in the window form a pool per calendar month ``m`` (the month of ``cost_date``),
  ``P_m``, which is allocated to campaigns with weights ``w_{c,m}``:

  .. math:: A_c = \\sum_m P_m \\frac{w_{c,m}}{\\sum_{c'} w_{c',m}}

  ``headcount``
      :math:`w_{c,m}` = the people hours booked to campaign *c* in month *m*
      (``sum(resource_hours)`` over its ``campaign_costs`` rows dated in *m*): overhead
      follows the share of the team's time each campaign took.
  ``time_based``
      :math:`w_{c,m}` = the days of month *m* on which campaign *c* ran (the overlap of
      ``[start_date, end_date]`` with the month; a missing date leaves that side open):
      overhead follows each campaign's share of active campaign-days.

  The method is chosen per report (``headcount`` or ``time_based`` for every row) or, with
  ``as_booked`` (the default), per row: the spec keeps ``allocation_method`` on each overhead
  cost, so each row is split by its own method (a missing or unknown one counts as
  ``headcount``), i.e. there is one pool per month and method.
  A pool with no positive weight (no hours booked, no campaign running) stays as an
  ``(unallocated overhead)`` row, so the totals still reconcile with the ledger.
- **Opportunity cost** is the sales time the attributed deals took, an editable assumption
  (see :class:`OpportunityCostAssumption`): ``conversions × hours_per_won_deal × loaded_hourly_rate``.

The spec's three cost terms per campaign are then
``campaign_costs = media_spend + creative_production + platform_fees``,
``operational_costs = operational_overhead + allocated_overhead`` and
``opportunity_costs`` (above).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from analytics.attribution.definitions import usable_amount
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import run
from analytics.warehouse.schema import COST_CATEGORIES

ALLOCATION_METHODS = ("headcount", "time_based")
# what a user picks: each row's own method (the spec keeps ``allocation_method`` on the cost), or one for all
ALLOCATION_CHOICES = ("as_booked", *ALLOCATION_METHODS)
UNALLOCATED = "(unallocated overhead)"


@dataclass(frozen=True)
class OpportunityCostAssumption:
    """Sales time spent to win a deal, priced at a loaded hourly rate (an editable assumption).

    ``opportunity_cost = conversions × hours_per_won_deal × loaded_hourly_rate``.

    Parameters
    ----------
    hours_per_won_deal : sales hours per won deal, including the time on the lost deals it
        takes to win one (default 20 h: about 8 h on the winner and 12 h on lost ones).
    loaded_hourly_rate : fully loaded cost of one sales hour in USD (salary, benefits,
        tools, management; default 85).
    """

    hours_per_won_deal: float = 20.0
    loaded_hourly_rate: float = 85.0

    def __post_init__(self):
        if self.hours_per_won_deal < 0 or self.loaded_hourly_rate < 0:
            raise RevLensError(
                f"The opportunity-cost assumption ({self.hours_per_won_deal} h × ${self.loaded_hourly_rate}/h) "
                "has a negative value; use zero or positive hours and rates."
            )

    def cost(self, conversions: float) -> float:
        """``conversions × hours_per_won_deal × loaded_hourly_rate``."""
        return conversions * self.hours_per_won_deal * self.loaded_hourly_rate


def _check(start: date, end: date, allocation: str) -> None:
    if allocation not in ALLOCATION_CHOICES:
        raise RevLensError(f"Unknown overhead allocation {allocation!r}; use one of {', '.join(ALLOCATION_CHOICES)}.")
    if start > end:
        raise RevLensError(f"The window starts ({start}) after it ends ({end}); swap the dates.")


# Shared by the campaign totals and the drill-down: the unbooked pool per month and each
# campaign's share of it under the chosen method.
_ALLOCATION_CTES = (
    """
    window_costs as (
        select campaign_id, cost_date, category, amount, platform, allocation_method, resource_hours
        from campaign_costs
        where cost_date between $start and $end and """
    + usable_amount("amount")
    + """
    ),
    unbooked_pool as (
        select date_trunc('month', cost_date)::date as month,
               case when $allocation != 'as_booked' then $allocation
                    when allocation_method in $methods then allocation_method
                    else 'headcount' end as method,
               sum(amount) as pool
        from window_costs
        where campaign_id is null
        group by all
    ),
    headcount_weights as (
        select date_trunc('month', cc.cost_date)::date as month, cc.campaign_id,
               sum(coalesce(cc.resource_hours, 0)) as weight
        from campaign_costs as cc
        where cc.campaign_id is not null
          and date_trunc('month', cc.cost_date)::date in (select month from unbooked_pool where method = 'headcount')
        group by all
    ),
    time_weights as (
        select p.month, c.campaign_id,
               greatest(0, date_diff('day',
                   greatest(coalesce(c.start_date, p.month), p.month),
                   least(coalesce(c.end_date, last_day(p.month)), last_day(p.month))) + 1) as weight
        from (select distinct month from unbooked_pool where method = 'time_based') as p
        cross join campaigns as c
    ),
    weights as (
        select month, 'headcount' as method, campaign_id, weight from headcount_weights
        union all
        select month, 'time_based' as method, campaign_id, weight from time_weights
    ),
    shares as (
        select month, method, campaign_id, weight / sum(weight) over (partition by month, method) as share
        from weights
        where weight > 0
    ),
    allocated as (
        select s.campaign_id, p.month, p.method, p.pool * s.share as amount
        from unbooked_pool as p
        join shares as s using (month, method)
        union all
        select null as campaign_id, p.month, p.method, p.pool as amount
        from unbooked_pool as p
        anti join shares as s using (month, method)
    )
"""
)

_CAMPAIGN_COSTS_SQL = f"""
with
    {_ALLOCATION_CTES},
    booked as (
        select campaign_id,
               sum(amount) filter (where category = 'media_spend') as media_spend,
               sum(amount) filter (where category = 'creative_production') as creative_production,
               sum(amount) filter (where category = 'platform_fees') as platform_fees,
               sum(amount) filter (where category = 'operational_overhead') as operational_overhead,
               sum(amount) filter (where category not in $categories) as other_booked
        from window_costs
        where campaign_id is not null
        group by campaign_id
    ),
    allocated_by_campaign as (
        select campaign_id, sum(amount) as allocated_overhead
        from allocated
        group by campaign_id
    ),
    combined as (
        select coalesce(b.campaign_id, a.campaign_id) as campaign_id,
               coalesce(b.media_spend, 0) as media_spend,
               coalesce(b.creative_production, 0) as creative_production,
               coalesce(b.platform_fees, 0) as platform_fees,
               coalesce(b.operational_overhead, 0) + coalesce(b.other_booked, 0) as operational_overhead,
               coalesce(a.allocated_overhead, 0) as allocated_overhead
        from booked as b
        full join allocated_by_campaign as a on a.campaign_id is not distinct from b.campaign_id
    )
select
    x.campaign_id,
    case when x.campaign_id is null then $unallocated else coalesce(c.name, x.campaign_id) end as campaign_name,
    c.channel,
    x.media_spend,
    x.creative_production,
    x.platform_fees,
    x.operational_overhead,
    x.allocated_overhead,
    x.media_spend + x.creative_production + x.platform_fees as campaign_costs,
    x.operational_overhead + x.allocated_overhead as operational_costs
from combined as x
left join campaigns as c using (campaign_id)
order by x.campaign_id nulls last
"""

_COST_LINES_SQL = f"""
with
    {_ALLOCATION_CTES}
select cost_date, category, amount, platform, allocation_method, resource_hours, 'booked' as source
from window_costs
where campaign_id = $campaign_id
union all
select month as cost_date, 'operational_overhead' as category, amount, null as platform,
       method as allocation_method, null as resource_hours, 'allocated' as source
from allocated
where campaign_id = $campaign_id
order by cost_date, source, category
"""

_MONTHLY_COSTS_SQL = f"""
with
    {_ALLOCATION_CTES},
    monthly as (
        select campaign_id, date_trunc('month', cost_date)::date as month, sum(amount) as cost
        from window_costs
        where campaign_id is not null
        group by all
        union all
        select campaign_id, month, amount as cost
        from allocated
    )
select campaign_id, month, sum(cost) as cost
from monthly
group by all
order by campaign_id nulls last, month
"""


def _params(start: date, end: date, allocation: str, **extra) -> dict:
    _check(start, end, allocation)
    return {"start": start, "end": end, "allocation": allocation, "methods": list(ALLOCATION_METHODS), **extra}


def campaign_costs(
    con: duckdb.DuckDBPyConnection, start: date, end: date, allocation: str = "as_booked"
) -> pl.DataFrame:
    """Costs per campaign in ``[start, end]``, by category, with unbooked overhead allocated.

    Parameters
    ----------
    con : warehouse connection.
    start, end : the window (both inclusive), on ``cost_date``.
    allocation : ``"as_booked"`` (each unbooked row's own ``allocation_method``),
        ``"headcount"`` or ``"time_based"`` (formulas in the module docstring).

    Returns
    -------
    polars.DataFrame
        One row per campaign with a cost in the window (plus an ``(unallocated overhead)``
        row with a null ``campaign_id`` when some pool found no weights): ``campaign_id``,
        ``campaign_name``, ``channel``, the four categories (booked), ``allocated_overhead``,
        ``campaign_costs`` (media + creative + platform) and ``operational_costs``
        (booked + allocated overhead). Booked rows with a category outside the spec's four
        count as operational overhead. The sum of all columns equals the ledger's total
        in the window.
    """
    params = _params(start, end, allocation, categories=list(COST_CATEGORIES), unallocated=UNALLOCATED)
    return run(con, _CAMPAIGN_COSTS_SQL, params)


def monthly_campaign_costs(
    con: duckdb.DuckDBPyConnection, start: date, end: date, allocation: str = "as_booked"
) -> pl.DataFrame:
    """Booked plus allocated cost per campaign and calendar month (``campaign_id, month, cost``)."""
    return run(con, _MONTHLY_COSTS_SQL, _params(start, end, allocation))


def cost_lines(
    con: duckdb.DuckDBPyConnection, campaign_id: str, start: date, end: date, allocation: str = "as_booked"
) -> pl.DataFrame:
    """A campaign's cost lines in the window: its booked rows and its monthly allocated overhead.

    Columns ``cost_date, category, amount, platform, allocation_method, resource_hours,
    source`` (``booked`` or ``allocated``). Their sum equals the campaign's
    ``campaign_costs + operational_costs`` from :func:`campaign_costs`.
    """
    return run(con, _COST_LINES_SQL, _params(start, end, allocation, campaign_id=campaign_id))
