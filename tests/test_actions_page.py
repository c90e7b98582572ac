"""The Actions page: queue, filters, retry and cancel, audit, the preview-only banner, the confirm dialog."""

from __future__ import annotations

import pytest

from analytics import outbox

USER = "ana@example.com"


@pytest.fixture()
def page(app_test, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    monkeypatch.setenv("REVLENS_USER", USER)
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)

    def open_page():
        at = app_test()
        at.run()
        at.switch_page("pages/actions.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at
    return open_page


def test_queue_filters_retry_cancel_and_audit(page):
    first = outbox.enqueue("update_properties", [{"hubspot_id": "1", "properties": {"company": "A"}}], {}, USER)
    second = outbox.enqueue("update_properties", [{"hubspot_id": "2", "properties": {"company": "B"}}], {}, USER)
    with outbox.store().begin() as conn:  # as the deliverer leaves a permanently failed action
        conn.execute(outbox.actions.update().where(outbox.actions.c.id == first.action_id)
                     .values(status="failed", attempts=1, last_error="HubSpot answered 400: Property values were "
                                                                     "not valid"))
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
    shown = [e.value for e in [*at.title, *at.markdown, *at.caption, *at.code, *at.info, *at.warning, *at.success,
                               *at.error, *at.metric]]
    assert shown and "pat-page-test" not in str(shown)
