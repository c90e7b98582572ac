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
set-based DuckDB SQL on temporary tables or views of the caller's connection (allowed on
a read-only connection); only path, channel-set and transition aggregates reach numpy.
On a loaded warehouse the converting journeys are read from the journey tables built at
load time (:mod:`analytics.journeys`), filtered by the lookback and the close window;
account-level journeys, and a warehouse whose journey tables are not current, are joined
from the raw tables, with the same result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sp

from analytics.attribution.credit import proportional
from analytics.attribution.journeys import WON_DEALS, journeys_current
from analytics.attribution.markov import CONVERSION, NULL, START, ChainLayout, markov_credits
from analytics.attribution.markov import SEP as _SEP
from analytics.attribution.shapley import membership, rates, shapley_credits
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import run

MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
    "markov",
    "shapley",
)
RULE_MODELS = MODELS[:8]
PATH_MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "markov", "shapley")
DIMENSIONS = ("channel", "campaign", "touchpoint_type")
UNATTRIBUTED = "(unattributed)"
MAX_ORDER = 3

# dimension -> touchpoints column; NULL keys show as "(none)"
_DIMENSION_COLUMN = {"channel": "t.channel", "campaign": "t.campaign_id", "touchpoint_type": "t.touchpoint_type"}
_TEMP_TABLES = (
    "attribution_conversions",
    "attribution_touches",
    "attribution_null_moves",
    "attribution_null_sets",
    "attribution_key_bits",
)
MAX_BITMASK_KEYS = 126  # channel sets as bits of a hugeint up to this many keys, else as strings

# Sums of doubles depend on the order DuckDB's threads add them in; summing fixed-point integers
# (2^-40 resolution, exact for large values) makes every result bit-identical run to run.
_SCALE = "1099511627776.0"


def _exact_sum(expr: str) -> str:
    return f"(sum(round(({expr}) * {_SCALE})::hugeint) / {_SCALE})::double"


# --------------------------------------------------------------------------- validation


def _check(
    models: Sequence[str],
    by: str,
    lookback_days: int,
    half_life_days: float,
    order: int,
    allowed: Sequence[str] = MODELS,
) -> tuple[str, ...]:
    models = tuple(dict.fromkeys(models))
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise RevLensError(
            f"Unknown attribution model {', '.join(unknown) or '(none)'}; choose from {', '.join(MODELS)} or all."
        )
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


def _prepare_warehouse(
    con,
    by: str,
    lookback_days: int,
    account_level: bool,
    close_from: date | None,
    close_to: date | None,
    chain_models: Sequence[str] = (),
    order: int = 1,
) -> None:
    """Create the temporary journey tables (or views) from the warehouse on ``con``."""
    key = f"coalesce({_DIMENSION_COLUMN[by]}, '(none)')"
    params = {"close_from": close_from, "close_to": close_to}
    if not account_level and journeys_current(con):
        _journey_views(con, by, lookback_days, close_from, close_to)
    else:
        _build_journeys(con, key, lookback_days, account_level, params)
    if not chain_models:
        return
    journey_key, null_from = _null_journey_sql(account_level)
    null_touches = _NULL_TOUCHES.format(journey_key=journey_key, key=key, null_from=null_from)
    params = {**params, "lookback": int(lookback_days)}
    if "shapley" in chain_models:
        # a bit per key: a journey's channel set is then a bit_or, far cheaper than a list per journey
        con.execute(
            f"""
            create or replace temp table attribution_key_bits as
            select key, (row_number() over (order by key) - 1)::integer as bit
            from (select key from attribution_touches union select key from ({null_touches}))
            """,
            params,
        )
        if con.execute("select count(*) from attribution_key_bits").fetchall()[0][0] > MAX_BITMASK_KEYS:
            con.execute("drop table attribution_key_bits")
    bits = _uses_key_bits(con)
    _prepare_null_aggregates(
        con,
        _lagged_by_window(null_touches, "ts, touchpoint_id", order, _NULL_WEIGHTS),
        _sets_sql(_journey_sets_sql(f"select *, {_NULL_WEIGHTS} from ({null_touches})", bits), bits),
        chain_models,
        order,
        params,
    )


