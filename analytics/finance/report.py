"""The marketing financial report (the spec's ``generateFinancialReport``): its assembly.

Its campaign drill-down is :mod:`analytics.finance.drilldown`, its exports (JSON records, the
Excel workbook) :mod:`analytics.finance.export`, its periods :mod:`analytics.core.periods`.

For a period ``[start, end]`` (a month ``2026-09``, a quarter ``2026-Q3``, a year ``2026``
or a custom range) and an attribution model, each campaign gets:

- its costs in the period (:mod:`analytics.costs`: booked by category, unbooked overhead
  allocated by each row's own method, or by ``headcount`` or ``time_based`` for all) and the
  opportunity cost of the deals attributed to it
  (``attributed_conversions × hours_per_won_deal × loaded_hourly_rate``);
- its attributed revenue and conversions: closed-won deals whose ``close_date`` falls in
  the period, credited by :func:`analytics.attribution.attribute` (``by="campaign"``);
- the ROI figures of :func:`analytics.roi.roi_record`. Payback counts months from the first
  month in the period with a cost booked to the campaign (or, without one, its first month
  with attributed revenue), on attributed gross profit ``revenue × gross_margin``
  (an assumption, 0.80 by default), within the period: "not reached" means not by its end.
  Confidence uses the spread of attributed revenue across ``AGREEMENT_MODELS`` plus the
  selected model, the 95% bootstrap interval of the selected model's revenue (campaign rows
  only: a second bootstrap per channel would double the report's run time; channels and the
  total are graded on model agreement and conversions) and the conversion count.

Channels and the total are the sums of their campaigns' inputs (costs, revenue, monthly
gross profit), then the same formulas: a channel's ROI is the ROI of its sums. Revenue the
attribution leaves ``(unattributed)`` (no touch in the lookback) is reported in the summary
but not credited to any campaign, so it does not inflate marketing ROI; overhead that found
no campaign to allocate to is a row of its own. Hence the campaign rows add up to the totals.

Period over period: the same report for the previous period (the previous month, quarter
or year; for a custom range, the same number of days just before it), with the change in
investment, revenue (percent) and ROI (percentage points) per channel and in total.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from analytics.attribution.definitions import won_in_window
from analytics.attribution.engine import attribute, attribute_with_intervals
from analytics.attribution.models import AGREEMENT_MODELS, UNATTRIBUTED
from analytics.attribution.models import model as attribution_model
from analytics.attribution.window import JourneyWindow
from analytics.core.change import percent_change
from analytics.core.errors import RevLensError
from analytics.core.periods import ReportPeriod, custom_period
from analytics.finance.costs import (
    ALLOCATION_CHOICES,
    OpportunityCostAssumption,
    campaign_costs,
    monthly_campaign_costs,
)
from analytics.finance.roi import cac, interval_width, model_spread, roas, roi_percentage, roi_record
from analytics.warehouse.runner import Query, run, scalar

NO_CAMPAIGN = "(no campaign)"
ATTRIBUTION_NO_KEY = "(none)"  # attribute()'s key for touches without a campaign
NO_CHANNEL = "(none)"
TOTAL = "Total"
# AGREEMENT_MODELS (the registry's cheap models) feed the confidence level with their disagreement;
# Markov and Shapley are left out: they cost far more and rarely change the verdict.
DEFAULT_GROSS_MARGIN = 0.80
DEFAULT_N_BOOT = 50

COST_COLUMNS = (
    "media_spend",
    "creative_production",
    "platform_fees",
    "operational_overhead",
    "allocated_overhead",
    "campaign_costs",
    "operational_costs",
)
ROI_COLUMNS = (
    "opportunity_costs",
    "total_investment",
    "attributed_conversions",
    "attributed_revenue",
    "net_revenue",
    "roi_percentage",
    "roas",
    "cac",
    "payback_months",
    "payback_period",
    "confidence_level",
    "confidence_reason",
    "revenue_low",
    "revenue_high",
)


# ---------------------------------------------------------------- the report


@dataclass(frozen=True)
class FinancialReport:
    """The report's views as polars frames.

    ``totals`` has one row per period (``current``, ``previous``) with the ROI fields;
    ``summary`` is the same as metric / current / previous / change / change_pct rows;
    ``by_channel`` and ``by_campaign`` hold the ROI rows of the current period;
    ``change`` compares each channel (and the total) with the previous period.
    """

    period: ReportPeriod
    previous_period: ReportPeriod | None
    model: str
    allocation: str
    totals: pl.DataFrame
    summary: pl.DataFrame
    by_channel: pl.DataFrame
    by_campaign: pl.DataFrame
    change: pl.DataFrame
    assumptions: dict = field(default_factory=dict)

    def views(self) -> dict[str, pl.DataFrame]:
        """Sheet name → frame, in reading order."""
        return {
            "Summary": self.summary,
            "By channel": self.by_channel,
            "By campaign": self.by_campaign,
            "Period over period": self.change,
        }


@dataclass
class _Inputs:
    """What one row's ROI is computed from; rows add up by adding their inputs."""

    costs: dict[str, float]
    revenue: float = 0.0
    conversions: float = 0.0
    revenue_by_month: dict[date, float] = field(default_factory=dict)
    revenue_by_model: dict[str, float] = field(default_factory=dict)
    first_cost_month: date | None = None

    def add(self, other: _Inputs) -> None:
        for name in COST_COLUMNS:
            self.costs[name] = self.costs.get(name, 0.0) + other.costs.get(name, 0.0)
        self.revenue += other.revenue
        self.conversions += other.conversions
        for month, value in other.revenue_by_month.items():
            self.revenue_by_month[month] = self.revenue_by_month.get(month, 0.0) + value
        for model, value in other.revenue_by_model.items():
            self.revenue_by_model[model] = self.revenue_by_model.get(model, 0.0) + value
        firsts = [m for m in (self.first_cost_month, other.first_cost_month) if m is not None]
        self.first_cost_month = min(firsts) if firsts else None


