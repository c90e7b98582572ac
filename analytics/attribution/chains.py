"""Markov and Shapley inputs, in SQL: transition counts and channel sets over all journeys.

Both models need the journeys that did not convert (:data:`~analytics.attribution.journeys.NULL_TOUCHES`).
Those are aggregated once per call into two small temporary tables (their moves and their channel
sets), because the point estimate and the bootstrap both read them and the scan behind them (every
touchpoint of every contact without a conversion) is the costly part:

- ``attribution_null_moves`` (Markov): ``from_state, to_state, count, value``;
- ``attribution_null_sets`` (Shapley): ``channels, conversions, revenue, journeys``;
- ``attribution_key_bits`` (Shapley, up to :data:`MAX_BITMASK_KEYS` keys): a bit per key, so that
  a journey's channel set is a ``bit_or`` of BIGINTs; with more keys, sets are sorted strings.

The queries read them as the CTEs ``null_moves``, ``null_sets`` and ``key_bits``; the registered
forms (``python -m analytics sql show attribution.transitions``) compute those CTEs inline
from ``null_touches`` instead, so each is one self-contained statement to read and EXPLAIN.
The converting journeys' moves and sets are read from the window's ``touches`` in each query.
Only these aggregates reach numpy (:func:`analytics.attribution.markov.markov_credits`,
:func:`analytics.attribution.shapley.shapley_credits`).
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.attribution.composed import named
from analytics.attribution.dialect import exact_sum
from analytics.attribution.journeys import NULL_TOUCHES, WINDOW_JOURNEYS, Journeys
from analytics.warehouse.runner import Query, rows

# the chain's special states (the same strings as analytics.attribution.markov: START, CONVERSION, NULL)
STATE_PARAMS = {"start_state": "(start)", "conversion_state": "(conversion)", "null_state": "(null)"}
SEP_SQL = "chr(31)"  # joins the keys of a state or a channel set (markov.SEP)
MAX_BITMASK_KEYS = 63  # channel sets as bits of a BIGINT up to this many keys, else as sorted strings

NULL_WEIGHTS = "cast(0.0 as double) as conversions, cast(0.0 as double) as revenue, cast(1.0 as double) as nulls"


def lagged_by_window(
    source: str, order_by: str, order: int, weights: str, join: str = "", engine: str = "duckdb"
) -> str:
    """Touches of ``source`` with the keys up to ``order`` touches back and a last-touch flag.

    One sort; only ``journey_id``, ``key`` and the ``order_by`` columns pass through it
    (the sort carries every column), the journey weights (``weights``, optionally from
    ``join``) are added after it.

    Two forms, the same rows (``tests/attribution/test_engine_forms.py``): DuckDB's sorts every
    touch in one global order (its windows pay per partition, and a million journeys of ~10
    touches cost more that way than one big sort) and compares each lag's journey; Spark's
    partitions by journey, because a window without ``partition by`` runs in a single task.
    """
    if engine == "spark":
        lags = ", ".join(f"lag(key, {i}) over w as key_{i}" for i in range(1, order + 1))
        last, window = "lead(journey_id) over w is null", f"partition by journey_id order by {order_by}"
    else:
        lags = ", ".join(
            f"case when lag(journey_id, {i}) over w = journey_id then lag(key, {i}) over w end as key_{i}"
            for i in range(1, order + 1)
        )
        last, window = "lead(journey_id) over w is distinct from journey_id", f"order by journey_id, {order_by}"
    return f"""
        select l.*, {weights}
        from (
            select journey_id, key, {lags}, {last} as is_last
            from ({source}) as s
            window w as ({window})
        ) as l
        {join}
    """


def lagged_by_index(source: str, order: int) -> str:
    """The same from journeys given as ordered lists ``path`` with their weights (path files only)."""
    lags = ", ".join(f"case when i > {j} then path[i - {j}] end as key_{j}" for j in range(1, order + 1))
    return f"""
        select journey_id, conversions, revenue, nulls, path[i] as key, {lags}, i = len(path) as is_last
        from (select *, generate_subscripts(path, 1) as i from ({source}) as s) as p
    """


def converting_lagged(order: int, engine: str = "duckdb") -> str:
    return lagged_by_window(
        "select journey_id, key, k from touches",
        "k",
        order,
        "v.conversions, v.revenue, cast(0.0 as double) as nulls",
        "join conversions as v on v.journey_id = l.journey_id",
        engine,
    )


def null_lagged(order: int, engine: str = "duckdb") -> str:
    return lagged_by_window("select * from null_touches", "ts, touchpoint_id", order, NULL_WEIGHTS, engine=engine)


def moves_sql(lagged: str, order: int, per_journey: bool) -> str:
    """Markov moves of the touches in ``lagged`` (see :func:`lagged_by_window`).

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
        to_state = f"concat_ws({SEP_SQL}, " + ", ".join([*lags[1:], "key"]) + ")"
        from_state = f"concat_ws({SEP_SQL}, " + ", ".join(lags) + ")"
    journey = "journey_id, " if per_journey else ""
    # ``grouped`` is read once, by a cross join with the three kinds of move (Spark computes a CTE
    # again at every reference): kind 0 the move itself, 1 a last touch into (conversion), 2 into (null)
    return f"""
        select {journey}from_state, to_state, sum(count) as count, {exact_sum("value")} as value
        from (
            select {journey}case when kinds.kind = 0 then g.from_state else g.to_state end as from_state,
                   case kinds.kind when 0 then g.to_state when 1 then $conversion_state else $null_state end
                       as to_state,
                   case kinds.kind when 0 then g.moves when 1 then g.conversions else g.nulls end as count,
                   case when kinds.kind = 1 then g.revenue else cast(0.0 as double) end as value
            from (  -- one pass over the touches; the rest is on small groups
                select {journey}from_state, to_state, is_last,
                       sum(conversions + nulls) as moves, sum(conversions) as conversions,
                       {exact_sum("revenue")} as revenue, sum(nulls) as nulls
                from (
                    select {journey}case when key_1 is null then $start_state else {from_state} end as from_state,
                           {to_state} as to_state, is_last, conversions, nulls, revenue
                    from ({lagged}) as lagged
                ) as states
                group by {journey}from_state, to_state, is_last
            ) as g
            cross join (values (0), (1), (2)) as kinds(kind)
            where kinds.kind = 0
               or (g.is_last and (kinds.kind = 1 and g.conversions > 0 or kinds.kind = 2 and g.nulls > 0))
        ) as moves
        group by {journey}from_state, to_state
    """


