"""The predictive lead score: the calibrated probability that a lead converts within 180 days.

*Converts* means a closed-won opportunity of the contact closing within ``horizon_days``
(180) of the lead's creation (:data:`analytics.sales.features.OUTCOMES_CTE`). A lead is
described as it looked ``observe_days`` (30) after its creation (its fit, and its counts of
each event in :data:`~analytics.sales.features.MODEL_EVENTS` in those days, and which channels
it touched then: ``touch_channels``), so the model
learns from what was known early, and scores a younger lead on the days it has.

Model (:class:`LeadScoreModel`, scikit-learn conventions): a design of fixed term kinds
(:class:`Term`: a category indicator, a missing-value flag, ``ln(1 + n)``, ``min(n, 10)``,
``[channel c touched]``), standardized, an L2 logistic regression ``f(x) = w·z + b``, calibrated by
Platt scaling on 5-fold out-of-fold predictions (``CalibratedClassifierCV(method="sigmoid",
ensemble=False)``):

.. math:: p(x) = 1 / (1 + \\exp(a f(x) + c))

Standardization is folded into the weights, so scoring is one SQL expression per lead
(:meth:`LeadScoreModel.probability_sql`), no row leaves the warehouse. The **top 3
reasons** of a lead are the terms with the largest ``|w_j (x_j − \\bar x_j)|`` (its
difference from the average lead, in log-odds), with an arrow for their direction; the
candidates are the 15 terms with the largest ``|w_j| · sd(x_j)`` in training.

**Out-of-time holdout** (:func:`fit_lead_model`): with ``T`` the last creation date whose
180-day window has ended, leads created in the ``holdout_months`` before ``T`` are the
holdout; the model is trained on the leads created before it and judged there (ROC-AUC,
PR-AUC, top-decile lift, Brier score, conversion by score band, against the rule score on
the same leads). The model that scores live leads is then refit on every matured lead.

**Small-data fallback**: with fewer than ``min_conversions`` (120, Salesforce Einstein's
floor) conversions to learn from, the model is the rule score calibrated to conversion
(``p = σ(α + β · rule_score)``, Platt scaling of one feature), and the card says so; with
fewer than 10 conversions (or none lost) there is no predictive score at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, ClassifierMixin

from analytics.core.labels import label
from analytics.core.periods import add_months
from analytics.sales.features import EVENTS, MODEL_EVENTS, TOUCH_CHANNELS
from analytics.sales.rules import Rules
from analytics.sales.scoring import HORIZON_DAYS, Scope, mature_until, score_leads

MIN_CONVERSIONS = 120
MIN_CONVERSIONS_AT_ALL = 10
CATEGORICAL = ("segment", "seniority", "lead_source", "industry")
CATEGORY_MIN_SHARE = 0.01
COUNT_CAP = 10
REASON_TERMS = 15  # candidates for a lead's top-3 reasons
SCORE_BANDS = ((0, 5), (5, 10), (10, 20), (20, 40), (40, 101))  # predictive score (0–100) bands


@dataclass(frozen=True)
class Term:
    """One design column: ``kind`` over ``column`` (``equals`` and ``touched`` also name their ``value``).

    ``touched`` is ``[value ∈ column]`` over a list column: whether the lead touched channel ``value`` in
    its first days (``touch_channels``); it reads as the channel's label ("Content syndication touches").
    """

    kind: str  # equals | missing | flag | log1p | count | touched
    column: str
    value: str | None = None

    @property
    def label(self) -> str:
        column = self.column.removeprefix("w_")
        event = EVENTS.get(column)
        if self.kind == "equals":
            return f"{column.replace('_', ' ')} {self.value}"
        if self.kind == "missing":
            return f"no {column.replace('_', ' ')}"
        if self.kind == "flag":
            return column.replace("is_", "").replace("_", " ")
        if self.kind == "touched":
            return f"{label('channel', self.value)} touches"
        return event.label if event else column.replace("_", " ")

    def sql(self, value: str | None = None) -> str:
        """The term over the scoring statement's columns; ``value``: SQL to read the term's value from (a bound
        parameter, :meth:`bound_sql`) instead of its literal."""
        if self.kind == "equals":
            return f"(case when {self.column} = {value or self._literal()} then 1.0 else 0.0 end)"
        if self.kind == "touched":
            return f"(case when list_contains({self.column}, {value or self._literal()}) then 1.0 else 0.0 end)"
        if self.kind == "missing":
            return f"(case when {self.column} is null then 1.0 else 0.0 end)"
        if self.kind == "flag":
            return f"cast(coalesce({self.column}, 0) as double)"
        if self.kind == "log1p":
            return f"ln(1 + greatest(coalesce({self.column}, 0), 0))"
        if self.kind == "count":
            return f"cast(least(coalesce({self.column}, 0), {COUNT_CAP}) as double)"
        raise ValueError(f"unknown term kind {self.kind!r}")

    def polars(self) -> pl.Expr:
        column = pl.col(self.column)
        if self.kind == "equals":
            return (column == self.value).fill_null(False).cast(pl.Float64)
        if self.kind == "touched":
            return column.list.contains(self.value).fill_null(False).cast(pl.Float64)
        if self.kind == "missing":
            return column.is_null().cast(pl.Float64)
        if self.kind == "flag":
            return column.fill_null(0).cast(pl.Float64)
        if self.kind == "log1p":
            return column.fill_null(0).clip(0).cast(pl.Float64).log1p()
        if self.kind == "count":
            return column.fill_null(0).clip(upper_bound=COUNT_CAP).cast(pl.Float64)
        raise ValueError(f"unknown term kind {self.kind!r}")

    def bound_sql(self, name: str, params: dict) -> str:
        """:meth:`sql` with a channel bound as ``$name`` (added to ``params``): a name from the data."""
        if self.kind != "touched":
            return self.sql()
        params[name] = self.value
        return self.sql(f"${name}")

    def _literal(self) -> str:
        """The value as an SQL string literal, quotes doubled (a category or channel the fit found in the data)."""
        return "'" + self.value.replace("'", "''") + "'"


def candidate_terms(frame: pl.DataFrame) -> list[Term]:
    """The design for a training frame: categories with at least 1% of its leads, fixed terms, and the
    channels at least 1% of its leads touched in their first days (whatever channels the data holds)."""
    terms: list[Term] = []
    for column in CATEGORICAL:
        if column not in frame.columns:
            continue
        shares = frame[column].drop_nulls().value_counts(normalize=True, sort=True, name="share")
        for value, share in shares.iter_rows():
            if share >= CATEGORY_MIN_SHARE:
                terms.append(Term("equals", column, str(value)))
        if frame[column].null_count():
            terms.append(Term("missing", column))
    terms += [Term("log1p", "employees"), Term("flag", "is_free_mail"), Term("missing", "email")]
    for name in MODEL_EVENTS:
        terms.append(Term("log1p" if name in ("touchpoint", "page_view") else "count", f"w_{name}"))
    if TOUCH_CHANNELS in frame.columns and frame.height:
        # each lead's list holds a channel once, so a channel's count is the number of leads that touched it
        touched = frame[TOUCH_CHANNELS].explode().drop_nulls().value_counts(name="leads")
        for channel, leads in touched.sort(TOUCH_CHANNELS).iter_rows():
            if leads / frame.height >= CATEGORY_MIN_SHARE:
                terms.append(Term("touched", TOUCH_CHANNELS, str(channel)))
    return terms


class LeadScoreModel(ClassifierMixin, BaseEstimator):
    """Calibrated logistic lead score with the small-data fallback (see the module docstring).

    ``fit(frame, y)`` takes the frame of :func:`analytics.sales.scoring.score_leads` with
    ``model_features=True`` (it needs ``rule_score`` too). Fitted: ``mode_`` (``model``,
    ``calibrated_rules`` or ``none``), ``terms_``, ``weights_`` and ``intercept_`` (on the raw
    terms: standardization folded in), ``means_``, ``calibration_`` ``(a, c)``,
    ``n_conversions_``, ``note_``.
    """

    def __init__(self, C: float = 0.5, min_conversions: int = MIN_CONVERSIONS, folds: int = 5):
        self.C = C
        self.min_conversions = min_conversions
        self.folds = folds

    @property
    def uses_features(self) -> bool:
        return getattr(self, "mode_", None) == "model"

    def _design(self, frame: pl.DataFrame) -> np.ndarray:
        return frame.select([term.polars().alias(f"t{j}") for j, term in enumerate(self.terms_)]).to_numpy()

    def fit(self, frame: pl.DataFrame, y) -> LeadScoreModel:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(y, dtype=int)
        self.classes_ = np.array([0, 1])
        self.n_conversions_ = int(y.sum())
        self.n_leads_ = int(len(y))
        if self.n_conversions_ < MIN_CONVERSIONS_AT_ALL or self.n_conversions_ == len(y):
            self.mode_, self.terms_ = "none", []
            self.weights_, self.intercept_, self.means_, self.calibration_ = np.zeros(0), 0.0, np.zeros(0), (0.0, 0.0)
            self.note_ = (
                f"Only {self.n_conversions_} conversions among {len(y):,} matured leads: too few for any predictive "
                "score; the rule score stands alone."
            )
            return self
        if self.n_conversions_ < self.min_conversions:
            self.mode_ = "calibrated_rules"
            self.terms_ = [Term("flag", "rule_score")]
            x = self._design(frame)
            logistic = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
            self.weights_ = logistic.coef_[0].astype(float)
            self.intercept_ = float(logistic.intercept_[0])
            self.means_ = x.mean(axis=0)
            self.calibration_ = (-1.0, 0.0)  # p = σ(f): the one-feature fit is its own calibration
            self.note_ = (
                f"Small-data mode: {self.n_conversions_} conversions to learn from, fewer than "
                f"{self.min_conversions}; the predictive score is the rule score calibrated to conversion."
            )
            return self
        self.mode_ = "model"
        self.terms_ = candidate_terms(frame)
        x = self._design(frame)
        keep = x.std(axis=0) > 0
        self.terms_ = [term for term, kept in zip(self.terms_, keep) if kept]
        x = x[:, keep]
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        calibrated = CalibratedClassifierCV(pipeline, method="sigmoid", cv=self.folds, ensemble=False).fit(x, y)
        fitted = calibrated.calibrated_classifiers_[0]
        scaler, logistic = fitted.estimator[0], fitted.estimator[1]
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        self.weights_ = logistic.coef_[0] / scale
        self.intercept_ = float(logistic.intercept_[0] - np.sum(logistic.coef_[0] * scaler.mean_ / scale))
        calibrator = fitted.calibrators[0]
        self.calibration_ = (float(calibrator.a_), float(calibrator.b_))
        self.means_ = x.mean(axis=0)
        # reasons come from the terms that move leads most (|w| × spread): the rest never make a top 3
        spread = np.abs(self.weights_) * x.std(axis=0)
        self.reason_terms_ = set(np.argsort(-spread)[:REASON_TERMS].tolist())
        self.note_ = f"Trained on {len(y):,} leads with {self.n_conversions_:,} conversions."
        return self

    def decision_function(self, frame: pl.DataFrame) -> np.ndarray:
        if self.mode_ == "none":
            return np.zeros(len(frame))
        return self._design(frame) @ self.weights_ + self.intercept_

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        if self.mode_ == "none":
            p = np.full(len(frame), np.nan)
        else:
            a, c = self.calibration_
            p = 1.0 / (1.0 + np.exp(a * self.decision_function(frame) + c))
        return np.column_stack([1 - p, p])

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return (self.predict_proba(frame)[:, 1] >= 0.5).astype(int)

    # -- SQL ----------------------------------------------------------------------------
    def probability_sql(self) -> tuple[str, dict]:
        """The calibrated probability as one SQL expression over the scoring statement's columns."""
        if self.mode_ == "none":
            return "cast(null as double)", {}
        params = {"m_intercept": self.intercept_, "m_a": self.calibration_[0], "m_c": self.calibration_[1]}
        parts, category = [], []  # category: the run of "equals" terms on one column being gathered
        for j, term in enumerate(self.terms_):
            params[f"m_w{j}"] = float(self.weights_[j])
            if category and (term.kind != "equals" or term.column != self.terms_[category[0]].column):
                parts.append(self._category_sql(category))
                category = []
            if term.kind == "equals":
                category.append(j)
            else:
                parts.append(f"$m_w{j} * {self._sql_of(term, j, params)}")
        if category:
            parts.append(self._category_sql(category))
        linear = " + ".join(["$m_intercept", *parts])
        return f"1.0 / (1.0 + exp($m_a * ({linear}) + $m_c))", params

    def _category_sql(self, indices: list[int]) -> str:
        """``Σ_j w_j [column = v_j]`` over one column's category terms as one CASE: at most one value
        matches, and adding the others' exact zeros changes no bit, so it equals the term-by-term sum."""
        column = self.terms_[indices[0]].column
        whens = " ".join(f"when '{self.terms_[j].value.replace(chr(39), chr(39) * 2)}' then $m_w{j}" for j in indices)
        return f"(case {column} {whens} else 0.0 end)"

    @staticmethod
    def _sql_of(term: Term, j: int, params: dict) -> str:
        # the fallback's one term is the rule score before rounding
        if term.column == "rule_score":
            return "rule_score_raw"
        return term.bound_sql(f"m_v{j}", params)

    def fixed_reason_sql(self) -> str:
        text = {"none": "no predictive score: too few conversions", "calibrated_rules": "rule score, calibrated"}
        return "'" + text.get(self.mode_, "") + "'"

    def reasons_sql(self, source: str) -> tuple[str, dict]:
        """CTEs ``model_terms`` and ``model_reasons`` (top 3 reasons per lead), or ``""`` outside ``model`` mode."""
        if self.mode_ != "model":
            return "", {}
        params: dict = {}
        values, rows = [], []
        for j, term in enumerate(self.terms_):
            if j not in self.reason_terms_:
                continue
            values.append(f"{term.bound_sql(f'r_v{j}', params)} as t{j}")
            params[f"r_w{j}"] = float(self.weights_[j])
            params[f"r_mu{j}"] = float(self.means_[j])
            params[f"r_label{j}"] = term.label
            shown = "any" if term.kind in ("log1p", "count", "touched") else "set"
            rows.append(f"('t{j}', $r_w{j}, $r_mu{j}, $r_label{j}, '{term.kind}', '{shown}')")
        names = ", ".join(f"t{j}" for j in sorted(self.reason_terms_))
        return (
            f"""model_terms as (
        select contact_id, {", ".join(values)} from final
    ),
    term_values as (
        unpivot model_terms on {names} into name term value x
    ),
    term_weights (term, weight, mean, label, kind, shown) as (
        values {", ".join(rows)}
    ),
    contributions as (
        select v.contact_id, w.label, w.kind, v.x, w.weight * (v.x - w.mean) as contribution,
               row_number() over (partition by v.contact_id order by abs(w.weight * (v.x - w.mean)) desc,
                                  w.term) as rank
        from term_values v
        join term_weights w on w.term = v.term
        where (w.shown = 'any' or v.x > 0) and abs(w.weight * (v.x - w.mean)) >= 0.05
    ),
    model_reasons as (
        select contact_id,
               string_agg(case when contribution > 0 then '↑ ' else '↓ ' end
                          || case when kind = 'touched' and x = 0 then 'no ' || label
                                  when kind = 'count' and x = 0 then 'no ' || label
                                  when kind = 'count' then label || ' ×' || cast(cast(x as integer) as varchar)
                                  when kind = 'log1p' then label || ' ×'
                                       || cast(cast(round(exp(x) - 1) as integer) as varchar)
                                  else label end, '; ' order by rank) as predictive_reasons
        from contributions
        where rank <= 3
        group by contact_id
    )""",
            params,
        )


