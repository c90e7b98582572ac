"""The qualification funnel: when each lead reached each stage, and what that adds up to.

Stages, in order (:data:`STAGES`):

* ``lead`` — the contact's creation;
* ``mql`` / ``sql`` — the first moment its rule score reached the MQL / SQL threshold. The
  score only rises at an event (decay lowers it in between), so it is checked at each of the
  lead's events: at event ``i`` of rule ``r`` the decayed sum is
  ``Σ_{j ≤ i} 0.5^{(t_i − t_j)/h_r} = 0.5^{(t_i − t_0)/h_r} · Σ_{j ≤ i} 2^{(t_j − t_0)/h_r}``,
  a running sum (window function) per rule. A lead whose fit alone reaches a threshold
  reaches it at creation; a stage is never dated before the lead's creation;
* ``opportunity`` — the contact's first opportunity; ``won`` — its first closed-won close.

Outputs (:func:`funnel`):

* **two funnel types**: ``ordered`` counts a lead at a stage when it reached it and every
  earlier stage, in order (non-decreasing dates); ``any`` counts every lead that reached the
  stage, whatever came before. Conversion ``n_s / n_{s−1}`` and ``n_s / n_lead``;
* **stage timing**: the median and 75th percentile of days between consecutive stages, over
  the leads that reached both in order;
* **cohorts**: per created month × lead source × stage, the share of the cohort that
  reached the stage within 30, 60 and 90 days of creation (null while the cohort is younger);
* **time to convert** (:func:`time_to_convert`): Kaplan–Meier (lifelines) of the days from
  creation to the first won deal, still-open leads censored at 'now'; the curve is the
  converted share ``1 − S(t)`` with its 95% interval;
* **sales velocity** (:func:`sales_velocity`): ``opportunities × average won value × win
  rate ÷ average days to win``, in money per day, over opportunities created in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from analytics.sales.features import data_end, event_predicate, events_cte, lead_profile_cte, warehouse_shape
from analytics.sales.rules import Rules
from analytics.sales.scoring import fit_condition
from analytics.warehouse.runner import Query, execute, run

STAGES = ("lead", "mql", "sql", "opportunity", "won")
COHORT_DAYS = (30, 60, 90)
STAGE_TABLE = "_lead_stages"


def _stages_statement(rules: Rules, shape, now: datetime, created_from, created_to, segments) -> tuple[str, dict]:
    params: dict = {
        "now": now,
        "t0": now - timedelta(days=4 * 365),
        "fit_limit": rules.fit_limit,
        "engagement_limit": rules.engagement_limit,
        "mql": rules.mql,
        "sql": rules.sql,
        "created_from": created_from,
        "created_to": created_to,
    }
    filters = ["p.created_at is not null", "p.created_at <= $now"]
    if created_from:
        filters.append("p.created_at >= $created_from")
    if created_to:
        filters.append("p.created_at < cast($created_to as date) + 1")
    if segments:
        names = []
        for j, segment in enumerate(segments):
            params[f"segment_{j}"] = segment
            names.append(f"$segment_{j}")
        filters.append(f"p.segment in ({', '.join(names)})")
    fit = []
    for k, rule in enumerate(rules.fit):
        params[f"fit_{k}_points"] = rule.points
        fit.append(f"coalesce(case when {fit_condition(rule, k, params)} then $fit_{k}_points end, 0)")
    running, contributions = [], []
    for k, rule in enumerate(rules.engagement):
        params[f"h_{k}"] = rule.half_life_days
        params[f"p_{k}"] = rule.points
        running.append(
            f"sum(case when {event_predicate(rule.event)} then power(2.0, (epoch(e.ts) - epoch($t0)) / 86400.0 / $h_{k}) "
            f"else 0 end) over (partition by e.contact_id order by e.ts rows unbounded preceding) as s_{k}"
        )
        term = f"$p_{k} * power(0.5, (epoch(ts) - epoch($t0)) / 86400.0 / $h_{k}) * s_{k}"
        if rule.cap is not None:
            params[f"c_{k}"] = rule.cap
            term = f"{'least' if rule.points > 0 else 'greatest'}($c_{k}, {term})"
        contributions.append(term)
    engagement = " + ".join(contributions) or "0"
    score = "greatest(0, least(100, least(fit_points, $fit_limit) + least({e}, $engagement_limit)))"
    events = {r.event for r in rules.engagement}
    sql = f"""
