"""The reallocation's inputs over an analysis period (the spec's ``analyzeChannelPerformance``,
``calculateCACByChannel``, ``getLTVMetrics``, ``getSeasonalTrends``): SQL through the runner for
the row-level work, the attribution engine for the credit; only weekly aggregates reach Python.

**Weeks.** The analysis period is cut to whole weeks, Monday to Sunday, that lie inside it.

**Weekly spend** per channel: every cost booked to a campaign (``campaign_costs`` with a
``campaign_id``: media, creative, platform fees and booked overhead; the unbooked overhead pool
is no channel's) is a cost of its campaign's channel for the calendar month of its
``cost_date``, spread evenly over that month's days (costs are booked monthly: ad-platform
invoices, the demo). A week's spend is the sum of its seven days:

.. math:: x_{c,w} = \\sum_m C_{c,m} \\frac{|w \\cap m|}{|m|}

**Weekly attributed revenue** per channel: the credit of the chosen attribution model, dated
by the week of the credited touch (:func:`analytics.attribution.engine.attribute` with
``by_week``), for deals closing from the first week on: revenue is dated like the spend that
bought the touch.

**Maturity.** A recent week's touches belong in part to deals that are still open, so its
credit is incomplete. With :math:`F(d)` the share of eligible touches of won deals made at
most *d* days before their close (the lag profile), a week ending *D* days before the data's
last close is complete to about :math:`F(D)`; weeks with :math:`F(D) < 0.9`
(:data:`MATURITY`) are reported but not fitted (``mature = False``).

**CAC** per channel: :math:`\\sum_w x_{c,w} / \\sum_w q_{c,w}` with *q* the attributed
conversions (the finance module's :func:`analytics.finance.roi.cac`).

**LTV** per channel, from the won deals' accounts: each deal *j* credits channel *c* with
conversions :math:`q_{j,c}` (the chosen model, :func:`~analytics.attribution.engine.deal_credits`).
Over those weights, the channel's ARR is :math:`\\bar A_c = \\sum_j q_{j,c} A_j / \\sum_j q_{j,c}`
and its observed churn rate (per account-year) is
:math:`h_c = \\sum_j q_{j,c} \\delta_j / \\sum_j q_{j,c} E_j`, with :math:`\\delta_j = 1` when the
account churned and :math:`E_j` the years from the close to the churn (or to the data's end).
Then with a gross margin *g* (default 0.80, the ROI report's: one assumption for both pages):

.. math:: L_c = \\bar A_c \\, g \\, \\min(1 / h_c, 10), \\qquad m_c = g \\min(1 / h_c, 10)

(lifetime capped at :data:`MAX_LIFETIME_YEARS`; Skok, *SaaS metrics 2.0*). :math:`m_c` is the
lifetime gross margin per dollar of first-year revenue: the LTV objective weighs channel *c*'s
revenue by it.

**Seasonality index** per calendar month: won revenue in the month, averaged over the years
that have it, over the mean of those twelve averages (1.0 for a month without data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from analytics.attribution.definitions import days_before, eligible, won_in_window
from analytics.attribution.journeys import WON_DEALS, journeys_current
from analytics.core.errors import RevLensError
from analytics.finance.report import DEFAULT_GROSS_MARGIN
from analytics.warehouse.runner import Query, rows, run, scalar

MATURITY = 0.9
MAX_LIFETIME_YEARS = 10.0

WEEKLY_SPEND = Query(
    "finance.reallocation_weekly_spend",
    """
with
    booked_costs as (
        select c.channel,
               cast(date_trunc('month', cc.cost_date) as date) as month,
               sum(cc.amount) as amount
        from campaign_costs as cc
        join campaigns as c on c.campaign_id = cc.campaign_id
        where cc.campaign_id is not null
          and cc.cost_date >= cast(date_trunc('month', cast($first_week as date)) as date)
          and cc.cost_date <= cast($last_week as date) + 6
        group by c.channel, cast(date_trunc('month', cc.cost_date) as date)
    ),
    months as (
        select channel, month, amount,
               cast(last_day(month) as date) as month_end,
               date_diff('day', month, cast(last_day(month) as date)) + 1 as days_in_month
        from booked_costs
    ),
    weeks as (
        select cast(week as date) as week
        from unnest(generate_series(cast($first_week as timestamp), cast($last_week as timestamp), interval 7 day))
             as series(week)
    ),
    week_spend as (
        select m.channel, w.week,
               sum(m.amount * (date_diff('day', greatest(w.week, m.month), least(w.week + 6, m.month_end)) + 1)
                   / m.days_in_month) as spend
        from months as m
        join weeks as w on w.week <= m.month_end and w.week + 6 >= m.month
        group by m.channel, w.week
    )
