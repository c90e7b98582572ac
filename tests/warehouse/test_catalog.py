from __future__ import annotations

from datetime import date

import duckdb
import pytest

from analytics.core.errors import RevLensError
from analytics.warehouse import catalog
from analytics.warehouse.schema import TABLES


def test_summaries_count_every_table(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    summary = catalog.table_summaries(con, as_of=date(2026, 11, 30))
    assert summary["table"].to_list() == list(TABLES)
    touch = summary.filter(summary["table"] == "touchpoints").row(0, named=True)
    assert touch["rows"] == con.execute("select count(*) from touchpoints").fetchall()[0][0]
    assert touch["freshness_days"] == 30  # newest touch on 2026-10-31
    reps = summary.filter(summary["table"] == "sales_reps").row(0, named=True)
    assert reps["freshness_days"] is None


def test_samples_and_export_only_for_known_tables(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    sample = catalog.sample_rows(con, "opportunities", limit=5)
    assert sample.height == 5
    assert sample["created_at"].is_sorted(descending=True)
    csv = catalog.export_table(con, "campaigns").decode()
    assert csv.count("\n") == 41  # header + 40 campaigns
    with pytest.raises(RevLensError, match="no table 'touchpoints; drop table x'"):
        catalog.sample_rows(con, "touchpoints; drop table x")


def test_freshness_flags_tables_past_their_threshold():
    import polars as pl

    from analytics.warehouse.catalog import freshness, stale_thresholds

    summary = pl.DataFrame(
        {"table": ["touchpoints", "invoices", "sales_reps"], "freshness_days": [8, 31, None]},
        schema={"table": pl.String, "freshness_days": pl.Int64},
    )
    flagged = freshness(summary, stale_thresholds())
    # touchpoints: 8 days > 7; invoices: 31 <= 45; reps have no time column
    assert flagged.select("table", "stale_after_days", "stale").rows() == [
        ("touchpoints", 7, True),
        ("invoices", 45, False),
        ("sales_reps", None, None),
    ]
    strict = freshness(summary, stale_thresholds({"invoices": 30, "nonsense": 1}))
    assert strict["stale"].to_list() == [True, True, None]
    assert stale_thresholds({"*": 100})["touchpoints"] == 100


def test_the_stale_setting_reads_tables_or_one_number(monkeypatch):
    from analytics.core.settings import stale_after_days

    monkeypatch.setenv("REVLENS_STALE_DAYS", "touchpoints=3, invoices=60, bad=x")
    assert stale_after_days() == {"touchpoints": 3, "invoices": 60}
    monkeypatch.setenv("REVLENS_STALE_DAYS", "30")
    assert stale_after_days() == {"*": 30}
    monkeypatch.delenv("REVLENS_STALE_DAYS")
    assert stale_after_days() == {}
