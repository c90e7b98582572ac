"""Consumer groups of the event stream (spec, ``EventStreamingConfig.consumers``).

A group reads the spec's four topics either from the event outbox (the default: each group
keeps its position, the last ``event_outbox.id`` it handled, in ``consumer_offsets``, advanced in
the same transaction as what it does, so an event is handled once per group) or from Kafka
(``REVLENS_KAFKA_BOOTSTRAP``: the Kafka consumer group of the same name, offsets committed
after each message; delivery is at-least-once, and handlers dedupe on ``event_id``).

Groups:

* ``alert-system`` — automated alerting: an ``sla.violation`` event becomes a *warning*
  notification ("operation took X ms, target Y ms"); a ``health.band_changed`` event into
  ``at_risk`` or ``critical`` becomes a *warning* / *critical* notification (a recovery is
  *info*). One ``notifications`` row per event (unique ``event_id``); when
  ``REVLENS_ALERT_WEBHOOK`` is set, each notification is POSTed there as JSON and the answer
  recorded (a failed webhook never loses the notification).
* ``analytics-pipeline`` — analytics processing: a ``crm.sync.completed`` event that pulled
  records runs the ``campaign_performance_summary`` job on the fresh data.

``crm-sync`` and ``reporting-engine`` are the spec's other groups; RevLens has no handler for
them yet (the CRM write-back has its own outbox, reports run on the schedule), and naming them
is a clear error rather than a consumer that silently does nothing.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.ops.events import TOPICS
from analytics.ops.store import utcnow
from analytics.ops.tables import consumer_offsets, event_outbox, notifications

GROUPS = ("crm-sync", "analytics-pipeline", "alert-system", "reporting-engine")
HANDLED_GROUPS = ("alert-system", "analytics-pipeline")


@dataclass
class ConsumeReport:
    group: str
    source: str
    read: int = 0
    handled: int = 0
    notifications: list[dict] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)

    def line(self) -> str:
        extra = f"; ran {', '.join(self.jobs)}" if self.jobs else ""
        return (
            f"{self.group} read {self.read:,} events from the {self.source}, acted on {self.handled:,}; "
            f"{len(self.notifications):,} notifications{extra}."
        )


def notification_of(event: dict) -> dict | None:
    """The alert-system's notification for an event envelope, or None when it alerts nothing."""
    payload = event.get("payload") or {}
    kind = event.get("event_type")
    if kind == "sla.violation":
        return {
            "kind": "sla_violation",
            "severity": "warning",
            "message": (
                f"SLA violation: {payload.get('operation')} took {payload.get('duration_ms'):,.0f} ms, over the "
                f"{payload.get('sla_class', '').replace('_', ' ')} target of {payload.get('target_ms'):,.0f} ms."
            ),
        }
    if kind == "health.band_changed":
        to_band = payload.get("to_band")
        name = payload.get("account_name") or payload.get("account_id")
        severity = {"critical": "critical", "at_risk": "warning"}.get(to_band, "info")
        score = payload.get("score")
        return {
            "kind": "health_band_change",
            "severity": severity,
            "message": (
                f"{name} moved from {payload.get('from_band') or 'unscored'} to {to_band}"
                + (f" (health score {score:.0f})" if isinstance(score, (int, float)) else "")
                + "."
            ),
        }
    return None


