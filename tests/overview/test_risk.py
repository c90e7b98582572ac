"""The Overview's ARR at risk: the churn model's Σ p × ARR, whose segments add up to the total; a reason when none."""

from __future__ import annotations

import duckdb
import pytest

from analytics.customers import churn
from analytics.overview.risk import ArrAtRisk, arr_at_risk_summary


def test_segments_add_up_to_the_churn_models_total(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        summary = arr_at_risk_summary(con)
        expected = churn.arr_at_risk(con)
    finally:
        con.close()
    assert summary.total == pytest.approx(expected)
    assert summary.accounts > 0 and summary.reason is None
    assert sum(summary.by_segment.values()) == pytest.approx(summary.total)
    assert summary.for_segments(()) == summary.total
    assert summary.for_segments(("SMB", "Enterprise")) == pytest.approx(
        summary.by_segment["SMB"] + summary.by_segment["Enterprise"]
    )


def test_by_hand_and_without_a_model():
    risk = ArrAtRisk(None, 300.0, {"SMB": 100.0, "Enterprise": 200.0}, accounts=3)
    assert risk.for_segments(("SMB",)) == 100.0
    assert risk.for_segments(("Mid-Market",)) == 0.0  # no account of it in scope
    none = ArrAtRisk(None, None, reason="Not enough history to train the churn model.")
    assert none.for_segments(("SMB",)) is None


def test_an_empty_warehouse_gives_a_reason(tiny):
    summary = arr_at_risk_summary(tiny)
    assert summary.total is None and summary.reason
