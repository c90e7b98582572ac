"""The event outbox and the Kafka sink (tested without a broker: an unreachable one, and a recording producer)."""

from __future__ import annotations

import json
import socket

import pytest
import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.ops.events import TOPICS, kafka_producer, pending_events, publish_pending
from analytics.ops.tables import event_outbox

USER = "ops"


@pytest.fixture()
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    monkeypatch.setenv("REVLENS_TENANT_ID", "acme")
    monkeypatch.delenv("REVLENS_KAFKA_BOOTSTRAP", raising=False)
    engine = outbox.store()
    outbox.enqueue(
        "update_properties", [{"hubspot_id": "1", "properties": {"marketing_platform_lead_score": 80}}], {}, USER
    )
    outbox.enqueue("add_to_list", [{"hubspot_id": str(i)} for i in range(100)], {"list_id": "9"}, USER)
    return engine


class RecordingProducer:
    """Stands in for the broker: records what would be produced and acknowledges it."""

    def __init__(self, fail_topic: str | None = None):
        self.messages, self.fail_topic, self._callbacks = [], fail_topic, []

    def produce(self, topic, key, value, on_delivery):
        self.messages.append((topic, key, value))
        self._callbacks.append((on_delivery, topic))

    def poll(self, _timeout):
        return 0

    def flush(self, _timeout):
        for callback, topic in self._callbacks:
            callback("broker down" if topic == self.fail_topic else None, None)
        self._callbacks.clear()
        return 0


def test_without_a_bootstrap_nothing_is_published_and_events_stay_in_the_outbox(engine):
    assert publish_pending(engine) == {"published": 0, "failed": 0, "enabled": False}
    events = pending_events(engine)
    assert [e["event_type"] for e in events] == ["action.enqueued", "action.enqueued"]
    assert [e["topic"] for e in events] == ["lead-capture", "campaign-performance"]
    assert all(e["topic"] in TOPICS and json.loads(e["envelope"])["tenant_id"] == "acme" for e in events)


def test_acknowledged_events_are_marked_published_and_failures_kept_for_the_next_run(engine):
    producer = RecordingProducer(fail_topic="campaign-performance")
    assert publish_pending(engine, producer) == {"published": 1, "failed": 1, "enabled": True}
    topic, key, value = producer.messages[0]
    assert (topic, key) == ("lead-capture", b"acme")  # the spec's producer keys by tenant
    assert json.loads(value)["event_type"] == "action.enqueued"
    left = pending_events(engine)
    assert [e["topic"] for e in left] == ["campaign-performance"] and left[0]["publish_error"] == "broker down"
    assert publish_pending(engine, RecordingProducer()) == {"published": 1, "failed": 0, "enabled": True}
    assert pending_events(engine) == []


def test_an_unreachable_broker_publishes_nothing_and_loses_nothing(engine):
    with socket.socket() as sock:  # a port where no broker listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    producer = kafka_producer(f"127.0.0.1:{port}", message_timeout_ms=1500)
    result = publish_pending(engine, producer, flush_timeout_s=10)
    assert result == {"published": 0, "failed": 2, "enabled": True}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(event_outbox.c.published_at, event_outbox.c.publish_error)).all()
    assert all(published is None and error for published, error in rows)


def test_delivery_goes_on_when_the_kafka_broker_is_down(engine, monkeypatch):
    from analytics.crm.actions.delivery import Deliverer, RetryPolicy
    from analytics.crm.hubspot import transport as hs
    from tests.fakes.hubspot_server import HubSpotServer, seed_contacts

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("REVLENS_KAFKA_BOOTSTRAP", f"127.0.0.1:{sock.getsockname()[1]}")
    with HubSpotServer("tok") as server:
        seed_contacts(server, 120)
        server.lists["9"] = set()
        gateway = hs.HubSpotGateway("tok", server.base_url, hs.Timeouts(1, 2), hs.RateLimiter(1000, 1))
        report = Deliverer(engine, gateway, RetryPolicy(base_delay_ms=10)).run(once=True)
    assert len(report.sent) == 2
    left = pending_events(engine)
    assert len(left) == 4 and all(e["publish_error"] for e in left)  # 2 enqueued + 2 sent, kept for later
