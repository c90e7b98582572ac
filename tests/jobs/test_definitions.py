"""Every job of the spec's schedule runs on the demo warehouse and stores what its docstring says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from analytics.crm.actions.delivery import RetryPolicy
from analytics.jobs.catalog import all_jobs
from analytics.jobs.runner import last_results, run_job
from analytics.ops.store import ops_engine
from analytics.ops.tables import accuracy_checks, event_outbox, health_bands
from tests.fakes.hubspot_server import HubSpotServer, seed_contacts
from tests.paths import ROOT

ONCE = RetryPolicy(max_attempts=1)
TOKEN = "pat-jobs-token"
WAREHOUSE_JOBS = [name for name in all_jobs() if not name.startswith("_") and name != "crm_contact_sync"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jobs")
    return ops_engine(f"sqlite:///{folder / 'ops.sqlite'}"), folder / "exports"


def _accuracy(engine, target):
    with engine.connect() as conn:
        return conn.execute(
            sa.select(accuracy_checks.c.matched, accuracy_checks.c.total).where(accuracy_checks.c.target == target)
        ).all()


@pytest.mark.parametrize("name", WAREHOUSE_JOBS)
def test_every_job_runs_on_the_demo_warehouse(name, demo_db, store):
    engine, exports = store
    report = run_job(name, policy=ONCE, engine=engine, db=demo_db, exports=exports)
    assert report.succeeded, report.line()
    stored = last_results(engine, name)
    assert stored["run_id"] == report.last.run_id and stored["summary"]
    for path in report.last.outcome.outputs:
        assert os.path.getsize(path) > 0


def test_the_jobs_figures(demo_db, store):
    engine, exports = store
    finance = run_job(
        "financial_data_export", {"period": "2026-Q2"}, policy=ONCE, engine=engine, db=demo_db, exports=exports
    )
    [path] = finance.last.outcome.outputs
    assert path.endswith("finance_2026-Q2_linear.xlsx")
    assert {"Summary", "By channel", "By campaign", "Budget", "Assumptions"} <= set(load_workbook(path).sheetnames)
    attribution = run_job("attribution_modeling", policy=ONCE, engine=engine, db=demo_db)
    summary = last_results(engine, "attribution_modeling")["summary"]
    assert all(m["conserved"] for m in summary["conservation"]) and summary["won_deals"] > 0
    assert _accuracy(engine, "attribution_calculation")[-1] == (len(summary["conservation"]),) * 2
    assert attribution.last.outcome.rows == len(summary["by_channel"]) + len(summary["by_campaign"])
    run_job("roi_calculations", policy=ONCE, engine=engine, db=demo_db)
    matched, total = _accuracy(engine, "roi_calculation")[-1]
    assert matched == total > 0
    report = run_job("executive_reporting", policy=ONCE, engine=engine, db=demo_db, exports=exports)
    html = open(report.last.outcome.outputs[0], encoding="utf-8").read()
    # self-contained: plotly.js inline exactly once, nothing loaded from elsewhere
    assert html.count("<script") >= 4 and "<script src=" not in html and "<link" not in html
    assert html.count("plotly.js v") == 1
    budget = run_job("budget_optimization_analysis", policy=ONCE, engine=engine, db=demo_db)
    advice = last_results(engine, "budget_optimization_analysis")["summary"]
    # the same total, reallocated: the optimized split sums to the current one (to the cent)
    current, optimized = advice["advice"]["current_allocation"], advice["advice"]["optimized_allocation"]
    assert budget.succeeded and abs(sum(current.values()) - sum(optimized.values())) < 0.011
    assert advice["advice"]["expected_improvement"]["value"] >= 0
    assert "Recommendation:</b> move the same" in html
    assert last_results(engine, "executive_reporting")["summary"]["sections"] == [
        "KPIs",
        "Attribution",
        "ROI",
        "Customer health",
        "Budget recommendation",
    ]


def test_health_score_update_publishes_band_changes(demo_db, tmp_path):
    from analytics.customers.config import SPEC_CONFIG, save_config

    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    first = run_job("health_score_update", policy=ONCE, engine=engine, db=demo_db)
    assert first.succeeded and last_results(engine, "health_score_update")["summary"]["band_changes"] == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(health_bands)).scalar() == first.last.outcome.rows
    # stricter bands: accounts move, and the job (not the page) says so on customer-health
    with engine.begin() as conn:
        save_config(conn, SPEC_CONFIG.__class__(**{**SPEC_CONFIG.__dict__, "healthy_min": 95.0}), "ops")
    second = run_job("health_score_update", policy=ONCE, engine=engine, db=demo_db)
    changes = last_results(engine, "health_score_update")["summary"]["band_changes"]
    assert second.succeeded and changes > 0
    with engine.connect() as conn:
        events = (
            conn.execute(sa.select(event_outbox.c.topic).where(event_outbox.c.event_type == "health.band_changed"))
            .scalars()
            .all()
        )
    assert events == ["customer-health"] * changes


def test_crm_contact_sync_pulls_and_reconciles(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    engine = ops_engine(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    no_token = run_job("crm_contact_sync", policy=ONCE, engine=engine, db=db)
    assert no_token.last.status == "failed" and "set HUBSPOT_ACCESS_TOKEN" in no_token.last.error
    with HubSpotServer(TOKEN) as server:
        seed_contacts(server, 25)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_API_BASE", server.base_url)
        report = run_job("crm_contact_sync", policy=ONCE, engine=engine, db=db)
    assert report.succeeded, report.line()
    assert report.last.outcome.rows == 25
    assert _accuracy(engine, "data_synchronization") == [(25.0, 25.0)]


def _cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env
    )


def test_jobs_cli_list_run_history(demo_db, tmp_path):
    env = {**os.environ, "REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}", "REVLENS_DB": demo_db}
    env["REVLENS_EXPORTS"] = str(tmp_path / "exports")
    listed = json.loads(_cli("jobs", "list", "--format", "json", env=env).stdout)
    assert all(set(row) == {"name", "schedule", "next_run"} for row in listed)
    assert {row["name"]: row["schedule"] for row in listed}["roi_calculations"] == "0 3 * * sun"
    ran = _cli("jobs", "run", "roi_calculations", "--param", "period=2026-Q2", env=env)
    assert ran.returncode == 0 and "roi_calculations succeeded" in ran.stdout
    unknown = _cli("jobs", "run", "nightly_magic", env=env)
    assert unknown.returncode == 2 and "Unknown sync job type: nightly_magic" in unknown.stderr
    [run] = json.loads(_cli("jobs", "history", "--format", "json", env=env).stdout)
    assert set(run) == {"job", "started_at", "finished_at", "status", "rows", "outputs", "error"}
    assert run["job"] == "roi_calculations" and run["status"] == "succeeded" and run["rows"] > 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[jobs]\nroi_calculations = "0 3 * * sunday-ish"\n')
    broken = _cli("jobs", "list", "--schedule", str(bad), env=env)
    assert broken.returncode == 2 and f"{bad}, line 2: the cron expression" in broken.stderr
