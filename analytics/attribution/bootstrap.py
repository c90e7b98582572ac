"""Bootstrap intervals of every model's credit: the Poisson bootstrap, its replicates aggregated in SQL.

**The replicates.** Replicate *b* (``0 <= b < n_boot``) weights each conversion *j* of the
window (a won deal, with or without eligible touches) by a draw

.. math:: w_{jb} \\sim \\text{Poisson}(1), \\text{ independent over } j \\text{ and } b,

and recomputes every model on the weighted conversions; non-converting journeys stay fixed.
The replicate is then normalized to the window's size: every credit of replicate *b* is scaled
by :math:`s_b = \\sum_j c_j / \\sum_j w_{jb} c_j` (``c_j`` the journey's conversions), so each
replicate, like a draw of *n* out of *n*, counts as many conversions as the window (the
normalized Poisson bootstrap; without it a replicate's total would vary by the Poisson noise in
its size, which widens the intervals of totals). The interval is the 2.5th and 97.5th
percentile of the replicates' credit per key (a key not credited in a replicate counts as 0
there). A Markov chain of more than
:data:`MAX_BOOTSTRAP_STATES` states (order 2-3 by campaign) gets no interval: null bounds.

**The draws** are made in SQL from a seeded hash of ``(seed, b, journey_id)`` in 64-bit integer
arithmetic modulo the prime :math:`p = 2^{31} - 1` (:data:`DRAWS`): two rounds of squaring and
two of multiplication, then the Poisson inverse CDF on :math:`h / p` as integer thresholds
(:data:`POISSON_THRESHOLDS`). Integer arithmetic is exact on every engine, so DuckDB and Spark
draw the same weights, and a replicate is the same whatever the number of replicates or the
engine's partitioning; only rows with :math:`w_{jb} > 0` (63%) are kept.

**Only aggregates leave the engine**: per replicate, the attributed and unattributed totals
(:func:`totals_query`), each key's rule-based credit (:func:`rule_query`: ``sum(w * weight)``
over the journeys' weights), the Markov move counts (:func:`moves_query`) and the Shapley
channel-set counts (:func:`sets_query`), so the driver holds ``n_boot`` times the size of the
point estimate's inputs. Per replicate, numpy solves the chain (the moves of the converting
journeys weighted, plus the fixed non-converting ones) and values the channel sets with the same
code as the point estimate.

**Agreement with the earlier intervals.** Until this version the replicates drew the window's
*n* conversions with replacement, *n* of them (numpy's multinomial counts, ``rng.integers``).
The Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012, "Estimating uncertainty
for massive data streams") draws each count independently: each count's distribution,
Binomial(n, 1/n) before, is Poisson(1) in the limit, and the normalization above gives every
replicate the window's size, as the multinomial did; so both estimate the same sampling
distribution, and the intervals agree to within the Monte-Carlo error of the replicates
(``tests/attribution/test_bootstrap.py`` compares both on the demo: multinomial counts drawn
by numpy fed through the same SQL). Given the same weights, the computation is exact: with
every weight 1 each replicate is the point estimate (to the fixed-point sums' 2^-40, tested).
The earlier intervals themselves cannot be reproduced draw for draw: numpy's PCG64 stream has
no SQL equivalent, so the same ``seed`` now gives other (equally valid) replicates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from analytics.attribution import chains, rules
from analytics.attribution.composed import named
from analytics.attribution.credit import proportional
from analytics.attribution.dialect import SCALE, exact_sum
from analytics.attribution.journeys import Journeys
from analytics.attribution.markov import SEP as _SEP
from analytics.attribution.markov import ChainLayout
from analytics.attribution.models import MODEL_RANK, UNATTRIBUTED, split
from analytics.attribution.shapley import membership, rates
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import run

# Markov chains with more states get no bootstrap interval: each replicate solves the chain
# once per channel, which for a chain of thousands of states (order 2-3 by campaign) takes
# seconds, so 100 replicates would take minutes.
MAX_BOOTSTRAP_STATES = 400
MAX_REPLICATES = 10_000  # replicate numbers are made from four decimal digits
PRIME = 2_147_483_647  # 2^31 - 1: every product of two residues fits a signed 64-bit integer


def check_n_boot(n_boot: int) -> None:
    if n_boot < 2:
        raise RevLensError(f"n_boot={n_boot} is too few replicates for an interval; use at least 2 (200 is usual).")
    if n_boot > MAX_REPLICATES:
        raise RevLensError(f"n_boot={n_boot} is more replicates than {MAX_REPLICATES:,}; 200 to 1,000 is usual.")


def _poisson_thresholds(prime: int = PRIME) -> tuple[int, ...]:
    """``floor(F(k) * p)`` for the Poisson(1) CDF ``F`` at k = 0, 1, ...: ``w = k`` when
    ``T(k-1) <= h < T(k)``, for a hash ``h`` uniform on ``[0, p)``."""
    thresholds, cdf, k = [], 0.0, 0
    while True:
        cdf += math.exp(-1.0) / math.factorial(k)
        thresholds.append(min(prime - 1, math.floor(cdf * prime)))
        if thresholds[-1] >= prime - 1:
            return tuple(thresholds)
        k += 1


POISSON_THRESHOLDS = _poisson_thresholds()
_DIGITS = "(values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9))"
_NUMBER = "d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d"
_WEIGHT = (
    "case "
    + " ".join(f"when h < {t} then {k}" for k, t in enumerate(POISSON_THRESHOLDS))
    + f" else {len(POISSON_THRESHOLDS)} end"
)

# The CTEs ``replicates`` (b) and ``draws`` (journey_id, b, w > 0), after {journeys}.
DRAWS = f"""
    replicates as (
        select cast({_NUMBER} as bigint) as b
        from {_DIGITS} as d0(d)
        cross join {_DIGITS} as d1(d)
        cross join {_DIGITS} as d2(d)
        cross join {_DIGITS} as d3(d)
        where {_NUMBER} < $n_boot
    ),
    draw_hashes as (
        select journey_id, b, (h3 * 69621 + 13) % {PRIME} as h
        from (
            select journey_id, b, (h2 * h2 + b * 16807 + 11) % {PRIME} as h3
            from (
                select journey_id, b, (h1 * 48271 + b + 1) % {PRIME} as h2
                from (
                    select journey_id, b, (h0 * h0 + j + 7) % {PRIME} as h1
                    from (
                        select v.journey_id, r.b, cast(v.journey_id as bigint) % {PRIME} as j,
                               (cast(v.journey_id as bigint) % {PRIME} * 16807 + r.b * 48271 + $seed_key) % {PRIME}
                                   as h0
                        from conversions as v
                        cross join replicates as r
                    ) as keyed
                ) as round_1
            ) as round_2
        ) as round_3
    ),
    draws as (
        select journey_id, b, w
        from (select journey_id, b, {_WEIGHT} as w from draw_hashes) as weighted
        where w > 0
    )"""


def seed_key(seed: int) -> int:
    """The seed as the residue the draws mix in."""
    return (int(seed) * 69621 + 12345) % PRIME


def poisson_weights(journey_ids: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """:data:`DRAWS` in numpy (``journeys x replicates``), for tests and for reading the scheme."""
    j = np.asarray(journey_ids, dtype=np.int64)[:, None] % PRIME
    b = np.arange(n_boot, dtype=np.int64)[None, :]
    h0 = (j * 16807 + b * 48271 + seed_key(seed)) % PRIME
    h1 = (h0 * h0 + j + 7) % PRIME
    h2 = (h1 * 48271 + b + 1) % PRIME
    h3 = (h2 * h2 + b * 16807 + 11) % PRIME
    h = (h3 * 69621 + 13) % PRIME
    return np.searchsorted(np.array(POISSON_THRESHOLDS), h, side="right").astype(float)


# --------------------------------------------------------------------------- the replicate aggregates

_TOTALS = f"""
with
    {{journeys}},{{draws}},
    attributed as (select distinct journey_id from touches),
    fixed_conversions as (
        select v.journey_id, v.conversions, cast(round(v.revenue * {SCALE}) as hugeint) as revenue,
               a.journey_id is not null as is_attributed
        from conversions as v
        left join attributed as a on a.journey_id = v.journey_id
    ),
    drawn as (
        select d.b, d.w * v.conversions as conversions, d.w * v.revenue as revenue, v.is_attributed
        from draws as d
        join fixed_conversions as v on v.journey_id = d.journey_id
    )
