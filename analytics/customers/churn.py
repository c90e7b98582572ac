"""Churn prediction: the probability that an account churns in the next 90 days, calibrated, with its drivers.

Data (:data:`CHURN_SNAPSHOTS`, row-level work in SQL): every paying account on every
month end *t* (a snapshot), with the features below computed as of *t* (nothing after *t*
is read) and the label ``churned`` = its ``churned_at`` date lies in (t, t+90]. A snapshot
is labelled only when those 90 days are inside the data (t + 90 ≤ the as-of date); the
first is the first month end 120 days into the data, so every window is whole.

Split, out of time: the last :data:`TEST_MONTHS` labelled snapshots are the test set (the
model card is measured on them only), the month before them calibrates, the earlier ones fit.

Model (:class:`ChurnModel`, a scikit-learn estimator): median imputation, standardization,
an L2 logistic regression, then Platt's sigmoid calibration fitted on the calibration month
(``CalibratedClassifierCV(FrozenEstimator(pipeline), method="sigmoid")``), so a predicted
10% means about 1 in 10 such accounts churn.

Drivers: with *z* the standardized features, β the coefficients and ``p = σ(−(a·f + b))``
the calibration of the decision value ``f = β₀ + Σ β_j·z_j``, the calibrated log-odds split
exactly into ``baseline + Σ_j contribution_j`` with ``contribution_j = −a·β_j·z_j`` and
``baseline = −(a·β₀ + b)``; an account's top 3 drivers are its largest contributions
(positive: raises its risk above that of an average account). A feature's weight
(``importance``) is ``|β_j|``, the change in log-odds per standard deviation. A driver's
strength (:attr:`ChurnAnalysis.drivers`) is measured on the test months: the mean fall of
the test ROC-AUC when the driver's features are shuffled together across accounts (5
shuffles, seeded), so features that measure one thing (the two usage trends) count once.

Features (:data:`FEATURES`) are the health measures as of *t*. Advocacy (referrals,
reviews, case studies) is left out: the demo draws it only for accounts that never churn,
so it would learn the outcome rather than a driver; the health score keeps it.

Model card (test snapshots): ROC-AUC, PR-AUC (average precision), Brier score, the
reliability curve (10 quantile bins of predicted probability against the observed churn
rate) and top-decile lift (churn rate among the 10% highest predictions / overall churn rate).

ARR at risk = Σ probability × ARR over the accounts in scope on the as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from analytics.core.errors import RevLensError
from analytics.customers.config import SPEC_CONFIG, HealthConfig
from analytics.customers.features import CHURN_CTES, both, engagement_ctes, measure_ctes
from analytics.customers.health import COMPONENT_CTES, _params, data_range, marketing_days_current, resolve_as_of
from analytics.warehouse.runner import run

if TYPE_CHECKING:
    import polars as pl

HORIZON_DAYS = 90
TEST_MONTHS = 2
CALIBRATION_MONTHS = 1
FIRST_SNAPSHOT_DAYS = 120  # into the data: every feature's window is whole
SILENCE_CAP_DAYS = 180

# name -> (what it measures, the planted driver it belongs to, or None)
FEATURES: dict[str, tuple[str, str | None]] = {
    "usage_trend_30": ("Usage, last 30 days vs the 90 before (log ratio)", "falling_usage"),
    "usage_trend_90": ("Usage, last 90 days vs the 90 before (log ratio)", "falling_usage"),
    "usage_frequency": ("Usage frequency (health component)", None),
    "feature_adoption": ("Key features used in 30 days (share)", None),
    "escalations_90": ("Escalated tickets in 90 days", "escalations"),
    "other_tickets_90": ("Tickets not escalated, 90 days", None),
    "low_csat_share_90": ("Share of rated tickets with CSAT ≤ 2, 90 days", None),
    "late_payment_share": ("Share of invoices paid late, 365 days", "late_payments"),
    "invoices_late_90": ("Late invoices due in 90 days", "late_payments"),
    "days_since_email_engagement": ("Days since the last email open or click (capped at 180)", "email_silence"),
    "email_open_rate_30": ("Email open rate, 30 days", "email_silence"),
    "content_30": ("Blog reads, webinars and downloads in 30 days", None),
    "tenure_years": ("Years since the account was created", None),
    "log_arr": ("ARR (log)", None),
}
PLANTED_DRIVERS = ("falling_usage", "escalations", "late_payments", "email_silence")

CHURN_SNAPSHOTS = both(
    "customers.churn_snapshots",
    "Every paying account on each snapshot date: the churn model's features and its 90-day churn label.",
    lambda derived: (
        f"""with {measure_ctes(derived)},
{engagement_ctes(derived)},
{COMPONENT_CTES},
{CHURN_CTES}
select m.account_id, m.account_name, m.segment, m.owner_id, m.arr, m.as_of,
       case when m.as_of + {HORIZON_DAYS} > $label_end then null
            else coalesce(m.churned_day <= m.as_of + {HORIZON_DAYS}, false) end as churned,
       ln((m.usage_events_30 + 1) / (m.usage_events_base_90 / 3.0 + 1)) as usage_trend_30,
       ln((coalesce(q.usage_events_90, 0) + 1.0) / (coalesce(q.usage_events_prior_90, 0) + 1.0)) as usage_trend_90,
       c.usage_frequency,
       c.feature_adoption,
       m.escalations_90,
       m.tickets_90 - m.escalations_90 as other_tickets_90,
       case when m.rated_90 > 0 then m.low_csat_90 / m.rated_90 else 0.0 end as low_csat_share_90,
       case when m.invoices_due_365 > 0 then m.invoices_late_365 / m.invoices_due_365 end as late_payment_share,
       m.invoices_late_90,
       least({SILENCE_CAP_DAYS}, coalesce(e.days_since_engagement, {SILENCE_CAP_DAYS})) as days_since_email_engagement,
       case when m.emails_sent_30 > 0 then least(1.0, m.email_opens_30 / m.emails_sent_30) end as email_open_rate_30,
       m.blog_reads_30 + m.webinars_30 + m.downloads_30 as content_30,
       case when m.created_day is null then null else (m.as_of - m.created_day) / 365.25 end as tenure_years,
       ln(m.arr) as log_arr
