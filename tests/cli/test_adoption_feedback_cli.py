"""``adoption`` and ``feedback`` on the command line: exactly the fields named, notes on stderr, clear errors."""

from __future__ import annotations

import csv
import io
import json


def test_adoption_csv_and_json(cli, tmp_path):
    result = cli("adoption", "--as-of", "2026-09-30", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == (
        "account_id",
        "feature_id",
        "adoption_rate",
        "usage_velocity",
        "success_rate",
        "milestone",
    )
    assert {r["milestone"] for r in rows} <= {"", "adoption_success", "adoption_nudge", "advanced_feature"}
    assert {r["feature_id"] for r in rows} >= {"F00", "F01"}  # the catalog's ids
    assert "usage events name accounts the warehouse does not have" in result.stderr
    as_json = json.loads(cli("adoption", "--as-of", "2026-09-30", "--format", "json").stdout)
    assert len(as_json) == len(rows) and set(as_json[0]) == set(rows[0])
    assert not (tmp_path / "ops.sqlite").exists()  # the CLI reads a saved configuration, never creates a store


def test_adoption_refuses_a_date_outside_the_data(cli):
    result = cli("adoption", "--as-of", "2031-01-01")
    assert result.returncode == 2 and "outside the usage data" in result.stderr and "Traceback" not in result.stderr
    result = cli("adoption", "--as-of", "soon")
    assert result.returncode == 2 and "is not a date" in result.stderr


def test_feedback_json(cli, tmp_path):
    result = cli("feedback", "--format", "json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"nps", "nps_by", "themes", "case_studies", "pain_points", "feature_requests"}
    assert -100 <= out["nps"] <= 100
    assert set(out["nps_by"]) == {"month", "segment", "plan"}
    assert set(out["case_studies"][0]) == {"feedback_id", "account_id", "score", "sentiment", "quote"}
    assert all(c["score"] >= 8 and c["sentiment"] >= 0.05 for c in out["case_studies"])
    assert {t["theme"] for t in out["themes"]} >= {"Exports", "Support"}
    assert "Exports" in [t["theme"] for t in out["themes"] if t["rising"]]  # the demo's planted rise
    result = cli("feedback", "--rise-points", "100")
    assert result.returncode == 0 and not any(t["rising"] for t in json.loads(result.stdout)["themes"])
    result = cli("feedback", "--rise-points", "0")
    assert result.returncode == 2 and "--rise-points is 0" in result.stderr and "Traceback" not in result.stderr
    bad = tmp_path / "taxonomy.txt"
    bad.write_text("Fine: fine\nnot a theme\n", encoding="utf-8")
    result = cli("feedback", "--taxonomy", str(bad))
    assert result.returncode == 2 and f"{bad} line 2" in result.stderr and "Traceback" not in result.stderr
