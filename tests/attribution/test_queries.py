"""Every query the engine runs can be printed and EXPLAINed, and none uses the DuckDB-only
constructs the issue rules out; the CLI's --show-sql prints what a run sent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date

import pytest

from analytics.attribution.engine import (
    attribute,
    attribute_with_intervals,
    deal_credits,
    export_paths,
    journeys_with,
    top_paths,
)
from analytics.attribution.models import MODELS
from analytics.attribution.window import JourneyWindow
from analytics.cli.sql import _registry
from analytics.warehouse.runner import examples_for, recording, rows
from tests.paths import ROOT

# a value for every parameter the registered queries bind
PARAMS = {
    "by": "channel",
    "lookback": 90,
    "lookback_days": 90,
    "close_from": date(2026, 1, 1),
    "close_to": date(2026, 6, 30),
    "start": date(2026, 1, 1),
    "end": date(2026, 6, 30),
    "prev_start": date(2025, 7, 1),
    "prev_end": date(2025, 12, 31),
    "half_life": 7.0,
    "unattributed": "(unattributed)",
    "start_state": "(start)",
    "conversion_state": "(conversion)",
    "null_state": "(null)",
    "value": "email",
    "limit": 20,
    "sep": " > ",
    "account_level": False,
    "segments": [],
    "channels": [],
    "campaign_id": "CMP001",
    "min_engagement": 0.0,
    "categories": ["media_spend"],
    "unallocated": "(unallocated overhead)",
    "allocation": "as_booked",
    "as_of": date(2026, 6, 30),
    # the health queries' (customers.*)
    "as_of_dates": [date(2026, 5, 31), date(2026, 6, 30)],
    "first_as_of": date(2026, 5, 31),
    "last_as_of": date(2026, 6, 30),
    "trend_from": date(2026, 5, 31),
    "key_features": ["dashboards"],
    "key_feature_count": 1,
    "open_rate_target": 0.25,
    "click_rate_target": 0.05,
    "unsubscribe_rate_limit": 0.05,
    "content_target": 2.0,
    "advocacy_target": 1.0,
    "ticket_volume_cap": 5.0,
    "escalation_cap": 2.0,
    "no_data_score": 50.0,
    "healthy_min": 70.0,
    "critical_below": 40.0,
    **{
        f"w_{name}": 0.1
        for name in (
            "usage_frequency",
            "feature_adoption",
            "engagement_trend",
            "support_health",
            "payment_stability",
            "marketing_engagement",
        )
    },
    "account_id": None,
    "all_segments": True,
    "version_key": "journeys_version",
}
FORBIDDEN = {
    "group by all": re.compile(r"group\s+by\s+all", re.I),
    "rowid": re.compile(r"\browid\b", re.I),
    "set variable": re.compile(r"\bset\s+variable\b|getvariable", re.I),
    "hugeint bitmask": re.compile(r"hugeint\s*<<|<<.*hugeint", re.I),
    "UNPIVOT": re.compile(r"\bunpivot\b", re.I),
}


ATTRIBUTION_QUERIES = sorted(
    name for name in _registry() if name.startswith(("attribution.", "finance.won", "crm.attr"))
)


def test_the_attribution_queries_are_registered():
    assert {
        "attribution.rule_credits",
        "attribution.rule_credits_by_month",
        "attribution.journey_weights",
        "attribution.deal_credits",
        "attribution.raw_conversions",
        "attribution.raw_touches",
        "attribution.raw_account_touches",
        "attribution.key_bits",
        "attribution.null_moves",
        "attribution.null_sets",
        "attribution.transitions",
        "attribution.channel_sets",
        "attribution.attributed_totals",
        "attribution.top_paths",
        "attribution.journeys_with",
        "attribution.deals_touched",
        "attribution.export_paths",
        "finance.won_deals",
        "crm.attribution_targets",
    } <= set(ATTRIBUTION_QUERIES)


def _listed_queries() -> list[str]:
    """The queries `python -m analytics sql list` shows (its modules, imported in a fresh interpreter,
    so the set does not depend on which other tests were collected first)."""
    listed = subprocess.run(
        [sys.executable, "-c", "from analytics.cli.sql import _registry; print(chr(10).join(sorted(_registry())))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return listed.stdout.split()


@pytest.mark.parametrize("name", _listed_queries())
def test_every_registered_query_parses_under_explain_on_the_demo(demo, name):
    query = _registry()[name]
    plan = rows(demo, "explain " + query.sql, {**PARAMS, **examples_for(demo, name)})
    assert plan and plan[0][1]
    assert query.description, f"{name} says what it computes"


@pytest.mark.parametrize("name", ATTRIBUTION_QUERIES)
def test_the_attribution_queries_use_standard_constructs(name):
    sql = _registry()[name].sql
    for construct, pattern in FORBIDDEN.items():
        assert not pattern.search(sql), f"{name} uses {construct}"


@pytest.mark.parametrize(
    "window",
    [
        JourneyWindow(close_from=date(2026, 1, 1), close_to=date(2026, 6, 30)),  # the journey tables
        JourneyWindow(by="campaign", account_level=True),  # the raw tables, into temporary tables
    ],
    ids=["journey tables", "account level"],
)
def test_every_statement_a_run_sends_is_named_and_standard(demo, window):
    with recording() as statements:
        attribute(demo, MODELS, window, by_month=True, order=2)
        attribute_with_intervals(demo, MODELS, MODELS, window, n_boot=3)
        top_paths(demo, window)
        journeys_with(demo, "email", window)
        export_paths(demo, window)
        deal_credits(demo, "shapley", "email", window)
    assert len(statements) > 20
    for statement in statements:
        assert statement["name"].startswith("attribution.") or statement["sql"].startswith(("drop ", "select count"))
        for construct, pattern in FORBIDDEN.items():
            assert not pattern.search(statement["sql"]), f"{statement['name']} uses {construct}"
    temporary = [s for s in statements if "create or replace temp table" in s["sql"]]
    if not window.account_level:  # rule models over the journey tables make no temporary table
        assert all("attribution_null" in s["sql"] or "attribution_key_bits" in s["sql"] for s in temporary)


def test_a_printed_statement_explains_and_runs_as_printed(demo):
    window = JourneyWindow(by="campaign", close_from=date(2026, 1, 1), close_to=date(2026, 3, 31))
    with recording() as statements:
        expected = attribute(demo, ["linear", "w_shaped"], window)
    (statement,) = statements
    assert statement["name"] == "attribution.rule_credits (linear, w_shaped; derived journeys)"
    assert rows(demo, "explain " + statement["sql"], statement["params"])
    assert len(rows(demo, statement["sql"], statement["params"])) * 2 == expected.height


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True)


def test_show_sql_prints_the_statements_to_stderr_and_keeps_stdout_parseable(demo_db):
    result = _cli("attribution", "--db", demo_db, "--model", "linear,markov", "--format", "json", "--show-sql")
    assert result.returncode == 0, result.stderr
    rows_ = json.loads(result.stdout)
    assert {row["model"] for row in rows_} == {"linear", "markov"}
    assert "-- 1. attribution.null_moves -> attribution_null_moves (execute)" in result.stderr
    assert ". attribution.rule_credits (linear; derived journeys) (rows)" in result.stderr
    assert "attribution.transitions (order 1; derived journeys; prepared chain inputs)" in result.stderr
    assert "-- parameters: {" in result.stderr and "'by': 'channel'" in result.stderr
    plain = _cli("attribution", "--db", demo_db, "--model", "linear,markov", "--format", "json")
    assert plain.stdout == result.stdout and "select" not in plain.stderr


def test_sql_show_prints_a_registered_attribution_query(demo_db):
    shown = _cli("sql", "show", "attribution.top_paths")
    assert shown.returncode == 0 and shown.stdout.startswith("with")
    assert "string_agg(t.key, ' > ' order by t.k)" in shown.stdout
    explained = _cli(
        "sql",
        "explain",
        "attribution.top_paths",
        "--db",
        demo_db,
        "--param",
        "by=campaign",
        "--param",
        "lookback=30",
        "--param",
        "close_from=2026-01-01",
        "--param",
        "close_to=2026-03-31",
        "--param",
        "limit=5",
        "--param",
        "segments=[]",
    )
    assert explained.returncode == 0, explained.stderr


def test_a_rule_model_run_imports_neither_polars_nor_numpy(demo_db):
    code = (
        "import sys\n"
        "from analytics.cli import main\n"
        "try:\n"
        f"    main(['attribution', '--db', {demo_db!r}, '--model', 'linear,w_shaped', '--format', 'json'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in ('polars', 'numpy', 'scipy', 'rich') if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert len(json.loads(result.stdout)) > 0