from measures as m
join components as c on c.account_key = m.account_key and c.as_of = m.as_of
join engagement as e on e.account_key = m.account_key and e.as_of = m.as_of
left join usage_quarters as q on q.account_key = m.account_key and q.as_of = m.as_of
order by m.as_of, m.account_id"""
    ),
)


# ---------------------------------------------------------------------------------------
# The estimator


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated logistic regression of churn within the horizon (see the module docstring).

    Parameters
    ----------
    C : inverse L2 regularization strength of the logistic regression.
    calibration_months : how many of the latest snapshots in ``fit`` calibrate (sigmoid).

    ``fit(X, y, snapshot=...)`` fits on the snapshots before the last ``calibration_months``
    and calibrates on those; without ``snapshot`` it calibrates by 3-fold cross-validation.
    """

    def __init__(self, C: float = 1.0, calibration_months: int = CALIBRATION_MONTHS):
        self.C = C
        self.calibration_months = calibration_months

    def _pipeline(self):
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.C, max_iter=5000),
        )

    def fit(self, X, y, snapshot=None) -> ChurnModel:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator

        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=int)
        if snapshot is None:
            self.calibrated_ = CalibratedClassifierCV(self._pipeline(), method="sigmoid", cv=3).fit(X, y)
            self.pipeline_ = self._pipeline().fit(X, y)
        else:
            snapshot = np.asarray(snapshot)
            months = np.unique(snapshot)
            if len(months) <= self.calibration_months:
                raise ValueError(f"need more than {self.calibration_months} snapshots to fit and calibrate")
            calibrate = snapshot >= months[-self.calibration_months]
            for part, mask in (("fitting", ~calibrate), ("calibration", calibrate)):
                if len(np.unique(y[mask])) < 2:
                    raise ValueError(f"the {part} snapshots hold only one class")
            self.pipeline_ = self._pipeline().fit(X[~calibrate], y[~calibrate])
            self.calibrated_ = CalibratedClassifierCV(FrozenEstimator(self.pipeline_), method="sigmoid").fit(
                X[calibrate], y[calibrate]
            )
        sigmoid = self.calibrated_.calibrated_classifiers_[0].calibrators[0]
        regression = self.pipeline_[-1]
        self.coef_ = regression.coef_[0].copy()
        self.intercept_ = float(regression.intercept_[0])
        self.calibration_slope_ = float(sigmoid.a_)
        self.calibration_intercept_ = float(sigmoid.b_)
        self.classes_ = self.calibrated_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X) -> np.ndarray:
        return self.calibrated_.predict_proba(np.asarray(X, dtype=float))

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def contributions(self, X) -> tuple[float, np.ndarray]:
        """``(baseline, contributions)``: the calibrated log-odds of each row is
        ``baseline + contributions.sum(axis=1)`` (see the module docstring)."""
        z = self.pipeline_[:-1].transform(np.asarray(X, dtype=float))
        a, b = self.calibration_slope_, self.calibration_intercept_
        return -(a * self.intercept_ + b), -a * z * self.coef_


# ---------------------------------------------------------------------------------------
# Snapshots, training, the model card


