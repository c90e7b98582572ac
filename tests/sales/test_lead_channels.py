"""The lead model's channel features come from the data (issue 12): a warehouse whose touches use a channel
outside the demo's eight (an import keeps an unmapped value as its own channel) gets a term for it."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics.core.errors import RevLensError
from analytics.core.labels import label
from analytics.loads import finish_load
from analytics.sales.features import FEATURE_WINDOW_DAYS, data_end
from analytics.sales.predictive import Term, candidate_terms, fit_lead_model
from analytics.sales.rules import default_rules_text, load_rules, parse_rules
from analytics.sales.scoring import Scope, score_leads, score_statement, scoring_shape
from analytics.warehouse.runner import run
from analytics.warehouse.schema import CHANNELS

OWN = "content_syndication"  # the user's channel, in place of the demo's paid_social
RENAMED = "paid_social"
OWN_TERM = Term("touched", "touch_channels", OWN)
MIN_CONVERSIONS = 20  # the 30,000-touch demo has ~100 conversions: the full model, not the small-data fallback


def own_channel_copy(demo_db: str, path) -> duckdb.DuckDBPyConnection:
    """A writable copy of the demo whose paid-social touches and campaigns are the user's own channel, reloaded."""
    shutil.copy(demo_db, path)
    con = duckdb.connect(str(path))
    con.execute("update touchpoints set channel = ? where channel = ?", [OWN, RENAMED])
    con.execute("update campaigns set channel = ? where channel = ?", [OWN, RENAMED])
    finish_load(con, "test: a channel of the user's own")
    return con


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    connection = own_channel_copy(demo_db, tmp_path_factory.mktemp("channels") / "own.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def fitted(con):
    return fit_lead_model(con, load_rules(), min_conversions=MIN_CONVERSIONS)


def test_the_load_stores_each_leads_channels_of_its_first_days(con):
    columns = {name: kind for name, kind, *_ in con.execute("describe _lead_features").fetchall()}
    assert columns["touch_channels"] == "VARCHAR[]"
    assert not [name for name in columns if name.startswith("w_touch_")]
    # the list is the distinct channels of the lead's touches up to 30 days after its creation (or 'now')
    expected = run(
        con,
        f"""
        select t.contact_id, list_sort(list(distinct t.channel)) as touch_channels
        from touchpoints t join contacts c on c.contact_id = t.contact_id
        where t.ts <= least(c.created_at + interval {FEATURE_WINDOW_DAYS} day, ?)
        group by t.contact_id
        """,
        [data_end(con)],
    )
    stored = run(con, "select contact_id, touch_channels from _lead_features where len(touch_channels) > 0")
    assert_frame_equal(stored.sort("contact_id"), expected.sort("contact_id"))
    touched = stored.filter(pl.col("touch_channels").list.contains(OWN)).height
    assert touched > 100 and not stored.filter(pl.col("touch_channels").list.contains(RENAMED)).height


def test_the_fitted_model_has_a_term_for_the_users_channel_with_its_label(fitted):
    model = fitted.model
    assert model.mode_ == "model"
    assert OWN_TERM in model.terms_
    assert OWN_TERM.label == f"{label('channel', OWN)} touches" == "Content syndication touches"
    channels = {term.value for term in model.terms_ if term.kind == "touched"}
    assert channels == (set(CHANNELS) - {RENAMED}) | {OWN}  # the data's channels, not the demo's list
    assert fitted.card.auc_predictive > 0.6
    # the channels, names from the data, are bound in the score and in the reasons
    sql, params = model.probability_sql()
    assert f"'{OWN}'" not in sql and "list_contains(touch_channels, $" in sql and OWN in params.values()
    sql, params = model.reasons_sql("scored")
    reason_channels = {model.terms_[j].value for j in model.reason_terms_ if model.terms_[j].kind == "touched"}
    assert reason_channels <= set(params.values()) and not [c for c in reason_channels if f"'{c}'" in sql]


def test_channels_touched_by_fewer_than_one_percent_of_the_leads_get_no_term():
    frame = pl.DataFrame(
        {"touch_channels": [["email", "rare"]] + [["email"]] * 98 + [[]] + [["o'reilly"]] * 2},
        schema={"touch_channels": pl.List(pl.String)},
    )
    touched = [term for term in candidate_terms(frame) if term.kind == "touched"]
    assert [term.value for term in touched] == ["email", "o'reilly"]  # rare: 1 of 102 leads, under 1%
    quoted = touched[1]
    assert quoted.sql() == "(case when list_contains(touch_channels, 'o''reilly') then 1.0 else 0.0 end)"
    assert frame.select(quoted.polars()).to_series().to_list() == [0.0] * 100 + [1.0, 1.0]


def test_the_stored_and_inline_features_give_the_same_scores(con, fitted):
    shape, now, rules = scoring_shape(con), data_end(con), load_rules()
    assert shape.features_current
    frames = []
    for current in (True, False):
        sql, params = score_statement(
            rules, replace(shape, features_current=current), now, model=fitted.model, model_features=True
        )
        assert ("_lead_features" in sql) is current
        frames.append(run(con, sql, params).sort("contact_id"))
    stored, inline = frames
    assert stored.height > 1000 and stored["predictive_score"].null_count() == 0
    assert_frame_equal(stored, inline, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    assert stored["touch_channels"].list.contains(OWN).sum() > 100
    picked = run(con, *score_statement(rules, shape, now, model=fitted.model, columns=("contact_id", "touch_channels")))
    assert picked.sort("contact_id").equals(stored.select("contact_id", "touch_channels"))
    # and SQL's probability is the estimator's on the same features
    python = fitted.model.predict_proba(stored)[:, 1]
    assert np.allclose(stored["predictive_score"] / 100, python, atol=6e-4)


def test_a_lead_that_gains_a_touch_on_the_users_channel_scores_by_that_terms_weight(demo_db, tmp_path, fitted):
    con = own_channel_copy(demo_db, tmp_path / "gain.duckdb")
    try:
        model, rules = fitted.model, load_rules()
        scope = Scope(observed=True, mature_only=True)  # scored as it looked 30 days in: the new touch counts
        before = run(con, *score_statement(rules, scoring_shape(con), data_end(con), scope, model=model))
        before = before.sort("contact_id")
        # a matured lead without a touch on the channel in its first 30 days, and with other touches in them
        contact_id, created_at, touches = con.execute(
            """
            select f.contact_id, c.created_at, f.w_touchpoint
            from _lead_features f join contacts c on c.contact_id = f.contact_id
            where not list_contains(f.touch_channels, ?) and f.w_touchpoint > 0
              and c.created_at + interval 180 day <= ?
            order by f.contact_id limit 1
            """,
            [OWN, data_end(con)],
        ).fetchone()
        assert contact_id in before["contact_id"].to_list()
        con.execute(
            "insert into touchpoints values ('TP-GAINED', ?, null, ?, 'social_engagement', ?, 1.0)",
            [contact_id, OWN, created_at + timedelta(days=2)],
        )
        finish_load(con, "test: one more touch", changed=["touchpoints"])
        after = run(con, *score_statement(rules, scoring_shape(con), data_end(con), scope, model=model))
        after = after.sort("contact_id")
        assert before.height == after.height > 1000
        row = after.filter(pl.col("contact_id") == contact_id)
        assert OWN in row["touch_channels"][0] and row["w_touchpoint"][0] == touches + 1
        # the logit moves by the channel's weight and the touch count's (ln(1 + n) → ln(2 + n)); nothing else
        weight = dict(zip(model.terms_, model.weights_))
        expected = weight[OWN_TERM] + weight[Term("log1p", "w_touchpoint")] * (np.log(2 + touches) - np.log1p(touches))
        logit = model.decision_function(after.filter(pl.col("contact_id") == contact_id))[0]
        logit_before = model.decision_function(before.filter(pl.col("contact_id") == contact_id))[0]
        assert logit - logit_before == pytest.approx(expected, abs=1e-9)
        assert abs(weight[OWN_TERM]) > 1e-3
        moved = after["predictive_score"] != before["predictive_score"]
        assert after.filter(moved)["contact_id"].to_list() == [contact_id]
        p = model.predict_proba(row)[0, 1]
        assert row["predictive_score"][0] == pytest.approx(100 * p, abs=0.06)
    finally:
        con.close()


def test_a_model_fitted_without_the_channel_column_has_no_channel_terms():
    frame = pl.DataFrame({"segment": ["SMB", "Enterprise"] * 100, "employees": [10, 1000] * 100})
    terms = candidate_terms(frame)
    assert Term("equals", "segment", "SMB") in terms and not [term for term in terms if term.kind == "touched"]


def test_a_rule_can_score_touches_on_the_users_channel(con):
    """``touch_<channel>`` names any channel: the rule scores the user's channel and its reason says its label."""
    text = default_rules_text()
    after_header = text.index("\n", text.index("[engagement]")) + 1
    rules = parse_rules(text[:after_header] + f"+7 per touch_{OWN} max 7 half_life 1000 days\n" + text[after_header:])
    with_rule = score_leads(con, rules).sort("contact_id")
    without = score_leads(con, load_rules()).sort("contact_id")
    touched = set(
        run(con, "select distinct contact_id from touchpoints where channel = ? and ts <= ?", [OWN, data_end(con)])[
            "contact_id"
        ]
    )
    assert len(touched) > 100
    gained = with_rule.filter(pl.col("reasons").str.contains("Content syndication touches", literal=True))
    assert set(gained["contact_id"]) <= touched and gained.height > 0.9 * len(touched)
    # the rule adds its points (up to the group's limit) to exactly those leads
    raised = with_rule["engagement_score"] > without["engagement_score"]
    assert set(with_rule.filter(raised)["contact_id"]) <= touched
    assert with_rule.filter(~with_rule["contact_id"].is_in(list(touched)))["engagement_score"].equals(
        without.filter(~without["contact_id"].is_in(list(touched)))["engagement_score"]
    )
    with pytest.raises(RevLensError, match="unknown event 'touch_Content'.*touch_<channel>"):
        parse_rules(text[:after_header] + "+7 per touch_Content\n" + text[after_header:])


def test_a_warehouse_built_before_the_channel_list_scores_inline_until_its_next_load(demo_db, tmp_path, fitted):
    """The old ``_lead_features`` (a count per demo channel, recorded as ``lead_features``) is stale, not misread."""
    path = tmp_path / "old.duckdb"
    shutil.copy(demo_db, path)
    con = duckdb.connect(str(path))
    try:
        version = con.execute("select value from _meta where key = 'version'").fetchone()[0]
        con.execute("alter table _lead_features drop column touch_channels")
        con.execute("alter table _lead_features add column w_touch_email bigint")
        con.execute("delete from _meta where key = 'lead_model_features_version'")
        con.execute("insert into _meta (key, value) values ('lead_features_version', ?)", [version])
        assert not scoring_shape(con).features_current
        scope = Scope(observed=True, mature_only=True)
        inline = score_leads(con, load_rules(), scope, model=fitted.model, model_features=True)
        assert inline.height > 1000 and inline["touch_channels"].list.len().sum() > 1000
        finish_load(con, "test: a load of deals only", changed=["opportunities"])  # not a source of the features
        assert scoring_shape(con).features_current
        assert "touch_channels" in [name for name, *_ in con.execute("describe _lead_features").fetchall()]
        stored = score_leads(con, load_rules(), scope, model=fitted.model, model_features=True)
        assert_frame_equal(stored.sort("contact_id"), inline.sort("contact_id"), check_exact=False, rel_tol=1e-12)
    finally:
        con.close()
