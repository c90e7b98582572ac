"""The Actions page: queue, filters, retry and cancel, audit, the preview-only banner, the confirm dialog."""

from __future__ import annotations

import pytest

from analytics.crm.actions import queue as outbox
from analytics.ops import tables

USER = "ana@example.com"


@pytest.fixture()
def page(app_test, tmp_path, monkeypatch):
    """Opens a page (default: Actions) of a fresh app, with a temporary ops store and no token."""
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    monkeypatch.setenv("REVLENS_USER", USER)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)

    def open_page(path: str = "pages/operations/actions.py"):
        at = app_test()
        at.run()
        at.switch_page(path).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


def test_queue_filters_retry_cancel_and_audit(page):
    first = outbox.enqueue("update_properties", [{"hubspot_id": "1", "properties": {"company": "A"}}], {}, USER)
    second = outbox.enqueue("update_properties", [{"hubspot_id": "2", "properties": {"company": "B"}}], {}, USER)
    with outbox.store().begin() as conn:  # as the deliverer leaves a permanently failed action
        conn.execute(
            tables.actions.update()
            .where(tables.actions.c.id == first.action_id)
            .values(status="failed", attempts=1, last_error="HubSpot answered 400: Property values were not valid")
        )
    at = page()
    assert any("preview-only" in w.value for w in at.warning)  # no token: banner, not an error
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Failed"] == "1" and metrics["Pending"] == "1"
    queue = at.dataframe[0].value
    assert sorted(queue["id"].tolist()) == [first.action_id, second.action_id]
    assert "Property values were not valid" in " ".join(queue["last_error"].dropna())

    at.multiselect(key="actions_status").select("failed").run()
    assert at.dataframe[0].value["id"].tolist() == [first.action_id]

    at.selectbox(key="actions_chosen").set_value(first.action_id).run()
    at.button(key="actions_retry").click().run()
    assert not at.exception
    assert outbox.list_actions().filter(id=first.action_id)["status"][0] == "pending"

    at.multiselect(key="actions_status").set_value([]).run()
    at.selectbox(key="actions_chosen").set_value(second.action_id).run()
    at.button(key="actions_cancel").click().run()
    assert outbox.list_actions().filter(id=second.action_id)["status"][0] == "cancelled"
    events = outbox.audit_frame()["event"].to_list()
    assert "retried" in events and "cancelled" in events


def test_confirm_dialog_previews_and_is_disabled_without_a_token(page):
    at = page()
    at.button(key="actions_properties").click().run()
    assert not at.exception
    assert any("Preview only" in i.value for i in at.info)
    assert at.button(key="confirm_action").disabled
    assert outbox.list_actions().height == 0


