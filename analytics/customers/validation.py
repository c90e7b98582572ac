"""Does the health score predict churn? Measured on the weekly history, with a fitted alternative.

Rows: every account scored in the weekly history (:mod:`analytics.customers.health`) on a week
*t* whose next 90 days lie inside the data (t + 90 ≤ the data's last day), labelled
``churned_90`` when its ``churned_at`` date is in (t, t+90]. An account appears once per week,
so rates are per account-week.

* **Churn rate per band**: churned account-weeks / account-weeks, per band of the score.
* **ROC-AUC of the score**: the probability that a churning account-week scores below a
  retained one (ties count half), i.e. ``roc_auc_score(churned_90, −overall_score)``.
* **Fitted weights**, offered beside the spec's: a logistic regression of ``churned_90`` on
  the six components (missing ones filled with the component's mean) fitted on the weeks
  before the last :data:`TEST_WEEKS` labelled weeks; each weight is
  ``max(0, −β_i) / Σ_j max(0, −β_j)`` (a component whose higher values go with *more* churn
  gets 0). Both scores' ROC-AUC is then measured on the last :data:`TEST_WEEKS` labelled
  weeks, which the regression did not see. The components share one 0–1 scale, so the
  coefficients compare directly as weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from analytics.core.errors import RevLensError
from analytics.customers.config import BANDS, COMPONENTS, SPEC_CONFIG, HealthConfig
from analytics.customers.health import data_range, history_scores, rescore
from analytics.warehouse.runner import run

if TYPE_CHECKING:
    import polars as pl

HORIZON_DAYS = 90
TEST_WEEKS = 8


@dataclass(frozen=True)
class ScoreValidation:
    by_band: pl.DataFrame  # band, account_weeks, churned, churn_rate
    roc_auc: float  # of the score (with the config's weights), all labelled weeks
    weeks: int
    account_weeks: int
    churned: int
    coefficients: dict[str, float]  # the logistic regression's β per component
    suggested: HealthConfig | None  # fitted weights (same bands); None when no component lowers churn
    test_weeks: tuple[str, str]  # first and last week of the test part
    test_auc_current: float
    test_auc_suggested: float | None


def validate_score(con, config: HealthConfig = SPEC_CONFIG) -> ScoreValidation:
    """The churn rate per band, the score's ROC-AUC and fitted weights (see the module docstring)."""
    import polars as pl
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    span = data_range(con)
    if span is None:
        raise RevLensError("The warehouse has no data to validate the health score on; load some first.")
    label_end = span[1]
    frame = history_scores(con, config, end=label_end - timedelta(days=HORIZON_DAYS))
    churn_dates = run(con, "select account_id, cast(churned_at as date) as churned_day from accounts")
    rows = frame.join(churn_dates, on="account_id", how="left").with_columns(
        (pl.col("churned_day").is_not_null() & (pl.col("churned_day") <= pl.col("as_of") + pl.duration(days=90))).alias(
            "churned_90"
        )
    )
    weeks = sorted(rows["as_of"].unique().to_list())
    if len(weeks) <= TEST_WEEKS or rows["churned_90"].n_unique() < 2:
        raise RevLensError(
            f"The history needs more than {TEST_WEEKS} weeks with a whole 90-day outcome, and churned and retained "
            "accounts among them, to validate the score; load more history."
        )
    y = rows["churned_90"].to_numpy().astype(int)
    by_band = (
        rows.group_by("band")
        .agg(pl.len().alias("account_weeks"), pl.col("churned_90").sum().alias("churned"))
        .with_columns((pl.col("churned") / pl.col("account_weeks")).alias("churn_rate"))
    )
    by_band = (
        pl.DataFrame({"band": list(BANDS)}).join(by_band, on="band", how="left").fill_null(0)
    )  # every band, in order
    test_from = weeks[-TEST_WEEKS]
    train = rows.filter(pl.col("as_of") < test_from)
    test = rows.filter(pl.col("as_of") >= test_from)
    means = train.select([pl.col(c).mean().fill_null(0.0) for c in COMPONENTS]).row(0)
    fill = [pl.col(c).fill_null(m) for c, m in zip(COMPONENTS, means)]
    coefficients = {c: 0.0 for c in COMPONENTS}
    suggested = None
    test_auc_suggested = None
    y_train = train["churned_90"].to_numpy().astype(int)
    if len(np.unique(y_train)) == 2:
        regression = LogisticRegression(C=1.0, max_iter=5000).fit(train.select(fill).to_numpy(), y_train)
        coefficients = dict(zip(COMPONENTS, (float(b) for b in regression.coef_[0])))
        protective = np.maximum(0.0, -regression.coef_[0])
        if protective.sum() > 0:
            weights = protective / protective.sum()
            weights = np.round(weights, 4)
            weights[np.argmax(weights)] += 1.0 - weights.sum()  # sums to exactly 1 after rounding
            suggested = HealthConfig(
                weights=tuple(float(w) for w in weights),
                healthy_min=config.healthy_min,
                critical_below=config.critical_below,
            )
    y_test = test["churned_90"].to_numpy().astype(int)
    two_classes = len(np.unique(y_test)) == 2
    test_auc_current = float(roc_auc_score(y_test, -test["overall_score"].to_numpy())) if two_classes else float("nan")
    if suggested is not None and two_classes:
        test_auc_suggested = float(roc_auc_score(y_test, -rescore(test, suggested)["overall_score"].to_numpy()))
    return ScoreValidation(
        by_band=by_band,
        roc_auc=float(roc_auc_score(y, -rows["overall_score"].to_numpy())),
        weeks=len(weeks),
        account_weeks=rows.height,
        churned=int(y.sum()),
        coefficients=coefficients,
        suggested=suggested,
        test_weeks=(test_from.isoformat(), weeks[-1].isoformat()),
        test_auc_current=test_auc_current,
        test_auc_suggested=test_auc_suggested,
    )