select b,
       cast(coalesce(sum(case when is_attributed then conversions end), 0) as double) as attributed_conversions,
       cast(coalesce(sum(case when is_attributed then revenue end), 0) / {SCALE} as double) as attributed_revenue,
       cast(coalesce(sum(case when not is_attributed then conversions end), 0) as double) as unattributed_conversions,
       cast(coalesce(sum(case when not is_attributed then revenue end), 0) / {SCALE} as double) as unattributed_revenue
from drawn
group by b
"""


def _draws_sql(template: str, draws: str | None) -> str:
    return template.replace("{draws}", draws or DRAWS)


def totals_query(journeys: Journeys, draws: str | None = None):
    """Per replicate: the drawn conversions and revenue with an eligible touch (what Markov and
    Shapley split) and without one (``(unattributed)``)."""
    return named(f"attribution.replicate_totals ({journeys.source} journeys)", journeys.sql(_draws_sql(_TOTALS, draws)))


def rule_query(journeys: Journeys, models: Sequence[str], draws: str | None = None):
    """Per replicate and key, ``<model>_conversions, <model>_revenue``: the sums over the drawn
    journeys of ``w * conversions * weight`` and ``w * revenue * weight``.

    Each journey's credit is made fixed-point once (``round(x * 2^40)`` as a 128-bit integer), so
    a replicate's sum is integer multiply-adds: exact, in any order, on every engine."""
    weight = {m: exact_sum("w." + m) for m in models}
    journey_credit = ",\n               ".join(
        f"{_fixed('v.conversions * ' + weight[m])} as {m}_conversions, "
        f"{_fixed('v.revenue * ' + weight[m])} as {m}_revenue"
        for m in models
    )
    credits = ",\n           ".join(
        f"cast(sum(d.w * c.{m}_conversions) / {SCALE} as double) as {m}_conversions, "
        f"cast(sum(d.w * c.{m}_revenue) / {SCALE} as double) as {m}_revenue"
        for m in models
    )
    template = f"""
with
    {{journeys}},{rules.weights_ctes(models)},{{draws}},
    journey_credit as (
        select w.journey_id, w.key,
               {journey_credit}
        from weights as w
        join conversions as v on v.journey_id = w.journey_id
        group by w.journey_id, w.key, v.conversions, v.revenue
    )
select d.b, c.key,
       {credits}
from journey_credit as c
join draws as d on d.journey_id = c.journey_id
group by d.b, c.key
"""
    return named(
        f"attribution.replicate_rule_credits ({', '.join(models)}; {journeys.source} journeys)",
        journeys.sql(_draws_sql(template, draws)),
    )


