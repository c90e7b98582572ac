"""The predictive score on the demo: it beats the rules out of time, both beat chance, the planted truth is
recovered, SQL and Python agree, and small data falls back to the calibrated rule score."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from analytics.demo.builder import build_demo
from analytics.demo.truth import PRICING_VISIT_LIFT, SENIORITY_LIFT
from analytics.sales.features import data_end
from analytics.sales.predictive import LeadScoreModel, fit_lead_model, top_decile_lift
from analytics.sales.rules import load_rules
from analytics.sales.scoring import Scope, score_leads
from analytics.warehouse.schema import CHANNELS


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    path = build_demo(tmp_path_factory.mktemp("leads") / "medium.duckdb", seed=3, touchpoints=200_000)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def fitted(medium):
    return fit_lead_model(medium, load_rules())


def test_on_the_demo_the_model_beats_the_rules_on_the_later_holdout_and_both_beat_chance(fitted):
    card = fitted.card
    assert card.mode == "model"
    assert card.holdout_from < card.holdout_to and card.trained_to < card.holdout_from
    assert card.conversions_train >= 120 and card.n_holdout > 1000
    assert card.auc_rules > 0.55
    assert card.auc_predictive > card.auc_rules + 0.05
    assert card.lift_top_decile_predictive > card.lift_top_decile_rules > 1
    assert card.brier_predictive < card.brier_base_rate  # better than predicting the base rate
    bands = pl.DataFrame(card.bands)
    assert bands["leads"].sum() == card.n_holdout and bands["conversions"].sum() == card.conversions_holdout
    # calibrated: in every band with 100+ leads, predicted and observed conversion agree within three
    # binomial standard errors (plus a point)
    for band in bands.filter(pl.col("leads") >= 100).iter_rows(named=True):
        rate, n = band["conversion_rate"], band["leads"]
        assert abs(band["mean_predicted"] - rate) < 3 * np.sqrt(rate * (1 - rate) / n) + 0.01, band


def test_the_sql_score_is_the_estimators_probability(medium, fitted):
    rules = load_rules()
    frame = score_leads(medium, rules, Scope(observed=True, mature_only=True), model=fitted.model, model_features=True)
    python = fitted.model.predict_proba(frame)[:, 1]
    assert np.allclose(
        frame["predictive_probability"]
        if "predictive_probability" in frame.columns
        else frame["predictive_score"] / 100,
        python,
        atol=6e-4,
    )
    reasons = frame["predictive_reasons"].drop_nulls()
    assert reasons.len() > 0.9 * frame.height
    assert all(1 <= len(text.split("; ")) <= 3 for text in reasons.head(200))


def test_the_category_cases_give_the_term_by_term_sum_to_the_last_bit(medium, fitted):
    """probability_sql folds each column's one-hot terms into one CASE; the plain sum of every term agrees exactly."""
    from analytics.sales.scoring import score_statement, scoring_shape
    from analytics.warehouse.runner import run

    model = fitted.model
    assert sum(term.kind == "equals" for term in model.terms_) >= 10
    folded, params = model.probability_sql()
    assert "case segment when" in folded
    plain = " + ".join(["$m_intercept", *(f"$m_w{j} * {term.sql()}" for j, term in enumerate(model.terms_))])
    plain = f"1.0 / (1.0 + exp($m_a * ({plain}) + $m_c))"
    sql, statement_params = score_statement(load_rules(), scoring_shape(medium), data_end(medium), model=model)
    body = sql[: sql.rindex("select final.")].replace(folded, plain)
    assert plain in body and folded not in body
    # the statement's own probability is now the plain sum; the folded one is taken beside it from the same rows
    frame = run(
        medium, f"{body} select predictive_probability as plain, {folded} as folded from final", statement_params
    )
    assert frame.height > 1000 and frame["plain"].null_count() == 0
    assert (frame["plain"] == frame["folded"]).all()


def test_the_planted_drivers_of_conversion_are_recovered(medium):
    """Seniority and pricing visits were drawn given the outcome: their log-odds are the planted ones."""
    frame = score_leads(
        medium, load_rules(), Scope(observed=True, mature_only=True), model_features=True, with_outcome=True
    ).filter(pl.col("seniority").is_not_null())
    levels = ["manager", "director", "vp", "c_level"]
    design = frame.select(
        *[(pl.col("seniority") == level).cast(pl.Float64).alias(level) for level in levels],
        pl.col("w_pricing_visit").cast(pl.Float64),
        *[pl.col("touch_channels").list.contains(c).cast(pl.Float64).alias(c) for c in CHANNELS],
        (pl.col("segment") == "SMB").cast(pl.Float64).alias("smb"),
        (pl.col("segment") == "Enterprise").cast(pl.Float64).alias("enterprise"),
    )
    fit = LogisticRegression(C=1e6, max_iter=5000).fit(design.to_numpy(), frame["converted"].to_numpy())
    coefficients = dict(zip(design.columns, fit.coef_[0]))
    for level in levels:
        assert abs(coefficients[level] - SENIORITY_LIFT[level]) < 0.35, (level, coefficients[level])
    assert abs(coefficients["w_pricing_visit"] - PRICING_VISIT_LIFT) < 0.2


def test_fewer_than_120_conversions_fall_back_to_the_calibrated_rule_score(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        fitted = fit_lead_model(con, load_rules())
        assert fitted.card.mode == "calibrated_rules"
        assert fitted.card.conversions_train < 120
        assert "Small-data mode" in fitted.card.note and "fewer than 120" in fitted.card.note
        # the calibrated rule score ranks exactly as the rule score does
        assert fitted.card.auc_predictive == pytest.approx(fitted.card.auc_rules)
        frame = score_leads(con, load_rules(), model=fitted.model)
        assert frame["predictive_score"].null_count() == 0
        assert set(frame["predictive_reasons"].unique()) == {"rule score, calibrated"}
        ordered = frame.sort("rule_score")["predictive_score"].to_numpy()
        assert np.all(np.diff(ordered) >= -0.15)  # monotone in the rule score (up to both roundings)
    finally:
        con.close()


def test_with_almost_no_conversions_there_is_no_predictive_score():
    frame = pl.DataFrame({"rule_score": [float(i) for i in range(50)]})
    model = LeadScoreModel().fit(frame, [1] * 3 + [0] * 47)
    assert model.mode_ == "none" and "too few" in model.note_
    assert np.isnan(model.predict_proba(frame)[:, 1]).all()
    assert model.probability_sql()[0] == "cast(null as double)"
    assert model.fit(frame, [0] * 50) is model  # fit returns self


def test_top_decile_lift_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 2)  # 20 leads, 4 conversions: 20%
    score = np.r_[np.arange(20, 0, -1)]  # the top 2 (10%) are the first two: both converters
    assert top_decile_lift(y, score) == pytest.approx(1.0 / 0.2)
