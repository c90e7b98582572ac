"""The runner: one run at a time across processes, dead runs detected, retries by the policy, records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from analytics.core.errors import RevLensError
from analytics.crm.actions.delivery import RetryPolicy
from analytics.jobs.runner import holder_dead, reap_dead_runs, run_job
from analytics.ops.store import ops_engine, utcnow
from analytics.ops.tables import job_locks, job_runs
from tests.jobs import helpers  # noqa: F401 (registers the test jobs)
from tests.paths import ROOT

ONCE = RetryPolicy(max_attempts=1)

CHILD = """
import sys
sys.path.insert(0, {root!r})
import tests.jobs.helpers
from analytics.crm.actions.delivery import RetryPolicy
from analytics.jobs.runner import run_job
report = run_job("_test_block", {{"flag": {flag!r}}}, policy=RetryPolicy(max_attempts=1), db={db!r}, exports={exports!r})
print(report.line())
"""


@pytest.fixture()
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    monkeypatch.setenv("REVLENS_OPS_URL", url)
    monkeypatch.setenv("REVLENS_EXPORTS", str(tmp_path / "exports"))
    return ops_engine(url)


def _wait_for(path, timeout_s=60.0, proc=None):
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child exited early: {proc.stdout.read()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def _child(tmp_path, env_url):
    code = CHILD.format(root=str(ROOT), flag=str(tmp_path), db=str(tmp_path / "none.duckdb"), exports=str(tmp_path))
    env = {**os.environ, "REVLENS_OPS_URL": env_url}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _runs(engine, job):
    with engine.connect() as conn:
        return conn.execute(sa.select(job_runs).where(job_runs.c.job == job).order_by(job_runs.c.id)).mappings().all()


def test_second_concurrent_run_in_another_process_is_refused(store, tmp_path):
    child = _child(tmp_path, str(store.url))
    try:
        _wait_for(tmp_path / "started", proc=child)
        report = run_job("_test_block", {"flag": str(tmp_path)}, policy=ONCE, engine=store, db=tmp_path / "x")
        assert report.last.status == "refused"
        assert "_test_block is already running" in report.last.error and f"process {child.pid}" in report.last.error
        (tmp_path / "release").write_text("go")
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0 and "succeeded" in out
    statuses = [r["status"] for r in _runs(store, "_test_block")]
    assert statuses == ["succeeded", "refused"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(job_locks)).scalar() == 0  # released


def test_killed_run_is_detected_marked_failed_and_its_lock_freed(store, tmp_path):
    child = _child(tmp_path, str(store.url))
    _wait_for(tmp_path / "started", proc=child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    [run] = _runs(store, "_test_block")
    assert run["status"] == "running"  # what the dead process left behind
    assert reap_dead_runs(store) == [run["id"]]
    [run] = _runs(store, "_test_block")
    assert run["status"] == "failed" and "process running it stopped" in run["error"]
    # the lock is free again: the next run goes through
    (tmp_path / "release").write_text("go")
    assert run_job("_test_block", {"flag": str(tmp_path)}, policy=ONCE, engine=store).succeeded


def test_stale_heartbeat_from_another_host_is_dead_a_fresh_one_is_not(store):
    now = utcnow()
    old, fresh = now - timedelta(minutes=10), now - timedelta(seconds=2)
    with store.begin() as conn:
        ids = []
        for job, beat in (("roi_calculations", old), ("attribution_modeling", fresh)):
            run_id = conn.execute(
                job_runs.insert().values(
                    job=job, status="running", started_at=beat, heartbeat_at=beat, owner="elsewhere:4242:abcd"
                )
            ).inserted_primary_key[0]
            conn.execute(
                job_locks.insert().values(
                    job=job, run_id=run_id, owner="elsewhere:4242:abcd", acquired_at=beat, heartbeat_at=beat
                )
            )
            ids.append(run_id)
    assert holder_dead("elsewhere:4242:abcd", old, now) and not holder_dead("elsewhere:4242:abcd", fresh, now)
    assert reap_dead_runs(store, now) == [ids[0]]
    with store.connect() as conn:
        assert conn.execute(sa.select(job_locks.c.job)).scalars().all() == ["attribution_modeling"]
    # the live holder refuses a second run
    report = run_job("attribution_modeling", policy=ONCE, engine=store)
    assert report.last.status == "refused" and "on elsewhere" in report.last.error


def test_retries_follow_the_policy_with_an_injected_failure(store):
    delays: list[float] = []
    policy = RetryPolicy(
        max_attempts=4, backoff_strategy="exponential", base_delay_ms=100, max_delay_ms=250, retryable_errors=("5xx",)
    )
    report = run_job("_test_flaky", {"key": "a", "fail_times": "3"}, policy=policy, engine=store, sleep=delays.append)
    assert report.succeeded and len(report.attempts) == 4
    assert delays == [0.1, 0.2, 0.25]  # min(max, base * 2^(n-1)): 100, 200, 400 -> 250 ms
    runs = _runs(store, "_test_flaky")
    assert [(r["attempt"], r["trigger"], r["status"]) for r in runs] == [
        (1, "manual", "failed"),
        (2, "retry", "failed"),
        (3, "retry", "failed"),
        (4, "retry", "succeeded"),
    ]
    assert "HubSpot answered 503" in runs[0]["error"] and runs[-1]["rows"] == 4
    assert json.loads(runs[0]["parameters"]) == {"fail_times": 3, "key": "a", "permanent": False}


def test_retries_stop_at_max_attempts_and_on_a_permanent_error(store):
    delays: list[float] = []
    linear = RetryPolicy(max_attempts=3, backoff_strategy="linear", base_delay_ms=50, max_delay_ms=1000)
    report = run_job("_test_flaky", {"key": "b", "fail_times": "9"}, policy=linear, engine=store, sleep=delays.append)
    assert not report.succeeded and len(report.attempts) == 3 and delays == [0.05, 0.1]
    delays.clear()
    report = run_job("_test_flaky", {"key": "c", "permanent": "true"}, policy=linear, engine=store, sleep=delays.append)
    assert len(report.attempts) == 1 and delays == [] and "ValueError: bad input in row 3" in report.last.error
    # a 5xx that the policy does not list is not retried either
    only_timeouts = RetryPolicy(max_attempts=3, retryable_errors=("timeout",))
    report = run_job(
        "_test_flaky", {"key": "d", "fail_times": "1"}, policy=only_timeouts, engine=store, sleep=delays.append
    )
    assert len(report.attempts) == 1 and delays == []


def test_unknown_job_and_parameter_are_clear_errors(store):
    with pytest.raises(RevLensError, match="Unknown sync job type: nightly_magic"):
        run_job("nightly_magic", engine=store)
    with pytest.raises(
        RevLensError, match="roi_calculations has no parameter 'colour'; its parameters are: period, model"
    ):
        run_job("roi_calculations", {"colour": "red"}, engine=store)
    with pytest.raises(RevLensError, match="fail_times='many' of _test_flaky is not a whole number"):
        run_job("_test_flaky", {"fail_times": "many"}, engine=store)


def test_a_failed_run_is_recorded_with_its_error_and_counts_against_availability(store, tmp_path):
    report = run_job("financial_data_export", policy=ONCE, engine=store, db=tmp_path / "missing.duckdb")
    assert report.last.status == "failed" and "No warehouse at" in report.last.error
    from analytics.jobs.sla import board

    reporting = next(a for a in board(store)["availability"] if a["service"] == "reporting_services")
    assert reporting["checks"] == 1 and reporting["failed"] == 1 and reporting["met"] is False


def test_a_job_waits_out_a_writer_through_its_retry_policy(store, demo_db, tmp_path):
    import shutil

    from analytics.warehouse.connection import writing

    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    writer = writing(db, purpose="an import of costs.csv")
    writer.__enter__()  # an import holds the warehouse

    def wait_for_the_writer(delay_s):
        writer.__exit__(None, None, None)  # ... and commits while the job waits

    policy = RetryPolicy(max_attempts=2, base_delay_ms=10, max_delay_ms=10, retryable_errors=("locked",))
    report = run_job("roi_calculations", policy=policy, engine=store, db=db, sleep=wait_for_the_writer)
    assert [a.status for a in report.attempts] == ["failed", "succeeded"]
    assert "being written by an import of costs.csv" in report.attempts[0].error
    assert report.attempts[0].reason == "locked"
