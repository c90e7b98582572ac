"""ARR at risk for the Overview's tile, from the churn model of :mod:`analytics.customers.churn`.

ARR at risk on the as-of date (the data's last day) is the churn model's
:math:`\\sum_a p_a \\cdot ARR_a` over the accounts in scope, where :math:`p_a` is account *a*'s
calibrated probability of churning in the next 90 days (``ChurnAnalysis.arr_at_risk``, the
same figure as :func:`analytics.customers.churn.arr_at_risk`). Per segment: the same sum over
that segment's accounts, so the segments add up to the total.

Training the model takes seconds, so the app computes this in the background and the tile
says so until it is ready.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class ArrAtRisk:
    """ARR at risk on ``as_of``, in total and per segment; ``reason`` says why there is none."""

    as_of: date | None
    total: float | None
    by_segment: dict[str, float] = field(default_factory=dict)
    accounts: int = 0
    reason: str | None = None

    def for_segments(self, segments: tuple[str, ...]) -> float | None:
        """The ARR at risk of ``segments`` (every segment when empty)."""
        if self.total is None or not segments:
            return self.total
        return sum(self.by_segment.get(segment, 0.0) for segment in segments)


def arr_at_risk_summary(con, as_of: date | None = None) -> ArrAtRisk:
    """ARR at risk on ``as_of`` (default: the data's last day), in total and per segment (module docstring)."""
    from analytics.customers.churn import churn_analysis_or_reason

    analysis = churn_analysis_or_reason(con, as_of)
    if isinstance(analysis, str):
        return ArrAtRisk(None, None, reason=analysis)
    predictions = analysis.predictions
    by_segment: dict[str, float] = {}
    for segment, value in predictions.select("segment", "arr_at_risk").iter_rows():
        key = segment or "(none)"
        by_segment[key] = by_segment.get(key, 0.0) + float(value or 0.0)
    return ArrAtRisk(analysis.as_of, analysis.arr_at_risk, by_segment, predictions.height)
