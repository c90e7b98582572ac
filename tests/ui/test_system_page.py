"""Operations → System: schedule with next runs, run history with a retry, the SLA board, freshness, outboxes."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from analytics.core.labels import label
from analytics.crm.actions.delivery import RetryPolicy
from analytics.jobs import sla
from analytics.jobs.runner import run_job
from analytics.ops.store import ops_engine
from analytics.ops.tables import event_outbox, job_runs
from analytics.warehouse.schema import TABLES

ONCE = RetryPolicy(max_attempts=1)


def frame(at, key: str):
    (table,) = at.get_by_key(key).dataframe
    return table.value


def _open(app_test, path="pages/operations/system.py"):
    at = app_test()
    at.run()
    at.switch_page(path).run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_system_page_shows_schedule_runs_sla_freshness_and_outboxes(app_test, demo_db, tmp_path, monkeypatch):
    at = app_test()  # sets REVLENS_OPS_URL to a tmp store
    import os

    engine = ops_engine(os.environ["REVLENS_OPS_URL"])
    assert run_job("roi_calculations", policy=ONCE, engine=engine, db=demo_db).succeeded
    failed = run_job(
        "financial_data_export", {"period": "2026-Q2"}, policy=ONCE, engine=engine, db=tmp_path / "no.duckdb"
    )
    assert failed.last.status == "failed"
    sla.write_samples(engine, [sla.Sample("page.roi", "real_time_operations", 900.0, "success", datetime.now(UTC))])
    at.run()
    at.switch_page("pages/operations/system.py").run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert any("SLA violations in the last 24 hours" in w.value for w in at.warning)
    assert any("failed in the last 24 hours (Financial data export)" in e.value for e in at.error)
    schedule = frame(at, "system_schedule")
    row = schedule.set_index("job").loc["ROI calculations"]
    assert row["schedule"] == "0 3 * * sun" and row["last_status"] == "Succeeded"
    runs = frame(at, "system_runs")
    assert set(runs["status"]) == {"Succeeded", "Failed"}
    classes = frame(at, "system_sla_classes").set_index("sla_class")
    assert classes.loc["Real-time operations", "violations"] == 1
    fresh = frame(at, "system_freshness")
    assert fresh["table"].tolist() == [label("table", t) for t in TABLES]  # labels, not table names
    # the retry button reruns the failed job with its parameters (in the background, under the lock)
    at.selectbox(key="system_retry_pick").select(failed.last.run_id).run()
    at.button(key="system_retry").click().run(timeout=120)
    assert not at.exception
    with engine.connect() as conn:
        reruns = (
            conn.execute(
                sa.select(job_runs.c.parameters)
                .where(job_runs.c.job == "financial_data_export")
                .order_by(job_runs.c.id)
            )
            .scalars()
            .all()
        )
    # the background attempt may still be running; at least it was recorded with the same parameters
    deadline = datetime.now(UTC).timestamp() + 60
    while len(reruns) < 2 and datetime.now(UTC).timestamp() < deadline:
        with engine.connect() as conn:
            reruns = (
                conn.execute(
                    sa.select(job_runs.c.parameters)
                    .where(job_runs.c.job == "financial_data_export")
                    .order_by(job_runs.c.id)
                )
                .scalars()
                .all()
            )
    assert len(reruns) == 2 and reruns[0] == reruns[1]


def test_health_page_is_read_only(app_test):
    import os

    at = _open(app_test, "pages/customer_success/health.py")
    engine = ops_engine(os.environ["REVLENS_OPS_URL"])
    sla.recorder.flush(engine)  # the page's own SLA sample (and a violation event, if it was slow) is allowed
    with engine.connect() as conn:
        kinds = conn.execute(sa.select(event_outbox.c.event_type)).scalars().all()
    assert "health.band_changed" not in kinds and set(kinds) <= {"sla.violation"}
    assert at is not None


def test_roi_and_attribution_pages_show_the_last_scheduled_run(app_test, demo_db):
    import os

    at = app_test()
    engine = ops_engine(os.environ["REVLENS_OPS_URL"])
    assert run_job("roi_calculations", {"period": "2026-Q3"}, policy=ONCE, engine=engine, db=demo_db).succeeded
    assert run_job("attribution_modeling", policy=ONCE, engine=engine, db=demo_db).succeeded
    at.run()
    at.switch_page("pages/finance/roi.py").run(timeout=120)
    assert any(
        "Scheduled ROI calculations last ran" in c.value and "2026-Q3 under Linear" in c.value for c in at.caption
    )
    at.switch_page("pages/marketing/attribution.py").run(timeout=120)
    assert any(
        "Scheduled Attribution modeling last ran" in c.value and "10 conserve credit" in c.value for c in at.caption
    )
