"""Markov-chain attribution: an exact absorbing-chain solve with removal effects.

The input is a small aggregate, the weighted transition counts between states
(made in SQL by :mod:`analytics.attribution`); everything here is linear algebra
on it, so results are deterministic (no simulation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from analytics.credit import proportional_credit

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
SEP = "\x1f"  # joins the channels of a higher-order state into one string
DENSE_STATES = 400  # up to this many transient states the chain is solved as a dense system


@dataclass(frozen=True)
class AbsorbingChain:
    """Transition counts of a Markov chain of journeys, ready to solve.

    Transient states are index 0 (``(start)``) and the observed channel states (a
    tuple of the last *k* channels for order *k*); the absorbing states are
    ``(conversion)`` and ``(null)``.

    Attributes
    ----------
    states : the transient states; ``states[0] == (START,)``.
    transitions : sparse counts ``N[i, j]`` of moves from transient state i to j.
    conversions, conversion_value, nulls : per transient state, the weighted number of
        journeys that ended there converting, their value, and journeys that ended there
        without converting.
    """

    states: tuple[tuple[str, ...], ...]
    transitions: sp.csr_matrix
    conversions: np.ndarray
    conversion_value: np.ndarray
    nulls: np.ndarray

    @classmethod
    def from_counts(cls, counts: pl.DataFrame) -> "AbsorbingChain":
        """Build the chain from a frame of ``from_state, to_state, count, value``.

        ``from_state``/``to_state`` are states: one channel, or for order k up to k channels
        joined by :data:`SEP`; ``START`` for the start, ``CONVERSION``/``NULL`` for the
        ends. ``count`` is the weighted number of moves and ``value`` the conversion value
        carried by moves into ``(conversion)``.
        """
        counts = counts.rename({"from_state": "_from", "to_state": "_to"}).sort("_from", "_to")  # fixed order
        ends = {CONVERSION, NULL}
        names = sorted((set(counts["_from"].to_list()) | set(counts["_to"].to_list())) - ends - {START})
        names = [START, *names]
        index = {name: i for i, name in enumerate(names)}
        n = len(names)
        from_idx = np.array([index[s] for s in counts["_from"].to_list()], dtype=np.int64)
        to_names = counts["_to"].to_list()
        weight = counts["count"].to_numpy().astype(float)
        value = counts["value"].fill_null(0.0).to_numpy().astype(float)
        is_conv = np.array([t == CONVERSION for t in to_names])
        is_null = np.array([t == NULL for t in to_names])
        moves = ~(is_conv | is_null)
        to_idx = np.array([index[t] for t, m in zip(to_names, moves) if m], dtype=np.int64)
        matrix = sp.csr_matrix((weight[moves], (from_idx[moves], to_idx)), shape=(n, n))
        return cls(
            states=tuple(tuple(name.split(SEP)) for name in names),
            transitions=matrix,
            conversions=np.bincount(from_idx[is_conv], weights=weight[is_conv], minlength=n),
            conversion_value=np.bincount(from_idx[is_conv], weights=value[is_conv], minlength=n),
            nulls=np.bincount(from_idx[is_null], weights=weight[is_null], minlength=n),
        )

    def channels(self) -> list[str]:
        return sorted({c for state in self.states[1:] for c in state})

    def absorption(self, keep: np.ndarray | None = None) -> tuple[float, float]:
        """P(conversion) and expected conversion value from ``(start)``.

        With transition probabilities ``Q = N / out`` between transient states
        (``out_i`` = all moves out of i, including into the absorbing states), the
        absorption vector solves ``(I - Q) x = r`` with ``r_i = conversions_i / out_i``
        (value: ``r_i = value_i / out_i``). States outside ``keep`` are removed: moves
        into them go to ``(null)``, i.e. their ``x`` is 0.
        """
        out = np.asarray(self.transitions.sum(axis=1)).ravel() + self.conversions + self.nulls
        out = np.where(out > 0, out, 1.0)
        if keep is None:
            keep = np.ones(len(self.states), dtype=bool)
        idx = np.nonzero(keep)[0]
        rhs = np.column_stack([self.conversions[idx] / out[idx], self.conversion_value[idx] / out[idx]])
        if len(self.states) <= DENSE_STATES:  # a sparse solve's overhead dwarfs a small dense one
            q = self.transitions.toarray()[np.ix_(idx, idx)] / out[idx, None]
            x = np.linalg.solve(np.identity(len(idx)) - q, rhs)
        else:
            q = sp.diags(1.0 / out[idx]) @ self.transitions[idx][:, idx]
            system = (sp.identity(len(idx), format="csc") - q).tocsc()
            x = np.atleast_2d(spla.spsolve(system, rhs)).reshape(len(idx), 2)
        return float(x[0, 0]), float(x[0, 1])

    def removal_effects(self) -> pl.DataFrame:
        """Removal effect of each channel, on conversions and on conversion value.

        ``RE(c) = 1 - P(conversion | c removed) / P(conversion)``, where removing c
        removes every state that contains c (for order k > 1, every k-tuple with c).
        """
        base_conv, base_value = self.absorption()
        channels = self.channels()
        effects_conv, effects_value = [], []
        for channel in channels:
            keep = np.array([i == 0 or channel not in state for i, state in enumerate(self.states)])
            conv, value = self.absorption(keep)
            effects_conv.append(1.0 - conv / base_conv if base_conv > 0 else 0.0)
            effects_value.append(1.0 - value / base_value if base_value > 0 else 0.0)
        return pl.DataFrame(
            {"key": channels, "removal_effect_conversions": effects_conv, "removal_effect_value": effects_value},
            schema={"key": pl.Utf8, "removal_effect_conversions": pl.Float64, "removal_effect_value": pl.Float64},
        )


def markov_credits(counts: pl.DataFrame, total_conversions: float, total_revenue: float) -> pl.DataFrame:
    """Markov-chain attribution of ``total_conversions`` and ``total_revenue``.

    States are channels (order k: the last k channels of the journey, fewer at its
    start), plus ``(start)``, ``(conversion)`` and ``(null)``; non-converting journeys
    end in ``(null)``. Transition probabilities are the observed move counts over all
    moves out of a state; a channel repeated in a row is a self-loop, which changes no
    absorption probability (ChannelAttribution drops them; the results are the same). For each channel c,

    .. math:: RE(c) = 1 - \\frac{P(\\text{conversion} \\mid c \\text{ removed})}{P(\\text{conversion})}

    where removing c sends every transition into a state containing c to ``(null)``;
    P is the absorption probability from ``(start)``, solved exactly from
    ``(I - Q) x = r``. Credit:

    .. math:: \\text{conversions}_c = T \\cdot RE(c) / \\sum_{c'} RE(c')

    and revenue likewise with the value removal effect (the chain absorbing
    conversion value instead of conversions: ``r_i = value_i / out_i``), as
    ChannelAttribution's ``markov_model`` does (Anderl et al. 2016, "Mapping the
    customer journey").

    Parameters
    ----------
    counts : ``from_state, to_state, count, value`` (see :meth:`AbsorbingChain.from_counts`).
    total_conversions, total_revenue : what to distribute (the attributed journeys' totals).

    Returns
    -------
    polars.DataFrame
        ``key, attributed_conversions, attributed_revenue, removal_effect_conversions,
        removal_effect_value``; empty when there are no journeys.
    """
    schema = {"key": pl.Utf8, "attributed_conversions": pl.Float64, "attributed_revenue": pl.Float64,
              "removal_effect_conversions": pl.Float64, "removal_effect_value": pl.Float64}
    if counts.height == 0:
        return pl.DataFrame(schema=schema)
    effects = AbsorbingChain.from_counts(counts).removal_effects()
    return proportional_credit(effects, "removal_effect_conversions", "removal_effect_value",
                               total_conversions, total_revenue).cast(schema)