def _post_webhook(url: str, notification: dict) -> str:
    data = json.dumps(notification, default=str).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (the operator's own URL)
            return f"sent {answer.status}"
    except Exception as exc:
        return f"failed: {str(exc)[:60]}"


def _alert(conn: sa.Connection, event: dict, report: ConsumeReport, webhook: str | None) -> bool:
    note = notification_of(event)
    if note is None:
        return False
    exists = conn.execute(sa.select(notifications.c.id).where(notifications.c.event_id == event["event_id"])).first()
    if exists is not None:  # at-least-once delivery: this event was handled before
        return False
    row = {**note, "event_id": event["event_id"], "created_at": utcnow()}
    row["webhook_status"] = _post_webhook(webhook, {**note, "event": event}) if webhook else "not configured"
    conn.execute(notifications.insert().values(**row))
    report.notifications.append(row)
    return True


def _pipeline(event: dict, report: ConsumeReport, run: Callable) -> bool:
    if event.get("event_type") != "crm.sync.completed" or not (event.get("payload") or {}).get("pulled"):
        return False
    if "campaign_performance_summary" not in report.jobs:  # once per batch of sync events
        run("campaign_performance_summary", trigger="consumer")
        report.jobs.append("campaign_performance_summary")
    return True


def check_group(group: str) -> str:
    if group not in GROUPS:
        raise RevLensError(f"{group!r} is not a consumer group; the spec's groups are {', '.join(GROUPS)}.")
    if group not in HANDLED_GROUPS:
        raise RevLensError(
            f"The {group} consumer group has no handler in RevLens yet; run alert-system or analytics-pipeline."
        )
    return group


def consume_outbox(
    engine: sa.Engine, group: str, limit: int = 10_000, webhook: str | None = None, run=None
) -> ConsumeReport:
    """Handle the outbox events after the group's position, and advance it (module docstring)."""
    from analytics.core.settings import alert_webhook_url

    check_group(group)
    webhook = webhook if webhook is not None else alert_webhook_url()
    report = ConsumeReport(group, "event outbox")
    with engine.begin() as conn:
        position = conn.execute(
            sa.select(consumer_offsets.c.last_id).where(consumer_offsets.c.consumer_group == group)
        ).scalar()
        rows = conn.execute(
            sa.select(event_outbox.c.id, event_outbox.c.envelope)
            .where(event_outbox.c.id > (position or 0), event_outbox.c.topic.in_(TOPICS))
            .order_by(event_outbox.c.id)
            .limit(limit)
        ).all()
    pending_jobs = []
    last = position or 0
    with engine.begin() as conn:
        for row in rows:
            event = json.loads(row.envelope)
            report.read += 1
            if group == "alert-system":
                report.handled += _alert(conn, event, report, webhook)
            elif _pipeline(event, report, lambda name, **kw: pending_jobs.append(name)):
                report.handled += 1
            last = row.id
        if rows:
            values = {"last_id": last, "updated_at": utcnow()}
            if position is None:
                conn.execute(consumer_offsets.insert().values(consumer_group=group, **values))
            else:
                conn.execute(
                    consumer_offsets.update().where(consumer_offsets.c.consumer_group == group).values(**values)
                )
    for name in pending_jobs:  # after the position is stored: a job never runs inside the outbox transaction
        (run or _run_job)(name, trigger="consumer")
    return report


def _run_job(name: str, **kwargs):
    from analytics.jobs.runner import run_job

    return run_job(name, **kwargs)


def kafka_consumer(bootstrap: str, group: str):
    from confluent_kafka import Consumer

    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 1_000,
            "client.id": f"revlens-{group}",
        }
    )


def consume_kafka(
    engine: sa.Engine,
    group: str,
    bootstrap: str,
    idle_s: float = 10.0,
    max_events: int = 100_000,
    webhook: str | None = None,
    run=None,
    consumer=None,
) -> ConsumeReport:
    """Read the four topics as the Kafka consumer group ``group`` until ``idle_s`` pass without a
    message; handle each event and commit its offset after the handling commits (at-least-once)."""
    import time

    from analytics.core.settings import alert_webhook_url

    check_group(group)
    webhook = webhook if webhook is not None else alert_webhook_url()
    report = ConsumeReport(group, f"Kafka at {bootstrap}")
    consumer = consumer or kafka_consumer(bootstrap, group)
    consumer.subscribe(list(TOPICS))
    last_message = time.monotonic()
    try:
        while report.read < max_events and time.monotonic() - last_message < idle_s:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                continue
            last_message = time.monotonic()
            event = json.loads(message.value())
            report.read += 1
            if group == "alert-system":
                with engine.begin() as conn:
                    report.handled += _alert(conn, event, report, webhook)
            elif _pipeline(event, report, run or _run_job):
                report.handled += 1
            consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    return report


def recent_notifications(engine: sa.Engine, limit: int = 50) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications).order_by(notifications.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
