"""Multi-touch attribution: which channels, campaigns and touch types earn the revenue.

A **conversion** is a closed-won opportunity, worth its ``amount``, dated by its
``close_date``. Its **journey** is the ordered list of its eligible touches: the
touchpoints of the opportunity's contact (with ``account_level``: of every contact
of its account) on or before the close date and at most ``lookback_days`` days
before it (``0 <= close_date - date(ts) <= lookback_days``). Touches are ordered by
``(ts, touchpoint_id)``, so ties in timestamps resolve by touchpoint id,
deterministically. A conversion without an eligible touch is credited to the row
``(unattributed)`` under every model, so each model's credit sums exactly to the
number and the total amount of the conversions.

Rule-based models give touch *i* (1-based) of a journey of *n* touches a weight
:math:`w_i` with :math:`\\sum_i w_i = 1`; a key's credit is :math:`\\sum w_i` over its
touches (conversions) and :math:`\\sum w_i \\cdot amount` (revenue):

- ``first_touch``: :math:`w_1 = 1`. ``last_touch``: :math:`w_n = 1`.
- ``last_non_direct``: 1 to the last touch whose channel is not ``direct``; to the last
  touch when all are direct.
- ``linear``: :math:`w_i = 1/n`.
- ``time_decay``: :math:`w_i \\propto 0.5^{d_i / h}` normalized per journey, with
  :math:`d_i` = whole days from the touch's date to the close date, :math:`h` the
  half-life (7 days by default). Touches on the same day weigh the same.
- Milestone models share a weight *S* equally over the journey's distinct milestone
  touches (*m* of them) and :math:`1 - S` equally over the other :math:`n - m`
  touches; when every touch is a milestone (:math:`n = m`), each gets :math:`1/m`.

  - ``position_based`` (U-shaped): milestones first and last touch, *S* = 0.8, so
    40/40 with 20% over the middle; one touch 100%, two touches 50/50.
  - ``w_shaped``: milestones first, lead-creation and opportunity-creation touch,
    *S* = 0.9, so 30/30/30 with 10% over the rest. The lead-creation touch is the last
    touch at or before the contact's ``created_at``; the opportunity-creation touch the
    last at or before the opportunity's ``created_at``; a milestone with no touch at or
    before it is dropped, and milestones falling on the same touch count once (two
    distinct milestones get 45% each).
  - ``full_path``: milestones first, lead-creation, opportunity-creation and last
    (closed-won) touch, *S* = 0.9: 22.5% each with 10% over the rest.

- ``markov`` (orders 1-3): :func:`analytics.markov.markov_credits`.
- ``shapley``: :func:`analytics.shapley.shapley_credits`.

Markov and Shapley also need the journeys that did not convert: for every contact
(account) without a conversion in the window, its touches with
``close_from - lookback_days <= date(ts) <= close_to``, as one journey ending in
``(null)``.

The row-level work (eligibility, ordering, weights, paths, transition counts) is
set-based DuckDB SQL on temporary tables of the caller's connection (allowed on a
read-only connection); only path, channel-set and transition aggregates reach numpy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl

from analytics.errors import RevLensError
from analytics.markov import CONVERSION, NULL, START, markov_credits
from analytics.shapley import shapley_credits
from analytics.warehouse import frame

MODELS: tuple[str, ...] = (
    "first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
    "position_based", "w_shaped", "full_path", "markov", "shapley",
)
RULE_MODELS = MODELS[:8]
PATH_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "markov", "shapley")
DIMENSIONS = ("channel", "campaign", "touchpoint_type")
UNATTRIBUTED = "(unattributed)"
MAX_ORDER = 3

# dimension -> touchpoints column; NULL keys show as "(none)"
_DIMENSION_COLUMN = {"channel": "t.channel", "campaign": "t.campaign_id", "touchpoint_type": "t.touchpoint_type"}
_TEMP_TABLES = ("attribution_conversions", "attribution_touches", "attribution_paths")


# --------------------------------------------------------------------------- validation

def _check(models: Sequence[str], by: str, lookback_days: int, half_life_days: float, order: int,
           allowed: Sequence[str] = MODELS) -> tuple[str, ...]:
    models = tuple(dict.fromkeys(models))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise RevLensError(f"Unknown attribution model {', '.join(unknown) or '(none)'}; "
                           f"choose from {', '.join(MODELS)} or all.")
    unsupported = [m for m in models if m not in allowed]
    if unsupported:
        raise RevLensError(
            f"The model {', '.join(unsupported)} needs touch dates and lead/opportunity creation times, "
            f"which path input lacks; with --paths use {', '.join(allowed)}."
        )
    if by not in DIMENSIONS:
        raise RevLensError(f"Unknown dimension {by!r}; attribute by one of {', '.join(DIMENSIONS)}.")
    if int(lookback_days) != lookback_days or lookback_days < 0:
        raise RevLensError(f"The lookback of {lookback_days} days is invalid; use a whole number of days >= 0.")
    if not half_life_days > 0:
        raise RevLensError(f"The half-life of {half_life_days} days is invalid; use a number of days > 0.")
    if order not in range(1, MAX_ORDER + 1):
        raise RevLensError(f"Markov order {order} is not supported; use 1, 2 or 3.")
    return models


# --------------------------------------------------------------------------- journeys (SQL)

def _prepare_warehouse(con, by: str, lookback_days: int, account_level: bool,
                       close_from: date | None, close_to: date | None, with_paths: bool) -> None:
    """Create the temporary journey tables from the warehouse on ``con``."""
    key = f"coalesce({_DIMENSION_COLUMN[by]}, '(none)')"
    params = {"close_from": close_from, "close_to": close_to}
    con.execute(
        """
        create or replace temp table attribution_conversions as
        select o.opportunity_id as journey_id,
               o.contact_id,
               coalesce(o.account_id, c.account_id) as account_id,
               1.0::double as conversions,
               coalesce(o.amount, 0)::double as revenue,
               o.close_date,
               date_trunc('month', o.close_date)::date as month,
               o.created_at as opportunity_created_at,
               c.created_at as lead_created_at
        from opportunities as o
        left join contacts as c on c.contact_id = o.contact_id
        where o.is_closed_won
          and o.close_date is not null
          and (cast($close_from as date) is null or o.close_date >= cast($close_from as date))
          and (cast($close_to as date) is null or o.close_date <= cast($close_to as date))
        """,
        params,
    )
    journey_touch = (
        """
        from attribution_conversions as v
        join contacts as member on member.account_id = v.account_id
        join touchpoints as t on t.contact_id = member.contact_id
        """
        if account_level else
        """
        from attribution_conversions as v
        join touchpoints as t on t.contact_id = v.contact_id
        """
    )
    con.execute(
        f"""
        create or replace temp table attribution_touches as
        with eligible as (
            select v.journey_id, v.conversions, v.revenue, v.month,
                   t.touchpoint_id, t.ts, t.channel, {key} as key,
                   date_diff('day', t.ts::date, v.close_date) as days_before,
                   t.ts <= v.lead_created_at as before_lead,
                   t.ts <= v.opportunity_created_at as before_opportunity
            {journey_touch}
            where t.ts < v.close_date + interval 1 day
              and t.ts >= v.close_date - to_days(cast($lookback as integer))
        )
        select journey_id, conversions, revenue, month, key, channel, days_before,
               before_lead, before_opportunity,
               row_number() over (partition by journey_id order by ts, touchpoint_id) as k,
               count(*) over (partition by journey_id) as n
        from eligible
        """,
        {"lookback": int(lookback_days)},
    )
    if not with_paths:
        return
    journey_key, null_from = (
        ("member.account_id", "touchpoints as t join contacts as member on member.contact_id = t.contact_id "
                              "anti join attribution_conversions as v on v.account_id = member.account_id")
        if account_level else
        ("t.contact_id", "touchpoints as t anti join attribution_conversions as v on v.contact_id = t.contact_id")
    )
    con.execute(
        f"""
        create or replace temp table attribution_paths as
        with converting as (
            select list(key order by k) as path, any_value(conversions) as conversions,
                   any_value(revenue) as revenue
            from attribution_touches
            group by journey_id
        ),
        null_touches as (
            select {journey_key} as journey_key, {key} as key, t.ts, t.touchpoint_id
            from {null_from}
            where (cast($close_from as date) is null
                   or t.ts >= cast($close_from as date) - to_days(cast($lookback as integer)))
              and (cast($close_to as date) is null or t.ts < cast($close_to as date) + interval 1 day)
        ),
        non_converting as (
            select list(key order by ts, touchpoint_id) as path
            from null_touches
            group by journey_key
        ),
        combined as (
            select path, conversions, revenue, 0.0::double as nulls from converting
            union all
            select path, 0.0::double, 0.0::double, 1.0::double from non_converting
        )
        select row_number() over (order by path) as path_id, path,
               sum(conversions)::double as conversions, sum(revenue)::double as revenue, sum(nulls)::double as nulls
        from combined
        group by path
        """,
        {**params, "lookback": int(lookback_days)},
    )


def _prepare_paths(con, paths: pl.DataFrame) -> None:
    """Create the temporary journey tables from path input: one journey per path row."""
    rows = paths.select("path", "conversions", "revenue", "nulls").with_row_index("journey_id", offset=1)
    con.register("attribution_path_input", rows.to_arrow())
    try:
        con.execute(
            """
            create or replace temp table attribution_conversions as
            select journey_id, conversions, revenue, null::date as month
            from attribution_path_input where conversions > 0
            """
        )
        con.execute(
            """
            create or replace temp table attribution_touches as
            with steps as (
                select journey_id, conversions, revenue, path, unnest(range(1, len(path) + 1)) as k
                from attribution_path_input
                where conversions > 0
            )
            select journey_id, conversions, revenue, null::date as month,
                   path[k] as key, path[k] as channel, null::integer as days_before,
                   null::boolean as before_lead, null::boolean as before_opportunity,
                   k, len(path) as n
            from steps
            """
        )
        con.execute(
            """
            create or replace temp table attribution_paths as
            select row_number() over (order by path) as path_id, path,
                   sum(conversions)::double as conversions, sum(revenue)::double as revenue, sum(nulls)::double as nulls
            from attribution_path_input
            group by path
            """
        )
    finally:
        con.unregister("attribution_path_input")


@contextlib.contextmanager
def _journeys(con, prepare, *args) -> Iterator[None]:
    prepare(con, *args)
    try:
        yield
    finally:
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists {table}")


# --------------------------------------------------------------------------- rule-based (SQL)

_RULE_WEIGHTS = """
    with journey_facts as (
        select journey_id,
               max(k) filter (where channel <> 'direct') as last_non_direct_k,
               max(k) filter (where before_lead) as lead_k,
               max(k) filter (where before_opportunity) as opportunity_k,
               sum(pow(0.5, days_before / $half_life)) as decay_total
        from attribution_touches
        group by journey_id
    ),
    milestones as (
        select t.*, f.last_non_direct_k, f.lead_k, f.opportunity_k, f.decay_total,
               case when t.n = 1 then 1 else 2 end as u_milestones,
               len(list_distinct([1, f.lead_k, f.opportunity_k])) as w_milestones,
               len(list_distinct([1, f.lead_k, f.opportunity_k, t.n])) as full_milestones
        from attribution_touches as t
        join journey_facts as f using (journey_id)
    ),
    weights as (
        select journey_id, key, month, conversions, revenue,
               (k = 1)::double as first_touch,
               (k = n)::double as last_touch,
               (k = coalesce(last_non_direct_k, n))::double as last_non_direct,
               1.0 / n as linear,
               pow(0.5, days_before / $half_life) / decay_total as time_decay,
               case when n = u_milestones then 1.0 / n
                    when k = 1 or k = n then 0.8 / u_milestones
                    else 0.2 / (n - u_milestones) end as position_based,
               case when n = w_milestones then 1.0 / n
                    when k in (1, lead_k, opportunity_k) then 0.9 / w_milestones
                    else 0.1 / (n - w_milestones) end as w_shaped,
               case when n = full_milestones then 1.0 / n
                    when k in (1, lead_k, opportunity_k, n) then 0.9 / full_milestones
                    else 0.1 / (n - full_milestones) end as full_path
        from milestones
    ),
    credits as (
        unpivot (select journey_id, key, month, conversions, revenue, {models} from weights)
        on {models}
        into name model value weight
    )