def _journey_views(con, by: str, lookback_days: int, close_from: date | None, close_to: date | None) -> None:
    """The journey tables as temporary views over the materialized ones (:mod:`analytics.journeys`).

    Views take no parameters, so the window's values are bound into session variables.
    ``by`` (checked against :data:`DIMENSIONS`) names the tables' key column.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    con.execute("set variable attribution_lookback = cast($lookback as integer)", {"lookback": int(lookback_days)})
    con.execute("set variable attribution_close_from = cast($close_from as date)", {"close_from": close_from})
    con.execute("set variable attribution_close_to = cast($close_to as date)", {"close_to": close_to})
    in_window = """
        (getvariable('attribution_close_from') is null or close_date >= getvariable('attribution_close_from'))
        and (getvariable('attribution_close_to') is null or close_date <= getvariable('attribution_close_to'))
    """
    con.execute(
        f"""
        create or replace temp view attribution_conversions as
        select journey_id, opportunity_id, contact_id, 'c:' || contact_id as group_key,
               1.0::double as conversions, revenue, close_date, month,
               opportunity_created_at, lead_created_at
        from _journey_deals
        where {in_window}
        """
    )
    con.execute(
        f"""
        create or replace temp view attribution_touches as
        select journey_id, {by} as key, channel = 'direct' as is_direct, days_before,
               before_lead, before_opportunity, k
        from _journey_touches
        where days_before <= getvariable('attribution_lookback') and {in_window}
        """
    )


def _build_journeys(con, key: str, lookback_days: int, account_level: bool, params: dict) -> None:
    """Build the journey tables from the raw tables (account-level, or no current journey tables)."""
    con.execute(
        f"""
        create or replace temp table attribution_conversions as
        select journey_id, opportunity_id, contact_id,
               -- account-level journeys group by account; a deal without one keeps its contact's touches
               coalesce('a:' || account_id, 'c:' || contact_id) as group_key,
               1.0::double as conversions, revenue, close_date, month, opportunity_created_at, lead_created_at
        from ({WON_DEALS})
        where (cast($close_from as date) is null or close_date >= cast($close_from as date))
          and (cast($close_to as date) is null or close_date <= cast($close_to as date))
        """,
        params,
    )
    journey_touch = (
        """
        from attribution_conversions as v
        join (select t.*, t.rowid as touch_rowid, coalesce('a:' || member.account_id, 'c:' || t.contact_id) as group_key
              from touchpoints as t left join contacts as member on member.contact_id = t.contact_id) as t
          on t.group_key = v.group_key
        """
        if account_level
        else """
        from attribution_conversions as v
        join (select *, rowid as touch_rowid from touchpoints) as t on t.contact_id = v.contact_id
        """
    )
    # k orders a journey's touches by (ts, touchpoint_id) without a sort: the timestamp's
    # microseconds times 2^32, plus the rank by touchpoint_id among touches of the journey
    # with the same timestamp (added below). Reading touchpoint_id for every touchpoint would
    # cost more than the whole join, so only the few tied touches fetch it, by rowid.
    con.execute(
        f"""
        create or replace temp table attribution_touches as
        select v.journey_id, {key} as key, t.channel = 'direct' as is_direct,
               date_diff('day', t.ts::date, v.close_date) as days_before,
               t.ts <= v.lead_created_at as before_lead,
               t.ts <= v.opportunity_created_at as before_opportunity,
               epoch_us(t.ts)::hugeint * 4294967296 as k, t.touch_rowid  -- not <<: ts may precede 1970
        {journey_touch}
        where t.ts < v.close_date + interval 1 day
          and t.ts >= v.close_date - to_days(cast($lookback as integer))
        """,
        {"lookback": int(lookback_days)},
    )
    con.execute(
        """
        with tied as (
            select journey_id, k from attribution_touches group by all having count(*) > 1
        ),
        tied_touches as (
            select a.touch_rowid, a.journey_id, a.k
            from attribution_touches as a semi join tied using (journey_id, k)
        ),
        ranked as (
            select s.touch_rowid, s.journey_id,
                   row_number() over (partition by s.journey_id, s.k order by t.touchpoint_id) - 1 as tie_rank
            from tied_touches as s join touchpoints as t on t.rowid = s.touch_rowid
        )
        update attribution_touches as a set k = a.k + r.tie_rank
        from ranked as r
        where a.touch_rowid = r.touch_rowid and a.journey_id = r.journey_id and r.tie_rank > 0
        """
    )


# Non-converting journeys: every contact (account) without a conversion in the window, its
# touches from close_from - lookback to close_to.
_NULL_TOUCHES = """
    select {journey_key} as journey_id, {key} as key, t.ts, t.touchpoint_id
    from {null_from}
    where (cast($close_from as date) is null
           or t.ts >= cast($close_from as date) - to_days(cast($lookback as integer)))
      and (cast($close_to as date) is null or t.ts < cast($close_to as date) + interval 1 day)