create or replace temp table {STAGE_TABLE} as
with {lead_profile_cte(shape)},
    scope as (
        select p.contact_id, p.created_at, coalesce(p.lead_source, '(none)') as lead_source, p.segment,
               {" + ".join(fit) or "0"} as fit_points
        from lead_profile p
        where {" and ".join(filters)}
    ),{events_cte(events, shape) if events else " lead_events as (select null as contact_id where false)"},
    running as (
        select e.contact_id, e.ts, s.created_at, s.fit_points
               {"".join(", " + r for r in running)}
        from lead_events e
        join scope s on s.contact_id = e.contact_id
        where e.ts <= $now
    ),
    scored_events as (
        select contact_id, greatest(ts, created_at) as reached_at,
               {score.format(e=engagement)} as score
        from running
    ),
    crossings as (
        select contact_id,
               min(case when score >= $mql then reached_at end) as mql_event_at,
               min(case when score >= $sql then reached_at end) as sql_event_at
        from scored_events
        group by contact_id
    ),
    opportunity_dates as (
        select contact_id, min(created_at) as opportunity_at,
               min(case when is_closed_won then cast(close_date as timestamp) end) as won_at
        from opportunities
        group by contact_id
    )
select s.contact_id, s.created_at as lead_at, s.lead_source, s.segment,
       case when greatest(0, least(100, least(s.fit_points, $fit_limit))) >= $mql then s.created_at
            else c.mql_event_at end as mql_at,
       case when greatest(0, least(100, least(s.fit_points, $fit_limit))) >= $sql then s.created_at
            else c.sql_event_at end as sql_at,
       case when o.opportunity_at is not null then greatest(o.opportunity_at, s.created_at) end as opportunity_at,
       case when o.won_at >= cast(s.created_at as date) then o.won_at end as won_at
