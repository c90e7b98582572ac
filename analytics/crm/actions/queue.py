"""The action outbox: write-back to HubSpot is queued here, previewed, confirmed and audited.

Pages and the CLI call one function, :func:`enqueue` (after showing :func:`plan_action`'s
preview); :mod:`analytics.crm.actions.delivery` sends what is queued. Everything lives in the
ops store (:mod:`analytics.ops`), so a queued action survives restarts and crashes. What
differs between kinds (their input, requests, preview, topic, whether they are campaigns)
is asked of the kind (:data:`analytics.crm.actions.kinds.KINDS`); this module never names one.

Tables
------
``action_outbox``
    one row per action: kind, payload (JSON), target count, idempotency key (unique),
    status ``pending | sending | sent | failed | cancelled``, attempts, last error,
    created/confirmed by, created/sent at, the next retry time and the delivery lease.
``action_batches``
    the action's targets in batches of at most 100 (HubSpot's batch limit), each with its
    own status, attempts and progress, so a restart resumes at the first unsent batch.
``audit_log``
    who did what to which action, when (enqueued, retried, cancelled, delivered, failed).
``campaign_triggers``
    one row per contact per campaign action, for the frequency cap.
``sync_cursors``
    the CRM pull sync's high-water mark per object type.

Guard rails (the spec's "campaign_validation")
----------------------------------------------
* a campaign action (a kind with ``campaign = True``: ``add_to_list``, ``enroll_workflow``) must reach between
  :data:`AUDIENCE_MIN` (100) and :data:`AUDIENCE_MAX` (1,000,000) contacts;
* a contact receives at most :data:`FREQUENCY_CAP` (3) campaign triggers in any 7 days
  (:data:`FREQUENCY_WINDOW`); contacts over the cap are skipped and reported, and the
  audience bound is checked on the contacts that remain;
* only users listed in ``REVLENS_CONFIRMERS`` may enqueue (see :mod:`analytics.core.settings`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.core.settings import confirmers
from analytics.crm.actions.kinds import kind_of
from analytics.crm.hubspot.transport import PlannedRequest
from analytics.ops.audit import audit
from analytics.ops.events import TOPICS, emit
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import action_batches, actions, audit_log, campaign_triggers

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
FINAL_STATUSES = ("sent", "failed", "cancelled")
AUDIENCE_MIN, AUDIENCE_MAX = 100, 1_000_000
FREQUENCY_CAP = 3
FREQUENCY_WINDOW = timedelta(days=7)


def store(url: str | None = None) -> sa.Engine:
    """The ops store (migrated); ``url`` defaults to ``REVLENS_OPS_URL``."""
    return ops_engine(url)


def topic_for(kind: str, targets: list[dict], payload: dict) -> str:
    """The event topic of an action: explicit ``payload['topic']``, else the kind's (by what it writes)."""
    if payload.get("topic"):
        if payload["topic"] not in TOPICS:
            raise RevLensError(f"Topic {payload['topic']!r} is not one of {', '.join(TOPICS)}.")
        return payload["topic"]
    return kind_of(kind).topic_for(targets, payload)


# ---------------------------------------------------------------------------------------
# Plan (= preview) and enqueue


