"""Customer Success → Adoption and Marketing → Feedback in AppTest: what they draw, their settings and actions."""

from __future__ import annotations

import pytest

from analytics.customers import adoption
from analytics.ops.store import ops_engine

USER = "ana@example.com"


@pytest.fixture()
def page(app_test, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    monkeypatch.setenv("REVLENS_USER", USER)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("REVLENS_HEALTH_KEY_FEATURES", raising=False)

    def open_page(path: str):
        at = app_test()
        at.run()
        at.switch_page(path).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return open_page


def table_with(at, *columns: str):
    """The first table on the page with ``columns`` (display tables carry no key in AppTest)."""
    return next(frame.value for frame in at.dataframe if set(columns) <= set(frame.value.columns))


def test_adoption_page_draws_milestones_lifts_signals_and_saves_settings(page):
    at = page("pages/customer_success/adoption.py")
    assert at.title[0].value == "Feature Adoption"
    assert [s.value for s in at.subheader] == [
        "Feature × account",
        "Milestones",
        "Lift against the holdout",
        "Expansion signals",
        "Account drill-down",
    ]
    tiles = {m.label: m.value for m in at.metric}
    assert int(tiles["Accounts measured"].replace(",", "")) > 0
    assert any("usage events name accounts the warehouse does not have" in w.value for w in at.warning)
    signals = table_with(at, "signal", "reason")
    assert set(signals["signal"]) <= {
        "Broad adoption on a lower plan",
        "Seats near the plan's limit",
        "Advanced features adopted",
    }
    # no template target yet: the trigger says why it is off
    assert at.button(key="adoption_trigger").disabled
    at.segmented_control(key="adoption_milestone").set_value("adoption_nudge").run()
    table = table_with(at, "adoption_rate", "active_users", "arr")
    assert len(table) > 0 and (table["adoption_rate"].fillna(0) < 0.7).all()
    # settings: a template target and a lower threshold, saved in the ops store
    at.text_input(key="adoption_set_target_adoption_nudge").set_value("555").run()
    at.number_input(key="adoption_set_adoption").set_value(0.6).run()
    at.button(key="adoption_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    saved = adoption.load_adoption_config(ops_engine())
    assert saved.adoption_threshold == 0.6 and saved.template("adoption_nudge") == ("add_to_list", "555")
    assert not at.button(key="adoption_trigger").disabled
    at.button(key="adoption_trigger").click().run()  # the preview dialog: treated only, held out recorded on queue
    assert not at.exception, [e.value for e in at.exception]
    assert any("contacts" in md.value for md in at.markdown)


def test_feedback_page_draws_nps_themes_cases_and_sentences(page):
    at = page("pages/marketing/feedback.py")
    assert at.title[0].value == "Customer Feedback"
    assert [s.value for s in at.subheader] == [
        "NPS",
        "Themes and their impact on NPS",
        "Pain points, feature requests and messaging",
        "Case-study finder",
        "Campaign by theme",
        "Responses",
    ]
    tiles = {m.label: m.value for m in at.metric}
    assert -100 <= int(tiles["NPS"]) <= 100 and tiles["Sentiment vs score"].startswith("ρ")
    themes = table_with(at, "theme", "nps_impact")
    assert {"Exports", "Support"} <= set(themes["theme"])
    cases = table_with(at, "quote", "health_score")
    assert len(cases) > 0 and (cases["score"] >= 8).all()
    rising = [w.value for w in at.warning if "is rising" in w.value]
    assert any(w.startswith("**Exports** is rising") for w in rising), rising  # the demo's planted rise
    at.number_input(key="feedback_rise_points").set_value(100.0).run()  # no share can rise by 100 points
    assert not any("is rising" in w.value for w in at.warning)
    at.selectbox(key="feedback_explore_sentiment").set_value("not_english").run()
    flagged = at.get_by_key("feedback_responses").value
    assert len(flagged) > 0 and (flagged["language"] != "en").all()
    at.slider(key="feedback_health_weight").set_value(0.2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("would change band" in c.value for c in at.caption)
