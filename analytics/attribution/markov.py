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

from analytics.attribution.credit import proportional_credit

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
SEP = "\x1f"  # joins the channels of a higher-order state into one string
DENSE_STATES = 400  # up to this many transient states the chain is solved as a dense system
TOLERANCE = 1e-15  # larger chains: the iteration stops when no entry moves by more than this, relatively
MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class ChainLayout:
    """The states of a chain and where each observed move goes, without its counts.

    The bootstrap solves one chain per replicate over the same moves with other counts;
    the layout is built once and :meth:`chain` fills in the counts.

    Attributes
    ----------
    states : the transient states (tuples of channels); ``states[0] == (START,)``.
    from_idx : per move, the index of the state it leaves.
    to_idx : per move into a transient state, that state's index (moves into the ends excluded).
    is_conversion, is_null : per move, whether it ends in ``(conversion)`` / ``(null)``.
    """

    states: tuple[tuple[str, ...], ...]
    from_idx: np.ndarray
    to_idx: np.ndarray
    is_conversion: np.ndarray
    is_null: np.ndarray

    @classmethod
    def from_moves(cls, from_states: list[str], to_states: list[str]) -> ChainLayout:
        """``from_states[i] -> to_states[i]``: a channel, or for order k up to k channels
        joined by :data:`SEP`; ``START`` for the start, ``CONVERSION``/``NULL`` for the ends."""
        ends = {CONVERSION, NULL}
        names = [START, *sorted((set(from_states) | set(to_states)) - ends - {START})]
        index = {name: i for i, name in enumerate(names)}
        is_conversion = np.array([t == CONVERSION for t in to_states], dtype=bool)
        is_null = np.array([t == NULL for t in to_states], dtype=bool)
        return cls(
            states=tuple(tuple(name.split(SEP)) for name in names),
            from_idx=np.array([index[f] for f in from_states], dtype=np.int64),
            to_idx=np.array([index[t] for t in to_states if t not in ends], dtype=np.int64),
            is_conversion=is_conversion,
            is_null=is_null,
        )

    def chain(self, count: np.ndarray, value: np.ndarray) -> AbsorbingChain:
        """The chain with ``count`` weighted moves per move of the layout; ``value`` is the
        conversion value carried by the moves into ``(conversion)``."""
        n = len(self.states)
        moves = ~(self.is_conversion | self.is_null)
        conv = self.is_conversion
        return AbsorbingChain(
            states=self.states,
            transitions=sp.csr_matrix((count[moves], (self.from_idx[moves], self.to_idx)), shape=(n, n)),
            conversions=np.bincount(self.from_idx[conv], weights=count[conv], minlength=n),
            conversion_value=np.bincount(self.from_idx[conv], weights=value[conv], minlength=n),
            nulls=np.bincount(self.from_idx[self.is_null], weights=count[self.is_null], minlength=n),
        )


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
    def from_counts(cls, counts: pl.DataFrame) -> AbsorbingChain:
        """Build the chain from a frame of ``from_state, to_state, count, value``
        (see :meth:`ChainLayout.from_moves`): ``count`` is the weighted number of moves and
        ``value`` the conversion value carried by moves into ``(conversion)``."""
        counts = counts.sort("from_state", "to_state")  # a fixed order
        layout = ChainLayout.from_moves(counts["from_state"].to_list(), counts["to_state"].to_list())
        return layout.chain(
            counts["count"].to_numpy().astype(float), counts["value"].fill_null(0.0).to_numpy().astype(float)
        )

    def channels(self) -> list[str]:
        return sorted({c for state in self.states[1:] for c in state})

    def absorption(self, keep: np.ndarray) -> np.ndarray:
        """P(conversion) and expected conversion value from ``(start)``, for each column of
        ``keep`` (states × cases, boolean): returns an array of shape (cases, 2).

        With transition probabilities ``Q = N / out`` between transient states
        (``out_i`` = all moves out of i, including into the absorbing states), the
        absorption vector solves ``(I - Q) x = r`` with ``r_i = conversions_i / out_i``
        (value: ``r_i = value_i / out_i``). States outside ``keep`` are removed: moves
        into them go to ``(null)``, i.e. their ``x`` is 0.

        Up to :data:`DENSE_STATES` states each case is an LU solve of the dense system.
        Larger chains (order 2-3 over campaigns reach tens of thousands of states, where a
        sparse LU fills in to tens of millions of entries and takes minutes) are solved by
        the Neumann series :math:`x = \\sum_t Q^t r`, all cases at once, iterating
        ``x <- r + Q x`` until no entry changes by more than :data:`TOLERANCE` of its case's
        largest entry: the exact solution to machine precision, deterministic. Self-loops
        are folded in first (``x_i = (r_i + \\sum_{j \\neq i} Q_{ij} x_j) / (1 - Q_{ii})``,
        the same solution), which speeds the iteration up.
        """
        n = len(self.states)
        out = np.asarray(self.transitions.sum(axis=1)).ravel() + self.conversions + self.nulls
        if n <= DENSE_STATES:
            out = np.where(out > 0, out, 1.0)
            q = self.transitions.toarray() / out[:, None]
            results = []
            for case in keep.T:
                idx = np.nonzero(case)[0]
                rhs = np.column_stack([self.conversions[idx] / out[idx], self.conversion_value[idx] / out[idx]])
                results.append(np.linalg.solve(np.identity(len(idx)) - q[np.ix_(idx, idx)], rhs)[0])
            return np.array(results).reshape(keep.shape[1], 2)
        loops = self.transitions.diagonal()
        out = out - loops
        out = np.where(out > 0, out, 1.0)
        q = (sp.diags(1.0 / out) @ (self.transitions - sp.diags(loops))).tocsr()
        mask = np.concatenate([keep, keep], axis=1).astype(float)
        r = (
            np.concatenate(
                [
                    np.repeat((self.conversions / out)[:, None], keep.shape[1], axis=1),
                    np.repeat((self.conversion_value / out)[:, None], keep.shape[1], axis=1),
                ],
                axis=1,
            )
            * mask
        )
        x = r
        for _ in range(MAX_ITERATIONS):
            updated = r + mask * (q @ x)
            scale = np.maximum(np.abs(updated).max(axis=0), np.finfo(float).tiny)
            converged = (np.abs(updated - x).max(axis=0) <= TOLERANCE * scale).all()
            x = updated
            if converged:
                return np.column_stack([x[0, : keep.shape[1]], x[0, keep.shape[1] :]])
        raise RuntimeError(f"the Markov chain of {n} states did not converge in {MAX_ITERATIONS} iterations")

    def removal_effect_arrays(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The channels and their removal effects on conversions and on conversion value.

        ``RE(c) = 1 - P(conversion | c removed) / P(conversion)``, where removing c
        removes every state that contains c (for order k > 1, every k-tuple with c).
        """
        channels = self.channels()
        keep = np.ones((len(self.states), len(channels) + 1), dtype=bool)  # column 0: nothing removed
        for i, channel in enumerate(channels):
            keep[1:, i + 1] = [channel not in state for state in self.states[1:]]
        absorbed = self.absorption(keep)
        base, removed = absorbed[0], absorbed[1:]
        effects = [1.0 - removed[:, k] / base[k] if base[k] > 0 else np.zeros(len(channels)) for k in (0, 1)]
        return channels, effects[0], effects[1]

    def removal_effects(self) -> pl.DataFrame:
        """:meth:`removal_effect_arrays` as ``key, removal_effect_conversions, removal_effect_value``."""
        channels, effects_conv, effects_value = self.removal_effect_arrays()
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
    schema = {
        "key": pl.Utf8,
        "attributed_conversions": pl.Float64,
        "attributed_revenue": pl.Float64,
        "removal_effect_conversions": pl.Float64,
        "removal_effect_value": pl.Float64,
    }
    if counts.height == 0:
        return pl.DataFrame(schema=schema)
    effects = AbsorbingChain.from_counts(counts).removal_effects()
    return proportional_credit(
        effects, "removal_effect_conversions", "removal_effect_value", total_conversions, total_revenue
    ).cast(schema)