def test_confirm_dialog_queues_when_connected_and_the_user_may_confirm(page, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-page-test")
    monkeypatch.setenv("REVLENS_APP_WORKER", "0")  # no background delivery in this test
    at = page()
    assert not any("preview-only" in w.value for w in at.warning)
    at.button(key="actions_properties").click().run()
    confirm = at.button(key="confirm_action")
    assert not confirm.disabled
    confirm.click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = outbox.list_actions()
    assert queued["kind"].to_list() == ["create_properties"] and queued["created_by"][0] == USER
    assert any("Queued action #1" in s.value for s in at.success)
    shown = [
        e.value
        for e in [
            *at.title,
            *at.markdown,
            *at.caption,
            *at.code,
            *at.info,
            *at.warning,
            *at.success,
            *at.error,
            *at.metric,
        ]
    ]
    assert shown and "pat-page-test" not in str(shown)


@pytest.fixture()
def connected(page, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-page-test")
    monkeypatch.setenv("REVLENS_APP_WORKER", "0")  # queue only; delivery is tested elsewhere
    return page


def _queued_targets(action_id: int) -> list[dict]:
    import json

    import sqlalchemy as sa

    with outbox.store().connect() as conn:
        rows = (
            conn.execute(
                sa.select(tables.action_batches.c.targets).where(tables.action_batches.c.action_id == action_id)
            )
            .scalars()
            .all()
        )
    return [target for row in rows for target in json.loads(row)]


def test_attribution_page_pushes_each_contacts_credit_under_the_chosen_model(connected, demo_db):
    from analytics.crm import targets as crm_push
    from analytics.warehouse.connection import connect

    at = connected("pages/marketing/attribution.py")
    model = at.selectbox(key="attr_push_model").value
    at.button(key="attr_push").click().run()
    at.button(key="confirm_action").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = outbox.list_actions().row(0, named=True)
    assert queued["kind"] == "update_properties" and queued["topic"] == "revenue-attribution"
    start, end = at.session_state["f_dates"]
    con = connect(demo_db, read_only=True)
    try:
        expected = crm_push.attribution_targets(con, start, end, lookback_days=90, model=model)
        other = crm_push.attribution_targets(con, start, end, lookback_days=90, model="first_touch")
    finally:
        con.close()
    targets = _queued_targets(queued["id"])
    assert queued["target_count"] == expected.height == len(targets) > 0
    revenue = {t["hubspot_id"]: t["properties"]["marketing_platform_attributed_revenue"] for t in targets}
    assert revenue == dict(expected.select("hubspot_id", "attributed_revenue").rows())
    assert revenue != dict(other.select("hubspot_id", "attributed_revenue").rows())  # the model changes the values
    assert all(t["properties"]["last_campaign_interaction"] for t in targets)


def test_attribution_page_pushes_each_won_deals_campaigns_and_model(connected):
    at = connected("pages/marketing/attribution.py")
    at.button(key="attr_push_deals").click().run()
    at.button(key="confirm_action").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = outbox.list_actions().row(0, named=True)
    assert queued["kind"] == "update_deal_properties"
    targets = _queued_targets(queued["id"])
    assert targets and all(t["properties"]["marketing_platform_attribution_model"] for t in targets)


def test_roi_drilldown_adds_the_campaigns_engaged_contacts_to_a_list(connected, demo_db):
    from analytics.warehouse.connection import connect

    at = connected("pages/finance/roi.py")
    campaign = at.get_by_key("roi_table").value["campaign_id"].iloc[0]
    at.selectbox(key="roi_campaign").set_value(campaign).run()  # the drill-down, as a click on its row
    assert at.button(key="roi_follow_up").disabled  # no list id yet
    at.text_input(key="roi_list_id").input("42").run()
    at.button(key="roi_follow_up").click().run()
    at.button(key="confirm_action").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = outbox.list_actions().row(0, named=True)
    assert queued["kind"] == "add_to_list" and queued["topic"] == "campaign-performance"
    targets = _queued_targets(queued["id"])
    assert len(targets) == queued["target_count"] >= outbox.AUDIENCE_MIN
    con = connect(demo_db, read_only=True)
    try:
        touched = {
            row[0]
            for row in con.execute(
                "select distinct c.hubspot_id from touchpoints t join contacts c using (contact_id) "
                "where t.campaign_id = ?",
                [campaign],
            ).fetchall()
        }
    finally:
        con.close()
    assert {t["hubspot_id"] for t in targets} <= touched


def test_setup_creates_the_properties_of_the_chosen_object_type(connected):
    import json

    import sqlalchemy as sa

    at = connected()
    assert at.selectbox(key="actions_properties_object").value == "contacts"
    at.selectbox(key="actions_properties_object").set_value("companies").run()
    at.button(key="actions_properties").click().run()
    from analytics.crm.hubspot.properties import custom_properties

    # the preview lists the properties it creates, with type and label (not a bare GET)
    previews = [t.value for t in at.dataframe]
    wanted = {spec.label for spec in custom_properties("companies").values()}
    assert any(wanted <= set(map(str, frame.to_numpy().ravel())) for frame in previews), previews
    assert not any(c.value.startswith("GET ") for c in at.code)
    at.button(key="confirm_action").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = outbox.list_actions().row(0, named=True)
    assert queued["kind"] == "create_properties"
    with outbox.store().connect() as conn:
        payload = json.loads(
            conn.execute(sa.select(tables.actions.c.payload).where(tables.actions.c.id == queued["id"])).scalar_one()
        )
    assert payload == {
        "object_type": "companies",
        "names": [
            "marketing_platform_health_score",
            "marketing_platform_health_band",
            "marketing_platform_churn_probability",
            "marketing_platform_expansion_signal",
        ],
    }
    labels = at.selectbox(key="actions_chosen").options
    assert labels == [f"#{queued['id']} · Create RevLens properties · {USER}"]