@dataclass(frozen=True)
class ActionPlan:
    """What an action would send, after the guard rails; the preview shows exactly this.

    ``targets`` are the records that will be sent to, ``skipped`` the contacts over the
    frequency cap, ``duplicates`` targets dropped because the same record appeared again
    (the last occurrence wins), ``violations`` the guard rails that block it (empty: OK).
    ``planned_at`` is when the preview was made; the queued action is created at that moment,
    so what depends on its time (a task's due date) is sent as previewed.
    """

    kind: str
    payload: dict
    targets: list[dict]
    skipped: list[dict]
    duplicates: int
    violations: tuple[str, ...]
    idempotency_key: str
    batches: list[list[dict]] = field(repr=False)
    planned_at: datetime = field(default_factory=utcnow)

    @property
    def ok(self) -> bool:
        return not self.violations

    def requests(self, limit: int | None = 3) -> list[PlannedRequest]:
        """The first ``limit`` HTTP requests (all with None) exactly as they will be sent."""
        kind = kind_of(self.kind)
        planned: list[PlannedRequest] = []
        for batch in self.batches:
            planned.extend(kind.requests(batch, self.payload, self.idempotency_key, self.planned_at))
            if limit is not None and len(planned) >= limit:
                break
        return planned[:limit]

    def request_count(self) -> int:
        return kind_of(self.kind).request_count(self.targets, self.batches, self.payload)

    def amount(self) -> str:
        return kind_of(self.kind).amount(self.targets, self.payload)

    def summary(self) -> str:
        text = f"{self.kind}: {self.amount()} in {len(self.batches):,} batches ({self.request_count():,} requests)"
        if self.skipped:
            text += f"; {len(self.skipped):,} skipped (already {FREQUENCY_CAP} campaign triggers this week)"
        if self.duplicates:
            text += f"; {self.duplicates:,} duplicate rows dropped"
        return text

    def frame(self) -> pl.DataFrame:
        """One row per target: identity, what is sent (the kind's preview), and whether it is skipped."""
        kind = kind_of(self.kind)
        rows = [{**kind.preview_row(t, self.payload), "status": "send"} for t in self.targets]
        rows += [{**kind.preview_row(t, self.payload), "status": "skipped: frequency cap"} for t in self.skipped]
        if not rows:
            return pl.DataFrame(
                {"hubspot_id": [], "email": [], "sends": [], "status": []},
                schema={"hubspot_id": pl.String, "email": pl.String, "sends": pl.String, "status": pl.String},
            )
        return pl.DataFrame(
            rows, schema={"hubspot_id": pl.String, "email": pl.String, "sends": pl.String, "status": pl.String}
        )


