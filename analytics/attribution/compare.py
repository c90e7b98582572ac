"""What changes between models, and what does not.

Every model splits the same conversions: per model, the credit sums to the number and the
amount of the won deals in the window (:mod:`analytics.attribution.engine`). So the total
attributed revenue (and, in finance, the total ROI) is the same under every model; what a
model changes is the split. :func:`totals_agree` says whether a set of credits shows that,
and :func:`rank_changes` shows the split of one model against a baseline: each key's
revenue and rank under both, the difference and how many places it moved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics.attribution.models import UNATTRIBUTED

if TYPE_CHECKING:
    import polars as pl

TOLERANCE = 1e-6  # dollars: the models' sums agree to float rounding


def totals_agree(credits: pl.DataFrame, value: str = "attributed_revenue") -> bool:
    """Whether every model in ``credits`` (rows ``model, <value>``) credits the same total."""
    import polars as pl

    totals = credits.group_by("model").agg(pl.col(value).sum())[value]
    return totals.is_empty() or float(totals.max() - totals.min()) <= TOLERANCE * max(1.0, abs(float(totals.max())))


def rank_changes(
    credits: pl.DataFrame, by: str, model: str, baseline: str, value: str = "attributed_revenue"
) -> pl.DataFrame:
    """Each key's ``value`` and rank under ``model`` and under ``baseline``.

    Rank 1 is the largest credit; equal credits rank by key, so ranks are unique. For key *k*:

    - ``revenue`` = credit of *k* under ``model``, ``baseline_revenue`` under ``baseline``
      (0 when a model does not credit *k*);
    - ``revenue_difference`` = ``revenue − baseline_revenue`` (the differences sum to 0 when
      both models split the same total);
    - ``rank_change`` = ``baseline_rank − rank``: positive when *k* moves up under ``model``;
    - ``share`` and ``baseline_share``: *k*'s share of each model's total.

    ``(unattributed)`` is left out (every model credits it the same). Sorted by ``rank``.
    """
    import polars as pl

    def ranked(name: str, prefix: str) -> pl.DataFrame:
        rows = credits.filter(pl.col("model") == name, pl.col(by) != UNATTRIBUTED).select(
            pl.col(by), pl.col(value).alias(f"{prefix}revenue")
        )
        return rows.sort([f"{prefix}revenue", by], descending=[True, False]).with_columns(
            pl.int_range(1, pl.len() + 1).alias(f"{prefix}rank"),
            (pl.col(f"{prefix}revenue") / pl.col(f"{prefix}revenue").sum()).alias(f"{prefix}share"),
        )

    chosen, base = ranked(model, ""), ranked(baseline, "baseline_")
    both = chosen.join(base, on=by, how="full", coalesce=True).with_columns(
        pl.col("revenue", "baseline_revenue", "share", "baseline_share").fill_null(0.0)
    )
    # a key one model does not credit at all ranks after every key it does
    both = both.with_columns(
        pl.col("rank").fill_null(pl.col("rank").max() + 1).cast(pl.Int64),
        pl.col("baseline_rank").fill_null(pl.col("baseline_rank").max() + 1).cast(pl.Int64),
    )
    return both.select(
        by,
        "rank",
        "baseline_rank",
        (pl.col("baseline_rank") - pl.col("rank")).alias("rank_change"),
        "revenue",
        "baseline_revenue",
        (pl.col("revenue") - pl.col("baseline_revenue")).alias("revenue_difference"),
        "share",
        "baseline_share",
    ).sort("rank", by)