def journey_sets_sql(source: str, bits: bool) -> str:
    """Each journey of ``source`` with its set of distinct keys as ``set_id``: a BIGINT bit mask over
    ``attribution_key_bits`` when ``bits``, else the sorted keys joined by ``chr(31)``."""
    if bits:
        set_id, join = "bit_or(cast(1 as bigint) << b.bit)", "join key_bits as b on b.key = s.key"
    else:
        set_id, join = f"string_agg(distinct s.key, {SEP_SQL} order by s.key)", ""
    return f"""
        select s.journey_id, {set_id} as set_id, any_value(s.conversions) as conversions,
               any_value(s.revenue) as revenue, any_value(s.nulls) as nulls
        from ({source}) as s {join}
        group by s.journey_id
    """


def with_channels(sets: str, bits: bool, distinct_sets: bool = True) -> str:
    """Add ``channels`` (the keys joined by ``chr(31)``) to rows with a ``set_id``; ``distinct_sets``:
    each row has its own ``set_id`` (rows grouped by it), so each is named in place."""
    if not bits:
        return f"select *, set_id as channels from ({sets}) as sets"
    names = f"""(select string_agg(b.key, {SEP_SQL} order by b.key)
                    from key_bits as b where (d.set_id >> b.bit) & 1 = 1)"""
    if distinct_sets:  # read once (Spark computes a CTE again at every reference)
        return f"select d.*, {names} as channels from ({sets}) as d"
    return f"""
        with masked as ({sets}),
        names as (
            select d.set_id, {names} as channels
            from (select distinct set_id from masked) as d
        )
        select masked.*, names.channels from masked join names on names.set_id = masked.set_id
    """


def sets_sql(journey_sets: str, bits: bool) -> str:
    """Journeys aggregated by their channel set (for Shapley): ``channels, conversions, revenue, journeys``."""
    grouped = f"""
        select set_id, sum(conversions) as conversions, {exact_sum("revenue")} as revenue,
               sum(conversions + nulls) as journeys
        from ({journey_sets}) as j group by set_id
    """
    return f"select channels, conversions, revenue, journeys from ({with_channels(grouped, bits)}) as c"


# converting touches with their journey's weights
CONVERTING = (
    "select t.journey_id, t.key, t.k, v.conversions, v.revenue, cast(0.0 as double) as nulls "
    "from touches as t join conversions as v on v.journey_id = t.journey_id"
)

