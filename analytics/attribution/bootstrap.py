"""Bootstrap intervals of every model's credit: the window's conversions redrawn with replacement.

Each replicate draws the window's conversions (won deals, with or without eligible touches)
with replacement, as many as there are, and recomputes every model on them; non-converting
journeys stay fixed. The interval is the 2.5th and 97.5th percentile of the replicates'
credit per key (keys never credited in a replicate count as 0 there). Deterministic for a
given ``seed``. A Markov chain of more than :data:`MAX_BOOTSTRAP_STATES` states (order 2-3
by campaign) gets no interval: its rows have null bounds.

Replicates are drawn in blocks, one column per replicate (``drawn[j, b]``: how often
journey j was drawn in replicate b); every part turns a block into credit per
``(key, model)`` and replicate at once:

- rule-based credit is a sparse (key, model) x journey matrix of the per-journey weights
  (:data:`analytics.attribution.rules.JOURNEY_WEIGHTS`) applied to the draw counts;
- each replicate's Markov chain is filled in from a layout built once, from the per-journey
  moves and the fixed non-converting ones;
- the Shapley channel-set rates are a membership matrix applied to the per-set rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from analytics.attribution import chains, rules
from analytics.attribution.composed import named
from analytics.attribution.credit import proportional
from analytics.attribution.journeys import Journeys
from analytics.attribution.markov import CONVERSION, ChainLayout
from analytics.attribution.markov import SEP as _SEP
from analytics.attribution.models import MODEL_RANK, UNATTRIBUTED, split
from analytics.attribution.shapley import membership, rates
from analytics.core.errors import RevLensError
from analytics.warehouse.runner import run


def check_n_boot(n_boot: int) -> None:
    if n_boot < 2:
        raise RevLensError(f"n_boot={n_boot} is too few replicates for an interval; use at least 2 (200 is usual).")


# journeys × replicates drawn at once; bounds the bootstrap's memory on a large window
_BOOTSTRAP_CELLS = 4_000_000
# Markov chains with more states get no bootstrap interval: each replicate solves the chain
# once per channel, which for a chain of thousands of states (order 2-3 by campaign) takes
# seconds, so 100 replicates would take minutes.
MAX_BOOTSTRAP_STATES = 400


JOURNEY_REVENUE = "with {journeys} select journey_id, revenue from conversions order by journey_id"


def bootstrap(
    journeys: Journeys, models: Sequence[str], n_boot: int, seed: int, half_life_days: float, order: int
) -> pl.DataFrame:
    """Bootstrap intervals (see the module docstring) of ``models`` on ``journeys`` (chain inputs
    prepared), as ``key, model, conversions_low, conversions_high, revenue_low, revenue_high``."""
    rule, chain = split(models)
    conversions = run(
        journeys.con, named("attribution.journey_revenue", journeys.sql(JOURNEY_REVENUE)), journeys.params
    )
    index = conversions["journey_id"].to_numpy()  # sorted: a journey's row is found by binary search
    revenue = conversions["revenue"].to_numpy()
    parts = [
        *([_BootstrapRule.load(journeys, rule, half_life_days, index)] if rule else []),
        *([_BootstrapChain.load(journeys, chain, order, index)] if chain else []),
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
    def load(cls, journeys: Journeys, models, half_life_days, index) -> _BootstrapRule:
        wide = run(
            journeys.con,
            rules.journey_weights_query(journeys, models),
            {**journeys.params, **rules.params(half_life_days)},
        )
        # one row per journey, key and model, sorted by model, key, journey_id
        weights = wide.unpivot(
            list(models), index=["journey_id", "key"], variable_name="model", value_name="weight"
        ).sort("model", "key", "journey_id")
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
    def load(cls, journeys: Journeys, models, order: int, index) -> _BootstrapChain:
        con = journeys.con
        markov = shapley = None
        if "markov" in models:
            null_moves = run(
                con,
                named(
                    "attribution.null_moves (prepared)",
                    "select from_state, to_state, count from attribution_null_moves order by from_state, to_state, count",
                ),
            )
            journey_moves = run(
                con, chains.journey_moves_query(journeys, order), {**journeys.params, **chains.STATE_PARAMS}
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
            null_sets = run(
                con,
                named(
                    "attribution.null_sets (prepared)",
                    "select channels, journeys from attribution_null_sets order by channels, journeys",
                ),
            )
            journey_sets = run(con, chains.journey_sets_query(journeys), journeys.params)
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