def _roi(
    inputs: _Inputs,
    months: list[date],
    models: list[str],
    gross_margin: float,
    opportunity: OpportunityCostAssumption,
    interval: tuple[float, float] | None,
) -> dict:
    revenue_months = [m for m, v in inputs.revenue_by_month.items() if v]
    start = inputs.first_cost_month or (min(revenue_months) if revenue_months else months[0])
    monthly_gross_profit = [inputs.revenue_by_month.get(m, 0.0) * gross_margin for m in months if m >= start]
    costs = inputs.costs
    record = roi_record(
        media_spend=costs.get("media_spend", 0.0),
        campaign_costs=costs.get("campaign_costs", 0.0),
        operational_costs=costs.get("operational_costs", 0.0),
        opportunity_costs=opportunity.cost(inputs.conversions),
        attributed_revenue=inputs.revenue,
        attributed_conversions=inputs.conversions,
        monthly_gross_profit=monthly_gross_profit,
        # a model that gave the row no credit counts as 0, not as missing
        spread=model_spread([inputs.revenue_by_model.get(m, 0.0) for m in models]),
        width=interval_width(interval[0], interval[1], inputs.revenue) if interval else None,
    )
    return {
        **{name: costs.get(name, 0.0) for name in COST_COLUMNS},
        "opportunity_costs": opportunity.cost(inputs.conversions),
        **record,
        "revenue_low": interval[0] if interval else None,
        "revenue_high": interval[1] if interval else None,
    }


_ROW_SCHEMA = {
    **{name: pl.Float64 for name in COST_COLUMNS},
    "opportunity_costs": pl.Float64,
    "total_investment": pl.Float64,
    "attributed_conversions": pl.Float64,
    "attributed_revenue": pl.Float64,
    "net_revenue": pl.Float64,
    "roi_percentage": pl.Float64,
    "roas": pl.Float64,
    "cac": pl.Float64,
    "payback_months": pl.Float64,
    "payback_period": pl.String,
    "confidence_level": pl.String,
    "confidence_reason": pl.String,
    "revenue_low": pl.Float64,
    "revenue_high": pl.Float64,
}