def content_key(kind: str, targets: list[dict], payload: dict) -> str:
    """Default idempotency key: a hash of what is sent, so a double click queues once."""
    canonical = json.dumps([kind, payload, targets], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _capped_contacts(conn: sa.Connection, now: datetime) -> set[str]:
    """Contacts with FREQUENCY_CAP or more campaign triggers in the window (live actions only)."""
    live = sa.select(actions.c.id).where(actions.c.status.notin_(("cancelled", "failed")))
    rows = conn.execute(
        sa.select(campaign_triggers.c.contact_key)
        .where(campaign_triggers.c.triggered_at > now - FREQUENCY_WINDOW, campaign_triggers.c.action_id.in_(live))
        .group_by(campaign_triggers.c.contact_key)
        .having(sa.func.count() >= FREQUENCY_CAP)
    ).scalars()
    return set(rows)


def plan_action(
    kind: str,
    targets: list[dict],
    payload: dict | None = None,
    *,
    engine: sa.Engine | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> ActionPlan:
    """Validate an action and apply the guard rails; nothing is written.

    The payload is the kind's, normalized (declared fields parsed, defaults filled in).
    Raises :class:`RevLensError` when the input itself is wrong (unknown kind, a target
    without the id the kind needs); guard-rail breaches are returned in ``violations``.
    """
    action_kind = kind_of(kind)
    now = now or utcnow()
    payload = action_kind.normalize(dict(payload or {}))
    targets = [dict(t) for t in targets] if action_kind.needs_targets else []
    action_kind.validate(targets, payload)
    unique: dict[str, dict] = {}
    for target in targets:
        unique[action_kind.target_key(target)] = target
    duplicates = len(targets) - len(unique)
    targets = list(unique.values())
    skipped: list[dict] = []
    violations: list[str] = []
    if action_kind.campaign:
        engine = engine or store()
        with engine.connect() as conn:
            capped = _capped_contacts(conn, now)
        if capped:
            skipped = [t for t in targets if action_kind.target_key(t) in capped]
            targets = [t for t in targets if action_kind.target_key(t) not in capped]
        if not AUDIENCE_MIN <= len(targets) <= AUDIENCE_MAX:
            after = f" after skipping {len(skipped):,} over the weekly cap" if skipped else ""
            violations.append(
                f"A campaign audience must hold {AUDIENCE_MIN:,} to {AUDIENCE_MAX:,} contacts, and this one has "
                f"{len(targets):,}{after}; widen or narrow the selection."
            )
    key = idempotency_key or content_key(kind, targets, payload)
    return ActionPlan(
        kind, payload, targets, skipped, duplicates, tuple(violations), key, action_kind.batches(targets), now
    )


@dataclass(frozen=True)
class EnqueueResult:
    action_id: int
    status: str
    target_count: int
    skipped: int
    duplicate: bool  # True: the same action was already queued; nothing new was written
    amount: str = ""  # what it reaches, in words ("150 contacts"); default: target_count contacts

    def message(self) -> str:
        if self.duplicate:
            return f"Already queued as action #{self.action_id} ({self.status}); nothing new was queued."
        text = f"Queued action #{self.action_id} for {self.amount or f'{self.target_count:,} contacts'}"
        if self.skipped:
            text += f"; {self.skipped:,} skipped by the weekly frequency cap"
        return text + "."


def check_confirmer(user: str) -> None:
    allowed = confirmers()
    if not user or user.strip().lower() not in allowed:
        raise RevLensError(
            f"User {user!r} may not confirm write-back actions; an admin adds them to REVLENS_CONFIRMERS "
            "(environment variable, or .streamlit/secrets.toml)."
        )


def enqueue(
    kind: str,
    targets: list[dict],
    payload: dict | None,
    user: str,
    *,
    engine: sa.Engine | None = None,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    plan: ActionPlan | None = None,
    within: Callable[[sa.Connection, int, str], None] | None = None,
) -> EnqueueResult:
    """Queue an action for delivery after checking the user and the guard rails.

    Parameters
    ----------
    kind : a name in :data:`analytics.crm.actions.kinds.KINDS`.
    targets : one dict per record, as the kind reads them (its ``columns``): ``hubspot_id``
        and/or ``email``; ``properties`` for the property updates; ``owner_id`` (HubSpot
        owner) for ``create_task``.
    payload : the kind's fields (its ``params``: ``list_id``, ``workflow_id``, task
        ``subject``/``body``/``priority``/``due_in_days``, ``object_type``/``names`` for
        ``create_properties``), and optionally ``topic``.
    user : who confirms; must be listed in ``REVLENS_CONFIRMERS``.
    idempotency_key : defaults to a hash of the content: queuing the same thing twice
        returns the first action (``duplicate=True``) unless it failed or was cancelled.
    plan : the plan the user previewed; recomputed when omitted.
    within : called as ``within(conn, action_id, user)`` inside the transaction that queues the
        action (or finds it queued, for a duplicate), so what it writes to the ops store
        (e.g. the Health page's intervention log) commits with the action or not at all: an
        exception in it rolls the action back and propagates.

    Raises
    ------
    RevLensError
        The user may not confirm, the input is invalid, or a guard rail is breached.
    """
    check_confirmer(user)
    engine = engine or store()
    plan = plan or plan_action(kind, targets, payload, engine=engine, idempotency_key=idempotency_key)
    if plan.violations:
        raise RevLensError(plan.violations[0])
    action_kind = kind_of(plan.kind)
    now = utcnow()
    key = plan.idempotency_key
    correlation_id = correlation_id or str(uuid.uuid4())
    topic = topic_for(plan.kind, plan.targets, plan.payload)
    # The key itself, or a later generation of it ("key~2") queued after a failure or cancel.
    same_key = sa.or_(actions.c.idempotency_key == key, actions.c.idempotency_key.like(f"{key}~%"))
    for _ in range(3):  # a concurrent enqueue of the same key loses the race and returns the winner
        try:
            with engine.begin() as conn:
                existing = conn.execute(
                    sa.select(actions.c.id, actions.c.status, actions.c.target_count)
                    .where(same_key)
                    .order_by(actions.c.id.desc())
                ).first()
                if existing is not None and existing.status not in ("failed", "cancelled"):
                    if within is not None:
                        within(conn, existing.id, user)
                    return EnqueueResult(existing.id, existing.status, existing.target_count, 0, True)
                if existing is not None:  # a new attempt at content that failed or was cancelled
                    generation = conn.execute(
                        sa.select(sa.func.count()).select_from(actions).where(same_key)
                    ).scalar_one()
                    key_now = f"{key}~{generation}"
                else:
                    key_now = key
                action_id = conn.execute(
                    actions.insert().values(
                        kind=plan.kind,
                        payload=json.dumps(plan.payload, sort_keys=True),
                        target_count=len(plan.targets),
                        skipped=json.dumps([action_kind.target_key(t) for t in plan.skipped]),
                        idempotency_key=key_now,
                        status="pending",
                        attempts=0,
                        topic=topic,
                        correlation_id=correlation_id,
                        created_by=user,
                        confirmed_by=user,
                        created_at=plan.planned_at,  # the requests were previewed at this time
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    action_batches.insert(),
                    [
                        {
                            "action_id": action_id,
                            "batch_no": number,
                            "targets": json.dumps(batch),
                            "status": "pending",
                            "attempts": 0,
                            "progress": 0,
                        }
                        for number, batch in enumerate(plan.batches)
                    ],
                )
                if action_kind.campaign:
                    conn.execute(
                        campaign_triggers.insert(),
                        [
                            {"contact_key": action_kind.target_key(t), "action_id": action_id, "triggered_at": now}
                            for t in plan.targets
                        ],
                    )
                audit(conn, user, "enqueued", plan.summary(), action_id)
                emit(
                    conn,
                    topic,
                    "action.enqueued",
                    {
                        "action_id": action_id,
                        "kind": plan.kind,
                        "target_count": len(plan.targets),
                        "skipped": len(plan.skipped),
                        "created_by": user,
                    },
                    correlation_id,
                )
                if within is not None:
                    within(conn, action_id, user)
                return EnqueueResult(action_id, "pending", len(plan.targets), len(plan.skipped), False, plan.amount())
        except sa.exc.IntegrityError:
            continue
    raise RevLensError(f"Could not queue the action: its key {key} keeps colliding; retry in a moment.")


# ---------------------------------------------------------------------------------------
# Inspect, retry, cancel


def list_actions(
    engine: sa.Engine | None = None,
    status: str | None = None,
    kind: str | None = None,
    created_by: str | None = None,
    limit: int = 500,
) -> pl.DataFrame:
    """Actions newest first, with delivery progress (batches sent of total)."""
    if status and status not in STATUSES:
        raise RevLensError(f"Status {status!r} is not one of {', '.join(STATUSES)}.")
    engine = engine or store()
    sent_batches = (
        sa.select(
            action_batches.c.action_id,
            sa.func.count().label("batches_total"),
            sa.func.sum(sa.case((action_batches.c.status == "sent", 1), else_=0)).label("batches_sent"),
        )
        .group_by(action_batches.c.action_id)
        .subquery()
    )
    query = (
        sa.select(
            actions.c.id,
            actions.c.kind,
            actions.c.status,
            actions.c.attempts,
            actions.c.last_error,
            actions.c.target_count,
            actions.c.skipped,
            actions.c.created_by,
            actions.c.created_at,
            actions.c.sent_at,
            actions.c.next_attempt_at,
            actions.c.topic,
            sent_batches.c.batches_sent,
            sent_batches.c.batches_total,
        )
        .select_from(actions.outerjoin(sent_batches, sent_batches.c.action_id == actions.c.id))
        .order_by(actions.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(actions.c.status == status)
    if kind:
        query = query.where(actions.c.kind == kind)
    if created_by:
        query = query.where(actions.c.created_by == created_by)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        row["skipped_count"] = len(json.loads(row.pop("skipped") or "[]"))
        row["batches_sent"] = int(row["batches_sent"] or 0)
        row["batches_total"] = int(row["batches_total"] or 0)
    schema = {
        "id": pl.Int64,
        "kind": pl.String,
        "status": pl.String,
        "attempts": pl.Int64,
        "last_error": pl.String,
        "target_count": pl.Int64,
        "created_by": pl.String,
        "created_at": pl.Datetime("us"),
        "sent_at": pl.Datetime("us"),
        "next_attempt_at": pl.Datetime("us"),
        "topic": pl.String,
        "batches_sent": pl.Int64,
        "batches_total": pl.Int64,
        "skipped_count": pl.Int64,
    }
    for row in rows:
        for column in ("created_at", "sent_at", "next_attempt_at"):
            if row[column] is not None and row[column].tzinfo is not None:
                row[column] = row[column].replace(tzinfo=None)  # all stored in UTC
    return pl.DataFrame(rows, schema=schema)


def action_batches_frame(action_id: int, engine: sa.Engine | None = None) -> pl.DataFrame:
    engine = engine or store()
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(
                    action_batches.c.batch_no,
                    action_batches.c.status,
                    action_batches.c.attempts,
                    action_batches.c.progress,
                    action_batches.c.last_error,
                    action_batches.c.result,
                    action_batches.c.targets,
                )
                .where(action_batches.c.action_id == action_id)
                .order_by(action_batches.c.batch_no)
            )
            .mappings()
            .all()
        )
    out = [
        {
            "batch_no": r["batch_no"],
            "status": r["status"],
            "attempts": r["attempts"],
            "targets": len(json.loads(r["targets"])),
            "last_error": r["last_error"],
            "result": r["result"],
        }
        for r in rows
    ]
    return pl.DataFrame(
        out,
        schema={
            "batch_no": pl.Int64,
            "status": pl.String,
            "attempts": pl.Int64,
            "targets": pl.Int64,
            "last_error": pl.String,
            "result": pl.String,
        },
    )


def audit_frame(engine: sa.Engine | None = None, action_id: int | None = None, limit: int = 1000) -> pl.DataFrame:
    engine = engine or store()
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if action_id is not None:
        query = query.where(audit_log.c.action_id == action_id)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        if row["at"] is not None and row["at"].tzinfo is not None:
            row["at"] = row["at"].replace(tzinfo=None)
    return pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64,
            "at": pl.Datetime("us"),
            "actor": pl.String,
            "action_id": pl.Int64,
            "event": pl.String,
            "detail": pl.String,
        },
    )


def _load(conn: sa.Connection, action_id: int):
    row = conn.execute(sa.select(actions).where(actions.c.id == action_id)).mappings().first()
    if row is None:
        raise RevLensError(f"There is no action #{action_id}; list them with `python -m analytics actions list`.")
    return row


def retry_action(action_id: int, user: str, engine: sa.Engine | None = None) -> None:
    """Put a failed action back in the queue; its unsent batches get a fresh retry budget."""
    check_confirmer(user)
    engine = engine or store()
    with engine.begin() as conn:
        row = _load(conn, action_id)
        if row["status"] != "failed":
            raise RevLensError(f"Action #{action_id} is {row['status']}; only a failed action can be retried.")
        # A fresh retry budget; last_error stays, so the resend is treated as uncertain (looked up first).
        conn.execute(
            action_batches.update()
            .where(action_batches.c.action_id == action_id, action_batches.c.status == "failed")
            .values(status="pending", attempts=0)
        )
        conn.execute(
            actions.update()
            .where(actions.c.id == action_id, actions.c.status == "failed")
            .values(
                status="pending", next_attempt_at=None, lease_owner=None, lease_expires_at=None, updated_at=utcnow()
            )
        )
        audit(conn, user, "retried", f"previous error: {row['last_error'] or '-'}", action_id)


def cancel_action(action_id: int, user: str, engine: sa.Engine | None = None) -> None:
    """Cancel a pending, sending or failed action; a deliverer stops before its next batch."""
    check_confirmer(user)
    engine = engine or store()
    with engine.begin() as conn:
        row = _load(conn, action_id)
        if row["status"] in ("sent", "cancelled"):
            raise RevLensError(f"Action #{action_id} is already {row['status']}; there is nothing to cancel.")
        conn.execute(
            actions.update()
            .where(actions.c.id == action_id)
            .values(status="cancelled", updated_at=utcnow(), next_attempt_at=None)
        )
        sent = conn.execute(
            sa.select(sa.func.count())
            .select_from(action_batches)
            .where(action_batches.c.action_id == action_id, action_batches.c.status == "sent")
        ).scalar_one()
        audit(conn, user, "cancelled", f"was {row['status']}; {sent} batches had been sent", action_id)
        emit(
            conn,
            row["topic"],
            "action.cancelled",
            {"action_id": action_id, "kind": row["kind"], "batches_sent": sent},
            row["correlation_id"],
        )
