"""Credit proportional to a weight, as the Markov and Shapley models hand it out."""

from __future__ import annotations

import math

import numpy as np
import polars as pl


def proportional(weights: np.ndarray, total: float) -> np.ndarray:
    """:math:`total \\cdot w_c / \\sum_k w_k`, or 0 everywhere when the weights sum to 0.

    The sum uses ``math.fsum`` (correctly rounded), so it does not depend on the order of
    the weights.
    """
    weight_sum = math.fsum(weights)
    return weights / weight_sum * total if weight_sum > 0 else np.zeros(len(weights))


def proportional_credit(
    weights: pl.DataFrame, conversion_weight: str, value_weight: str, total_conversions: float, total_revenue: float
) -> pl.DataFrame:
    """Split the totals over ``key`` in proportion to two weight columns (:func:`proportional`).

    Returns ``key, attributed_conversions, attributed_revenue`` followed by the two weight
    columns.
    """
    return weights.select(
        "key",
        pl.Series(
            "attributed_conversions",
            proportional(weights[conversion_weight].to_numpy(), total_conversions),
            dtype=pl.Float64,
        ),
        pl.Series(
            "attributed_revenue", proportional(weights[value_weight].to_numpy(), total_revenue), dtype=pl.Float64
        ),
        conversion_weight,
        value_weight,
    )