def assemble_report(
    period: ReportPeriod,
    costs: pl.DataFrame,
    monthly_costs: pl.DataFrame,
    attributed: pl.DataFrame,
    campaigns: pl.DataFrame,
    model: str,
    *,
    campaign_intervals: pl.DataFrame | None = None,
    channel_intervals: pl.DataFrame | None = None,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
    opportunity: OpportunityCostAssumption = OpportunityCostAssumption(),
) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """ROI rows per campaign and channel, and the total, from already-fetched inputs (no SQL).

    Parameters
    ----------
    costs : :func:`analytics.costs.campaign_costs` for the period.
    monthly_costs : :func:`analytics.costs.monthly_campaign_costs` for the period.
    attributed : :func:`analytics.attribution.attribute` with ``by="campaign"``,
        ``by_month=True`` (columns ``campaign, model, month, attributed_conversions,
        attributed_revenue``); rows of other models feed the model spread.
    campaigns : ``campaign_id, campaign_name, channel`` of every campaign.
    campaign_intervals, channel_intervals : bootstrap intervals of ``model``
        (``campaign``/``channel``, ``revenue_low``, ``revenue_high``), or ``None``.

    Returns
    -------
    (by_campaign, by_channel, total) where ``total`` is the total row as a dict plus
    ``unattributed_revenue`` and ``closed_won_revenue``.
    """
    months = period.months()
    models = list(dict.fromkeys(attributed["model"].to_list())) or [model]
    names = {r["campaign_id"]: (r["campaign_name"], r["channel"]) for r in campaigns.iter_rows(named=True)}
    units: dict[str | None, _Inputs] = {}

    def unit(key: str | None) -> _Inputs:
        return units.setdefault(key, _Inputs(costs={}))

    for row in costs.iter_rows(named=True):
        unit(row["campaign_id"]).costs = {name: row[name] for name in COST_COLUMNS}
    first_cost = monthly_costs.filter(pl.col("cost") != 0).group_by("campaign_id").agg(pl.col("month").min())
    for key, month in first_cost.iter_rows():
        if key in units:
            units[key].first_cost_month = month
    unattributed = 0.0
    for row in attributed.iter_rows(named=True):
        key = row["campaign"] if row["campaign"] not in (None, ATTRIBUTION_NO_KEY) else NO_CAMPAIGN
        if key == UNATTRIBUTED:
            if row["model"] == model:
                unattributed += row["attributed_revenue"]
            continue
        target = unit(key)
        target.revenue_by_model[row["model"]] = (
            target.revenue_by_model.get(row["model"], 0.0) + row["attributed_revenue"]
        )
        if row["model"] == model:
            target.revenue += row["attributed_revenue"]
            target.conversions += row["attributed_conversions"]
            target.revenue_by_month[row["month"]] = (
                target.revenue_by_month.get(row["month"], 0.0) + row["attributed_revenue"]
            )

    def intervals(table: pl.DataFrame | None, key: str) -> dict:
        if table is None:
            return {}
        table = table.filter(pl.col("model") == model) if "model" in table.columns else table
        return {
            r[key]: (r["revenue_low"], r["revenue_high"])
            for r in table.iter_rows(named=True)
            if r["revenue_low"] is not None
        }  # null: no interval (a Markov chain too large to resample)

    campaign_interval = intervals(campaign_intervals, "campaign")
    channel_interval = intervals(channel_intervals, "channel")
    campaign_rows, channel_units = [], {}
    for key in sorted(units, key=lambda k: (k is None, k or "")):
        name, channel = names.get(key, (None, None))
        if key is None:
            name = costs.filter(pl.col("campaign_id").is_null())["campaign_name"].first() if costs.height else None
        channel_key = channel or NO_CHANNEL
        if key == NO_CAMPAIGN:
            name = NO_CAMPAIGN
        campaign_rows.append(
            {
                "campaign_id": key,
                "campaign_name": name or key,
                "channel": channel,
                **_roi(units[key], months, models, gross_margin, opportunity, campaign_interval.get(key)),
            }
        )
        channel_units.setdefault(channel_key, _Inputs(costs={})).add(units[key])
    channel_rows = [
        {"channel": key, **_roi(inputs, months, models, gross_margin, opportunity, channel_interval.get(key))}
        for key, inputs in sorted(channel_units.items())
    ]
    total_inputs = _Inputs(costs={})
    for inputs in units.values():
        total_inputs.add(inputs)
    total = _roi(total_inputs, months, models, gross_margin, opportunity, None)
    total["unattributed_revenue"] = unattributed
    total["closed_won_revenue"] = total["attributed_revenue"] + unattributed
    by_campaign = pl.DataFrame(
        campaign_rows,
        schema={"campaign_id": pl.String, "campaign_name": pl.String, "channel": pl.String, **_ROW_SCHEMA},
    )
    by_channel = pl.DataFrame(channel_rows, schema={"channel": pl.String, **_ROW_SCHEMA})
    return by_campaign, by_channel, total


