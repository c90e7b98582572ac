"""Multi-touch attribution: which channels, campaigns and touch types earn the revenue.

A **conversion** is a won deal closing in the window
(:func:`~analytics.attribution.definitions.won_in_window`), worth its ``amount``, dated by its
``close_date``. Its **journey** is the ordered list of its eligible touches
(:func:`~analytics.attribution.definitions.eligible`): the touchpoints of the opportunity's
contact (with ``account_level``: of every contact of its account) on or before the close
date and at most ``lookback_days`` days before it (``0 <= close_date - date(ts) <=
lookback_days``). Touches are ordered by ``(ts, touchpoint_id)``, so ties in timestamps
resolve by touchpoint id, deterministically. A conversion without an eligible touch is
credited to the row ``(unattributed)`` under every model, so each model's credit sums exactly
to the number and the total amount of the conversions.

The models are in :mod:`analytics.attribution.models` (the registry); the window in
:mod:`analytics.attribution.window`. The parts:

- :mod:`.journeys`: the journey tables built at load, and the journeys of a window;
- :mod:`.rules`: the rule-based models' weights and credit (SQL);
- :mod:`.chains`: Markov and Shapley inputs (SQL), solved by :mod:`.markov` and :mod:`.shapley`;
- :mod:`.bootstrap`: intervals; :mod:`.explorers`: paths and journeys for the page.

Markov and Shapley also need the journeys that did not convert: for every contact
(account) without a conversion in the window, its touches with
``close_from - lookback_days <= date(ts) <= close_to``, as one journey ending in ``(null)``.

The row-level work (eligibility, ordering, weights, paths, transition counts) is set-based
SQL; only key-level aggregates (and, for the bootstrap, per-journey weights) reach Python.
A rule-model-only call imports neither polars nor numpy when it asks for rows
(:func:`attribute_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from analytics.attribution import chains, rules
from analytics.attribution.composed import named
from analytics.attribution.explorers import deals_touched, export_paths, journeys_with, top_paths
from analytics.attribution.journeys import MEMBER_SEP, Journeys, open_journeys, open_member_journeys
from analytics.attribution.models import (
    AGREEMENT_MODELS,
    CHAIN_MODELS,
    DEFAULT_MODELS,
    MODEL_RANK,
    MODELS,
    PATH_MODELS,
    REGISTRY,
    RULE_MODELS,
    UNATTRIBUTED,
    check_models,
    split,
)
from analytics.attribution.window import (
    DIMENSIONS,
    MAX_ORDER,
    JourneyWindow,
    check_half_life,
    check_order,
    window_of,
)
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import rows, run

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "AGREEMENT_MODELS",
    "CHAIN_MODELS",
    "DEFAULT_MODELS",
    "DIMENSIONS",
    "MAX_ORDER",
    "MODELS",
    "PATH_MODELS",
    "REGISTRY",
    "RULE_MODELS",
    "UNATTRIBUTED",
    "JourneyWindow",
    "attribute",
    "attribute_paths",
    "attribute_rows",
    "attribute_with_intervals",
    "bootstrap_intervals",
    "contact_credits",
    "deal_credits",
    "deal_key_credits",
    "deals_touched",
    "export_paths",
    "journeys_with",
    "top_paths",
]

CREDIT_COLUMNS = ("attributed_conversions", "attributed_revenue")


def _check(models: Sequence[str], half_life_days: float, order: int, allowed: Sequence[str] = MODELS) -> tuple:
    models = check_models(models, allowed)
    check_half_life(half_life_days)
    check_order(order)
    return models


# --------------------------------------------------------------------------- credit of the journeys


def _chain_credits(journeys: Journeys, models: Sequence[str], order: int) -> list[tuple]:
    """Markov and Shapley credits per key, as ``(key, model, conversions, revenue)`` rows."""
    import polars as pl

    from analytics.attribution.markov import SEP as _SEP
    from analytics.attribution.markov import markov_credits
    from analytics.attribution.shapley import shapley_credits

    total_conversions, total_revenue = chains.attributed_totals(journeys)
    parts = []
    if "markov" in models:
        counts = run(
            journeys.con, chains.transitions_query(journeys, order), {**journeys.params, **chains.STATE_PARAMS}
        )
        parts.append(
            markov_credits(counts, total_conversions, total_revenue).select(
                "key", pl.lit("markov").alias("model"), *CREDIT_COLUMNS
            )
        )
    if "shapley" in models:
        sets = run(journeys.con, chains.channel_sets_query(journeys), journeys.params).with_columns(
            pl.col("channels").str.split(_SEP)
        )
        parts.append(
            shapley_credits(sets, total_conversions, total_revenue).select(
                "key", pl.lit("shapley").alias("model"), *CREDIT_COLUMNS
            )
        )
    return [row for part in parts for row in part.rows()]


def _split_by_period(credits: list[tuple], linear_by_period: list[tuple]) -> list[tuple]:
    """Spread each key's whole-window credit over months (weeks) like its linear credit.

    Markov and Shapley credit is defined for the window as a whole; a key's credit in
    month (week) m is its credit times its share of linear credit in m, so summing the
    months (weeks) gives back the window's figures exactly.
    """
    import polars as pl

    # sorted: the shares' float sums then add in the same order every run
    linear = pl.DataFrame(
        [(key, month, c, r) for key, month, _, c, r in linear_by_period],
        schema={"key": pl.Utf8, "month": pl.Date, **dict.fromkeys(CREDIT_COLUMNS, pl.Float64)},
        orient="row",
    ).sort("key", "month")
    frame = pl.DataFrame(
        credits, schema={"key": pl.Utf8, "model": pl.Utf8, **dict.fromkeys(CREDIT_COLUMNS, pl.Float64)}, orient="row"
    )
    shares = linear.with_columns(
        (pl.col("attributed_conversions") / pl.col("attributed_conversions").sum().over("key")).alias("conv_share"),
        (pl.col("attributed_revenue") / pl.col("attributed_revenue").sum().over("key"))
        .fill_nan(None)
        .alias("revenue_share"),
    ).with_columns(pl.col("revenue_share").fill_null(pl.col("conv_share")))
    return (
        frame.join(shares.select("key", "month", "conv_share", "revenue_share"), on="key")
        .select(
            "key",
            "month",
            "model",
            (pl.col("attributed_conversions") * pl.col("conv_share")).alias("attributed_conversions"),
            (pl.col("attributed_revenue") * pl.col("revenue_share")).alias("attributed_revenue"),
        )
        .rows()
    )


_UNATTRIBUTED = "with {journeys},{unattributed} select {month}conversions, revenue from unattributed"


def _unattributed(journeys: Journeys, models: Sequence[str], period: str | None) -> list[tuple]:
    sql = _UNATTRIBUTED.replace("{unattributed}", rules.unattributed_cte(period, attributed="touches")).replace(
        "{month}", f"{period}, " if period else ""
    )
    totals = rows(journeys.con, named("attribution.unattributed", journeys.sql(sql)), journeys.params)
    return [(UNATTRIBUTED, *row[:-2], m, row[-2], row[-1]) for row in totals for m in models]


def _sort_key(period: str | None):
    if period:
        return lambda r: (MODEL_RANK[r[2]], r[0] == UNATTRIBUTED, r[1], r[0])
    return lambda r: (MODEL_RANK[r[1]], r[0] == UNATTRIBUTED, r[0])


def _period(by_month: bool, by_week: bool) -> str | None:
    if by_month and by_week:
        raise RevLensError("Split the credit by month or by week, not both.")
    return "month" if by_month else "week" if by_week else None


def credit_rows(
    journeys: Journeys, models: Sequence[str], half_life_days: float, order: int, by_month: bool | str | None
) -> list[tuple]:
    """``(key, [month or week,] model, attributed_conversions, attributed_revenue)`` per key and
    model, sorted by model (registry order), ``(unattributed)`` last, [month or week,] key.

    ``by_month``: ``True`` or ``"month"`` (the close month), ``"week"`` (the touch's week), or
    ``False``/None (the window as a whole)."""
    period = "month" if by_month is True else (by_month or None)
    rule, chain = split(models)
    result = []
    if rule:
        result += rules.rule_credit_rows(journeys, rule, half_life_days, period)
    if chain:
        chain_credits = _chain_credits(journeys, chain, order)
        if period and chain_credits:
            linear = rules.rule_credit_rows(journeys, ["linear"], half_life_days, period)
            chain_credits = _split_by_period(chain_credits, linear)
        result += chain_credits
        result += _unattributed(journeys, chain, period)
    return sorted(result, key=_sort_key(period))


def _frame(result: list[tuple], by: str, by_month: bool | str | None) -> pl.DataFrame:
    import polars as pl

    period = "month" if by_month is True else (by_month or None)
    schema = {
        by: pl.Utf8,
        **({period: pl.Date} if period else {}),
        "model": pl.Utf8,
        **dict.fromkeys(CREDIT_COLUMNS, pl.Float64),
    }
    return pl.DataFrame(result, schema=schema, orient="row")


# --------------------------------------------------------------------------- public API


def attribute_rows(
    con,
    models: Sequence[str],
    window: JourneyWindow | None = None,
    *,
    half_life_days: float = 7.0,
    order: int = 1,
    by_month: bool = False,
    by_week: bool = False,
    **fields,
) -> list[tuple]:
    """:func:`attribute` as a list of tuples (no polars for rule-based models)."""
    period = _period(by_month, by_week)
    window = window_of(window, fields)
    models = _check(models, half_life_days, order)
    with open_journeys(con, window) as journeys:
        chains.prepare(journeys, split(models)[1], order)
        return credit_rows(journeys, models, half_life_days, order, period)


def attribute(
    con,
    models: Sequence[str],
    window: JourneyWindow | None = None,
    *,
    half_life_days: float = 7.0,
    order: int = 1,
    by_month: bool = False,
    by_week: bool = False,
    **fields,
) -> pl.DataFrame:
    """Attributed conversions and revenue per key of the window's dimension, under each model.

    Parameters
    ----------
    con : warehouse connection (read-only is fine; temporary tables, when needed, are dropped).
    models : names from :data:`MODELS`.
    window : a :class:`JourneyWindow`, or its fields as keywords: ``by`` (``channel``,
        ``campaign``: campaign ids, or ``touchpoint_type``), ``lookback_days`` (eligible touches are
        at most this many days before the close date), ``account_level`` (the touches of every
        contact of the opportunity's account; a deal without an account keeps its own contact's
        touches; non-converting journeys are then accounts too), ``close_from``, ``close_to``
        (won deals with ``close_from <= close_date <= close_to``; None: open).
    half_life_days : ``time_decay``'s half-life *h*.
    order : ``markov``'s order (1-3).
    by_month : also split by ``month``, the first day of the close month (a date);
        Markov and Shapley split their window credit like linear credit (see
        :func:`_split_by_period`), so the months add up to the ``by_month=False`` result.
    by_week : split by ``week`` instead, the Monday of the week of the *credited touch* (its
        date is ``close_date - days_before``), so credit is dated like the spend that bought
        the touch (the budget's response curves read it); a conversion without an eligible
        touch is dated by its close week. Markov and Shapley split like linear credit again,
        and the weeks add up to the window's figures.

    Returns
    -------
    polars.DataFrame
        ``<by>, [month or week,] model, attributed_conversions, attributed_revenue``: one row per
        key and model, including ``(unattributed)``. Per model, the columns sum to the
        number and the total amount of won deals closing in the window.
    """
    window = window_of(window, fields)
    result = attribute_rows(
        con, models, window, half_life_days=half_life_days, order=order, by_month=by_month, by_week=by_week
    )
    return _frame(result, window.by, _period(by_month, by_week))


def attribute_paths(paths: pl.DataFrame, models: Sequence[str], order: int = 1) -> pl.DataFrame:
    """Attribution of ChannelAttribution-style path input (see :func:`analytics.attribution.paths.read_paths`).

    Every path row is a journey weighted by its conversions (value: its conversion
    value); non-converting counts enter Markov and Shapley. Models needing touch dates
    or lead/opportunity times (``time_decay``, ``w_shaped``, ``full_path``) are refused.

    Returns
    -------
    polars.DataFrame
        ``channel, model, attributed_conversions, attributed_revenue`` (with an
        ``(unattributed)`` row of zeros: paths always have a channel).
    """
    import duckdb

    from analytics.attribution.paths import open_path_journeys

    models = _check(models, 1.0, order, allowed=PATH_MODELS)
    chain = split(models)[1]
    if chain and not paths["nulls_known"].all():
        raise RevLensError(
            "Markov and Shapley need the number of non-converting journeys per path; "
            "name that column with --null-col, or choose heuristic models only."
        )
    con = duckdb.connect()
    try:
        with open_path_journeys(con, paths, chain, order) as journeys:
            result = credit_rows(journeys, models, 1.0, order, False)
    finally:
        con.close()
    return _frame(result, "channel", False)


def _intervals(journeys: Journeys, models, n_boot, seed, half_life_days, order, by: str) -> pl.DataFrame:
    from analytics.attribution.bootstrap import bootstrap

    return bootstrap(journeys, models, n_boot, seed, half_life_days, order).rename({"key": by})


def bootstrap_intervals(
    con,
    models: Sequence[str],
    window: JourneyWindow | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    half_life_days: float = 7.0,
    order: int = 1,
    **fields,
) -> pl.DataFrame:
    """95% percentile bootstrap intervals of each model's credit (:mod:`analytics.attribution.bootstrap`).

    The window and the other parameters mean the same as in :func:`attribute`.

    Returns
    -------
    polars.DataFrame
        ``<by>, model, conversions_low, conversions_high, revenue_low, revenue_high``.
    """
    from analytics.attribution.bootstrap import check_n_boot

    window = window_of(window, fields)
    models = _check(models, half_life_days, order)
    check_n_boot(n_boot)
    with open_journeys(con, window) as journeys:
        chains.prepare(journeys, split(models)[1], order)
        return _intervals(journeys, models, n_boot, seed, half_life_days, order, window.by)


def attribute_with_intervals(
    con,
    models: Sequence[str],
    interval_models: Sequence[str],
    window: JourneyWindow | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    half_life_days: float = 7.0,
    order: int = 1,
    by_month: bool = False,
    **fields,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`attribute` of ``models`` and :func:`bootstrap_intervals` of ``interval_models``
    from one build of the journeys and the chain inputs (the costly part of both).

    The parameters mean the same as there. Returns ``(credits, intervals)``, each equal to
    what the two functions return on their own with the same arguments.
    """
    from analytics.attribution.bootstrap import check_n_boot

    window = window_of(window, fields)
    models = _check(models, half_life_days, order)
    interval_models = _check(interval_models, half_life_days, order)
    check_n_boot(n_boot)
    chain = split(dict.fromkeys((*models, *interval_models)))[1]
    with open_journeys(con, window) as journeys:
        chains.prepare(journeys, chain, order)
        credits = credit_rows(journeys, models, half_life_days, order, by_month)
        intervals = _intervals(journeys, interval_models, n_boot, seed, half_life_days, order, window.by)
    return _frame(credits, window.by, by_month), intervals


def deal_credits(
    con, model: str, key: str, window: JourneyWindow, *, half_life_days: float = 7.0, order: int = 1
) -> pl.DataFrame:
    """Each won deal's credit to ``key`` under ``model``: ``journey_id, credited_conversions,
    credited_revenue`` for the window's deals with an eligible touch on ``key``.

    Rule-based models: the deal's weights on ``key``'s touches, times its conversion and
    amount (so, summed over the deals, :func:`attribute`'s credit of ``key``). Markov and
    Shapley credit a key for the window as a whole; a deal's share of it is its share of the
    key's linear credit (as :func:`attribute` splits them by month), so the deals again add
    up to the key's credit.
    """
    import polars as pl

    (model,) = _check([model], half_life_days, order)
    rule, chain = split([model])
    weighted = rule[0] if rule else "linear"
    with open_journeys(con, window) as journeys:
        params = {**journeys.params, **rules.params(half_life_days), "value": key}
        per_deal = rows(con, rules.deal_weights_query(journeys, weighted), params)
        if chain:
            chains.prepare(journeys, chain, order)
            credited = dict((k, (c, r)) for k, _, c, r in _chain_credits(journeys, chain, order) if k == key).get(
                key, (0.0, 0.0)
            )
    frame = pl.DataFrame(
        per_deal,
        schema={"journey_id": pl.Int64, "credited_conversions": pl.Float64, "credited_revenue": pl.Float64},
        orient="row",
    )
    if not chain:
        return frame
    linear_conversions, linear_revenue = frame["credited_conversions"].sum(), frame["credited_revenue"].sum()
    conversion_share = pl.col("credited_conversions") / linear_conversions if linear_conversions else pl.lit(0.0)
    revenue_share = pl.col("credited_revenue") / linear_revenue if linear_revenue else conversion_share
    return frame.with_columns(  # both from the linear columns: with_columns reads the frame as given
        (conversion_share * credited[0]).alias("credited_conversions"),
        (revenue_share * credited[1]).alias("credited_revenue"),
    )


def _apportioned(frame: pl.DataFrame, by: str, chain_credit: dict[str, tuple[float, float]]) -> pl.DataFrame:
    """Chain credit of each key (``chain_credit``: key -> (conversions, revenue)) spread over the rows of
    ``frame`` (its linear credit per row and ``key``) in proportion to their linear credit of the key."""
    import polars as pl

    keys = pl.DataFrame(
        {
            "key": list(chain_credit),
            "_chain_conversions": [c for c, _ in chain_credit.values()],
            "_chain_revenue": [r for _, r in chain_credit.values()],
        },
        schema={"key": pl.Utf8, "_chain_conversions": pl.Float64, "_chain_revenue": pl.Float64},
    )
    linear_conversions = pl.col("credited_conversions").sum().over(by)
    linear_revenue = pl.col("credited_revenue").sum().over(by)
    conversion_share = pl.col("credited_conversions") / linear_conversions
    revenue_share = (
        pl.when(linear_revenue > 0).then(pl.col("credited_revenue") / linear_revenue).otherwise(conversion_share)
    )
    return (
        frame.join(keys, left_on=by, right_on="key", how="left")
        .with_columns(
            (conversion_share * pl.col("_chain_conversions").fill_null(0.0)).alias("_c"),
            (revenue_share * pl.col("_chain_revenue").fill_null(0.0)).alias("_r"),
        )
        .drop("credited_conversions", "credited_revenue", "_chain_conversions", "_chain_revenue")
        .rename({"_c": "credited_conversions", "_r": "credited_revenue"})
    )


def deal_key_credits(
    con, model: str, window: JourneyWindow, *, half_life_days: float = 7.0, order: int = 1
) -> pl.DataFrame:
    """Each won deal's credit to every key under ``model``: ``journey_id, opportunity_id, key,
    credited_conversions, credited_revenue`` (the spec's ``syncAttributionToCRM(opportunityId,
    attribution)``: what one deal's attribution is).

    Rule-based models: the deal's weights on each key's touches times its conversion and amount,
    so a deal's rows sum to 1 conversion and its amount, and summed over the deals a key's rows
    give :func:`attribute`'s credit of that key. Markov and Shapley credit a key for the window as
    a whole; a deal's share of it is its share of the key's linear credit (as :func:`deal_credits`),
    so the keys' totals again match :func:`attribute`. Deals without an eligible touch have no row.
    """
    import polars as pl

    (model,) = _check([model], half_life_days, order)
    rule, chain = split([model])
    weighted = rule[0] if rule else "linear"
    with open_journeys(con, window) as journeys:
        params = {**journeys.params, **rules.params(half_life_days)}
        per_deal = rows(con, rules.deal_key_weights_query(journeys, weighted), params)
        if chain:
            chains.prepare(journeys, chain, order)
            credited = {k: (c, r) for k, _, c, r in _chain_credits(journeys, chain, order)}
    frame = pl.DataFrame(
        per_deal,
        schema={
            "journey_id": pl.Int64,
            "opportunity_id": pl.Utf8,
            "key": pl.Utf8,
            "credited_conversions": pl.Float64,
            "credited_revenue": pl.Float64,
        },
        orient="row",
    )
    if not chain:
        return frame
    return _apportioned(frame, "key", credited).select(frame.columns)


def contact_credits(
    con, model: str, window: JourneyWindow, *, half_life_days: float = 7.0, order: int = 1
) -> pl.DataFrame:
    """The credit each contact's own touches earn under ``model``: ``contact_id, credited_conversions,
    credited_revenue, deals`` (the won deals whose journey has a touch of the contact).

    A touch's weight is the model's, in its deal's journey (so, at account level, a contact who
    made half of a linear journey's touches earns half the deal; under first touch, the contact
    who touched first earns it all). Markov and Shapley: each key's window credit spread over the
    contacts in proportion to their linear credit of that key. Summed over the contacts, the credit
    is the attributed revenue of :func:`attribute` (every key but ``(unattributed)``). At contact
    level every touch is the deal's contact's, so the credit is that contact's won revenue under
    every model; at account level it is a property of the model.
    """
    import polars as pl

    (model,) = _check([model], half_life_days, order)
    rule, chain = split([model])
    weighted = rule[0] if rule else "linear"
    with open_member_journeys(con, window) as journeys:
        member_rows = rules.rule_credit_rows(journeys, [weighted], half_life_days, False)
        deals = rows(
            con,
            "select split_part(key, chr(31), 1) as contact_id, count(distinct journey_id) from attribution_touches "
            "group by 1",
        )
    frame = (
        pl.DataFrame(
            [(key, c, r) for key, _, c, r in member_rows if key != UNATTRIBUTED],
            schema={"member_key": pl.Utf8, "credited_conversions": pl.Float64, "credited_revenue": pl.Float64},
            orient="row",
        )
        .with_columns(
            pl.col("member_key").str.split_exact(MEMBER_SEP, 1).struct.rename_fields(["contact_id", "key"]).alias("_m")
        )
        .unnest("_m")
    )
    if chain:
        credited = {
            k: (c, r) for k, _, c, r in attribute_rows(con, chain, window, half_life_days=half_life_days, order=order)
        }
        frame = _apportioned(frame, "key", credited)
    return (
        frame.group_by("contact_id")
        .agg(pl.col("credited_conversions").sum(), pl.col("credited_revenue").sum())
        .join(pl.DataFrame(deals, schema={"contact_id": pl.Utf8, "deals": pl.Int64}, orient="row"), on="contact_id")
        .sort("credited_revenue", "contact_id", descending=[True, False])
    )