def _fixed(expr: str) -> str:
    return f"cast(round(({expr}) * {SCALE}) as hugeint)"


def _converting_moves(journeys: Journeys, order: int) -> str:
    return chains.moves_sql(chains.converting_lagged(order, journeys.engine), order, per_journey=True)


def move_pairs_query(journeys: Journeys, order: int):
    """The distinct Markov moves of the converting journeys (the chain's layout, whatever is drawn)."""
    sql = journeys.sql(
        f"with {{journeys}}, moves as ({_converting_moves(journeys, order)}) "
        "select distinct from_state, to_state from moves"
    )
    return named(f"attribution.converting_move_pairs (order {order}; {journeys.source} journeys)", sql)


def moves_query(journeys: Journeys, order: int, draws: str | None = None):
    """Per replicate, the converting journeys' Markov moves weighted by their draws."""
    template = f"""
with
    {{journeys}},{{draws}},
    moves as ({_converting_moves(journeys, order)})
select d.b, m.from_state, m.to_state, sum(d.w * m.count) as count, {exact_sum("d.w * m.value")} as value
from moves as m
join draws as d on d.journey_id = m.journey_id
group by d.b, m.from_state, m.to_state
"""
    return named(
        f"attribution.replicate_moves (order {order}; {journeys.source} journeys)",
        journeys.sql(_draws_sql(template, draws)),
    )


