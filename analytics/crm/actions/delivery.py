"""Deliver queued actions to HubSpot exactly once, with the spec's retry policy.

How "exactly once" holds across crashes
---------------------------------------
A deliverer *claims* an action with a compare-and-set on its status and takes a lease
(``lease_owner`` = host:pid:nonce, ``lease_expires_at``). It then sends the action's
batches in order. Before each request it commits the batch as ``sending`` with one more
attempt (write-ahead); after HubSpot answers it commits the batch as ``sent``. A batch
found ``sending`` or with attempts > 0 is *uncertain*: HubSpot may or may not have
applied it. The batch goes to its kind (:meth:`ActionKind.send
<analytics.crm.actions.kinds.base.ActionKind.send>`) with that flag and its recorded
progress, and every kind is safe to resend in that state (each module says how):

* property updates (contacts by id or email, companies, deals) set the same values again,
  which changes nothing in HubSpot;
* list membership add ignores contacts already in the list;
* workflow enrollment is one request per contact; the batch records each contact done
  (``progress``) and the one uncertain contact is looked up in its current enrollments
  before being enrolled again;
* tasks carry ``revlens_action_key`` (a unique property, ``<action key>:<contact id>``);
  on a resend the batch reads the keys that already exist and creates only the others.

Before a batch is sent, the custom properties its kind needs are created in HubSpot when
missing (once per deliverer).

A dead deliverer's lease is taken over at once when its process is gone from this host,
otherwise when the lease expires (``lease_s``).

Retry policy (spec, "Error Recovery and Retry Logic")
-----------------------------------------------------
After the *n*-th failed attempt of a batch the next attempt waits

.. math::

    d_n = \\min(d_{max},\\ b \\cdot 2^{n-1})\\ \\text{(exponential)},\\quad
          \\min(d_{max},\\ b \\cdot n)\\ \\text{(linear)},\\quad
          \\min(d_{max},\\ b)\\ \\text{(fixed)}

and, when HubSpot sent ``Retry-After: r``, :math:`\\max(d_n, r)`. Only the retryable
errors (429, 5xx, timeouts, dropped connections) are retried, up to ``max_attempts``
attempts per batch; a permanent error (400, 401, 403, 404, ...) fails the action with
HubSpot's message at once. The wait is durable: the action returns to ``pending`` with
``next_attempt_at`` and other actions are delivered meanwhile.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.core.settings import setting
from analytics.crm.actions.kinds import KINDS
from analytics.crm.actions.kinds.base import Attempt
from analytics.crm.actions.queue import store
from analytics.crm.hubspot import transport as hs
from analytics.crm.hubspot.properties import PropertySpec, ensure_properties
from analytics.ops.audit import audit
from analytics.ops.events import emit, kafka_producer, publish_pending
from analytics.ops.store import utcnow
from analytics.ops.tables import action_batches, actions

BACKOFFS = ("exponential", "linear", "fixed")
# every reason a policy may name: HubSpot's transient ones, and "locked" (the warehouse or the ops
# store busy with another writer), which only scheduled jobs meet (analytics.jobs.runner)
KNOWN_REASONS = (*hs.RETRYABLE_REASONS, "locked")
ACTOR = "deliverer"


@dataclass(frozen=True)
class RetryPolicy:
    """The spec's RetryPolicy; delays in milliseconds as in the spec."""

    max_attempts: int = 5
    backoff_strategy: str = "exponential"
    base_delay_ms: int = 1_000
    max_delay_ms: int = 60_000
    retryable_errors: tuple[str, ...] = hs.RETRYABLE_REASONS

    def __post_init__(self):
        if self.backoff_strategy not in BACKOFFS:
            raise RevLensError(f"Backoff {self.backoff_strategy!r} is not one of {', '.join(BACKOFFS)}.")
        if self.max_attempts < 1 or self.base_delay_ms < 0 or self.max_delay_ms < self.base_delay_ms:
            raise RevLensError("The retry policy needs max_attempts >= 1 and 0 <= base delay <= max delay.")
        unknown = set(self.retryable_errors) - set(KNOWN_REASONS)
        if unknown:
            raise RevLensError(
                f"Retryable errors must be among {', '.join(KNOWN_REASONS)}, not {', '.join(sorted(unknown))}."
            )

    def delay_s(self, failed_attempts: int, retry_after_s: float | None = None) -> float:
        """Seconds to wait after ``failed_attempts`` failures (formula in the module docstring)."""
        n = max(1, failed_attempts)
        if self.backoff_strategy == "exponential":
            delay_ms = self.base_delay_ms * 2 ** (n - 1)
        elif self.backoff_strategy == "linear":
            delay_ms = self.base_delay_ms * n
        else:
            delay_ms = self.base_delay_ms
        delay = min(self.max_delay_ms, delay_ms) / 1000.0
        return max(delay, retry_after_s or 0.0)

    def retryable(self, error: hs.HubSpotError) -> bool:
        return isinstance(error, hs.TransientError) and error.reason in self.retryable_errors

    @classmethod
    def from_settings(cls, **overrides) -> RetryPolicy:
        """``REVLENS_RETRY_MAX_ATTEMPTS``, ``_BACKOFF``, ``_BASE_DELAY_MS``, ``_MAX_DELAY_MS``; overrides win."""
        values = {
            "max_attempts": int(setting("REVLENS_RETRY_MAX_ATTEMPTS", cls.max_attempts)),
            "backoff_strategy": str(setting("REVLENS_RETRY_BACKOFF", cls.backoff_strategy)),
            "base_delay_ms": int(setting("REVLENS_RETRY_BASE_DELAY_MS", cls.base_delay_ms)),
            "max_delay_ms": int(setting("REVLENS_RETRY_MAX_DELAY_MS", cls.max_delay_ms)),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retries_scheduled: int = 0
    batches_sent: int = 0
    requests: int = 0

    def line(self) -> str:
        return (
            f"{len(self.sent)} actions sent, {len(self.failed)} failed, {self.batches_sent} batches, "
            f"{self.requests} requests, {self.retries_scheduled} retries scheduled"
        )


def _owner_alive(owner: str | None) -> bool:
    """False when ``owner`` names a process on this host that no longer exists."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host: trust its lease until it expires
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite returns naive UTC
        return value.replace(tzinfo=UTC)
    return value


class LostLease(Exception):
    """The action was cancelled or taken over while we were delivering it."""


class Deliverer:
    """Claims due actions and delivers them through a :class:`~analytics.crm.hubspot.transport.HubSpotGateway`.

    Parameters
    ----------
    engine : the ops store.
    gateway : the HubSpot gateway (token, timeouts, rate limit).
    policy : the retry policy.
    lease_s : how long a claim lasts without renewal (renewed at every batch and contact).
    on_progress : called with (action_id, batches_done, batches_total) after each batch.
    """

    def __init__(
        self,
        engine: sa.Engine,
        gateway: hs.HubSpotGateway,
        policy: RetryPolicy | None = None,
        lease_s: float = 120.0,
        on_progress: Callable[[int, int, int], None] | None = None,
        publish_events: bool = True,
    ):
        self.engine = engine
        self.gateway = gateway
        self.policy = policy or RetryPolicy()
        self.lease = timedelta(seconds=lease_s)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.on_progress = on_progress
        self.publish_events = publish_events
        self._properties_ensured: set[PropertySpec] = set()
        self._producer = None
        self._next_publish = 0.0

    # -- claiming -------------------------------------------------------------------

    def claim(self) -> int | None:
        """Claim the oldest due action (or one whose deliverer died); None when nothing is due."""
        now = utcnow()
        with self.engine.connect() as conn:
            candidates = conn.execute(
                sa.select(actions.c.id, actions.c.status, actions.c.lease_owner, actions.c.lease_expires_at)
                .where(
                    sa.or_(
                        sa.and_(
                            actions.c.status == "pending",
                            sa.or_(actions.c.next_attempt_at.is_(None), actions.c.next_attempt_at <= now),
                        ),
                        actions.c.status == "sending",
                    )
                )
                .order_by(actions.c.id)
                .limit(50)
            ).all()
        for row in candidates:
            if row.status == "sending":
                expired = _aware(row.lease_expires_at) is None or _aware(row.lease_expires_at) < now
                if not expired and _owner_alive(row.lease_owner):
                    continue
            with self.engine.begin() as conn:
                claimed = conn.execute(
                    actions.update()
                    .where(
                        actions.c.id == row.id,
                        actions.c.status == row.status,
                        sa.func.coalesce(actions.c.lease_owner, "") == (row.lease_owner or ""),
                    )
                    .values(status="sending", lease_owner=self.owner, lease_expires_at=now + self.lease, updated_at=now)
                ).rowcount
                if claimed == 1:
                    if row.status == "sending":
                        audit(conn, ACTOR, "resumed", f"taken over from {row.lease_owner}, which stopped", row.id)
                    return row.id
        return None

    def _renew(self, conn: sa.Connection, action_id: int) -> None:
        renewed = conn.execute(
            actions.update()
            .where(actions.c.id == action_id, actions.c.status == "sending", actions.c.lease_owner == self.owner)
            .values(lease_expires_at=utcnow() + self.lease, updated_at=utcnow())
        ).rowcount
        if renewed != 1:
            raise LostLease()

    # -- one action -----------------------------------------------------------------

    def deliver(self, action_id: int, report: DeliveryReport | None = None) -> str:
        """Deliver a claimed action; returns its status afterwards (sent, failed, pending, cancelled)."""
        report = report or DeliveryReport()
        with self.engine.connect() as conn:
            action = conn.execute(sa.select(actions).where(actions.c.id == action_id)).mappings().one()
            batches = (
                conn.execute(
                    sa.select(action_batches)
                    .where(action_batches.c.action_id == action_id)
                    .order_by(action_batches.c.batch_no)
                )
                .mappings()
                .all()
            )
        payload = json.loads(action["payload"])
        total = len(batches)
        done = sum(1 for b in batches if b["status"] == "sent")
        try:
            for batch in batches:
                if batch["status"] == "sent":
                    continue
                attempts = batch["attempts"] + 1
                # Tried before (or retried by a user after failing): HubSpot may have applied it.
                uncertain = batch["attempts"] > 0 or batch["status"] == "sending" or batch["last_error"] is not None
                with self.engine.begin() as conn:  # write-ahead: the attempt is on record before it is made
                    self._renew(conn, action_id)
                    conn.execute(
                        action_batches.update()
                        .where(action_batches.c.id == batch["id"])
                        .values(status="sending", attempts=attempts)
                    )
                    conn.execute(
                        actions.update().where(actions.c.id == action_id).values(attempts=actions.c.attempts + 1)
                    )
                requests_before = self.gateway.requests_sent
                try:
                    counts = self._send(action, batch, payload, uncertain)
                except hs.HubSpotError as error:
                    report.requests += self.gateway.requests_sent - requests_before
                    return self._after_failure(action, batch, attempts, error, done, total, report)
                report.requests += self.gateway.requests_sent - requests_before
                with self.engine.begin() as conn:
                    self._renew(conn, action_id)
                    conn.execute(
                        action_batches.update()
                        .where(action_batches.c.id == batch["id"])
                        .values(status="sent", sent_at=utcnow(), last_error=None, result=json.dumps(counts))
                    )
                done += 1
                report.batches_sent += 1
                if self.on_progress:
                    self.on_progress(action_id, done, total)
        except LostLease:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
        return self._finish(action, report)

    def _send(self, action, batch, payload: dict, uncertain: bool) -> dict:
        if action["kind"] not in KINDS:  # queued by a kind that is no longer registered: fail it, block nothing
            raise hs.PermanentError(
                f"Kind {action['kind']!r} is not registered (known: {', '.join(KINDS)}); "
                "register it and retry the action, or cancel it."
            )
        kind = KINDS[action["kind"]]
        targets = json.loads(batch["targets"])
        self._ensure(kind.custom_properties(targets, payload))

        def advance(done: int) -> None:  # one more target done: on record, and the lease renewed
            with self.engine.begin() as conn:
                self._renew(conn, action["id"])
                conn.execute(action_batches.update().where(action_batches.c.id == batch["id"]).values(progress=done))

        attempt = Attempt(
            action["idempotency_key"], _aware(action["created_at"]), uncertain, batch["progress"], advance
        )
        return kind.send(self.gateway, targets, payload, attempt)

    def _ensure(self, specs: list[PropertySpec]) -> None:
        missing = [spec for spec in dict.fromkeys(specs) if spec not in self._properties_ensured]
        if missing:
            ensure_properties(self.gateway, missing)
            self._properties_ensured.update(missing)

    def _after_failure(
        self, action, batch, attempts: int, error: hs.HubSpotError, done: int, total: int, report: DeliveryReport
    ) -> str:
        now = utcnow()
        message = str(error)
        action_id = action["id"]
        with self.engine.begin() as conn:
            still_ours = conn.execute(
                sa.select(actions.c.status, actions.c.lease_owner).where(actions.c.id == action_id)
            ).one()
            if still_ours.status != "sending" or still_ours.lease_owner != self.owner:
                conn.execute(
                    action_batches.update()
                    .where(action_batches.c.id == batch["id"])
                    .values(status="pending", last_error=message)
                )
                return still_ours.status
            if self.policy.retryable(error) and attempts < self.policy.max_attempts:
                delay = self.policy.delay_s(attempts, getattr(error, "retry_after", None))
                conn.execute(
                    action_batches.update()
                    .where(action_batches.c.id == batch["id"])
                    .values(status="pending", last_error=message)
                )
                conn.execute(
                    actions.update()
                    .where(actions.c.id == action_id)
                    .values(
                        status="pending",
                        last_error=message,
                        next_attempt_at=now + timedelta(seconds=delay),
                        lease_owner=None,
                        lease_expires_at=None,
                        updated_at=now,
                    )
                )
                audit(
                    conn,
                    ACTOR,
                    "retry_scheduled",
                    f"batch {batch['batch_no'] + 1}/{total}, attempt {attempts}: {message}; next in {delay:.1f} s",
                    action_id,
                )
                report.retries_scheduled += 1
                return "pending"
            if isinstance(error, hs.TransientError):
                message = f"Failed after {attempts} attempts: {message}"
            if done:
                message += f" ({done} of {total} batches had been sent)"
            conn.execute(
                action_batches.update()
                .where(action_batches.c.id == batch["id"])
                .values(status="failed", last_error=message)
            )
            conn.execute(
                actions.update()
                .where(actions.c.id == action_id)
                .values(
                    status="failed",
                    last_error=message,
                    next_attempt_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            audit(conn, ACTOR, "failed", message, action_id)
            emit(
                conn,
                action["topic"],
                "action.failed",
                {"action_id": action_id, "kind": action["kind"], "error": message, "batches_sent": done},
                action["correlation_id"],
            )
        report.failed.append(action_id)
        return "failed"

    def _finish(self, action, report: DeliveryReport) -> str:
        action_id = action["id"]
        now = utcnow()
        with self.engine.begin() as conn:
            results = [
                json.loads(r)
                for r in conn.execute(
                    sa.select(action_batches.c.result).where(action_batches.c.action_id == action_id)
                ).scalars()
                if r
            ]
            totals: dict[str, int] = {}
            for result in results:
                for key, value in result.items():
                    if isinstance(value, int):
                        totals[key] = totals.get(key, 0) + value
            rejections = [r["rejection"] for r in results if r.get("rejection")]
            note = "; ".join(rejections[:3]) or None
            finished = conn.execute(
                actions.update()
                .where(actions.c.id == action_id, actions.c.status == "sending", actions.c.lease_owner == self.owner)
                .values(
                    status="sent",
                    sent_at=now,
                    last_error=note,
                    next_attempt_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            ).rowcount
            if finished != 1:
                return conn.execute(sa.select(actions.c.status).where(actions.c.id == action_id)).scalar_one()
            audit(conn, ACTOR, "sent", json.dumps(totals, sort_keys=True), action_id)
            emit(
                conn,
                action["topic"],
                "action.sent",
                {"action_id": action_id, "kind": action["kind"], "target_count": action["target_count"], **totals},
                action["correlation_id"],
            )
        report.sent.append(action_id)
        return "sent"

    # -- the loop -------------------------------------------------------------------

    def next_due_in(self) -> float | None:
        """Seconds until the next pending action is due (0 if now), None if nothing is pending or in flight."""
        now = utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    actions.c.status, actions.c.next_attempt_at, actions.c.lease_owner, actions.c.lease_expires_at
                ).where(actions.c.status.in_(("pending", "sending")))
            ).all()
        waits = []
        for row in rows:
            if row.status == "pending":
                due = _aware(row.next_attempt_at)
                waits.append(0.0 if due is None else max(0.0, (due - now).total_seconds()))
            elif row.lease_owner != self.owner:
                expires = _aware(row.lease_expires_at)
                if not _owner_alive(row.lease_owner) or expires is None:
                    waits.append(0.0)
                else:
                    waits.append(max(0.0, (expires - now).total_seconds()))
        return min(waits) if waits else None

    def run(
        self,
        once: bool = True,
        stop: threading.Event | None = None,
        poll_s: float = 2.0,
        max_wait_s: float | None = None,
        report: DeliveryReport | None = None,
    ) -> DeliveryReport:
        """Deliver until the queue is empty (``once``) or until ``stop`` is set.

        With ``once`` it also waits for scheduled retries, so it returns when every action
        is sent, failed or cancelled (or ``max_wait_s`` of idle waiting has passed).
        """
        report = report if report is not None else DeliveryReport()
        stop = stop or threading.Event()
        waited = 0.0
        while not stop.is_set():
            action_id = self.claim()
            if action_id is not None:
                self.deliver(action_id, report)
                self._publish()
                continue
            due_in = self.next_due_in()
            if once and (due_in is None or (max_wait_s is not None and waited >= max_wait_s)):
                break
            # Never sleep past poll_s: another deliverer may finish (or a user retry) any time.
            pause = poll_s if due_in is None else min(max(due_in, 0.05), poll_s)
            self._publish()
            waited += pause
            stop.wait(pause)
        self._publish(force=True)
        return report

    PUBLISH_EVERY_S = 10.0

    def _publish(self, force: bool = False) -> None:
        """Ship events to Kafka when configured; at most every 10 s so a slow broker cannot stall delivery."""
        bootstrap = setting("REVLENS_KAFKA_BOOTSTRAP") if self.publish_events else None
        if not bootstrap or (not force and time.monotonic() < self._next_publish):
            return
        if self._producer is None:  # one producer per deliverer: it holds the broker connections
            self._producer = kafka_producer(str(bootstrap))
        publish_pending(self.engine, self._producer, flush_timeout_s=5.0)
        self._next_publish = time.monotonic() + self.PUBLISH_EVERY_S


def deliverer_from_settings(
    engine: sa.Engine | None = None,
    policy: RetryPolicy | None = None,
    rate_limit: tuple[int, float] | None = None,
    timeouts: hs.Timeouts | None = None,
    **kwargs,
) -> Deliverer:
    """A deliverer with the token, API base, rate limit and timeouts from the settings."""
    max_requests, per_seconds = rate_limit or (
        int(setting("REVLENS_HUBSPOT_RATE_LIMIT", 100)),
        float(setting("REVLENS_HUBSPOT_RATE_WINDOW_S", 10.0)),
    )
    timeouts = timeouts or hs.Timeouts(
        float(setting("REVLENS_HUBSPOT_CONNECT_TIMEOUT_S", 5.0)), float(setting("REVLENS_HUBSPOT_READ_TIMEOUT_S", 30.0))
    )
    gateway = hs.HubSpotGateway.from_settings(timeouts=timeouts, limiter=hs.RateLimiter(max_requests, per_seconds))
    return Deliverer(engine or store(), gateway, policy or RetryPolicy.from_settings(), **kwargs)


class DeliveryWorker:
    """A background thread that keeps delivering (the app's worker; one per process).

    It runs :meth:`Deliverer.run` with ``once=False`` and survives errors: a failure
    outside an action (the store unreachable, a bad setting) is kept in ``last_error``
    and retried after ``poll_s``. Several processes may each run one; the lease keeps
    any action in one deliverer's hands at a time.
    """

    def __init__(self, deliverer_factory: Callable[[], Deliverer], poll_s: float = 5.0):
        self._factory = deliverer_factory
        self.poll_s = poll_s
        self.stop_event = threading.Event()
        self.started_at = utcnow()
        self.last_error: str | None = None
        self.delivered = DeliveryReport()
        self.thread = threading.Thread(target=self._loop, name="revlens-delivery", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._factory().run(once=False, stop=self.stop_event, poll_s=self.poll_s, report=self.delivered)
            except Exception as exc:  # keep the worker alive; the page shows the error
                self.last_error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                self.stop_event.wait(self.poll_s)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