# --------------------------------------------------------------------------- the non-converting aggregates

KEY_BITS_CTE = """
    key_bits as (
        select key, cast(row_number() over (order by key) - 1 as integer) as bit
        from (select key from touches union select key from null_touches) as keys
    )"""
NULL_SOURCE = f"select *, {NULL_WEIGHTS} from null_touches"


def null_moves_cte(order: int, engine: str = "duckdb") -> str:
    return f"null_moves as ({moves_sql(null_lagged(order, engine), order, per_journey=False)})"


def null_sets_cte(bits: bool) -> str:
    return f"null_sets as ({sets_sql(journey_sets_sql(NULL_SOURCE, bits), bits)})"


def inline_chain_ctes(needed: Sequence[str], order: int = 1, bits: bool = False) -> str:
    """The CTEs ``null_touches`` and the ``needed`` ones of ``key_bits, null_moves, null_sets``,
    computed in the statement (the registered, self-contained form)."""
    parts = ["{null_touches}"]
    if "key_bits" in needed or ("null_sets" in needed and bits):
        parts.append(KEY_BITS_CTE.strip())
    if "null_moves" in needed:
        parts.append(null_moves_cte(order))
    if "null_sets" in needed:
        parts.append(null_sets_cte(bits))
    return ",\n    ".join(parts)


def _prepared_ctes(journeys: Journeys, needed: Sequence[str]) -> str:
    """The ``needed`` CTEs as reads of the temporary tables :func:`prepare` made."""
    return ",\n    ".join(f"{name} as (select * from attribution_{name})" for name in needed)


def _registered(template: str, needed: Sequence[str]) -> str:
    sql = template.replace("{chain}", inline_chain_ctes(needed))
    return sql.replace("{journeys}", WINDOW_JOURNEYS.strip()).replace("{null_touches}", NULL_TOUCHES.strip())


def _query(journeys: Journeys, registered: Query, template: str, needed: Sequence[str], note: str) -> Query:
    sql = journeys.sql(template.replace("{chain}", _prepared_ctes(journeys, needed)))
    return named(f"{registered.name} ({note}{journeys.source} journeys; prepared chain inputs)", sql)


_KEY_BITS = "with {journeys}, {null_touches}, " + KEY_BITS_CTE.strip() + " select key, bit from key_bits"
KEY_BITS = Query(
    "attribution.key_bits",
    _registered(_KEY_BITS, []),
    "A bit per key of the window's journeys, converting or not (Shapley's channel sets as bit masks).",
)
NULL_MOVES = Query(
    "attribution.null_moves",
    _registered("with {journeys}, {chain} select from_state, to_state, count, value from null_moves", ["null_moves"]),
    "Markov moves (order 1) of the window's non-converting journeys; orders 2-3 join 2-3 keys per state.",
)
NULL_SETS = Query(
    "attribution.null_sets",
    _registered(
        "with {journeys}, {chain} select channels, conversions, revenue, journeys from null_sets", ["null_sets"]
    ),
    "Channel sets (sorted keys) of the window's non-converting journeys, with their counts (Shapley).",
)


def prepare(journeys: Journeys, chain_models: Sequence[str], order: int) -> None:
    """Aggregate the non-converting journeys once into temporary tables: their moves (Markov) and
    channel sets (Shapley), and the key bits when there are at most :data:`MAX_BITMASK_KEYS` keys."""
    if "shapley" in chain_models:
        journeys.create("attribution_key_bits", named(KEY_BITS.name, journeys.sql(_KEY_BITS)))
        journeys.key_bits = rows(journeys.con, "select count(*) from attribution_key_bits")[0][0] <= MAX_BITMASK_KEYS
        if not journeys.key_bits:
            journeys.drop("attribution_key_bits")
    if "markov" in chain_models:
        template = (
            "with {journeys}, {null_touches}, " + null_moves_cte(order, journeys.engine) + " select * from null_moves"
        )
        name = NULL_MOVES.name + ("" if order == 1 else f" (order {order})")
        journeys.create("attribution_null_moves", named(name, journeys.sql(template)), STATE_PARAMS)
    if "shapley" in chain_models:
        bits = journeys.key_bits
        reads = "key_bits as (select * from attribution_key_bits), " if bits else ""
        template = "with {journeys}, {null_touches}, " + reads + null_sets_cte(bits) + " select * from null_sets"
        name = NULL_SETS.name + (" (bit masks)" if bits else "")
        journeys.create("attribution_null_sets", named(name, journeys.sql(template)))


