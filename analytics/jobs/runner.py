"""Running a job safely: recorded, one at a time across processes, heartbeated, retried.

A run (:func:`run_job`) is a sequence of *attempts*; each attempt is one ``job_runs`` row
(job, parameters, trigger, attempt, start, end, status, rows, outputs, error):

1. the row is inserted ``running``, then the attempt takes the job's lock: a ``job_locks`` row
   keyed by the job name (a primary key, so on SQLite and PostgreSQL alike only one insert
   wins). A live holder makes the attempt ``refused`` (:class:`JobBusy`); a dead one (below) is
   taken over with a compare-and-set on its owner, and its run is marked ``failed``;
2. while the job works, a thread refreshes ``heartbeat_at`` on the run and the lock every
   ``REVLENS_JOB_HEARTBEAT_S`` seconds (default 10);
3. at the end, in one transaction: the row gets its status, duration, rows, outputs and error,
   the job's figures go to ``job_results``, its outcome counts for availability
   (:mod:`analytics.jobs.sla`), and the lock is released. The duration is an SLA sample of the
   job's class.

A run is *dead* when its owner (``host:pid:nonce``) is on this host and the process is gone, or
when its heartbeat is older than three intervals (another host, or a hung process);
:func:`reap_dead_runs` marks such runs ``failed`` ("the process running it stopped") and frees
their locks. It runs before every attempt and every minute under ``jobs serve``.

Retries follow the job's :class:`~analytics.crm.actions.delivery.RetryPolicy` (the spec's; one
definition for write-back and jobs): after the *n*-th failed attempt whose error is retryable
(:func:`error_reason` in the policy's ``retryable_errors``: HubSpot's 429 / 5xx / timeout /
connection, or ``locked``), the next attempt waits ``policy.delay_s(n)``; after
``max_attempts`` or on a permanent error the run fails with the last error.
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
from pathlib import Path

import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.core.settings import db_path, exports_dir, job_heartbeat_s
from analytics.jobs import sla
from analytics.jobs.catalog import get
from analytics.jobs.registry import Job, JobContext, JobOutcome
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import job_locks, job_results, job_runs

STALE_HEARTBEATS = 3  # a heartbeat older than this many intervals: the run is dead
_NONCE = uuid.uuid4().hex[:8]


class JobBusy(RevLensError):
    """The job is already running (in this or another process)."""


class JobFailed(RevLensError):
    """The job failed (after its retries); the message is its last error."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_NONCE}"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite returns naive UTC datetimes
        return moment.replace(tzinfo=UTC)
    return moment


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_dead(owner: str | None, heartbeat_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether the process ``owner`` (``host:pid:nonce``) that last beat at ``heartbeat_at`` is gone."""
    now = now or utcnow()
    heartbeat_at = _aware(heartbeat_at)
    if heartbeat_at is None or now - heartbeat_at > timedelta(seconds=STALE_HEARTBEATS * job_heartbeat_s()):
        return True
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        return not _pid_alive(int(pid)) or (int(pid) == os.getpid() and not owner.endswith(_NONCE))
    return False


def error_reason(exc: BaseException) -> str | None:
    """The retry reason of an error (one of the policy's ``retryable_errors``), None if permanent."""
    from analytics.crm.hubspot.transport import TransientError
    from analytics.warehouse.connection import WarehouseBusy

    if isinstance(exc, TransientError):
        return exc.reason
    if isinstance(exc, WarehouseBusy):  # an import, a sync or another job is writing the warehouse
        return "locked"
    text = str(exc).lower()
    if isinstance(exc, (sa.exc.OperationalError, RevLensError)) and ("locked" in text or "lock on" in text):
        return "locked"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionError):
        return "connection"
    return None


def _message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, RevLensError) else f"{type(exc).__name__}: {exc}"
    return text.strip()[:2000] or type(exc).__name__


def _mark_dead(conn: sa.Connection, run_id: int, heartbeat_at: datetime | None, now: datetime) -> None:
    beat = _aware(heartbeat_at)
    conn.execute(
        job_runs.update()
        .where(job_runs.c.id == run_id, job_runs.c.status == "running")
        .values(
            status="failed",
            finished_at=now,
            error="The process running it stopped (no heartbeat since "
            + (f"{beat:%Y-%m-%d %H:%M:%S} UTC" if beat else "it started")
            + "); marked failed. Run it again with `python -m analytics jobs run NAME`.",
        )
    )


