"""The write-back kinds: the protocol and the registry, every kind end to end, the company and deal kinds,
and a kind that exists only in this test going through plan, enqueue, delivery and the CLI."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from datetime import datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from analytics.core.errors import RevLensError
from analytics.crm.actions import queue as outbox
from analytics.crm.actions.kinds import KINDS, kind_of
from analytics.crm.actions.kinds.base import ActionKind, Attempt, CsvColumns, Param, batch_outcome
from analytics.crm.actions.kinds.property_update import PROPERTY_NAME
from analytics.crm.hubspot.properties import CUSTOM_PROPERTIES, DEFAULT_GROUPS, OBJECT_TYPES, PropertySpec
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest
from analytics.ops import tables
from analytics.ops.events import TOPICS
from tests.crm.support import USER, make_deliverer, status_of
from tests.paths import ROOT

# One input per registered kind, valid against the `server` fixture's records (tests/crm/conftest.py).
SAMPLES: dict[str, tuple[list[dict], dict]] = {
    "update_properties": (
        [
            {"hubspot_id": "1", "properties": {"marketing_platform_lead_score": 7}},
            {"email": "c2@example.com", "properties": {"marketing_platform_risk_level": "low"}},
        ],
        {},
    ),
    "update_company_properties": (
        [
            {
                "hubspot_id": "5001",
                "properties": {"marketing_platform_health_score": 81.5, "marketing_platform_health_band": "healthy"},
            },
            {"hubspot_id": "5002", "properties": {"marketing_platform_churn_probability": 0.125}},
        ],
        {},
    ),
    "update_deal_properties": (
        [
            {
                "hubspot_id": "9001",
                "properties": {
                    "marketing_platform_attributed_campaigns": "Webinar Q3 60%; Search 40%",
                    "marketing_platform_attribution_model": "linear",
                },
            }
        ],
        {},
    ),
    "add_to_list": ([{"hubspot_id": str(i)} for i in range(1, 121)], {"list_id": "42"}),
    "enroll_workflow": (
        [{"hubspot_id": str(i), "email": f"c{i}@example.com"} for i in range(1, 101)],
        {"workflow_id": "7"},
    ),
    "create_task": (
        [{"hubspot_id": "3", "owner_id": "501"}, {"hubspot_id": "4"}],
        {"subject": "Call", "priority": "high"},
    ),
    "create_properties": ([], {"object_type": "companies"}),
}


# --- the protocol and the registry ---------------------------------------------------------------


def test_every_registered_kind_implements_the_protocol():
    assert set(SAMPLES) == set(KINDS), "give every kind a sample input above"
    for name, kind in KINDS.items():
        assert isinstance(kind, ActionKind) and not inspect.isabstract(type(kind))
        assert kind.name == name and len(name) <= 32  # action_outbox.kind is a String(32)
        assert kind.object_type in (*OBJECT_TYPES, None)
        assert kind.topic in TOPICS
        assert isinstance(kind.campaign, bool)
        assert kind.needs_targets == (kind.columns is not None)
        assert kind.columns is None or (isinstance(kind.columns, CsvColumns) and kind.columns.identity)
        assert all(isinstance(param, Param) for param in kind.params)
        assert len({param.name for param in kind.params}) == len(kind.params)
        assert kind.label and kind_of(name) is kind


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_kind_previews_counts_and_sends_exactly_its_planned_requests(server, name):
    kind = KINDS[name]
    targets, payload = SAMPLES[name]
    plan = outbox.plan_action(name, targets, payload)
    assert plan.ok and not plan.duplicates
    planned = plan.requests(limit=None)
    assert all(isinstance(request, PlannedRequest) for request in planned)
    assert plan.request_count() == len(planned)  # the preview's count is exact
    assert plan.summary().startswith(f"{name}: {kind.amount(plan.targets, plan.payload)}")
    frame = plan.frame()
    assert frame.columns == ["hubspot_id", "email", "sends", "status"]
    assert frame.height == len(targets) and set(frame["status"]) <= {"send"}
    assert all(sends for sends in frame["sends"])
    topic = outbox.topic_for(name, plan.targets, plan.payload)
    assert topic in TOPICS

    action = outbox.enqueue(name, targets, payload, USER, plan=plan).action_id
    report = make_deliverer(server).run(once=True)
    assert report.sent == [action] and status_of(action)["status"] == "sent"
    assert status_of(action)["topic"] == topic
    # Setup requests for the properties the kind needs first are not the action's own requests.
    setup_paths = {f"/crm/v3/properties/{spec.object_type}" for spec in kind.custom_properties(targets, plan.payload)}
    sent = [
        (r["method"], r["path"], r["body"])
        for r in server.requests
        if r["path"] not in setup_paths and r["path"].rpartition("/groups")[0] not in setup_paths
    ]
    assert sent == [(r.method, r.path, r.body) for r in planned]  # what the preview showed is what was sent


def test_property_values_travel_as_strings_and_land_once(server):
    targets, payload = SAMPLES["update_company_properties"]
    outbox.enqueue("update_company_properties", targets, payload, USER)
    make_deliverer(server).run(once=True)
    assert server.companies["5001"]["marketing_platform_health_score"] == "81.5"
    assert server.companies["5002"]["marketing_platform_churn_probability"] == "0.125"
    assert server.writes[("companies", "5001", "marketing_platform_health_band")] == 1


def test_the_catalogue_declares_each_custom_property_once_with_a_valid_type():
    keys = [(spec.object_type, spec.name) for spec in CUSTOM_PROPERTIES]
    assert len(keys) == len(set(keys))
    for spec in CUSTOM_PROPERTIES:
        assert spec.object_type in DEFAULT_GROUPS and PROPERTY_NAME.match(spec.name)
        assert (spec.type, spec.field_type) in {("number", "number"), ("string", "text")}
        assert spec.topic in (*TOPICS, None) and spec.label and spec.description
    by_key = {(spec.object_type, spec.name): spec for spec in CUSTOM_PROPERTIES}
    assert by_key[("companies", "marketing_platform_health_score")].type == "number"
    assert by_key[("companies", "marketing_platform_health_band")].type == "string"
    assert by_key[("companies", "marketing_platform_churn_probability")].type == "number"
    assert by_key[("deals", "marketing_platform_attributed_campaigns")].type == "string"
    assert by_key[("deals", "marketing_platform_attribution_model")].type == "string"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


def test_the_cli_lists_every_kind_and_offers_every_declared_field():
    listed = cli("actions", "kinds", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["kind"] for row in rows] == list(KINDS)
    assert {row["kind"]: row["object_type"] for row in rows} == {name: k.object_type for name, k in KINDS.items()}
    assert {row["kind"]: row["campaign"] for row in rows} == {name: k.campaign for name, k in KINDS.items()}
    helped = cli("actions", "enqueue", "--help")
    assert helped.returncode == 0, helped.stderr
    text = " ".join(helped.stdout.split())
    for kind in KINDS.values():
        assert kind.name in text
        for param in kind.params:
            assert param.option in text


def test_a_field_may_not_shadow_an_option_of_every_kind():
    from analytics.cli.actions import declared_fields

    class Shadowing(TagContacts):
        name = "shadowing"
        params = (Param("key", "a field named like the idempotency key option"),)

    with pytest.raises(RuntimeError, match="'key', which is an option of every kind"):
        declared_fields({"shadowing": Shadowing()})


# --- input checks: one sentence each -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "targets", "payload", "message"),
    [
        ("update_company_properties", [{"email": "a@b.c", "properties": {"x": 1}}], {}, "has no hubspot_id"),
        ("update_deal_properties", [{"hubspot_id": "9001", "properties": {}}], {}, "has no properties to update"),
        (
            "update_deal_properties",
            [{"hubspot_id": "9001", "properties": {"Deal Score": 1}}],
            {},
            "not a HubSpot property",
        ),
        ("update_company_properties", [], {}, "has no target companies; select at least one company"),
        ("update_properties", [{"properties": {"x": 1}}], {}, "has neither hubspot_id nor email"),
        ("enroll_workflow", [{"email": "a@b.c"}], {}, "enroll_workflow needs --workflow-id"),
        (
            "create_task",
            [{"hubspot_id": "1"}],
            {"subject": "x", "priority": "urgent"},
            "must be one of LOW, MEDIUM, HIGH",
        ),
        (
            "create_task",
            [{"hubspot_id": "1"}],
            {"subject": "x", "due_in_days": "soon"},
            "must be a whole number of days",
        ),
        ("create_task", [{"hubspot_id": "1"}], {"subject": "x", "due_in_days": -1}, "must be 0 or more"),
        ("create_properties", [], {"object_type": "tickets"}, "must be one of contacts, companies, deals"),
        ("create_properties", [], {"object_type": "deals", "names": "nope"}, "nope is not one of them"),
    ],
)
def test_bad_input_is_one_clear_sentence(env, kind, targets, payload, message):
    with pytest.raises(RevLensError, match=message) as error:
        outbox.plan_action(kind, targets, payload)
    assert str(error.value).count(". ") == 0 and str(error.value).endswith(".")


def test_payloads_are_normalized_by_the_kinds_declared_fields(env):
    task = outbox.plan_action("create_task", [{"hubspot_id": "1"}], {"subject": "Call", "priority": "low"})
    assert task.payload == {"subject": "Call", "body": "", "priority": "LOW", "due_in_days": 2}
    created = outbox.plan_action("create_properties", [], {"object_type": "deals"})
    assert created.payload["names"] == [
        "marketing_platform_attributed_campaigns",
        "marketing_platform_attribution_model",
    ]
    assert (
        created.summary()
        == "create_properties: 2 custom deal properties (those missing in HubSpot) in 1 batches (3 requests)"
    )
    picked = outbox.plan_action("create_properties", [], {"names": "last_campaign_interaction, "})
    assert picked.payload == {"object_type": "contacts", "names": ["last_campaign_interaction"]}


def test_a_task_is_due_as_previewed(server):
    plan = outbox.plan_action("create_task", [{"hubspot_id": "5"}], {"subject": "Renewal", "due_in_days": "3"})
    previewed = plan.requests(limit=1)[0].body["inputs"][0]["properties"]["hs_timestamp"]
    expected = plan.planned_at.timestamp() + 3 * 86400
    assert datetime.fromisoformat(previewed.replace("Z", "+00:00")).timestamp() == pytest.approx(expected, abs=1)
    outbox.enqueue("create_task", [{"hubspot_id": "5"}], {"subject": "Renewal", "due_in_days": "3"}, USER, plan=plan)
    make_deliverer(server).run(once=True)
    [task] = server.tasks.values()
    assert task["properties"]["hs_timestamp"] == previewed


# --- companies and deals, end to end ---------------------------------------------------------------

RECORD_KINDS = {
    "update_company_properties": ("companies", 5001, "marketing_platform_health_score", "customer-health"),
    "update_deal_properties": ("deals", 9001, "marketing_platform_attributed_campaigns", "revenue-attribution"),
}


def record_targets(name: str, count: int, value="x") -> list[dict]:
    _, first, prop, _ = RECORD_KINDS[name]
    return [{"hubspot_id": str(first + i), "properties": {prop: value}} for i in range(count)]


@pytest.mark.parametrize("name", list(RECORD_KINDS))
def test_record_kinds_deliver_250_records_in_batches_of_100_once_each(server, name):
    object_type, first, prop, topic = RECORD_KINDS[name]
    action = outbox.enqueue(name, record_targets(name, 250, "61"), {}, USER)
    assert action.message() == f"Queued action #{action.action_id} for 250 {object_type}."
    report = make_deliverer(server).run(once=True)
    assert report.sent == [action.action_id] and status_of(action.action_id)["topic"] == topic
    updates = [r for r in server.requests if r["path"] == f"/crm/v3/objects/{object_type}/batch/update"]
    assert [len(r["body"]["inputs"]) for r in updates] == [100, 100, 50]
    records = server.records(object_type)
    assert all(records[str(first + i)][prop] == "61" for i in range(250))
    assert all(server.writes[(object_type, str(first + i), prop)] == 1 for i in range(250))
    # the custom property was created first, on its object type, in that object's own group
    [created] = [
        r["body"] for r in server.requests if r["method"] == "POST" and r["path"].startswith("/crm/v3/properties")
    ]
    assert created["name"] == prop and created["groupName"] == DEFAULT_GROUPS[object_type]
    assert server.properties[object_type][prop]["type"] == created["type"]
    assert not server.property_writes  # no contact was touched


@pytest.mark.parametrize("fault", ["drop_after_apply", "500"])
@pytest.mark.parametrize("name", list(RECORD_KINDS))
def test_an_uncertain_resend_of_a_record_batch_applies_once(server, name, fault):
    object_type, first, prop, _ = RECORD_KINDS[name]
    server.fault(fault, path=f"{object_type}/batch/update", after=1)  # the second batch
    action = outbox.enqueue(name, record_targets(name, 150, "7"), {}, USER).action_id
    make_deliverer(server).run(once=True)
    row = status_of(action)
    assert row["status"] == "sent" and row["attempts"] == 3  # 2 batches, the second one twice
    assert all(server.writes[(object_type, str(first + i), prop)] == 1 for i in range(150))
    assert "retry_scheduled" in outbox.audit_frame(action_id=action)["event"].to_list()


@pytest.mark.parametrize("name", list(RECORD_KINDS))
def test_a_207_partial_answer_is_reported_and_the_rest_applied(server, name):
    object_type, first, prop, _ = RECORD_KINDS[name]
    targets = record_targets(name, 10, "ok") + [{"hubspot_id": "404", "properties": {prop: "x"}}]
    action = outbox.enqueue(name, targets, {}, USER).action_id
    make_deliverer(server).run(once=True)
    row = status_of(action)
    assert row["status"] == "sent"
    singular = {"companies": "COMPANY", "deals": "DEAL"}[object_type]
    assert row["last_error"] == (
        f"HubSpot rejected 1 of 11: Could not get some {singular} objects, they may be deleted or not exist."
    )
    batch = outbox.action_batches_frame(action).row(0, named=True)
    assert json.loads(batch["result"]) == {"sent": 11, "applied": 10, "rejected": 1, "rejection": row["last_error"]}
    assert all(server.records(object_type)[str(first + i)][prop] == "ok" for i in range(10))
    sent_event = outbox.audit_frame(action_id=action).filter(event="sent")["detail"][0]
    assert json.loads(sent_event) == {"applied": 10, "rejected": 1, "sent": 11}


def test_an_unknown_property_fails_the_action_with_hubspots_message(server):
    targets = [{"hubspot_id": "9001", "properties": {"not_a_deal_property": "x"}}]
    action = outbox.enqueue("update_deal_properties", targets, {}, USER).action_id
    make_deliverer(server).run(once=True)
    row = status_of(action)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert (
        row["last_error"]
        == 'HubSpot answered 400: Property values were not valid: Property "not_a_deal_property" does not exist'
    )


def test_create_properties_per_object_type_in_its_own_group(server):
    server.properties["deals"]["marketing_platform_attribution_model"] = server._property_body(
        "marketing_platform_attribution_model", "deals"
    )
    for object_type in ("companies", "deals"):
        outbox.enqueue("create_properties", [], {"object_type": object_type}, USER)
    make_deliverer(server).run(once=True)
    posted = [(r["path"], r["body"]["name"], r["body"]["groupName"]) for r in server.requests if r["method"] == "POST"]
    assert posted == [
        ("/crm/v3/properties/companies", "marketing_platform_health_score", "companyinformation"),
        ("/crm/v3/properties/companies", "marketing_platform_health_band", "companyinformation"),
        ("/crm/v3/properties/companies", "marketing_platform_churn_probability", "companyinformation"),
        ("/crm/v3/properties/companies", "marketing_platform_expansion_signal", "companyinformation"),
        ("/crm/v3/properties/deals", "marketing_platform_attributed_campaigns", "dealinformation"),
    ]
    results = [json.loads(outbox.action_batches_frame(a)["result"][0]) for a in (1, 2)]
    assert results == [{"created": 4, "existing": 0}, {"created": 1, "existing": 1}]


def test_topics_follow_what_an_update_writes():
    assert outbox.topic_for("update_company_properties", record_targets("update_company_properties", 1), {}) == (
        "customer-health"
    )
    assert outbox.topic_for("update_company_properties", [{"properties": {"name": "Acme"}}], {}) == "customer-health"
    assert outbox.topic_for("update_deal_properties", record_targets("update_deal_properties", 1), {}) == (
        "revenue-attribution"
    )
    both = [{"properties": {"marketing_platform_health_score": 1, "marketing_platform_attributed_revenue": 2}}]
    assert outbox.topic_for("update_properties", both, {}) == "revenue-attribution"
    assert outbox.topic_for("update_deal_properties", [{"properties": {"x": 1}}], {"topic": "lead-capture"}) == (
        "lead-capture"
    )


def test_company_properties_from_a_csv_through_the_cli(server, tmp_path):
    scores = tmp_path / "health.csv"
    rows = [f"{5001 + i},{50 + i},{'at_risk' if i % 2 else 'healthy'}" for i in range(120)]
    scores.write_text(
        "hubspot_id,marketing_platform_health_score,marketing_platform_health_band\n" + "\n".join(rows) + "\n"
    )
    env = {
        **cli_env(server),
        "REVLENS_RETRY_BASE_DELAY_MS": "10",
    }
    queued = cli(
        "actions", "enqueue", "--kind", "update_company_properties", "--from-csv", str(scores), "--yes", env=env
    )
    assert queued.returncode == 0, queued.stderr
    assert "update_company_properties: 120 companies in 2 batches (2 requests)" in queued.stdout
    assert "First request: POST /crm/v3/objects/companies/batch/update" in queued.stdout
    assert "Queued action #1 for 120 companies." in queued.stdout
    wrong = cli(
        "actions",
        "enqueue",
        "--kind",
        "update_company_properties",
        "--list-id",
        "4",
        "--from-csv",
        str(scores),
        env=env,
    )
    assert wrong.returncode == 2 and "--list-id is not an option of update_company_properties" in wrong.stderr
    delivered = cli("actions", "deliver", "--once", env=env)
    assert "1 actions sent, 0 failed" in delivered.stdout, delivered.stderr
    assert server.companies["5002"]["marketing_platform_health_band"] == "at_risk"
    assert server.companies["5120"]["marketing_platform_health_score"] == "169"


def cli_env(server) -> dict:
    import os

    return {
        **os.environ,
        "REVLENS_USER": "ops",
        "HUBSPOT_API_BASE": server.base_url,
        "REVLENS_HUBSPOT_RATE_LIMIT": "1000",
        "REVLENS_HUBSPOT_RATE_WINDOW_S": "1",
    }


# --- a kind registered by this test only ------------------------------------------------------------


class TagContacts(ActionKind):
    """Tags contacts with a custom property of its own, as a campaign: nothing outside this test knows it."""

    name = "tag_contacts"
    object_type = "contacts"
    topic = "campaign-performance"
    campaign = True
    columns = CsvColumns(identity=("hubspot_id",))
    params = (Param("tag", "the tag to set", required=True, parse=str.lower),)
    TAG = PropertySpec("contacts", "revlens_test_tag", "Test tag", "string", "text", "Set by a test kind.")

    def requests(self, batch, payload, action_key, created_at):
        inputs = [{"id": t["hubspot_id"], "properties": {self.TAG.name: payload["tag"]}} for t in batch]
        return [
            PlannedRequest(
                "POST",
                "/crm/v3/objects/contacts/batch/update",
                {"inputs": inputs},
                operation="crm.contacts.batch_api.update",
            )
        ]

    def sends(self, target, payload):
        return f"tag {payload['tag']}"

    def custom_properties(self, targets, payload):
        return [self.TAG]

    def send(self, gateway: HubSpotGateway, batch, payload, attempt: Attempt) -> dict:
        [request] = self.requests(batch, payload, attempt.action_key, attempt.created_at)
        return batch_outcome(gateway.send(request), len(batch))


@pytest.fixture()
def tag_kind(monkeypatch):
    monkeypatch.setitem(KINDS, TagContacts.name, TagContacts())
    return KINDS[TagContacts.name]


def test_a_new_kind_goes_through_plan_enqueue_and_delivery_without_other_code(server, tag_kind):
    audience = [{"hubspot_id": str(i)} for i in range(1, 151)]
    too_few = outbox.plan_action("tag_contacts", audience[:99], {"tag": "VIP"})
    assert "has 99" in too_few.violations[0]  # a campaign kind gets the audience bound
    plan = outbox.plan_action("tag_contacts", audience, {"tag": "VIP"})
    assert plan.ok and plan.payload == {"tag": "vip"} and plan.frame()["sends"][0] == "tag vip"
    assert plan.summary() == "tag_contacts: 150 contacts in 2 batches (2 requests)"
    server.fault("drop_after_apply", path="contacts/batch/update")  # the first batch's outcome is unknown
    action = outbox.enqueue("tag_contacts", audience, {"tag": "VIP"}, USER, plan=plan).action_id
    assert status_of(action)["topic"] == "campaign-performance"
    make_deliverer(server).run(once=True)
    assert status_of(action)["status"] == "sent"
    assert all(server.contacts[str(i)]["revlens_test_tag"] == "vip" for i in range(1, 151))
    assert all(server.property_writes[(str(i), "revlens_test_tag")] == 1 for i in range(1, 151))
    assert server.properties["contacts"]["revlens_test_tag"]["groupName"] == "contactinformation"  # created first
    # its contacts count towards the weekly frequency cap like any campaign's
    for tag in ("b", "c"):
        outbox.enqueue("tag_contacts", audience, {"tag": tag}, USER)
    capped = outbox.plan_action(
        "tag_contacts", audience + [{"hubspot_id": str(i)} for i in range(151, 251)], {"tag": "d"}
    )
    assert len(capped.skipped) == 150 and len(capped.targets) == 100
    with outbox.store().connect() as conn:
        triggers = conn.execute(sa.select(sa.func.count()).select_from(tables.campaign_triggers)).scalar_one()
    assert triggers == 3 * 150


def test_a_new_kind_works_through_the_cli(server, tag_kind, tmp_path, monkeypatch):
    from analytics.cli import app

    monkeypatch.setenv("REVLENS_USER", USER)
    monkeypatch.setenv("REVLENS_RETRY_BASE_DELAY_MS", "10")
    members = tmp_path / "members.csv"
    members.write_text("hubspot_id\n" + "\n".join(str(i) for i in range(1, 121)) + "\n")
    runner = CliRunner()
    listed = runner.invoke(app, ["actions", "kinds", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert "tag_contacts" in [row["kind"] for row in json.loads(listed.stdout)]
    queued = runner.invoke(
        app,
        ["actions", "enqueue", "--kind", "tag_contacts", "--param", "tag=Gold", "--from-csv", str(members), "--yes"],
    )
    assert queued.exit_code == 0, queued.output
    assert "Queued action #1 for 120 contacts." in queued.stdout
    unknown = runner.invoke(
        app, ["actions", "enqueue", "--kind", "tag_contacts", "--param", "colour=red", "--from-csv", str(members)]
    )
    assert isinstance(unknown.exception, RevLensError)
    assert str(unknown.exception) == "tag_contacts has no field 'colour'; its fields are: tag (and topic)."
    delivered = runner.invoke(app, ["actions", "deliver", "--once"])
    assert delivered.exit_code == 0, delivered.output
    assert "1 actions sent, 0 failed" in delivered.stdout
    assert {server.contacts[str(i)]["revlens_test_tag"] for i in range(1, 121)} == {"gold"}


def test_an_action_of_a_kind_no_longer_registered_fails_and_blocks_nothing(server, tag_kind, monkeypatch):
    orphan = outbox.enqueue("tag_contacts", [{"hubspot_id": str(i)} for i in range(1, 101)], {"tag": "x"}, USER)
    after = outbox.enqueue("update_deal_properties", record_targets("update_deal_properties", 3), {}, USER)
    monkeypatch.delitem(KINDS, "tag_contacts")
    report = make_deliverer(server).run(once=True)
    assert report.failed == [orphan.action_id] and report.sent == [after.action_id]
    row = status_of(orphan.action_id)
    assert row["status"] == "failed" and row["last_error"].startswith("Kind 'tag_contacts' is not registered")
    assert not any(r["path"].startswith("/crm/v3/objects/contacts") for r in server.requests)
