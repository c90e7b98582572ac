"""The Data page: every table's row count, range and freshness as the catalog computes them, stale tables flagged with a
per-table threshold (changed on the page or by REVLENS_STALE_DAYS), a browsable sample, a download."""

from __future__ import annotations

import duckdb
import pytest

from analytics.core.labels import label
from analytics.warehouse import catalog
from analytics.warehouse.schema import TABLES


@pytest.fixture()
def open_page(app_test):
    def opened():
        at = app_test()
        at.run()
        at.switch_page("pages/operations/data.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return opened


def summary_table(at):
    (table,) = [t.value for t in at.dataframe if "freshness_days" in t.value.columns]
    return table


@pytest.fixture()
def summary(demo_db):
    con = duckdb.connect(demo_db, read_only=True)
    try:
        return catalog.table_summaries(con)
    finally:
        con.close()


def test_summary_shows_every_table_with_the_catalogs_counts(open_page, summary):
    shown = summary_table(open_page())
    assert shown["table"].tolist() == [label("table", t) for t in TABLES]  # labels, not table names
    assert dict(zip(shown["table"], shown["rows"])) == {
        label("table", t): n for t, n in summary.select("table", "rows").iter_rows()
    }


def test_stale_tables_are_flagged_by_their_threshold(open_page, monkeypatch, summary):
    monkeypatch.setenv("REVLENS_STALE_DAYS", "0")  # every table with a threshold and a row before today is stale
    at = open_page()
    shown = summary_table(at)
    dated = [t for t in summary.filter(summary["freshness_days"] > 0)["table"] if t in catalog.STALE_AFTER_DAYS]
    assert dated
    flagged = dict(zip(shown["table"], shown["freshness"]))
    assert all(flagged[label("table", t)] == "Stale" for t in dated)
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("Stale: ") and label("table", dated[0]) in warning
    monkeypatch.setenv("REVLENS_STALE_DAYS", "100000")
    at = open_page()
    assert set(summary_table(at)["freshness"].dropna()) == {"Fresh"} and not at.warning


def test_browsing_a_table_shows_its_newest_rows(open_page, summary):
    page = open_page()
    rows = dict(summary.select("table", "rows").iter_rows())
    page.selectbox(key="data_table").set_value("campaigns").run()
    assert not page.exception, [e.value for e in page.exception]
    (sample,) = page.get_by_key("data_sample").dataframe
    assert len(sample.value) == min(50, rows["campaigns"]) and "campaign_id" in sample.value.columns
    assert f"{rows['campaigns']:,} rows; the newest 50 below." in [c.value for c in page.caption]
    assert page.get_by_key("download_table").label.startswith(f"Download {label('table', 'campaigns').lower()}")