select channel, week, spend
from week_spend
order by channel, week
""",
    "Booked campaign costs per channel and week (Monday), each month's cost spread evenly over its days.",
)

_LAG_FROM_JOURNEYS = Query(
    "finance.reallocation_lag_profile",
    """
with
    credited_touches as (
        select days_before
        from _journey_touches
        where days_before between 0 and cast($lookback as integer)
    )
select days_before, count(*) as touches
from credited_touches
group by days_before
order by days_before
""",
    "Eligible touches of won deals by days before their close (the maturity of recent weeks).",
)

_LAG_FROM_RAW = Query(
    "finance.reallocation_lag_profile_raw",
    f"""
with
    won_deals as (
        select o.contact_id, o.close_date
        from opportunities as o
        where {won_in_window("o", "null", "null")}
    ),
    credited_touches as (
        select {days_before("t.ts", "d.close_date")} as days_before
        from won_deals as d
        join touchpoints as t on t.contact_id = d.contact_id
    )
select days_before, count(*) as touches
from credited_touches
where {eligible("days_before")}
group by days_before
order by days_before
""",
    "The lag profile from the raw tables (when the journey tables are not current).",
)

LAST_CLOSE = Query(
    "finance.reallocation_last_close",
    f"""
with
    won_deals as (
        select o.close_date from opportunities as o where {won_in_window("o", "null", "null")}
    )
select max(close_date) from won_deals
""",
    "The data's last close date of a won deal (what 'still open' is measured against).",
)

DEAL_ACCOUNTS = Query(
    "finance.reallocation_deal_accounts",
    f"""
with
    won_deals as ({WON_DEALS}),
    deal_accounts as (
        select d.journey_id, coalesce(a.arr, 0) as arr,
               case when a.churned_at is not null and cast(a.churned_at as date) >= d.close_date
                    then 1.0 else 0.0 end as churned,
               greatest(date_diff('day', d.close_date,
                                  coalesce(cast(a.churned_at as date), cast($as_of as date))), 1) / 365.25
                   as exposure_years
        from won_deals as d
        left join accounts as a on a.account_id = d.account_id
        where d.close_date between cast($close_from as date) and cast($close_to as date)
    )
select journey_id, arr, churned, exposure_years
from deal_accounts
order by journey_id
""",
    "Each won deal's account ARR, whether it churned after the close, and the years it was observed.",
)

SEASONALITY = Query(
    "finance.reallocation_seasonality",
    f"""
with
    won_deals as (
        select o.close_date, coalesce(o.amount, 0) as amount
        from opportunities as o
        where {won_in_window("o", "null", "null")}
    ),
    monthly as (
        select extract(year from close_date) as year, extract(month from close_date) as month, sum(amount) as revenue
        from won_deals
        group by extract(year from close_date), extract(month from close_date)
    )
