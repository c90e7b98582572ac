"""Attribution results shaped like the engine's, to feed the finance report by hand (the warehouse is ``tests/tiny.py``)."""

from __future__ import annotations

import polars as pl


def attributed_frame(rows: list[tuple]) -> pl.DataFrame:
    """``attribute(by="campaign", by_month=True)``-shaped rows: (campaign, model, month, conversions, revenue)."""
    return pl.DataFrame(
        rows,
        schema={
            "campaign": pl.String,
            "model": pl.String,
            "month": pl.Date,
            "attributed_conversions": pl.Float64,
            "attributed_revenue": pl.Float64,
        },
        orient="row",
    )