# ---------------------------------------------------------------------------------------
# Evaluation and the model card


def roc_auc(y, score) -> float | None:
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None


def top_decile_lift(y, score) -> float | None:
    """Conversion rate of the top 10% by score ÷ the overall conversion rate."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if not len(y) or y.mean() == 0:
        return None
    top = np.argsort(-score, kind="stable")[: max(1, int(np.ceil(0.1 * len(y))))]
    return float(y[top].mean() / y.mean())


@dataclass
class ModelCard:
    """How the predictive score was made and how well it does on leads it did not see."""

    mode: str
    note: str
    horizon_days: int
    observe_days: int
    trained_from: str | None
    trained_to: str | None
    n_train: int
    conversions_train: int
    holdout_from: str
    holdout_to: str
    n_holdout: int
    conversions_holdout: int
    auc_predictive: float | None
    auc_rules: float | None
    pr_auc_predictive: float | None
    pr_auc_rules: float | None
    lift_top_decile_predictive: float | None
    lift_top_decile_rules: float | None
    brier_predictive: float | None
    brier_base_rate: float | None
    bands: list[dict] = field(default_factory=list)
    top_terms: list[dict] = field(default_factory=list)
    n_deployed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, (date, datetime)) else None


def evaluate(model: LeadScoreModel, holdout: pl.DataFrame) -> dict:
    """Holdout metrics of the model and of the rule score on the same leads."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    y = holdout["converted"].to_numpy()
    rules = holdout["rule_score"].to_numpy()
    p = model.predict_proba(holdout)[:, 1]
    has_both = 0 < y.sum() < len(y)
    metrics = {
        "auc_rules": roc_auc(y, rules),
        "pr_auc_rules": float(average_precision_score(y, rules)) if has_both else None,
        "lift_top_decile_rules": top_decile_lift(y, rules),
        "auc_predictive": None,
        "pr_auc_predictive": None,
        "lift_top_decile_predictive": None,
        "brier_predictive": None,
        "brier_base_rate": float(np.mean((y - y.mean()) ** 2)) if len(y) else None,
        "bands": [],
    }
    if model.mode_ != "none" and len(y):
        metrics.update(
            auc_predictive=roc_auc(y, p),
            pr_auc_predictive=float(average_precision_score(y, p)) if has_both else None,
            lift_top_decile_predictive=top_decile_lift(y, p),
            brier_predictive=float(brier_score_loss(y, p)) if len(y) else None,
        )
        score = 100 * p
        for low, high in SCORE_BANDS:
            inside = (score >= low) & (score < high)
            n = int(inside.sum())
            metrics["bands"].append(
                {
                    "band": f"{low}–{min(high, 100)}",
                    "leads": n,
                    "conversions": int(y[inside].sum()),
                    "conversion_rate": float(y[inside].mean()) if n else None,
                    "mean_predicted": float(p[inside].mean()) if n else None,
                }
            )
    return metrics


