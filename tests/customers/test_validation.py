"""Does the score predict churn: churn rate per band, the score's ROC-AUC, fitted weights beside the spec's."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from analytics.customers import health, validation
from analytics.customers.config import BANDS, SPEC_CONFIG
from analytics.warehouse.connection import connect
from analytics.warehouse.runner import run


@pytest.fixture(scope="module")
def checked(medium_demo):
    con = connect(medium_demo, read_only=True)
    yield con, validation.validate_score(con, SPEC_CONFIG)
    con.close()


def labelled(con) -> pl.DataFrame:
    """The history's account-weeks with a whole 90-day outcome, labelled here independently."""
    last = health.data_range(con)[1]
    scores = health.history_scores(con, SPEC_CONFIG)
    churned = run(con, "select account_id, cast(churned_at as date) as churned_day from accounts")
    return (
        scores.filter(pl.col("as_of") <= last - timedelta(days=90))
        .join(churned, on="account_id", how="left")
        .with_columns(
            (
                pl.col("churned_day").is_not_null() & (pl.col("churned_day") <= pl.col("as_of") + pl.duration(days=90))
            ).alias("churned")
        )
    )


def test_churn_rate_per_band_and_the_scores_auc(checked):
    con, result = checked
    rows = labelled(con)
    assert result.account_weeks == rows.height and result.churned == rows["churned"].sum()
    for band in BANDS:
        part = rows.filter(pl.col("band") == band)
        row = result.by_band.filter(pl.col("band") == band).row(0, named=True)
        assert row["account_weeks"] == part.height
        assert row["churn_rate"] == pytest.approx(part["churned"].mean() if part.height else 0.0)
    assert result.roc_auc == pytest.approx(roc_auc_score(rows["churned"].to_numpy(), -rows["overall_score"].to_numpy()))
    # the score predicts churn on the demo: worse bands churn more
    rates = dict(zip(result.by_band["band"], result.by_band["churn_rate"]))
    assert rates["critical"] > rates["at_risk"] > rates["healthy"] and result.roc_auc > 0.65


def test_fitted_weights_are_a_valid_suggestion(checked):
    _, result = checked
    fitted = result.suggested
    assert fitted is not None
    fitted.validate()  # non-negative, summing to 1
    assert all(w >= 0 for w in fitted.weights) and sum(fitted.weights) == pytest.approx(1.0)
    protective = np.array([max(0.0, -b) for b in result.coefficients.values()])
    assert np.allclose(np.array(fitted.weights), protective / protective.sum(), atol=1e-3)
    assert result.test_auc_suggested is not None and 0.5 < result.test_auc_current <= 1
    assert result.test_weeks[0] < result.test_weeks[1]
