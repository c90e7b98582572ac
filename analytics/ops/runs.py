"""Job-run bookkeeping in the ops store: a row per run of a job, with its outcome."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa

from analytics.ops.store import utcnow
from analytics.ops.tables import job_runs


def start_job(engine: sa.Engine, job: str, detail: str = "") -> int:
    with engine.begin() as conn:
        return conn.execute(
            job_runs.insert().values(job=job, detail=detail, status="running", started_at=utcnow())
        ).inserted_primary_key[0]


def finish_job(engine: sa.Engine, job_id: int, error: str | None = None) -> None:
    with engine.begin() as conn:
        started = conn.execute(sa.select(job_runs.c.started_at).where(job_runs.c.id == job_id)).scalar_one()
        finished = utcnow()
        if started.tzinfo is None:  # SQLite returns naive datetimes
            started = started.replace(tzinfo=UTC)
        conn.execute(
            job_runs.update()
            .where(job_runs.c.id == job_id)
            .values(
                status="failed" if error else "succeeded",
                finished_at=finished,
                duration_s=(finished - started).total_seconds(),
                error=error,
            )
        )