# --------------------------------------------------------------------------- the aggregates of all journeys

_TRANSITIONS = """
with
    {journeys},
    {chain},
    converting_moves as ({converting_moves}),
    moves as (
        select from_state, to_state, count, value from converting_moves
        union all
        select from_state, to_state, count, value from null_moves
    )
select from_state, to_state, sum(count) as count, {value} as value
from moves
group by from_state, to_state
""".replace("{value}", exact_sum("value"))


def _transitions(order: int, engine: str = "duckdb") -> str:
    return _TRANSITIONS.replace(
        "{converting_moves}", moves_sql(converting_lagged(order, engine), order, per_journey=False)
    )


TRANSITIONS = Query(
    "attribution.transitions",
    _registered(_transitions(1), ["null_moves"]),
    "Weighted Markov move counts over all journeys, converting and not (order 1; $start_state, $conversion_state, $null_state).",
)


def transitions_query(journeys: Journeys, order: int) -> Query:
    return _query(journeys, TRANSITIONS, _transitions(order, journeys.engine), ["null_moves"], f"order {order}; ")


def journey_moves_query(journeys: Journeys, order: int) -> Query:
    """Per converting journey, its Markov moves (the bootstrap's input)."""
    sql = journeys.sql(
        "with {journeys}, moves as ("
        + moves_sql(converting_lagged(order, journeys.engine), order, per_journey=True)
        + ") "
        "select journey_id, from_state, to_state, count, value from moves "
        "order by journey_id, from_state, to_state, count, value"
    )
    return named(f"attribution.journey_moves (order {order}; {journeys.source} journeys)", sql)


def _channel_sets(bits: bool) -> str:
    return f"""
with
    {{journeys}},
    {{chain}},
    converting_sets as ({sets_sql(journey_sets_sql(CONVERTING, bits), bits)}),
    sets as (
        select channels, conversions, revenue, journeys from converting_sets
        union all
        select channels, conversions, revenue, journeys from null_sets
    )
select channels, sum(conversions) as conversions, {exact_sum("revenue")} as revenue, sum(journeys) as journeys
from sets
group by channels
"""


CHANNEL_SETS = Query(
    "attribution.channel_sets",
    _registered(_channel_sets(False), ["null_sets"]),
    "Journeys by their set of keys (sorted, joined by chr(31)), converting and not (Shapley).",
)


def channel_sets_query(journeys: Journeys) -> Query:
    bits = journeys.key_bits
    needed = ["key_bits", "null_sets"] if bits else ["null_sets"]
    return _query(journeys, CHANNEL_SETS, _channel_sets(bits), needed, "bit masks; " if bits else "")


def journey_sets_query(journeys: Journeys) -> Query:
    """Per converting journey, its channel set (the bootstrap's input)."""
    bits = journeys.key_bits
    reads = ", key_bits as (select * from attribution_key_bits)" if bits else ""
    sql = journeys.sql(
        "with {journeys}"
        + reads
        + ", sets as ("
        + with_channels(journey_sets_sql(CONVERTING, bits), bits, distinct_sets=False)
        + ") select journey_id, channels from sets order by journey_id"
    )
    return named(f"attribution.journey_sets ({journeys.source} journeys)", sql)


ATTRIBUTED_TOTALS = Query(
    "attribution.attributed_totals",
    f"""
with
    {WINDOW_JOURNEYS.strip()}
select coalesce(sum(conversions), 0) as conversions, coalesce({exact_sum("revenue")}, 0) as revenue
from conversions as v
where exists (select 1 from touches as t where t.journey_id = v.journey_id)
""",
    "Conversions and revenue of the window's journeys with an eligible touch (what Markov and Shapley split).",
)


def attributed_totals(journeys: Journeys) -> tuple[float, float]:
    sql = journeys.sql(ATTRIBUTED_TOTALS.sql.replace(WINDOW_JOURNEYS.strip(), "{journeys}"))
    query = (
        ATTRIBUTED_TOTALS
        if sql == ATTRIBUTED_TOTALS.sql
        else named(f"{ATTRIBUTED_TOTALS.name} ({journeys.source} journeys)", sql)
    )
    result = rows(journeys.con, query, journeys.params)
    return float(result[0][0]), float(result[0][1])
