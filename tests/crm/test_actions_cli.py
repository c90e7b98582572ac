"""The actions CLI in real subprocesses: queue from CSV, list, deliver, a SIGKILLed deliverer, the token."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.crm.actions.delivery import Deliverer, RetryPolicy
from analytics.crm.hubspot import transport as hs
from analytics.ops import tables
from tests.fakes.hubspot_server import HubSpotServer, seed_companies, seed_contacts
from tests.paths import ROOT

TOKEN = "pat-na1-SECRET-fedcba9876543210"
USER = "ops"


@pytest.fixture()
def server(tmp_path, monkeypatch):
    with HubSpotServer(TOKEN, latency_s=0.01) as srv:
        seed_contacts(srv, 1000)
        srv.lists["42"] = set()
        env = {
            "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}",
            "REVLENS_SECRETS": str(tmp_path / "absent.toml"),
            "REVLENS_CONFIRMERS": USER,
            "REVLENS_USER": USER,
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_API_BASE": srv.base_url,
            "REVLENS_RETRY_BASE_DELAY_MS": "20",
            "REVLENS_RETRY_MAX_DELAY_MS": "200",
            "REVLENS_HUBSPOT_RATE_LIMIT": "1000",
            "REVLENS_HUBSPOT_RATE_WINDOW_S": "1",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("REVLENS_KAFKA_BOOTSTRAP", raising=False)
        srv.env = {**os.environ, **env}
        yield srv


def cli(server, *args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "analytics", *args],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def start_deliverer(server) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analytics", "actions", "deliver", "--once"],
        cwd=ROOT,
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_enqueue_from_csv_list_as_json_and_deliver(server, tmp_path):
    scores = write_csv(
        tmp_path / "scores.csv",
        "email,marketing_platform_lead_score,marketing_platform_risk_level",
        [f"c{i}@example.com,{i % 100},{'high' if i % 7 == 0 else 'low'}" for i in range(1, 151)],
    )
    queued = cli(server, "actions", "enqueue", "--kind", "update_properties", "--from-csv", str(scores), "--yes")
    assert "Queued action #1 for 150 contacts." in queued.stdout
    assert "/crm/v3/objects/contacts/batch/upsert" in queued.stdout  # the preview came first
    members = write_csv(tmp_path / "members.csv", "hubspot_id", [str(i) for i in range(1, 121)])
    cli(server, "actions", "enqueue", "--kind", "add_to_list", "--list-id", "42", "--from-csv", str(members), "--yes")
    listed = json.loads(cli(server, "actions", "list", "--status", "pending", "--format", "json").stdout)
    assert [(a["id"], a["kind"], a["target_count"], a["attempts"], a["last_error"]) for a in listed] == [
        (2, "add_to_list", 120, 0, None),
        (1, "update_properties", 150, 0, None),
    ]
    delivered = cli(server, "actions", "deliver", "--once")
    assert "2 actions sent, 0 failed" in delivered.stdout
    assert server.contacts["14"]["marketing_platform_risk_level"] == "high"
    assert len(server.lists["42"]) == 120
    assert json.loads(cli(server, "actions", "list", "--status", "pending", "--format", "json").stdout) == []


def test_cli_mistakes_are_one_sentence_and_exit_2(server, tmp_path):
    wrong = write_csv(tmp_path / "wrong.csv", "id,score", ["1,2"])
    result = cli(
        server,
        "actions",
        "enqueue",
        "--kind",
        "add_to_list",
        "--list-id",
        "42",
        "--from-csv",
        str(wrong),
        "--yes",
        check=False,
    )
    assert result.returncode == 2 and "needs a column hubspot_id" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli(server, "actions", "list", "--status", "done", check=False)
    assert result.returncode == 2 and "not one of pending, sending, sent, failed, cancelled" in result.stderr
    few = write_csv(tmp_path / "few.csv", "hubspot_id", ["1", "2"])
    result = cli(
        server,
        "actions",
        "enqueue",
        "--kind",
        "add_to_list",
        "--list-id",
        "42",
        "--from-csv",
        str(few),
        "--yes",
        check=False,
    )
    assert result.returncode == 2 and "100 to 1,000,000 contacts" in result.stderr


def _sent_batches(action_id: int) -> int:
    with outbox.store().connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.action_batches)
            .where(tables.action_batches.c.action_id == action_id, tables.action_batches.c.status == "sent")
        ).scalar_one()


@pytest.mark.parametrize("kind", ["update_properties", "update_company_properties", "create_task", "enroll_workflow"])
def test_deliverer_killed_mid_batch_resumes_and_applies_every_contact_once(server, kind):
    """SIGKILL the deliverer after HubSpot applied batch 4 but before the answer arrived; restart."""
    ids = range(1, 1001)
    if kind == "update_properties":
        action = outbox.enqueue(
            kind, [{"hubspot_id": str(i), "properties": {"marketing_platform_lead_score": i}} for i in ids], {}, USER
        ).action_id
        server.fault("hang_after_apply", path="contacts/batch/update", after=3, delay_s=10)
    elif kind == "update_company_properties":
        companies = seed_companies(server, 1000)
        action = outbox.enqueue(
            kind,
            [{"hubspot_id": c, "properties": {"marketing_platform_health_score": int(c) % 100}} for c in companies],
            {},
            USER,
        ).action_id
        server.fault("hang_after_apply", path="companies/batch/update", after=3, delay_s=10)
    elif kind == "create_task":
        action = outbox.enqueue(
            kind, [{"hubspot_id": str(i)} for i in ids], {"subject": "Renewal call"}, USER
        ).action_id
        server.fault("hang_after_apply", path="tasks/batch/create", after=3, delay_s=10)
    else:  # one request per contact: killed after contact 351 (batch 4) was enrolled
        server.workflows["7"] = set()
        action = outbox.enqueue(
            kind, [{"hubspot_id": str(i), "email": f"c{i}@example.com"} for i in ids], {"workflow_id": "7"}, USER
        ).action_id
        server.fault("hang_after_apply", path="workflows/7/enrollments", after=350, delay_s=10)
    first = start_deliverer(server)
    assert server.applied_then_hung.wait(60), first.communicate()
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _sent_batches(action) == 3  # batch 4 was applied by HubSpot but never recorded as sent
    with outbox.store().connect() as conn:
        assert (
            conn.execute(sa.select(tables.actions.c.status).where(tables.actions.c.id == action)).scalar_one()
            == "sending"
        )
    second = start_deliverer(server)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "1 actions sent" in out
    assert _sent_batches(action) == 10
    if kind == "update_properties":
        assert all(server.contacts[str(i)]["marketing_platform_lead_score"] == str(i) for i in ids)
        assert all(server.property_writes[(str(i), "marketing_platform_lead_score")] == 1 for i in ids)
    elif kind == "update_company_properties":
        assert all(server.companies[c]["marketing_platform_health_score"] == str(int(c) % 100) for c in companies)
        assert all(server.writes[("companies", c, "marketing_platform_health_score")] == 1 for c in companies)
    elif kind == "create_task":
        associated = sorted(int(t["associations"][0]["to"]["id"]) for t in server.tasks.values())
        assert associated == list(ids)  # every contact has its task, none has two
    else:
        assert len(server.workflows["7"]) == 1000 and set(server.enrollment_count.values()) == {1}
    assert "resumed" in outbox.audit_frame(action_id=action)["event"].to_list()


def test_the_token_never_appears_in_output_logs_errors_or_the_store(server, caplog):
    members = [{"hubspot_id": str(i)} for i in range(1, 151)]
    outbox.enqueue("add_to_list", members, {"list_id": "42"}, USER)
    outbox.enqueue("add_to_list", members, {"list_id": "404"}, USER)  # fails: HubSpot's 404 message
    server.fault("drop", path="memberships")
    server.fault("429", path="memberships", retry_after=0)
    with caplog.at_level(logging.DEBUG):
        gateway = hs.HubSpotGateway(TOKEN, server.base_url, hs.Timeouts(1, 1), hs.RateLimiter(1000, 1))
        # The SDK's Configuration turns its loggers down to WARNING; turn them all the way up.
        for name in [n for n in logging.root.manager.loggerDict if n.startswith(("urllib3", "hubspot"))]:
            logging.getLogger(name).setLevel(logging.DEBUG)
        Deliverer(outbox.store(), gateway, RetryPolicy(base_delay_ms=10, max_delay_ms=50)).run(once=True)
        server.token = "a-rotated-token"  # now every call is a 401
        outbox.enqueue("update_properties", [{"hubspot_id": "1", "properties": {"company": "X"}}], {}, USER)
        result = cli(server, "actions", "deliver", "--once")
        listed = cli(server, "actions", "list", "--format", "json")
        audit = cli(server, "actions", "audit", "--format", "json")
    failures = [a["last_error"] for a in json.loads(listed.stdout) if a["status"] == "failed"]
    assert any("401" in error for error in failures) and any("404" in error for error in failures)
    texts = [result.stdout, result.stderr, listed.stdout, audit.stdout, caplog.text]
    with outbox.store().connect() as conn:
        for table in tables.metadata.sorted_tables:
            texts.append(json.dumps([list(map(str, row)) for row in conn.execute(sa.select(table)).all()]))
    assert caplog.text  # debug logging was really on
    assert all(TOKEN not in text and TOKEN[8:] not in text for text in texts)
    assert repr(gateway).find(TOKEN) == -1
