"""The action outbox and its delivery, against a real local HTTP server (tests/fakes/hubspot_server.py)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.crm.actions import queue as outbox
from analytics.crm.actions.delivery import RetryPolicy
from analytics.crm.actions.kinds.create_task import TASK_KEY_PROPERTY, TASK_TO_CONTACT
from analytics.crm.hubspot import transport as hs
from analytics.ops import tables
from analytics.ops.store import migrate, ops_engine, utcnow
from analytics.ops.tables import SCHEMA_VERSION, event_outbox, schema_version
from tests.crm.support import TOKEN, USER, make_deliverer, status_of


def score_targets(ids, score=42):
    return [{"hubspot_id": str(i), "properties": {"marketing_platform_lead_score": score}} for i in ids]


# --- ops store ---------------------------------------------------------------------------


def test_migrate_creates_tables_adds_missing_columns_and_records_the_version(env):
    url = f"sqlite:///{env / 'old.sqlite'}"
    old = sa.create_engine(url)
    with old.begin() as conn:  # an older store: the audit log without its detail column
        conn.execute(
            sa.text(
                "create table audit_log (id integer primary key, at timestamp not null, "
                "actor varchar(254) not null, action_id integer, event varchar(40) not null)"
            )
        )
        conn.execute(sa.text("insert into audit_log (at, actor, event) values ('2026-01-01', 'x', 'old')"))
    engine = ops_engine(url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
    assert "detail" in columns
    tables = set(sa.inspect(engine).get_table_names())
    assert {
        "action_outbox",
        "action_batches",
        "audit_log",
        "event_outbox",
        "sync_cursors",
        "campaign_triggers",
        "schema_version",
        "job_runs",
    } <= tables
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema_version.c.version)).scalar_one() == SCHEMA_VERSION
        assert conn.execute(sa.text("select count(*) from audit_log")).scalar_one() == 1  # nothing lost
        assert conn.execute(sa.text("pragma journal_mode")).scalar_one() == "wal"
    assert migrate(engine) == SCHEMA_VERSION  # idempotent


# --- retry policy and rate limit: hand-computed ---------------------------------------------


def test_backoff_delays_follow_the_spec_formulas():
    exponential = RetryPolicy(backoff_strategy="exponential", base_delay_ms=1000, max_delay_ms=5000)
    assert [exponential.delay_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]  # 1000*2^(n-1), capped
    linear = RetryPolicy(backoff_strategy="linear", base_delay_ms=500, max_delay_ms=1200)
    assert [linear.delay_s(n) for n in (1, 2, 3)] == [0.5, 1.0, 1.2]
    fixed = RetryPolicy(backoff_strategy="fixed", base_delay_ms=300, max_delay_ms=300)
    assert [fixed.delay_s(n) for n in (1, 5)] == [0.3, 0.3]
    assert exponential.delay_s(1, retry_after_s=7) == 7.0  # Retry-After wins when longer
    assert exponential.delay_s(3, retry_after_s=1) == 4.0
    assert not RetryPolicy(retryable_errors=("5xx",)).retryable(hs.TransientError("x", 429, reason="429"))
    assert not exponential.retryable(hs.PermanentError("bad", 400))
    with pytest.raises(RevLensError):
        RetryPolicy(backoff_strategy="random")


def test_rate_limiter_allows_n_requests_per_window_then_waits():
    clock = [0.0]
    waits = []
    limiter = hs.RateLimiter(
        3, 10.0, clock=lambda: clock[0], sleep=lambda s: (waits.append(s), clock.__setitem__(0, clock[0] + s))
    )
    for _ in range(3):
        limiter.acquire()
    assert waits == []
    clock[0] = 4.0
    limiter.acquire()  # the 4th request waits until the first leaves the window at t=10
    assert waits == [6.0]
    assert limiter.waited_s == 6.0


# --- guard rails -----------------------------------------------------------------------------


def test_only_configured_confirmers_may_enqueue(env):
    with pytest.raises(RevLensError, match="REVLENS_CONFIRMERS"):
        outbox.enqueue("update_properties", score_targets([1]), {}, "mallory@example.com")
    result = outbox.enqueue("update_properties", score_targets([1]), {}, "ANA@example.com")
    assert result.action_id and not result.duplicate


def test_campaign_audience_must_hold_100_to_1_000_000_contacts(env):
    members = lambda n: [{"hubspot_id": str(i)} for i in range(1, n + 1)]  # noqa: E731
    assert "has 99" in outbox.plan_action("add_to_list", members(99), {"list_id": "42"}).violations[0]
    assert outbox.plan_action("add_to_list", members(100), {"list_id": "42"}).ok
    with pytest.raises(RevLensError, match="100 to 1,000,000"):
        outbox.enqueue("add_to_list", members(99), {"list_id": "42"}, USER)
    big = outbox.plan_action("add_to_list", members(1_000_001), {"list_id": "42"})
    assert "has 1,000,001" in big.violations[0]
    # property updates are not campaigns: one contact is fine
    assert outbox.plan_action("update_properties", score_targets([1]), {}).ok


def test_frequency_cap_skips_contacts_with_three_triggers_this_week_and_reports_them(env):
    audience = [{"hubspot_id": str(i)} for i in range(1, 151)]
    for list_id in ("1", "2", "3"):
        assert outbox.enqueue("add_to_list", audience, {"list_id": list_id}, USER).skipped == 0
    wider = audience + [{"hubspot_id": str(i)} for i in range(151, 251)]
    plan = outbox.plan_action("add_to_list", wider, {"list_id": "4"})
    assert len(plan.skipped) == 150 and len(plan.targets) == 100 and plan.ok
    assert plan.frame().filter(status="skipped: frequency cap").height == 150
    result = outbox.enqueue("add_to_list", wider, {"list_id": "4"}, USER)
    assert (result.target_count, result.skipped) == (100, 150)
    assert outbox.list_actions().filter(id=result.action_id)["skipped_count"][0] == 150
    # all 150 are capped now: nothing left to send, and the audience bound says so
    blocked = outbox.plan_action("add_to_list", audience, {"list_id": "5"})
    assert "after skipping 150" in blocked.violations[0]
    # cancelling an action gives its contacts their trigger back
    outbox.cancel_action(1, USER)
    assert outbox.plan_action("add_to_list", audience, {"list_id": "5"}).ok
    # triggers older than 7 days no longer count
    with outbox.store().begin() as conn:
        conn.execute(tables.campaign_triggers.update().values(triggered_at=utcnow() - timedelta(days=8)))
    assert not outbox.plan_action("add_to_list", audience, {"list_id": "6"}).skipped


def test_same_content_is_queued_once_and_again_after_a_failure(env):
    first = outbox.enqueue("update_properties", score_targets([1, 2]), {}, USER)
    again = outbox.enqueue("update_properties", score_targets([2, 1][::-1]), {}, USER)
    assert again.duplicate and again.action_id == first.action_id
    outbox.cancel_action(first.action_id, USER)
    third = outbox.enqueue("update_properties", score_targets([1, 2]), {}, USER)
    assert not third.duplicate and third.action_id != first.action_id


def test_invalid_input_is_one_clear_sentence(env):
    with pytest.raises(RevLensError, match="has no hubspot_id"):
        outbox.plan_action("add_to_list", [{"email": "a@b.c"}], {"list_id": "1"})
    with pytest.raises(RevLensError, match="not a HubSpot property name"):
        outbox.plan_action("update_properties", [{"hubspot_id": "1", "properties": {"Lead Score": 1}}], {})
    with pytest.raises(RevLensError, match="Unknown action kind"):
        outbox.plan_action("send_sms", [{"hubspot_id": "1"}], {})


def test_preview_shows_the_exact_requests(env):
    plan = outbox.plan_action(
        "update_properties",
        score_targets(range(1, 251))
        + [{"email": "new@example.com", "properties": {"last_campaign_interaction": "Webinar"}}],
        {},
    )
    assert [len(b) for b in plan.batches] == [100, 100, 50, 1]  # by id in 100s, then by email
    first = plan.requests(limit=10)
    assert first[0].path == "/crm/v3/objects/contacts/batch/update"
    assert first[0].body["inputs"][0] == {"id": "1", "properties": {"marketing_platform_lead_score": "42"}}
    assert first[3].path == "/crm/v3/objects/contacts/batch/upsert"
    assert first[3].body["inputs"][0]["idProperty"] == "email"


# --- delivery --------------------------------------------------------------------------------


def test_property_updates_are_delivered_in_batches_of_100_once_each(server):
    result = outbox.enqueue("update_properties", score_targets(range(1, 251)), {}, USER)
    report = make_deliverer(server).run(once=True)
    assert report.sent == [result.action_id]
    assert status_of(result.action_id)["status"] == "sent"
    updates = [r for r in server.requests if r["path"].endswith("/batch/update")]
    assert [len(r["body"]["inputs"]) for r in updates] == [100, 100, 50]
    assert all(server.property_writes[(str(i), "marketing_platform_lead_score")] == 1 for i in range(1, 251))
    assert server.contacts["7"]["marketing_platform_lead_score"] == "42"
    # the custom property was created first, exactly as the spec defines it
    created = [
        r["body"] for r in server.requests if r["method"] == "POST" and r["path"] == "/crm/v3/properties/contacts"
    ]
    assert created[0]["name"] == "marketing_platform_lead_score" and created[0]["type"] == "number"
    assert all(r["authorization"] == f"Bearer {TOKEN}" for r in server.requests)


def test_upsert_by_email_creates_or_updates(server):
    targets = [
        {"email": "c3@example.com", "properties": {"last_campaign_interaction": "Webinar 2026-10"}},
        {"email": "brand.new@example.com", "properties": {"last_campaign_interaction": "Search"}},
    ]
    outbox.enqueue("update_properties", targets, {}, USER)
    make_deliverer(server).run(once=True)
    assert server.contacts["3"]["last_campaign_interaction"] == "Webinar 2026-10"
    assert any(p.get("email") == "brand.new@example.com" for p in server.contacts.values())


def test_429_with_retry_after_is_retried_after_the_wait(server):
    server.fault("429", path="batch/update", retry_after=0.4)
    action = outbox.enqueue("update_properties", score_targets(range(1, 11)), {}, USER).action_id
    started = time.monotonic()
    report = make_deliverer(server).run(once=True)
    assert time.monotonic() - started >= 0.4
    assert report.sent == [action] and report.retries_scheduled == 1
    row = status_of(action)
    assert row["attempts"] == 2 and row["status"] == "sent"
    audit = outbox.audit_frame(action_id=action)
    assert "429" in audit.filter(event="retry_scheduled")["detail"][0]


@pytest.mark.parametrize("fault", ["500", "drop", "drop_after_apply"])
def test_server_errors_and_dropped_connections_are_retried_without_double_effects(server, fault):
    server.fault(fault, path="memberships/add")
    audience = [{"hubspot_id": str(i)} for i in range(1, 201)]
    action = outbox.enqueue("add_to_list", audience, {"list_id": "42"}, USER).action_id
    make_deliverer(server).run(once=True)
    assert status_of(action)["status"] == "sent"
    assert len(server.lists["42"]) == 200 and max(server.list_adds.values()) == 1


def test_slow_answer_times_out_and_the_retry_applies_nothing_twice(server):
    server.fault("slow", path="batch/update", delay_s=1.0)  # read timeout is 0.5 s
    action = outbox.enqueue("update_properties", score_targets(range(1, 51), score=9), {}, USER).action_id
    make_deliverer(server).run(once=True)
    row = status_of(action)
    assert row["status"] == "sent" and row["attempts"] == 2
    assert "timeout" in outbox.audit_frame(action_id=action).filter(event="retry_scheduled")["detail"][0]
    time.sleep(0.6)  # let the slow first request finish applying on the server
    assert all(server.property_writes[(str(i), "marketing_platform_lead_score")] == 1 for i in range(1, 51))


def test_permanent_error_fails_at_once_with_hubspots_message(server):
    audience = [{"hubspot_id": str(i)} for i in range(1, 151)]
    action = outbox.enqueue("add_to_list", audience, {"list_id": "999"}, USER).action_id
    report = make_deliverer(server).run(once=True)
    row = status_of(action)
    assert report.failed == [action] and row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"] == "HubSpot answered 404: List 999 does not exist."


def test_retryable_errors_give_up_after_max_attempts_then_a_user_retry_succeeds(server):
    server.fault("500", path="batch/update", times=3)
    action = outbox.enqueue("update_properties", score_targets(range(1, 5)), {}, USER).action_id
    make_deliverer(server, max_attempts=3).run(once=True)
    row = status_of(action)
    assert row["status"] == "failed" and row["attempts"] == 3
    assert row["last_error"].startswith("Failed after 3 attempts: HubSpot answered 500")
    outbox.retry_action(action, USER)
    make_deliverer(server, max_attempts=3).run(once=True)
    assert status_of(action)["status"] == "sent"
    events = outbox.audit_frame(action_id=action)["event"].to_list()
    assert events[::-1] == ["enqueued", "retry_scheduled", "retry_scheduled", "failed", "retried", "sent"]


def test_tasks_resent_after_an_unknown_outcome_are_looked_up_not_duplicated(server):
    server.fault("drop_after_apply", path="tasks/batch/create")
    targets = [{"hubspot_id": str(i), "owner_id": "501"} for i in range(1, 121)]
    action = outbox.enqueue(
        "create_task", targets, {"subject": "Call: account at risk", "priority": "HIGH"}, USER
    ).action_id
    make_deliverer(server).run(once=True)
    assert status_of(action)["status"] == "sent"
    assert len(server.tasks) == 120
    contacts = sorted(int(t["associations"][0]["to"]["id"]) for t in server.tasks.values())
    assert contacts == list(range(1, 121))
    task = next(iter(server.tasks.values()))
    assert task["associations"][0]["types"][0]["associationTypeId"] == TASK_TO_CONTACT
    assert task["properties"]["hubspot_owner_id"] == "501"
    assert any(r["path"] == "/crm/v3/objects/tasks/batch/read" for r in server.requests)
    key_property = next(
        r["body"] for r in server.requests if r["method"] == "POST" and r["path"] == "/crm/v3/properties/tasks"
    )
    assert key_property["name"] == TASK_KEY_PROPERTY and key_property["hasUniqueValue"] is True
    assert key_property["groupName"] == "taskinformation"  # the tasks' own group, looked up


def test_workflow_enrollment_resumes_at_the_uncertain_contact(server):
    server.fault("drop_after_apply", path="enrollments/contacts/c5@")
    audience = [{"hubspot_id": str(i), "email": f"c{i}@example.com"} for i in range(1, 101)]
    action = outbox.enqueue("enroll_workflow", audience, {"workflow_id": "7"}, USER).action_id
    make_deliverer(server).run(once=True)
    assert status_of(action)["status"] == "sent"
    assert len(server.workflows["7"]) == 100
    assert max(server.enrollment_count.values()) == 1  # c5 was looked up, not enrolled twice


def test_cancel_stops_delivery_and_cancelled_actions_are_not_sent(server):
    action = outbox.enqueue("update_properties", score_targets(range(1, 11)), {}, USER).action_id
    outbox.cancel_action(action, USER)
    report = make_deliverer(server).run(once=True)
    assert report.sent == [] and not server.property_writes
    with pytest.raises(RevLensError, match="already cancelled"):
        outbox.cancel_action(action, USER)


def test_every_transition_emits_the_spec_envelope_under_a_spec_topic(server):
    action = outbox.enqueue(
        "update_properties",
        [
            {
                "hubspot_id": "1",
                "properties": {"marketing_platform_attributed_revenue": 1200.5, "last_campaign_interaction": "Webinar"},
            }
        ],
        {},
        USER,
    ).action_id
    make_deliverer(server).run(once=True)
    with outbox.store().connect() as conn:
        rows = conn.execute(sa.select(event_outbox).order_by(event_outbox.c.id)).mappings().all()
    assert [r["event_type"] for r in rows] == ["action.enqueued", "action.sent"]
    for row in rows:
        event = json.loads(row["envelope"])
        assert row["topic"] == "revenue-attribution"
        assert set(event) == {"event_id", "event_type", "tenant_id", "timestamp", "payload", "metadata"}
        assert event["metadata"]["source"] == "marketing_platform" and event["metadata"]["version"] == "1.0"
        assert event["payload"]["action_id"] == action
    assert (
        json.loads(rows[0]["envelope"])["metadata"]["correlation_id"]
        == json.loads(rows[1]["envelope"])["metadata"]["correlation_id"]
    )
    assert outbox.topic_for("add_to_list", [], {}) == "campaign-performance"
    assert (
        outbox.topic_for("update_properties", [{"properties": {"marketing_platform_lead_score": 1}}], {})
        == "lead-capture"
    )


def test_create_properties_creates_only_missing_ones(server):
    server.properties["contacts"]["last_campaign_interaction"] = server._property_body("last_campaign_interaction")
    names = ["marketing_platform_lead_score", "last_campaign_interaction"]
    action = outbox.enqueue("create_properties", [], {"names": names}, USER).action_id
    make_deliverer(server).run(once=True)
    assert status_of(action)["status"] == "sent"
    posted = [r["body"]["name"] for r in server.requests if r["method"] == "POST" and "/properties/" in r["path"]]
    assert posted == ["marketing_platform_lead_score"]


def test_settings_come_from_secrets_toml_and_the_environment_wins(env, monkeypatch):
    from analytics.core import settings

    secrets = env / "secrets.toml"
    secrets.write_text(
        'HUBSPOT_ACCESS_TOKEN = "pat-from-file"\n[revlens]\nREVLENS_CONFIRMERS = ["Bo@x.com", "al"]\n'
        '[hubspot]\napi_base = "http://127.0.0.1:9"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REVLENS_SECRETS", str(secrets))
    monkeypatch.delenv("REVLENS_CONFIRMERS")
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("HUBSPOT_API_BASE", raising=False)
    assert settings.hubspot_token() == "pat-from-file"
    assert settings.confirmers() == frozenset({"bo@x.com", "al"})
    assert settings.hubspot_api_base() == "http://127.0.0.1:9"
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-from-env")
    assert settings.hubspot_token() == "pat-from-env"
    secrets.write_text("HUBSPOT_ACCESS_TOKEN = pat-unquoted\n", encoding="utf-8")
    with pytest.raises(RevLensError) as error:
        settings.read_secrets()
    assert "not valid TOML" in str(error.value) and "pat-unquoted" not in str(error.value)


def test_api_base_sets_the_host_of_generated_apis_and_the_base_url_of_api_request(server):
    gateway = hs.HubSpotGateway.from_settings()
    assert gateway.client.config["host"] == gateway.client.config["base_url"] == server.base_url
    assert gateway.api("crm.contacts.batch_api").api_client.configuration.host == server.base_url
    gateway.send(hs.PlannedRequest("POST", "/automation/v2/workflows/7/enrollments/contacts/c1@example.com"))
    assert server.workflows["7"] == {"c1@example.com"}


def test_without_a_token_delivery_refuses_with_a_clear_sentence(env, monkeypatch):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    with pytest.raises(RevLensError, match="No HubSpot token: set HUBSPOT_ACCESS_TOKEN"):
        hs.HubSpotGateway.from_settings()


def test_a_user_retry_of_failed_tasks_looks_them_up_before_creating(server):
    # every attempt is applied by HubSpot but its answer is lost: the action fails, yet the tasks exist
    server.fault("drop_after_apply", path="tasks/batch/create", times=1)
    server.fault("drop", path="tasks/batch/read", times=2)
    targets = [{"hubspot_id": str(i)} for i in range(1, 6)]
    action = outbox.enqueue("create_task", targets, {"subject": "Check in"}, USER).action_id
    make_deliverer(server, max_attempts=2).run(once=True)
    assert status_of(action)["status"] == "failed" and len(server.tasks) == 5
    outbox.retry_action(action, USER)
    make_deliverer(server, max_attempts=2).run(once=True)
    assert status_of(action)["status"] == "sent"
    assert len(server.tasks) == 5  # looked up, not created again
