"""The scoring statement gives exactly what the old one gave (``tests/sales/legacy_scoring.py``) on the demo.

The live cases run twice: with the decayed sums the demo's load stored (``_lead_engagement``,
rescaled to 'now') and with every sum taken inline over the events, as the old statement did.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.sales.features import data_end
from analytics.sales.predictive import fit_lead_model
from analytics.sales.rules import default_rules_text, load_rules, parse_rules
from analytics.sales.scoring import Scope, score_statement, scoring_shape
from analytics.warehouse.runner import run
from tests.sales.legacy_scoring import score_statement as legacy_statement


@pytest.fixture(scope="module")
def con(demo_db):
    connection = duckdb.connect(demo_db, read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def model(con):
    return fit_lead_model(con, load_rules()).model


def both(con, shape, rules=None, **options) -> tuple[pl.DataFrame, pl.DataFrame]:
    now, rules = data_end(con), rules or load_rules()
    frames = []
    for statement in (score_statement, legacy_statement):
        sql, params = statement(rules, shape, now, **options)
        frames.append(run(con, sql, params).sort("contact_id"))
    return frames[0], frames[1]


def live_shape(con, stored: bool):
    """The scorer's shape with the stored engagement sums (they must be there) or without them."""
    shape = scoring_shape(con)
    assert shape.engagement is not None and shape.engagement.covers(data_end(con))
    return shape if stored else replace(shape, engagement=None)


def same(new: pl.DataFrame, old: pl.DataFrame) -> None:
    assert new.columns == old.columns
    assert new.height == old.height > 1000
    # the decayed sums are added in another order: equal to the last bits, rounded the same
    assert_frame_equal(new, old, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    reasons = [c for c in new.columns if c.endswith("reasons")]
    assert new.select(reasons).equals(old.select(reasons))
    assert new["reasons"].str.contains(" ×").any() and new["reasons"].str.contains("−").any()


@pytest.mark.parametrize("stored_engagement", [True, False])
@pytest.mark.parametrize("model_reasons", [True, False])
def test_live_scores_with_the_model_are_those_of_the_old_statement(con, model, model_reasons, stored_engagement):
    new, old = both(con, live_shape(con, stored_engagement), model=model, model_reasons=model_reasons)
    same(new, old)
    assert new["predictive_score"].null_count() == 0


@pytest.mark.parametrize("stored", [True, False])
def test_past_leads_with_features_and_outcomes_are_those_of_the_old_statement(con, stored):
    # scored as they looked 30 days in: the stored sums (taken at 'now') must not be used
    shape = replace(scoring_shape(con), features_current=stored)
    scope = Scope(observed=True, mature_only=True)
    new, old = both(con, shape, scope=scope, model_features=True, with_outcome=True)
    same(new, old)
    assert new["converted"].sum() > 0 and new["w_touchpoint"].sum() > 0


@pytest.mark.parametrize("stored_engagement", [True, False])
def test_a_scope_of_segments_and_dates_is_scored_as_before(con, stored_engagement):
    now = data_end(con)
    scope = Scope(created_from=now.date().replace(month=1, day=1), segments=("Enterprise", "Mid-Market"))
    new, old = both(con, live_shape(con, stored_engagement), scope=scope)
    assert set(new["segment"]) == {"Enterprise", "Mid-Market"}
    assert_frame_equal(new, old, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    assert new["reasons"].equals(old["reasons"]) and new.height > 100


def test_negative_and_fractional_fit_points_give_the_old_reason_text(con):
    """Fit reasons are now written once per rule: their signs and roundings (halves away from 0) as SQL's."""
    extra = "-7.5 segment is SMB\n+2.5 industry is Retail\n-0.4 seniority is manager\n-2 employees < 50\n"
    text = default_rules_text()
    after_header = text.index("\n", text.index("[fit]")) + 1
    rules = parse_rules(text[:after_header] + extra + text[after_header:])
    assert len(rules.fit) == len(load_rules().fit) + 4
    new, old = both(con, live_shape(con, True), rules=rules)
    assert_frame_equal(new, old, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    reasons = new["reasons"]
    for text in ("−8 segment is SMB", "+3 industry is Retail", "+0 seniority is manager"):
        assert reasons.str.contains(text, literal=True).any(), text


def test_without_the_reasons_column_every_other_column_is_as_before(con, model):
    """``reasons=False`` (routing, write-back, backtests, training) drops the texts, nothing else."""
    now, rules, shape = data_end(con), load_rules(), live_shape(con, True)
    sql, params = score_statement(rules, shape, now, model=model, model_reasons=False, reasons=False)
    new = run(con, sql, params).sort("contact_id")
    assert "reasons" not in new.columns and "concat_ws('; '" not in sql
    sql, params = legacy_statement(rules, shape, now, model=model, model_reasons=False)
    old = run(con, sql, params).sort("contact_id")
    assert new.height == old.height > 1000
    assert_frame_equal(new, old.drop("reasons"), check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def test_a_choice_of_columns_gives_those_columns_as_before(con, model):
    """``columns=`` (routing's dozen: analytics.sales.routing.scored_columns) selects, nothing else."""
    from analytics.sales.routing import scored_columns

    now, rules, shape = data_end(con), load_rules(), live_shape(con, True)
    columns = scored_columns(True)
    sql, params = score_statement(rules, shape, now, model=model, model_reasons=False, reasons=False, columns=columns)
    new = run(con, sql, params).sort("contact_id")
    sql, params = legacy_statement(rules, shape, now, model=model, model_reasons=False)
    old = run(con, sql, params).sort("contact_id").select(columns)
    assert new.columns == list(columns) and new.height == old.height > 1000
    assert_frame_equal(new, old, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    with pytest.raises(ValueError, match="not a column"):
        score_statement(rules, shape, now, columns=("contact_id", "1; drop table contacts"))
