"""``python -m analytics leads score|model|assign|funnel``: the named columns and fields, one-sentence errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import sqlalchemy as sa

from tests.paths import ROOT


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analytics", "leads", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_score_writes_both_scores_per_lead(demo_db):
    result = run("score", "--db", demo_db, "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["contact_id", "rule_score", "predictive_score", "grade", "tier", "reasons"]
    assert len(rows) == 3000
    assert {r["tier"] for r in rows} <= {"sql", "mql", "nurture"}
    assert all(0 <= float(r["rule_score"]) <= 100 for r in rows)
    as_json = json.loads(run("score", "--db", demo_db, "--format", "json", "--from", "2026-10-01").stdout)
    assert as_json and set(as_json[0]) == {"contact_id", "rule_score", "predictive_score", "grade", "tier", "reasons"}


def test_model_prints_the_card_with_the_holdout_window(demo_db):
    result = run("model", "--db", demo_db, "--format", "json")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    for field in ("holdout_from", "holdout_to", "auc_predictive", "auc_rules", "brier_predictive", "bands", "mode"):
        assert field in card
    assert card["holdout_from"] < card["holdout_to"]
    assert card["mode"] == "calibrated_rules"  # the small demo has fewer than 120 conversions to learn from


def test_assign_replays_and_routes_live_with_an_audit(demo_db, tmp_path):
    env = {"REVLENS_OPS_URL": f"sqlite:///{tmp_path / 'ops.sqlite'}"}
    replay = run("assign", "--db", demo_db, "--replay", "2026-07-01:2026-08-31", "--format", "json", env=env)
    assert replay.returncode == 0, replay.stderr
    rows = json.loads(replay.stdout)
    assert rows and set(rows[0]) == {"contact_id", "rep_id", "rule", "skipped"}
    assert isinstance(rows[0]["skipped"], dict)
    assert "predicted SLA breaches" in replay.stderr
    live = run("assign", "--db", demo_db, "--format", "json", env=env)
    assert live.returncode == 0, live.stderr
    decisions = json.loads(live.stdout)
    engine = sa.create_engine(env["REVLENS_OPS_URL"])
    with engine.connect() as conn:
        audited = conn.execute(sa.text("select count(*) from routing_audit")).scalar_one()
    assert audited == len(decisions) > 0


def test_funnel_prints_stages_timing_cohorts_curve_and_velocity(demo_db):
    result = run("funnel", "--db", demo_db, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [s["stage"] for s in data["stages"]] == ["lead", "mql", "sql", "opportunity", "won"]
    assert set(data) == {"stages", "timing", "cohorts", "time_to_convert", "velocity"}
    assert data["velocity"]["per_day"] > 0


def test_bad_input_is_one_sentence(demo_db, tmp_path):
    bad = tmp_path / "rules.txt"
    bad.write_text((ROOT / "data" / "lead_rules.txt").read_text().replace("+15 segment is", "+15 segmnt is"))
    result = run("score", "--db", demo_db, "--rules", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Line 7 of" in result.stderr and "unknown field 'segmnt'" in result.stderr
    result = run("assign", "--db", demo_db, "--replay", "2026-09-01")
    assert result.returncode == 2 and "is not FROM:TO" in result.stderr
    nobody = tmp_path / "routing.toml"
    nobody.write_text("capacity_scale = 0.0\n")
    result = run("assign", "--db", demo_db, "--replay", "2026-07-01:2026-07-31", "--routing", str(nobody))
    assert result.returncode == 2 and "No rep can ever receive a lead" in result.stderr