"""


def _rule_credits(con, models: Sequence[str], half_life_days: float, by_month: bool) -> pl.DataFrame:
    """Credit per key (and month) and model for the rule-based models, from the temp tables."""
    if not models:
        return pl.DataFrame()
    month = "month, " if by_month else ""
    return frame(
        con,
        _RULE_WEIGHTS.format(models=", ".join(models))
        + f"""
        select key, {month}model,
               sum(weight * conversions) as attributed_conversions,
               sum(weight * revenue) as attributed_revenue
        from credits
        group by all
        """,
        {"half_life": float(half_life_days)},
    )


def _journey_rule_credits(con, models: Sequence[str], half_life_days: float) -> pl.DataFrame:
    """Per-journey weights of each key under each rule-based model (for the bootstrap)."""
    return frame(
        con,
        _RULE_WEIGHTS.format(models=", ".join(models))
        + "select journey_id, key, model, sum(weight) as weight from credits group by all",
        {"half_life": float(half_life_days)},
    )


# --------------------------------------------------------------------------- Markov and Shapley inputs (SQL)

_STEPS = """
    with collapsed as (  -- a repeated channel is a self-loop, which changes no absorption probability
        select path_id, conversions, revenue, nulls,
               list_filter(path, lambda x, i: i = 1 or x <> path[i - 1]) as path
        from attribution_paths
    ),
    states as (
        select path_id, conversions, revenue, nulls,
               list_prepend([$start], list_transform(path, lambda x, i: path[greatest(1, i - $order + 1):i]))
                   as states
        from collapsed
    ),
    moves as (
        select path_id, conversions, revenue, nulls, states, unnest(range(1, len(states) + 1)) as i
        from states
    ),
    steps as (  -- the last state moves to (conversion) and (null) with the journeys' weights
        select path_id, conversions, revenue, nulls, states[i] as from_state,
               case when i < len(states) then states[i + 1] end as to_state
        from moves
    )
