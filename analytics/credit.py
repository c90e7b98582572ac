"""Credit proportional to a weight, as the Markov and Shapley models hand it out."""

from __future__ import annotations

import math

import polars as pl


def proportional_credit(weights: pl.DataFrame, conversion_weight: str, value_weight: str,
                        total_conversions: float, total_revenue: float) -> pl.DataFrame:
    """Split the totals over ``key`` in proportion to two weight columns.

    .. math:: credit_c = total \\cdot w_c / \\sum_k w_k

    (0 for every key when the weights sum to 0). Sums use ``math.fsum`` so the result
    does not depend on row order. Returns ``key, attributed_conversions,
    attributed_revenue`` followed by the two weight columns.
    """
    conversion_sum = math.fsum(weights[conversion_weight])
    value_sum = math.fsum(weights[value_weight])
    return weights.select(
        "key",
        (pl.col(conversion_weight) / conversion_sum * total_conversions if conversion_sum > 0 else pl.lit(0.0))
        .alias("attributed_conversions"),
        (pl.col(value_weight) / value_sum * total_revenue if value_sum > 0 else pl.lit(0.0))
        .alias("attributed_revenue"),
        conversion_weight,
        value_weight,
    )