from scope s
left join crossings c on c.contact_id = s.contact_id
left join opportunity_dates o on o.contact_id = s.contact_id
"""
    return sql, params


FUNNEL_COUNTS = Query(
    "sales.funnel_counts",
    f"""
    with reached as (
        select count(*) as lead_any,
               count(mql_at) as mql_any, count(sql_at) as sql_any,
               count(opportunity_at) as opportunity_any, count(won_at) as won_any,
               count(mql_at) as mql_ordered,
               count(case when sql_at >= mql_at then 1 end) as sql_ordered,
               count(case when sql_at >= mql_at and opportunity_at >= sql_at then 1 end) as opportunity_ordered,
               count(case when sql_at >= mql_at and opportunity_at >= sql_at and won_at >= opportunity_at
                          then 1 end) as won_ordered
        from {STAGE_TABLE}
    )
    select * from reached
    """,
    "leads reaching each stage, in order and at all",
)

STAGE_TIMING = Query(
    "sales.stage_timing",
    f"""
    with gaps as (
        select 'lead' as from_stage, 'mql' as to_stage,
               (epoch(mql_at) - epoch(lead_at)) / 86400.0 as days from {STAGE_TABLE} where mql_at >= lead_at
        union all
        select 'mql', 'sql', (epoch(sql_at) - epoch(mql_at)) / 86400.0 from {STAGE_TABLE} where sql_at >= mql_at
        union all
        select 'sql', 'opportunity', (epoch(opportunity_at) - epoch(sql_at)) / 86400.0
        from {STAGE_TABLE} where opportunity_at >= sql_at
        union all
        select 'opportunity', 'won', (epoch(won_at) - epoch(opportunity_at)) / 86400.0
        from {STAGE_TABLE} where won_at >= opportunity_at
    )
    select from_stage, to_stage, count(*) as leads,
           quantile_cont(days, 0.5) as median_days, quantile_cont(days, 0.75) as p75_days
    from gaps
    group by from_stage, to_stage
    """,
    "median and 75th-percentile days between consecutive stages",
)

COHORTS = Query(
    "sales.cohorts",
    f"""
    with leads as (
        select cast(date_trunc('month', lead_at) as date) as created_month, lead_source, lead_at,
               mql_at, sql_at, opportunity_at, won_at
        from {STAGE_TABLE}
    ),
    stage_dates as (
        select created_month, lead_source, lead_at, 'mql' as stage, mql_at as reached_at from leads
        union all select created_month, lead_source, lead_at, 'sql', sql_at from leads
        union all select created_month, lead_source, lead_at, 'opportunity', opportunity_at from leads
        union all select created_month, lead_source, lead_at, 'won', won_at from leads
    ),
    horizons as (
        select 30 as by_day union all select 60 union all select 90
    )
    select d.created_month, d.lead_source, d.stage, h.by_day, count(*) as leads,
           case when max(d.lead_at) + h.by_day * interval 1 day <= $now
                then avg(case when d.reached_at <= d.lead_at + h.by_day * interval 1 day then 1.0 else 0.0 end)
           end as reached_share
    from stage_dates d
    cross join horizons h
    group by d.created_month, d.lead_source, d.stage, h.by_day
    order by d.created_month, d.lead_source, d.stage, h.by_day
    """,
    "share of each created-month × source cohort reaching each stage by day 30/60/90",
)

CONVERSION_DURATIONS = Query(
    "sales.conversion_durations",
    f"""
    with durations as (
        select lead_source,
               case when won_at is not null then 1 else 0 end as converted,
               ceil((epoch(coalesce(won_at, cast($now as timestamp))) - epoch(lead_at)) / 86400.0) as days
        from {STAGE_TABLE}
    )
    select lead_source, converted, greatest(days, 0) as days, count(*) as leads
    from durations
    group by lead_source, converted, greatest(days, 0)
    """,
    "leads by source, converted or still open, and days observed (for Kaplan–Meier)",
)

RECENT_DAYS = 7
NEWLY_QUALIFIED = Query(
    "sales.newly_qualified",
    f"""
    select contact_id, mql_at, sql_at
    from {STAGE_TABLE}
    where (mql_at > $since and mql_at <= $now) or (sql_at > $since and sql_at <= $now)
    """,
    "leads that reached MQL or SQL in the last days (the follow-up's audience)",
)

SALES_VELOCITY = Query(
    "sales.velocity",
    """
    with period_opportunities as (
        select o.*, a.segment
        from opportunities o
        left join accounts a on a.account_id = o.account_id
        where o.created_at >= $created_from and o.created_at < cast($created_to as date) + 1
    ),
    in_scope as (
        select * from period_opportunities where $all_segments or segment in (select unnest($segments))
    ),
    won as (
        select * from in_scope where is_closed_won
    )
    select (select count(*) from in_scope) as opportunities,
           (select count(*) from in_scope where is_closed) as closed,
           (select count(*) from won) as won,
           (select avg(amount) from won) as average_won_value,
           (select avg(date_diff('day', cast(created_at as date), close_date)) from won) as average_days_to_win
    """,
    "the inputs of sales velocity for opportunities created in the period",
)


@dataclass(frozen=True)
class Funnel:
    """The funnel of the leads created in a period (see the module docstring)."""

    stages: (
        pl.DataFrame
    )  # stage, ordered, any, ordered_rate (from previous), any_rate, ordered_from_lead, any_from_lead
    timing: pl.DataFrame  # from_stage, to_stage, leads, median_days, p75_days
    cohorts: pl.DataFrame  # created_month, lead_source, stage, by_day, leads, reached_share
    durations: pl.DataFrame  # lead_source, converted, days, leads (for time_to_convert)
    newly_qualified: pl.DataFrame  # contact_id, mql_at, sql_at: reached MQL or SQL in the last 7 days


def funnel(
    con,
    rules: Rules,
    created_from: date | None = None,
    created_to: date | None = None,
    segments: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Funnel:
    """Stage dates of every lead created in the period, and the funnel's aggregates."""
    now = now or data_end(con)
    shape = warehouse_shape(con)
    sql, params = _stages_statement(rules, shape, now, created_from, created_to, segments)
    execute(con, sql, params)
    counts = run(con, FUNNEL_COUNTS).row(0, named=True)
    rows = []
    for i, stage in enumerate(STAGES):
        ordered = counts["lead_any"] if stage == "lead" else counts[f"{stage}_ordered"]
        reached = counts[f"{stage}_any"]
        previous = STAGES[i - 1] if i else None
        prev_ordered = counts["lead_any"] if previous in (None, "lead") else counts[f"{previous}_ordered"]
        prev_any = counts["lead_any"] if previous in (None, "lead") else counts[f"{previous}_any"]
        rows.append(
            {
                "stage": stage,
                "ordered": ordered,
                "any": reached,
                "ordered_rate": ordered / prev_ordered if prev_ordered else None,
                "any_rate": reached / prev_any if prev_any else None,
                "ordered_from_lead": ordered / counts["lead_any"] if counts["lead_any"] else None,
                "any_from_lead": reached / counts["lead_any"] if counts["lead_any"] else None,
            }
        )
    order = {f"{a}>{b}": i for i, (a, b) in enumerate(zip(STAGES, STAGES[1:]))}
    timing = run(con, STAGE_TIMING)
    timing = timing.sort(pl.concat_str("from_stage", pl.lit(">"), "to_stage").replace_strict(order, default=99))
    cohorts = run(con, COHORTS, {"now": now})
    durations = run(con, CONVERSION_DURATIONS, {"now": now})
    recent = run(con, NEWLY_QUALIFIED, {"since": now - timedelta(days=RECENT_DAYS), "now": now})
    execute(con, f"drop table if exists {STAGE_TABLE}")
    return Funnel(pl.DataFrame(rows), timing, cohorts, durations, recent)


