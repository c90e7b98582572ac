"""The job lock and dead-run detection on a real PostgreSQL ops store (the throwaway cluster of tests/ops)."""

from __future__ import annotations

import os
import signal

from analytics.jobs.runner import reap_dead_runs, run_job
from analytics.ops.store import ops_engine
from tests.jobs.test_runner import ONCE, _child, _runs, _wait_for
from tests.ops.test_ops_postgres import pg, postgres_url  # noqa: F401 (fixtures)


def test_lock_refuses_a_second_process_and_a_killed_run_is_reaped_on_postgres(pg, postgres_url, tmp_path):  # noqa: F811
    engine = ops_engine(postgres_url)
    first = tmp_path / "first"
    first.mkdir()
    child = _child(first, postgres_url)
    try:
        _wait_for(first / "started", proc=child)
        refused = run_job("_test_block", {"flag": str(first)}, policy=ONCE, engine=engine)
        assert refused.last.status == "refused" and f"process {child.pid}" in refused.last.error
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    [dead] = [r["id"] for r in _runs(engine, "_test_block") if r["status"] == "running"]
    assert reap_dead_runs(engine) == [dead]
    (first / "release").write_text("go")
    assert run_job("_test_block", {"flag": str(first)}, policy=ONCE, engine=engine).succeeded
    assert [r["status"] for r in _runs(engine, "_test_block")] == ["failed", "refused", "succeeded"]