def sets_query(journeys: Journeys, draws: str | None = None):
    """Per replicate and channel set (sorted keys joined by ``chr(31)``), the drawn converting
    journeys (``conversions``) and their revenue."""
    bits = journeys.key_bits
    reads = "key_bits as (select * from attribution_key_bits)," if bits else ""
    replicate_sets = f"""
        select d.b, s.set_id, sum(d.w * s.conversions) as conversions, {exact_sum("d.w * s.revenue")} as revenue
        from journey_sets as s
        join draws as d on d.journey_id = s.journey_id
        group by d.b, s.set_id
    """
    template = f"""
with
    {{journeys}}, {reads}{{draws}},
    journey_sets as ({chains.journey_sets_sql(chains.CONVERTING, bits)})
select b, channels, conversions, revenue
from ({chains.with_channels(replicate_sets, bits)}) as named_sets
"""
    return named(
        f"attribution.replicate_channel_sets ({'bit masks; ' if bits else ''}{journeys.source} journeys)",
        journeys.sql(_draws_sql(template, draws)),
    )


# --------------------------------------------------------------------------- intervals


def _matrix(frame: pl.DataFrame, labels: list, label_of, value: str, n_boot: int) -> np.ndarray:
    """``labels x replicates`` of ``value`` from long rows (``b`` and the label columns); 0 where absent."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(labels), n_boot))
    if frame.height:
        rows = np.array([index[label] for label in label_of(frame)], dtype=np.int64)
        out[rows, frame["b"].to_numpy().astype(np.int64)] = frame[value].to_numpy()
    return out


def bootstrap(
    journeys: Journeys,
    models: Sequence[str],
    n_boot: int,
    seed: int,
    half_life_days: float,
    order: int,
    draws: str | None = None,
) -> pl.DataFrame:
    """Bootstrap intervals (see the module docstring) of ``models`` on ``journeys`` (chain inputs
    prepared), as ``key, model, conversions_low, conversions_high, revenue_low, revenue_high``.

    ``draws`` replaces :data:`DRAWS` (CTEs ending in ``draws (journey_id, b, w)``): the tests draw
    multinomial counts through it."""
    rule, chain = split(models)
    params = {
        **journeys.params,
        **rules.params(half_life_days),
        **chains.STATE_PARAMS,
        "n_boot": n_boot,
        "seed_key": seed_key(seed),
    }
    con = journeys.con
    totals = run(con, totals_query(journeys, draws), params)
    by_b = np.zeros((4, n_boot))
    if totals.height:
        replicate = totals["b"].to_numpy().astype(np.int64)
        for i, name in enumerate(
            ("attributed_conversions", "attributed_revenue", "unattributed_conversions", "unattributed_revenue")
        ):
            by_b[i, replicate] = totals[name].to_numpy()
    attributed = by_b[0], by_b[1]
    labels: list[tuple[str, str]] = []
    conversions, revenue = [], []
    keys = sorted(run(con, named("attribution.keys", journeys.sql(_KEYS)), params)["key"].to_list())
    if rule:
        credits = run(con, rule_query(journeys, rule, draws), params)
        for m in rule:
            labels += [(key, m) for key in keys]
            conversions.append(_matrix(credits, keys, lambda f: f["key"].to_list(), f"{m}_conversions", n_boot))
            revenue.append(_matrix(credits, keys, lambda f: f["key"].to_list(), f"{m}_revenue", n_boot))
    if "markov" in chain:
        part = _markov(journeys, order, params, draws, attributed, n_boot)
        labels += [(key, "markov") for key in part[0]]
        conversions.append(part[1])
        revenue.append(part[2])
    if "shapley" in chain:
        part = _shapley(journeys, params, draws, attributed, n_boot, keys)
        labels += [(key, "shapley") for key in part[0]]
        conversions.append(part[1])
        revenue.append(part[2])
    labels += [(UNATTRIBUTED, m) for m in models]
    conversions.append(np.tile(by_b[2], (len(models), 1)))
    revenue.append(np.tile(by_b[3], (len(models), 1)))
    # normalized: replicate b counts as many conversions as the window (see the module docstring)
    window_conversions = run(con, named("attribution.window_conversions", journeys.sql(_CONVERSIONS)), params)
    drawn = by_b[0] + by_b[2]
    scale = np.divide(float(window_conversions["conversions"][0] or 0.0), drawn, out=np.zeros(n_boot), where=drawn > 0)
    by_replicate = {"conversions": np.vstack(conversions) * scale, "revenue": np.vstack(revenue) * scale}
    bounds = {name: np.quantile(values, [0.025, 0.975], axis=1) for name, values in by_replicate.items()}
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
        .sort(pl.col("model").replace_strict(MODEL_RANK, return_dtype=pl.Int32), pl.col("key") == UNATTRIBUTED, "key")
    )


_KEYS = "with {journeys} select distinct key from touches"
_CONVERSIONS = "with {journeys} select cast(coalesce(sum(conversions), 0) as double) as conversions from conversions"


def _pair_codes(frame: pl.DataFrame, index: dict) -> np.ndarray:
    pairs = zip(frame["from_state"].to_list(), frame["to_state"].to_list())
    return np.array([index[pair] for pair in pairs], dtype=np.int64)


def _markov(journeys: Journeys, order: int, params: dict, draws, attributed, n_boot: int):
    """Markov credit per replicate: ``(channels, conversions, revenue)``, channels x replicates."""
    con = journeys.con
    null_moves = run(
        con,
        named(
            "attribution.null_moves (prepared)",
            "select from_state, to_state, count from attribution_null_moves order by from_state, to_state",
        ),
    )
    converting = run(con, move_pairs_query(journeys, order), params).sort("from_state", "to_state")
    pairs = list(
        dict.fromkeys(
            zip(
                null_moves["from_state"].to_list() + converting["from_state"].to_list(),
                null_moves["to_state"].to_list() + converting["to_state"].to_list(),
            )
        )
    )
    index = {pair: i for i, pair in enumerate(pairs)}
    layout = ChainLayout.from_moves([p[0] for p in pairs], [p[1] for p in pairs])
    channels = layout.chain(np.zeros(len(pairs)), np.zeros(len(pairs))).channels()
    if len(layout.states) > MAX_BOOTSTRAP_STATES:
        nothing = np.full((len(channels), n_boot), np.nan)
        return channels, nothing, nothing
    fixed = np.bincount(_pair_codes(null_moves, index), weights=null_moves["count"].to_numpy(), minlength=len(pairs))
    moves = run(con, moves_query(journeys, order, draws), params)
    counts = _matrix(moves, pairs, lambda f: list(zip(f["from_state"], f["to_state"])), "count", n_boot)
    values = _matrix(moves, pairs, lambda f: list(zip(f["from_state"], f["to_state"])), "value", n_boot)
    counts += fixed[:, None]
    effects = [layout.chain(counts[:, b], values[:, b]).removal_effect_arrays() for b in range(n_boot)]
    return (
        channels,
        np.column_stack([proportional(e[1], attributed[0][b]) for b, e in enumerate(effects)]),
        np.column_stack([proportional(e[2], attributed[1][b]) for b, e in enumerate(effects)]),
    )


def _shapley(journeys: Journeys, params: dict, draws, attributed, n_boot: int, touch_keys: list[str]):
    """Shapley credit per replicate: ``(keys, conversions, revenue)``, keys x replicates; every key of
    the window's touches or of a non-converting set has a row (0 where no drawn set has it)."""
    con = journeys.con
    null_sets = run(
        con,
        named(
            "attribution.null_sets (prepared)",
            "select channels, journeys from attribution_null_sets order by channels, journeys",
        ),
    )
    drawn = run(con, sets_query(journeys, draws), params)
    distinct = list(dict.fromkeys(null_sets["channels"].to_list() + sorted(set(drawn["channels"].to_list()))))
    set_keys, set_shares = membership([channels.split(_SEP) for channels in distinct])
    keys = sorted(set(set_keys) | set(touch_keys))
    position = {key: i for i, key in enumerate(keys)}
    shares = np.zeros((len(keys), len(distinct)))
    shares[[position[key] for key in set_keys]] = set_shares.toarray()
    index = {channels: i for i, channels in enumerate(distinct)}
    null_journeys = np.zeros(len(distinct))
    np.add.at(null_journeys, [index[c] for c in null_sets["channels"].to_list()], null_sets["journeys"].to_numpy())
    set_conversions = _matrix(drawn, distinct, lambda f: f["channels"].to_list(), "conversions", n_boot)
    set_revenue = _matrix(drawn, distinct, lambda f: f["channels"].to_list(), "revenue", n_boot)
    journeys_by_set = null_journeys[:, None] + set_conversions
    phi_conversions = shares @ rates(set_conversions, journeys_by_set)
    phi_revenue = shares @ rates(set_revenue, journeys_by_set)
    return (
        keys,
        np.column_stack([proportional(phi_conversions[:, b], attributed[0][b]) for b in range(n_boot)]),
        np.column_stack([proportional(phi_revenue[:, b], attributed[1][b]) for b in range(n_boot)]),
    )
