"""The Data page: every table's row count and range as the catalog computes them, a browsable sample, a download."""

from __future__ import annotations

import duckdb
import pytest

from analytics.warehouse import catalog
from analytics.warehouse.schema import TABLES


@pytest.fixture()
def page(app_test):
    at = app_test()
    at.run()
    at.switch_page("pages/operations/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at, key: str):
    (table,) = at.get_by_key(key).dataframe
    return table.value


@pytest.fixture()
def summary(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        return catalog.table_summaries(con)
    finally:
        con.close()


def test_summary_shows_every_table_with_the_catalogs_counts(page, summary):
    shown = frame(page, "data_summary")
    assert shown["table"].tolist() == list(TABLES)
    assert dict(zip(shown["table"], shown["rows"])) == dict(summary.select("table", "rows").iter_rows())


def test_browsing_a_table_shows_its_newest_rows(page, summary):
    rows = dict(summary.select("table", "rows").iter_rows())
    page.selectbox(key="data_table").select("campaigns").run()
    assert not page.exception, [e.value for e in page.exception]
    sample = frame(page, "data_sample")
    assert len(sample) == min(50, rows["campaigns"]) and "campaign_id" in sample.columns
    assert f"{rows['campaigns']:,} rows; the newest 50 below." in [c.value for c in page.caption]
    assert page.get_by_key("download_table").label == "Download campaigns.csv"
