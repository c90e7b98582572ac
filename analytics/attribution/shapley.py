"""Shapley-value attribution over channel coalitions.

Characteristic function (Zhao, Mahboobi & Bagheri 2018, "Shapley Value Methods for
Attribution Modeling in Online Advertising", arXiv:1804.05327, section 3): for a
coalition S of channels,

.. math:: v(S) = \\sum_{T \\subseteq S,\\ T \\neq \\emptyset} CR(T), \\qquad
          CR(T) = \\frac{\\text{conversions of journeys whose channel set is exactly } T}
                       {\\text{journeys whose channel set is exactly } T}

i.e. the worth of S is the conversion rate its sub-coalitions earn on their own
journeys. For this game the Shapley value

.. math:: \\varphi_c = \\sum_{S \\subseteq N \\setminus \\{c\\}}
          \\frac{|S|!\\,(n-|S|-1)!}{n!}\\,[v(S \\cup \\{c\\}) - v(S)]

reduces exactly (same paper, eq. 8) to

.. math:: \\varphi_c = \\sum_{T \\ni c} \\frac{CR(T)}{|T|},

which costs one pass over the observed channel sets instead of :math:`2^n`
coalitions, so the values are exact for any number of channels (the issue allowed
an approximation beyond 15; none is needed for this game — the test suite checks the
closed form against the full coalition sum). Credits are normalized to the total:
``conversions_c = T * phi_c / sum(phi)``; revenue likewise with the value rate
``VR(T) = revenue(T) / journeys(T)`` in place of ``CR(T)``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp

from analytics.attribution.credit import proportional_credit


def membership(channel_sets: list[list[str]]) -> tuple[list[str], sp.csr_matrix]:
    """The channels of ``channel_sets`` (sorted) and the matrix ``M[c, T] = 1/|T|`` if
    channel c is in set T, else 0; so that :math:`\\varphi = M \\cdot CR`."""
    keys = sorted({c for channels in channel_sets for c in channels})
    index = {key: i for i, key in enumerate(keys)}
    rows = [index[c] for channels in channel_sets for c in channels]
    cols = [j for j, channels in enumerate(channel_sets) for _ in channels]
    shares = [1.0 / len(channels) for channels in channel_sets for _ in channels]
    return keys, sp.csr_matrix((shares, (rows, cols)), shape=(len(keys), len(channel_sets)))


def rates(conversions: np.ndarray, journeys: np.ndarray) -> np.ndarray:
    """Per channel set, conversions (or revenue) per journey; 0 for a set without journeys."""
    return np.divide(conversions, journeys, out=np.zeros(np.shape(conversions)), where=journeys > 0)


def shapley_credits(channel_sets: pl.DataFrame, total_conversions: float, total_revenue: float) -> pl.DataFrame:
    """Shapley credit per channel from journeys aggregated by channel set.

    Parameters
    ----------
    channel_sets : ``channels`` (list of distinct channels of the journeys), ``conversions``,
        ``revenue``, ``journeys`` (converting and non-converting journeys with that set).
    total_conversions, total_revenue : what to distribute.

    Returns
    -------
    polars.DataFrame
        ``key, attributed_conversions, attributed_revenue, shapley_conversion_rate,
        shapley_value_rate`` (the unnormalized :math:`\\varphi_c` for the conversion
        rate and the value rate).
    """
    schema = {
        "key": pl.Utf8,
        "attributed_conversions": pl.Float64,
        "attributed_revenue": pl.Float64,
        "shapley_conversion_rate": pl.Float64,
        "shapley_value_rate": pl.Float64,
    }
    # sorted sets: the sums below then add in the same order every run
    sets = channel_sets.filter((pl.col("journeys") > 0) & (pl.col("channels").list.len() > 0)).sort(
        pl.col("channels").list.join("\x1f")
    )
    if sets.height == 0:
        return pl.DataFrame(schema=schema)
    keys, shares = membership(sets["channels"].to_list())
    journeys = sets["journeys"].to_numpy()
    phi = pl.DataFrame(
        {
            "key": keys,
            "shapley_conversion_rate": shares @ rates(sets["conversions"].to_numpy(), journeys),
            "shapley_value_rate": shares @ rates(sets["revenue"].to_numpy(), journeys),
        },
        schema={"key": pl.Utf8, "shapley_conversion_rate": pl.Float64, "shapley_value_rate": pl.Float64},
    )
    return proportional_credit(
        phi, "shapley_conversion_rate", "shapley_value_rate", total_conversions, total_revenue
    ).cast(schema)
