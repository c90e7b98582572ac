"""Customer Success → Health in AppTest: portfolio, list and filters, drill-down, weights editor, actions, panels."""

from __future__ import annotations

import pytest

from analytics.crm.actions import queue as outbox
from analytics.customers import interventions
from analytics.customers.config import COMPONENTS, SPEC_CONFIG, load_config
from analytics.ops.store import ops_engine

PAGE = "pages/customer_success/health.py"
USER = "ana@example.com"


@pytest.fixture()
def health_page(app_test, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    monkeypatch.setenv("REVLENS_USER", USER)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)

    def open_page():
        at = app_test()
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return at

    return open_page


def metrics(at) -> dict[str, str]:
    found: dict[str, str] = {}
    for metric in at.metric:
        found.setdefault(metric.label, metric.value)
    return found


def account_table(at):
    return at.get_by_key("health_table").value


def table_with(at, column: str):
    """The first table on the page with ``column`` (display tables carry no key in AppTest)."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def test_portfolio_list_drill_down_and_panels(health_page):
    at = health_page()
    assert at.title[0].value == "Customer Health"
    assert [s.value for s in at.subheader] == ["Portfolio by band", "Accounts at risk", "Account drill-down"]
    tiles = metrics(at)
    counts = [int(tiles[name].replace(",", "")) for name in ("Healthy", "At risk", "Critical")]
    assert sum(counts) == int(tiles["Accounts scored"].replace(",", "")) > 0
    assert tiles["ARR at risk"].startswith("$")
    table = account_table(at)
    assert {"account_name", "owner_name", "overall_score", "band", "triggers", "arr_at_risk"} <= set(table.columns)
    assert set(table["band"]) <= {"Healthy", "At risk", "Critical"}  # labels, not machine names
    assert list(table["arr_at_risk"]) == sorted(table["arr_at_risk"], reverse=True)  # the default sort
    # drill-down: components, history, the why-it-changed table with the data behind it, the activity tabs
    assert table_with(at, "data")["data"].str.contains("→").all()
    assert {"Health score", "Band", "Data coverage", "Churn probability"} <= set(metrics(at))
    # the panels: the score's validation and the churn model's card
    assert {"ROC-AUC of the score", "ROC-AUC", "PR-AUC", "Brier score", "Top-decile lift"} <= set(tiles)


def test_filters_by_trigger_owner_and_sort(health_page):
    at = health_page()
    everything = len(account_table(at))
    at.segmented_control(key="health_show").set_value("all").run()
    assert len(account_table(at)) >= everything
    at.multiselect(key="health_trigger").select("support_escalation").run()
    escalated = account_table(at)
    assert 0 < len(escalated) < everything
    assert escalated["triggers"].str.contains("Support escalation").all()
    owner = escalated["owner_name"].iloc[0]
    at.multiselect(key="health_owner").select(owner).run()
    assert set(account_table(at)["owner_name"]) == {owner}
    at.selectbox(key="health_sort").set_value("overall_score").run()
    scores = list(account_table(at)["overall_score"])
    assert scores == sorted(scores)
    at.multiselect(key="f_segments").select("Enterprise").run()
    assert set(account_table(at)["segment"]) <= {"Enterprise"}
    assert not at.exception


def test_drill_down_follows_the_chosen_account_and_dates(health_page):
    at = health_page()
    chooser = at.selectbox(key="health_account")
    other_name = chooser.options[3]  # options read as the account's name; the id is in the tooltip
    assert not other_name.startswith("ACC")
    chooser.select_index(3).run()
    assert not at.exception
    chosen = at.selectbox(key="health_account").value
    assert chosen.startswith("ACC") and at.selectbox(key="health_account").format_func(chosen) == other_name
    assert table_with(at, "data").shape[0] == len(COMPONENTS)
    at.date_input(key="health_from").set_value(at.date_input(key="health_to").value).run()
    assert any("must come before" in i.value for i in at.info)  # a sentence, not a crash
    assert at.selectbox(key="health_account").value == chosen


def test_weights_editor_refuses_a_bad_sum_and_previews_band_changes(health_page):
    at = health_page()
    at.number_input(key="health_w_usage_frequency").set_value(0.30).run()
    assert any("sum to 1.05, not 1" in e.value for e in at.error)
    assert at.button(key="health_save").disabled
    at.number_input(key="health_w_feature_adoption").set_value(0.15).run()
    assert not at.error
    preview = [m.value for m in at.markdown if "would change band" in m.value]
    assert preview and preview[0].startswith("**")
    at.button(key="health_save").click().run()
    assert not at.exception and any("Saved" in s.value for s in at.success)
    saved = load_config(ops_engine())
    assert saved.weight("usage_frequency") == pytest.approx(0.30) and saved.weight("feature_adoption") == pytest.approx(
        0.15
    )
    at.button(key="health_reset").click().run()
    assert at.number_input(key="health_w_usage_frequency").value == SPEC_CONFIG.weight("usage_frequency")


def test_fitted_weights_fill_the_editor(health_page):
    at = health_page()
    at.button(key="health_use_fitted").click().run()
    weights = [at.number_input(key=f"health_w_{c}").value for c in COMPONENTS]
    assert sum(weights) == pytest.approx(1.0) and weights != list(SPEC_CONFIG.weights)


def test_an_action_is_queued_and_logged_as_an_intervention(health_page, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-health-test")
    monkeypatch.setenv("REVLENS_APP_WORKER", "0")  # queue only, no delivery in this test
    at = health_page()
    account = at.selectbox(key="health_account").value
    at.button(key="health_account_task").click().run()
    assert not at.exception
    at.button(key="confirm_action").click().run()
    assert not at.exception
    queued = outbox.list_actions()
    assert queued.height == 1 and queued["kind"][0] == "create_task"
    logged = interventions.interventions(ops_engine())
    assert logged["account_id"].to_list() == [account] and logged["action_id"][0] == queued["id"][0]
    assert logged["intervention"][0] == "owner_task"
    # the log lists it, in progress: the data has no 60 days after the decision yet
    at.run()
    assert "in_progress" in set(table_with(at, "outcome")["outcome"])


def test_the_preview_of_a_campaign_for_one_account_shows_the_guard_rail(health_page, monkeypatch):
    at = health_page()
    at.text_input(key="health_list_id").set_value("42").run()
    at.button(key="health_account_campaign").click().run()
    assert not at.exception
    assert any("100" in e.value and "contacts" in e.value for e in at.error)
    assert at.button(key="confirm_action").disabled
