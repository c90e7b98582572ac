"""Whether a report's period holds any data, and, when it does not, a sentence with the data's range.

A period **has data for a revenue report** (ROI, attribution) when a won deal closes in it
(:func:`analytics.attribution.definitions.won_in_window`) or, for ROI, a cost is booked in it
(``campaign_costs.cost_date`` in ``[start, end]``). The data's range is the first and last
close date of a won deal and the first and last cost date.

:func:`require_data` raises :class:`~analytics.core.errors.RevLensError` for an empty period,
so the CLI exits non-zero with: what is empty, the range the warehouse covers, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.attribution.definitions import won_deal, won_in_window
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import Query, example_params, rows

PERIOD_COVERAGE = Query(
    "finance.coverage.period",
    f"""
with won_deals as (
    select o.close_date
    from opportunities as o
    where {won_deal("o")}
),
won_in_period as (
    select count(*) as deals
    from opportunities as o
    where {won_in_window("o")}
),
costs_in_period as (
    select count(*) as costs
    from campaign_costs as c
    where c.cost_date between cast($close_from as date) and cast($close_to as date)
),
ranges as (
    select
        (select min(close_date) from won_deals) as first_close,
        (select max(close_date) from won_deals) as last_close,
        (select min(cost_date) from campaign_costs) as first_cost,
        (select max(cost_date) from campaign_costs) as last_cost
)
select w.deals, c.costs, r.first_close, r.last_close, r.first_cost, r.last_cost
from won_in_period as w, costs_in_period as c, ranges as r
""",
    "Won deals closing and costs booked in a period, and the range of close dates and cost dates",
)


@example_params("finance.coverage.")
def _example_params(con) -> dict:
    return {"close_from": date(2026, 1, 1), "close_to": date(2026, 3, 31)}


@dataclass(frozen=True)
class Coverage:
    """What a period ``[start, end]`` holds, and what the warehouse holds."""

    start: date
    end: date
    won_deals: int
    costs: int
    first_close: date | None
    last_close: date | None
    first_cost: date | None
    last_cost: date | None

    def span(self, costs: bool) -> tuple[date, date] | None:
        """First and last day of the data a report reads (won deals' closes, and costs when ``costs``)."""
        days = [d for d in (self.first_close, self.last_close) if d is not None]
        if costs:
            days += [d for d in (self.first_cost, self.last_cost) if d is not None]
        return (min(days), max(days)) if days else None


def period_coverage(con, start: date, end: date) -> Coverage:
    """The :class:`Coverage` of ``[start, end]`` (both days included)."""
    ((deals, costs, first_close, last_close, first_cost, last_cost),) = rows(
        con, PERIOD_COVERAGE, {"close_from": start, "close_to": end}
    )
    return Coverage(start, end, int(deals), int(costs), first_close, last_close, first_cost, last_cost)


def require_data(con, start: date, end: date, *, costs: bool, what: str) -> Coverage:
    """The period's coverage; a :class:`RevLensError` when it holds no won deal (nor, with ``costs``, any cost).

    ``what`` names the period in the sentence (``"2024-Q1"``, ``"2024-01-01 to 2024-03-31"``).
    """
    found = period_coverage(con, start, end)
    if found.won_deals or (costs and found.costs):
        return found
    nothing = "No won deal closes and no cost is booked" if costs else "No won deal closes"
    where = what if str(start) in what else f"{what} ({start} to {end})"
    span = found.span(costs)
    if span is None:
        raise RevLensError(
            f"{nothing} in {where}: the warehouse has no won deal{' or cost' if costs else ''} at all; "
            "import opportunities (python -m analytics import) or build the demo (python -m analytics demo)."
        )
    raise RevLensError(
        f"{nothing} in {where}; the warehouse's data runs from {span[0]} to {span[1]}, "
        "so choose a period inside that range."
    )
