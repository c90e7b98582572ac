"""``jobs serve``: the schedule run by APScheduler, with catch-up, probes and Prometheus metrics.

At start, :func:`catch_up` looks at each scheduled job's last scheduled run (``job_runs`` with
trigger ``schedule`` or ``catch_up``): if one or more fire times passed since then while nothing
was running, the job runs **once** (trigger ``catch_up``, standing for the latest missed time)
and the count is reported. A job that never ran on a schedule has nothing to catch up.

Then a ``BackgroundScheduler`` (APScheduler 3, the schedule's time zone) fires each job on its
cron trigger; each fire runs :func:`analytics.jobs.runner.run_job` in a worker thread (one
instance per job, late fires coalesced). A job's failure is recorded with its error and retried
as its policy says; it never reaches the scheduler. Every minute the scheduler also reaps dead
runs, probes the api endpoints (availability) and flushes the SLA samples. While it runs, the
Prometheus endpoint (``REVLENS_METRICS_PORT``, default 9464) serves
``integration_operation_duration`` and the process metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from analytics.jobs import sla
from analytics.jobs.runner import reap_dead_runs, run_job
from analytics.jobs.schedule import Schedule
from analytics.ops.store import utcnow
from analytics.ops.tables import job_runs


@dataclass(frozen=True)
class CatchUp:
    job: str
    missed: int
    since: datetime
    ran: str  # the run's line, or why it did not run

    def line(self) -> str:
        return f"{self.job}: {self.missed} scheduled runs missed since {self.since:%Y-%m-%d %H:%M %Z}; caught up once ({self.ran})"


def last_scheduled(engine: sa.Engine, job: str) -> datetime | None:
    with engine.connect() as conn:
        moment = conn.execute(
            sa.select(sa.func.max(sa.func.coalesce(job_runs.c.scheduled_for, job_runs.c.started_at))).where(
                job_runs.c.job == job, job_runs.c.trigger.in_(("schedule", "catch_up"))
            )
        ).scalar()
    if moment is not None and moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment


def catch_up(
    schedule: Schedule,
    engine: sa.Engine,
    now: datetime | None = None,
    run: Callable = run_job,
    **run_kwargs,
) -> list[CatchUp]:
    """Run once every job whose scheduled runs were missed since its last one; returns what was done."""
    now = now or utcnow()
    done = []
    for entry in schedule.entries:
        since = last_scheduled(engine, entry.job)
        if since is None:
            continue
        missed = entry.fire_times(since, now)
        if not missed:
            continue
        try:
            report = run(entry.job, trigger="catch_up", scheduled_for=missed[-1], engine=engine, **run_kwargs)
            ran = report.line() if hasattr(report, "line") else str(report)
        except Exception as exc:  # a user error (bad parameters): reported, the others still run
            ran = f"not run: {exc}"
        done.append(CatchUp(entry.job, len(missed), since, ran))
    return done


def _fire(entry, engine: sa.Engine, db: Path | None, exports: Path | None, log: Callable[[str], None]) -> None:
    scheduled_for = entry.last_fire_time(utcnow())
    try:
        report = run_job(
            entry.job, trigger="schedule", scheduled_for=scheduled_for, engine=engine, db=db, exports=exports
        )
        log(report.line())
    except Exception as exc:  # never let a job stop the scheduler
        log(f"{entry.job} could not run: {exc}")


def _maintain(engine: sa.Engine, db: Path, log: Callable[[str], None]) -> None:
    try:
        for run_id in reap_dead_runs(engine):
            log(f"run {run_id} had no heartbeat; marked failed")
        sla.probe(engine, db)
        sla.recorder.flush(engine)
    except Exception as exc:
        log(f"maintenance failed: {exc}")


def start_scheduler(
    schedule: Schedule,
    engine: sa.Engine,
    db: Path,
    exports: Path | None = None,
    log: Callable[[str], None] = print,
):
    """A started APScheduler ``BackgroundScheduler`` with every entry and the minute's maintenance."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        timezone=schedule.timezone, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    )
    for entry in schedule.entries:
        scheduler.add_job(_fire, entry.trigger(), args=(entry, engine, db, exports, log), id=entry.job, name=entry.job)
    scheduler.add_job(
        _maintain, "interval", seconds=60, args=(engine, db, log), id="_maintenance", next_run_time=utcnow()
    )
    scheduler.start()
    return scheduler


def serve(
    schedule: Schedule,
    engine: sa.Engine,
    db: Path,
    exports: Path | None = None,
    metrics_port: int = 0,
    stop: threading.Event | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Catch up, then run the schedule until ``stop`` is set (or the process is interrupted)."""
    sla.enable_prometheus()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
        log(f"Prometheus metrics on http://127.0.0.1:{metrics_port}/metrics")
    for run_id in reap_dead_runs(engine):
        log(f"run {run_id} had no heartbeat; marked failed")
    caught = catch_up(schedule, engine, db=db, exports=exports)
    log(f"Caught up {len(caught)} jobs with missed runs ({sum(c.missed for c in caught)} fire times missed).")
    for item in caught:
        log(item.line())
    scheduler = start_scheduler(schedule, engine, db, exports, log)
    for job in scheduler.get_jobs():
        if not job.id.startswith("_"):
            log(f"{job.id}: next run {job.next_run_time:%Y-%m-%d %H:%M %Z}")
    stop = stop or threading.Event()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        sla.recorder.flush(engine)