def reap_dead_runs(engine: sa.Engine, now: datetime | None = None) -> list[int]:
    """Mark every ``running`` run whose process is gone as failed and free its lock; returns their ids."""
    now = now or utcnow()
    reaped = []
    with engine.begin() as conn:
        running = conn.execute(
            sa.select(
                job_runs.c.id, job_runs.c.job, job_runs.c.owner, job_runs.c.heartbeat_at, job_runs.c.started_at
            ).where(job_runs.c.status == "running")
        ).all()
        for row in running:
            if holder_dead(row.owner, row.heartbeat_at or row.started_at, now):
                _mark_dead(conn, row.id, row.heartbeat_at, now)
                conn.execute(job_locks.delete().where(job_locks.c.job == row.job, job_locks.c.run_id == row.id))
                reaped.append(row.id)
        # a lock whose run is no longer running (a crash between the two writes) is free too
        conn.execute(
            job_locks.delete().where(
                ~sa.exists().where(job_runs.c.id == job_locks.c.run_id, job_runs.c.status == "running")
            )
        )
    return reaped


def _acquire(engine: sa.Engine, job: str, run_id: int, owner: str) -> None:
    now = utcnow()
    values = {"job": job, "run_id": run_id, "owner": owner, "acquired_at": now, "heartbeat_at": now}
    try:
        with engine.begin() as conn:
            conn.execute(job_locks.insert().values(**values))
        return
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as conn:
        held = conn.execute(sa.select(job_locks).where(job_locks.c.job == job)).first()
        if held is None:  # released between the two statements: try once more
            conn.execute(job_locks.insert().values(**values))
            return
        if not holder_dead(held.owner, held.heartbeat_at, now):
            host, pid = held.owner.split(":")[:2]
            raise JobBusy(
                f"{job} is already running (run {held.run_id}, started {_aware(held.acquired_at):%Y-%m-%d %H:%M:%S} "
                f"UTC by process {pid} on {host}); wait for it to finish (`python -m analytics jobs history`)."
            )
        taken = conn.execute(
            job_locks.update().where(job_locks.c.job == job, job_locks.c.owner == held.owner).values(**values)
        ).rowcount
        if taken != 1:
            raise JobBusy(f"{job} was just started by another process; see `python -m analytics jobs history`.")
        _mark_dead(conn, held.run_id, held.heartbeat_at, now)


class _Heartbeat(threading.Thread):
    def __init__(self, engine: sa.Engine, run_id: int, job: str, owner: str, interval_s: float):
        super().__init__(name=f"heartbeat-{job}", daemon=True)
        self.engine, self.run_id, self.job, self.owner, self.interval_s = engine, run_id, job, owner, interval_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                now = utcnow()
                with self.engine.begin() as conn:
                    conn.execute(job_runs.update().where(job_runs.c.id == self.run_id).values(heartbeat_at=now))
                    conn.execute(
                        job_locks.update()
                        .where(job_locks.c.job == self.job, job_locks.c.owner == self.owner)
                        .values(heartbeat_at=now)
                    )
            except Exception:  # a busy store: the next beat tries again
                continue


@dataclass
class Attempt:
    run_id: int
    attempt: int
    status: str  # succeeded | failed | refused
    duration_s: float
    outcome: JobOutcome | None = None
    error: str | None = None
    reason: str | None = None


@dataclass
class RunReport:
    job: str
    attempts: list[Attempt] = field(default_factory=list)
    delays_s: list[float] = field(default_factory=list)

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and self.last.status == "succeeded"

    def line(self) -> str:
        last = self.last
        tries = f" after {len(self.attempts)} attempts" if len(self.attempts) > 1 else ""
        if last.status == "succeeded":
            outputs = f"; wrote {', '.join(last.outcome.outputs)}" if last.outcome.outputs else ""
            return f"{self.job} succeeded{tries} in {last.duration_s:.1f} s: {last.outcome.rows:,} rows{outputs}."
        return f"{self.job} {last.status}{tries}: {last.error}"