"""


def _null_journey_sql(account_level: bool) -> tuple[str, str]:
    if account_level:
        return (
            "t.group_key",
            "(select t.*, coalesce('a:' || member.account_id, 'c:' || t.contact_id) as group_key "
            " from touchpoints as t left join contacts as member on member.contact_id = t.contact_id) as t "
            "anti join attribution_conversions as v on v.group_key = t.group_key",
        )
    return "t.contact_id", "touchpoints as t anti join attribution_conversions as v on v.contact_id = t.contact_id"


def _uses_key_bits(con) -> bool:
    return (
        con.execute(
            "select count(*) from duckdb_tables() where temporary and table_name = 'attribution_key_bits'"
        ).fetchall()[0][0]
        > 0
    )


def _prepare_null_aggregates(
    con, lagged: str, sets: str, chain_models: Sequence[str], order: int, params: dict
) -> None:
    """Aggregate the non-converting journeys once: their moves (Markov) and channel sets (Shapley)."""
    if "markov" in chain_models:
        con.execute(
            "create or replace temp table attribution_null_moves as " + _moves_sql(lagged, order, per_journey=False),
            {**params, **_STATE_PARAMS},
        )
    if "shapley" in chain_models:
        con.execute("create or replace temp table attribution_null_sets as " + sets, params)


def _prepare_paths(con, paths: pl.DataFrame, chain_models: Sequence[str] = (), order: int = 1) -> None:
    """Create the temporary journey tables from path input: one journey per path row,
    weighted by its conversions (and, for Markov and Shapley, by its non-converting count)."""
    rows = paths.select("path", "conversions", "revenue", "nulls").with_row_index("journey_id", offset=1)
    # a view over the frame's memory, no copy; it lives as long as the private connection
    con.register("attribution_path_rows", rows.to_arrow())
    con.execute(
        """
        create or replace temp table attribution_conversions as
        select journey_id, conversions, revenue, null::date as month
        from attribution_path_rows where conversions > 0
        """
    )
    con.execute(
        """
        create or replace temp table attribution_touches as
        with steps as (
            select journey_id, conversions, revenue, path, generate_subscripts(path, 1) as k
            from attribution_path_rows
            where conversions > 0
        )
        select journey_id, path[k] as key, path[k] = 'direct' as is_direct, null::integer as days_before,
               null::boolean as before_lead, null::boolean as before_opportunity, k
        from steps
        """
    )
    null_rows = (
        "select journey_id, path, 0.0::double as conversions, 0.0::double as revenue, nulls "
        "from attribution_path_rows where nulls > 0"
    )
    null_sets = _sets_sql(
        "select array_to_string(list_sort(list_distinct(path)), chr(31)) as set_id, "
        "0.0::double as conversions, 0.0::double as revenue, nulls "
        "from attribution_path_rows where nulls > 0",
        bits=False,
    )
    _prepare_null_aggregates(con, _lagged_by_index(null_rows, order), null_sets, chain_models, order, {})


@contextlib.contextmanager
def _journeys(con, prepare, *args) -> Iterator[None]:
    try:
        prepare(con, *args)
        yield
    finally:
        temporary = con.execute(
            "select table_name, 'table' from duckdb_tables() where temporary "
            "union all select view_name, 'view' from duckdb_views() where temporary"
        ).fetchall()
        for name, kind in temporary:
            if name in _TEMP_TABLES:
                con.execute(f"drop {kind} {name}")


# --------------------------------------------------------------------------- rule-based (SQL)

# Journey-level facts, over a journey's touches (k orders them and is unique within a journey).
_JOURNEY_FACTS = {
    "n": "count(*)",
    "first_k": "min(k)",
    "last_k": "max(k)",
    "last_non_direct_k": "max(k) filter (where not is_direct)",
    "lead_k": "max(k) filter (where before_lead)",
    "opportunity_k": "max(k) filter (where before_opportunity)",
    "decay_total": _exact_sum("pow(0.5, days_before / $half_life)"),
}
# A touch's weight under the single-touch, linear and time-decay models, and the facts it needs.
_TOUCH_WEIGHT = {
    "first_touch": ("(k = first_k)::double", ("first_k",)),
    "last_touch": ("(k = last_k)::double", ("last_k",)),
    "last_non_direct": ("(k = coalesce(last_non_direct_k, last_k))::double", ("last_k", "last_non_direct_k")),
    "linear": ("1.0 / n", ("n",)),
    "time_decay": ("pow(0.5, days_before / $half_life) / decay_total", ("decay_total",)),
}
# Milestone models: their milestone touches (first_k is never NULL) and the share S they split.
_MILESTONES = {
    "position_based": (("first_k", "last_k"), 0.8),
    "w_shaped": (("first_k", "lead_k", "opportunity_k"), 0.9),
    "full_path": (("first_k", "lead_k", "opportunity_k", "last_k"), 0.9),
}


def _distinct_milestones(columns: Sequence[str]) -> str:
    """SQL for the number of distinct non-NULL values among ``columns`` (the first never NULL)."""
    later = [
        f"({c} is not null" + "".join(f" and {c} is distinct from {p}" for p in columns[:i]) + ")::integer"
        for i, c in enumerate(columns)
        if i
    ]
    return " + ".join(["1", *later])


def _rule_weights_sql(models: Sequence[str]) -> str:
    """CTEs ``journey_facts`` and ``weights`` (a touch's weight under each of ``models``).

    Only the facts the models need are computed. A milestone model's two weights, S/m for
    a milestone touch and (1 - S)/(n - m) for the others (1/n each when n = m), are
    computed per journey, so the per-touch work is one comparison per milestone.
    """
    needs = {"n", *(c for m in models if m in _MILESTONES for c in _MILESTONES[m][0])}
    needs |= {c for m in models if m in _TOUCH_WEIGHT for c in _TOUCH_WEIGHT[m][1]}
    facts = ", ".join(f"{expr} as {name}" for name, expr in _JOURNEY_FACTS.items() if name in needs)
    counts, journey_weights, touch_weights = [], [], []
    for m in models:
        if m in _TOUCH_WEIGHT:
            touch_weights.append(f"{_TOUCH_WEIGHT[m][0]} as {m}")
            continue
        milestones, share = _MILESTONES[m]
        counts.append(f"{_distinct_milestones(milestones)} as {m}_m")
        journey_weights.append(
            f"case when n = {m}_m then 1.0 / n else {share} / {m}_m end as {m}_milestone, "
            f"case when n > {m}_m then {1 - share:.1f} / (n - {m}_m) end as {m}_rest"
        )
        is_milestone = " or ".join(f"k = {c}" for c in milestones)
        touch_weights.append(f"case when {is_milestone} then {m}_milestone else {m}_rest end as {m}")
    return f"""
        with journey_facts as (
            select journey_id, {facts} from attribution_touches group by journey_id
        ),
        milestone_counts as (
            select *{"".join(f", {c}" for c in counts)} from journey_facts
        ),
        journeys as (
            select f.*{"".join(f", {w}" for w in journey_weights)}, v.conversions, v.revenue, v.month
            from milestone_counts as f join attribution_conversions as v using (journey_id)
        ),
        weights as (
            select t.journey_id, t.key, j.month, j.conversions, j.revenue, {", ".join(touch_weights)}
            from attribution_touches as t join journeys as j using (journey_id)
        )
    """


def _half_life(models: Sequence[str], half_life_days: float) -> dict:
    return {"half_life": float(half_life_days)} if "time_decay" in models else {}


def _unattributed_sql(by_month: bool, attributed: str) -> str:
    """Conversions and revenue (per month) of the conversions whose journey is not in
    ``attributed`` (a relation with ``journey_id``): those without an eligible touch."""
    month = "month, " if by_month else ""
    return f"""
        select {month}coalesce(sum(conversions), 0)::double as conversions,
               coalesce({_exact_sum("revenue")}, 0) as revenue
        from attribution_conversions anti join {attributed} using (journey_id)
        {"group by month" if by_month else ""}
    """


def _rule_credits(con, models: Sequence[str], half_life_days: float, by_month: bool) -> pl.DataFrame:
    """Credit per key (and month) and model for the rule-based models, with the
    ``(unattributed)`` row, from the journey tables.

    Sums every model's weights in one pass over the touches, then unpivots the small result.
    """
    month = "month, " if by_month else ""
    sums = ",\n".join(
        f"{_exact_sum(f'{m} * conversions')} as {m}_conversions, {_exact_sum(f'{m} * revenue')} as {m}_revenue"
        for m in models
    )
    pairs = ", ".join(f"({m}_conversions, {m}_revenue) as {m}" for m in models)
    return run(
        con,
        _rule_weights_sql(models)
        + f""",
        unattributed as ({_unattributed_sql(by_month, "journey_facts")}),
        totals as (
            select key, {month}{sums} from weights group by all
            union all
            select $unattributed, {month}{", ".join("conversions, revenue" for _ in models)} from unattributed
        )
        select key, {month}model, attributed_conversions, attributed_revenue
        from (unpivot totals on {pairs} into name model value attributed_conversions, attributed_revenue)
        """,
        {**_half_life(models, half_life_days), "unattributed": UNATTRIBUTED},
    )


def _journey_rule_credits(con, models: Sequence[str], half_life_days: float) -> pl.DataFrame:
    """Per-journey weights of each key under each rule-based model (for the bootstrap)."""
    sums = ", ".join(f"{_exact_sum(m)} as {m}" for m in models)
    return run(
        con,
        _rule_weights_sql(models)
        + f""",
        totals as (select journey_id, key, {sums} from weights group by all)
        select journey_id, key, model, weight
        from (unpivot totals on {", ".join(models)} into name model value weight)
        order by model, key, journey_id
        """,
        _half_life(models, half_life_days),
    )


# --------------------------------------------------------------------------- Markov and Shapley inputs (SQL)

_STATE_PARAMS = {"start": START, "conversion": CONVERSION, "null": NULL}


_NULL_WEIGHTS = "0.0::double as conversions, 0.0::double as revenue, 1.0::double as nulls"


def _lagged_by_window(source: str, order_by: str, order: int, weights: str, join: str = "") -> str:
    """Touches of ``source`` with the keys up to ``order`` touches back and a last-touch flag.

    One sort; only ``journey_id``, ``key`` and the ``order_by`` columns pass through it
    (the sort carries every column), the journey weights (``weights``, optionally from
    ``join``) are added after it.
    """
    # one global order instead of a partition per journey: DuckDB's windows pay per partition,
    # and a million journeys of ~10 touches cost more that way than one big sort
    lags = ", ".join(
        f"case when lag(journey_id, {i}) over w = journey_id then lag(key, {i}) over w end as key_{i}"
        for i in range(1, order + 1)
    )
    return f"""
        select l.*, {weights}
        from (
            select journey_id, key, {lags}, lead(journey_id) over w is distinct from journey_id as is_last
            from ({source})
            window w as (order by journey_id, {order_by})
        ) as l
        {join}
    """


def _lagged_by_index(source: str, order: int) -> str:
    """The same from journeys given as ordered lists ``path`` with their weights (no sort needed)."""
    lags = ", ".join(f"case when i > {j} then path[i - {j}] end as key_{j}" for j in range(1, order + 1))
    return f"""
        select journey_id, conversions, revenue, nulls, path[i] as key, {lags}, i = len(path) as is_last
        from (select *, generate_subscripts(path, 1) as i from ({source}))
    """


def _converting_lagged(order: int) -> str:
    return _lagged_by_window(
        "select journey_id, key, k from attribution_touches",
        "k",
        order,
        "v.conversions, v.revenue, 0.0::double as nulls",
        "join attribution_conversions as v using (journey_id)",
    )


def _moves_sql(lagged: str, order: int, per_journey: bool) -> str:
    """Markov moves of the touches in ``lagged`` (see :func:`_lagged_by_window`).

    For order k the state at a touch is its key and the k - 1 keys before it (fewer at
    the journey's start), written as one string joined by ``chr(31)`` so that grouping
    stays on scalars. Each touch contributes the move from the previous state (or
    ``(start)``) into its state, weighted by the journey's conversions + non-conversions;
    the last touch also moves into ``(conversion)`` (with the revenue as value) and into
    ``(null)``. A repeated key is a self-loop, which changes no absorption probability,
    so repeats need no special case.
    Returns ``[journey_id,] from_state, to_state, count, value``.
    """
    if order == 1:
        from_state, to_state = "key_1", "key"
    else:
        lags = [f"key_{i}" for i in range(order, 0, -1)]  # key_k, ..., key_1
        to_state = "concat_ws(chr(31), " + ", ".join([*lags[1:], "key"]) + ")"
        from_state = "concat_ws(chr(31), " + ", ".join(lags) + ")"
    journey = "journey_id, " if per_journey else ""
    return f"""
        with grouped as materialized (  -- one pass over the touches; the rest is on small groups
            select {journey}
                   case when key_1 is null then $start else {from_state} end as from_state,
                   {to_state} as to_state, is_last,
                   sum(conversions + nulls) as moves, sum(conversions) as conversions,
                   {_exact_sum("revenue")} as revenue, sum(nulls) as nulls
            from ({lagged})
            group by all
        )
        select {journey}from_state, to_state, sum(moves) as count, 0.0::double as value
        from grouped group by all
        union all
        select {journey}to_state, $conversion, sum(conversions), {_exact_sum("revenue")}
        from grouped where is_last and conversions > 0 group by all
        union all
        select {journey}to_state, $null, sum(nulls), 0.0::double
        from grouped where is_last and nulls > 0 group by all
    """


def _journey_sets_sql(source: str, bits: bool) -> str:
    """Each journey of ``source`` with its set of distinct keys as ``set_id``: a bit mask over
    ``attribution_key_bits`` when ``bits``, else the sorted keys joined by ``chr(31)``."""
    if bits:
        set_id, join = "bit_or(1::hugeint << b.bit)", "join attribution_key_bits as b on b.key = s.key"
    else:
        set_id, join = "array_to_string(list_sort(list_distinct(list(s.key))), chr(31))", ""
    return f"""
        select s.journey_id, {set_id} as set_id, any_value(s.conversions) as conversions,
               any_value(s.revenue) as revenue, any_value(s.nulls) as nulls
        from ({source}) as s {join}
        group by s.journey_id
    """


def _with_channels(sets: str, bits: bool) -> str:
    """Add ``channels`` (the keys joined by ``chr(31)``) to rows with a ``set_id``."""
    if not bits:
        return f"select *, set_id as channels from ({sets})"
    return f"""
        with sets as ({sets}),
        names as (
            select d.set_id,
                   (select array_to_string(list(b.key order by b.key), chr(31))
                    from attribution_key_bits as b where (d.set_id >> b.bit) & 1 = 1) as channels
            from (select distinct set_id from sets) as d
        )
        select sets.*, names.channels from sets join names using (set_id)
    """


def _sets_sql(journey_sets: str, bits: bool) -> str:
    """Journeys aggregated by their channel set (for Shapley): ``channels, conversions, revenue, journeys``."""
    grouped = f"""
        select set_id, sum(conversions) as conversions, {_exact_sum("revenue")} as revenue,
               sum(conversions + nulls) as journeys
        from ({journey_sets}) group by set_id
    """
    return f"select channels, conversions, revenue, journeys from ({_with_channels(grouped, bits)})"


# converting touches with their journey's weights
_TOUCHES = (
    "select t.*, v.conversions, v.revenue, v.month "
    "from attribution_touches as t join attribution_conversions as v using (journey_id)"
)
_CONVERTING = f"select journey_id, key, k, conversions, revenue, 0.0::double as nulls from ({_TOUCHES})"


def _transition_counts(con, order: int) -> pl.DataFrame:
    """Weighted move counts ``from_state, to_state, count, value`` over all journeys."""
    return run(
        con,
        f"""
        with moves as (
            {_moves_sql(_converting_lagged(order), order, per_journey=False)}
            union all
            select from_state, to_state, count, value from attribution_null_moves
        )
        select from_state, to_state, sum(count) as count, {_exact_sum("value")} as value
        from moves group by all
        """,
        _STATE_PARAMS,
    )


def _channel_sets(con) -> pl.DataFrame:
    bits = _uses_key_bits(con)
    return run(
        con,
        f"""
        with sets as (
            {_sets_sql(_journey_sets_sql(_CONVERTING, bits), bits)}
            union all
            select channels, conversions, revenue, journeys from attribution_null_sets
        )
        select channels, sum(conversions) as conversions, {_exact_sum("revenue")} as revenue,
               sum(journeys) as journeys
        from sets group by all
        """,
    ).with_columns(pl.col("channels").str.split(_SEP))


def _attributed_totals(con) -> tuple[float, float]:
    rows = con.execute(
        f"select coalesce(sum(conversions), 0), coalesce({_exact_sum('revenue')}, 0) "
        "from attribution_conversions semi join attribution_touches using (journey_id)"
    ).fetchall()
    return float(rows[0][0]), float(rows[0][1])


def _chain_credits(con, models: Sequence[str], order: int) -> pl.DataFrame:
    """Markov and Shapley credits per key, as ``key, model, attributed_*``."""
    total_conversions, total_revenue = _attributed_totals(con)
    parts = []
    if "markov" in models:
        parts.append(
            markov_credits(_transition_counts(con, order), total_conversions, total_revenue).select(
                "key", pl.lit("markov").alias("model"), "attributed_conversions", "attributed_revenue"
            )
        )
    if "shapley" in models:
        parts.append(
            shapley_credits(_channel_sets(con), total_conversions, total_revenue).select(
                "key", pl.lit("shapley").alias("model"), "attributed_conversions", "attributed_revenue"
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame()


def _split_by_month(credits: pl.DataFrame, linear_by_month: pl.DataFrame) -> pl.DataFrame:
    """Spread each key's whole-window credit over months like its linear credit.

    Markov and Shapley credit is defined for the window as a whole; a key's credit in
    month m is its credit times its share of linear credit in m, so summing the months
    gives back the window's figures exactly.
    """
    shares = linear_by_month.with_columns(
        (pl.col("attributed_conversions") / pl.col("attributed_conversions").sum().over("key")).alias("conv_share"),
        (pl.col("attributed_revenue") / pl.col("attributed_revenue").sum().over("key"))
        .fill_nan(None)
        .alias("revenue_share"),
    ).with_columns(pl.col("revenue_share").fill_null(pl.col("conv_share")))
    return credits.join(shares.select("key", "month", "conv_share", "revenue_share"), on="key").select(
        "key",
        "month",
        "model",
        (pl.col("attributed_conversions") * pl.col("conv_share")).alias("attributed_conversions"),
        (pl.col("attributed_revenue") * pl.col("revenue_share")).alias("attributed_revenue"),
    )


def _unattributed(con, models: Sequence[str], by_month: bool) -> pl.DataFrame:
    totals = run(con, _unattributed_sql(by_month, "(select distinct journey_id from attribution_touches)"))
    return (
        totals.rename({"conversions": "attributed_conversions", "revenue": "attributed_revenue"})
        .join(pl.DataFrame({"model": list(models)}), how="cross")
        .with_columns(pl.lit(UNATTRIBUTED).alias("key"))
    )


def _credits(con, models: Sequence[str], half_life_days: float, order: int, by_month: bool) -> pl.DataFrame:
    rule = [m for m in models if m in RULE_MODELS]
    chain = [m for m in models if m not in RULE_MODELS]
    parts = []
    if rule:
        parts.append(_rule_credits(con, rule, half_life_days, by_month))
    if chain:
        chain_credits = _chain_credits(con, chain, order)
        if by_month and chain_credits.height:
            # sorted: the shares' float sums then add in the same order every run
            linear = _rule_credits(con, ["linear"], half_life_days, True).drop("model").sort("key", "month")
            chain_credits = _split_by_month(chain_credits, linear)
        parts.append(chain_credits)
        parts.append(_unattributed(con, chain, by_month))
    columns = ["key", *(["month"] if by_month else []), "model", "attributed_conversions", "attributed_revenue"]
    filled = [p.select(columns) for p in parts if p.height]
    if not filled:  # by month, with no deal in the window
        return pl.DataFrame(
            schema={
                "key": pl.Utf8,
                **({"month": pl.Date} if by_month else {}),
                "model": pl.Utf8,
                "attributed_conversions": pl.Float64,
                "attributed_revenue": pl.Float64,
            }
        )
    result = pl.concat(filled, how="vertical_relaxed")
    model_rank = {m: i for i, m in enumerate(MODELS)}
    return result.sort(
        pl.col("model").replace_strict(model_rank, return_dtype=pl.Int32),
        pl.col("key") == UNATTRIBUTED,
        *(["month"] if by_month else []),
        "key",
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
    account_level : take the touches of every contact of the opportunity's account (a deal
        without an account keeps its own contact's touches); non-converting journeys are
        then accounts too.
    close_from, close_to : closed-won opportunities with ``close_from <= close_date <= close_to``
        (None: open; deals without a close date are never counted).
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
    chain = tuple(m for m in models if m not in RULE_MODELS)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, chain, order):
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
        raise RevLensError(
            "Markov and Shapley need the number of non-converting journeys per path; "
            "name that column with --null-col, or choose heuristic models only."
        )
    con = duckdb.connect()
    try:
        with _journeys(con, _prepare_paths, paths, tuple(m for m in models if m not in RULE_MODELS), order):
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
    replicate count as 0 there). Deterministic for a given ``seed``. A Markov chain of more
    than :data:`MAX_BOOTSTRAP_STATES` states (order 2-3 by campaign) gets no interval: its
    rows have null bounds.

    Returns
    -------
    polars.DataFrame
        ``<by>, model, conversions_low, conversions_high, revenue_low, revenue_high``.
    """
    models = _check(models, by, lookback_days, half_life_days, order)
    _check_n_boot(n_boot)
    chain = tuple(m for m in models if m not in RULE_MODELS)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, chain, order):
        return _bootstrap(con, models, n_boot, seed, half_life_days, order).rename({"key": by})


def attribute_with_intervals(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[str],
    interval_models: Sequence[str],
    by: str = "channel",
    n_boot: int = 200,
    seed: int = 0,
    lookback_days: int = 90,
    half_life_days: float = 7.0,
    order: int = 1,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
    by_month: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`attribute` of ``models`` and :func:`bootstrap_intervals` of ``interval_models``
    from one build of the journeys (the costly part of both on a large warehouse).

    The parameters mean the same as there. Returns ``(credits, intervals)``, each equal to
    what the two functions return on their own with the same arguments.
    """
    models = _check(models, by, lookback_days, half_life_days, order)
    interval_models = _check(interval_models, by, lookback_days, half_life_days, order)
    _check_n_boot(n_boot)
    chain = tuple(m for m in dict.fromkeys((*models, *interval_models)) if m not in RULE_MODELS)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to, chain, order):
        credits = _credits(con, models, half_life_days, order, by_month)
        intervals = _bootstrap(con, interval_models, n_boot, seed, half_life_days, order)
    return credits.rename({"key": by}), intervals.rename({"key": by})


def _check_n_boot(n_boot: int) -> None:
    if n_boot < 2:
        raise RevLensError(f"n_boot={n_boot} is too few replicates for an interval; use at least 2 (200 is usual).")


# journeys × replicates drawn at once; bounds the bootstrap's memory on a large window
_BOOTSTRAP_CELLS = 4_000_000
# Markov chains with more states get no bootstrap interval: each replicate solves the chain
# once per channel, which for a chain of thousands of states (order 2-3 by campaign) takes
# seconds, so 100 replicates would take minutes.
MAX_BOOTSTRAP_STATES = 400


def _bootstrap(con, models: Sequence[str], n_boot: int, seed: int, half_life_days: float, order: int) -> pl.DataFrame:
    """Bootstrap intervals (see :func:`bootstrap_intervals`) from the journey tables on ``con``,
    as ``key, model, conversions_low, conversions_high, revenue_low, revenue_high``.

    Replicates are drawn in blocks, one column per replicate (``drawn[j, b]``: how often
    journey j was drawn in replicate b); every part turns a block into credit per
    ``(key, model)`` and replicate at once.
    """
    rule = [m for m in models if m in RULE_MODELS]
    chain = [m for m in models if m not in RULE_MODELS]
    conversions = run(con, "select journey_id, revenue from attribution_conversions order by journey_id")
    index = conversions["journey_id"].to_numpy()  # sorted: a journey's row is found by binary search
    revenue = conversions["revenue"].to_numpy()
    parts = [
        *([_BootstrapRule.load(con, rule, half_life_days, index)] if rule else []),
        *([_BootstrapChain.load(con, chain, order, index)] if chain else []),
    ]
    attributed = np.zeros(len(revenue), dtype=bool)
    for part in parts:
        attributed[part.rows] = True
    labels = [label for part in parts for label in part.labels] + [(UNATTRIBUTED, m) for m in models]
    n = len(revenue)
    block = max(1, _BOOTSTRAP_CELLS // max(n, 1))
    rng = np.random.default_rng(seed)
    conversions_blocks, revenue_blocks = [], []
    for first in range(0, n_boot, block):
        # drawn replicate after replicate: the same stream whatever the block size
        drawn = np.column_stack(
            [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(min(block, n_boot - first))]
        ).astype(float)
        value = drawn * revenue[:, None]
        credits = [part.credits(drawn, value) for part in parts]
        unattributed = drawn[~attributed].sum(axis=0), value[~attributed].sum(axis=0)
        conversions_blocks.append(np.vstack([c for c, _ in credits] + [np.tile(unattributed[0], (len(models), 1))]))
        revenue_blocks.append(np.vstack([r for _, r in credits] + [np.tile(unattributed[1], (len(models), 1))]))
    by_replicate = {"conversions": np.hstack(conversions_blocks), "revenue": np.hstack(revenue_blocks)}
    bounds = {name: np.quantile(values, [0.025, 0.975], axis=1) for name, values in by_replicate.items()}
    model_rank = {m: i for i, m in enumerate(MODELS)}
    return (
        pl.DataFrame(
            {
                "key": [key for key, _ in labels],
                "model": [model for _, model in labels],
                "conversions_low": bounds["conversions"][0],
                "conversions_high": bounds["conversions"][1],
                "revenue_low": bounds["revenue"][0],
                "revenue_high": bounds["revenue"][1],
            },
            schema={
                "key": pl.Utf8,
                "model": pl.Utf8,
                "conversions_low": pl.Float64,
                "conversions_high": pl.Float64,
                "revenue_low": pl.Float64,
                "revenue_high": pl.Float64,
            },
        )
        .fill_nan(None)
        .sort(pl.col("model").replace_strict(model_rank, return_dtype=pl.Int32), pl.col("key") == UNATTRIBUTED, "key")
    )


def _codes(values: list) -> tuple[np.ndarray, list]:
    """Integer codes of ``values`` in order of first appearance, and the distinct values."""
    distinct: dict = {}
    codes = np.array([distinct.setdefault(v, len(distinct)) for v in values], dtype=np.int64)
    return codes, list(distinct)


def _rows_of(journey_ids: np.ndarray, wanted: pl.Series) -> np.ndarray:
    """Positions of the ``wanted`` journey ids in the sorted ``journey_ids``."""
    return np.searchsorted(journey_ids, wanted.to_numpy()).astype(np.int64)


def _by_journey(
    codes: np.ndarray, rows: np.ndarray, weights: np.ndarray, n_codes: int, n_journeys: int
) -> sp.csr_matrix:
    """The sparse matrix ``A[code, journey]`` summing ``weights``; ``A @ drawn`` then sums
    each code's weights over a block of replicates."""
    return sp.csr_matrix((weights, (codes, rows)), shape=(n_codes, n_journeys))


class _BootstrapRule:
    """Per-journey rule-based weights as a matrix over ``(key, model)`` and journeys."""

    def __init__(self, labels: list[tuple[str, str]], weights: sp.csr_matrix):
        self.labels, self.weights = labels, weights
        self.rows = np.unique(weights.indices)

    @classmethod
    def load(cls, con, models, half_life_days, index) -> _BootstrapRule:
        weights = _journey_rule_credits(con, models, half_life_days)  # sorted by model, key, journey_id
        # sorted rows: a (key, model) group starts where either changes
        changed = (pl.col("model") != pl.col("model").shift()) | (pl.col("key") != pl.col("key").shift())
        starts = weights.select(changed.fill_null(True).alias("start"))["start"].to_numpy()
        groups = np.cumsum(starts) - 1
        labels = list(zip(weights["key"].filter(starts).to_list(), weights["model"].filter(starts).to_list()))
        return cls(
            labels,
            _by_journey(
                groups, _rows_of(index, weights["journey_id"]), weights["weight"].to_numpy(), len(labels), len(index)
            ),
        )

    def credits(self, drawn: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.weights @ drawn, self.weights @ value


class _BootstrapChain:
    """Markov and Shapley inputs: per converting journey, plus the fixed non-converting aggregates.

    A replicate weights each converting journey's moves (and channel set) by how often the
    journey was drawn; the non-converting journeys stay as observed. Each replicate's chain
    is then solved (Markov) and its channel sets valued (Shapley) with the same code as the
    point estimate.
    """

    def __init__(self, markov: dict | None, shapley: dict | None):
        self.markov, self.shapley = markov, shapley
        self.labels = ([(key, "markov") for key in markov["channels"]] if markov else []) + (
            [(key, "shapley") for key in shapley["keys"]] if shapley else []
        )
        self.rows = np.unique(np.concatenate([part["moves"].indices for part in (markov, shapley) if part]))

    @classmethod
    def load(cls, con, models, order: int, index) -> _BootstrapChain:
        markov = shapley = None
        if "markov" in models:
            null_moves = run(con, "select from_state, to_state, count from attribution_null_moves order by all")
            journey_moves = run(
                con, _moves_sql(_converting_lagged(order), order, per_journey=True) + " order by all", _STATE_PARAMS
            )
            pair_codes, pairs = _codes(
                list(
                    zip(
                        null_moves["from_state"].to_list() + journey_moves["from_state"].to_list(),
                        null_moves["to_state"].to_list() + journey_moves["to_state"].to_list(),
                    )
                )
            )
            layout = ChainLayout.from_moves([p[0] for p in pairs], [p[1] for p in pairs])
            n_null, rows = null_moves.height, _rows_of(index, journey_moves["journey_id"])
            markov = {
                "layout": layout,
                "skipped": len(layout.states) > MAX_BOOTSTRAP_STATES,
                "channels": layout.chain(np.zeros(len(pairs)), np.zeros(len(pairs))).channels(),
                "null_counts": np.bincount(
                    pair_codes[:n_null], weights=null_moves["count"].to_numpy(), minlength=len(pairs)
                ),
                "moves": _by_journey(
                    pair_codes[n_null:], rows, journey_moves["count"].to_numpy().astype(float), len(pairs), len(index)
                ),
                # a converting journey's move into (conversion) carries its revenue
                "values": _by_journey(
                    pair_codes[n_null:],
                    rows,
                    (journey_moves["to_state"] == CONVERSION).to_numpy().astype(float),
                    len(pairs),
                    len(index),
                ),
            }
        if "shapley" in models:
            null_sets = run(con, "select channels, journeys from attribution_null_sets order by all")
            bits = _uses_key_bits(con)
            journey_sets = run(
                con,
                f"select journey_id, channels from "
                f"({_with_channels(_journey_sets_sql(_CONVERTING, bits), bits)}) "
                "order by journey_id",
            )
            set_codes, distinct = _codes(null_sets["channels"].to_list() + journey_sets["channels"].to_list())
            keys, shares = membership([channels.split(_SEP) for channels in distinct])
            shapley = {
                "keys": keys,
                "shares": shares,
                "null_journeys": np.bincount(
                    set_codes[: null_sets.height], weights=null_sets["journeys"].to_numpy(), minlength=len(distinct)
                ),
                "moves": _by_journey(
                    set_codes[null_sets.height :],
                    _rows_of(index, journey_sets["journey_id"]),
                    np.ones(journey_sets.height),
                    len(distinct),
                    len(index),
                ),
            }
        return cls(markov, shapley)

    def credits(self, drawn: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        totals = drawn[self.rows].sum(axis=0), value[self.rows].sum(axis=0)
        conversions, revenue = [], []
        if self.markov and self.markov["skipped"]:
            nothing = np.full((len(self.markov["channels"]), drawn.shape[1]), np.nan)
            conversions.append(nothing)
            revenue.append(nothing)
        elif self.markov:
            m = self.markov
            counts, values = m["null_counts"][:, None] + m["moves"] @ drawn, m["values"] @ value
            effects = [
                m["layout"].chain(counts[:, b], values[:, b]).removal_effect_arrays() for b in range(drawn.shape[1])
            ]
            conversions.append(np.column_stack([proportional(e[1], totals[0][b]) for b, e in enumerate(effects)]))
            revenue.append(np.column_stack([proportional(e[2], totals[1][b]) for b, e in enumerate(effects)]))
        if self.shapley:
            s = self.shapley
            set_conversions, set_revenue = s["moves"] @ drawn, s["moves"] @ value
            journeys = s["null_journeys"][:, None] + set_conversions
            phi_conversions = s["shares"] @ rates(set_conversions, journeys)
            phi_revenue = s["shares"] @ rates(set_revenue, journeys)
            conversions.append(
                np.column_stack([proportional(phi_conversions[:, b], totals[0][b]) for b in range(drawn.shape[1])])
            )
            revenue.append(
                np.column_stack([proportional(phi_revenue[:, b], totals[1][b]) for b in range(drawn.shape[1])])
            )
        return np.vstack(conversions), np.vstack(revenue)


# --------------------------------------------------------------------------- journeys for the page


def export_paths(
    con,
    by: str = "channel",
    lookback_days: int = 90,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
    sep: str = " > ",
) -> pl.DataFrame:
    """The warehouse's journeys in ChannelAttribution's path format.

    The same converting and non-converting journeys that ``markov`` and ``shapley`` use,
    one row per distinct path: ``path`` (keys joined by ``sep``), ``total_conversions``,
    ``total_conversion_value``, ``total_null``. Feeding it back through
    :func:`attribute_paths` (or ChannelAttribution) gives the same Markov credit.
    """
    _check(["markov"], by, lookback_days, 1.0, 1)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to):
        key = f"coalesce({_DIMENSION_COLUMN[by]}, '(none)')"
        journey_key, null_from = _null_journey_sql(account_level)
        return run(
            con,
            f"""
            with converting as (
                select array_to_string(list(key order by k), $sep) as path,
                       any_value(conversions) as conversions, any_value(revenue) as revenue, 0.0 as nulls
                from ({_TOUCHES}) group by journey_id
            ),
            null_touches as ({_NULL_TOUCHES.format(journey_key=journey_key, key=key, null_from=null_from)}),
            non_converting as (
                select array_to_string(list(key order by ts, touchpoint_id), $sep) as path,
                       0.0 as conversions, 0.0 as revenue, 1.0 as nulls
                from null_touches group by journey_id
            )
            select path, sum(conversions)::bigint as total_conversions,
                   {_exact_sum("revenue")} as total_conversion_value, sum(nulls)::bigint as total_null
            from (select * from converting union all select * from non_converting)
            group by path
            order by total_conversions desc, total_null desc, path
            """,
            {"sep": sep, "close_from": close_from, "close_to": close_to, "lookback": int(lookback_days)},
        )


def top_paths(
    con,
    by: str = "channel",
    lookback_days: int = 90,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
    limit: int = 20,
) -> pl.DataFrame:
    """The most frequent converting paths: ``path`` (keys joined by " > "), ``conversions``,
    ``revenue``, ``share`` of the attributed conversions, ``touches``."""
    _check(["linear"], by, lookback_days, 1.0, 1)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to):
        return run(
            con,
            f"""
            with journeys as (
                select journey_id, list(key order by k) as path, any_value(revenue) as revenue
                from ({_TOUCHES}) group by journey_id
            )
            select array_to_string(path, ' > ') as path, len(path) as touches,
                   count(*) as conversions, {_exact_sum("revenue")} as revenue,
                   count(*) / sum(count(*)) over () as share
            from journeys
            group by path
            order by conversions desc, revenue desc, path
            limit $limit
            """,
            {"limit": int(limit)},
        )


def journeys_with(
    con,
    value: str,
    by: str = "channel",
    lookback_days: int = 90,
    account_level: bool = False,
    close_from: date | None = None,
    close_to: date | None = None,
    limit: int = 200,
) -> pl.DataFrame:
    """Converting journeys with at least one touch on ``value`` of dimension ``by``.

    Returns ``opportunity_id, contact_id, close_date, revenue, touches, touches_on_value, path``,
    most recent close first.
    """
    _check(["linear"], by, lookback_days, 1.0, 1)
    with _journeys(con, _prepare_warehouse, by, lookback_days, account_level, close_from, close_to):
        return run(
            con,
            """
            with journeys as (
                select journey_id, list(key order by k) as path,
                       count(*) filter (where key = $value) as touches_on_value
                from attribution_touches group by journey_id
            )
            select v.opportunity_id, v.contact_id, v.close_date, v.revenue,
                   len(j.path) as touches, j.touches_on_value, array_to_string(j.path, ' > ') as path
            from journeys as j join attribution_conversions as v using (journey_id)
            where j.touches_on_value > 0
            order by v.close_date desc, v.opportunity_id
            limit $limit
            """,
            {"value": value, "limit": int(limit)},
        )