def snapshot_dates(con, as_of: date) -> list[date]:
    """The month ends from :data:`FIRST_SNAPSHOT_DAYS` into the data up to ``as_of − 90`` (labelled)."""
    span = data_range(con)
    if span is None:
        return []
    first, _ = span
    earliest = first + timedelta(days=FIRST_SNAPSHOT_DAYS)
    last_labelled = as_of - timedelta(days=HORIZON_DAYS)
    dates = []
    month = date(earliest.year, earliest.month, 1)
    while True:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        month_end = following - timedelta(days=1)
        if month_end > last_labelled:
            break
        if month_end >= earliest:
            dates.append(month_end)
        month = following
    return dates


def churn_snapshots(con, dates: list[date], label_end: date, config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Features and labels of every paying account on each date (labels null past ``label_end − 90``)."""
    return run(
        con,
        CHURN_SNAPSHOTS[marketing_days_current(con)],
        _params(con, config, as_of_dates=sorted(set(dates)), label_end=label_end),
    )


@dataclass(frozen=True)
class ChurnAnalysis:
    """The trained model, how well it did on the test months, and its predictions on the as-of date."""

    as_of: date
    model: ChurnModel = field(repr=False)
    features: tuple[str, ...]
    card: dict  # metrics, split, counts
    reliability: pl.DataFrame  # bin, predicted, observed, accounts
    importance: pl.DataFrame  # feature, label, driver, coefficient, importance (|coefficient|), rank
    drivers: pl.DataFrame  # driver, features, auc_drop (test ROC-AUC lost when shuffled), rank
    predictions: pl.DataFrame  # one row per account in scope on as_of

    @property
    def arr_at_risk(self) -> float:
        return float(self.predictions["arr_at_risk"].sum())


def _metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    base = float(y.mean())
    top = np.argsort(-p, kind="stable")[: max(1, int(np.ceil(0.1 * len(p))))]
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "top_decile_lift": float(y[top].mean() / base) if base > 0 else None,
        "churn_rate": base,
        "mean_predicted": float(p.mean()),
        "rows": int(len(y)),
        "churned": int(y.sum()),
    }


DRIVER_REPEATS = 5


def _driver_strength(model: ChurnModel, X: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> pl.DataFrame:
    """Test ROC-AUC lost when each driver's features are shuffled together (mean of DRIVER_REPEATS)."""
    import polars as pl
    from sklearn.metrics import roc_auc_score

    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        groups.setdefault(FEATURES[name][1] or name, []).append(index)
    base = roc_auc_score(y, model.predict_proba(X)[:, 1])
    rng = np.random.default_rng(14)
    drops = {}
    for driver, columns in groups.items():
        losses = []
        for _ in range(DRIVER_REPEATS):
            shuffled = X.copy()
            shuffled[:, columns] = X[rng.permutation(len(X))][:, columns]
            losses.append(base - roc_auc_score(y, model.predict_proba(shuffled)[:, 1]))
        drops[driver] = float(np.mean(losses))
    return (
        pl.DataFrame(
            {
                "driver": list(groups),
                "features": [", ".join(names[i] for i in columns) for columns in groups.values()],
                "planted": [driver in PLANTED_DRIVERS for driver in groups],
                "auc_drop": [drops[driver] for driver in groups],
            }
        )
        .sort("auc_drop", descending=True)
        .with_row_index("rank", offset=1)
    )


def _reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pl.DataFrame:
    import polars as pl

    order = np.argsort(p, kind="stable")
    groups = np.array_split(order, bins)
    return pl.DataFrame(
        {
            "bin": list(range(1, len(groups) + 1)),
            "predicted": [float(p[g].mean()) for g in groups],
            "observed": [float(y[g].mean()) for g in groups],
            "accounts": [len(g) for g in groups],
        }
    )


def churn_analysis(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> ChurnAnalysis:
    """Train on the snapshots labelled by ``as_of``, report on the test months, predict on ``as_of``.

    Raises :class:`RevLensError` when the data before ``as_of`` holds too little churn to
    fit, calibrate and test (each part needs churned and retained accounts).
    """
    import polars as pl

    as_of = resolve_as_of(con, as_of)
    dates = snapshot_dates(con, as_of)
    needed = TEST_MONTHS + CALIBRATION_MONTHS + 1
    if len(dates) < needed:
        raise RevLensError(
            f"The churn model needs {needed} month ends with a whole 90-day outcome before {as_of}, and the data "
            f"has {len(dates)}; pick a later --as-of or load more history."
        )
    frame = churn_snapshots(con, [*dates, as_of], as_of, config)
    names = tuple(FEATURES)
    labelled = frame.filter(pl.col("churned").is_not_null() & pl.col("as_of").is_in(dates))
    test_dates = dates[-TEST_MONTHS:]
    train = labelled.filter(~pl.col("as_of").is_in(test_dates))
    test = labelled.filter(pl.col("as_of").is_in(test_dates))
    for part, rows_ in (("training", train), ("test", test)):
        if rows_["churned"].n_unique() < 2:
            raise RevLensError(
                f"The {part} months before {as_of} hold no churned account (or only churned ones), so the churn "
                "model cannot be trained and tested; pick a later --as-of or load more churn history."
            )
    calibration_dates = dates[-(TEST_MONTHS + CALIBRATION_MONTHS) : -TEST_MONTHS]
    try:
        model = ChurnModel().fit(
            train.select(names).to_numpy(), train["churned"].to_numpy(), snapshot=train["as_of"].to_numpy()
        )
    except ValueError as exc:
        raise RevLensError(
            f"The churn model cannot be trained on the data before {as_of} ({exc}); load more churn history."
        ) from None
    y_test = test["churned"].to_numpy().astype(int)
    X_test = test.select(names).to_numpy().astype(float)
    p_test = model.predict_proba(X_test)[:, 1]
    card = {
        "as_of": as_of.isoformat(),
        "horizon_days": HORIZON_DAYS,
        "model": "median imputation → standardization → L2 logistic regression (C=1) → sigmoid calibration",
        "test": _metrics(y_test, p_test),
        "split": {
            "fit": [dates[0].isoformat(), dates[-(TEST_MONTHS + CALIBRATION_MONTHS + 1)].isoformat()],
            "fit_months": len(dates) - TEST_MONTHS - CALIBRATION_MONTHS,
            "calibration": [d.isoformat() for d in calibration_dates],
            "test": [d.isoformat() for d in test_dates],
        },
        "train_rows": train.height,
        "train_churned": int(train["churned"].sum()),
    }
    importance = (
        pl.DataFrame(
            {
                "feature": list(names),
                "label": [FEATURES[n][0] for n in names],
                "driver": [FEATURES[n][1] for n in names],
                "coefficient": model.coef_.tolist(),
            }
        )
        .with_columns(pl.col("coefficient").abs().alias("importance"))
        .sort("importance", descending=True)
        .with_row_index("rank", offset=1)
    )
    current = frame.filter(pl.col("as_of") == as_of)
    return ChurnAnalysis(
        as_of=as_of,
        model=model,
        features=names,
        card=card,
        reliability=_reliability(y_test, p_test),
        importance=importance,
        drivers=_driver_strength(model, X_test, y_test, names),
        predictions=_predict(model, current, names),
    )


def _predict(model: ChurnModel, current: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    import polars as pl

    X = current.select(names).to_numpy()
    probability = model.predict_proba(X)[:, 1] if len(X) else np.array([])
    _, contributions = model.contributions(X) if len(X) else (0.0, np.zeros((0, len(names))))
    top = np.argsort(-contributions, axis=1, kind="stable")[:, :3]
    columns: dict[str, list] = {}
    for k in range(3):
        columns[f"driver_{k + 1}"] = [names[i] for i in top[:, k]] if len(X) else []
        columns[f"driver_{k + 1}_contribution"] = (
            [float(contributions[r, i]) for r, i in enumerate(top[:, k])] if len(X) else []
        )
    return (
        current.select("account_id", "account_name", "segment", "owner_id", "arr")
        .with_columns(pl.Series("churn_probability", probability, dtype=pl.Float64))
        .with_columns((pl.col("churn_probability") * pl.col("arr")).alias("arr_at_risk"))
        .with_columns(
            *[
                pl.Series(name, values, dtype=pl.String if not name.endswith("contribution") else pl.Float64)
                for name, values in columns.items()
            ]
        )
        .sort("arr_at_risk", descending=True)
    )


def churn_analysis_or_reason(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG):
    """:func:`churn_analysis`, or the sentence saying why there is none (for a page that goes on without it)."""
    try:
        return churn_analysis(con, as_of, config)
    except RevLensError as exc:
        return str(exc)


def churn_predictions(con, as_of: date | None = None, config: HealthConfig = SPEC_CONFIG) -> pl.DataFrame:
    """Each account in scope on ``as_of``: churn_probability (next 90 days), arr_at_risk, top 3 drivers."""
    return churn_analysis(con, as_of, config).predictions


def arr_at_risk(con, as_of: date | None = None) -> float:
    """ARR at risk on ``as_of`` (default: the data's last day): Σ churn probability × ARR (for the Overview)."""
    return churn_analysis(con, as_of).arr_at_risk
