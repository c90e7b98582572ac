"""The churn model: scikit-learn conventions, the model card, drivers per account, and the planted drivers recovered."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone

from analytics.core.errors import RevLensError
from analytics.customers import churn
from analytics.customers.health import data_range
from analytics.warehouse.connection import connect


@pytest.fixture(scope="module")
def analysis(medium_demo):
    con = connect(medium_demo, read_only=True)
    yield con, churn.churn_analysis(con)
    con.close()


def test_the_planted_drivers_are_the_strongest(analysis):
    """Falling usage, escalations, late payments and email silence (analytics/demo/builder.py) rank 1-4."""
    _, result = analysis
    drivers = result.drivers
    assert set(drivers.head(4)["driver"].to_list()) == set(churn.PLANTED_DRIVERS)
    weakest_planted = drivers.filter(pl.col("planted"))["auc_drop"].min()
    strongest_other = drivers.filter(~pl.col("planted"))["auc_drop"].max()
    assert weakest_planted > 1.5 * strongest_other, drivers
    # each planted driver pushes risk the way it was planted
    coefficient = dict(zip(result.importance["feature"], result.importance["coefficient"]))
    assert coefficient["usage_trend_90"] < 0  # falling usage raises risk
    assert coefficient["escalations_90"] > 0
    assert coefficient["invoices_late_90"] > 0
    assert coefficient["days_since_email_engagement"] > 0


def test_the_model_card_on_months_it_did_not_see(analysis):
    _, result = analysis
    card, test = result.card, result.card["test"]
    fit_end, calibration, tested = card["split"]["fit"][1], card["split"]["calibration"], card["split"]["test"]
    assert fit_end < calibration[0] < tested[0] < tested[-1] and len(tested) == churn.TEST_MONTHS
    assert test["roc_auc"] > 0.7 and test["pr_auc"] > test["churn_rate"]
    assert 0 < test["brier"] < test["churn_rate"] * (1 - test["churn_rate"]) * 1.05  # beats the base rate, or nearly
    assert test["top_decile_lift"] > 2
    reliability = result.reliability
    assert reliability.height == 10 and reliability["accounts"].sum() == test["rows"]
    assert reliability["predicted"].is_sorted()
    assert abs(float((reliability["observed"] * reliability["accounts"]).sum()) - test["churned"]) < 1e-6


def test_drivers_per_account_and_arr_at_risk(analysis):
    con, result = analysis
    predictions = result.predictions
    assert predictions["churn_probability"].is_between(0, 1).all()
    assert result.arr_at_risk == pytest.approx(float((predictions["churn_probability"] * predictions["arr"]).sum()))
    assert churn.arr_at_risk(con) == pytest.approx(result.arr_at_risk)
    first = predictions.row(0, named=True)
    assert first["driver_1_contribution"] >= first["driver_2_contribution"] >= first["driver_3_contribution"]
    assert {first["driver_1"], first["driver_2"], first["driver_3"]} <= set(churn.FEATURES)
    # the calibrated log-odds split exactly into a baseline and the contributions
    current = churn.churn_snapshots(con, [result.as_of], result.as_of).head(50)
    X = current.select(result.features).to_numpy()
    baseline, contributions = result.model.contributions(X)
    p = result.model.predict_proba(X)[:, 1]
    assert np.allclose(baseline + contributions.sum(axis=1), np.log(p / (1 - p)), atol=1e-6)


def test_labels_need_a_whole_horizon(analysis):
    con, result = analysis
    first, last = data_range(con)
    dates = churn.snapshot_dates(con, last)
    assert dates[-1] + timedelta(days=churn.HORIZON_DAYS) <= last
    assert dates[0] >= first + timedelta(days=churn.FIRST_SNAPSHOT_DAYS)
    late = churn.churn_snapshots(con, [last - timedelta(days=30)], last)
    assert late["churned"].null_count() == late.height  # 90 days not yet seen: no label


def test_too_little_history_is_a_sentence(analysis):
    con, _ = analysis
    first, _ = data_range(con)
    with pytest.raises(RevLensError, match="needs 4 month ends with a whole 90-day outcome"):
        churn.churn_analysis(con, first + timedelta(days=200))


def test_scikit_learn_conventions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    y = (rng.random(600) < 1 / (1 + np.exp(-(2 * X[:, 0] - 1)))).astype(int)
    months = np.repeat(np.arange(6), 100)
    model = churn.ChurnModel(C=0.5)
    assert model.fit(X, y, snapshot=months) is model
    assert {"coef_", "intercept_", "classes_", "calibration_slope_", "n_features_in_"} <= set(vars(model))
    proba = model.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1)
    assert abs(model.coef_[0]) > abs(model.coef_[1]) and abs(model.coef_[0]) > abs(model.coef_[2])
    assert clone(model).get_params() == {"C": 0.5, "calibration_months": 1}
    assert churn.ChurnModel().fit(X, y).predict(X).shape == (600,)  # no snapshots: cross-validated calibration
    with pytest.raises(ValueError, match="only one class"):
        churn.ChurnModel().fit(X, np.zeros(600, dtype=int), snapshot=months)