@dataclass
class FittedLeadModel:
    """The deployed model (refit on every matured lead) and its card (from the out-of-time holdout)."""

    model: LeadScoreModel
    card: ModelCard


def fit_lead_model(
    con,
    rules: Rules,
    holdout_months: int = 3,
    horizon_days: int = HORIZON_DAYS,
    min_conversions: int = MIN_CONVERSIONS,
    now: datetime | None = None,
) -> FittedLeadModel:
    """Train on earlier leads, judge on the out-of-time holdout, refit on all matured leads."""
    from analytics.sales.features import data_end

    now = now or data_end(con)
    holdout_to = mature_until(now, horizon_days)
    holdout_from = add_months(holdout_to, -holdout_months)
    frame = score_leads(
        con,
        rules,
        Scope(observed=True, mature_only=True, horizon_days=horizon_days),
        model_features=True,
        with_outcome=True,
        now=now,
        reasons=False,
    )
    created = pl.col("created_at").cast(pl.Date)
    train = frame.filter(created < holdout_from)
    holdout = frame.filter(created >= holdout_from, created <= holdout_to)
    trial = LeadScoreModel(min_conversions=min_conversions).fit(train, train["converted"])
    metrics = evaluate(trial, holdout)
    deployed = LeadScoreModel(min_conversions=min_conversions)
    if trial.mode_ == "model":
        deployed.fit(frame, frame["converted"])
    else:  # the mode is decided on what the holdout test could learn from
        deployed = trial
    order = np.argsort(-np.abs(deployed.weights_ * np.std(deployed._design(frame), axis=0))) if deployed.terms_ else []
    top_terms = [{"term": deployed.terms_[j].label, "weight": float(deployed.weights_[j])} for j in list(order)[:12]]
    card = ModelCard(
        mode=trial.mode_,
        note=trial.note_,
        horizon_days=horizon_days,
        observe_days=Scope().observe_days,
        trained_from=_iso(train["created_at"].min().date()) if len(train) else None,
        trained_to=_iso(train["created_at"].max().date()) if len(train) else None,
        n_train=len(train),
        conversions_train=int(train["converted"].sum()),
        holdout_from=holdout_from.isoformat(),
        holdout_to=holdout_to.isoformat(),
        n_holdout=len(holdout),
        conversions_holdout=int(holdout["converted"].sum()),
        top_terms=top_terms,
        n_deployed=len(frame),
        **metrics,
    )
    return FittedLeadModel(deployed, card)