WON_DEALS_COUNT = Query(
    "finance.won_deals",
    f"select count(*) as won_deals from opportunities as o where {won_in_window('o', '$start', '$end')}",
    "Won deals closing in a report period (attribution's definition).",
)
_ATTRIBUTED_SCHEMA = {
    "campaign": pl.String,
    "month": pl.Date,
    "model": pl.String,
    "attributed_conversions": pl.Float64,
    "attributed_revenue": pl.Float64,
}
_CAMPAIGNS_SQL = "select campaign_id, name as campaign_name, channel from campaigns order by campaign_id"

SUMMARY_METRICS = (
    "total_investment",
    "campaign_costs",
    "operational_costs",
    "opportunity_costs",
    "attributed_revenue",
    "unattributed_revenue",
    "closed_won_revenue",
    "attributed_conversions",
    "net_revenue",
    "roi_percentage",
    "roas",
    "cac",
    "payback_months",
)


def _period_rows(
    con,
    period: ReportPeriod,
    model: str,
    allocation: str,
    lookback_days: int,
    n_boot: int,
    models: tuple[str, ...],
    gross_margin: float,
    opportunity: OpportunityCostAssumption,
    step: Callable[[str], None],
):
    window = JourneyWindow(by="campaign", lookback_days=lookback_days, close_from=period.start, close_to=period.end)
    step(f"Costs {period.label}")
    costs = campaign_costs(con, period.start, period.end, allocation)
    monthly = monthly_campaign_costs(con, period.start, period.end, allocation)
    step(f"Attribution {period.label} ({', '.join(models)})")
    # attribute() needs at least one closed-won deal in the window; without one nothing is credited
    deals = scalar(con, WON_DEALS_COUNT, {"start": period.start, "end": period.end})
    attributed, campaign_intervals = pl.DataFrame(schema=_ATTRIBUTED_SCHEMA), None
    if deals and n_boot > 0:
        # one journey build for the credits and the intervals (per campaign only: a second
        # bootstrap by channel would double the report's time)
        attributed, campaign_intervals = attribute_with_intervals(
            con, list(models), [model], window, n_boot=n_boot, by_month=True
        )
    elif deals:
        attributed = attribute(con, list(models), window, by_month=True)
    if n_boot > 0:
        step(f"Bootstrap intervals {period.label} ({n_boot} resamples)")
    step(f"ROI {period.label}")
    return assemble_report(
        period,
        costs,
        monthly,
        attributed,
        run(con, _CAMPAIGNS_SQL),
        model,
        campaign_intervals=campaign_intervals,
        gross_margin=gross_margin,
        opportunity=opportunity,
    )


CHANGE_FIELDS = ("total_investment", "attributed_revenue", "net_revenue")