"""


def _transition_counts(con, order: int) -> pl.DataFrame:
    """Weighted move counts ``from_state, to_state, count, value`` over all journeys."""
    return frame(
        con,
        _STEPS + f"""
        select from_state, to_state, sum(conversions + nulls) as count, 0.0 as value
        from steps where to_state is not null group by all
        union all
        select from_state, [$conversion], sum(conversions), sum(revenue)
        from steps where to_state is null and conversions > 0 group by all
        union all
        select from_state, [$null], sum(nulls), 0.0
        from steps where to_state is null and nulls > 0 group by all
        """,
        {"order": order, "start": START, "conversion": CONVERSION, "null": NULL},
    )


def _channel_sets(con) -> pl.DataFrame:
    return frame(
        con,
        """
        select list_sort(list_distinct(path)) as channels, sum(conversions) as conversions,
               sum(revenue) as revenue, sum(conversions + nulls) as journeys
        from attribution_paths
        group by all
        """,
    )


def _attributed_totals(con) -> tuple[float, float]:
    rows = con.execute("select coalesce(sum(conversions), 0), coalesce(sum(revenue), 0) "
                       "from attribution_paths where conversions > 0").fetchall()
    return float(rows[0][0]), float(rows[0][1])


def _chain_credits(con, models: Sequence[str], order: int) -> pl.DataFrame:
    """Markov and Shapley credits per key, as ``key, model, attributed_*``."""
    total_conversions, total_revenue = _attributed_totals(con)
    parts = []
    if "markov" in models:
        parts.append(markov_credits(_transition_counts(con, order), total_conversions, total_revenue)
                     .select("key", pl.lit("markov").alias("model"), "attributed_conversions", "attributed_revenue"))
    if "shapley" in models:
        parts.append(shapley_credits(_channel_sets(con), total_conversions, total_revenue)
                     .select("key", pl.lit("shapley").alias("model"), "attributed_conversions", "attributed_revenue"))
    return pl.concat(parts) if parts else pl.DataFrame()


def _split_by_month(credits: pl.DataFrame, linear_by_month: pl.DataFrame) -> pl.DataFrame:
    """Spread each key's whole-window credit over months like its linear credit.

    Markov and Shapley credit is defined for the window as a whole; a key's credit in
    month m is its credit times its share of linear credit in m, so summing the months
    gives back the window's figures exactly.
    """
    shares = linear_by_month.with_columns(
        (pl.col("attributed_conversions") / pl.col("attributed_conversions").sum().over("key")).alias("conv_share"),
        (pl.col("attributed_revenue") / pl.col("attributed_revenue").sum().over("key")).fill_nan(None)
        .alias("revenue_share"),
    ).with_columns(pl.col("revenue_share").fill_null(pl.col("conv_share")))
    return credits.join(shares.select("key", "month", "conv_share", "revenue_share"), on="key").select(
        "key", "month", "model",
        (pl.col("attributed_conversions") * pl.col("conv_share")).alias("attributed_conversions"),
        (pl.col("attributed_revenue") * pl.col("revenue_share")).alias("attributed_revenue"),
    )


def _unattributed(con, models: Sequence[str], by_month: bool) -> pl.DataFrame:
    month = "month, " if by_month else ""
    totals = frame(
        con,
        f"""
        select {month}coalesce(sum(conversions), 0)::double as attributed_conversions,
               coalesce(sum(revenue), 0)::double as attributed_revenue
        from attribution_conversions as v
        where not exists (select 1 from attribution_touches as t where t.journey_id = v.journey_id)
        {"group by month" if by_month else ""}
        """,
    )
    return (totals.join(pl.DataFrame({"model": list(models)}), how="cross")
            .with_columns(pl.lit(UNATTRIBUTED).alias("key")))


def _credits(con, models: Sequence[str], half_life_days: float, order: int, by_month: bool) -> pl.DataFrame:
    rule = [m for m in models if m in RULE_MODELS]
    chain = [m for m in models if m not in RULE_MODELS]
    parts = []
    if rule:
        parts.append(_rule_credits(con, rule, half_life_days, by_month))
    if chain:
        chain_credits = _chain_credits(con, chain, order)
        if by_month and chain_credits.height:
            linear = _rule_credits(con, ["linear"], half_life_days, True).drop("model")
            chain_credits = _split_by_month(chain_credits, linear)
        parts.append(chain_credits)
    parts.append(_unattributed(con, models, by_month))
    columns = ["key", *(["month"] if by_month else []), "model", "attributed_conversions", "attributed_revenue"]
    result = pl.concat([p.select(columns) for p in parts if p.height], how="vertical_relaxed")
    model_rank = {m: i for i, m in enumerate(MODELS)}
    return result.sort(
        pl.col("model").replace_strict(model_rank, return_dtype=pl.Int32),
        pl.col("key") == UNATTRIBUTED, *(["month"] if by_month else []), "key",
    )


# --------------------------------------------------------------------------- public API

def attribute(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[str],
    by: str = "channel",
    lookback_days: int = 90,
    half_life_days: float = 7.0,
    order: int = 1,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
    by_month: bool = False,
) -> pl.DataFrame:
    """Attributed conversions and revenue per ``by`` value under each model.

    Parameters
    ----------
    con : warehouse connection (read-only is fine; temporary tables are made and dropped).
    models : names from :data:`MODELS`.
    by : ``channel``, ``campaign`` (the column ``campaign`` holds ``campaign_id`` values)
        or ``touchpoint_type``.
    lookback_days : eligible touches are at most this many days before the close date.
    half_life_days : ``time_decay``'s half-life *h*.
    order : ``markov``'s order (1-3).
    account_level : take the touches of every contact of the opportunity's account.
    close_from, close_to : conversions with ``close_from <= close_date <= close_to`` (None: open).
    by_month : also split by ``month``, the first day of the close month (a date);
        Markov and Shapley split their window credit like linear credit (see
        :func:`_split_by_month`), so the months add up to the ``by_month=False`` result.

    Returns
    -------
    polars.DataFrame
        ``<by>, [month,] model, attributed_conversions, attributed_revenue``: one row per
        key and model, including ``(unattributed)``. Per model, the columns sum to the
        number and the total amount of closed-won opportunities closing in the window.
    """
    models = _check(models, by, lookback_days, half_life_days, order)
    with_paths = any(m not in RULE_MODELS for m in models)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, with_paths):
        result = _credits(con, models, half_life_days, order, by_month)
    return result.rename({"key": by})


def attribute_paths(paths: pl.DataFrame, models: Sequence[str], order: int = 1) -> pl.DataFrame:
    """Attribution of ChannelAttribution-style path input (see :func:`analytics.paths.read_paths`).

    Every path row is a journey weighted by its conversions (value: its conversion
    value); non-converting counts enter Markov and Shapley. Models needing touch dates
    or lead/opportunity times (``time_decay``, ``w_shaped``, ``full_path``) are refused.

    Returns
    -------
    polars.DataFrame
        ``channel, model, attributed_conversions, attributed_revenue`` (with an
        ``(unattributed)`` row of zeros: paths always have a channel).
    """
    models = _check(models, "channel", 0, 1.0, order, allowed=PATH_MODELS)
    if any(m in ("markov", "shapley") for m in models) and not paths["nulls_known"].all():
        raise RevLensError("Markov and Shapley need the number of non-converting journeys per path; "
                           "name that column with --null-col, or choose heuristic models only.")
    con = duckdb.connect()
    try:
        with _journeys(con, _prepare_paths, paths):
            result = _credits(con, models, 1.0, order, False)
    finally:
        con.close()
    return result.rename({"key": "channel"})


def bootstrap_intervals(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[str],
    by: str = "channel",
    n_boot: int = 200,
    seed: int = 0,
    lookback_days: int = 90,
    half_life_days: float = 7.0,
    order: int = 1,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
) -> pl.DataFrame:
    """95% percentile bootstrap intervals of each model's credit.

    Each replicate draws the window's conversions (closed-won opportunities, with or
    without eligible touches) with replacement, as many as there are, and recomputes
    every model on them; non-converting journeys stay fixed. The interval is the 2.5th
    and 97.5th percentile of the replicates' credit per key (keys never credited in a
    replicate count as 0 there). Deterministic for a given ``seed``.

    Returns
    -------
    polars.DataFrame
        ``<by>, model, conversions_low, conversions_high, revenue_low, revenue_high``.
    """
    models = _check(models, by, lookback_days, half_life_days, order)
    if n_boot < 2:
        raise RevLensError(f"n_boot={n_boot} is too few replicates for an interval; use at least 2 (200 is usual).")
    rule = [m for m in models if m in RULE_MODELS]
    chain = [m for m in models if m not in RULE_MODELS]
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, bool(chain)):
        conversions = frame(con, "select journey_id, revenue from attribution_conversions order by journey_id")
        rule_weights = _journey_rule_credits(con, rule, half_life_days) if rule else None
        chain_input = _BootstrapChain.load(con, order) if chain else None
    journeys = conversions["journey_id"].to_list()
    index = {j: i for i, j in enumerate(journeys)}
    revenue = conversions["revenue"].to_numpy()
    rng = np.random.default_rng(seed)
    samples: list[pl.DataFrame] = []
    attributed = np.zeros(len(journeys), dtype=bool)
    if rule_weights is not None:
        rule_weights = rule_weights.with_columns(
            pl.col("journey_id").replace_strict(index, return_dtype=pl.Int64).alias("row"))
        attributed[rule_weights["row"].unique().to_numpy()] = True
    if chain_input is not None:
        attributed[[index[j] for j in chain_input.journey_ids]] = True
    for replicate in range(n_boot):
        multiplicity = np.bincount(rng.integers(0, len(journeys), len(journeys)), minlength=len(journeys)).astype(float) \
            if journeys else np.zeros(0)
        parts = []
        if rule_weights is not None:
            m = multiplicity[rule_weights["row"].to_numpy()]
            parts.append(
                rule_weights.with_columns(
                    (pl.col("weight") * m).alias("attributed_conversions"),
                    (pl.col("weight") * m * revenue[rule_weights["row"].to_numpy()]).alias("attributed_revenue"),
                ).group_by("key", "model").agg(pl.col("attributed_conversions", "attributed_revenue").sum())
            )
        if chain_input is not None:
            parts.append(chain_input.credits(chain, multiplicity, revenue, index))
        unattributed = ~attributed
        parts.append(pl.DataFrame({"key": UNATTRIBUTED, "model": list(models),
                                   "attributed_conversions": float(multiplicity[unattributed].sum()),
                                   "attributed_revenue": float((multiplicity * revenue)[unattributed].sum())}))
        samples.append(pl.concat([p.select("key", "model", pl.col("attributed_conversions", "attributed_revenue")
                                           .cast(pl.Float64)) for p in parts])
                       .with_columns(pl.lit(replicate).alias("replicate")))
    stacked = pl.concat(samples)
    # a key missing from a replicate earned 0 there
    grid = (stacked.select("key", "model").unique()
            .join(pl.DataFrame({"replicate": list(range(n_boot))}), how="cross"))
    full = grid.join(stacked, on=["key", "model", "replicate"], how="left").fill_null(0.0)
    return (
        full.group_by("key", "model")
        .agg(
            pl.col("attributed_conversions").quantile(0.025, "linear").alias("conversions_low"),
            pl.col("attributed_conversions").quantile(0.975, "linear").alias("conversions_high"),
            pl.col("attributed_revenue").quantile(0.025, "linear").alias("revenue_low"),
            pl.col("attributed_revenue").quantile(0.975, "linear").alias("revenue_high"),
        )
        .sort("model", "key")
        .rename({"key": by})
    )


class _BootstrapChain:
    """Markov and Shapley inputs split into a fixed non-converting part and per-path parts.

    A replicate reweights the converting paths by how often their journeys were drawn.
    """

    def __init__(self, journey_ids, journey_path, null_moves, path_moves, null_sets, path_sets, order):
        self.journey_ids = journey_ids
        self.journey_path = journey_path
        self.null_moves = null_moves
        self.path_moves = path_moves
        self.null_sets = null_sets
        self.path_sets = path_sets
        self.order = order

    @classmethod
    def load(cls, con, order: int) -> "_BootstrapChain":
        journey_path = frame(
            con,
            """
            with converting as (
                select journey_id, list(key order by k) as path from attribution_touches group by journey_id
            )
            select c.journey_id, p.path_id from converting as c join attribution_paths as p on p.path = c.path
            """,
        )
        params = {"order": order, "start": START, "null": NULL}
        null_moves = frame(
            con,
            _STEPS + """
            select from_state, coalesce(to_state, [$null]) as to_state, sum(nulls) as count, 0.0 as value
            from steps where nulls > 0 group by all
            """,
            params,
        )
        # per converting path: moves of one traversal (to_state null = its last state, the conversion)
        path_moves = frame(
            con,
            _STEPS + """
            select path_id, from_state, to_state, count(*) as traversals
            from steps where conversions > 0 group by all
            """,
            {"order": order, "start": START},
        )
        null_sets = frame(
            con,
            """
            select list_sort(list_distinct(path)) as channels, 0.0 as conversions, 0.0 as revenue,
                   sum(nulls) as journeys
            from attribution_paths where nulls > 0 group by all
            """,
        )
        path_sets = frame(
            con,
            "select path_id, list_sort(list_distinct(path)) as channels from attribution_paths where conversions > 0",
        )
        return cls(journey_path["journey_id"].to_list(), journey_path, null_moves, path_moves, null_sets, path_sets,
                   order)

    def credits(self, models, multiplicity: np.ndarray, revenue: np.ndarray, index: dict) -> pl.DataFrame:
        rows = np.array([index[j] for j in self.journey_ids], dtype=np.int64)
        drawn = (
            self.journey_path.with_columns(
                pl.Series("conversions", multiplicity[rows]),
                pl.Series("revenue", multiplicity[rows] * revenue[rows]),
            )
            .group_by("path_id").agg(pl.col("conversions", "revenue").sum())
            .filter(pl.col("conversions") > 0)
        )
        total_conversions = float(drawn["conversions"].sum())
        total_revenue = float(drawn["revenue"].sum())
        parts = []
        if "markov" in models:
            moves = self.path_moves.join(drawn, on="path_id").select(
                "from_state",
                pl.coalesce("to_state", pl.lit([CONVERSION])).alias("to_state"),
                (pl.col("traversals") * pl.col("conversions")).alias("count"),
                pl.when(pl.col("to_state").is_null()).then(pl.col("revenue")).otherwise(0.0).alias("value"),
            )
            counts = (pl.concat([self.null_moves.select(moves.columns), moves], how="vertical_relaxed")
                      .group_by("from_state", "to_state").agg(pl.col("count", "value").sum()))
            parts.append(markov_credits(counts, total_conversions, total_revenue)
                         .select("key", pl.lit("markov").alias("model"), "attributed_conversions",
                                 "attributed_revenue"))
        if "shapley" in models:
            sets = self.path_sets.join(drawn, on="path_id").select(
                "channels", "conversions", "revenue", pl.col("conversions").alias("journeys"))
            all_sets = (pl.concat([self.null_sets.select(sets.columns), sets], how="vertical_relaxed")
                        .group_by("channels").agg(pl.col("conversions", "revenue", "journeys").sum()))
            parts.append(shapley_credits(all_sets, total_conversions, total_revenue)
                         .select("key", pl.lit("shapley").alias("model"), "attributed_conversions",
                                 "attributed_revenue"))
        return pl.concat(parts)


# --------------------------------------------------------------------------- journeys for the page

def top_paths(con, by: str = "channel", lookback_days: int = 90, account_level: bool = False,
              close_from: date | None = None, close_to: date | None = None, limit: int = 20) -> pl.DataFrame:
    """The most frequent converting paths: ``path`` (keys joined by " > "), ``conversions``,
    ``revenue``, ``share`` of the attributed conversions, ``touches``."""
    _check(["linear"], by, lookback_days, 1.0, 1)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, False):
        return frame(
            con,
            """
            with journeys as (
                select journey_id, list(key order by k) as path, any_value(revenue) as revenue
                from attribution_touches group by journey_id
            )
            select array_to_string(path, ' > ') as path, len(path) as touches,
                   count(*) as conversions, sum(revenue) as revenue,
                   count(*) / sum(count(*)) over () as share
            from journeys
            group by path
            order by conversions desc, revenue desc, path
            limit $limit
            """,
            {"limit": int(limit)},
        )


def journeys_with(con, value: str, by: str = "channel", lookback_days: int = 90, account_level: bool = False,
                  close_from: date | None = None, close_to: date | None = None, limit: int = 200) -> pl.DataFrame:
    """Converting journeys with at least one touch on ``value`` of dimension ``by``.

    Returns ``opportunity_id, contact_id, close_date, revenue, touches, touches_on_value, path``,
    most recent close first.
    """
    _check(["linear"], by, lookback_days, 1.0, 1)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, False):
        return frame(
            con,
            """
            with journeys as (
                select journey_id, list(key order by k) as path, any_value(revenue) as revenue,
                       count(*) filter (where key = $value) as touches_on_value
                from attribution_touches group by journey_id
            )
            select v.journey_id as opportunity_id, v.contact_id, v.close_date, j.revenue,
                   len(j.path) as touches, j.touches_on_value, array_to_string(j.path, ' > ') as path
            from journeys as j join attribution_conversions as v using (journey_id)
            where j.touches_on_value > 0
            order by v.close_date desc, opportunity_id
            limit $limit
            """,
            {"value": value, "limit": int(limit)},
        )


def contact_timeline(con, contact_id: str) -> pl.DataFrame:
    """A contact's unified timeline (the spec's ``trackTouchpoint`` view).

    Touchpoints, email events, content events and the contact's opportunities (created
    and closed), as ``ts, source, event, channel, campaign_id, detail``, oldest first.
    """
    return frame(
        con,
        """
        with events as (
            select ts, 'touchpoint' as source, touchpoint_type as event, channel, campaign_id,
                   'engagement ' || coalesce(engagement_score::varchar, '-') as detail
            from touchpoints where contact_id = $contact
            union all
            select e.ts, 'email', e.event_type, 'email', e.campaign_id, null
            from email_events as e where e.contact_id = $contact
            union all
            select ts, 'content', kind, null, null, null from content_events where contact_id = $contact
            union all
            select created_at, 'opportunity', 'created', null, null, opportunity_id || ' ' || coalesce(name, '')
            from opportunities where contact_id = $contact and created_at is not null
            union all
            select close_date::timestamp, 'opportunity', coalesce(stage, 'closed'), null, null,
                   opportunity_id || ' amount ' || coalesce(amount::varchar, '-')
            from opportunities where contact_id = $contact and is_closed
        )
        select * from events order by ts, source, event
        """,
        {"contact": contact_id},
    )