def time_to_convert(durations: pl.DataFrame, by_source: bool = False, max_days: int = 365) -> pl.DataFrame:
    """Kaplan–Meier converted share ``1 − S(t)`` by day, with still-open leads censored.

    ``durations`` has ``days``, ``converted`` (1: won at ``days``; 0: still open after
    ``days``) and ``leads`` (how many leads share the row: lifelines' weights). Returns
    ``group, day, converted_share, low, high`` (the 95% interval from Greenwood's formula).
    """
    import numpy as np
    from lifelines import KaplanMeierFitter

    groups = durations.partition_by("lead_source", as_dict=True) if by_source else {("all",): durations}
    frames = []
    for key, group in groups.items():
        name = key[0] if isinstance(key, tuple) else key
        if group.is_empty() or group["leads"].sum() == 0:
            continue
        fitter = KaplanMeierFitter()
        fitter.fit(
            group["days"].to_numpy().astype(float),
            event_observed=group["converted"].to_numpy(),
            weights=group["leads"].to_numpy().astype(float),
        )
        days = np.arange(0, max_days + 1)
        survival = fitter.survival_function_at_times(days).to_numpy()
        interval = fitter.confidence_interval_survival_function_
        timeline = interval.index.to_numpy()
        position = np.clip(np.searchsorted(timeline, days, side="right") - 1, 0, len(timeline) - 1)
        low = 1 - interval.iloc[:, 1].to_numpy()[position]
        high = 1 - interval.iloc[:, 0].to_numpy()[position]
        frames.append(
            pl.DataFrame({"group": str(name), "day": days, "converted_share": 1 - survival, "low": low, "high": high})
        )
    if not frames:
        return pl.DataFrame(
            schema={
                "group": pl.String,
                "day": pl.Int64,
                "converted_share": pl.Float64,
                "low": pl.Float64,
                "high": pl.Float64,
            }
        )
    return pl.concat(frames)


@dataclass(frozen=True)
class Velocity:
    """Sales velocity ``opportunities × average_won_value × win_rate ÷ average_days_to_win`` (money per day)."""

    opportunities: int
    won: int
    closed: int
    win_rate: float | None  # won ÷ closed
    average_won_value: float | None
    average_days_to_win: float | None
    per_day: float | None


def sales_velocity(con, created_from: date, created_to: date, segments: tuple[str, ...] = ()) -> Velocity:
    row = run(
        con,
        SALES_VELOCITY,
        {
            "created_from": created_from,
            "created_to": created_to,
            "all_segments": not segments,
            "segments": list(segments),
        },
    ).row(0, named=True)
    win_rate = row["won"] / row["closed"] if row["closed"] else None
    per_day = None
    if win_rate is not None and row["average_won_value"] is not None and row["average_days_to_win"]:
        per_day = row["opportunities"] * row["average_won_value"] * win_rate / row["average_days_to_win"]
    return Velocity(
        row["opportunities"],
        row["won"],
        row["closed"],
        win_rate,
        row["average_won_value"],
        row["average_days_to_win"],
        per_day,
    )
