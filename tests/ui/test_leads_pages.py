"""Marketing → Leads and Sales → Routing in AppTest: thresholds, the rule editor's backtest, the small-data
note, the replay, a refused configuration, time off, live routing and its audit."""

from __future__ import annotations

import shutil

import pytest

from tests.paths import ROOT

LEADS = "pages/marketing/leads.py"
ROUTING = "pages/sales/routing.py"


@pytest.fixture()
def app(app_test, tmp_path, monkeypatch):
    rules = tmp_path / "lead_rules.txt"
    shutil.copy(ROOT / "data" / "lead_rules.txt", rules)
    monkeypatch.setenv("REVLENS_LEAD_RULES", str(rules))
    routing = tmp_path / "lead_routing.toml"
    shutil.copy(ROOT / "data" / "lead_routing.toml", routing)
    monkeypatch.setenv("REVLENS_LEAD_ROUTING", str(routing))
    at = app_test()
    at.run()
    return at


def _table_with(at, *columns):
    """The first table showing all ``columns`` (tables without selection carry no key in AppTest)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with {columns}")


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_leads_page_shows_both_scores_the_funnel_and_the_small_data_note(app):
    app.switch_page(LEADS).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.title[0].value == "Leads"
    assert any("Small-data mode" in w.value for w in app.warning)  # the small demo has < 120 conversions
    table = _table_with(app, "rule_score", "predictive_score", "grade", "tier", "reasons", "suggested_owner")
    assert len(table) > 0 and table["predictive_score"].notna().all()
    before = _metrics(app)["MQL or better"]
    app.slider(key="leads_mql").set_value(20).run()
    assert not app.exception
    assert _metrics(app)["MQL or better"] != before


def test_rule_editor_backtests_live_and_names_a_bad_line(app):
    app.switch_page(LEADS).run()
    editor = app.text_area(key="leads_rules_editor")
    text = editor.value
    editor.set_value(text.replace("+15 segment is Enterprise", "+15 segmnt is Enterprise")).run()
    assert any("Line 7 of the edited rules: unknown field 'segmnt'" in e.value for e in app.error)
    assert app.button(key="leads_rules_save").disabled
    app.text_area(key="leads_rules_editor").set_value(
        text.replace("mql = 40", "mql = 40\n").replace("+12 seniority in vp, c_level", "+40 seniority in vp, c_level")
    ).run()
    assert not app.error
    assert int(_metrics(app)["Leads that change tier"].replace(",", "")) > 0
    app.button(key="leads_rules_save").click().run()
    assert not app.exception
    assert "+40 seniority in vp, c_level" in app.text_area(key="leads_rules_editor").value


def test_routing_page_replays_and_refuses_a_configuration_nobody_can_serve(app):
    app.switch_page(ROUTING).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    metrics = _metrics(app)
    assert int(metrics["Leads routed"].replace(",", "")) > 0
    assert "Fair shares" in metrics and "Predicted SLA breaches" in metrics
    app.selectbox(key="routing_method").set_value("round_robin").run()
    assert not app.exception
    app.slider(key="routing_capacity").set_value(0.0).run()
    assert any("No rep can ever receive a lead" in e.value for e in app.error)


def test_time_off_and_live_routing_write_to_the_ops_store(app):
    app.switch_page(ROUTING).run()
    app.button(key="routing_live").click().run()
    assert not app.exception
    assert any("decisions recorded" in s.value for s in app.success)
    assert len(_table_with(app, "decided_at", "rule", "candidates", "skipped")) > 0


def test_a_replayed_configuration_goes_live_when_saved(app, tmp_path):
    app.switch_page(ROUTING).run()
    assert app.button(key="routing_save").disabled  # nothing changed yet
    app.selectbox(key="routing_method").set_value("load_based").run()
    assert not app.button(key="routing_save").disabled
    app.button(key="routing_save").click().run()
    assert not app.exception
    assert 'method = "load_based"' in (tmp_path / "lead_routing.toml").read_text()
    assert app.button(key="routing_save").disabled  # the saved file is now the base


def test_the_routing_page_works_on_a_warehouse_without_sales_activity(tmp_path, app_test, monkeypatch):
    import duckdb

    from analytics.demo.builder import build_demo

    path = build_demo(tmp_path / "no_activity.duckdb", seed=5, touchpoints=20_000)
    con = duckdb.connect(str(path))
    con.execute("drop table sales_activities; drop table rep_time_off")
    con.close()
    monkeypatch.setenv("REVLENS_DB", str(path))
    at = app_test()
    at.run()
    at.switch_page("pages/sales/routing.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error] + [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Breached the SLA"] == "0"
