"""Consumer groups on the event outbox: alert-system turns SLA and health events into notifications, once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.customers.interventions import publish_band_changes
from analytics.jobs import sla
from analytics.ops.consumers import consume_outbox, notification_of
from analytics.ops.events import emit
from analytics.ops.store import ops_engine
from analytics.ops.tables import consumer_offsets, notifications


@pytest.fixture()
def engine(tmp_path):
    return ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")


def scores(bands):
    return pl.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(bands))],
            "account_name": [f"Account {i}" for i in range(len(bands))],
            "overall_score": [80.0 if b == "healthy" else 35.0 for b in bands],
            "band": bands,
        }
    )


def seed(engine):
    day = date(2026, 11, 30)
    with engine.begin() as conn:
        publish_band_changes(conn, scores(["healthy", "healthy", "at_risk"]), day, "baseline")
        publish_band_changes(conn, scores(["critical", "healthy", "healthy"]), day, "new data")  # A0 down, A2 up
        emit(conn, "campaign-performance", "campaign.performance_summary", {"campaigns": 3}, None)  # no alert
    sla.write_samples(
        engine, [sla.Sample("job.roi_calculations", "batch_operations", 7_500.0, "success", datetime.now(UTC))]
    )


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alert_system_notifies_once_per_event_and_posts_the_webhook(engine):
    seed(engine)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = consume_outbox(engine, "alert-system", webhook=f"http://127.0.0.1:{server.server_port}/hook")
    finally:
        server.shutdown()
    assert report.read == 4 and report.handled == 3
    messages = sorted((n["severity"], n["message"]) for n in report.notifications)
    assert messages == [
        ("critical", "Account 0 moved from healthy to critical (health score 35)."),
        ("info", "Account 2 moved from at_risk to healthy (health score 80)."),
        ("warning", "SLA violation: job.roi_calculations took 7,500 ms, over the batch operations target of 5,000 ms."),
    ]
    assert len(Hook.received) == 3 and {n["webhook_status"] for n in report.notifications} == {"sent 204"}
    # the group's position moved past every event: nothing is handled twice
    again = consume_outbox(engine, "alert-system", webhook="")
    assert again.read == 0 and again.notifications == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar() == 3
        assert conn.execute(sa.select(consumer_offsets.c.consumer_group)).scalars().all() == ["alert-system"]


def test_a_failing_webhook_keeps_the_notification(engine):
    seed(engine)
    report = consume_outbox(engine, "alert-system", webhook="http://127.0.0.1:9/unreachable")
    assert len(report.notifications) == 3 and all(
        n["webhook_status"].startswith("failed") for n in report.notifications
    )


def test_analytics_pipeline_runs_a_job_on_new_crm_data(engine):
    with engine.begin() as conn:
        emit(conn, "lead-capture", "crm.sync.completed", {"object_type": "contacts", "pulled": 0}, None)
        emit(conn, "lead-capture", "crm.sync.completed", {"object_type": "contacts", "pulled": 12}, None)
        emit(conn, "revenue-attribution", "crm.sync.completed", {"object_type": "deals", "pulled": 3}, None)
    ran = []
    report = consume_outbox(engine, "analytics-pipeline", run=lambda name, **kw: ran.append((name, kw["trigger"])))
    assert report.read == 3 and report.handled == 2 and ran == [("campaign_performance_summary", "consumer")]


def test_unknown_and_unhandled_groups_are_clear_errors(engine):
    with pytest.raises(RevLensError, match="'billing' is not a consumer group; the spec's groups are crm-sync"):
        consume_outbox(engine, "billing")
    with pytest.raises(RevLensError, match="The crm-sync consumer group has no handler in RevLens yet"):
        consume_outbox(engine, "crm-sync")


def test_events_alert_nothing_they_do_not_concern():
    assert notification_of({"event_type": "action.sent", "payload": {}}) is None
