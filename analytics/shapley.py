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

import math

import polars as pl

from analytics.credit import proportional_credit


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
    schema = {"key": pl.Utf8, "attributed_conversions": pl.Float64, "attributed_revenue": pl.Float64,
              "shapley_conversion_rate": pl.Float64, "shapley_value_rate": pl.Float64}
    sets = channel_sets.filter((pl.col("journeys") > 0) & (pl.col("channels").list.len() > 0))
    if sets.height == 0:
        return pl.DataFrame(schema=schema)
    # math.fsum is correctly rounded, so the result does not depend on the rows' order
    rate_parts: dict[str, list[float]] = {}
    value_parts: dict[str, list[float]] = {}
    for channels, conversions, revenue, journeys in sets.select(
            "channels", "conversions", "revenue", "journeys").iter_rows():
        for channel in channels:
            rate_parts.setdefault(channel, []).append(conversions / journeys / len(channels))
            value_parts.setdefault(channel, []).append(revenue / journeys / len(channels))
    keys = sorted(rate_parts)
    phi = pl.DataFrame({
        "key": keys,
        "shapley_conversion_rate": [math.fsum(rate_parts[k]) for k in keys],
        "shapley_value_rate": [math.fsum(value_parts[k]) for k in keys],
    }, schema={"key": pl.Utf8, "shapley_conversion_rate": pl.Float64, "shapley_value_rate": pl.Float64})
    return proportional_credit(phi, "shapley_conversion_rate", "shapley_value_rate",
                               total_conversions, total_revenue).cast(schema)
