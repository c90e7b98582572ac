"""Events: the spec's envelope, written to the event outbox in the same transaction as the change.

Every action transition (enqueued, sent, failed, cancelled) and every CRM sync writes one
row to ``event_outbox`` in the transaction that makes the change (a transactional outbox:
an event exists if and only if its change was committed). :func:`publish_pending` then
ships unpublished rows to Kafka when ``REVLENS_KAFKA_BOOTSTRAP`` is set; without it the
outbox is the event log, readable on the Actions page and with ``actions events``.

Envelope (spec, "Real-Time Event Streaming")::

    {"event_id": uuid4, "event_type": "action.sent", "tenant_id": "...",
     "timestamp": ISO-8601 UTC, "payload": {...},
     "metadata": {"source": "marketing_platform", "version": "1.0", "correlation_id": "..."}}

Kafka message key: the tenant id (as the spec's producer does); topic: one of :data:`TOPICS`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.core.settings import setting, tenant_id
from analytics.ops.store import utcnow
from analytics.ops.tables import event_outbox

TOPICS = ("lead-capture", "campaign-performance", "customer-health", "revenue-attribution")
ENVELOPE_VERSION = "1.0"
SOURCE = "marketing_platform"


def envelope(
    event_type: str, payload: dict, correlation_id: str | None, tenant: str | None = None, now: datetime | None = None
) -> dict:
    """The spec's event envelope."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "tenant_id": tenant or tenant_id(),
        "timestamp": (now or utcnow()).astimezone(UTC).isoformat(timespec="milliseconds"),
        "payload": payload,
        "metadata": {"source": SOURCE, "version": ENVELOPE_VERSION, "correlation_id": correlation_id},
    }


def emit(conn: sa.Connection, topic: str, event_type: str, payload: dict, correlation_id: str | None) -> dict:
    """Write one event inside the caller's transaction ``conn``; returns the envelope."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    event = envelope(event_type, payload, correlation_id)
    conn.execute(
        event_outbox.insert().values(
            event_id=event["event_id"],
            topic=topic,
            event_type=event_type,
            tenant_id=event["tenant_id"],
            envelope=json.dumps(event, default=str),
            created_at=utcnow(),
        )
    )
    return event


def pending_events(engine: sa.Engine, limit: int = 1000) -> list[dict]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(event_outbox)
                .where(event_outbox.c.published_at.is_(None))
                .order_by(event_outbox.c.id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


def kafka_producer(bootstrap: str, message_timeout_ms: int = 30_000):
    """A confluent-kafka producer with idempotence on (no duplicates from its own retries)."""
    try:
        from confluent_kafka import Producer
    except ImportError:
        raise RevLensError(
            "REVLENS_KAFKA_BOOTSTRAP is set but confluent-kafka is not installed; "
            "pip install confluent-kafka, or unset the variable."
        ) from None
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "message.timeout.ms": message_timeout_ms,
            "client.id": "revlens",
        }
    )


def publish_pending(engine: sa.Engine, producer=None, limit: int = 1000, flush_timeout_s: float = 30.0) -> dict:
    """Ship unpublished events to Kafka; mark those the broker acknowledged.

    Delivery is at-least-once: an event is marked published only after the broker's
    acknowledgement, so a crash between the two sends it again (consumers dedupe on
    ``event_id``). Without ``producer`` and without ``REVLENS_KAFKA_BOOTSTRAP`` it does
    nothing and returns ``{"published": 0, "failed": 0, "enabled": False}``.
    """
    if producer is None:
        bootstrap = setting("REVLENS_KAFKA_BOOTSTRAP")
        if not bootstrap:
            return {"published": 0, "failed": 0, "enabled": False}
        producer = kafka_producer(str(bootstrap))
    events = pending_events(engine, limit)
    acked: list[int] = []
    failed: dict[int, str] = {}

    def on_delivery(error, _message, row_id):
        if error is None:
            acked.append(row_id)
        else:
            failed[row_id] = str(error)

    for row in events:
        producer.produce(
            row["topic"],
            key=row["tenant_id"].encode(),
            value=row["envelope"].encode(),
            on_delivery=lambda error, message, row_id=row["id"]: on_delivery(error, message, row_id),
        )
        producer.poll(0)
    producer.flush(flush_timeout_s)
    for row in events:  # still unacknowledged after the flush: count as failed, try again later
        if row["id"] not in acked and row["id"] not in failed:
            failed[row["id"]] = f"no acknowledgement within {flush_timeout_s:g} s"
    now = utcnow()
    with engine.begin() as conn:
        if acked:
            conn.execute(
                event_outbox.update().where(event_outbox.c.id.in_(acked)).values(published_at=now, publish_error=None)
            )
        for row_id, error in failed.items():
            conn.execute(event_outbox.update().where(event_outbox.c.id == row_id).values(publish_error=error[:500]))
    return {"published": len(acked), "failed": len(failed), "enabled": True}