def attempt_once(
    job: Job,
    params: dict,
    *,
    engine: sa.Engine,
    db: Path,
    exports: Path,
    attempt: int = 1,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> Attempt:
    """One attempt of ``job``: record, lock, heartbeat, run, record the outcome (module docstring)."""
    owner = owner_id()
    started = utcnow()
    with engine.begin() as conn:
        run_id = conn.execute(
            job_runs.insert().values(
                job=job.name,
                detail=job.summary_line[:200],
                parameters=json.dumps(params, default=str, sort_keys=True),
                trigger=trigger,
                attempt=attempt,
                scheduled_for=scheduled_for,
                owner=owner,
                status="running",
                started_at=started,
                heartbeat_at=started,
            )
        ).inserted_primary_key[0]
    try:
        _acquire(engine, job.name, run_id, owner)
    except JobBusy as exc:
        with engine.begin() as conn:
            conn.execute(
                job_runs.update()
                .where(job_runs.c.id == run_id)
                .values(status="refused", finished_at=utcnow(), duration_s=0.0, error=str(exc))
            )
        return Attempt(run_id, attempt, "refused", 0.0, error=str(exc))
    heartbeat = _Heartbeat(engine, run_id, job.name, owner, job_heartbeat_s())
    heartbeat.start()
    clock = time.perf_counter()
    outcome, error, reason = None, None, None
    try:
        exports.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(job.name, db, engine, params, exports, run_id, progress or (lambda message: None))
        outcome = job.run(ctx)
    except Exception as exc:
        error, reason = _message(exc), error_reason(exc)
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    duration_s = time.perf_counter() - clock
    status = "succeeded" if error is None else "failed"
    finished = utcnow()
    with engine.begin() as conn:
        conn.execute(
            job_runs.update()
            .where(job_runs.c.id == run_id)
            .values(
                status=status,
                finished_at=finished,
                duration_s=duration_s,
                heartbeat_at=finished,
                rows=outcome.rows if outcome else None,
                outputs=json.dumps(outcome.outputs if outcome else []),
                error=error,
            )
        )
        if outcome is not None:
            conn.execute(
                job_results.insert().values(
                    run_id=run_id,
                    job=job.name,
                    created_at=finished,
                    summary=json.dumps(outcome.summary, default=str),
                )
            )
        service = sla.SERVICE_OF_CLASS.get(job.sla_class)
        if service:
            sla.record_probe(conn, service, job.name, error is None, error)
        conn.execute(job_locks.delete().where(job_locks.c.job == job.name, job_locks.c.owner == owner))
    sla.record(f"job.{job.name}", job.sla_class, duration_s * 1000.0, "success" if error is None else "error")
    return Attempt(run_id, attempt, status, duration_s, outcome, error, reason)


def run_job(
    name: str,
    params: dict | None = None,
    *,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    db: str | Path | None = None,
    engine: sa.Engine | None = None,
    exports: str | Path | None = None,
    policy=None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> RunReport:
    """Run the job ``name`` with its retry policy (default: the schedule file's for the job).

    ``params``: text values (``--param k=v``) or typed ones. Returns the :class:`RunReport`; it
    raises only for a user error before anything runs (unknown job or parameter).
    """
    job = get(name)
    values = job.parse_params(params)
    engine = engine or ops_engine()
    if policy is None:
        from analytics.jobs.schedule import load_schedule

        policy = load_schedule().policy(name)
    db = Path(db or db_path())
    exports = Path(exports or exports_dir())
    report = RunReport(name)
    attempt = 1
    while True:
        reap_dead_runs(engine)
        result = attempt_once(
            job,
            values,
            engine=engine,
            db=db,
            exports=exports,
            attempt=attempt,
            trigger=trigger if attempt == 1 else "retry",
            scheduled_for=scheduled_for,
            progress=progress,
        )
        report.attempts.append(result)
        if result.status != "failed" or attempt >= policy.max_attempts:
            return report
        if result.reason is None or result.reason not in policy.retryable_errors:
            return report
        delay = policy.delay_s(attempt)
        report.delays_s.append(delay)
        if progress:
            progress(f"attempt {attempt} failed ({result.reason}); retrying in {delay:g} s")
        sleep(delay)
        attempt += 1


def history(engine: sa.Engine, job: str | None = None, limit: int = 100) -> list[dict]:
    """The latest runs (newest first): the fields of ``jobs history --format json``."""
    query = sa.select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    if job:
        query = query.where(job_runs.c.job == job)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        {
            "id": row["id"],
            "job": row["job"],
            "started_at": _iso(row["started_at"]),
            "finished_at": _iso(row["finished_at"]),
            "status": row["status"],
            "rows": row["rows"],
            "outputs": json.loads(row["outputs"]) if row["outputs"] else [],
            "error": row["error"],
            "duration_s": row["duration_s"],
            "trigger": row["trigger"],
            "attempt": row["attempt"],
            "parameters": json.loads(row["parameters"]) if row["parameters"] else {},
        }
        for row in rows
    ]


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat(timespec="seconds") if moment else None


def last_results(engine: sa.Engine, job: str) -> dict | None:
    """The figures the job's last successful run stored, with ``run_id`` and ``created_at``."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(job_results).where(job_results.c.job == job).order_by(job_results.c.id.desc()).limit(1)
        ).first()
    if row is None:
        return None
    return {"run_id": row.run_id, "created_at": _aware(row.created_at), "summary": json.loads(row.summary)}