def _change_table(
    current: pl.DataFrame, previous: pl.DataFrame, current_total: dict, previous_total: dict | None
) -> pl.DataFrame:
    """Each channel and the total now and in the previous period (``None`` when not compared).

    Money changes are in percent of the previous value, ROI changes in percentage points; a
    channel missing from one period had no investment or revenue there (and no ROI).
    """
    now = {r["channel"]: r for r in current.iter_rows(named=True)}
    before = {r["channel"]: r for r in previous.iter_rows(named=True)}
    keys = list(now) + [key for key in before if key not in now]
    pairs = [(key, now.get(key), before.get(key)) for key in keys] + [(TOTAL, current_total, previous_total)]
    compared = previous_total is not None
    rows = []
    for key, this, last in pairs:
        row = {"channel": key}
        for name in CHANGE_FIELDS:
            value = this[name] if this else 0.0
            prior = (last[name] if last else 0.0) if compared else None
            row |= {name: value, f"{name}_previous": prior, f"{name}_change_pct": percent_change(value, prior)}
        roi, prior_roi = (this or {}).get("roi_percentage"), (last or {}).get("roi_percentage")
        row |= {
            "roi_percentage": roi,
            "roi_percentage_previous": prior_roi,
            "roi_change_pp": None if roi is None or prior_roi is None else round(roi - prior_roi, 2),
        }
        rows.append(row)
    schema = {"channel": pl.String}
    for name in CHANGE_FIELDS:
        schema |= {name: pl.Float64, f"{name}_previous": pl.Float64, f"{name}_change_pct": pl.Float64}
    schema |= {"roi_percentage": pl.Float64, "roi_percentage_previous": pl.Float64, "roi_change_pp": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def _summary(current: dict, previous: dict | None) -> pl.DataFrame:
    rows = []
    for name in SUMMARY_METRICS:
        a = current.get(name)
        b = previous.get(name) if previous else None
        change = None if a is None or b is None else a - b
        rows.append(
            {
                "metric": name,
                "current": a,
                "previous": b,
                "change": change,
                "change_pct": None if name == "roi_percentage" else percent_change(a, b),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "metric": pl.String,
            "current": pl.Float64,
            "previous": pl.Float64,
            "change": pl.Float64,
            "change_pct": pl.Float64,
        },
    )


def financial_report(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    kind: str = "custom",
    model: str = "linear",
    allocation: str = "as_booked",
    lookback_days: int = 90,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
    hours_per_won_deal: float = OpportunityCostAssumption.hours_per_won_deal,
    loaded_hourly_rate: float = OpportunityCostAssumption.loaded_hourly_rate,
    n_boot: int = DEFAULT_N_BOOT,
    compare: bool = True,
    progress: Callable[[float, str], None] | None = None,
) -> FinancialReport:
    """The financial report for ``[start, end]`` under ``model`` (definitions in the module docstring).

    Parameters
    ----------
    con : warehouse connection.
    start, end : the period (inclusive); ``kind`` (``month``/``quarter``/``year``/``custom``)
        decides what the previous period is.
    model : attribution model (one of :data:`analytics.attribution.MODELS`).
    allocation : overhead allocation: ``as_booked`` (each row's own method), ``headcount`` or ``time_based``.
    lookback_days : attribution lookback window.
    gross_margin : share of revenue that is gross profit, for the payback (0 < margin ≤ 1).
    hours_per_won_deal, loaded_hourly_rate : the opportunity-cost assumption.
    n_boot : bootstrap resamples for the confidence level; 0 skips the interval.
    compare : also compute the previous period (period-over-period change).
    progress : ``progress(fraction, message)`` callback for long runs.
    """
    attribution_model(model)  # a known name, or a clear error
    if allocation not in ALLOCATION_CHOICES:
        raise RevLensError(f"Unknown overhead allocation {allocation!r}; use one of {', '.join(ALLOCATION_CHOICES)}.")
    if not 0 < gross_margin <= 1:
        raise RevLensError(f"The gross margin {gross_margin} is outside (0, 1]; give it as a fraction, e.g. 0.8.")
    opportunity = OpportunityCostAssumption(hours_per_won_deal, loaded_hourly_rate)
    period = custom_period(start, end) if kind == "custom" else ReportPeriod(start, end, kind)
    steps = 3 + (1 if n_boot > 0 else 0) + (3 if compare else 0)
    done = [0]

    def step(message: str) -> None:
        if progress:
            progress(done[0] / (steps + 1), message)
        done[0] += 1

    models = tuple(dict.fromkeys((model, *AGREEMENT_MODELS)))
    by_campaign, by_channel, total = _period_rows(
        con, period, model, allocation, lookback_days, n_boot, models, gross_margin, opportunity, step
    )
    previous_period = previous_total = None
    previous_channel = by_channel.clear()
    if compare:
        previous_period = period.previous()
        _, previous_channel, previous_total = _period_rows(
            con, previous_period, model, allocation, lookback_days, 0, (model,), gross_margin, opportunity, step
        )
    if progress:
        progress(1.0, "Report ready")
    totals_rows = [{"period": "current", "start": period.start, "end": period.end, **total}]
    if previous_total:
        totals_rows.append(
            {"period": "previous", "start": previous_period.start, "end": previous_period.end, **previous_total}
        )
    totals = pl.DataFrame(
        totals_rows,
        schema={
            "period": pl.String,
            "start": pl.Date,
            "end": pl.Date,
            **_ROW_SCHEMA,
            "unattributed_revenue": pl.Float64,
            "closed_won_revenue": pl.Float64,
        },
    )
    return FinancialReport(
        period=period,
        previous_period=previous_period,
        model=model,
        allocation=allocation,
        totals=totals,
        summary=_summary(total, previous_total),
        by_channel=by_channel,
        by_campaign=by_campaign,
        change=_change_table(by_channel, previous_channel, total, previous_total),
        assumptions={
            "attribution_model": model,
            "overhead_allocation": allocation,
            "lookback_days": lookback_days,
            "gross_margin": gross_margin,
            "hours_per_won_deal": hours_per_won_deal,
            "loaded_hourly_rate": loaded_hourly_rate,
            "bootstrap_resamples": n_boot,
        },
    )


def summarize(table: pl.DataFrame) -> dict:
    """Totals of some ROI rows (e.g. the channels a user filtered to): sums, then the same formulas.

    ``total_investment``, ``attributed_revenue``, ``net_revenue``, ``attributed_conversions``
    are sums; ``roi_percentage``, ``roas`` and ``cac`` follow :mod:`analytics.roi` on the sums.
    (Payback and confidence need the monthly inputs and are left out.)
    """
    sums = {
        name: float(table[name].sum())
        for name in ("total_investment", "attributed_revenue", "net_revenue", "attributed_conversions", "media_spend")
    }
    return {
        **sums,
        "roi_percentage": roi_percentage(sums["net_revenue"], sums["total_investment"]),
        "roas": roas(sums["attributed_revenue"], sums["media_spend"]),
        "cac": cac(sums["total_investment"], sums["attributed_conversions"]),
    }


def previous_summary(report: FinancialReport, channels: tuple[str, ...] = ()) -> dict | None:
    """The previous period's investment, revenue, net and ROI, over ``channels`` (all when empty).

    Sums of the ``*_previous`` columns of ``report.change`` and ``roi_percentage`` of the sums;
    ``None`` when the report has no previous period.
    """
    if report.previous_period is None:
        return None
    rows = report.change.filter(pl.col("channel") != TOTAL)
    if channels:
        rows = rows.filter(pl.col("channel").is_in(list(channels)))
    sums = {name: float(rows[f"{name}_previous"].sum()) for name in CHANGE_FIELDS}
    return {**sums, "roi_percentage": roi_percentage(sums["net_revenue"], sums["total_investment"])}
