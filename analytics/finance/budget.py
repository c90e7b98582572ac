"""Budget consumption per campaign (the spec's ``trackBudgetConsumption``).

For a campaign with ``budget`` *B*, dates ``[start_date, end_date]`` and, as of a day *t*,
booked spend *S* (its ``campaign_costs`` rows dated on or before *t*; allocated overhead
and sales time are not charged to marketing budgets):

- the campaign *began* on the earlier of ``start_date`` and its first cost date (costs are
  often booked on the first of the month, before a mid-month launch);
- ``elapsed_days = min(t, end_date) - began + 1``;
- ``burn_rate_per_day = S / elapsed_days`` and ``burn_rate_per_month = burn_rate_per_day × 365.25 / 12``;
- ``remaining_days = max(0, end_date - t)``;
- ``projected_spend = S + burn_rate_per_day × remaining_days`` (spend at ``end_date`` if the
  burn rate holds);
- ``run_out_date = began + ceil(B / burn_rate_per_day) - 1`` days, the day cumulative spend
  reaches *B* at that rate; reported only when it falls on or before ``end_date``
  (otherwise the budget lasts);
- ``consumption_pct = S / B × 100``; ``over_budget = projected_spend > B``.

A campaign that has not begun by *t* has no burn rate, projection or run-out date.
The default *t* is the last day of the month of the latest ``cost_date`` in the warehouse
(the data's "now"); pass ``as_of`` to look at another day.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics.attribution.definitions import usable_amount
from analytics.warehouse.runner import run

DAYS_PER_MONTH = 365.25 / 12

_SPENT_SQL = (
    """
with
    spent as (
        select campaign_id, sum(amount) as spent, min(cost_date) as first_cost_date
        from campaign_costs
        where campaign_id is not null and cost_date <= $as_of and """
    + usable_amount("amount")
    + """
        group by campaign_id
    )
select c.campaign_id, c.name as campaign_name, c.channel, c.start_date, c.end_date,
       case when """
    + usable_amount("c.budget")
    + """ then coalesce(c.budget, 0) else 0 end as budget,
       coalesce(s.spent, 0) as spent, s.first_cost_date
from campaigns as c
left join spent as s using (campaign_id)
order by c.campaign_id
"""
)

BUDGET_SCHEMA = {
    "campaign_id": pl.String,
    "campaign_name": pl.String,
    "channel": pl.String,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "status": pl.String,
    "budget": pl.Float64,
    "spent": pl.Float64,
    "consumption_pct": pl.Float64,
    "burn_rate_per_day": pl.Float64,
    "burn_rate_per_month": pl.Float64,
    "projected_spend": pl.Float64,
    "run_out_date": pl.Date,
    "over_budget": pl.Boolean,
}


def budget_status(
    budget: float,
    spent: float,
    start_date: date | None,
    end_date: date | None,
    first_cost_date: date | None,
    as_of: date,
) -> dict:
    """Consumption of one campaign's budget as of ``as_of`` (formulas in the module docstring).

    Returns a dict with ``status`` (``not started`` / ``active`` / ``ended``),
    ``consumption_pct``, ``burn_rate_per_day``, ``burn_rate_per_month``, ``projected_spend``,
    ``run_out_date`` and ``over_budget``; values that cannot be computed are ``None``.
    """
    began = min((d for d in (start_date, first_cost_date) if d is not None), default=None)
    consumption = spent / budget * 100 if budget else None
    if began is None or began > as_of:
        return {
            "status": "not started",
            "consumption_pct": consumption,
            "burn_rate_per_day": None,
            "burn_rate_per_month": None,
            "projected_spend": None,
            "run_out_date": None,
            "over_budget": spent > budget,
        }
    ended = end_date is not None and as_of > end_date
    last_counted = min(as_of, end_date) if end_date is not None else as_of
    elapsed_days = (last_counted - began).days + 1
    burn = spent / elapsed_days
    projected = None
    if end_date is not None:
        projected = spent + burn * max(0, (end_date - as_of).days)
    run_out = None
    if burn > 0 and budget > 0:
        day = began + timedelta(days=math.ceil(budget / burn) - 1)
        if end_date is None or day <= end_date:
            run_out = day
    over = (projected if projected is not None else spent) > budget
    return {
        "status": "ended" if ended else "active",
        "consumption_pct": consumption,
        "burn_rate_per_day": burn,
        "burn_rate_per_month": burn * DAYS_PER_MONTH,
        "projected_spend": projected,
        "run_out_date": run_out,
        "over_budget": over,
    }


def data_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The last day of the month of the latest ``cost_date`` (``None`` without costs)."""
    rows = con.execute("select last_day(max(cost_date)) from campaign_costs").fetchall()
    return rows[0][0] if rows else None


def budget_consumption(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> pl.DataFrame:
    """Spent against budget for every campaign, as of ``as_of`` (default :func:`data_as_of`).

    Columns: ``campaign_id, campaign_name, channel, start_date, end_date, status, budget,
    spent, consumption_pct, burn_rate_per_day, burn_rate_per_month, projected_spend,
    run_out_date, over_budget``.
    """
    as_of = as_of or data_as_of(con) or date.today()
    rows = []
    for row in run(con, _SPENT_SQL, {"as_of": as_of}).iter_rows(named=True):
        status = budget_status(
            row["budget"], row["spent"], row["start_date"], row["end_date"], row["first_cost_date"], as_of
        )
        rows.append(
            {
                **{
                    k: row[k]
                    for k in ("campaign_id", "campaign_name", "channel", "start_date", "end_date", "budget", "spent")
                },
                **status,
            }
        )
    return pl.DataFrame(rows, schema=BUDGET_SCHEMA)
