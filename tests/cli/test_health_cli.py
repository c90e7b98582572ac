"""``health``, ``retention`` and ``churn`` on the command line: exactly the columns and fields named, clear errors."""

from __future__ import annotations

import csv
import io
import json

from analytics.cli.health import CHURN_COLUMNS, HEALTH_COLUMNS


def test_health_csv_and_json(cli):
    result = cli("health", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (
        tuple(rows[0])
        == HEALTH_COLUMNS
        == (
            "account_id",
            "account_name",
            "overall_score",
            "band",
            "usage_frequency",
            "feature_adoption",
            "engagement_trend",
            "support_health",
            "payment_stability",
            "marketing_engagement",
            "coverage",
            "health_trend",
        )
    )
    assert {row["band"] for row in rows} <= {"healthy", "at_risk", "critical"}
    assert all(0 <= float(row["overall_score"]) <= 100 for row in rows)
    earlier = json.loads(cli("health", "--as-of", "2026-06-30", "--format", "json").stdout)
    assert earlier and set(earlier[0]) == set(HEALTH_COLUMNS)
    assert {row["account_id"]: row["overall_score"] for row in earlier} != {
        row["account_id"]: float(row["overall_score"]) for row in rows
    }


def test_retention_json_one_object_per_flagged_account(cli):
    result = cli("retention", "--format", "json")
    assert result.returncode == 0, result.stderr
    flagged = json.loads(result.stdout)
    assert flagged and all(item["risk_level"] in ("high", "medium") for item in flagged)
    trigger = flagged[0]["triggers"][0]
    assert {"account_id", "risk_level", "triggers"} <= set(flagged[0])
    assert {"name", "evidence", "level"} <= set(trigger) and len(trigger) > 3  # and the numbers behind it


def test_churn_predictions_and_report(cli):
    result = cli("churn", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CHURN_COLUMNS
    assert all(0 <= float(row["churn_probability"]) <= 1 for row in rows)
    card = json.loads(cli("churn", "--format", "json", "--report").stdout)
    assert {"roc_auc", "pr_auc", "brier", "top_decile_lift"} <= set(card["test"])
    assert len(card["reliability"]) == 10 and card["arr_at_risk"] > 0
    assert {d["driver"] for d in card["drivers"]} >= {"falling_usage", "escalations", "late_payments", "email_silence"}


def test_an_as_of_outside_the_data_is_one_sentence(cli):
    for command in ("health", "retention", "churn"):
        result = cli(command, "--as-of", "2031-01-01")
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert "outside the data, which runs from 2025-05-01 to 2026-10-31" in result.stderr
    bad = cli("health", "--as-of", "31/10/2026")
    assert bad.returncode == 2 and "is not a date" in bad.stderr
