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
