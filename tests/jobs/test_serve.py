"""``jobs serve``: catch-up at start (real runs), the APScheduler schedule with next runs, the Prometheus endpoint."""

from __future__ import annotations

import threading
import time
import urllib.request
from datetime import timedelta

import sqlalchemy as sa

from analytics.jobs.schedule import load_schedule
from analytics.jobs.serve import serve
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import job_runs
from tests.e2e.browser import free_port


def test_serve_catches_up_schedules_and_exports_metrics(demo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("REVLENS_EXPORTS", str(tmp_path / "exports"))
    path = tmp_path / "schedule.toml"
    path.write_text('timezone = "Europe/Berlin"\n[jobs]\nroi_calculations = "0 3 * * sun"\n')
    schedule = load_schedule(path)
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    three_weeks = utcnow() - timedelta(days=21)
    with engine.begin() as conn:
        conn.execute(
            job_runs.insert().values(
                job="roi_calculations",
                status="succeeded",
                trigger="schedule",
                scheduled_for=three_weeks,
                started_at=three_weeks,
                finished_at=three_weeks,
            )
        )
    port = free_port()
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=(schedule, engine, demo_db), kwargs={"metrics_port": port, "stop": stop, "log": lines.append}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not any("next run" in line for line in lines):
            assert thread.is_alive() and time.monotonic() < deadline, lines
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
    finally:
        stop.set()
        thread.join(30)
    caught = next(line for line in lines if line.startswith("roi_calculations:"))
    assert "scheduled runs missed since" in caught and "caught up once (roi_calculations succeeded" in caught
    missed = int(caught.split(": ")[1].split()[0])
    assert missed in (3, 4)  # Sundays in the last 21 days, by the clock
    assert any(line.startswith("roi_calculations: next run") and "CET" in line for line in lines)
    # the spec's histogram, with the catch-up run's sample in it
    assert "# TYPE integration_operation_duration histogram" in metrics
    assert 'integration_operation_duration_count{operation="job.roi_calculations"' in metrics
    with engine.connect() as conn:
        triggers = conn.execute(sa.select(job_runs.c.trigger).order_by(job_runs.c.id)).scalars().all()
    assert triggers == ["schedule", "catch_up"]


def test_a_failing_job_never_reaches_the_scheduler(tmp_path):
    from analytics.jobs.serve import _fire

    path = tmp_path / "schedule.toml"
    path.write_text('[jobs]\nfinancial_data_export = "0 6 * * *"\n')
    entry = load_schedule(path).entries[0]
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    lines: list[str] = []
    _fire(entry, engine, tmp_path / "missing.duckdb", tmp_path, lines.append)  # raises nothing
    assert len(lines) == 1
    assert "No warehouse at" in lines[0]
    with engine.connect() as conn:
        runs = conn.execute(sa.select(job_runs.c.trigger, job_runs.c.status, job_runs.c.scheduled_for)).all()
    assert [(t, s) for t, s, _ in runs] == [("schedule", "failed")] and runs[0][2] is not None