select month, avg(revenue) as revenue, count(*) as years
from monthly
group by month
order by month
""",
    "Won revenue per calendar month, averaged over the years that have it (the seasonality index).",
)


def whole_weeks(start: date, end: date) -> list[date]:
    """The Mondays of the whole weeks (Monday to Sunday) inside ``[start, end]``."""
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    weeks = []
    while first + timedelta(days=6) <= end:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def lag_profile(con, lookback_days: int) -> list[float]:
    """``F(d)`` for ``d = 0 .. lookback``: the share of eligible touches at most *d* days before the close."""
    query = _LAG_FROM_JOURNEYS if journeys_current(con) else _LAG_FROM_RAW
    counts = dict(rows(con, query, {"lookback": lookback_days}))
    total = sum(counts.values())
    cumulative, out = 0, []
    for d in range(lookback_days + 1):
        cumulative += counts.get(d, 0)
        out.append(cumulative / total if total else 1.0)
    return out


def seasonality_index(con) -> dict[int, float]:
    """Calendar month (1-12) -> index (module docstring)."""
    found = {int(m): float(r) for m, r, _ in rows(con, SEASONALITY)}
    mean = sum(found.values()) / len(found) if found else 0.0
    return {m: (found[m] / mean if m in found and mean > 0 else 1.0) for m in range(1, 13)}


@dataclass(frozen=True)
class ChannelInputs:
    """The weekly series and the unit economics of every channel over the analysis weeks.

    ``weekly`` is a polars frame ``channel, week, spend, attributed_revenue,
    attributed_conversions, completeness, mature``; the dicts are per channel."""

    weeks: list[date]
    weekly: object
    channels: list[str]
    cac: dict[str, float | None]
    arr: dict[str, float | None]
    churn_rate: dict[str, float | None]
    ltv: dict[str, float | None]
    ltv_multiple: dict[str, float]
    seasonality: dict[int, float]
    model: str
    gross_margin: float
    as_of: date | None
    notes: list[str] = field(default_factory=list)


def channel_inputs(
    con,
    start: date,
    end: date,
    model: str = "linear",
    lookback_days: int = 90,
    gross_margin: float = DEFAULT_GROSS_MARGIN,
) -> ChannelInputs:
    """The inputs of the module docstring for the analysis period ``[start, end]``."""
    import polars as pl

    from analytics.attribution.engine import attribute, deal_credits
    from analytics.attribution.models import UNATTRIBUTED
    from analytics.attribution.window import JourneyWindow
    from analytics.finance.roi import cac

    if start > end:
        raise RevLensError(f"The analysis period starts ({start}) after it ends ({end}); swap the dates.")
    if not 0 < gross_margin <= 1:
        raise RevLensError(f"The gross margin {gross_margin!r} is not a fraction in (0, 1]; give e.g. 0.75.")
    weeks = whole_weeks(start, end)
    if not weeks:
        raise RevLensError(
            f"The analysis period {start} to {end} holds no whole week (Monday to Sunday); give a longer period."
        )
    last_close = scalar(con, LAST_CLOSE)
    params = {"first_week": weeks[0], "last_week": weeks[-1]}
    spend = run(con, WEEKLY_SPEND, params)
    close_to = weeks[-1] + timedelta(days=6 + lookback_days)
    if last_close is not None:
        close_to = min(close_to, last_close)
    window = JourneyWindow(by="channel", lookback_days=lookback_days, close_from=weeks[0], close_to=close_to)
    credit = attribute(con, [model], window, by_week=True).filter(pl.col("channel") != UNATTRIBUTED)
    week_frame = pl.DataFrame({"week": weeks}, schema={"week": pl.Date})
    channels = sorted(set(spend["channel"].to_list()) | set(credit["channel"].to_list()))
    grid = pl.DataFrame({"channel": channels}).join(week_frame, how="cross")
    profile = lag_profile(con, lookback_days)
    as_of = last_close or weeks[-1] + timedelta(days=6)

    def completeness(week: date) -> float:
        days = (as_of - (week + timedelta(days=6))).days
        return 0.0 if days < 0 else profile[min(days, lookback_days)]

    weekly = (
        grid.join(spend.select("channel", pl.col("week").cast(pl.Date), "spend"), on=["channel", "week"], how="left")
        .join(
            credit.select("channel", "week", "attributed_revenue", "attributed_conversions"),
            on=["channel", "week"],
            how="left",
        )
        .with_columns(pl.col("spend", "attributed_revenue", "attributed_conversions").fill_null(0.0))
        .with_columns(pl.col("week").map_elements(completeness, return_dtype=pl.Float64).alias("completeness"))
        .with_columns((pl.col("completeness") >= MATURITY).alias("mature"))
        .sort("channel", "week")
    )
    totals = weekly.group_by("channel").agg(pl.col("spend").sum(), pl.col("attributed_conversions").sum())
    cac_by = {r["channel"]: cac(r["spend"], r["attributed_conversions"]) for r in totals.iter_rows(named=True)}
    accounts = run(con, DEAL_ACCOUNTS, {"as_of": as_of, "close_from": window.close_from, "close_to": window.close_to})
    arr, churn, ltv, multiple = {}, {}, {}, {}
    for channel in channels:
        credits = deal_credits(con, model, channel, window).join(accounts, on="journey_id", how="inner")
        weight = credits["credited_conversions"]
        total_weight = float(weight.sum())
        if total_weight <= 0:
            arr[channel], churn[channel], ltv[channel] = None, None, None
            multiple[channel] = gross_margin  # a first year's margin, nothing more is known
            continue
        arr[channel] = float((weight * credits["arr"]).sum()) / total_weight
        exposure = float((weight * credits["exposure_years"]).sum())
        churn[channel] = float((weight * credits["churned"]).sum()) / exposure if exposure > 0 else None
        lifetime = MAX_LIFETIME_YEARS if not churn[channel] else min(1.0 / churn[channel], MAX_LIFETIME_YEARS)
        multiple[channel] = gross_margin * lifetime
        ltv[channel] = arr[channel] * multiple[channel]
    immature = weekly.filter(~pl.col("mature"))["week"].unique().len()
    notes = []
    if immature:
        notes.append(
            f"The last {immature} weeks are not yet mature (their deals are still open: under "
            f"{MATURITY:.0%} of their credit has arrived); they are shown but not fitted."
        )
    return ChannelInputs(
        weeks=weeks,
        weekly=weekly,
        channels=channels,
        cac=cac_by,
        arr=arr,
        churn_rate=churn,
        ltv=ltv,
        ltv_multiple=multiple,
        seasonality=seasonality_index(con),
        model=model,
        gross_margin=gross_margin,
        as_of=as_of,
        notes=notes,
    )
